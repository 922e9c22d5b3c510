package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"

	"github.com/relkit/relkit/manifest"
)

// UnknownSize is the Size of an Expected whose size is not known (a
// SHA256SUMS entry carries none): only the digest is checked. A Size of 0
// is a known size, that of an empty file.
const UnknownSize = -1

// Expected is what a file must be: its SHA-256 and, when known, its size.
type Expected struct {
	// Name names the file in errors.
	Name string
	// SHA256 is the expected lowercase (or uppercase) hex digest. Required.
	SHA256 string
	// Size is the expected size in bytes, or [UnknownSize] (-1). Zero is
	// not "unknown": it is an empty file, and a longer one fails. A known
	// size also bounds the read: a longer stream fails as soon as it
	// passes Size. Any other negative value is refused.
	Size int64
}

// ExpectArtifact returns what the manifest entry a says the file is.
func ExpectArtifact(a manifest.Artifact) Expected {
	return Expected{Name: a.Name, SHA256: a.SHA256, Size: a.Size}
}

// ExpectChecksum returns what the checksums file says name is, with Size
// UnknownSize, or a *MissingEntryError.
func ExpectChecksum(sums *manifest.Checksums, name string) (Expected, error) {
	e, ok := sums.Lookup(name)
	if !ok {
		return Expected{}, &MissingEntryError{Name: name, In: manifest.ChecksumsFile}
	}
	return Expected{Name: name, SHA256: e.SHA256, Size: UnknownSize}, nil
}

func (e Expected) check() error {
	if !isHex64(strings.ToLower(e.SHA256)) {
		return &FormatError{File: e.Name, Reason: fmt.Sprintf("expected sha256 %q is not 64 hex digits", e.SHA256)}
	}
	if e.Size < 0 && e.Size != UnknownSize {
		return &FormatError{File: e.Name, Reason: fmt.Sprintf("expected size %d is negative", e.Size)}
	}
	return nil
}

// Reader hashes what it reads from an underlying reader and checks it
// against an Expected value: wrap a download with it and copy it to disk,
// and the copy fails if the bytes are wrong. It never holds more than the
// caller's buffer in memory.
//
// Read returns the underlying data; instead of io.EOF at the end it returns
// a *SizeMismatchError or *ChecksumMismatchError when the content is wrong,
// and io.EOF only when it is verified. With a known size, Read fails as
// soon as the stream passes it, so an endless body is cut off. Only after
// Read has returned io.EOF (Verified reports true) may the bytes be used.
type Reader struct {
	r        io.Reader
	want     Expected
	wantSum  string
	h        hash.Hash
	n        int64
	err      error // sticky result once decided
	verified bool
}

// NewReader returns a Reader checking r against want. It refuses a
// malformed want (no or bad SHA-256) with a *FormatError.
func NewReader(r io.Reader, want Expected) (*Reader, error) {
	if err := want.check(); err != nil {
		return nil, err
	}
	return &Reader{r: r, want: want, wantSum: strings.ToLower(want.SHA256), h: sha256.New()}, nil
}

// Read implements io.Reader; see Reader.
func (r *Reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.want.Size != UnknownSize {
		// Read at most one byte past the expected size, so an endless
		// stream is detected without reading it.
		if rem := r.want.Size - r.n + 1; int64(len(p)) > rem {
			p = p[:rem]
		}
	}
	n, err := r.r.Read(p)
	if n > 0 {
		r.h.Write(p[:n])
		r.n += int64(n)
		if r.want.Size != UnknownSize && r.n > r.want.Size {
			r.err = &SizeMismatchError{Name: r.want.Name, Want: r.want.Size, Got: r.n}
			return 0, r.err
		}
	}
	if err == io.EOF {
		r.err = r.finish()
		return n, r.err
	}
	if err != nil {
		r.err = err
	}
	return n, err
}

func (r *Reader) finish() error {
	if r.want.Size != UnknownSize && r.n != r.want.Size {
		return &SizeMismatchError{Name: r.want.Name, Want: r.want.Size, Got: r.n}
	}
	if got := r.Sum(); got != r.wantSum {
		return &ChecksumMismatchError{Name: r.want.Name, Want: r.wantSum, Got: got}
	}
	r.verified = true
	return io.EOF
}

// Verified reports whether the whole stream was read and matched.
func (r *Reader) Verified() bool { return r.verified }

// N returns the number of bytes read so far.
func (r *Reader) N() int64 { return r.n }

// Sum returns the lowercase hex SHA-256 of the bytes read so far.
func (r *Reader) Sum() string { return hex.EncodeToString(r.h.Sum(nil)) }

// CopyBufferSize is the buffer size Verify and VerifyFile read with.
const CopyBufferSize = 256 << 10

// Verify reads r to its end and checks it against want, in one pass with no
// more than CopyBufferSize bytes in memory. It returns nil, a
// *ChecksumMismatchError, a *SizeMismatchError, a read error, or ctx's
// error when ctx is cancelled.
func Verify(ctx context.Context, r io.Reader, want Expected) error {
	_, err := Copy(ctx, io.Discard, r, want)
	return err
}

// Copy copies r to w while checking it against want (a TeeReader that
// verifies): the use is downloading to a temporary file and renaming it
// into place only when Copy returns nil. It returns the number of bytes
// written. On error, w may hold unverified bytes: discard them.
func Copy(ctx context.Context, w io.Writer, r io.Reader, want Expected) (int64, error) {
	vr, err := NewReader(r, want)
	if err != nil {
		return 0, err
	}
	buf := make([]byte, CopyBufferSize)
	var written int64
	for {
		if err := ctx.Err(); err != nil {
			return written, err
		}
		n, rerr := vr.Read(buf)
		if n > 0 {
			m, werr := w.Write(buf[:n])
			written += int64(m)
			if werr != nil {
				return written, werr
			}
			if m != n {
				return written, io.ErrShortWrite
			}
		}
		if rerr == io.EOF {
			return written, nil
		}
		if rerr != nil {
			return written, rerr
		}
	}
}

// VerifyFile checks the file at path against want (see Verify).
func VerifyFile(ctx context.Context, path string, want Expected) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return Verify(ctx, f, want)
}

// ParseChecksums reads a checksums file (see manifest.ParseChecksums) of at
// most manifest.MaxChecksumsSize bytes.
func ParseChecksums(r io.Reader) (*manifest.Checksums, error) {
	data, err := readLimited(r, manifest.ChecksumsFile, manifest.MaxChecksumsSize)
	if err != nil {
		return nil, err
	}
	return manifest.ParseChecksums(strings.NewReader(string(data)))
}

// readLimited reads all of r, refusing more than limit bytes with a
// *LimitError.
func readLimited(r io.Reader, what string, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, &LimitError{What: what, Limit: limit}
	}
	return data, nil
}
