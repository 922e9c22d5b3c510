package install

import (
	"os"
	"sync/atomic"
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
