//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package publish

import (
	"io/fs"
	"syscall"
)

// fileID is what identifies a file's content without reading it.
type fileID struct {
	size, mtime, ctime int64
	ino, dev           uint64
}

func idOf(fi fs.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{size: fi.Size(), mtime: fi.ModTime().UnixNano(), ctime: ctimeOf(st), ino: uint64(st.Ino), dev: uint64(st.Dev)}, true
}
