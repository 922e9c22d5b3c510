package install

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relkit/relkit/manifest"
)

// changedFileServer serves the artifact of f at version v as an honest
// server whose file is being replaced: the first request gets a stale
// file of the same size, cut in the middle; later requests get the
// signed file, with ranges, validated by If-Range against validator (an
// ETag or a Last-Modified date the two versions share or not).
func changedFileServer(t *testing.T, f *fixture, v string, etags bool) (*server, *atomic.Int64) {
	t.Helper()
	srv := f.serve()
	p := filepath.Join(f.root, v, f.artifactName(v))
	signed, _ := os.ReadFile(p)
	stale := bytes.Clone(signed)
	for i := len(stale) / 3; i < len(stale)-20; i += 97 {
		stale[i] ^= 0x55
	}
	mod := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC) // both versions in the same second
	var hits atomic.Int64
	srv.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, ".tar.gz") {
			return false
		}
		if hits.Add(1) == 1 {
			if etags {
				w.Header().Set("ETag", `"stale"`)
			} else {
				w.Header().Set("Last-Modified", mod.Format(http.TimeFormat))
			}
			w.Header().Set("Content-Length", fmt.Sprint(len(stale)))
			w.WriteHeader(http.StatusOK)
			w.Write(stale[:len(stale)*2/3])
			w.(http.Flusher).Flush()
			if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
				c.Close()
			}
			return true
		}
		if etags {
			w.Header().Set("ETag", `"signed"`)
		}
		http.ServeContent(w, r, "x.tar.gz", mod, bytes.NewReader(signed))
		return true
	})
	return srv, &hits
}

// bigRelease publishes v with a binary large enough to cut in the middle.
func bigRelease(f *fixture, v string) []byte {
	body := append(script("hello", v), []byte("# "+randomHex(1<<20)+"\n")...)
	f.publish(v, f.artifactName(v), tarGz(f.t, []entry{{name: "hello", body: body}}))
	return body
}

// TestResumeAfterFileChangedWithETag: the ETag changed, so the server
// answers the If-Range resume with the whole new file, and the install
// succeeds with two requests.
func TestResumeAfterFileChangedWithETag(t *testing.T) {
	ctx := guarded(t)
	f := newFixture(t, "hello")
	body := bigRelease(f, "1.0.0")
	srv, hits := changedFileServer(t, f, "1.0.0", true)
	dir := t.TempDir()
	if _, err := f.installer(f.config(srv.URL, dir)).Install(ctx, manifest.Query{}); err != nil {
		t.Fatal(err)
	}
	if readFile(t, filepath.Join(dir, "hello")) != string(body) {
		t.Fatal("wrong bytes installed")
	}
	if n := hits.Load(); n != 2 {
		t.Fatalf("%d artifact requests, want 2: %v", n, srv.requests(".tar.gz"))
	}
}

// TestResumeSplicedRestartsFromZero: the validator could not tell the
// versions apart (one Last-Modified second), so the resume splices the
// stale head onto the signed tail; the checksum fails, and the download
// restarts from zero once, and succeeds, even with no retries left.
func TestResumeSplicedRestartsFromZero(t *testing.T) {
	for _, retries := range []int{1, 3} {
		t.Run(fmt.Sprint("retries=", retries), func(t *testing.T) {
			ctx := guarded(t)
			f := newFixture(t, "hello")
			body := bigRelease(f, "1.0.0")
			srv, hits := changedFileServer(t, f, "1.0.0", false)
			dir := t.TempDir()
			cfg := f.config(srv.URL, dir)
			cfg.Network.Retries = retries
			if _, err := f.installer(cfg).Install(ctx, manifest.Query{}); err != nil {
				t.Fatal(err)
			}
			if readFile(t, filepath.Join(dir, "hello")) != string(body) {
				t.Fatal("wrong bytes installed")
			}
			reqs := srv.requests(".tar.gz")
			if n := hits.Load(); n != 3 || !strings.Contains(reqs[1], "bytes=") || strings.Contains(reqs[2], "bytes=") {
				t.Fatalf("want a cut request, a spliced resume and one restart from zero, got %v", reqs)
			}
			if l := leftovers(t, dir); len(l) != 0 {
				t.Fatalf("leftovers: %v", l)
			}
		})
	}
}
