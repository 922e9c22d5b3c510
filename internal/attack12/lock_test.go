//go:build attack12

package attack12

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/relkit/relkit/publish"
)

// TestLockHeld: a publisher that stopped (SIGSTOP, a hung NFS write, a
// suspended VM) while holding .relkit-lock. How long do the others wait,
// and do they say why?
func TestLockHeld(t *testing.T) {
	kf := newKeyFiles(t)
	staged := stageVersions(t, kf, "", "1.0.0", "1.1.0")
	dest := t.TempDir()
	r := start(t, nil, "publish", "-staged", staged["1.0.0"], "-dest", dest, "-key", kf.key())
	if err := r.wait(t, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dest, publish.LockFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	r = start(t, []string{"A12_LOG=1"}, "publish", "-staged", staged["1.1.0"], "-dest", dest, "-key", kf.key(), "-timeout", "10s")
	err = r.wait(t, 30*time.Second)
	t.Logf("with the lock held, publish returned after %v: %v\nlast log lines:\n%s", time.Since(t0).Round(time.Millisecond), err, tail(r.stderr.String(), 700))
	f.Close()
}
