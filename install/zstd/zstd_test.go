package zstd_test

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	kzstd "github.com/klauspost/compress/zstd"

	"github.com/relkit/relkit/install/zstd"
)

func compress(t testing.TB, window int, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := kzstd.NewWriter(&buf, kzstd.WithEncoderConcurrency(1), kzstd.WithWindowSize(window))
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestWindowCap: a frame declaring a window above MaxWindow is refused;
// one at the cap decodes.
func TestWindowCap(t *testing.T) {
	data := bytes.Repeat([]byte("hello, zstd "), 1<<17) // 1.5 MiB: no single-segment frame
	r, err := zstd.NewReader(bytes.NewReader(compress(t, zstd.MaxWindow, data)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("got %d bytes, %v", len(got), err)
	}
	r, err = zstd.NewReader(bytes.NewReader(compress(t, 2*zstd.MaxWindow, data)))
	if err == nil {
		_, err = io.ReadAll(r)
	}
	if err == nil {
		t.Fatal("a 128 MiB window decoded")
	}
	t.Logf("refused: %v", err)
}

// Example: importing the package registers the decoder; NewReader is
// what the installer calls.
func Example() {
	var buf bytes.Buffer
	w, _ := kzstd.NewWriter(&buf)
	io.WriteString(w, "a tar stream")
	w.Close()
	r, err := zstd.NewReader(&buf)
	if err != nil {
		panic(err)
	}
	b, _ := io.ReadAll(r)
	fmt.Println(string(b))
	// Output: a tar stream
}
