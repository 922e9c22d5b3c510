package github_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/publish/github"
	"github.com/relkit/relkit/publish/github/githubtest"
	"github.com/relkit/relkit/publish/publishtest"
)

func newStore(t *testing.T, srv *githubtest.Server, tag string, extra ...github.Option) *github.Store {
	t.Helper()
	opts := append([]github.Option{github.WithToken(githubtest.Token), github.WithBaseURL(srv.URL), github.WithPerPage(2)}, extra...)
	s, err := github.New("acme", "hello", tag, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newPub(t *testing.T, s publish.Store, opts ...publish.Option) *publish.Publisher {
	t.Helper()
	p, err := publish.New(s, append([]publish.Option{publish.WithRetry(publishtest.FastRetry)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestConformance runs the publish conformance suite against the fake,
// one new release (tag) per store; pagination is exercised with 2 items
// per page.
func TestConformance(t *testing.T) {
	srv := githubtest.NewServer(t)
	var n atomic.Int32
	publishtest.Run(t, func(t *testing.T) publish.Store {
		return newStore(t, srv, fmt.Sprintf("v1.0.0-t%d", n.Add(1)))
	})
}

// TestConformanceWithoutDigest runs the suite against a server that does
// not report asset digests: the Publisher downloads assets to hash them.
func TestConformanceWithoutDigest(t *testing.T) {
	srv := githubtest.NewServer(t)
	srv.OmitDigest = true
	var n atomic.Int32
	publishtest.Run(t, func(t *testing.T) publish.Store {
		return newStore(t, srv, fmt.Sprintf("v1.0.0-t%d", n.Add(1)))
	})
}

func stage(t *testing.T) (string, []string) {
	dir := t.TempDir()
	return dir, publishtest.StageRelease(t, dir, publishtest.Release{})
}

func TestPublishDraftThenCommit(t *testing.T) {
	srv := githubtest.NewServer(t)
	srv.Immutable = true
	dir, names := stage(t)
	ctx := context.Background()
	s := newStore(t, srv, "v1.0.0", github.WithBody("notes"), github.WithName("hello 1.0.0"))

	var sawDraft bool
	p := newPub(t, s, publish.WithProgress(func(pr publish.Progress) {
		if pr.Event == publish.EventDone && pr.Name == manifest.File {
			rels := srv.Releases("acme", "hello")
			sawDraft = len(rels) == 1 && rels[0].Draft
		}
	}))
	res, err := p.Publish(ctx, dir)
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if !sawDraft {
		t.Error("the release was not a draft when manifest.json was uploaded")
	}
	rels := srv.Releases("acme", "hello")
	if len(rels) != 1 {
		t.Fatalf("%d releases, want 1", len(rels))
	}
	r := rels[0]
	if r.Draft || r.Tag != "v1.0.0" || r.Name != "hello 1.0.0" || r.Body != "notes" {
		t.Errorf("release = %+v", r)
	}
	// The staged files and the two content-addressed signatures (sigs/)
	// of the manifest.
	if len(r.Assets) != len(names)+2 {
		t.Errorf("%d assets, want %d", len(r.Assets), len(names)+2)
	}
	for _, n := range names {
		want, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(n)))
		if got := r.Assets[github.AssetName(n)]; !bytes.Equal(got, want) {
			t.Errorf("asset %s differs", n)
		}
	}
	// manifest.json last, but for the legacy manifest.json.sig and root
	// signatures.json.
	if i := slices.Index(r.Order, manifest.File); i < 0 || !slices.Equal(r.Order[i+1:], []string{publish.ManifestSigName, github.RootSignaturesAsset}) {
		t.Errorf("upload order ends %v, want manifest.json then manifest.json.sig and %s", r.Order, github.RootSignaturesAsset)
	}
	if want := srv.URL + "/acme/hello/releases/tag/v1.0.0"; res.URL != want {
		t.Errorf("Result.URL = %q, want %q", res.URL, want)
	}
	for _, a := range res.Assets {
		want := srv.URL + "/acme/hello/releases/download/v1.0.0/" + github.AssetName(a.Name)
		if a.URL != want {
			t.Errorf("asset URL %q, want %q", a.URL, want)
		}
	}

	// A re-run with a new Store (a new process): zero bytes, and it
	// works on the published immutable release because nothing is
	// uploaded.
	res, err = newPub(t, newStore(t, srv, "v1.0.0")).Publish(ctx, dir)
	if err != nil {
		t.Fatalf("re-run: %v", err)
	}
	if res.BytesUploaded != 0 || res.Skipped != len(names) {
		t.Errorf("re-run: %d bytes, %d skipped", res.BytesUploaded, res.Skipped)
	}
}

func TestResumeDraftWithNewStore(t *testing.T) {
	srv := githubtest.NewServer(t)
	dir, names := stage(t)
	ctx := context.Background()
	// Kill the first publish at the SHA256SUMS upload.
	srv.Fail = func(r *http.Request) (int, int) {
		if strings.Contains(r.URL.RawQuery, "name=SHA256SUMS&") || strings.HasSuffix(r.URL.RawQuery, "name=SHA256SUMS") {
			return http.StatusForbidden, 0
		}
		return 0, 0
	}
	if _, err := newPub(t, newStore(t, srv, "v1.0.0")).Publish(ctx, dir); err == nil {
		t.Fatal("Publish succeeded despite the failure")
	}
	rels := srv.Releases("acme", "hello")
	if len(rels) != 1 || !rels[0].Draft || len(rels[0].Assets) != 3 {
		t.Fatalf("after the failure: %+v, want one draft with the 3 archives", rels)
	}
	// Make the draft hard to find: several other releases first, so the
	// draft is on a later page of the list.
	for i := range 5 {
		srv.CreateRelease("acme", "hello", githubtest.Release{Tag: fmt.Sprintf("v0.%d.0", i)})
	}
	srv.Fail = nil
	res, err := newPub(t, newStore(t, srv, "v1.0.0")).Publish(ctx, dir)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	if res.Skipped != 3 || res.Uploaded != len(names)-3 {
		t.Errorf("resume: %d skipped, %d uploaded", res.Skipped, res.Uploaded)
	}
	rels = srv.Releases("acme", "hello")
	if len(rels) != 6 || rels[0].Draft || len(rels[0].Assets) != len(names)+2 {
		t.Errorf("after resume: %d releases, first draft=%v with %d assets", len(rels), rels[0].Draft, len(rels[0].Assets))
	}
	reqs := strings.Join(srv.Requests(), "\n")
	if !strings.Contains(reqs, "page") && !strings.Contains(reqs, "GET /api/v3/repos/acme/hello/releases") {
		t.Errorf("the release list was not read:\n%s", reqs)
	}
}

func TestRefuseAndReplaceExisting(t *testing.T) {
	srv := githubtest.NewServer(t)
	ctx := context.Background()
	dir, _ := stage(t)
	if _, err := newPub(t, newStore(t, srv, "v1.0.0")).Publish(ctx, dir); err != nil {
		t.Fatal(err)
	}
	dir2 := t.TempDir()
	names := publishtest.StageRelease(t, dir2, publishtest.Release{Salt: "rebuilt"})
	_, err := newPub(t, newStore(t, srv, "v1.0.0")).Publish(ctx, dir2)
	var ce *publish.ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("Publish of different bytes: %v, want *ConflictError", err)
	}
	res, err := newPub(t, newStore(t, srv, "v1.0.0"), publish.WithReplaceExistingUnsafe()).Publish(ctx, dir2)
	if err != nil {
		t.Fatalf("Publish with ReplaceExisting: %v", err)
	}
	if res.Replaced == 0 {
		t.Error("nothing replaced")
	}
	r := srv.Releases("acme", "hello")[0]
	for _, n := range names {
		want, _ := os.ReadFile(filepath.Join(dir2, filepath.FromSlash(n)))
		if !bytes.Equal(r.Assets[github.AssetName(n)], want) {
			t.Errorf("asset %s not replaced", n)
		}
	}
}

func TestNameCollision(t *testing.T) {
	srv := githubtest.NewServer(t)
	dir, _ := stage(t)
	publishtest.StageRelease(t, dir, publishtest.Release{Version: "1.1.0"}) // a second version dir
	_, err := newPub(t, newStore(t, srv, "v1.1.0")).Publish(context.Background(), dir)
	if !errors.Is(err, github.ErrNameCollision) {
		t.Fatalf("Publish of two versions into one release: %v, want ErrNameCollision", err)
	}
}

func TestRateLimitPrimary(t *testing.T) {
	srv := githubtest.NewServer(t)
	dir, _ := stage(t)
	ctx := context.Background()
	srv.SetRateLimit(100, 0, 1500*time.Millisecond)

	// Not allowed to wait: a typed error, quickly.
	_, err := newPub(t, newStore(t, srv, "v1.0.0")).Publish(ctx, dir)
	var rle *github.RateLimitError
	if !errors.As(err, &rle) || rle.Secondary {
		t.Fatalf("Publish when rate limited: %v, want a primary *RateLimitError", err)
	}
	if publish.IsRetryable(err) {
		t.Error("a rate limit the Store did not wait for is retryable")
	}
	// Allowed to wait: it waits for the reset and succeeds.
	srv.SetRateLimit(100, 0, 1500*time.Millisecond)
	start := time.Now()
	s := newStore(t, srv, "v1.0.0", github.WithMaxRateLimitWait(10*time.Second))
	if _, err := newPub(t, s).Publish(ctx, dir); err != nil {
		t.Fatalf("Publish waiting for the reset: %v", err)
	}
	if time.Since(start) < time.Second {
		t.Errorf("did not wait for the reset")
	}
}

func TestRateLimitSecondary(t *testing.T) {
	srv := githubtest.NewServer(t)
	dir, _ := stage(t)
	ctx := context.Background()
	srv.SecondaryLimit(1, 1)
	_, err := newPub(t, newStore(t, srv, "v1.0.0")).Publish(ctx, dir)
	var rle *github.RateLimitError
	if !errors.As(err, &rle) || !rle.Secondary {
		t.Fatalf("Publish with a secondary limit: %v, want a secondary *RateLimitError", err)
	}
	srv.SecondaryLimit(1, 1)
	s := newStore(t, srv, "v1.0.0", github.WithMaxRateLimitWait(5*time.Second))
	if _, err := newPub(t, s).Publish(ctx, dir); err != nil {
		t.Fatalf("Publish waiting out a secondary limit: %v", err)
	}
}

func TestServerErrorsRetried(t *testing.T) {
	srv := githubtest.NewServer(t)
	dir, names := stage(t)
	var uploads atomic.Int32
	srv.Fail = func(r *http.Request) (int, int) {
		if strings.HasPrefix(r.URL.Path, "/api/uploads/") {
			switch uploads.Add(1) {
			case 1:
				return http.StatusBadGateway, 0
			case 2:
				return http.StatusTooManyRequests, 0
			}
		}
		return 0, 0
	}
	if _, err := newPub(t, newStore(t, srv, "v1.0.0"), publish.WithConcurrency(1)).Publish(context.Background(), dir); err != nil {
		t.Fatalf("Publish with a 502 and a 429: %v", err)
	}
	// Every file once, the two sigs/ files, and two retried uploads.
	if got := int(uploads.Load()); got != len(names)+4 {
		t.Errorf("%d upload requests, want %d", got, len(names)+4)
	}
}

func TestBadToken(t *testing.T) {
	srv := githubtest.NewServer(t)
	dir, _ := stage(t)
	s := newStore(t, srv, "v1.0.0", github.WithToken("wrong"))
	_, err := newPub(t, s).Publish(context.Background(), dir)
	var se *publish.StatusError
	if !errors.As(err, &se) || se.StatusCode != http.StatusUnauthorized {
		t.Fatalf("Publish with a bad token: %v, want HTTP 401", err)
	}
}

// TestTokenFromEnvironment: a token from GITHUB_TOKEN or GH_TOKEN, passed
// through TokenFromEnv, publishes; with neither set there is no token.
func TestTokenFromEnvironment(t *testing.T) {
	t.Setenv("GITHUB_TOKEN", "")
	t.Setenv("GH_TOKEN", "")
	if _, err := github.TokenFromEnv(); !errors.Is(err, github.ErrNoToken) {
		t.Errorf("TokenFromEnv without a token: %v", err)
	}
	srv := githubtest.NewServer(t)
	dir, _ := stage(t)
	for _, env := range []string{"GITHUB_TOKEN", "GH_TOKEN"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, githubtest.Token)
			tok, err := github.TokenFromEnv()
			if err != nil {
				t.Fatal(err)
			}
			s, err := github.New("acme", "env-"+env, "v1.0.0", github.WithBaseURL(srv.URL+"/api/v3/"), github.WithToken(tok))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := newPub(t, s).Publish(context.Background(), dir); err != nil {
				t.Fatalf("Publish with %s: %v", env, err)
			}
		})
	}
}

func TestNewValidates(t *testing.T) {
	tok := github.WithToken("x")
	for _, tc := range []struct {
		name             string
		owner, repo, tag string
		opts             []github.Option
	}{
		{"no owner", "", "b", "v1", []github.Option{tok}},
		{"no repo", "a", "", "v1", []github.Option{tok}},
		{"no tag", "a", "b", "", []github.Option{tok}},
		{"bad owner", "a/b", "c", "v1", []github.Option{tok}},
		{"bad MakeLatest", "a", "b", "v1", []github.Option{tok, github.WithMakeLatest("maybe")}},
		{"bad BaseURL", "a", "b", "v1", []github.Option{tok, github.WithBaseURL("://bad")}},
		{"empty token", "a", "b", "v1", []github.Option{github.WithToken("")}},
		{"PerPage 0", "a", "b", "v1", []github.Option{tok, github.WithPerPage(0)}},
		{"PerPage 101", "a", "b", "v1", []github.Option{tok, github.WithPerPage(101)}},
		{"negative rate-limit wait", "a", "b", "v1", []github.Option{tok, github.WithMaxRateLimitWait(-time.Second)}},
		{"zero timeout", "a", "b", "v1", []github.Option{tok, github.WithTimeout(0, 0)}},
		{"nil HTTP client", "a", "b", "v1", []github.Option{tok, github.WithHTTPClient(nil)}},
		{"upload URL alone", "a", "b", "v1", []github.Option{tok, github.WithUploadURL("https://ghe.example.com/api/uploads/")}},
		{"Repo option", "a", "b", "v1", []github.Option{tok, github.WithIndexTag("index")}},
		{"WithTag", "a", "b", "v1", []github.Option{tok, github.WithTag("v2")}},
		{"nil option", "a", "b", "v1", []github.Option{tok, nil}},
	} {
		if _, err := github.New(tc.owner, tc.repo, tc.tag, tc.opts...); err == nil {
			t.Errorf("New %s: succeeded", tc.name)
		}
	}
	if _, err := github.NewRepo("a", "b", tok, github.WithBody("notes")); err == nil {
		t.Error("NewRepo with a release option and no WithTag: succeeded")
	}
	if _, err := github.NewRepo("a", "b", tok, github.WithTag("v1.0.0"), github.WithBody("notes"), github.WithIndexTag("index")); err != nil {
		t.Errorf("NewRepo with WithTag and a release option: %v", err)
	}
	if _, err := github.NewContents("a", "b", "", tok, github.WithName("x")); err == nil {
		t.Error("NewContents with a release option: succeeded")
	}
	if _, err := github.NewContents("a", "b", "", tok, github.WithTagFor(func(v string) string { return v })); err == nil {
		t.Error("NewContents with a Repo option: succeeded")
	}
}

func TestPromoteFromGitHub(t *testing.T) {
	srv := githubtest.NewServer(t)
	dir, names := stage(t)
	ctx := context.Background()
	src := newStore(t, srv, "v1.0.0")
	if _, err := newPub(t, src).Publish(ctx, dir); err != nil {
		t.Fatal(err)
	}
	live, err := publish.NewDirStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newPub(t, live).Promote(ctx, newStore(t, srv, "v1.0.0"), publish.PromoteOptions{}); err != nil {
		t.Fatalf("Promote from GitHub: %v", err)
	}
	var got []string
	filepath.WalkDir(live.Root(), func(p string, d os.DirEntry, err error) error {
		if d.IsDir() && d.Name() == publish.SumsDir {
			return filepath.SkipDir // the directory store's digest sidecars
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(live.Root(), p)
			got = append(got, filepath.ToSlash(rel))
		}
		return nil
	})
	slices.Sort(got)
	msum := sha256.Sum256(mustRead(t, filepath.Join(dir, manifest.File)))
	want := append(slices.Clone(names), manifest.SignaturePath(manifest.File, hex.EncodeToString(msum[:])),
		manifest.SignatureSetPath(manifest.File, hex.EncodeToString(msum[:])))
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("promoted %v, want %v", got, want)
	}
}

func TestDryRunCreatesNothing(t *testing.T) {
	srv := githubtest.NewServer(t)
	dir, names := stage(t)
	var out strings.Builder
	plan, err := newPub(t, newStore(t, srv, "v1.0.0")).DryRun(context.Background(), dir, &out)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Count(publish.ActionUpload) != len(names) {
		t.Errorf("plan uploads %d files, want %d", plan.Count(publish.ActionUpload), len(names))
	}
	if rels := srv.Releases("acme", "hello"); len(rels) != 0 {
		t.Errorf("DryRun created %d releases", len(rels))
	}
	for _, r := range srv.Requests() {
		if !strings.HasPrefix(r, "GET ") {
			t.Errorf("DryRun made a %s request", r)
		}
	}
	// One lookup of the release, not one per file.
	if n := len(srv.Requests()); n > 3 {
		t.Errorf("DryRun made %d requests: %v", n, srv.Requests())
	}
	if !strings.Contains(out.String(), "upload   manifest  manifest.json") {
		t.Errorf("DryRun output:\n%s", out.String())
	}
}

func TestPlanListsAssetsOnce(t *testing.T) {
	srv := githubtest.NewServer(t)
	dir, names := stage(t)
	ctx := context.Background()
	if _, err := newPub(t, newStore(t, srv, "v1.0.0")).Publish(ctx, dir); err != nil {
		t.Fatal(err)
	}
	before := len(srv.Requests())
	// PerPage 2: the 13 assets (11 staged, 2 in sigs/) take 7 pages; one
	// listing, not one per file.
	if _, err := newPub(t, newStore(t, srv, "v1.0.0"), publish.WithConcurrency(8)).Plan(ctx, dir); err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()[before:]
	lists := 0
	for _, r := range reqs {
		if strings.HasSuffix(r, "/assets") {
			lists++
		}
	}
	if want := (len(names) + 2 + 1) / 2; lists != want {
		t.Errorf("Plan listed assets with %d requests, want %d (one listing): %v", lists, want, reqs)
	}
}

func TestInterruptedUploadRemains(t *testing.T) {
	srv := githubtest.NewServer(t)
	dir, names := stage(t)
	// A draft holding the remains of an interrupted upload of an archive.
	srv.CreateRelease("acme", "hello", githubtest.Release{Tag: "v1.0.0", Draft: true,
		Assets: map[string][]byte{"hello-1.0.0-linux-amd64.tar.gz": []byte("partial")},
		States: map[string]string{"hello-1.0.0-linux-amd64.tar.gz": "open"}})
	res, err := newPub(t, newStore(t, srv, "v1.0.0")).Publish(context.Background(), dir)
	if err != nil {
		t.Fatalf("Publish over an interrupted upload: %v", err)
	}
	if res.Uploaded != len(names) {
		t.Errorf("uploaded %d, want %d", res.Uploaded, len(names))
	}
	r := srv.Releases("acme", "hello")[0]
	want, _ := os.ReadFile(filepath.Join(dir, "1.0.0", "hello-1.0.0-linux-amd64.tar.gz"))
	if !bytes.Equal(r.Assets["hello-1.0.0-linux-amd64.tar.gz"], want) || r.States["hello-1.0.0-linux-amd64.tar.gz"] != "uploaded" {
		t.Error("the interrupted asset was not replaced by the real one")
	}
}

func TestCheckAssetName(t *testing.T) {
	for _, ok := range []string{"hello-1.0.0-linux-amd64.tar.gz", "SHA256SUMS", "a+b@c_d.zip"} {
		if err := github.CheckAssetName(ok); err != nil {
			t.Errorf("CheckAssetName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".hidden", "with space.txt", "ünï.txt", "a#b", "a(b).zip"} {
		if err := github.CheckAssetName(bad); err == nil {
			t.Errorf("CheckAssetName(%q) = nil", bad)
		}
	}
}

// TestRootSignaturesAsset: the root's signatures.json and a version's
// signatures.json both exist in the staged layout; the version's keeps the
// flat name (the manifest lists and checksums it) and the root's is
// published as RootSignaturesAsset, so the two never collide.
func TestRootSignaturesAsset(t *testing.T) {
	for name, want := range map[string]string{
		"signatures.json":       github.RootSignaturesAsset,
		"1.2.0/signatures.json": "signatures.json",
		"1.2.0/SHA256SUMS":      "SHA256SUMS",
		"manifest.json":         "manifest.json",
	} {
		if got := github.AssetName(name); got != want {
			t.Errorf("AssetName(%q) = %q, want %q", name, got, want)
		}
	}
	srv := githubtest.NewServer(t)
	dir, _ := stage(t)
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("signatures.json", `{"schema":"relkit.signatures/v1","signatures":[]}`+"\n")
	s := newStore(t, srv, "v1.0.0")
	if _, err := newPub(t, s).Publish(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	rels := srv.Releases("acme", "hello")
	if len(rels) != 1 {
		t.Fatalf("%d releases", len(rels))
	}
	got, ok := rels[0].Assets[github.RootSignaturesAsset]
	if !ok || !bytes.Contains(got, []byte("relkit.signatures/v1")) {
		t.Fatalf("root signatures.json not published as %s (assets %v)", github.RootSignaturesAsset, rels[0].Order)
	}
	// A re-run uploads nothing: the mapping is stable.
	res, err := newPub(t, newStore(t, srv, "v1.0.0")).Publish(context.Background(), dir)
	if err != nil || res.BytesUploaded != 0 {
		t.Fatalf("re-run: %v, %d bytes uploaded", err, res.BytesUploaded)
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
