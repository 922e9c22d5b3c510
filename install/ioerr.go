package install

import (
	"errors"
	"io/fs"
	"syscall"
)

// describeIOError says what a local I/O error means in words a user acts
// on: "disk full", "permission denied", "read-only file system".
func describeIOError(err error) string {
	var pe *fs.PathError
	inner := err
	if errors.As(err, &pe) {
		inner = pe.Err
	}
	label := ""
	switch {
	case errors.Is(inner, syscall.ENOSPC), errors.Is(inner, syscall.EDQUOT):
		label = "disk full"
	case errors.Is(inner, fs.ErrPermission):
		label = "permission denied"
	case errors.Is(inner, syscall.EROFS):
		label = "read-only file system"
	}
	if msg := inner.Error(); label != "" && msg != label {
		return label + " (" + msg + ")"
	}
	return inner.Error()
}

// localErr wraps the error of a local file operation in a *FileError
// (nil stays nil; a *FileError or *UnsafePathError is kept).
func localErr(op, path string, err error) error {
	if err == nil {
		return nil
	}
	var fe *FileError
	var ue *UnsafePathError
	if errors.As(err, &fe) || errors.As(err, &ue) {
		return err
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		if pe.Path != "" {
			path = pe.Path
		}
		err = pe.Err
	}
	return &FileError{Op: op, Path: path, Err: err}
}
