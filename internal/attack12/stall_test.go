//go:build attack12

package attack12

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relkit/relkit/internal/attack12/check"
	"github.com/relkit/relkit/internal/attack12/harness"
	"github.com/relkit/relkit/internal/s3test"
	s3store "github.com/relkit/relkit/publish/s3"
)

// stallProxy forwards to target; request number stallAt (and every later
// one when all is set) stalls: a GET sends its headers and half its body,
// anything else gets no answer, until the client gives up.
type stallProxy struct {
	rp      *httputil.ReverseProxy
	n       atomic.Int64
	stallAt int64
	all     bool
	mu      sync.Mutex
	stalled []string
}

func (p *stallProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := p.n.Add(1)
	if p.stallAt > 0 && (n == p.stallAt || p.all && n > p.stallAt) {
		p.mu.Lock()
		p.stalled = append(p.stalled, r.Method+" "+r.URL.Path)
		p.mu.Unlock()
		if r.Method == http.MethodGet {
			rec := &halfWriter{ResponseWriter: w}
			p.rp.ServeHTTP(rec, r.WithContext(context.WithoutCancel(r.Context())))
		}
		<-r.Context().Done()
		return
	}
	p.rp.ServeHTTP(w, r)
}

// halfWriter passes the headers and half of the first write, then stalls.
type halfWriter struct {
	http.ResponseWriter
	wrote bool
}

func (h *halfWriter) Write(b []byte) (int, error) {
	if !h.wrote {
		h.wrote = true
		h.ResponseWriter.Write(b[:len(b)/2])
		h.ResponseWriter.(http.Flusher).Flush()
	}
	return len(b), nil
}

func TestStalledS3(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	s := newSigner(t)
	pub, _ := check.ParsePub(s.PublicKeyPEM())
	base, _ := harness.Prepare(ctx, s, t.TempDir(), "1.0.0", "", nil)
	next, _ := harness.Prepare(ctx, s, t.TempDir(), "1.1.0", "", nil)
	target, _ := url.Parse(srv.Endpoint)
	const timeout = 2 * time.Second
	newStore := func(t *testing.T, endpoint, prefix string) *s3store.Store {
		st, err := s3store.New(ctx, srv.Bucket, s3store.WithConfig(srv.Config()), s3store.WithEndpoint(endpoint),
			s3store.WithPathStyle(), s3store.WithPrefix(prefix), s3store.WithTimeout(timeout, 64<<10))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	points := []int64{1, 3, 6, 10, 15, 20, 25, 30, 35, 40, 45, 50}
	if v := os.Getenv("A12_STALL"); v != "" {
		points = nil
		for _, f := range strings.Split(v, ",") {
			var n int64
			fmt.Sscan(f, &n)
			points = append(points, n)
		}
	}
	for _, all := range []bool{false, true} {
		for _, at := range points {
			prefix := fmt.Sprintf("stall-%v-%d-%d", all, at, time.Now().UnixNano())
			if err := harness.Publish(ctx, newStore(t, srv.Endpoint, prefix), base, s); err != nil {
				t.Fatal(err)
			}
			px := &stallProxy{rp: httputil.NewSingleHostReverseProxy(target), stallAt: at, all: all}
			d := px.rp.Director
			px.rp.Director = func(r *http.Request) { host := r.Host; d(r); r.Host = host }
			l, _ := net.Listen("tcp", "127.0.0.1:0")
			hs := &http.Server{Handler: px}
			go hs.Serve(l)
			st := newStore(t, "http://"+l.Addr().String(), prefix)
			t0 := time.Now()
			done := make(chan error, 1)
			go func() { done <- harness.Publish(ctx, st, next, s) }()
			var err error
			select {
			case err = <-done:
			case <-time.After(90 * time.Second):
				t.Errorf("HANG: publish with a stall at request %d (all=%v) did not return in 90 s", at, all)
				hs.Close()
				err = <-done
			}
			el := time.Since(t0)
			hs.Close()
			res, cerr := check.Root(check.DirReader(srv.ObjectPath(srv.Bucket, prefix)), pub)
			verdict := "ok"
			if cerr != nil {
				verdict = "BUG root: " + cerr.Error()
				t.Errorf("stall %d all=%v: root does not verify: %v", at, all, cerr)
			}
			if !all && err != nil {
				t.Errorf("stall at request %d only (%v): one stalled request failed the publish after %v: %.300v", at, px.stalled, el.Round(time.Millisecond), err)
			}
			if el > 45*time.Second {
				t.Errorf("stall %d all=%v: took %v", at, all, el)
			}
			t.Logf("stall at %d all=%v: %v after %v; stalled %d reqs first %v; listed 1.1.0=%v; %s", at, all, err != nil, el.Round(time.Millisecond), len(px.stalled), first(px.stalled), len(res.Missing([]string{"1.1.0"})) == 0, verdict)
			// Re-run directly.
			if err := harness.Publish(ctx, newStore(t, srv.Endpoint, prefix), next, s); err != nil {
				t.Errorf("re-run after stall %d: %v", at, err)
			}
		}
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}
