package githubtest_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/relkit/relkit/publish/github/githubtest"
)

// get fetches url with an optional token, following redirects the way
// net/http does, and returns the status and body.
func get(t *testing.T, url, token string, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	// Drop the token on a redirect to another host:port, as relkit's
	// client does (net/http keeps it for the same host name).
	cl := &http.Client{CheckRedirect: func(r *http.Request, via []*http.Request) error {
		if r.URL.Host != via[0].URL.Host {
			r.Header.Del("Authorization")
		}
		return nil
	}}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestWebDownloadsRedirectToTheAssetHost(t *testing.T) {
	srv := githubtest.NewServer(t)
	srv.CreateRelease("acme", "hello", githubtest.Release{Tag: "v1.0.0", Assets: map[string][]byte{"a.txt": []byte("one")}})
	srv.CreateRelease("acme", "hello", githubtest.Release{Tag: "v2.0.0-rc.1", Prerelease: true, Assets: map[string][]byte{"a.txt": []byte("rc")}})
	srv.CreateRelease("acme", "hello", githubtest.Release{Tag: "v3.0.0", Draft: true, Assets: map[string][]byte{"a.txt": []byte("draft")}})

	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Get(srv.URL + "/acme/hello/releases/download/v1.0.0/a.txt")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != 302 || !strings.HasPrefix(loc, srv.AssetURL+"/") || srv.AssetURL == srv.URL {
		t.Fatalf("download: %d to %q, want a 302 to the asset host %s", resp.StatusCode, loc, srv.AssetURL)
	}
	for url, want := range map[string]string{
		"/acme/hello/releases/download/v1.0.0/a.txt":      "one",
		"/acme/hello/releases/download/v2.0.0-rc.1/a.txt": "rc",
		"/acme/hello/releases/latest/download/a.txt":      "one", // latest skips pre-releases
	} {
		if code, body := get(t, srv.URL+url, ""); code != 200 || body != want {
			t.Errorf("%s: %d %q, want %q", url, code, body, want)
		}
	}
	for _, url := range []string{"/acme/hello/releases/download/v3.0.0/a.txt", "/acme/hello/releases/download/v1.0.0/b.txt",
		"/acme/nope/releases/download/v1.0.0/a.txt", "/acme/nope", "/acme/hello/releases/tag/v3.0.0"} {
		if code, _ := get(t, srv.URL+url, ""); code != 404 {
			t.Errorf("%s: %d, want 404 (drafts are never visible)", url, code)
		}
	}
	for _, url := range []string{"/acme/hello", "/acme/hello/releases/tag/v1.0.0"} {
		if code, _ := get(t, srv.URL+url, ""); code != 200 {
			t.Errorf("%s: %d, want 200", url, code)
		}
	}
	// Range requests on the asset host.
	if code, body := get(t, srv.URL+"/acme/hello/releases/download/v1.0.0/a.txt", "", "Range", "bytes=1-"); code != 206 || body != "ne" {
		t.Errorf("range: %d %q", code, body)
	}
	if n := len(srv.AssetRequests()); n != 4 { // three downloads and the range request
		t.Errorf("asset host saw %d requests, want 4", n)
	}
}

func TestPrivateRepositoryAndRateLimit(t *testing.T) {
	srv := githubtest.NewServer(t)
	srv.CreateRelease("acme", "secret", githubtest.Release{Tag: "v1", Assets: map[string][]byte{"a.txt": []byte("s")}})
	srv.CreateRelease("acme", "open", githubtest.Release{Tag: "v1", Assets: map[string][]byte{"a.txt": []byte("o")}})
	srv.SetPrivate("acme", "secret", true)
	for _, tok := range []string{"", githubtest.Token} {
		if code, _ := get(t, srv.URL+"/acme/secret/releases/download/v1/a.txt", tok); code != 404 {
			t.Errorf("private web download (token %q): %d, want 404", tok, code)
		}
		if code, _ := get(t, srv.URL+"/acme/secret", tok); code != 404 {
			t.Errorf("private repository page (token %q): %d, want 404", tok, code)
		}
	}
	// Through the API with the token: the tag, then the asset by ID.
	code, body := get(t, srv.URL+"/api/v3/repos/acme/secret/releases/tags/v1", githubtest.Token)
	r := decode[struct {
		Assets []asset `json:"assets"`
	}](t, []byte(body))
	if code != 200 || len(r.Assets) != 1 {
		t.Fatalf("release by tag: %d %s", code, body)
	}
	code, body = get(t, srv.URL+"/api/v3/repos/acme/secret/releases/assets/"+strconv.FormatInt(r.Assets[0].ID, 10), githubtest.Token, "Accept", "application/octet-stream")
	if code != 200 || body != "s" {
		t.Errorf("asset through the API: %d %q", code, body)
	}
	for _, a := range srv.AssetRequests() {
		if a.Authorization != "" {
			t.Errorf("the asset host received a token: %+v", a)
		}
	}

	// The repository through the API, private or not.
	if code, body := get(t, srv.URL+"/api/v3/repos/acme/secret", githubtest.Token); code != 200 || !strings.Contains(body, `"private":true`) {
		t.Errorf("GET /repos/acme/secret: %d %s", code, body)
	}
	if code, _ := get(t, srv.URL+"/api/v3/repos/acme/nope", githubtest.Token); code != 404 {
		t.Errorf("GET /repos/acme/nope: %d, want 404", code)
	}

	// A spent API budget: 403 with X-RateLimit-Remaining: 0 on the API,
	// the public download path unaffected.
	srv.SetRateLimit(60, 0, time.Hour)
	req, _ := http.NewRequest("GET", srv.URL+"/api/v3/repos/acme/secret/releases/tags/v1", nil)
	req.Header.Set("Authorization", "Bearer "+githubtest.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 || resp.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("rate limited API: %d remaining %q", resp.StatusCode, resp.Header.Get("X-RateLimit-Remaining"))
	}
	if code, body := get(t, srv.URL+"/acme/open/releases/download/v1/a.txt", ""); code != 200 || body != "o" {
		t.Errorf("public download while the API is rate limited: %d %q", code, body)
	}
}

func TestPublishLayout(t *testing.T) {
	srv := githubtest.NewServer(t)
	dir := t.TempDir()
	files := map[string]string{
		"manifest.json":                          `{"releases":[{"version":"1.0.0","tag":"rel-1.0.0"},{"version":"1.1.0"}]}`,
		"signatures.json":                        "root sigs",
		"sigs/manifest.json.abc.signatures.json": "set",
		"root/2.json":                            "root 2",
		"keys.json":                              "keys",
		"1.0.0/SHA256SUMS":                       "sums 1.0",
		"1.1.0/SHA256SUMS":                       "sums 1.1",
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(body), 0o644)
	}
	if err := srv.PublishLayout("acme", "hello", dir); err != nil {
		t.Fatal(err)
	}
	for url, want := range map[string]string{
		"/acme/hello/releases/download/relkit-index/manifest.json":                     files["manifest.json"],
		"/acme/hello/releases/download/relkit-index/root.signatures.json":              "root sigs",
		"/acme/hello/releases/download/relkit-index/manifest.json.abc.signatures.json": "set",
		"/acme/hello/releases/download/relkit-index/root.2.json":                       "root 2",
		"/acme/hello/releases/download/rel-1.0.0/SHA256SUMS":                           "sums 1.0",
		"/acme/hello/releases/download/v1.1.0/SHA256SUMS":                              "sums 1.1",
	} {
		if code, body := get(t, srv.URL+url, ""); code != 200 || body != want {
			t.Errorf("%s: %d %q, want %q", url, code, body, want)
		}
	}
	rels := srv.Releases("acme", "hello")
	if rels[0].Tag != githubtest.IndexTag || !rels[0].Prerelease || rels[0].Order[len(rels[0].Order)-1] != "manifest.json" {
		t.Errorf("index release: %+v", rels[0])
	}
}
