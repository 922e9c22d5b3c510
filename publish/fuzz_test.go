package publish_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/publish/publishtest"
)

// FuzzBody drives a Body with arbitrary reads and seeks. Invariants: every
// byte delivered is the source byte at that offset; a full sequential pass
// from offset 0 of a correct body yields exactly the content and io.EOF;
// of a body with a wrong digest, it never yields all the bytes and ends
// with ErrChecksum.
func FuzzBody(f *testing.F) {
	f.Add([]byte("hello, world"), []byte{0, 5, 1, 3, 2, 0, 0, 100})
	f.Add([]byte{}, []byte{0})
	f.Add(bytes.Repeat([]byte("abc"), 100), []byte{1, 7, 0, 255, 2, 1, 0, 3})
	f.Fuzz(func(t *testing.T, data, ops []byte) {
		for _, good := range []bool{true, false} {
			sum := publishtest.SHA256(data)
			if !good {
				sum = publishtest.SHA256(append(bytes.Clone(data), 'x'))
			}
			b := publish.NewBody("f", bytes.NewReader(data), int64(len(data)), sum)
			pos := int64(0)
			for i := 0; i+1 < len(ops); i += 2 {
				arg := int64(ops[i+1])
				switch ops[i] % 3 {
				case 0: // read arg bytes
					buf := make([]byte, arg)
					n, err := b.Read(buf)
					if !bytes.Equal(buf[:n], data[pos:pos+int64(n)]) {
						t.Fatalf("read at %d: got %q", pos, buf[:n])
					}
					pos += int64(n)
					if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, publish.ErrChecksum) {
						t.Fatalf("read: %v", err)
					}
				case 1: // seek to arg
					p, err := b.Seek(arg, io.SeekStart)
					if err != nil {
						t.Fatal(err)
					}
					pos = p
				case 2: // ReadAt arg
					buf := make([]byte, 7)
					n, _ := b.ReadAt(buf, arg)
					if arg < int64(len(data)) && !bytes.Equal(buf[:n], data[arg:arg+int64(n)]) {
						t.Fatalf("ReadAt %d: got %q", arg, buf[:n])
					}
				}
			}
			if _, err := b.Seek(0, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(b)
			if good && (err != nil || !bytes.Equal(got, data)) {
				t.Fatalf("full pass of a correct body: %d bytes, %v", len(got), err)
			}
			if !good && (!errors.Is(err, publish.ErrChecksum) || (len(data) > 0 && len(got) >= len(data))) {
				t.Fatalf("full pass of a wrong body: %d of %d bytes, %v", len(got), len(data), err)
			}
		}
	})
}
