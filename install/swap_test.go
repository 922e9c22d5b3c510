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
	if err := sw.backup(names, old); err != nil {
		t.Fatal(err)
	}
	writeJSON(ReceiptPath(dir, "a"), old)
	var files []newFile
	for _, n := range names {
		f, _ := createTemp(dir, n, tempNew)
		f.WriteString("new " + n)
		f.Close()
		files = append(files, newFile{Name: n, Temp: f.Name(), SHA256: "x"})
	}
	j := journal{Schema: journalSchema, Version: "2.0.0"}
	for _, nf := range files {
		j.Binaries = append(j.Binaries, setEntry{Name: nf.Name, Existed: true, SHA256: nf.SHA256})
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
	// A swap whose receipt was written is complete: recovery keeps it.
	for _, n := range names {
		os.WriteFile(filepath.Join(dir, n), []byte("new "+n), 0o755)
	}
	writeJSON(journalPath(dir, "a"), j)
	rec := &Receipt{Schema: ReceiptSchema, Version: "2.0.0"}
	for _, n := range names {
		rec.Binaries = append(rec.Binaries, ReceiptBinary{Name: n, SHA256: "x"})
	}
	writeJSON(ReceiptPath(dir, "a"), rec)
	if _, err := sw.recoverSwap(); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if got := readFile(t, filepath.Join(dir, n)); got != "new "+n {
			t.Errorf("committed swap undone: %s = %q", n, got)
		}
	}
}
