package install

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/manifest"
)

// TestDownloadErrorsSayEachThingOnce: an unreachable source, a failing
// status, a missing file and a missing directory give messages that name
// the URL or path once (`download http://…/index.json (4 attempts): Get
// "http://…/index.json": dial …` said it twice, issue 16 item 8), with
// the typed errors still underneath.
func TestDownloadErrorsSayEachThingOnce(t *testing.T) {
	f := newFixture(t, "hello")
	f.release("1.0.0")
	f.sign()
	s := f.serve()
	ctx := context.Background()
	once := func(what string, err error, name string) {
		t.Helper()
		if err == nil || strings.Count(err.Error(), name) != 1 || strings.Contains(err.Error(), `Get "`) {
			t.Errorf("%s: %v; want %s named once", what, err, name)
		}
		var de *DownloadError
		if !errors.As(err, &de) || de.URL != name {
			t.Errorf("%s: %v; want a *DownloadError for %s", what, err, name)
		}
	}

	// Nothing listens: the dial error, not url.Error's restatement.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String() + "/releases/hello/"
	ln.Close()
	_, err = f.installer(f.config(base, t.TempDir())).Check(ctx, manifest.Query{})
	once("unreachable", err, base+"index.json")
	var ue *url.Error
	var oe *net.OpError
	if !errors.As(err, &ue) || !errors.As(err, &oe) {
		t.Errorf("unreachable: %v; want a *url.Error and a *net.OpError underneath", err)
	}

	// A 503 for the artifact, after the retries.
	in := f.installer(f.config(s.URL+"/", t.TempDir()))
	s.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, ".tar.gz") {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	_, err = in.Install(ctx, manifest.Query{})
	once("503", err, s.URL+"/1.0.0/"+f.artifactName("1.0.0"))
	var he *HTTPError
	if !errors.As(err, &he) || he.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("503: %v; want an *HTTPError with status 503", err)
	}

	// Nothing is published there.
	s.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(http.StatusNotFound)
		return true
	})
	_, err = in.Check(ctx, manifest.Query{})
	once("404", err, s.URL+"/"+manifest.File)
	if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &he) || he.StatusCode != http.StatusNotFound {
		t.Errorf("404: %v; want fs.ErrNotExist and an *HTTPError with status 404", err)
	}

	// A directory source with nothing in it.
	dir := t.TempDir()
	_, err = f.installer(f.config(dir, t.TempDir())).Check(ctx, manifest.Query{})
	missing := filepath.Join(dir, manifest.File)
	once("dir", err, missing)
	var pe *fs.PathError
	if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &pe) || pe.Path != missing {
		t.Errorf("dir: %v; want fs.ErrNotExist and a *fs.PathError for %s", err, missing)
	}
}
