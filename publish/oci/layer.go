package oci

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/relkit/relkit/internal/ctxio"
)

// layerCompression is the gzip level of layers: BestSpeed, the level
// go-containerregistry and ko use. It is part of the digest: changing it
// changes every image.
const layerCompression = gzip.BestSpeed

// entry is one regular file of a layer.
type entry struct {
	src  string      // file on disk
	dst  string      // clean absolute slash path in the image
	mode fs.FileMode // permission bits
}

// fileLayer is a gzip-compressed tar layer stored in a temporary file,
// with its digest and diff ID computed while it was written.
type fileLayer struct {
	name      string
	digest    v1.Hash
	diffID    v1.Hash
	size      int64
	mediaType types.MediaType
}

var _ v1.Layer = (*fileLayer)(nil)

func (l *fileLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *fileLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *fileLayer) Size() (int64, error)                { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) { return l.mediaType, nil }
func (l *fileLayer) Compressed() (io.ReadCloser, error)  { return os.Open(l.name) }

func (l *fileLayer) Uncompressed() (io.ReadCloser, error) {
	f, err := os.Open(l.name)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{zr, f}, nil
}

// hashCounter hashes and counts what is written through it.
type hashCounter struct {
	h hash.Hash
	n int64
}

func newHashCounter() *hashCounter { return &hashCounter{h: sha256.New()} }

func (w *hashCounter) Write(p []byte) (int, error) {
	w.h.Write(p)
	w.n += int64(len(p))
	return len(p), nil
}

func (w *hashCounter) hash() v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(w.h.Sum(nil))}
}

// writeLayer writes the reproducible layer holding entries to a new file in
// dir: a tar of the files and their parent directories, sorted by path,
// owned by 0:0, every mtime mtime, directories 0755, gzip-compressed at
// layerCompression with no gzip header time or name. Files are streamed, never
// held in memory, and hashed in the same pass.
func writeLayer(ctx context.Context, dir string, entries []entry, mtime time.Time, mt types.MediaType) (_ *fileLayer, err error) {
	f, err := os.CreateTemp(dir, "layer-*.tar.gz")
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	compressed := newHashCounter()
	zw, err := gzip.NewWriterLevel(io.MultiWriter(f, compressed), layerCompression)
	if err != nil {
		return nil, err
	}
	uncompressed := newHashCounter()
	tw := tar.NewWriter(io.MultiWriter(zw, uncompressed))
	mtime = mtime.UTC().Truncate(time.Second)

	entries = slices.Clone(entries)
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.dst, b.dst) })
	written := map[string]bool{}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for _, d := range parents(e.dst) {
			if written[d] {
				continue
			}
			written[d] = true
			if err := tw.WriteHeader(&tar.Header{
				Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: mtime,
			}); err != nil {
				return nil, err
			}
		}
		if err := addFile(ctx, tw, e, mtime); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return &fileLayer{
		name: f.Name(), digest: compressed.hash(), diffID: uncompressed.hash(),
		size: compressed.n, mediaType: mt,
	}, nil
}

// addFile writes one regular file, checking that the file on disk is a
// regular file and did not change size while it was read.
func addFile(ctx context.Context, tw *tar.Writer, e entry, mtime time.Time) error {
	src, err := os.Open(e.src)
	if err != nil {
		return err
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return &SpecError{Field: "file " + e.src, Reason: "not a regular file"}
	}
	if err := tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeReg, Name: strings.TrimPrefix(e.dst, "/"),
		Mode: int64(e.mode.Perm()), Size: fi.Size(), ModTime: mtime,
	}); err != nil {
		return err
	}
	n, err := io.Copy(tw, ctxio.Reader(ctx, src))
	if err != nil {
		return fmt.Errorf("read %s: %w", e.src, err)
	}
	if n != fi.Size() {
		return fmt.Errorf("read %s: size changed while reading (%d, then %d bytes)", e.src, fi.Size(), n)
	}
	return nil
}

// parents returns the directories above the absolute path p, outermost
// first, without the leading slash ("usr", "usr/local", "usr/local/bin").
func parents(p string) []string {
	var out []string
	d := path.Dir(p)
	for d != "/" && d != "." {
		out = append(out, strings.TrimPrefix(d, "/"))
		d = path.Dir(d)
	}
	slices.Reverse(out)
	return out
}
