package install

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish/github/githubtest"
	"github.com/relkit/relkit/verify"
)

// longHistory gives the fixture a real release 0.0.1 (the oldest, so it
// ends up in a shard), n releases without files, and a real 1.0.0: the
// root of a project with a long history, in the v2 layout.
func longHistory(t *testing.T, n int) (*fixture, map[string][]byte) {
	t.Helper()
	f := newFixture(t, "hello")
	f.v2 = true
	f.release("0.0.1")
	for i := range n {
		v := fmt.Sprintf("0.1.%d", i)
		name := f.artifactName(v)
		if _, err := f.m.Add(manifest.Release{Version: v, Tag: "v" + v, Date: f.now, Artifacts: []manifest.Artifact{{
			Name: name, Path: v + "/" + name, Kind: manifest.KindArchive, OS: f.plat.OS, Arch: f.plat.Arch,
			Size: 1, SHA256: strings.Repeat("0", 64)}}}); err != nil {
			t.Fatal(err)
		}
	}
	cur := f.release("1.0.0")
	return f, cur
}

// An update check at a long history reads index.json and its signature
// and nothing else: no manifest.json, no shard.
func TestUpdateCheckReadsOnlyTheIndex(t *testing.T) {
	f, _ := longHistory(t, 600)
	srv := f.serve()
	in := f.installer(f.config(srv.URL, t.TempDir()))
	u, err := in.Check(context.Background(), manifest.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if u.Latest.Release.Version != "1.0.0" {
		t.Fatalf("check selects %s", u.Latest.Release.Version)
	}
	if got := srv.requests("/"); len(got) != 2 || !strings.HasSuffix(got[0], "/index.json") || !strings.Contains(got[1], "sigs/index.json.") {
		t.Fatalf("update check requests: %v (want index.json and its signature set)", got)
	}
}

// An old version is installed from the one shard that holds it, checked
// against the signed index.
func TestInstallOldVersionFromItsShard(t *testing.T) {
	f, _ := longHistory(t, 600)
	srv := f.serve()
	dir := t.TempDir()
	in := f.installer(f.config(srv.URL, dir))
	res, err := in.Install(context.Background(), manifest.Query{Version: "0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != "0.0.1" {
		t.Fatalf("installed %s", res.Version)
	}
	if got := srv.requests("/shards/"); len(got) != 1 {
		t.Errorf("shard requests: %v, want exactly one", got)
	}
	if got := srv.requests("/manifest.json"); len(got) != 0 {
		t.Errorf("a v2 client read manifest.json: %v", got)
	}
	// The installed release is in a shard: Check reads it to report its
	// status, and says when it was yanked.
	f.m.Yank("0.0.1", "broken build")
	f.sign()
	u, err := in.Check(context.Background(), manifest.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(u.Warnings, "\n"), "installed 0.0.1 is yanked: broken build") {
		t.Errorf("warnings %q do not say the installed release was yanked", u.Warnings)
	}
}

// A shard whose bytes are not what the signed index commits to is refused
// with a *VerificationError, and nothing is installed.
func TestShardThatDoesNotMatchIsRefused(t *testing.T) {
	f, _ := longHistory(t, 600)
	ix, err := manifest.ParseIndex(readBytes(t, filepath.Join(f.root, manifest.IndexFile)))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ix.Shards {
		p := filepath.Join(f.root, filepath.FromSlash(s.Path))
		data := readBytes(t, p)
		// The same content, re-encoded: valid JSON, other bytes.
		if err := os.WriteFile(p, bytes.ReplaceAll(data, []byte("\n  "), []byte("\n   ")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	srv := f.serve()
	dir := t.TempDir()
	in := f.installer(f.config(srv.URL, dir))
	_, err = in.Install(context.Background(), manifest.Query{Version: "0.0.1"})
	var ve *VerificationError
	var se *manifest.ShardError
	if !errors.As(err, &ve) || !errors.As(err, &se) {
		t.Fatalf("Install from a lying shard = %v, want a *VerificationError wrapping a *manifest.ShardError", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "hello")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("something was installed: %v", err)
	}
	// The update check needs no shard and still works.
	if _, err := in.Check(context.Background(), manifest.Query{}); err != nil {
		t.Errorf("update check: %v", err)
	}
}

// An index that is there but does not verify is an error: the client
// does not fall back to manifest.json (an attacker who can damage the
// index must not choose what the client reads).
func TestDamagedIndexIsNotBypassed(t *testing.T) {
	f, _ := longHistory(t, 40)
	p := filepath.Join(f.root, manifest.IndexFile)
	data := readBytes(t, p)
	if err := os.WriteFile(p, bytes.Replace(data, []byte(`"serial": `), []byte(`"serial": 1`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := f.serve()
	in := f.installer(f.config(srv.URL, t.TempDir()))
	_, err := in.Check(context.Background(), manifest.Query{})
	var ve *VerificationError
	if !errors.As(err, &ve) {
		t.Fatalf("Check with a damaged index = %v, want a *VerificationError", err)
	}
	if got := srv.requests("/manifest.json"); len(got) != 0 {
		t.Errorf("the client fell back to manifest.json: %v", got)
	}
}

// A source published before manifest v2 (no index.json) still works:
// the client reads manifest.json.
func TestSourceWithoutIndexFallsBackToManifest(t *testing.T) {
	f := newFixture(t, "hello")
	f.release("1.0.0")
	srv := f.serve()
	in := f.installer(f.config(srv.URL, t.TempDir()))
	u, err := in.Check(context.Background(), manifest.Query{})
	if err != nil || u.Latest.Release.Version != "1.0.0" {
		t.Fatalf("check: %+v, %v", u, err)
	}
	if got := srv.requests("/"); len(got) < 2 || got[0] != "/index.json" || got[1] != "/manifest.json" {
		t.Errorf("requests: %v (want index.json, a 404, then manifest.json)", got)
	}
}

// A compressed index that expands past the index cap is refused with a
// typed error, in bounded memory, and nothing is installed.
func TestCompressedIndexPastTheCap(t *testing.T) {
	f, _ := longHistory(t, 40)
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write([]byte(`{"schema":"relkit.manifest/v2","project":"hello","releases":[`))
	zw.Write(bytes.Repeat([]byte(" "), manifest.MaxIndexSize+1))
	zw.Write([]byte(`]}`))
	zw.Close()
	srv := f.serve()
	srv.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, "/index.json") {
			return false
		}
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Type", "application/json")
		w.Write(z.Bytes())
		return true
	})
	dir := t.TempDir()
	in := f.installer(f.config(srv.URL, dir))
	_, err := in.Install(context.Background(), manifest.Query{})
	var le *verify.LimitError
	if !errors.As(err, &le) {
		t.Fatalf("Install with a %d-byte gzip index that expands past %d = %v, want a *verify.LimitError", z.Len(), manifest.MaxIndexSize, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "hello")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("something was installed: %v", err)
	}
}

func readBytes(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// On a forge, the shards are assets of the index release: an old
// version installs from github:OWNER/REPO through the public download
// URLs, reading one shard.
func TestForgeInstallOldVersionFromItsShard(t *testing.T) {
	f, _ := longHistory(t, 300)
	gh := githubtest.NewServer(t)
	f.toForge(gh, "hello")
	dir := t.TempDir()
	in := f.installer(f.config("github:"+gh.URL+"/example/hello", dir))
	before := len(gh.Requests())
	u, err := in.Check(context.Background(), manifest.Query{})
	if err != nil || u.Latest.Release.Version != "1.0.0" {
		t.Fatalf("check: %+v %v", u, err)
	}
	if n := len(gh.Requests()) - before; n != 2 {
		t.Errorf("the update check took %d requests, want 2: %v", n, gh.Requests()[before:])
	}
	res, err := in.Install(context.Background(), manifest.Query{Version: "0.0.1"})
	if err != nil || res.Version != "0.0.1" {
		t.Fatalf("install 0.0.1: %+v %v", res, err)
	}
	shards := 0
	for _, r := range gh.Requests() {
		if strings.Contains(r, "/relkit-index/shard.") {
			shards++
		}
	}
	if shards != 1 {
		t.Errorf("%d shard requests, want 1: %v", shards, gh.Requests())
	}
}
