package install

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// lockInfo is what a lock file holds: who took it, for messages.
func lockInfo(now time.Time) string {
	host, _ := os.Hostname()
	return fmt.Sprintf("pid %d on %s since %s\n", os.Getpid(), host, now.UTC().Format(time.RFC3339))
}

// acquireLock takes the install lock at path, waiting up to wait (0: fail
// at once) for another holder, which it logs once to log (nil: nowhere).
// The returned func releases it.
func acquireLock(ctx context.Context, path string, wait time.Duration, now func() time.Time, log *slog.Logger) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, localErr("lock", path, err)
	}
	if err := checkLockFile(path); err != nil {
		return nil, err
	}
	deadline := now().Add(wait)
	waiting := false
	for {
		release, holder, err := tryLock(path, now())
		if err == nil {
			return release, nil
		}
		if holder == "" && err != errHeld {
			if errors.As(err, new(*UnsafePathError)) {
				return nil, err
			}
			return nil, localErr("lock", path, err)
		}
		if wait <= 0 || now().After(deadline) {
			return nil, &LockedError{Path: path, Holder: strings.TrimSpace(holder)}
		}
		if !waiting && log != nil {
			log.Info("waiting for the install lock", "path", path, "holder", strings.TrimSpace(holder), "wait", wait)
		}
		waiting = true
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// checkLockFile refuses a lock path that exists but is not a regular
// file (a directory, or a symbolic link the open would follow).
func checkLockFile(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case err != nil:
		return nil // missing: created; other errors: the open reports them
	case fi.Mode()&os.ModeSymlink != 0:
		return &UnsafePathError{Path: path, Reason: "the lock file is a symbolic link"}
	case !fi.Mode().IsRegular():
		return &UnsafePathError{Path: path, Reason: fmt.Sprintf("the lock file is not a regular file (%v)", fi.Mode().Type())}
	}
	return nil
}

// errHeld is returned by tryLock when someone else holds the lock.
var errHeld = fmt.Errorf("%w", ErrLocked)
