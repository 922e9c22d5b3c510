package xz_test

import (
	"bytes"
	"io"
	"testing"

	uxz "github.com/ulikunitz/xz"

	"github.com/relkit/relkit/install/xz"
)

// FuzzNewReader: no input makes the container reader panic or produce
// more than the ratio of a real xz stream allows (bounded by 1 MiB here).
func FuzzNewReader(f *testing.F) {
	for _, c := range []uxz.WriterConfig{{}, {BlockSize: 256, CheckSum: uxz.CRC32}, {CheckSum: uxz.SHA256}, {NoCheckSum: true}} {
		var buf bytes.Buffer
		w, _ := c.NewWriter(&buf)
		w.Write(bytes.Repeat([]byte("hello xz "), 100))
		w.Close()
		f.Add(buf.Bytes())
	}
	f.Add([]byte{0xfd, '7', 'z', 'X', 'Z', 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := xz.NewReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		io.Copy(io.Discard, io.LimitReader(r, 1<<20))
	})
}
