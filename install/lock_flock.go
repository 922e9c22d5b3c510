//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package install

import (
	"errors"
	"io"
	"os"
	"syscall"
	"time"
)

// tryLock takes an advisory flock(2) on path. The kernel drops it when the
// process dies, so a crashed install never leaves a stale lock. The file
// itself is never removed (removing a locked file races with a waiter).
func tryLock(path string, now time.Time) (func(), string, error) {
	// O_NOFOLLOW: a symbolic link planted at the lock path after the
	// Lstat check must not make the installer truncate its target.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o644)
	if errors.Is(err, syscall.ELOOP) {
		return nil, "", &UnsafePathError{Path: path, Reason: "the lock file is a symbolic link"}
	}
	if err != nil {
		return nil, "", err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, "", &UnsafePathError{Path: path, Reason: "the lock file is not a regular file"}
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := io.ReadAll(io.LimitReader(f, 512))
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			if len(holder) == 0 {
				holder = []byte("another process")
			}
			return nil, string(holder), errHeld
		}
		return nil, "", err
	}
	// Record the holder for the error message of a waiting install.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(lockInfo(now)), 0)
	}
	return func() {
		f.Truncate(0)
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, "", nil
}
