package xz_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
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

// TestContainer: the block-by-block reader decodes what ulikunitz/xz and
// the xz command write (one and many blocks, several streams with
// padding, every check type), refuses a dictionary above the cap in a
// later stream too, and refuses corrupt data.
func TestContainer(t *testing.T) {
	data := bytes.Repeat([]byte("relkit xz container test, block after block. "), 20000) // ~900 KiB
	enc := func(c uxz.WriterConfig) []byte {
		var buf bytes.Buffer
		w, err := c.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	decode := func(b []byte) ([]byte, error) {
		r, err := xz.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		return io.ReadAll(r)
	}
	cases := map[string][]byte{
		"one block crc64":     enc(uxz.WriterConfig{}),
		"many blocks crc32":   enc(uxz.WriterConfig{BlockSize: 64 << 10, CheckSum: uxz.CRC32}),
		"many blocks sha256":  enc(uxz.WriterConfig{BlockSize: 100 << 10, CheckSum: uxz.SHA256}),
		"no check":            enc(uxz.WriterConfig{NoCheckSum: true}),
		"two streams, padded": append(append(enc(uxz.WriterConfig{}), 0, 0, 0, 0), enc(uxz.WriterConfig{BlockSize: 1 << 18})...),
	}
	if xzBin, err := exec.LookPath("xz"); err == nil {
		for name, args := range map[string][]string{"xz -6": {"-6"}, "xz --block-size (multi-block, sizes in headers)": {"-T2", "--block-size=128KiB"}, "xz --check=sha256": {"--check=sha256"}} {
			cmd := exec.Command(xzBin, append(args, "-c")...)
			cmd.Stdin = bytes.NewReader(data)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			cases[name] = out
		}
	} else {
		t.Log("no xz command: decoding only what ulikunitz/xz writes")
	}
	for name, b := range cases {
		got, err := decode(b)
		if name == "two streams, padded" {
			data2 := append(append([]byte(nil), data...), data...)
			if err != nil || !bytes.Equal(got, data2) {
				t.Errorf("%s: %d bytes, %v", name, len(got), err)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: %d bytes, %v", name, len(got), err)
		}
	}
	// A second stream declaring a 128 MiB dictionary: refused when its
	// block header is read, after the first stream's data.
	hostile := append(enc(uxz.WriterConfig{}), enc(uxz.WriterConfig{DictCap: 2 * xz.MaxDictSize})...)
	if _, err := decode(hostile); !errors.Is(err, install.ErrTooLarge) || !errors.As(err, new(*xz.DictTooLargeError)) {
		t.Errorf("a later stream's 128 MiB dictionary: got %v", err)
	}
	// Corruption anywhere is an error.
	good := cases["many blocks crc32"]
	for _, at := range []int{13, len(good) / 2, len(good) - 30, len(good) - 3} {
		bad := append([]byte(nil), good...)
		bad[at] ^= 0x55
		if got, err := decode(bad); err == nil && bytes.Equal(got, data) {
			t.Errorf("a flipped byte at %d of %d went unnoticed", at, len(good))
		}
	}
}
