//go:build windows

package install

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
)

// tempOld names a replaced executable moved aside: Windows cannot replace
// or delete a running .exe, but can rename it. Cleanup removes these on
// the next run, when the old process has exited.
const tempOld = "old"

// replaceFile moves target aside (hidden, named ".relkit-old-<name>-*")
// and renames tmp into its place; if that fails the old file is put back.
func replaceFile(tmp, target, dir string) error {
	if _, err := os.Lstat(target); errors.Is(err, fs.ErrNotExist) {
		return rename(tmp, target)
	}
	f, err := createTemp(dir, filepath.Base(target), tempOld)
	if err != nil {
		return err
	}
	aside := f.Name()
	f.Close()
	remove(aside)
	if err := rename(target, aside); err != nil {
		return err
	}
	hide(aside)
	if err := rename(tmp, target); err != nil {
		if rerr := rename(aside, target); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	// Best effort: succeeds when target was not running.
	remove(aside)
	return nil
}

// hide sets the hidden attribute on path (best effort).
func hide(path string) {
	p, err := syscall.UTF16PtrFromString(path)
	if err != nil {
		return
	}
	attrs, err := syscall.GetFileAttributes(p)
	if err != nil {
		return
	}
	syscall.SetFileAttributes(p, attrs|syscall.FILE_ATTRIBUTE_HIDDEN)
}

// copyMeta gives tmp the permission bits of target (Windows has no POSIX
// owner to keep), or mode when target does not exist.
func copyMeta(tmp, target string, mode fs.FileMode, _ *slog.Logger) error {
	fi, err := os.Stat(target)
	if errors.Is(err, fs.ErrNotExist) {
		return chmod(tmp, mode)
	}
	if err != nil {
		return err
	}
	return chmod(tmp, fi.Mode().Perm())
}
