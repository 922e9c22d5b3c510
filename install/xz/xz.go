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
// decoder allocates. This package reads the .xz container itself and
// refuses any block (in any stream of the file) that declares more than
// [MaxDictSize] (xz -9 uses 64 MiB) before its dictionary is allocated,
// with a *DictTooLargeError wrapping install.ErrTooLarge; the LZMA2 data is
// decoded by github.com/ulikunitz/xz/lzma.
package xz

import (
	"bufio"
	"fmt"
	"io"

	"github.com/relkit/relkit/install"
)

// MaxDictSize is the largest LZMA2 dictionary a block may declare (64
// MiB, what xz -9 uses).
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

// NewReader returns the decompressed stream of the xz data in r (one or
// more streams, with stream padding): the registered Decoder's NewReader.
// It reads the .xz container itself, block by block, checking each block
// header (and its CRC32), each block's check (CRC32, CRC64 or SHA-256) and
// the index, and refuses a block whose dictionary is above [MaxDictSize]
// with a *DictTooLargeError before the LZMA2 decoder allocates it. Only
// the LZMA2 filter is supported (as xz writes by default); BCJ or delta
// filter chains are refused with ErrFormat.
func NewReader(r io.Reader) (io.ReadCloser, error) {
	s := newStreamReader(bufio.NewReaderSize(r, 64<<10))
	// Read the stream header and the first block header now: an input
	// that is not xz, or whose first block is refused, fails here.
	if err := s.streamHeader(); err != nil {
		return nil, err
	}
	if err := s.next(); err != nil {
		return nil, err
	}
	return io.NopCloser(s), nil
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
