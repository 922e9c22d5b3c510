// Package atomicfile writes files so that a reader never sees a partial
// file: the bytes go to a temporary file in the same directory, which is
// synced and then renamed over the destination, and the directory is
// synced so the rename survives a crash.
package atomicfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// TempPattern is the pattern of the temporary files WriteFile creates;
// a cleanup pass may remove leftovers matching it.
const TempPattern = ".relkit-tmp-*"

// WriteFile streams r into name with permissions perm, atomically. On any
// error the destination is untouched and the temporary file removed. It
// returns the number of bytes written.
func WriteFile(name string, r io.Reader, perm os.FileMode) (n int64, err error) {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, TempPattern)
	if err != nil {
		return 0, err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if n, err = io.Copy(f, r); err != nil {
		return n, fmt.Errorf("write %s: %w", name, err)
	}
	if err = f.Chmod(perm); err != nil {
		return n, err
	}
	if err = f.Sync(); err != nil {
		return n, err
	}
	if err = f.Close(); err != nil {
		return n, err
	}
	if err = os.Rename(tmp, name); err != nil {
		return n, err
	}
	return n, SyncDir(dir)
}

// SyncDir fsyncs a directory so that renames inside it are durable. It is
// a no-op where directories cannot be synced (Windows).
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !isUnsupported(err) {
		return err
	}
	return nil
}
