package install

import (
	"os"
	"sync/atomic"

	"github.com/relkit/relkit/internal/atomicfile"
)

// faultHook, when set (by tests only), is called before the installer's
// own file operations with the operation ("write", "sync", "syncdir",
// "rename", "remove", "create", "lock") and the path; an error it
// returns becomes that operation's result. It is the fault-injection
// point for the disk-full, permission and fsync tests.
var faultHook atomic.Pointer[func(op, path string) error]

// fault returns the injected error for op on path, or nil.
func fault(op, path string) error {
	if fn := faultHook.Load(); fn != nil {
		if err := (*fn)(op, path); err != nil {
			return &os.PathError{Op: op, Path: path, Err: err}
		}
	}
	return nil
}

// The installer's file operations on its own directories, each through
// the fault-injection hook first.

func rename(from, to string) error {
	if err := fault("rename", to); err != nil {
		return err
	}
	return os.Rename(from, to)
}

func remove(p string) error {
	if err := fault("remove", p); err != nil {
		return err
	}
	return os.Remove(p)
}

func removeAll(p string) error {
	if err := fault("remove", p); err != nil {
		return err
	}
	return os.RemoveAll(p)
}

func link(from, to string) error {
	if err := fault("link", to); err != nil {
		return err
	}
	return os.Link(from, to)
}

func chmod(p string, mode os.FileMode) error {
	if err := fault("chmod", p); err != nil {
		return err
	}
	return os.Chmod(p, mode)
}

func mkdirTemp(dir, pattern string) (string, error) {
	if err := fault("mkdir", dir); err != nil {
		return "", err
	}
	return os.MkdirTemp(dir, pattern)
}

// syncDir makes the renames in dir durable (atomicfile.SyncDir).
func syncDir(dir string) error {
	if err := fault("syncdir", dir); err != nil {
		return err
	}
	return atomicfile.SyncDir(dir)
}
