package install_test

import (
	"fmt"
	"io"

	"github.com/relkit/relkit/install"
)

// ExampleRegisterDecoder registers a decoder for a compression the
// installer does not read itself. Programs usually import one of relkit's
// decoder packages instead, for its side effect:
//
//	import _ "github.com/relkit/relkit/install/xz"   // .tar.xz
//	import _ "github.com/relkit/relkit/install/zstd" // .tar.zst
func ExampleRegisterDecoder() {
	install.RegisterDecoder(install.Decoder{
		Exts:  []string{".tar.example"},
		Magic: []byte("EXMP"),
		NewReader: func(r io.Reader) (io.ReadCloser, error) {
			return io.NopCloser(r), nil // a real decoder decompresses here
		},
	})
	fmt.Println("registered")
	// Output: registered
}
