package install

import (
	"context"
	"fmt"
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
// at once) for another holder. The returned func releases it.
func acquireLock(ctx context.Context, path string, wait time.Duration, now func() time.Time) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	deadline := now().Add(wait)
	for {
		release, holder, err := tryLock(path, now())
		if err == nil {
			return release, nil
		}
		if holder == "" && err != errHeld {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if wait <= 0 || now().After(deadline) {
			return nil, &LockedError{Path: path, Holder: strings.TrimSpace(holder)}
		}
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// errHeld is returned by tryLock when someone else holds the lock.
var errHeld = fmt.Errorf("%w", ErrLocked)
