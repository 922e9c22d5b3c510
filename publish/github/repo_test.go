package github_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/publish/github"
	"github.com/relkit/relkit/publish/github/githubtest"
	"github.com/relkit/relkit/publish/publishtest"
)

func newRepo(t *testing.T, srv *githubtest.Server, repo string) *github.Repo {
	t.Helper()
	r, err := github.NewRepo("acme", repo, github.WithToken(githubtest.Token), github.WithBaseURL(srv.URL), github.WithPerPage(3))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRepoConformance: a Repo (index release + one release per version)
// passes the whole suite, including the cases that put several versions
// into one store: a stale base, two publishers racing, a kill at every
// put of a merging publish.
func TestRepoConformance(t *testing.T) {
	var n atomic.Int32
	servers := map[publish.Store]*githubtest.Server{}
	var mu sync.Mutex
	publishtest.RunWith(t, func(t *testing.T) publish.Store {
		// A server per store: the suite's dozens of publishes would
		// spend one server's rate-limit budget.
		srv := githubtest.NewServer(t)
		r := newRepo(t, srv, fmt.Sprintf("hello%d", n.Add(1)))
		mu.Lock()
		servers[r] = srv
		mu.Unlock()
		return r
	}, publishtest.Options{Reopen: func(t *testing.T, s publish.Store) publish.Store {
		mu.Lock()
		srv := servers[s]
		mu.Unlock()
		return newRepo(t, srv, strings.TrimPrefix(s.(*github.Repo).String(), "github:acme/"))
	}})
}

// TestRepoLayout: after two releases, the index release holds the root
// (published, pre-release, not latest) and each version its own files;
// clients find the manifest through the public download URL.
func TestRepoLayout(t *testing.T) {
	srv := githubtest.NewServer(t)
	ctx := context.Background()
	r := newRepo(t, srv, "hello")
	first := t.TempDir()
	publishtest.StageRelease(t, first, publishtest.Release{Version: "1.0.0"})
	p, err := publish.New(r, publish.WithRetry(publishtest.FastRetry))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Publish(ctx, first); err != nil {
		t.Fatal(err)
	}
	second := t.TempDir()
	publishtest.StageRelease(t, second, publishtest.Release{Version: "1.1.0"})
	if _, err := p.PublishMerge(ctx, second, publishtest.MergeRelease(t, second, "1.1.0")); err != nil {
		t.Fatal(err)
	}
	rels := srv.Releases("acme", "hello")
	byTag := map[string]githubtest.Release{}
	for _, rel := range rels {
		byTag[rel.Tag] = rel
	}
	idx, ok := byTag[manifest.IndexTag]
	if !ok || idx.Draft || !idx.Prerelease {
		t.Fatalf("index release %+v", idx)
	}
	for _, want := range []string{"manifest.json", "manifest.json.sig", "root.signatures.json"} {
		if _, ok := idx.Assets[want]; !ok {
			t.Errorf("index lacks %s: %v", want, idx.Order)
		}
	}
	for name := range idx.Assets {
		if name == "SHA256SUMS" || slices.Contains([]string{"hello-1.0.0-linux-amd64.tar.gz"}, name) {
			t.Errorf("index holds version file %s", name)
		}
	}
	for _, tag := range []string{"v1.0.0", "v1.1.0"} {
		rel, ok := byTag[tag]
		if !ok || rel.Draft {
			t.Fatalf("release %s: %+v", tag, rel)
		}
		if _, ok := rel.Assets["SHA256SUMS"]; !ok {
			t.Errorf("%s lacks SHA256SUMS: %v", tag, rel.Order)
		}
		if _, ok := rel.Assets["manifest.json"]; ok {
			t.Errorf("%s carries a manifest.json of its own", tag)
		}
	}
	// No leftovers of the swaps but the newest previous manifest.
	prevs := 0
	for name := range idx.Assets {
		if slices.Contains([]string{".next."}, name) {
			t.Errorf("leftover %s", name)
		}
		if len(name) > len("manifest.json.prev.") && name[:len("manifest.json.prev.")] == "manifest.json.prev." {
			prevs++
		}
	}
	if prevs > 1 {
		t.Errorf("%d previous manifests kept, want at most 1: %v", prevs, idx.Order)
	}
}

// TestRepoRacingClients: two publishers with their own Repo values (two CI
// jobs) publish 1.2.0 and 1.3.0 into one repository at once, 20 times:
// both land every time.
func TestRepoRacingClients(t *testing.T) {
	ctx := context.Background()
	base, a, b := t.TempDir(), t.TempDir(), t.TempDir()
	publishtest.StageRelease(t, base, publishtest.Release{Version: "1.0.0"})
	publishtest.StageRelease(t, a, publishtest.Release{Version: "1.2.0"})
	publishtest.StageRelease(t, b, publishtest.Release{Version: "1.3.0"})
	for trial := range 20 {
		srv := githubtest.NewServer(t)
		pub := func(dir, version string) error {
			p, err := publish.New(newRepo(t, srv, "hello"), publish.WithRetry(publishtest.FastRetry))
			if err != nil {
				return err
			}
			if version == "" {
				_, err = p.Publish(ctx, dir)
			} else {
				_, err = p.PublishMerge(ctx, dir, publishtest.MergeRelease(t, dir, version))
			}
			return err
		}
		if err := pub(base, ""); err != nil {
			t.Fatal(err)
		}
		errs := make(chan error, 2)
		start := make(chan struct{})
		for _, x := range []struct{ dir, v string }{{a, "1.2.0"}, {b, "1.3.0"}} {
			go func() { <-start; errs <- pub(x.dir, x.v) }()
		}
		close(start)
		for range 2 {
			if err := <-errs; err != nil {
				t.Errorf("trial %d: %v", trial, err)
			}
		}
		data := download(t, srv, "hello", manifest.IndexTag, "manifest.json")
		for _, v := range []string{`"1.0.0"`, `"1.2.0"`, `"1.3.0"`, `"serial": 3`} {
			if !strings.Contains(string(data), v) {
				t.Fatalf("trial %d: the published manifest lacks %s:\n%s", trial, v, data)
			}
		}
	}
}

// download reads an asset through the public download URL, as a client.
func download(t *testing.T, srv *githubtest.Server, repo, tag, name string) []byte {
	t.Helper()
	resp, err := http.Get(srv.URL + "/acme/" + repo + "/releases/download/" + tag + "/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("download %s/%s: %s", tag, name, resp.Status)
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// stallOnce is a transport that holds the nth upload until its context
// ends (a stalled connection), and passes everything else on.
type stallOnce struct {
	rt      http.RoundTripper
	n       int32
	uploads atomic.Int32
	stalled atomic.Int32
}

func (s *stallOnce) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/assets") && s.uploads.Add(1) == s.n {
		s.stalled.Add(1)
		select {
		case <-r.Context().Done():
			return nil, r.Context().Err()
		case <-time.After(30 * time.Second): // bounded
			return nil, errors.New("stall test: the request was never cancelled")
		}
	}
	return s.rt.RoundTrip(r)
}

// TestStalledRequestIsRetried: every request has a deadline; a stalled
// upload fails with a retryable *TimeoutError and the publish completes
// (issue 12: every network call in every provider has a deadline).
func TestStalledRequestIsRetried(t *testing.T) {
	srv := githubtest.NewServer(t)
	tr := &stallOnce{rt: http.DefaultTransport, n: 3}
	r, err := github.NewRepo("acme", "hello", github.WithToken(githubtest.Token), github.WithBaseURL(srv.URL),
		github.WithHTTPClient(&http.Client{Transport: tr}), github.WithTimeout(300*time.Millisecond, github.DefaultMinThroughput))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	publishtest.StageRelease(t, dir, publishtest.Release{})
	p, err := publish.New(r, publish.WithRetry(publishtest.FastRetry), publish.WithConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Publish(context.Background(), dir); err != nil {
		t.Fatalf("publish with a stalled upload: %v", err)
	}
	if tr.stalled.Load() != 1 {
		t.Fatalf("%d uploads stalled, want 1", tr.stalled.Load())
	}
	if !publish.IsRetryable(&github.TimeoutError{Op: "upload", Err: errors.New("x")}) {
		t.Error("a TimeoutError is not retryable")
	}
}

// A Repo given WithTag (the release its name and notes describe) but no
// WithPrerelease marks that release as a pre-release when its version is
// one, as it does every other version's: a release candidate must not
// become GitHub's "latest".
func TestRepoTaggedReleaseFollowsItsVersion(t *testing.T) {
	for _, c := range []struct {
		version string
		opts    []github.Option
		want    bool
	}{
		{"2.0.0-rc.1", nil, true},
		{"2.0.0", nil, false},
		{"2.0.0-rc.1", []github.Option{github.WithPrerelease(false)}, false},
		{"2.0.0", []github.Option{github.WithPrerelease(true)}, true},
	} {
		srv := githubtest.NewServer(t)
		opts := append([]github.Option{github.WithToken(githubtest.Token), github.WithBaseURL(srv.URL), github.WithTag("v" + c.version), github.WithName("hello " + c.version)}, c.opts...)
		r, err := github.NewRepo("acme", "hello", opts...)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		publishtest.StageRelease(t, dir, publishtest.Release{Version: c.version})
		p, err := publish.New(r, publish.WithRetry(publishtest.FastRetry))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Publish(context.Background(), dir); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, rel := range srv.Releases("acme", "hello") {
			if rel.Tag == "v"+c.version {
				found = true
				if rel.Prerelease != c.want {
					t.Errorf("%s with %d extra options: prerelease %v, want %v", c.version, len(c.opts), rel.Prerelease, c.want)
				}
			}
		}
		if !found {
			t.Errorf("%s: no release v%s", c.version, c.version)
		}
	}
}
