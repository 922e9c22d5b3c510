package verify

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish/github/githubtest"
)

// forgeFixture publishes the release fixture (hello 1.2.0, tagged
// "release-1.2.0" so that the tag must come from the manifest) to
// acme/hello on a GitHub test server in the forge layout, with the
// content-addressed signature set of manifest.json as a publisher writes
// it.
func forgeFixture(t *testing.T, k *testKey) (*githubtest.Server, *fixture) {
	t.Helper()
	f := newFixture(t, k)
	m, err := manifest.Parse(f.files[manifest.File])
	if err != nil {
		t.Fatal(err)
	}
	m.Releases[0].Tag = "release-1.2.0"
	if f.files[manifest.File], err = m.Marshal(); err != nil {
		t.Fatal(err)
	}
	f.sign(t, manifest.File)
	addSigSet(t, f, k)
	gh := githubtest.NewServer(t)
	if err := gh.PublishLayout("acme", "hello", f.write(t)); err != nil {
		t.Fatal(err)
	}
	return gh, f
}

// addSigSet writes sigs/manifest.json.<sha256>.signatures.json.
func addSigSet(t *testing.T, f *fixture, k *testKey) {
	data := f.files[manifest.File]
	h := sha256.Sum256(data)
	s, err := set(t, k.entry(t, manifest.File, data)).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	f.files[manifest.SignatureSetPath(manifest.File, hex.EncodeToString(h[:]))] = s
}

func countPrefix(reqs []string, prefix string) int {
	n := 0
	for _, r := range reqs {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func TestParseForgeRepo(t *testing.T) {
	for _, c := range []struct {
		in             string
		ok             bool
		web, api, repo string
	}{
		{"github:acme/hello", true, "https://github.com", "https://api.github.com", "acme/hello"},
		{"https://github.com/acme/hello", true, "https://github.com", "https://api.github.com", "acme/hello"},
		{"https://github.com/acme/hello.git/", true, "https://github.com", "https://api.github.com", "acme/hello"},
		{"github:https://github.com/acme/hello", true, "https://github.com", "https://api.github.com", "acme/hello"},
		{"github:ghe.example.com/acme/hello", true, "https://ghe.example.com", "https://ghe.example.com/api/v3", "acme/hello"},
		{"github:http://127.0.0.1:8080/acme/hello", true, "http://127.0.0.1:8080", "http://127.0.0.1:8080/api/v3", "acme/hello"},
		{"gitea:https://git.example.com/gitea/acme/hello", true, "https://git.example.com/gitea", "https://git.example.com/gitea/api/v1", "acme/hello"},
		{"forgejo:codeberg.org/acme/hello", true, "https://codeberg.org", "https://codeberg.org/api/v1", "acme/hello"},
		// Not forges: release roots, other hosts, deeper github.com paths.
		{"https://releases.example.com/acme/hello", false, "", "", ""},
		{"https://github.com/acme/hello/releases/download/v1.0.0/", false, "", "", ""},
		{"/srv/releases/hello", false, "", "", ""},
	} {
		r, ok, err := ParseForgeRepo(c.in)
		if err != nil || ok != c.ok || ok && (r.Web != c.web || r.API != c.api || r.Owner+"/"+r.Repo != c.repo) {
			t.Errorf("ParseForgeRepo(%q) = %+v, %v, %v", c.in, r, ok, err)
		}
	}
	if _, err := NewForge("github:http://ghe.example.com/acme/hello", ForgeOptions{Token: "t"}); err == nil {
		t.Error("a token over plain http to a remote host was accepted")
	}
	for _, bad := range []string{"github:", "github:acme", "gitea:acme/hello", "github:https://github.com/a/b/c", "github:acme/he llo", "github:https://tok@github.com/a/b"} {
		if _, ok, err := ParseForgeRepo(bad); !ok || err == nil {
			t.Errorf("ParseForgeRepo(%q): ok %v, err %v; want an error", bad, ok, err)
		}
	}
}

func TestForgeVerifyRelease(t *testing.T) {
	k := newKey(t, "p256")
	gh, _ := forgeFixture(t, k)
	// The API budget is spent: the public path must not care.
	gh.SetRateLimit(60, 0, time.Hour)
	loc, err := NewForge("github:"+gh.URL+"/acme/hello", ForgeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v := verifier(t, ring(t, k), WithState(NewMemoryState()))

	// The current manifest: two downloads (manifest.json, then the
	// signatures of its bytes), no API request.
	if _, err := v.FetchManifest(bg, loc); err != nil {
		t.Fatal(err)
	}
	reqs := gh.Requests()
	if n := countPrefix(reqs, "GET /acme/hello/releases/download/relkit-index/"); n != 2 || len(reqs) != 2 {
		t.Errorf("FetchManifest made %d requests, want the 2 downloads: %v", len(reqs), reqs)
	}
	if n := len(gh.AssetRequests()); n != 2 {
		t.Errorf("asset host: %d requests, want 2", n)
	}

	rep, err := v.VerifyRelease(bg, loc, ReleaseOptions{RequireManifest: true})
	if err != nil {
		t.Fatalf("%v\n%s", err, rep.Markdown())
	}
	if rep.Version != "1.2.0" || rep.Location != "http://"+strings.TrimPrefix(gh.URL, "http://")+"/acme/hello" {
		t.Errorf("report %s %s", rep.Version, rep.Location)
	}
	checkStatus(t, rep, "checksum hello-1.2.0-linux-amd64.tar.gz", Pass)
	checkStatus(t, rep, "provenance agrees: hello-1.2.0-linux-arm64.tar.gz", Pass)
	if n := countPrefix(gh.Requests(), "GET /acme/hello/releases/download/release-1.2.0/"); n == 0 {
		t.Errorf("the version's files were not read from the manifest's tag: %v", gh.Requests())
	}
	if n := countPrefix(gh.Requests(), "GET /api/"); n != 0 {
		t.Errorf("the public path made %d API requests", n)
	}

	// A tampered asset in the version release is a failed check.
	gh.PutAsset("acme", "hello", "release-1.2.0", "hello-1.2.0-linux-amd64.tar.gz", []byte("tampered"))
	rep, err = v.VerifyRelease(bg, loc, ReleaseOptions{RequireManifest: true})
	var cm *ChecksumMismatchError
	if err == nil || rep.OK || !errors.As(err, &cm) && !errors.Is(err, ErrSizeMismatch) {
		t.Fatalf("tampered asset: %v", err)
	}
}

func TestForgeManifestReplacedForAMoment(t *testing.T) {
	k := newKey(t, "p256")
	gh, _ := forgeFixture(t, k)
	// The first request for manifest.json finds it deleted (a publisher
	// replacing it); it is back for the retry.
	first := true
	gh.FailDownload = func(r *http.Request) int {
		if strings.HasSuffix(r.URL.Path, "/relkit-index/manifest.json") && first {
			first = false
			return http.StatusNotFound
		}
		return 0
	}
	loc, err := NewForge("github:"+gh.URL+"/acme/hello", ForgeOptions{RetryWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifier(t, ring(t, k)).FetchManifest(bg, loc); err != nil {
		t.Fatalf("manifest.json missing once: %v", err)
	}
	if n := len(gh.Requests()); n != 3 {
		t.Errorf("%d requests, want 3 (manifest.json twice, its signatures): %v", n, gh.Requests())
	}
}

func TestForgeErrors(t *testing.T) {
	k := newKey(t, "p256")
	gh, _ := forgeFixture(t, k)
	gh.CreateRelease("acme", "plain", githubtest.Release{Tag: "v1.0.0", Assets: map[string][]byte{"hello.tar.gz": []byte("x")}})
	gh.CreateRelease("acme", "emptyindex", githubtest.Release{Tag: manifest.IndexTag, Assets: map[string][]byte{"keys.json": []byte("{}")}})
	gh.CreateRelease("acme", "privateplain", githubtest.Release{Tag: "v1.0.0", Assets: map[string][]byte{"hello.tar.gz": []byte("x")}})
	gh.SetPrivate("acme", "privateplain", true)
	v := verifier(t, ring(t, k))
	fetch := func(source, token string) error {
		loc, err := NewForge(source, ForgeOptions{Token: token, RetryWait: -1})
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.FetchManifest(bg, loc)
		return err
	}
	for _, c := range []struct {
		name, source, token string
		want                error
		hint                string
	}{
		{"no such repository", "github:" + gh.URL + "/acme/nope", "", ErrRepoNotFound, "give a token"},
		{"no such repository, with a token", "github:" + gh.URL + "/acme/nope", githubtest.Token, ErrRepoNotFound, "token cannot read it"},
		{"a release without relkit's manifest", "github:" + gh.URL + "/acme/plain", "", ErrNoIndex, "no published release tagged relkit-index"},
		{"an index release without manifest.json", "github:" + gh.URL + "/acme/emptyindex", "", ErrNoIndex, "has no manifest.json"},
		{"a bad token", "github:" + gh.URL + "/acme/hello", "wrong", ErrBadToken, "token was refused"},
		{"a private repository without relkit's manifest, with a token", "github:" + gh.URL + "/acme/privateplain", githubtest.Token, ErrNoIndex, "no published release tagged relkit-index"},
	} {
		err := fetch(c.source, c.token)
		var fe *ForgeError
		if !errors.Is(err, c.want) || !errors.As(err, &fe) || !strings.Contains(err.Error(), c.hint) || !strings.HasPrefix(fe.URL, gh.URL+"/") {
			t.Errorf("%s: %v, want a *ForgeError wrapping %v with URL and hint %q", c.name, err, c.want, c.hint)
		}
	}

	// A private repository: 404 without a token (as github.com answers),
	// read through the API with one; the token never reaches the asset
	// host.
	gh.SetPrivate("acme", "hello", true)
	src := "github:" + gh.URL + "/acme/hello"
	if err := fetch(src, ""); !errors.Is(err, ErrRepoNotFound) || !strings.Contains(err.Error(), "private") {
		t.Errorf("private without a token: %v", err)
	}
	before := len(gh.Requests())
	loc, _ := NewForge(src, ForgeOptions{Token: githubtest.Token})
	vs := verifier(t, ring(t, k), WithState(NewMemoryState()))
	if _, err := vs.FetchManifest(bg, loc); err != nil {
		t.Fatalf("private with a token: %v", err)
	}
	if reqs := gh.Requests()[before:]; countPrefix(reqs, "GET /api/v3/repos/acme/hello/releases/") != len(reqs) || len(reqs) != 3 {
		t.Errorf("private with a token: want 3 API requests (the index release, 2 assets), got %v", reqs)
	}
	if rep, err := vs.VerifyRelease(bg, loc, ReleaseOptions{RequireManifest: true}); err != nil {
		t.Fatalf("private release: %v\n%s", err, rep.Markdown())
	}
	for _, a := range gh.AssetRequests() {
		if a.Authorization != "" {
			t.Fatalf("the asset host received %q", a.Authorization)
		}
	}
	// ...and a spent API budget is a typed error naming the reset.
	gh.SetRateLimit(5000, 0, time.Hour)
	loc, _ = NewForge(src, ForgeOptions{Token: githubtest.Token})
	_, err := vs.FetchManifest(bg, loc)
	var fe *ForgeError
	if !errors.Is(err, ErrRateLimited) || !errors.As(err, &fe) || fe.Reset.IsZero() || !strings.Contains(fe.URL, "/api/v3/") {
		t.Errorf("rate limited: %v", err)
	}
}

// TestForgeTokenStaysOnItsHost: with a token on the web path (Gitea's
// way), the token goes to the forge and never to the asset host it
// redirects to, although net/http would keep it there (same host name,
// another port).
func TestForgeTokenStaysOnItsHost(t *testing.T) {
	k := newKey(t, "p256")
	gh, _ := forgeFixture(t, k)
	var sawToken int
	gh.FailDownload = func(r *http.Request) int {
		if r.Header.Get("Authorization") == "token secret" {
			sawToken++
		}
		return 0
	}
	loc, err := NewForge("gitea:"+gh.URL+"/acme/hello", ForgeOptions{Token: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifier(t, ring(t, k)).FetchManifest(bg, loc); err != nil {
		t.Fatal(err)
	}
	if sawToken != 2 {
		t.Errorf("the forge saw the token %d times, want 2", sawToken)
	}
	for _, a := range gh.AssetRequests() {
		if a.Authorization != "" {
			t.Errorf("the asset host received %q", a.Authorization)
		}
	}
}

// TestForgeAPIAssetReplaced: through the API, the asset IDs of a release
// are listed once; an asset replaced since (a new ID) is found by one
// fresh listing.
func TestForgeAPIAssetReplaced(t *testing.T) {
	k := newKey(t, "p256")
	gh, f := forgeFixture(t, k)
	gh.SetPrivate("acme", "hello", true)
	loc, err := NewForge("github:"+gh.URL+"/acme/hello", ForgeOptions{Token: githubtest.Token, RetryWait: -1})
	if err != nil {
		t.Fatal(err)
	}
	v := verifier(t, ring(t, k))
	if _, err := v.FetchManifest(bg, loc); err != nil {
		t.Fatal(err)
	}
	gh.DeleteAsset("acme", "hello", manifest.IndexTag, manifest.File)
	gh.PutAsset("acme", "hello", manifest.IndexTag, manifest.File, f.files[manifest.File]) // the same bytes, a new asset ID
	before := len(gh.Requests())
	if _, err := v.FetchManifest(bg, loc); err != nil {
		t.Fatalf("after the asset was replaced: %v", err)
	}
	reqs := gh.Requests()[before:]
	// The stale ID (404), the listing, the new ID, the signatures.
	if n := countPrefix(reqs, "GET /api/v3/repos/acme/hello/releases/tags/"); n != 1 || len(reqs) != 4 {
		t.Errorf("after a replaced asset: %v", reqs)
	}
}
