// Package xz makes package install read .tar.xz (and .txz) archives. Import
// it for its side effect in a self-updater whose releases ship xz
// tarballs:
//
//	import _ "github.com/relkit/relkit/install/xz"
//
// It registers an [install.Decoder] built on github.com/ulikunitz/xz, so
// the xz code is linked only into programs that import this package. The
// decompressed tar goes through every check a tar.gz's does (see package
// install).
//
// Memory: an xz block declares its LZMA2 dictionary size, which the
// decoder allocates. This package refuses a stream whose first block
// declares more than [MaxDictSize] (xz -9 uses 64 MiB) before any of it is
// allocated, with an *install.ArchiveError wrapping install.ErrTooLarge.
// Later blocks of a multi-block stream are not inspected (ulikunitz/xz
// offers no hook); their allocation is still bounded by the library's own
// limit, and the bytes they produce by install's size and ratio caps.
package xz

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/ulikunitz/xz"

	"github.com/relkit/relkit/install"
)

// MaxDictSize is the largest LZMA2 dictionary a first block may declare
// (64 MiB, what xz -9 uses).
const MaxDictSize = 64 << 20

// Magic is the xz stream header magic.
var Magic = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}

func init() {
	install.RegisterDecoder(install.Decoder{Exts: []string{".tar.xz", ".txz"}, Magic: Magic, NewReader: NewReader})
}

// DictTooLargeError reports an xz stream whose block declares a dictionary
// above [MaxDictSize]. It wraps install.ErrTooLarge.
type DictTooLargeError struct {
	// Size is the declared dictionary size in bytes.
	Size int64
}

// Error implements the error interface.
func (e *DictTooLargeError) Error() string {
	return fmt.Sprintf("xz block declares a %d-byte dictionary, above the %d-byte limit (recompress with xz -9 or lower)", e.Size, MaxDictSize)
}

// Unwrap returns install.ErrTooLarge.
func (e *DictTooLargeError) Unwrap() error { return install.ErrTooLarge }

// NewReader returns the decompressed stream of the xz data in r. It is
// the registered Decoder's NewReader.
func NewReader(r io.Reader) (io.ReadCloser, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	// Stream header (12 bytes), then the first block header: its size
	// byte, flags, optional sizes, then the filter flags.
	head, err := br.Peek(12 + 1024)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	if size, ok := firstDictSize(head); ok && size > MaxDictSize {
		return nil, &DictTooLargeError{Size: size}
	}
	zr, err := xz.ReaderConfig{}.NewReader(br)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(zr), nil
}

// firstDictSize decodes the LZMA2 dictionary size the first block header
// declares; ok is false when the bytes do not hold one.
func firstDictSize(b []byte) (int64, bool) {
	if len(b) < 12+2 || string(b[:6]) != string(Magic) {
		return 0, false
	}
	b = b[12:]
	if b[0] == 0 { // the index: no block
		return 0, false
	}
	hdrLen := (int(b[0]) + 1) * 4
	if len(b) < hdrLen {
		return 0, false
	}
	h := b[1:hdrLen]
	flags := h[0]
	h = h[1:]
	nFilters := int(flags&3) + 1
	for _, present := range []bool{flags&0x40 != 0, flags&0x80 != 0} { // compressed, uncompressed size
		if present {
			_, n := uvarint(h)
			if n <= 0 {
				return 0, false
			}
			h = h[n:]
		}
	}
	for i := 0; i < nFilters; i++ {
		id, n := uvarint(h)
		if n <= 0 {
			return 0, false
		}
		h = h[n:]
		psize, n := uvarint(h)
		if n <= 0 || uint64(len(h)-n) < psize {
			return 0, false
		}
		props := h[n : n+int(psize)]
		h = h[n+int(psize):]
		if id == 0x21 && len(props) == 1 { // LZMA2
			return lzma2DictSize(props[0])
		}
	}
	return 0, false
}

// lzma2DictSize decodes LZMA2's one-byte dictionary size.
func lzma2DictSize(p byte) (int64, bool) {
	switch {
	case p > 40:
		return 0, false
	case p == 40:
		return 1<<32 - 1, true
	}
	return int64(2|p&1) << (p/2 + 11), true
}

// uvarint decodes xz's multibyte integer (at most 9 bytes).
func uvarint(b []byte) (uint64, int) {
	var x uint64
	for i := 0; i < len(b) && i < 9; i++ {
		x |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			return x, i + 1
		}
	}
	return 0, 0
}
