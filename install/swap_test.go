package install

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// TestRecoverHalfSwappedSet simulates a crash between the renames of a
// set: the next run must put the whole old set back.
func TestRecoverHalfSwappedSet(t *testing.T) {
	dir := t.TempDir()
	names := []string{"a", "b", "c"}
	for _, n := range names {
		os.WriteFile(filepath.Join(dir, n), []byte("old "+n), 0o755)
	}
	old := &Receipt{Schema: ReceiptSchema, Version: "1.0.0"}
	sw := &swapper{dir: dir, primary: "a", log: slog.New(slog.DiscardHandler), mode: 0o755}
	if _, err := sw.stateDir(); err != nil {
		t.Fatal(err)
	}
	info, err := sw.backup(names, old)
	if err != nil {
		t.Fatal(err)
	}
	writeJSON(ReceiptPath(dir, "a"), old)
	var files []newFile
	for _, n := range names {
		f, _ := createTemp(dir, n, tempNew)
		f.WriteString("new " + n)
		f.Close()
		files = append(files, newFile{Name: n, Temp: f.Name()})
	}
	j := journal{Schema: journalSchema, Version: "2.0.0", Artifact: "aaaa", Backup: *info}
	for _, nf := range files {
		j.Binaries = append(j.Binaries, setEntry{Name: nf.Name, Existed: true})
	}
	writeJSON(journalPath(dir, "a"), j)
	// "Crash" after the first rename.
	if err := os.Rename(files[0].Temp, filepath.Join(dir, "a")); err != nil {
		t.Fatal(err)
	}
	msg, err := sw.recoverSwap()
	if err != nil || msg == "" {
		t.Fatalf("recover: %q %v", msg, err)
	}
	sw.cleanup(names)
	for _, n := range names {
		if got := readFile(t, filepath.Join(dir, n)); got != "old "+n {
			t.Errorf("%s = %q after recovery", n, got)
		}
	}
	if l := leftovers(t, dir); len(l) != 0 {
		t.Errorf("leftovers: %v", l)
	}
	// The undone swap's backup set is gone.
	if _, err := os.Stat(filepath.Join(StateDir(dir, "a"), info.Dir)); err == nil {
		t.Error("backup set of the undone swap kept")
	}
	// A swap whose receipt was written is complete: recovery keeps it.
	info, err = sw.backup(names, old)
	if err != nil {
		t.Fatal(err)
	}
	j.Backup = *info
	for _, n := range names {
		os.WriteFile(filepath.Join(dir, n), []byte("new "+n), 0o755)
	}
	writeJSON(journalPath(dir, "a"), j)
	rec := &Receipt{Schema: ReceiptSchema, Version: "2.0.0", SHA256: "aaaa"}
	writeJSON(ReceiptPath(dir, "a"), rec)
	if _, err := sw.recoverSwap(); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if got := readFile(t, filepath.Join(dir, n)); got != "new "+n {
			t.Errorf("committed swap undone: %s = %q", n, got)
		}
	}
	if cur, err := sw.currentBackup(); err != nil || cur == nil || cur.Dir != info.Dir {
		t.Errorf("committed swap's backup set not current: %+v %v", cur, err)
	}
}

// TestCleanupOwnsOnlyItsFiles: leftovers named for this installer's
// binaries (including Windows' moved-aside executables) are removed;
// other programs' files are not.
func TestCleanupOwnsOnlyItsFiles(t *testing.T) {
	dir := t.TempDir()
	sw := &swapper{dir: dir, primary: "hello", log: slog.New(slog.DiscardHandler), mode: 0o755}
	sd, err := sw.stateDir()
	if err != nil {
		t.Fatal(err)
	}
	mine := []string{
		filepath.Join(dir, ".relkit-new-hello-1"), filepath.Join(dir, ".relkit-download-hello-2"),
		filepath.Join(dir, ".relkit-old-hello-3"), filepath.Join(dir, ".relkit-link-helperd-4"),
		filepath.Join(dir, ".relkit-probe-hello-5"), filepath.Join(sd, ".relkit-tmp-6"),
		filepath.Join(sd, "backup-stale", "hello"),
	}
	os.Mkdir(filepath.Join(sd, "backup-stale"), 0o755)
	os.Mkdir(filepath.Join(sd, "backup-current"), 0o755)
	writeJSON(backupInfoPath(dir, "hello"), backupInfo{Schema: backupSchema, Dir: "backup-current"})
	theirs := []string{
		filepath.Join(sd, "backup-current", "hello"),
		filepath.Join(dir, ".relkit-new-other-1"), filepath.Join(dir, ".relkit-tmp-8"),
		filepath.Join(dir, "hello"), filepath.Join(dir, ".relkit-new-hellox-9"),
		filepath.Join(dir, ".relkit-new-hello-x-10"),
	}
	for _, p := range append(mine, theirs...) {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sw.cleanup([]string{"hello", "helperd"})
	for _, p := range mine {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s not removed", p)
		}
	}
	for _, p := range theirs {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed", p)
		}
	}
}
