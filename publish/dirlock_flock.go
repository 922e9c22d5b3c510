//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package publish

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"
)

// lockRoot takes an exclusive flock(2) on the root's lock file, waiting
// (polling, bounded by ctx) while another publisher holds it. The kernel
// drops the lock when its holder dies, so a killed publisher never leaves
// the root locked. The file itself stays (removing a locked file races
// with a waiter).
func lockRoot(ctx context.Context, name string) (func(), error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return nil, err
	}
	wait, deadline := time.Millisecond, time.Now().Add(MaxLockWait)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, err
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, &LockError{Path: name, Waited: MaxLockWait}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}
