package publish

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
)

// Body is the reader the [Publisher] passes to [Store.Put]. It delivers
// exactly the planned number of bytes of a staged file and verifies them:
// when the bytes read from offset 0 to the end do not hash to the planned
// SHA-256, the Read that would deliver the last bytes delivers none of
// them and returns an error wrapping [ErrChecksum] (a [*ChecksumError]),
// so a server that checks Content-Length never receives a complete body;
// a file that got shorter is reported the same way. A Put that copies the body
// and checks the copy's error therefore never publishes changed bytes.
//
// Body also implements io.Seeker and io.ReaderAt for SDKs that rewind a
// body or read parts in parallel; a seek back to offset 0 restarts the
// verification, and parts read with ReadAt are not verified (the server
// should check them; S3 does with x-amz-checksum-sha256).
type Body struct {
	name    string
	src     readSeekerAt
	size    int64
	sha     string
	pos     int64
	h       hash.Hash
	hashing bool // the current pass read sequentially from 0
	onRead  func(n int64)
	err     error // sticky verification failure of the current pass
}

type readSeekerAt interface {
	io.ReadSeeker
	io.ReaderAt
}

// NewBody returns a Body reading size bytes from src, verified against the
// lowercase hex SHA-256 sha. name is used in errors. Providers' tests use
// it to call Put directly; the Publisher builds its own.
func NewBody(name string, src interface {
	io.ReadSeeker
	io.ReaderAt
}, size int64, sha string) *Body {
	return &Body{name: name, src: src, size: size, sha: sha, h: sha256.New(), hashing: true}
}

// Size returns the number of bytes the body delivers.
func (b *Body) Size() int64 { return b.size }

// SHA256 returns the expected lowercase hex SHA-256.
func (b *Body) SHA256() string { return b.sha }

// Read implements io.Reader.
func (b *Body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.pos >= b.size {
		if b.hashing && b.size == 0 {
			// Empty content is verified on the first Read too.
			if err := b.check(); err != nil {
				return 0, err
			}
		}
		return 0, io.EOF
	}
	if rem := b.size - b.pos; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := b.src.Read(p)
	if n > 0 {
		if b.hashing {
			b.h.Write(p[:n])
		}
		b.pos += int64(n)
		if b.onRead != nil {
			b.onRead(int64(n))
		}
	}
	if b.pos == b.size {
		if b.hashing {
			if err := b.check(); err != nil {
				// Withhold the final bytes: a server that counts
				// Content-Length never sees a complete body.
				return 0, err
			}
		}
		return n, io.EOF
	}
	if errors.Is(err, io.EOF) {
		return n, &ChecksumError{Name: b.name, WantSize: b.size, GotSize: b.pos}
	}
	return n, err
}

// check compares the digest of a complete sequential pass; a mismatch
// sticks until the next seek.
func (b *Body) check() error {
	if got := hex.EncodeToString(b.h.Sum(nil)); got != b.sha {
		b.err = &ChecksumError{Name: b.name, WantSHA256: b.sha, GotSHA256: got, WantSize: b.size, GotSize: b.size}
	}
	return b.err
}

// Seek implements io.Seeker within [0, Size].
func (b *Body) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = b.pos + offset
	case io.SeekEnd:
		abs = b.size + offset
	default:
		return b.pos, errors.New("publish: Body.Seek: invalid whence")
	}
	if abs < 0 {
		return b.pos, errors.New("publish: Body.Seek: negative position")
	}
	if abs > b.size {
		abs = b.size
	}
	if abs == b.pos {
		return abs, nil
	}
	if _, err := b.src.Seek(abs, io.SeekStart); err != nil {
		return b.pos, err
	}
	b.err = nil
	if abs == 0 {
		b.h.Reset()
		b.hashing = true
	} else {
		b.hashing = false
	}
	b.pos = abs
	return abs, nil
}

// ReadAt implements io.ReaderAt within [0, Size], without verification.
func (b *Body) ReadAt(p []byte, off int64) (int, error) {
	if off >= b.size {
		return 0, io.EOF
	}
	short := false
	if rem := b.size - off; int64(len(p)) > rem {
		p = p[:rem]
		short = true
	}
	n, err := b.src.ReadAt(p, off)
	if err == nil && short {
		err = io.EOF
	}
	return n, err
}
