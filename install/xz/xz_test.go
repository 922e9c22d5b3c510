package xz_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"

	uxz "github.com/ulikunitz/xz"

	"github.com/relkit/relkit/install"
	"github.com/relkit/relkit/install/xz"
)

func compress(t testing.TB, dictCap int, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := uxz.WriterConfig{DictCap: dictCap}.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestDictionaryCap: a stream whose block declares a dictionary above
// MaxDictSize is refused before the decoder allocates it; one at the cap
// decodes.
func TestDictionaryCap(t *testing.T) {
	data := []byte("hello, xz")
	r, err := xz.NewReader(bytes.NewReader(compress(t, xz.MaxDictSize, data)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("got %q, %v", got, err)
	}
	_, err = xz.NewReader(bytes.NewReader(compress(t, 2*xz.MaxDictSize, data)))
	var de *xz.DictTooLargeError
	if !errors.As(err, &de) || !errors.Is(err, install.ErrTooLarge) {
		t.Fatalf("a 128 MiB dictionary: got %v, want a *DictTooLargeError wrapping install.ErrTooLarge", err)
	}
	if de.Size != 2*xz.MaxDictSize {
		t.Errorf("declared size %d", de.Size)
	}
}

// Example: importing the package registers the decoder; NewReader is
// what the installer calls.
func Example() {
	var buf bytes.Buffer
	w, _ := uxz.NewWriter(&buf)
	io.WriteString(w, "a tar stream")
	w.Close()
	r, err := xz.NewReader(&buf)
	if err != nil {
		panic(err)
	}
	b, _ := io.ReadAll(r)
	fmt.Println(string(b))
	// Output: a tar stream
}
