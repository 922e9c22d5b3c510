package install

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/relkit/relkit/internal/atomicfile"
)

// ReceiptSchema identifies a receipt file.
const ReceiptSchema = "relkit.receipt/v1"

// maxMetaSize bounds the installer's own small files (receipt, journal).
const maxMetaSize = 1 << 20

// Receipt records what an install put in place, so that [Installer.Check]
// knows the installed version even when the binary cannot say. It is
// written next to the binaries, as receipt.json in the [StateDir] of the
// primary binary, when an install commits.
type Receipt struct {
	// Schema is [ReceiptSchema].
	Schema string `json:"schema"`
	// Project is the released project's name.
	Project string `json:"project"`
	// Version is the installed version.
	Version string `json:"version"`
	// Source is the release root URL or path the release came from.
	Source string `json:"source"`
	// Artifact is the artifact's path relative to the source.
	Artifact string `json:"artifact"`
	// SHA256 is the artifact's verified SHA-256.
	SHA256 string `json:"sha256"`
	// Platform is "os/arch" of the artifact.
	Platform string `json:"platform,omitempty"`
	// Installed is when the install committed (UTC).
	Installed time.Time `json:"installed"`
	// Binaries are the files installed.
	Binaries []ReceiptBinary `json:"binaries"`
}

// ReceiptBinary is one installed file. Its bytes are those of the
// verified artifact (Receipt.SHA256); Size and ModTime identify the file
// as installed, so that Check ignores a receipt whose primary binary was
// replaced by other means since.
type ReceiptBinary struct {
	// Name is the file's base name in the install directory.
	Name string `json:"name"`
	// Size is the file's size in bytes.
	Size int64 `json:"size"`
	// ModTime is the file's modification time as installed.
	ModTime time.Time `json:"mtime"`
}

// ReceiptPath returns where the receipt for the primary binary name in
// dir is kept.
func ReceiptPath(dir, name string) string {
	return filepath.Join(StateDir(dir, name), "receipt.json")
}

// ReadReceipt reads the receipt of the primary binary name in dir. A
// missing receipt is an error wrapping [ErrNotInstalled].
func ReadReceipt(dir, name string) (*Receipt, error) {
	var r Receipt
	if err := readJSON(ReceiptPath(dir, name), &r); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no receipt for %s in %s: %w", name, dir, ErrNotInstalled)
		}
		return nil, err
	}
	if r.Schema != ReceiptSchema {
		return nil, fmt.Errorf("%s: unknown schema %q", ReceiptPath(dir, name), r.Schema)
	}
	return &r, nil
}

// readJSON decodes a small JSON file strictly.
func readJSON(path string, v any) error {
	if err := checkRegular(path); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return &UnsafePathError{Path: path, Reason: "is not a regular file"}
	}
	data, err := io.ReadAll(io.LimitReader(f, maxMetaSize+1))
	if err != nil {
		return err
	}
	if len(data) > maxMetaSize {
		return fmt.Errorf("%s: larger than %d bytes", path, maxMetaSize)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// writeJSON writes v to path atomically and durably: a temporary file
// in the same directory, synced, renamed over path, and the directory
// synced. (atomicfile.WriteFile, with each step through the
// fault-injection hook.) On error before the rename, path is untouched.
func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	dir := filepath.Dir(path)
	if err := fault("create", path); err != nil {
		return localErr("create", path, err)
	}
	f, err := os.CreateTemp(dir, atomicfile.TempPattern)
	if err != nil {
		return localErr("create", path, err)
	}
	tmp := f.Name()
	fail := func(op string, err error) error {
		f.Close()
		os.Remove(tmp)
		return localErr(op, path, err)
	}
	if _, err := (faultWriter{f}).Write(data); err != nil {
		return fail("write", err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fail("chmod", err)
	}
	if err := syncFile(f); err != nil {
		return fail("sync", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return localErr("close", path, err)
	}
	if err := rename(tmp, path); err != nil {
		os.Remove(tmp)
		return localErr("rename", path, err)
	}
	return localErr("sync", dir, syncDir(dir))
}
