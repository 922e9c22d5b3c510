package gitea_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/publish/gitea"
	"github.com/relkit/relkit/publish/gitea/giteatest"
	"github.com/relkit/relkit/publish/publishtest"
)

var repoSeq atomic.Int64

// newStore returns a Store on a fresh repository of srv.
func newStore(t *testing.T, srv *giteatest.Server, opts ...gitea.Option) (*gitea.Store, string) {
	t.Helper()
	repo := fmt.Sprintf("hello%d", repoSeq.Add(1))
	srv.CreateRepo("example", repo, false)
	return storeIn(t, srv, repo, opts...), repo
}

// storeIn returns a Store on srv's repository example/repo, which need not
// exist; opts come after the defaults (srv's token, a 5 s replace wait).
func storeIn(t *testing.T, srv *giteatest.Server, repo string, opts ...gitea.Option) *gitea.Store {
	t.Helper()
	s, err := gitea.New(srv.URL, "example", repo, append([]gitea.Option{gitea.WithToken(srv.Token), gitea.WithReplaceWait(5 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	srv := giteatest.NewServer(t)
	var mu sync.Mutex
	repos := map[publish.Store]string{}
	publishtest.RunWith(t, func(t *testing.T) publish.Store {
		s, repo := newStore(t, srv)
		mu.Lock()
		repos[s] = repo
		mu.Unlock()
		return s
	}, publishtest.Options{Reopen: func(t *testing.T, s publish.Store) publish.Store {
		mu.Lock()
		repo := repos[s]
		mu.Unlock()
		o, err := newStoreFor(t, srv, repo)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}})
}

// TestConformanceStreaming runs the suite with every upload streamed (the
// path of files above Options.StreamAbove), not buffered through the SDK.
func TestConformanceStreaming(t *testing.T) {
	srv := giteatest.NewServer(t)
	publishtest.Run(t, func(t *testing.T) publish.Store {
		s, _ := newStore(t, srv, gitea.WithStreamAbove(-1))
		return s
	})
}

func put(ctx context.Context, s publish.Store, name string, data []byte, info publish.PutInfo) error {
	info.Size, info.SHA256 = int64(len(data)), publishtest.SHA256(data)
	if info.ContentType == "" {
		info.ContentType = "application/octet-stream"
	}
	return s.Put(ctx, name, publish.NewBody(name, bytes.NewReader(data), info.Size, info.SHA256), info)
}

// TestLayout publishes two versions and checks the forge layout: an index
// release (published, pre-release) with the root, one published release
// per version with its files under their base names, and the public
// download paths serving them without a token.
func TestLayout(t *testing.T) {
	srv := giteatest.NewServer(t)
	s, repo := newStore(t, srv)
	ctx := context.Background()
	var base *manifest.Manifest
	for _, v := range []string{"1.0.0", "1.1.0"} {
		dir := t.TempDir()
		publishtest.StageRelease(t, dir, publishtest.Release{Version: v, Base: base})
		p, err := publish.New(s, publish.WithRetry(publishtest.FastRetry))
		if err != nil {
			t.Fatal(err)
		}
		res, err := p.Publish(ctx, dir)
		if err != nil {
			t.Fatalf("publish %s: %v", v, err)
		}
		for _, a := range res.Assets {
			if !strings.HasPrefix(a.URL, srv.URL+"/example/"+repo+"/releases/download/") {
				t.Errorf("%s: URL %q", a.Name, a.URL)
			}
		}
		if base, err = manifest.LoadFile(dir + "/manifest.json"); err != nil {
			t.Fatal(err)
		}
	}
	rels := srv.Releases("example", repo)
	tags := map[string]giteatest.Release{}
	for _, r := range rels {
		tags[r.Tag] = r
	}
	if len(rels) != 3 {
		t.Fatalf("%d releases, want 3 (index, v1.0.0, v1.1.0): %+v", len(rels), rels)
	}
	idx, ok := tags[manifest.IndexTag]
	if !ok || idx.Draft || !idx.Prerelease {
		t.Fatalf("index release: %+v (found %v), want published and a pre-release", idx, ok)
	}
	for _, want := range []string{"manifest.json", "manifest.json.sig", "root.signatures.json"} {
		if _, ok := idx.Asset(want); !ok {
			t.Errorf("index release lacks %s: %v", want, idx.Names())
		}
	}
	m, _ := idx.Asset("manifest.json")
	if _, ok := idx.Asset("manifest.json." + publishtest.SHA256(m) + ".sig"); !ok {
		t.Errorf("index release lacks the content-addressed signature of its manifest: %v", idx.Names())
	}
	for _, n := range idx.Names() {
		if strings.Contains(n, "hello-") || n == "SHA256SUMS" {
			t.Errorf("version file %s in the index release", n)
		}
		if strings.HasSuffix(n, ".pending") {
			t.Errorf("pending copy %s left after the commit", n)
		}
	}
	for _, v := range []string{"1.0.0", "1.1.0"} {
		r, ok := tags["v"+v]
		if !ok || r.Draft || r.Prerelease {
			t.Fatalf("release v%s: %+v (found %v), want published", v, r, ok)
		}
		for _, want := range []string{"SHA256SUMS", "SHA256SUMS.sig", "hello-" + v + "-linux-amd64.tar.gz", "sbom.spdx.json"} {
			if _, ok := r.Asset(want); !ok {
				t.Errorf("v%s lacks %s: %v", v, want, r.Names())
			}
		}
		if slices.Contains(r.Names(), "manifest.json") {
			t.Errorf("v%s holds a manifest.json: %v", v, r.Names())
		}
	}
	// Anonymous clients read the public download paths.
	got := get(t, s.URL("manifest.json"), "")
	if !bytes.Equal(got, m) {
		t.Errorf("public manifest.json: %d bytes, want the index release's %d", len(got), len(m))
	}
	sums, _ := tags["v1.1.0"].Asset("SHA256SUMS")
	if got := get(t, s.URL("1.1.0/SHA256SUMS"), ""); !bytes.Equal(got, sums) {
		t.Errorf("public 1.1.0/SHA256SUMS differs")
	}
	mm, err := manifest.Parse(m)
	if err != nil || len(mm.Releases) != 2 || mm.Serial != 2 {
		t.Fatalf("published manifest: %v, %+v", err, mm)
	}
}

func get(t *testing.T, url, token string) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "token "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return b
}

func status(t *testing.T, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "token "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestDraftUntilManifest: a version's files go to a draft that no client
// sees; the draft is published when manifest.json is put, not before.
func TestDraftUntilManifest(t *testing.T) {
	srv := giteatest.NewServer(t)
	s, repo := newStore(t, srv)
	ctx := context.Background()
	if err := put(ctx, s, "2.0.0/hello.tar.gz", []byte("bytes"), publish.PutInfo{Stage: publish.StageArtifact}); err != nil {
		t.Fatal(err)
	}
	r, ok := srv.ReleaseByTag("example", repo, "v2.0.0")
	if !ok || !r.Draft {
		t.Fatalf("v2.0.0 after an artifact: %+v (found %v), want a draft", r, ok)
	}
	if c := status(t, s.URL("2.0.0/hello.tar.gz"), ""); c != http.StatusNotFound {
		t.Errorf("anonymous download of a draft's asset: %d, want 404", c)
	}
	if c := status(t, srv.URL+"/api/v1/repos/example/"+repo+"/releases/tags/v2.0.0", ""); c != http.StatusNotFound {
		t.Errorf("anonymous API read of a draft: %d, want 404", c)
	}
	// The Store itself reads the draft (Stat, Open) with its token.
	if obj, err := s.Stat(ctx, "2.0.0/hello.tar.gz"); err != nil || obj.Size != 5 {
		t.Fatalf("Stat of the draft's asset: %+v, %v", obj, err)
	}
	m := manifest.New("hello")
	m.Add(manifest.Release{Version: "2.0.0", Tag: "v2.0.0", Date: time.Now().UTC().Truncate(time.Second)})
	m.Touch(time.Now(), time.Hour)
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := put(ctx, s, "manifest.json", data, publish.PutInfo{Stage: publish.StageManifest}); err != nil {
		t.Fatal(err)
	}
	if r, _ := srv.ReleaseByTag("example", repo, "v2.0.0"); r.Draft {
		t.Fatalf("v2.0.0 is still a draft after manifest.json")
	}
	if got := get(t, s.URL("2.0.0/hello.tar.gz"), ""); string(got) != "bytes" {
		t.Errorf("public download after the commit: %q", got)
	}
}

// TestConditionalReplace: IfMatch names the asset ID; a replaced asset
// (another publisher) is ErrChanged, and so is losing the delete.
func TestConditionalReplace(t *testing.T) {
	srv := giteatest.NewServer(t)
	s, repo := newStore(t, srv)
	ctx := context.Background()
	if err := put(ctx, s, "keys.json", []byte("one"), publish.PutInfo{Stage: publish.StageIndex}); err != nil {
		t.Fatal(err)
	}
	obj, err := s.Stat(ctx, "keys.json")
	if err != nil || obj.Version == "" || obj.SHA256 != publishtest.SHA256([]byte("one")) {
		t.Fatalf("Stat: %+v, %v", obj, err)
	}
	if err := put(ctx, s, "keys.json", []byte("two"), publish.PutInfo{Stage: publish.StageIndex, Replace: true, IfMatch: obj.Version}); err != nil {
		t.Fatalf("conditional replace of the current asset: %v", err)
	}
	// The old ID again: refused, nothing changes.
	err = put(ctx, s, "keys.json", []byte("three"), publish.PutInfo{Stage: publish.StageIndex, Replace: true, IfMatch: obj.Version})
	if !errors.Is(err, publish.ErrChanged) || publish.IsRetryable(err) {
		t.Fatalf("conditional replace with a stale ID: %v, want ErrChanged (final)", err)
	}
	// Another publisher deletes the asset between our Stat and our Put: the
	// delete by ID is 404, which is ErrChanged too.
	cur, err := s.Stat(ctx, "keys.json")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := newStoreFor(t, srv, repo)
	if err := put(ctx, other, "keys.json", []byte("other"), publish.PutInfo{Stage: publish.StageIndex, Replace: true, IfMatch: cur.Version}); err != nil {
		t.Fatal(err)
	}
	err = put(ctx, s, "keys.json", []byte("mine"), publish.PutInfo{Stage: publish.StageIndex, Replace: true, IfMatch: cur.Version})
	if !errors.Is(err, publish.ErrChanged) {
		t.Fatalf("conditional replace after another publisher's: %v, want ErrChanged", err)
	}
	idx, _ := srv.ReleaseByTag("example", repo, manifest.IndexTag)
	if got, _ := idx.Asset("keys.json"); string(got) != "other" || strings.Count(strings.Join(idx.Names(), " "), "keys.json") != 1 {
		t.Errorf("keys.json = %q, assets %v; want only the other publisher's", got, idx.Names())
	}
}

func newStoreFor(t *testing.T, srv *giteatest.Server, repo string) (*gitea.Store, error) {
	t.Helper()
	s, err := gitea.New(srv.URL, "example", repo, gitea.WithToken(srv.Token))
	if err != nil {
		t.Fatal(err)
	}
	return s, nil
}

// TestDuplicateNames: Gitea accepts a second asset with a taken name; the
// Store's create-only Put finds the older one and reports ErrExist, and
// Stat reports the lowest ID (the one the download path serves).
func TestDuplicateNames(t *testing.T) {
	srv := giteatest.NewServer(t)
	s, repo := newStore(t, srv)
	srv.AddRelease("example", repo, giteatest.Release{Tag: "v1.0.0", Title: "v1.0.0", Draft: true,
		Assets: []giteatest.Asset{{Name: "a.bin", Data: []byte("first")}, {Name: "a.bin", Data: []byte("second!")}}})
	ctx := context.Background()
	obj, err := s.Stat(ctx, "1.0.0/a.bin")
	if err != nil || obj.Size != 5 {
		t.Fatalf("Stat with duplicates: %+v, %v; want the first (5 bytes)", obj, err)
	}
	err = put(ctx, s, "1.0.0/a.bin", []byte("third"), publish.PutInfo{Stage: publish.StageArtifact})
	if !errors.Is(err, publish.ErrExist) {
		t.Fatalf("create-only Put of a taken name: %v, want ErrExist", err)
	}
	// A racing upload of the same name between our look and our upload:
	// the other (older) one wins and ours is removed.
	var raced atomic.Bool
	srv.Fail = func(r *http.Request) (int, int) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/assets") && raced.CompareAndSwap(false, true) {
			el := strings.Split(r.URL.Path, "/") // /api/v1/repos/o/r/releases/ID/assets
			id, _ := strconv.ParseInt(el[len(el)-2], 10, 64)
			srv.AddAsset(id, "b.bin", []byte("theirs")) // the other publisher's upload lands first
		}
		return 0, 0
	}
	defer func() { srv.Fail = nil }()
	err = put(ctx, s, "3.0.0/b.bin", []byte("mine"), publish.PutInfo{Stage: publish.StageArtifact})
	if !raced.Load() || !errors.Is(err, publish.ErrExist) {
		t.Fatalf("racing create-only upload (raced %v): %v, want ErrExist", raced.Load(), err)
	}
	r, _ := srv.ReleaseByTag("example", repo, "v3.0.0")
	if got, _ := r.Asset("b.bin"); string(got) != "theirs" || len(r.Assets) != 1 {
		t.Errorf("after the race: %v, b.bin = %q; want only theirs", r.Names(), got)
	}
}

// TestStatMidReplace: manifest.json absent from an index release that
// shows a committed manifest is retryable, never ErrNotExist; absent from
// one that never had a commit (a first publish stopped before it) is
// ErrNotExist.
func TestStatMidReplace(t *testing.T) {
	srv := giteatest.NewServer(t)
	ctx := context.Background()
	sig := "manifest.json." + strings.Repeat("ab", 32) + ".sig"

	s, repo := newStore(t, srv, gitea.WithReplaceWait(0))
	srv.AddRelease("example", repo, giteatest.Release{Tag: manifest.IndexTag, Title: "index", Prerelease: true,
		Assets: []giteatest.Asset{{Name: sig, Data: []byte("s")}}})
	if _, err := s.Stat(ctx, "manifest.json"); !errors.Is(err, publish.ErrNotExist) {
		t.Fatalf("Stat with only the signatures of an uncommitted manifest: %v, want ErrNotExist", err)
	}

	s, repo = newStore(t, srv, gitea.WithReplaceWait(0))
	srv.AddRelease("example", repo, giteatest.Release{Tag: manifest.IndexTag, Title: "index", Prerelease: true,
		Assets: []giteatest.Asset{{Name: sig, Data: []byte("s")}, {Name: "manifest.json.sig", Data: []byte("s")}}})
	_, err := s.Stat(ctx, "manifest.json")
	var re *gitea.ReplacingError
	if !errors.As(err, &re) || errors.Is(err, publish.ErrNotExist) || !publish.IsRetryable(err) {
		t.Fatalf("Stat mid-replace: %v, want a retryable *ReplacingError", err)
	}
	if !strings.Contains(err.Error(), "upload the last published manifest.json") {
		t.Errorf("the error does not say what to do: %v", err)
	}

	// The other publisher's upload lands while the Store waits: Stat
	// returns it. The upload is triggered by the Store's second look,
	// not by a clock.
	s, repo = newStore(t, srv, gitea.WithReplaceWait(time.Minute))
	id := srv.AddRelease("example", repo, giteatest.Release{Tag: manifest.IndexTag, Title: "index", Prerelease: true,
		Assets: []giteatest.Asset{{Name: sig, Data: []byte("s")}, {Name: "manifest.json.sig", Data: []byte("s")}}})
	var looks atomic.Int32
	srv.Fail = func(r *http.Request) (int, int) {
		if strings.HasSuffix(r.URL.Path, "/releases/tags/"+manifest.IndexTag) && looks.Add(1) == 2 {
			srv.AddAsset(id, "manifest.json", []byte(`{"new":true}`))
		}
		return 0, 0
	}
	defer func() { srv.Fail = nil }()
	obj, err := s.Stat(ctx, "manifest.json")
	if err != nil || obj.Size != int64(len(`{"new":true}`)) {
		t.Fatalf("Stat while another publisher finishes its replace: %+v, %v", obj, err)
	}

	// Open waits the same way (a publisher hashing manifest.json while
	// another replaces it).
	for _, a := range srv.Releases("example", repo)[0].Assets {
		if a.Name == "manifest.json" {
			srv.DeleteAsset(a.ID)
		}
	}
	looks.Store(0)
	rc, err := s.Open(ctx, "manifest.json")
	if err != nil {
		t.Fatalf("Open while another publisher finishes its replace: %v", err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != `{"new":true}` {
		t.Errorf("Open read %q", b)
	}
}

// TestErrors: answers other than 2xx are typed, say what to do, and are
// retryable exactly when 5xx or 429.
func TestErrors(t *testing.T) {
	srv := giteatest.NewServer(t)
	ctx := context.Background()
	data := []byte("x")
	check := func(name string, err error, code int, retry bool, says string) {
		t.Helper()
		var ae *gitea.APIError
		if !errors.As(err, &ae) || ae.StatusCode != code {
			t.Fatalf("%s: %v, want an *APIError with status %d", name, err, code)
		}
		if publish.IsRetryable(err) != retry {
			t.Errorf("%s: IsRetryable = %v, want %v", name, !retry, retry)
		}
		if !strings.Contains(err.Error(), says) {
			t.Errorf("%s: %q does not say %q", name, err, says)
		}
	}
	s, _ := newStore(t, srv, gitea.WithToken("wrong"))
	_, err := s.Stat(ctx, "manifest.json")
	check("bad token", err, 401, false, "GITEA_TOKEN")

	s, _ = newStore(t, srv, gitea.WithToken(srv.ReadToken))
	err = put(ctx, s, "1.0.0/a", data, publish.PutInfo{})
	check("read-only token", err, 403, false, "write access")

	s = storeIn(t, srv, "missing")
	_, err = s.Stat(ctx, "manifest.json") // not an empty root: no repository
	check("missing repository", err, 404, false, "check the server URL")
	if ae := new(gitea.APIError); errors.As(err, &ae) && ae.Op != "get repository" {
		t.Errorf("missing repository reported by %q, want get repository", ae.Op)
	}
	err = put(ctx, s, "1.0.0/a", data, publish.PutInfo{})
	check("missing repository", err, 404, false, "check the server URL")

	s, _ = newStore(t, srv)
	srv.Fail = func(r *http.Request) (int, int) {
		if r.Method == http.MethodPost {
			return 503, 0
		}
		return 0, 0
	}
	err = put(ctx, s, "1.0.0/a", data, publish.PutInfo{})
	check("503", err, 503, true, "retries")
	srv.Fail = func(r *http.Request) (int, int) { return 429, 7 }
	_, err = s.Stat(ctx, "manifest.json")
	check("429", err, 429, true, "Retry-After")
	var ae *gitea.APIError
	if errors.As(err, &ae) && ae.RetryAfter != 7*time.Second {
		t.Errorf("RetryAfter = %s, want 7s", ae.RetryAfter)
	}
	srv.Fail = nil

	// A 5xx on an upload is retried by the Publisher and the publish lands.
	s, repo := newStore(t, srv)
	var fails atomic.Int32
	srv.Fail = func(r *http.Request) (int, int) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/assets") && fails.Add(1) <= 2 {
			return 502, 0
		}
		return 0, 0
	}
	defer func() { srv.Fail = nil }()
	dir := t.TempDir()
	publishtest.StageRelease(t, dir, publishtest.Release{})
	p, _ := publish.New(s, publish.WithRetry(publishtest.FastRetry))
	if _, err := p.Publish(ctx, dir); err != nil {
		t.Fatalf("publish through two 502s: %v", err)
	}
	if _, ok := srv.ReleaseByTag("example", repo, "v1.0.0"); !ok {
		t.Fatal("no release")
	}
}

// TestRequestDeadline: a server that never answers costs one request
// deadline, reported as a retryable *TimeoutError.
func TestRequestDeadline(t *testing.T) {
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-hang:
		}
	}))
	defer srv.Close()
	defer close(hang)
	s, err := gitea.New(srv.URL, "o", "r", gitea.WithToken("t"), gitea.WithTimeout(50*time.Millisecond, gitea.DefaultMinThroughput))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Stat(context.Background(), "manifest.json")
	var te *gitea.TimeoutError
	if !errors.As(err, &te) || !publish.IsRetryable(err) {
		t.Fatalf("Stat against a server that never answers: %v, want a retryable *TimeoutError", err)
	}
}

func TestNew(t *testing.T) {
	t.Setenv("GITEA_TOKEN", "")
	if _, err := gitea.TokenFromEnv(); !errors.Is(err, gitea.ErrNoToken) {
		t.Errorf("no token: %v, want ErrNoToken", err)
	}
	for _, base := range []string{"", "gitea.example.com", "ftp://x", "https://x/?a=b"} {
		if _, err := gitea.New(base, "o", "r", gitea.WithToken("t")); err == nil {
			t.Errorf("BaseURL %q accepted", base)
		}
	}
	for name, opt := range map[string]gitea.Option{
		"empty token":     gitea.WithToken(""),
		"empty index tag": gitea.WithIndexTag(""),
		"nil TagFor":      gitea.WithTagFor(nil),
		"empty target":    gitea.WithTarget(" "),
		"nil HTTP client": gitea.WithHTTPClient(nil),
		"zero timeout":    gitea.WithTimeout(0, 0),
		"negative rate":   gitea.WithTimeout(time.Second, -1),
		"negative wait":   gitea.WithReplaceWait(-time.Second),
		"nil option":      nil,
	} {
		if _, err := gitea.New("https://gitea.example.com", "o", "r", gitea.WithToken("t"), opt); err == nil {
			t.Errorf("New with %s: succeeded", name)
		}
	}
	t.Setenv("GITEA_TOKEN", "from-env")
	tok, err := gitea.TokenFromEnv()
	if err != nil || tok != "from-env" {
		t.Errorf("token from GITEA_TOKEN: %q, %v", tok, err)
	}
	if _, err := gitea.New("https://gitea.example.com/sub", "o", "r", gitea.WithToken(tok)); err != nil {
		t.Errorf("New with the token from GITEA_TOKEN: %v", err)
	}
}

func TestRoute(t *testing.T) {
	s, err := gitea.New("https://git.example.com/sub", "o", "r", gitea.WithToken("t"),
		gitea.WithTagFor(func(v string) string { return "hello-v" + v }))
	if err != nil {
		t.Fatal(err)
	}
	sum := strings.Repeat("0f", 32)
	for _, c := range []struct{ name, tag, asset string }{
		{"manifest.json", "relkit-index", "manifest.json"},
		{"signatures.json", "relkit-index", "root.signatures.json"},
		{"keys.json.sig", "relkit-index", "keys.json.sig"},
		{"install.sh", "relkit-index", "install.sh"},
		{manifest.SignaturePath("manifest.json", sum), "relkit-index", "manifest.json." + sum + ".sig"},
		{manifest.SignatureSetPath("manifest.json", sum), "relkit-index", "manifest.json." + sum + ".signatures.json"},
		{"root/3.json", "relkit-index", "root.3.json"},
		{"1.2.0/signatures.json", "hello-v1.2.0", "signatures.json"},
		{"1.2.0/hello-1.2.0-linux-amd64.tar.gz", "hello-v1.2.0", "hello-1.2.0-linux-amd64.tar.gz"},
	} {
		tag, asset, _, err := s.Route(c.name)
		if err != nil || tag != c.tag || asset != c.asset {
			t.Errorf("Route(%q) = %q, %q, %v; want %q, %q", c.name, tag, asset, err, c.tag, c.asset)
		}
	}
	var ne *gitea.NameError
	if _, _, _, err := s.Route("1.2.0/sub/x"); !errors.As(err, &ne) {
		t.Errorf("Route of a nested name: %v, want *NameError", err)
	}
	if got := s.URL("1.2.0/SHA256SUMS"); got != "https://git.example.com/sub/o/r/releases/download/hello-v1.2.0/SHA256SUMS" {
		t.Errorf("URL = %s", got)
	}
	api, err := gitea.New("https://git.example.com/sub/api/v1/", "o", "r", gitea.WithToken("t"))
	if err != nil || api.URL("") != "https://git.example.com/sub/o/r/releases" {
		t.Errorf("BaseURL given as the API base: %v, URL(\"\") = %q", err, api.URL(""))
	}
}

// TestServeDirect: with Gitea's SERVE_DIRECT the download path redirects
// to the object storage; the Store follows it and its token does not (the
// storage is another port of the same host name, where Go would keep it).
func TestServeDirect(t *testing.T) {
	srv := giteatest.NewServer(t)
	srv.ServeDirect = true
	s, repo := newStore(t, srv)
	ctx := context.Background()
	dir := t.TempDir()
	names := publishtest.StageRelease(t, dir, publishtest.Release{})
	p, _ := publish.New(s, publish.WithRetry(publishtest.FastRetry))
	if _, err := p.Publish(ctx, dir); err != nil {
		t.Fatal(err)
	}
	// A fresh Store knows no SHA-256 and reads every file to compare: a
	// re-run through the redirects uploads nothing.
	s2, _ := newStoreFor(t, srv, repo)
	p2, _ := publish.New(s2, publish.WithRetry(publishtest.FastRetry))
	res, err := p2.Publish(ctx, dir)
	if err != nil || res.Skipped != len(names) {
		t.Fatalf("re-run through SERVE_DIRECT redirects: %+v, %v", res, err)
	}
	reqs := srv.StorageRequests()
	if len(reqs) == 0 {
		t.Fatal("the storage got no request: the redirect was not followed")
	}
	for _, r := range reqs {
		if r.Authorization != "" {
			t.Errorf("the token reached the object storage: %s with %q", r.Path, r.Authorization)
		}
	}
}

// TestDraftIndexPublished: an index release someone left as a draft is
// published (and flagged as a pre-release) when the Store writes to it, as
// clients cannot see a draft.
func TestDraftIndexPublished(t *testing.T) {
	srv := giteatest.NewServer(t)
	s, repo := newStore(t, srv)
	srv.AddRelease("example", repo, giteatest.Release{Tag: manifest.IndexTag, Title: "index", Draft: true})
	if err := put(context.Background(), s, "install.sh", []byte("#!/bin/sh\n"), publish.PutInfo{Stage: publish.StageIndex}); err != nil {
		t.Fatal(err)
	}
	r, _ := srv.ReleaseByTag("example", repo, manifest.IndexTag)
	if r.Draft || !r.Prerelease {
		t.Errorf("index release after a Put: draft=%v prerelease=%v, want published and a pre-release", r.Draft, r.Prerelease)
	}
}

// TestPrereleaseVersion: a pre-release version's release is flagged as a
// pre-release once published; a stable one is not.
func TestPrereleaseVersion(t *testing.T) {
	srv := giteatest.NewServer(t)
	s, repo := newStore(t, srv)
	ctx := context.Background()
	for _, v := range []string{"2.0.0-rc.1", "2.0.0"} {
		if err := put(ctx, s, v+"/f", []byte(v), publish.PutInfo{Stage: publish.StageArtifact}); err != nil {
			t.Fatal(err)
		}
	}
	for v, want := range map[string]bool{"2.0.0-rc.1": true, "2.0.0": false} {
		if r, ok := srv.ReleaseByTag("example", repo, "v"+v); !ok || r.Prerelease != want {
			t.Errorf("v%s: found %v, prerelease %v, want %v", v, ok, r.Prerelease, want)
		}
	}
}

// TestSeparateStoresRace: two publishers with their own Stores (as two CI
// jobs have) merge 1.2.0 and 1.3.0 into the same Gitea repository at once,
// 10 times: both land every time, serial 3, one manifest.json, both
// version releases published.
func TestSeparateStoresRace(t *testing.T) {
	srv := giteatest.NewServer(t)
	ctx := context.Background()
	base, a, b := t.TempDir(), t.TempDir(), t.TempDir()
	publishtest.StageRelease(t, base, publishtest.Release{Version: "1.0.0"})
	publishtest.StageRelease(t, a, publishtest.Release{Version: "1.2.0"})
	publishtest.StageRelease(t, b, publishtest.Release{Version: "1.3.0"})
	for trial := range 10 {
		s0, repo := newStore(t, srv)
		p0, _ := publish.New(s0, publish.WithRetry(publishtest.FastRetry))
		if _, err := p0.Publish(ctx, base); err != nil {
			t.Fatal(err)
		}
		errs := make(chan error, 2)
		start := make(chan struct{})
		for _, job := range []struct{ dir, v string }{{a, "1.2.0"}, {b, "1.3.0"}} {
			s, _ := newStoreFor(t, srv, repo)
			p, _ := publish.New(s, publish.WithRetry(publishtest.FastRetry))
			merge := publishtest.MergeRelease(t, job.dir, job.v)
			go func() {
				<-start
				_, err := p.PublishMerge(ctx, job.dir, merge)
				errs <- err
			}()
		}
		close(start)
		for range 2 {
			if err := <-errs; err != nil {
				t.Errorf("trial %d: %v", trial, err)
			}
		}
		idx, _ := srv.ReleaseByTag("example", repo, manifest.IndexTag)
		if n := strings.Count(" "+strings.Join(idx.Names(), " ")+" ", " manifest.json "); n != 1 {
			t.Fatalf("trial %d: %d manifest.json assets: %v", trial, n, idx.Names())
		}
		data, _ := idx.Asset("manifest.json")
		m, err := manifest.Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		var vs []string
		for _, r := range m.Releases {
			vs = append(vs, r.Version)
		}
		slices.Sort(vs)
		if m.Serial != 3 || !slices.Equal(vs, []string{"1.0.0", "1.2.0", "1.3.0"}) {
			t.Fatalf("trial %d: serial %d, %v; want 3 and all three", trial, m.Serial, vs)
		}
		for _, v := range vs {
			if r, ok := srv.ReleaseByTag("example", repo, "v"+v); !ok || r.Draft {
				t.Errorf("trial %d: v%s found %v, draft %v", trial, v, ok, r.Draft)
			}
		}
	}
}

// TestStreamingUpload: a file above StreamAbove is streamed and arrives
// whole; one whose bytes do not match is cut short (the server may or may
// not have seen the request start), nothing is stored, and the error is a
// checksum error.
func TestStreamingUpload(t *testing.T) {
	srv := giteatest.NewServer(t)
	s, repo := newStore(t, srv, gitea.WithStreamAbove(1<<20))
	ctx := context.Background()
	big := bytes.Repeat([]byte("0123456789abcdef"), 3<<16) // 3 MiB
	if err := put(ctx, s, "1.0.0/big.bin", big, publish.PutInfo{Stage: publish.StageArtifact}); err != nil {
		t.Fatal(err)
	}
	r, _ := srv.ReleaseByTag("example", repo, "v1.0.0")
	if got, _ := r.Asset("big.bin"); !bytes.Equal(got, big) {
		t.Fatalf("streamed upload stored %d bytes, want %d", len(got), len(big))
	}
	bad := slices.Clone(big)
	bad[len(bad)-1] ^= 1
	want := publishtest.SHA256(big)
	err := s.Put(ctx, "1.0.0/bad.bin", publish.NewBody("1.0.0/bad.bin", bytes.NewReader(bad), int64(len(bad)), want),
		publish.PutInfo{Size: int64(len(bad)), SHA256: want, ContentType: "application/octet-stream", Stage: publish.StageArtifact})
	if !errors.Is(err, publish.ErrChecksum) {
		t.Fatalf("streamed upload of bytes that do not match: %v, want ErrChecksum", err)
	}
	if r, _ := srv.ReleaseByTag("example", repo, "v1.0.0"); slices.Contains(r.Names(), "bad.bin") {
		t.Errorf("the bad file was stored: %v", r.Names())
	}
}

// TestCommittedMark: after its first commit the Store marks the index
// release, so a root signed only through signatures.json (no legacy
// manifest.json.sig) is still recognized as committed while manifest.json
// is being replaced.
func TestCommittedMark(t *testing.T) {
	srv := giteatest.NewServer(t)
	s, repo := newStore(t, srv, gitea.WithReplaceWait(0))
	ctx := context.Background()
	data := []byte(`{"schema":"relkit.manifest/v1"}`)
	sum := publishtest.SHA256(data)
	if err := put(ctx, s, "sigs/manifest.json."+sum+".signatures.json", []byte("{}"), publish.PutInfo{Stage: publish.StageIndex}); err != nil {
		t.Fatal(err)
	}
	if err := put(ctx, s, "manifest.json", data, publish.PutInfo{Stage: publish.StageManifest}); err != nil {
		t.Fatal(err)
	}
	idx, _ := srv.ReleaseByTag("example", repo, manifest.IndexTag)
	if !strings.Contains(idx.Note, "relkit: a manifest.json was committed") {
		t.Fatalf("index release description after a commit: %q", idx.Note)
	}
	for _, a := range idx.Assets {
		if a.Name == "manifest.json" {
			srv.DeleteAsset(a.ID) // another publisher between its delete and its upload
		}
	}
	if _, err := s.Stat(ctx, "manifest.json"); !publish.IsRetryable(err) || errors.Is(err, publish.ErrNotExist) {
		t.Fatalf("Stat mid-replace of a root without manifest.json.sig: %v, want a retryable error", err)
	}
}

// TestOpenDuringReplace: the asset listed is deleted before its download
// starts (another publisher's replace finishing): Open looks again and
// reads the one there now.
func TestOpenDuringReplace(t *testing.T) {
	srv := giteatest.NewServer(t)
	s, repo := newStore(t, srv)
	srv.AddRelease("example", repo, giteatest.Release{Tag: manifest.IndexTag, Title: "index", Prerelease: true,
		Assets: []giteatest.Asset{{Name: "keys.json", Data: []byte("old")}, {Name: "keys.json", Data: []byte("new")}}})
	r, _ := srv.ReleaseByTag("example", repo, manifest.IndexTag)
	oldID := r.Assets[0].ID
	var once atomic.Bool
	srv.Fail = func(req *http.Request) (int, int) {
		if strings.HasPrefix(req.URL.Path, "/attachments/") && once.CompareAndSwap(false, true) {
			srv.DeleteAsset(oldID)
		}
		return 0, 0
	}
	defer func() { srv.Fail = nil }()
	rc, err := s.Open(context.Background(), "keys.json")
	if err != nil {
		t.Fatalf("Open while the listed asset is deleted: %v", err)
	}
	defer rc.Close()
	if b, _ := io.ReadAll(rc); string(b) != "new" {
		t.Errorf("Open read %q, want the replacement", b)
	}
}

// TestKilledMidReplace: a publisher killed between deleting manifest.json
// and uploading the new one leaves the root without manifest.json. It had
// uploaded the new bytes first as a pending copy, so the next publisher's
// Stat, once the wait is over, puts that manifest back (the commit had
// happened: the old one was deleted) instead of failing for good.
func TestKilledMidReplace(t *testing.T) {
	srv := giteatest.NewServer(t)
	ctx := context.Background()
	s, repo := newStore(t, srv)
	var base *manifest.Manifest
	var second []byte
	for _, v := range []string{"1.0.0", "1.1.0"} {
		dir := t.TempDir()
		publishtest.StageRelease(t, dir, publishtest.Release{Version: v, Base: base})
		p, _ := publish.New(s, publish.WithRetry(publishtest.FastRetry))
		if v == "1.1.0" {
			// Kill the publisher right after its conditional delete:
			// every later request of this store fails.
			var deleted atomic.Bool
			srv.Fail = func(r *http.Request) (int, int) {
				if deleted.Load() {
					return 503, 0
				}
				if r.Method == http.MethodDelete && strings.Contains(r.URL.Path, "/assets/") {
					idx, _ := srv.ReleaseByTag("example", repo, manifest.IndexTag)
					for _, a := range idx.Assets {
						if a.Name == "manifest.json" && strings.HasSuffix(r.URL.Path, fmt.Sprintf("/%d", a.ID)) {
							deleted.Store(true)
						}
					}
				}
				return 0, 0
			}
			var err error
			second, err = os.ReadFile(dir + "/manifest.json")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Publish(ctx, dir); err == nil {
				t.Fatal("the killed publish succeeded")
			}
			srv.Fail = nil
			break
		}
		if _, err := p.Publish(ctx, dir); err != nil {
			t.Fatal(err)
		}
		var err error
		if base, err = manifest.LoadFile(dir + "/manifest.json"); err != nil {
			t.Fatal(err)
		}
	}
	idx, _ := srv.ReleaseByTag("example", repo, manifest.IndexTag)
	if _, ok := idx.Asset("manifest.json"); ok {
		t.Fatalf("manifest.json is still there: the kill missed the window (%v)", idx.Names())
	}
	next := storeIn(t, srv, repo, gitea.WithReplaceWait(0))
	obj, err := next.Stat(ctx, "manifest.json")
	if err != nil {
		t.Fatalf("Stat after a publisher was killed mid-replace: %v", err)
	}
	idx, _ = srv.ReleaseByTag("example", repo, manifest.IndexTag)
	got, _ := idx.Asset("manifest.json")
	if !bytes.Equal(got, second) || obj.Size != int64(len(second)) {
		t.Fatalf("manifest.json after the repair: %d bytes, want the killed publisher's %d", len(got), len(second))
	}
	for _, n := range idx.Names() {
		if strings.HasSuffix(n, ".pending") {
			t.Errorf("pending copy %s left after the repair", n)
		}
	}
}

// TestCreateRace: another publisher creates the version's release between
// the Store's look and its create (Gitea's 409): the Store uses that one.
// A tag Gitea refuses (422) is an *APIError saying so.
func TestCreateRace(t *testing.T) {
	srv := giteatest.NewServer(t)
	s, repo := newStore(t, srv)
	var once atomic.Bool
	srv.Fail = func(r *http.Request) (int, int) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/releases") && once.CompareAndSwap(false, true) {
			srv.AddRelease("example", repo, giteatest.Release{Tag: "v4.0.0", Title: "theirs", Draft: true})
		}
		return 0, 0
	}
	defer func() { srv.Fail = nil }()
	if err := put(context.Background(), s, "4.0.0/a", []byte("a"), publish.PutInfo{Stage: publish.StageArtifact}); err != nil {
		t.Fatalf("Put after a 409 on create: %v", err)
	}
	rels := srv.Releases("example", repo)
	if len(rels) != 1 || rels[0].Title != "theirs" || len(rels[0].Assets) != 1 {
		t.Fatalf("releases: %+v, want the other publisher's with the asset", rels)
	}

	s, _ = newStore(t, srv, gitea.WithTagFor(func(v string) string { return "bad..v" + v }))
	err := put(context.Background(), s, "4.0.0/a", []byte("a"), publish.PutInfo{Stage: publish.StageArtifact})
	var ae *gitea.APIError
	if !errors.As(err, &ae) || ae.StatusCode != 422 || publish.IsRetryable(err) || !strings.Contains(err.Error(), "invalid") {
		t.Fatalf("Put with a tag Gitea refuses: %v, want a final 422 *APIError", err)
	}
	s, _ = newStore(t, srv, gitea.WithTagFor(func(string) string { return " " }))
	var ne *gitea.NameError
	if err := put(context.Background(), s, "4.0.0/a", []byte("a"), publish.PutInfo{}); !errors.As(err, &ne) {
		t.Errorf("Put with a blank tag: %v, want *NameError", err)
	}
}
