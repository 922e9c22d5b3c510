package install

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/verify"
)

// hangGuard is a generous deadline for tests of hostile servers: it only
// stops a test that would otherwise hang, and the tests check that their
// error is not its expiry.
const hangGuard = 60 * time.Second

func guarded(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	t.Cleanup(cancel)
	return ctx
}

// notHangGuard fails the test when err is the hang guard's expiry rather
// than the installer's own refusal.
func notHangGuard(t *testing.T, ctx context.Context, err error) {
	t.Helper()
	if ctx.Err() != nil {
		t.Fatalf("the hang guard (%v) fired: the installer did not give up by itself: %v", hangGuard, err)
	}
}

// trickle serves data one byte per tick, like a slow-loris server, until
// the client hangs up.
func trickle(w http.ResponseWriter, r *http.Request, data []byte, tick time.Duration) {
	w.Header().Set("Content-Length", fmt.Sprint(len(data)))
	w.WriteHeader(http.StatusOK)
	for _, b := range data {
		if _, err := w.Write([]byte{b}); err != nil {
			return
		}
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			return
		case <-time.After(tick):
		}
	}
}

// TestSlowLorisFailsInBoundedTime: a server that sends one byte at a time,
// each well within the stall timeout, on the manifest or on the artifact,
// is cut off by the minimum-throughput rule after one window per attempt,
// with a *SlowError, and never gets more than Retries+1 requests.
func TestSlowLorisFailsInBoundedTime(t *testing.T) {
	for _, target := range []string{"manifest.json", ".tar.gz"} {
		t.Run(target, func(t *testing.T) {
			ctx := guarded(t)
			f := newFixture(t, "hello")
			f.release("1.0.0")
			srv := f.serve()
			var hits atomic.Int64
			srv.setFault(func(w http.ResponseWriter, r *http.Request) bool {
				if !strings.HasSuffix(r.URL.Path, target) {
					return false
				}
				hits.Add(1)
				data, _ := os.ReadFile(filepath.Join(f.root, filepath.FromSlash(r.URL.Path)))
				trickle(w, r, data, 50*time.Millisecond) // 20 B/s, each byte far inside StallTimeout
				return true
			})
			dir := t.TempDir()
			cfg := f.config(srv.URL, dir)
			cfg.Network.Retries = 1
			cfg.Network.MinThroughput = 1000 // bytes per second
			cfg.Network.ThroughputWindow = 300 * time.Millisecond
			_, err := f.installer(cfg).Install(ctx, manifest.Query{})
			notHangGuard(t, ctx, err)
			var se *SlowError
			if !errors.As(err, &se) {
				t.Fatalf("want a *SlowError, got %v", err)
			}
			if se.Min != 1000 || se.Window != 300*time.Millisecond || !strings.Contains(se.URL, target) {
				t.Fatalf("SlowError does not name what failed: %+v", se)
			}
			if n := hits.Load(); n < 1 || n > 2 {
				t.Fatalf("%d requests for %s, want at most Retries+1 = 2", n, target)
			}
			if _, err := os.Stat(filepath.Join(dir, "hello")); err == nil {
				t.Fatal("something was installed")
			}
		})
	}
}

// TestDownloadTimeoutBoundsMetadataToo: with the throughput rule turned
// off, the overall per-file deadline still cuts off a trickled manifest.
func TestDownloadTimeoutBoundsMetadataToo(t *testing.T) {
	ctx := guarded(t)
	f := newFixture(t, "hello")
	f.release("1.0.0")
	srv := f.serve()
	var hits atomic.Int64
	srv.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/manifest.json" {
			return false
		}
		hits.Add(1)
		data, _ := os.ReadFile(filepath.Join(f.root, "manifest.json"))
		trickle(w, r, data, 50*time.Millisecond)
		return true
	})
	cfg := f.config(srv.URL, t.TempDir())
	cfg.Network.MinThroughput = -1
	cfg.Network.DownloadTimeout = 500 * time.Millisecond
	_, err := f.installer(cfg).Check(ctx, manifest.Query{})
	notHangGuard(t, ctx, err)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the download deadline, got %v", err)
	}
	if n := hits.Load(); n != 1 {
		t.Fatalf("%d manifest requests after the deadline, want 1", n)
	}
}

// TestDefaultDeadlines: the overall deadline and the throughput rule are
// on by default.
func TestDefaultDeadlines(t *testing.T) {
	if DefaultDownloadTimeout <= 0 || DefaultMinThroughput <= 0 || DefaultThroughputWindow <= 0 {
		t.Fatalf("defaults must bound a download: %v %v %v", DefaultDownloadTimeout, DefaultMinThroughput, DefaultThroughputWindow)
	}
	if _, err := New(Config{Project: "hello", Source: "https://example.invalid/", Dir: t.TempDir(), Trust: &verify.Trust{Keys: newFixture(t, "hello").ring}, Network: Network{ThroughputWindow: -time.Second}}); err == nil {
		t.Fatal("a negative ThroughputWindow was accepted")
	}
}

// Test416DoesNotLoop: a server answering 416 Range Not Satisfiable to
// every request gets a bounded number of requests, and the error names
// the status.
func Test416DoesNotLoop(t *testing.T) {
	ctx := guarded(t)
	f := newFixture(t, "hello")
	body := append(script("hello", "1.0.0"), []byte("# "+randomHex(1<<20)+"\n")...)
	f.publish("1.0.0", f.artifactName("1.0.0"), tarGz(t, []entry{{name: "hello", body: body}}))
	srv := f.serve()
	var hits atomic.Int64
	srv.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, ".tar.gz") {
			return false
		}
		n := hits.Add(1)
		if n == 1 {
			// A cut first response, so that the next attempt resumes.
			data, _ := os.ReadFile(filepath.Join(f.root, filepath.FromSlash(r.URL.Path)))
			w.Header().Set("Content-Length", fmt.Sprint(len(data)))
			w.Header().Set("ETag", `"v1"`)
			w.WriteHeader(http.StatusOK)
			w.Write(data[:len(data)/2])
			w.(http.Flusher).Flush()
			if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
				c.Close()
			}
			return true
		}
		w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
		return true
	})
	cfg := f.config(srv.URL, t.TempDir())
	cfg.Network.Retries = 3
	_, err := f.installer(cfg).Install(ctx, manifest.Query{})
	notHangGuard(t, ctx, err)
	var he *HTTPError
	if !errors.As(err, &he) || he.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Fatalf("want an HTTP 416 error, got %v", err)
	}
	// The cut request, a resume that gets 416, one restart from zero
	// that gets 416 too, and nothing more.
	if n := hits.Load(); n > 3 {
		t.Fatalf("%d requests to a server answering 416, want at most 3", n)
	}
}

// Test416OnResumeRestartsFromZero: a resume refused with 416 (the file is
// shorter than what was downloaded) restarts from zero once and succeeds.
func Test416OnResumeRestartsFromZero(t *testing.T) {
	ctx := guarded(t)
	f := newFixture(t, "hello")
	body := append(script("hello", "1.0.0"), []byte("# "+randomHex(1<<20)+"\n")...)
	f.publish("1.0.0", f.artifactName("1.0.0"), tarGz(t, []entry{{name: "hello", body: body}}))
	srv := f.serve()
	var hits atomic.Int64
	srv.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, ".tar.gz") {
			return false
		}
		data, _ := os.ReadFile(filepath.Join(f.root, filepath.FromSlash(r.URL.Path)))
		switch hits.Add(1) {
		case 1:
			w.Header().Set("Content-Length", fmt.Sprint(len(data)))
			w.WriteHeader(http.StatusOK)
			w.Write(data[:len(data)/2])
			w.(http.Flusher).Flush()
			if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
				c.Close()
			}
			return true
		case 2:
			if r.Header.Get("Range") == "" {
				t.Errorf("second request is not a resume")
			}
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return true
		}
		if r.Header.Get("Range") != "" {
			t.Errorf("request %d after a 416 still asks for a range: %q", hits.Load(), r.Header.Get("Range"))
		}
		return false
	})
	dir := t.TempDir()
	if _, err := f.installer(f.config(srv.URL, dir)).Install(ctx, manifest.Query{}); err != nil {
		t.Fatal(err)
	}
	if readFile(t, filepath.Join(dir, "hello")) != string(body) {
		t.Fatal("wrong bytes installed")
	}
	if n := hits.Load(); n != 3 {
		t.Fatalf("%d artifact requests, want 3", n)
	}
}

// TestRedirectFailuresAreNotRetried: a redirect loop and a redirect to
// file:// fail at the first attempt (Retries is 3), with a bounded
// number of requests.
func TestRedirectFailuresAreNotRetried(t *testing.T) {
	for _, tc := range []struct {
		name    string
		to      func(r *http.Request) string
		maxHits int64
	}{
		{"loop", func(r *http.Request) string { return r.URL.Path + "?r=" + r.URL.Query().Get("r") + "x" }, 11},
		{"file", func(*http.Request) string { return "file:///etc/passwd" }, 1},
		{"ftp", func(*http.Request) string { return "ftp://127.0.0.1/x" }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := guarded(t)
			f := newFixture(t, "hello")
			f.release("1.0.0")
			srv := f.serve()
			var hits atomic.Int64
			srv.setFault(func(w http.ResponseWriter, r *http.Request) bool {
				if !strings.HasSuffix(r.URL.Path, ".tar.gz") {
					return false
				}
				hits.Add(1)
				http.Redirect(w, r, tc.to(r), http.StatusFound)
				return true
			})
			cfg := f.config(srv.URL, t.TempDir())
			cfg.Network.Retries = 3
			_, err := f.installer(cfg).Install(ctx, manifest.Query{})
			notHangGuard(t, ctx, err)
			var de *DownloadError
			if !errors.As(err, &de) || de.Attempts != 1 {
				t.Fatalf("want a DownloadError after 1 attempt, got %v", err)
			}
			var he *HTTPError
			if !errors.As(err, &he) || he.Redirect == "" {
				t.Fatalf("want an *HTTPError naming the refused redirect, got %v", err)
			}
			if n := hits.Load(); n > tc.maxHits {
				t.Fatalf("%d requests, want at most %d", n, tc.maxHits)
			}
		})
	}
}

// TestOneHTTPStack: the installer answers with verify's one HTTP error
// type and follows verify's one redirect policy: an http release root
// whose artifact moved to https installs; an https root whose artifact
// redirects to http is refused with the same *verify.HTTPError the verify
// package returns, before the http target is requested; a status is that
// type too.
func TestOneHTTPStack(t *testing.T) {
	ctx := guarded(t)
	f := newFixture(t, "hello")
	f.release("1.0.0")
	files := http.FileServer(http.Dir(f.root))
	var plainArtifact atomic.Int64
	var plain, secure *httptest.Server
	var down atomic.Bool
	secure = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".tar.gz") && down.Load() {
			http.Redirect(w, r, plain.URL+r.URL.Path, http.StatusFound)
			return
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(secure.Close)
	plain = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, ".tar.gz"):
			plainArtifact.Add(1)
			http.Redirect(w, r, secure.URL+r.URL.Path, http.StatusFound)
		case r.URL.Path == "/unavailable/manifest.json":
			http.Error(w, "later", http.StatusServiceUnavailable)
		default:
			files.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(plain.Close)

	cfg := f.config(plain.URL, t.TempDir())
	cfg.Network.HTTPClient = secure.Client()
	if _, err := f.installer(cfg).Install(ctx, manifest.Query{}); err != nil {
		t.Fatalf("http root with its artifact upgraded to https: %v", err)
	}

	down.Store(true)
	cfg = f.config(secure.URL, t.TempDir())
	cfg.Network.HTTPClient = secure.Client()
	before := plainArtifact.Load()
	_, err := f.installer(cfg).Install(ctx, manifest.Query{})
	var he *verify.HTTPError
	if !errors.As(err, &he) || he.Redirect == "" || !strings.Contains(he.Reason, "https to http") {
		t.Fatalf("want a *verify.HTTPError refusing https->http, got %v", err)
	}
	if n := plainArtifact.Load() - before; n != 0 {
		t.Fatalf("the http target was requested %d times", n)
	}

	cfg = f.config(plain.URL+"/unavailable/", t.TempDir())
	cfg.Network.Retries = -1
	_, err = f.installer(cfg).Check(ctx, manifest.Query{})
	if !errors.As(err, &he) || he.StatusCode != http.StatusServiceUnavailable || !errors.Is(err, verify.ErrFetch) {
		t.Fatalf("want a *verify.HTTPError with status 503, got %v", err)
	}
}
