package oci

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/relkit/relkit/manifest"
)

// MaxBinarySize is the largest binary FromArchives extracts.
const MaxBinarySize = 1 << 30

// ArchiveError reports a release archive FromArchives could not use.
type ArchiveError struct {
	// Archive is the archive's path relative to the release root.
	Archive string
	// Err is the cause.
	Err error
}

// Error names the archive and the cause.
func (e *ArchiveError) Error() string { return "oci: archive " + e.Archive + ": " + e.Err.Error() }

// Unwrap returns Err.
func (e *ArchiveError) Unwrap() error { return e.Err }

// ErrChecksum is wrapped by an *ArchiveError when an archive's size or
// SHA-256 is not the one its manifest record gives.
var ErrChecksum = errors.New("archive does not match its manifest record")

// FromArchives extracts the executable named binary ("hello") from every
// linux .tar.gz archive of rel, staged under root (the release root:
// artifact paths are relative to it), into dir/<os>-<arch>/binary, and
// returns them as Binaries for Spec.Binaries. It is for building images of
// a release that was packaged earlier, without its build directory.
//
// Each archive is read once, streaming: its size and SHA-256 are checked
// against the release's record while the binary is extracted (a mismatch
// wraps ErrChecksum, and the extracted file is removed), the binary must be
// a regular file at most MaxBinarySize bytes, found exactly once. On error
// no extracted file is left behind. Other
// archives (darwin, windows .zip) are ignored.
func FromArchives(ctx context.Context, root string, rel manifest.Release, binary, dir string) (_ []Binary, err error) {
	if !plainName(binary) {
		return nil, &SpecError{Field: "binary", Reason: fmt.Sprintf("%q is not a plain file name", binary)}
	}
	var out []Binary
	defer func() {
		if err != nil {
			for _, b := range out {
				os.Remove(b.Path)
			}
		}
	}()
	for _, a := range rel.Artifacts {
		if a.Kind != manifest.KindArchive || a.OS != "linux" || !strings.HasSuffix(a.Name, ".tar.gz") {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p := manifest.Platform{OS: a.OS, Arch: a.Arch}
		dst := filepath.Join(dir, p.OS+"-"+p.Arch, binary)
		if err := extractBinary(ctx, filepath.Join(root, filepath.FromSlash(a.Path)), a, binary, dst); err != nil {
			return nil, &ArchiveError{Archive: a.Path, Err: err}
		}
		out = append(out, Binary{Name: binary, Path: dst, Platform: p})
	}
	if len(out) == 0 {
		return nil, &SpecError{Field: "Release.Artifacts", Reason: "no linux .tar.gz archive in release " + rel.Version}
	}
	return out, nil
}

func extractBinary(ctx context.Context, archive string, a manifest.Artifact, binary, dst string) (err error) {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	sum := newHashCounter()
	r := io.TeeReader(f, sum)
	zr, err := gzip.NewReader(r)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	found := false
	defer func() {
		if err != nil && found {
			os.Remove(dst)
		}
	}()
	tr := tar.NewReader(zr)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if path.Base(strings.TrimSuffix(h.Name, "/")) != binary {
			continue
		}
		if h.Typeflag != tar.TypeReg {
			return fmt.Errorf("%s is not a regular file", h.Name)
		}
		if found {
			return fmt.Errorf("%s more than once", binary)
		}
		if h.Size > MaxBinarySize {
			return fmt.Errorf("%s is %d bytes, more than MaxBinarySize", h.Name, h.Size)
		}
		if err := writeExclusive(dst, tr); err != nil {
			return err
		}
		found = true
	}
	if !found {
		return fmt.Errorf("no %s in the archive", binary)
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	if got := hex.EncodeToString(sum.h.Sum(nil)); sum.n != a.Size || got != strings.ToLower(a.SHA256) {
		return fmt.Errorf("%w: %d bytes, sha256 %s; the release says %d bytes, sha256 %s", ErrChecksum, sum.n, got, a.Size, a.SHA256)
	}
	return nil
}

// writeExclusive creates dst (which must not exist) with mode 0755 and
// copies r into it.
func writeExclusive(dst string, r io.Reader) error {
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	if err := out.Close(); err != nil {
		os.Remove(dst)
		return err
	}
	return nil
}
