//go:build !windows

package install

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"syscall"
)

// tempOld names executables moved aside on Windows; unused here but
// recognised by cleanup.
const tempOld = "old"

// replaceFile renames tmp over target: atomic on POSIX, so a reader (or a
// crash) sees the old file or the new one, never a mix.
func replaceFile(tmp, target, dir string) error {
	return rename(tmp, target)
}

// copyMeta gives tmp the permission bits and owner of target, or mode
// when target does not exist.
func copyMeta(tmp, target string, mode fs.FileMode, log *slog.Logger) error {
	fi, err := os.Stat(target)
	if errors.Is(err, fs.ErrNotExist) {
		return chmod(tmp, mode)
	}
	if err != nil {
		return err
	}
	keep := fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
	st, ok := fi.Sys().(*syscall.Stat_t)
	if ok {
		if nfi, err := os.Stat(tmp); err == nil {
			if nst, ok := nfi.Sys().(*syscall.Stat_t); ok && (nst.Uid != st.Uid || nst.Gid != st.Gid) {
				if err := os.Chown(tmp, int(st.Uid), int(st.Gid)); err != nil {
					if os.Geteuid() == 0 {
						return err
					}
					log.Warn("cannot keep the owner of the binary (run as its owner or root)", "path", target, "uid", st.Uid, "gid", st.Gid, "err", err)
				}
			}
		}
	}
	// chmod after chown: chown clears the setuid bits.
	return chmod(tmp, keep)
}
