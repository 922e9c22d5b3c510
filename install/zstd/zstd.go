// Package zstd makes package install read .tar.zst (and .tzst) archives.
// Import it for its side effect in a self-updater whose releases ship
// zstd tarballs:
//
//	import _ "github.com/relkit/relkit/install/zstd"
//
// It registers an [install.Decoder] built on
// github.com/klauspost/compress/zstd, so the zstd code is linked only into
// programs that import this package. The decompressed tar goes through
// every check a tar.gz's does (see package install).
//
// Memory: a zstd frame declares its window size, which the decoder
// allocates; frames declaring more than [MaxWindow] (64 MiB; zstd -19
// uses 8 MiB, --long 128 MiB) are refused, and the decoder runs on one
// goroutine with its low-memory option.
package zstd

import (
	"io"

	"github.com/klauspost/compress/zstd"

	"github.com/relkit/relkit/install"
)

// MaxWindow is the largest window a frame may declare (64 MiB).
const MaxWindow = 64 << 20

// Magic is the zstd frame magic.
var Magic = []byte{0x28, 0xb5, 0x2f, 0xfd}

func init() {
	install.RegisterDecoder(install.Decoder{Exts: []string{".tar.zst", ".tzst"}, Magic: Magic, NewReader: NewReader})
}

// NewReader returns the decompressed stream of the zstd data in r. It is
// the registered Decoder's NewReader.
func NewReader(r io.Reader) (io.ReadCloser, error) {
	d, err := zstd.NewReader(r,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(MaxWindow),
		zstd.WithDecoderMaxMemory(install.DefaultMaxTotalSize),
	)
	if err != nil {
		return nil, err
	}
	return d.IOReadCloser(), nil
}
