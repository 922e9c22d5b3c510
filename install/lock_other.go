//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package install

import (
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"
)

// staleLockAge is how old a lock file whose holder cannot be checked must
// be before it is taken over.
const staleLockAge = 2 * time.Hour

// tryLock creates path exclusively. A lock file left by a process that no
// longer exists (or older than staleLockAge) is stale: it is removed and
// the lock taken.
func tryLock(path string, now time.Time) (func(), string, error) {
	for i := 0; i < 2; i++ {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			f.WriteString(lockInfo(now))
			f.Close()
			return func() { os.Remove(path) }, "", nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, "", err
		}
		b, _ := os.ReadFile(path)
		holder := string(b)
		if !lockStale(path, holder, now) {
			if holder == "" {
				holder = "another process"
			}
			return nil, holder, errHeld
		}
		os.Remove(path)
	}
	return nil, "", errHeld
}

// lockStale reports whether the holder recorded in a lock file is gone.
func lockStale(path, holder string, now time.Time) bool {
	fi, err := os.Stat(path)
	if err != nil {
		return true
	}
	if now.Sub(fi.ModTime()) > staleLockAge {
		return true
	}
	f := strings.Fields(holder)
	if len(f) >= 4 && f[0] == "pid" {
		host, _ := os.Hostname()
		pid, err := strconv.Atoi(f[1])
		if err == nil && f[3] == host && !processAlive(pid) {
			return true
		}
	}
	return false
}
