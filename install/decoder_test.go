package install

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/manifest"
)

// TestInstallNeedsRegisteredDecoder: a program that links no decoder for
// a .tar.xz or .tar.zst release refuses it with an *ArchiveError naming the
// package to import, before downloading anything, and the installed
// binary stays.
func TestInstallNeedsRegisteredDecoder(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "hello")
	f.release("1.0.0")
	srv := f.serve()
	dir := t.TempDir()
	cfg := f.config(srv.URL, dir)
	if _, err := f.installer(cfg).Install(ctx, manifest.Query{}); err != nil {
		t.Fatal(err)
	}
	WithoutDecoders(t)
	for i, c := range []struct{ ext, pkg string }{
		{".tar.xz", "github.com/relkit/relkit/install/xz"},
		{".tar.zst", "github.com/relkit/relkit/install/zstd"},
	} {
		v := fmt.Sprintf("1.1.%d", i)
		name := fmt.Sprintf("hello-%s-%s-%s%s", v, f.plat.OS, f.plat.Arch, c.ext)
		f.publish(v, name, []byte("compressed bytes nobody here can read"))
		_, err := f.installer(cfg).Install(ctx, manifest.Query{Version: v})
		var ae *ArchiveError
		if !errors.As(err, &ae) || !errors.Is(err, ErrUnsafeArchive) {
			t.Fatalf("%s: got %v, want an *ArchiveError wrapping ErrUnsafeArchive", c.ext, err)
		}
		if !strings.Contains(err.Error(), c.pkg) {
			t.Errorf("%s: error does not name %s: %v", c.ext, c.pkg, err)
		}
		if got := srv.requests(name); len(got) != 0 {
			t.Errorf("%s: downloaded before refusing: %v", c.ext, got)
		}
		if got := readFile(t, filepath.Join(dir, "hello")); got != string(script("hello", "1.0.0")) {
			t.Fatalf("installed binary changed to %q", got)
		}
		if l := leftovers(t, dir); len(l) != 0 {
			t.Fatalf("leftover files: %v", l)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "hello")); err != nil {
		t.Fatal(err)
	}
}

// TestRegisterDecoderRefusesBadDecoders: the registry panics on a decoder
// without extensions or NewReader, and on a built-in or taken extension.
func TestRegisterDecoderRefusesBadDecoders(t *testing.T) {
	WithoutDecoders(t)
	ok := Decoder{Exts: []string{".tar.test"}, NewReader: nil}
	for name, d := range map[string]Decoder{
		"no NewReader": ok,
		"no Exts":      {NewReader: func(r io.Reader) (io.ReadCloser, error) { return io.NopCloser(r), nil }},
		"built in":     {Exts: []string{".tar.gz"}, NewReader: func(r io.Reader) (io.ReadCloser, error) { return io.NopCloser(r), nil }},
		"upper case":   {Exts: []string{".TAR.X"}, NewReader: func(r io.Reader) (io.ReadCloser, error) { return io.NopCloser(r), nil }},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: registered", name)
				}
			}()
			RegisterDecoder(d)
		}()
	}
	nop := func(r io.Reader) (io.ReadCloser, error) { return io.NopCloser(r), nil }
	RegisterDecoder(Decoder{Exts: []string{".tar.test"}, NewReader: nop})
	defer func() {
		if recover() == nil {
			t.Error("an extension registered twice")
		}
	}()
	RegisterDecoder(Decoder{Exts: []string{".tar.test"}, NewReader: nop})
}
