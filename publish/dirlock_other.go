//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package publish

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"time"
)

// lockRoot takes the root's lock by creating the lock file exclusively,
// waiting (bounded by ctx) while it exists. A lock file older than
// staleLock is taken to be left by a killed publisher and removed: a
// conditional replace holds the lock for one rename only.
func lockRoot(ctx context.Context, name string) (func(), error) {
	const staleLock = 30 * time.Second
	wait, deadline := time.Millisecond, time.Now().Add(MaxLockWait)
	for {
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			f.Close()
			return func() { os.Remove(name) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		if fi, err := os.Stat(name); err == nil && time.Since(fi.ModTime()) > staleLock {
			os.Remove(name)
			continue
		}
		if time.Now().After(deadline) {
			return nil, &LockError{Path: name, Waited: MaxLockWait}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}
