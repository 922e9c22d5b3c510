package install

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/relkit/relkit/manifest"
)

// TestManifestCompressedTransfer: the installer asks for manifest.json
// with gzip and reads the compressed bytes (a long history costs a sixth
// on the wire), while artifacts are still fetched as stored; a compressed
// manifest that expands past the size cap is refused with a LimitError,
// after reading a bounded number of bytes, and nothing is installed.
func TestManifestCompressedTransfer(t *testing.T) {
	f := newFixture(t, "hello")
	for i := range 40 {
		f.release("1." + fmtInt(int64(i)) + ".0")
	}
	srv := f.serve()
	var wire atomic.Int64
	var gzipAsked atomic.Int64
	srv.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, ".json") || !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			if strings.HasSuffix(r.URL.Path, ".tar.gz") && r.Header.Get("Accept-Encoding") != "identity" {
				t.Errorf("artifact %s requested with Accept-Encoding %q", r.URL.Path, r.Header.Get("Accept-Encoding"))
			}
			return false
		}
		gzipAsked.Add(1)
		data, err := os.ReadFile(filepath.Join(f.root, filepath.FromSlash(strings.TrimPrefix(r.URL.Path, "/"))))
		if err != nil {
			return false
		}
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(data)
		zw.Close()
		wire.Add(int64(buf.Len()))
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Type", "application/json")
		w.Write(buf.Bytes())
		return true
	})
	in := f.installer(f.config(srv.URL+"/", t.TempDir()))
	u, err := in.Check(context.Background(), manifest.Query{})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(f.root, "manifest.json"))
	if gzipAsked.Load() == 0 || u.Latest.Release.Version != "1.39.0" {
		t.Fatalf("gzip requests %d, latest %q", gzipAsked.Load(), u.Latest.Release.Version)
	}
	if w := wire.Load(); w*3 > int64(len(raw)) {
		t.Errorf("%d bytes on the wire for a %d-byte manifest", w, len(raw))
	}
	t.Logf("manifest.json: %d bytes, %d on the wire with gzip", len(raw), wire.Load())

	// A gzip bomb: 64 MiB of spaces inside a valid-looking JSON document.
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	zw.Write([]byte(`{"schema":"relkit.manifest/v1","x":"`))
	zw.Write(bytes.Repeat([]byte(" "), 64<<20))
	zw.Write([]byte(`"}`))
	zw.Close()
	srv.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/manifest.json" {
			return false
		}
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(bomb.Bytes())
		return true
	})
	dir := t.TempDir()
	_, err = f.installer(f.config(srv.URL+"/", dir)).Install(context.Background(), manifest.Query{})
	var le *LimitError
	if !errors.As(err, &le) {
		t.Fatalf("gzip bomb: %v, want *LimitError", err)
	}
	if entries, _ := os.ReadDir(dir); len(leftovers(t, dir)) > 0 || len(entries) > 2 {
		t.Errorf("the refused install left %v", leftovers(t, dir))
	}
}
