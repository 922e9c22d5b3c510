package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/relkit/relkit/manifest"
)

// TestRedirectPolicy: the one redirect policy (CheckRedirect), through
// the HTTP location: same-scheme redirects and http->https upgrades are
// followed; https->http (also after an upgrade), any other scheme and
// more than MaxRedirects redirects are refused with an *HTTPError naming
// the refused target, and the refused target gets no request.
func TestRedirectPolicy(t *testing.T) {
	ctx := context.Background()
	var plainHits atomic.Int64
	var plain, secure *httptest.Server
	secure = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/file":
			io.WriteString(w, "secure bytes")
		case "/down":
			http.Redirect(w, r, plain.URL+"/file", http.StatusFound)
		case "/same":
			http.Redirect(w, r, "/file", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(secure.Close)
	plain = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/file":
			plainHits.Add(1)
			io.WriteString(w, "plain bytes")
		case "/up":
			http.Redirect(w, r, secure.URL+"/file", http.StatusFound)
		case "/up-then-down":
			http.Redirect(w, r, secure.URL+"/down", http.StatusFound)
		case "/same":
			http.Redirect(w, r, "/file", http.StatusFound)
		case "/file-scheme":
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop?"+r.URL.RawQuery+"x", http.StatusFound)
		case "/unavailable":
			http.Error(w, "later", http.StatusServiceUnavailable)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(plain.Close)
	client := secure.Client() // trusts the TLS server; plain HTTP works too

	get := func(base, name string) (string, error) {
		loc, err := NewHTTP(base, WithHTTPClient(client))
		if err != nil {
			return "", err
		}
		rc, err := loc.Open(ctx, name)
		if err != nil {
			return "", err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		return string(b), err
	}
	for _, tc := range []struct {
		base, name, body string
	}{
		{plain.URL, "same", "plain bytes"},
		{plain.URL, "up", "secure bytes"},
		{secure.URL, "same", "secure bytes"},
	} {
		if got, err := get(tc.base, tc.name); err != nil || got != tc.body {
			t.Errorf("%s/%s: %q, %v; want %q", tc.base, tc.name, got, err, tc.body)
		}
	}
	before := plainHits.Load()
	for _, tc := range []struct {
		base, name, reason string
	}{
		{secure.URL, "down", "https to http"},
		{plain.URL, "up-then-down", "https to http"},
		{plain.URL, "file-scheme", `scheme "file"`},
		{plain.URL, "loop", "redirects"},
	} {
		_, err := get(tc.base, tc.name)
		var he *HTTPError
		if !errors.As(err, &he) || he.Redirect == "" || !strings.Contains(he.Reason, tc.reason) || !errors.Is(err, ErrFetch) {
			t.Errorf("%s: want an *HTTPError refusing the redirect (%s), got %v", tc.name, tc.reason, err)
			continue
		}
		if he.Temporary() {
			t.Errorf("%s: a refused redirect is Temporary", tc.name)
		}
	}
	if n := plainHits.Load() - before; n != 0 {
		t.Errorf("a refused redirect target was requested %d times", n)
	}
	_, err := get(plain.URL, "unavailable")
	var he *HTTPError
	if !errors.As(err, &he) || he.StatusCode != http.StatusServiceUnavailable || !he.Temporary() || he.Redirect != "" {
		t.Errorf("503: want a temporary *HTTPError, got %v", err)
	}
	_, err = get(plain.URL, "missing")
	if !errors.As(err, &he) || he.StatusCode != http.StatusNotFound || !errors.Is(err, ErrNotFound) || he.Temporary() {
		t.Errorf("404: want an *HTTPError wrapping ErrNotFound, got %v", err)
	}
}

// TestCheckRedirectChainsOnAClient: CheckRedirect is usable as an
// http.Client's CheckRedirect directly (the installer uses it so).
func TestCheckRedirectChainsOnAClient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "ftp://127.0.0.1/x", http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	c := &http.Client{CheckRedirect: CheckRedirect}
	_, err := c.Get(srv.URL + "/a")
	var he *HTTPError
	if !errors.As(err, &he) || he.Redirect != "ftp://127.0.0.1/x" || he.URL != srv.URL+"/a" {
		t.Fatalf("want an *HTTPError for the ftp redirect from /a, got %v", err)
	}
}

// namedLocation is a caller's Location with a String method.
type namedLocation struct{ Dir }

func (namedLocation) String() string { return "mirror:hello" }

// TestLocationsPrintReadably: every Location of this package prints as
// the place it reads (its directory, base URL or repository), in fmt
// verbs and in a report, never as a struct dump; a caller's Location is
// described by its String method when it has one (issue 16 item 8).
func TestLocationsPrintReadably(t *testing.T) {
	h, err := NewHTTP("https://example.com/releases/hello")
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewForge("github:acme/hello", ForgeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		loc  Location
		want string
	}{
		{Dir("/srv/releases/hello"), "/srv/releases/hello"},
		{h, "https://example.com/releases/hello/"},
		{f, "https://github.com/acme/hello"},
		{namedLocation{Dir(t.TempDir())}, "mirror:hello"},
	} {
		if got := fmt.Sprint(c.loc); got != c.want {
			t.Errorf("fmt.Sprint(%T) = %q, want %q", c.loc, got, c.want)
		}
		if got := fmt.Sprintf("%v", c.loc); got != c.want {
			t.Errorf("%%v of %T = %q, want %q", c.loc, got, c.want)
		}
		if got := describe(c.loc); got != c.want {
			t.Errorf("report location of %T = %q, want %q", c.loc, got, c.want)
		}
	}
}

// unreachable returns an http:// base URL on which nothing listens.
func unreachable(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/releases/hello/"
}

// TestFetchErrorsSayEachThingOnce: a missing file in a Dir and an
// unreachable HTTP location give messages that name the file (path or
// URL) once ("verify: manifest.json: openat manifest.json: …" and
// `GET http://…: Get "http://…": dial …` did it twice, issue 16 item 8),
// and keep the typed errors underneath.
func TestFetchErrorsSayEachThingOnce(t *testing.T) {
	v := verifier(t, ring(t, newKey(t, "p256")))
	dir := t.TempDir()

	_, err := v.FetchManifest(bg, Dir(dir))
	want := filepath.Join(dir, "manifest.json")
	if err == nil || strings.Count(err.Error(), "manifest.json") != 1 || !strings.Contains(err.Error(), want) {
		t.Errorf("FetchManifest(Dir): %v; want %s named once", err, want)
	}
	var pe *fs.PathError
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &pe) || pe.Path != want {
		t.Errorf("FetchManifest(Dir): %v (%#v); want ErrNotFound and a *fs.PathError for %s", err, pe, want)
	}

	a := manifest.Artifact{Name: "hello.tar.gz", Path: "1.2.0/hello.tar.gz"}
	_, err = FetchArtifact(bg, Dir(dir), a, io.Discard)
	if err == nil || strings.Count(err.Error(), "hello.tar.gz") != 1 || !errors.Is(err, ErrNotFound) {
		t.Errorf("FetchArtifact(Dir): %v; want ErrNotFound naming the file once", err)
	}

	base := unreachable(t)
	h, err := NewHTTP(base)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, err error) {
		t.Helper()
		u := base + "manifest.json"
		if err == nil || strings.Count(err.Error(), u) != 1 || strings.Contains(err.Error(), `Get "`) || strings.Count(err.Error(), "manifest.json") != 1 {
			t.Errorf("%s: %v; want %s named once", what, err, u)
		}
		var ue *url.Error
		var oe *net.OpError
		if !errors.Is(err, ErrFetch) || !errors.As(err, &ue) || !errors.As(err, &oe) || errors.Is(err, ErrNotFound) {
			t.Errorf("%s: %v; want ErrFetch, a *url.Error and a *net.OpError underneath", what, err)
		}
	}
	_, err = v.FetchManifest(bg, h)
	check("FetchManifest(HTTP)", err)
	_, err = h.Open(bg, "manifest.json")
	check("HTTP.Open", err)
	_, err = v.VerifyRelease(bg, h, ReleaseOptions{})
	var se interface{ Unwrap() []error }
	if errors.As(err, &se) && len(se.Unwrap()) == 1 {
		err = se.Unwrap()[0] // the one failed check: "manifest manifest.json: …"
	}
	check("VerifyRelease(HTTP)", errors.Unwrap(err))
}
