package gitea_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
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
func newStore(t *testing.T, srv *giteatest.Server, opts ...func(*gitea.Options)) (*gitea.Store, string) {
	t.Helper()
	repo := fmt.Sprintf("hello%d", repoSeq.Add(1))
	srv.CreateRepo("example", repo, false)
	o := gitea.Options{BaseURL: srv.URL, Owner: "example", Repo: repo, Token: srv.Token, ReplaceWait: 5 * time.Second}
	for _, f := range opts {
		f(&o)
	}
	s, err := gitea.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s, repo
}

func TestConformance(t *testing.T) {
	srv := giteatest.NewServer(t)
	publishtest.Run(t, func(t *testing.T) publish.Store {
		s, _ := newStore(t, srv)
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
	idx, ok := tags[gitea.DefaultIndexTag]
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
	idx, _ := srv.ReleaseByTag("example", repo, gitea.DefaultIndexTag)
	if got, _ := idx.Asset("keys.json"); string(got) != "other" || strings.Count(strings.Join(idx.Names(), " "), "keys.json") != 1 {
		t.Errorf("keys.json = %q, assets %v; want only the other publisher's", got, idx.Names())
	}
}

func newStoreFor(t *testing.T, srv *giteatest.Server, repo string) (*gitea.Store, error) {
	t.Helper()
	s, err := gitea.New(gitea.Options{BaseURL: srv.URL, Owner: "example", Repo: repo, Token: srv.Token})
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
