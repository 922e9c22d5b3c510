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
// the fault-injection hook first; their errors are *FileError.

func rename(from, to string) error {
	if err := fault("rename", to); err != nil {
		return localErr("rename", to, err)
	}
	return localErr("rename", to, os.Rename(from, to))
}

func remove(p string) error {
	if err := fault("remove", p); err != nil {
		return localErr("remove", p, err)
	}
	return localErr("remove", p, os.Remove(p))
}

func removeAll(p string) error {
	if err := fault("remove", p); err != nil {
		return localErr("remove", p, err)
	}
	return localErr("remove", p, os.RemoveAll(p))
}

func link(from, to string) error {
	if err := fault("link", to); err != nil {
		return localErr("link", to, err)
	}
	return localErr("link", to, os.Link(from, to))
}

func chmod(p string, mode os.FileMode) error {
	if err := fault("chmod", p); err != nil {
		return localErr("chmod", p, err)
	}
	return localErr("chmod", p, os.Chmod(p, mode))
}

func mkdirTemp(dir, pattern string) (string, error) {
	if err := fault("mkdir", dir); err != nil {
		return "", localErr("mkdir", dir, err)
	}
	d, err := os.MkdirTemp(dir, pattern)
	return d, localErr("mkdir", dir, err)
}

// syncDir makes the renames in dir durable (atomicfile.SyncDir).
func syncDir(dir string) error {
	if err := fault("syncdir", dir); err != nil {
		return localErr("sync", dir, err)
	}
	return localErr("sync", dir, atomicfile.SyncDir(dir))
}
