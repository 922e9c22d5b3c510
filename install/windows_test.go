//go:build windows

package install

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/relkit/relkit/manifest"
)

// These tests exercise what only Windows does: the move-aside swap of a
// running .exe (replaceFile in swap_windows.go), rollback and restore while
// the old executable still runs, and the lock's liveness check
// (processAlive in lock_windows.go). They publish zip archives, the
// Windows archive format, and use this test binary as the running
// program. On Linux, TestWindowsUnderWine runs them under Wine.

// winRelease publishes version as a zip holding files.
func winRelease(f *fixture, version string, files map[string][]byte) {
	f.t.Helper()
	var es []entry
	for _, name := range slices.Sorted(maps.Keys(files)) {
		es = append(es, entry{name: name, body: files[name]})
	}
	f.publish(version, f.artifactName(version), zipArchive(f.t, es))
}

func noHealthCheck(context.Context, string, string) error { return nil }

// winTB is the test's testing.T with temporary directories that are
// removed file by file (os.Remove), not with os.RemoveAll: under Wine 8
// os.RemoveAll fails with "Invalid function", because Wine answers the
// FileDispositionInformationEx call that Go's RemoveAll makes with
// STATUS_NOT_IMPLEMENTED instead of a status Go falls back on.
type winTB struct{ *testing.T }

// TempDir returns a new directory removed when the test ends.
func (w winTB) TempDir() string {
	w.Helper()
	d, err := os.MkdirTemp("", "relkit-windows-")
	if err != nil {
		w.Fatal(err)
	}
	w.Cleanup(func() {
		err := removeTree(d)
		const errorSharingViolation = syscall.Errno(32)
		if errors.Is(err, errorSharingViolation) {
			// Wine refuses to remove a directory while a handle to it is
			// open, even one opened with FILE_SHARE_DELETE (the os.Root of
			// a directory source); Windows removes it once that closes.
			w.Logf("note: %v", err)
			return
		}
		if err != nil {
			w.Errorf("removing %s: %v", d, err)
		}
	})
	return d
}

// removeTree removes dir and everything below it with os.Remove.
func removeTree(dir string) error {
	des, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, de := range des {
		p := filepath.Join(dir, de.Name())
		if de.IsDir() {
			err = removeTree(p)
		} else {
			err = os.Remove(p)
		}
		if err != nil {
			return err
		}
	}
	return os.Remove(dir)
}

// winFixture publishes 1.0.0 and 1.1.0 of hello.exe: this test binary, and
// the same with a trailing marker (a PE file runs with data appended).
func winFixture(t *testing.T) (*fixture, []byte, []byte) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	v1, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	v2 := append(slices.Clip(v1), "relkit hello 1.1.0"...)
	f := newFixture(winTB{t}, "hello")
	winRelease(f, "1.0.0", map[string][]byte{"hello.exe": v1})
	winRelease(f, "1.1.0", map[string][]byte{"hello.exe": v2})
	return f, v1, v2
}

// TestWindowsHelperProcess is the running program of the tests below: it
// says "ready" and waits for its standard input to close.
func TestWindowsHelperProcess(t *testing.T) {
	if os.Getenv("RELKIT_WINDOWS_HELPER") != "1" {
		t.Skip("helper process for the Windows swap tests")
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// running is a started helper process.
type running struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// startHelper runs exe as the helper process and waits until it is ready.
func startHelper(t *testing.T, exe string) *running {
	t.Helper()
	cmd := exec.Command(exe, "-test.run=^TestWindowsHelperProcess$")
	cmd.Env = append(os.Environ(), "RELKIT_WINDOWS_HELPER=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &running{cmd: cmd, stdin: stdin}
	t.Cleanup(func() { r.stop(t) })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("helper process: %q %v", line, err)
	}
	go io.Copy(io.Discard, stdout)
	return r
}

// stop closes the helper's input and waits for it to exit.
func (r *running) stop(t *testing.T) {
	if r.cmd.ProcessState != nil {
		return
	}
	r.stdin.Close()
	if err := r.cmd.Wait(); err != nil {
		t.Errorf("helper process: %v", err)
	}
}

// asides lists the moved-aside executables in dir.
func asides(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, tempPrefix+tempOld+"-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func hidden(t *testing.T, path string) bool {
	t.Helper()
	p, err := syscall.UTF16PtrFromString(path)
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := syscall.GetFileAttributes(p)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return attrs&syscall.FILE_ATTRIBUTE_HIDDEN != 0
}

func wantContent(t *testing.T, path string, want []byte, what string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: %s has %d bytes, not the expected %d", what, path, len(got), len(want))
	}
}

// TestWindowsUpgradeAndRollback: install, upgrade, roll back and forward
// again, with nothing running.
func TestWindowsUpgradeAndRollback(t *testing.T) {
	ctx := context.Background()
	f := newFixture(winTB{t}, "hello")
	winRelease(f, "1.0.0", map[string][]byte{"hello.exe": []byte("hello 1.0.0"), "helper.exe": []byte("helper 1.0.0")})
	winRelease(f, "1.1.0", map[string][]byte{"hello.exe": []byte("hello 1.1.0"), "helper.exe": []byte("helper 1.1.0")})
	dir := winTB{t}.TempDir()
	cfg := f.config(f.root, dir)
	cfg.Binaries, cfg.Health.Check = []string{"hello.exe", "helper.exe"}, noHealthCheck
	in := f.installer(cfg)
	want := func(v, what string) {
		t.Helper()
		for _, b := range []string{"hello", "helper"} {
			wantContent(t, filepath.Join(dir, b+".exe"), []byte(b+" "+v), what)
		}
	}
	if _, err := in.Install(ctx, manifest.Query{Version: "1.0.0"}); err != nil {
		t.Fatal(err)
	}
	want("1.0.0", "install 1.0.0")
	if _, err := in.Install(ctx, manifest.Query{}); err != nil {
		t.Fatal(err)
	}
	want("1.1.0", "upgrade")
	if res, err := in.Rollback(ctx); err != nil || res.Version != "1.0.0" {
		t.Fatalf("rollback: %+v %v", res, err)
	}
	want("1.0.0", "rollback")
	if res, err := in.Rollback(ctx); err != nil || res.Version != "1.1.0" {
		t.Fatalf("second rollback: %+v %v", res, err)
	}
	want("1.1.0", "second rollback")
	if l := leftovers(t, dir); len(l) != 0 {
		t.Errorf("leftovers: %v", l)
	}
}

// TestWindowsReplaceRunningExe: the installed hello.exe is running while
// it is upgraded. Windows refuses to overwrite or delete a running image
// but lets it be renamed, so the old one is moved aside (hidden) and
// removed on a later run, once it has exited. A rollback works while it
// runs too.
func TestWindowsReplaceRunningExe(t *testing.T) {
	ctx := context.Background()
	f, v1, v2 := winFixture(t)
	dir := winTB{t}.TempDir()
	cfg := f.config(f.root, dir)
	cfg.Health.Check = noHealthCheck
	in := f.installer(cfg)
	bin := filepath.Join(dir, "hello.exe")
	if _, err := in.Install(ctx, manifest.Query{Version: "1.0.0"}); err != nil {
		t.Fatal(err)
	}
	proc := startHelper(t, bin)
	if w, err := os.OpenFile(bin, os.O_WRONLY, 0); err == nil {
		w.Close()
		t.Logf("note: the running %s could be opened for writing (Windows refuses that; Wine may not)", bin)
	}

	if _, err := in.Install(ctx, manifest.Query{}); err != nil {
		t.Fatalf("upgrading a running exe: %v", err)
	}
	wantContent(t, bin, v2, "upgrade while running")
	a := asides(t, dir)
	switch len(a) {
	case 0:
		t.Logf("note: the moved-aside running exe was deleted at once (Windows keeps it; Wine may not)")
	case 1:
		if !hidden(t, a[0]) {
			t.Errorf("%s is not hidden", a[0])
		}
	default:
		t.Errorf("moved-aside files: %v", a)
	}

	if res, err := in.Rollback(ctx); err != nil || res.Version != "1.0.0" {
		t.Fatalf("rollback while 1.0.0 runs: %+v %v", res, err)
	}
	wantContent(t, bin, v1, "rollback while running")

	// Once the old process has exited, the next run removes what was moved
	// aside.
	proc.stop(t)
	if _, err := in.Install(ctx, manifest.Query{}); err != nil {
		t.Fatal(err)
	}
	wantContent(t, bin, v2, "upgrade after exit")
	if l := leftovers(t, dir); len(l) != 0 {
		t.Errorf("leftovers after the old process exited: %v", l)
	}
}

// TestWindowsHealthCheckFailureWhileRunning: the new version fails its
// health check while the old one runs: the old one is put back.
func TestWindowsHealthCheckFailureWhileRunning(t *testing.T) {
	ctx := context.Background()
	f, v1, _ := winFixture(t)
	dir := winTB{t}.TempDir()
	cfg := f.config(f.root, dir)
	cfg.Health.Check = noHealthCheck
	if _, err := f.installer(cfg).Install(ctx, manifest.Query{Version: "1.0.0"}); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "hello.exe")
	proc := startHelper(t, bin)
	cfg.Health.Check = func(context.Context, string, string) error { return errors.New("broken") }
	_, err := f.installer(cfg).Install(ctx, manifest.Query{})
	if !errors.Is(err, ErrHealthCheck) {
		t.Fatalf("err = %v, want ErrHealthCheck", err)
	}
	wantContent(t, bin, v1, "restored after the failed health check")
	proc.stop(t)
	if r, err := ReadReceipt(dir, "hello.exe"); err != nil || r.Version != "1.0.0" {
		t.Errorf("receipt after the restore: %+v %v", r, err)
	}
}

// TestWindowsLock: a lock held by a live process refuses the install; one
// left by a process that has exited is taken over.
func TestWindowsLock(t *testing.T) {
	ctx := context.Background()
	f := newFixture(winTB{t}, "hello")
	winRelease(f, "1.0.0", map[string][]byte{"hello.exe": []byte("hello 1.0.0")})
	dir := winTB{t}.TempDir()
	cfg := f.config(f.root, dir)
	cfg.Health.Check = noHealthCheck
	in := f.installer(cfg)
	lp := lockPath(dir, "hello.exe")

	unlock, err := acquireLock(ctx, lp, 0, time.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = in.Install(ctx, manifest.Query{})
	var le *LockedError
	if !errors.As(err, &le) || !errors.Is(err, ErrLocked) || !strings.Contains(le.Holder, fmt.Sprintf("pid %d ", os.Getpid())) {
		t.Fatalf("lock held by this process: err = %v, want a LockedError naming pid %d", err, os.Getpid())
	}
	unlock()
	if _, err := os.Stat(lp); err == nil {
		t.Fatal("unlock left the lock file")
	}

	// A process that has exited.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	proc := startHelper(t, self)
	pid := proc.cmd.Process.Pid
	if !processAlive(pid) {
		t.Fatalf("processAlive(%d) = false for a running process", pid)
	}
	proc.stop(t)
	if processAlive(pid) {
		t.Fatalf("processAlive(%d) = true for a process that has exited", pid)
	}
	host, _ := os.Hostname()
	stale := fmt.Sprintf("pid %d on %s since %s\n", pid, host, time.Now().UTC().Format(time.RFC3339))
	if err := os.WriteFile(lp, []byte(stale), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Install(ctx, manifest.Query{}); err != nil {
		t.Fatalf("stale lock of exited pid %d: %v", pid, err)
	}
	wantContent(t, filepath.Join(dir, "hello.exe"), []byte("hello 1.0.0"), "install after a stale lock")
	if _, err := os.Stat(lp); err == nil {
		t.Error("the install left the lock file")
	}
}

// TestWindowsSymlinkedStateDirectory: the state directory of hello.exe
// (.hello.exe.relkit) as a symbolic link is refused before anything is
// written through it.
func TestWindowsSymlinkedStateDirectory(t *testing.T) {
	ctx := context.Background()
	f := newFixture(winTB{t}, "hello")
	winRelease(f, "1.0.0", map[string][]byte{"hello.exe": []byte("hello 1.0.0")})
	dir, outside := winTB{t}.TempDir(), winTB{t}.TempDir()
	if err := os.Symlink(outside, StateDir(dir, "hello.exe")); err != nil {
		t.Skipf("cannot make a directory symlink here: %v", err)
	}
	if fi, err := os.Lstat(StateDir(dir, "hello.exe")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		// Wine 8's CreateSymbolicLinkW reports success and makes nothing.
		t.Skipf("os.Symlink made no symbolic link (Lstat: %v, %v)", fi, err)
	}
	cfg := f.config(f.root, dir)
	cfg.Health.Check = noHealthCheck
	_, err := f.installer(cfg).Install(ctx, manifest.Query{})
	var ue *UnsafePathError
	if !errors.As(err, &ue) {
		t.Fatalf("install through a symlinked state directory: err = %v, want an *UnsafePathError", err)
	}
	if des, _ := os.ReadDir(outside); len(des) != 0 {
		t.Errorf("wrote through the symlinked state directory: %v", des)
	}
	if _, err := os.Lstat(filepath.Join(dir, "hello.exe")); err == nil {
		t.Error("installed hello.exe although the state directory is unsafe")
	}
}
