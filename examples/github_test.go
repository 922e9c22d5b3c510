package examples_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/relkit/relkit/publish/github/githubtest"
	"github.com/relkit/relkit/verify"
)

// TestReleaseToGitHub cuts two releases to a GitHub repository (the
// githubtest server): the root goes to the index release relkit-index,
// each version to the release of its tag, and a client reading only the
// public download URLs finds a manifest listing both, signed under the
// content-addressed name of its bytes.
func TestReleaseToGitHub(t *testing.T) {
	gh := githubtest.NewServer(t)
	kdir, env := keys(t)
	src := project(t)
	env = append(env, "GITHUB_TOKEN="+gh.Token)
	for _, v := range []string{"3.0.0", "3.1.0"} {
		run(t, src, env, true, "release", "--project", "hello", "--version", v, "--key", filepath.Join(kdir, "cosign.key"),
			"--targets", host(), "--to", "github:example/hello", "--github-api", gh.URL+"/api/v3/", "--dist", filepath.Join(src, "dist"))
	}
	byTag := map[string]githubtest.Release{}
	for _, r := range gh.Releases("example", "hello") {
		byTag[r.Tag] = r
	}
	idx, ok := byTag["relkit-index"]
	if !ok || idx.Draft || !idx.Prerelease || len(byTag) != 3 {
		t.Fatalf("releases on the server: %v", byTag)
	}
	for _, v := range []string{"3.0.0", "3.1.0"} {
		rel := byTag["v"+v]
		if rel.Draft {
			t.Errorf("v%s is a draft", v)
		}
		for _, want := range []string{"SHA256SUMS", "SHA256SUMS.sig", "hello-" + v + "-" + runtime.GOOS + "-" + runtime.GOARCH + ".tar.gz"} {
			if _, ok := rel.Assets[want]; !ok {
				t.Errorf("v%s lacks asset %s (has %v)", v, want, rel.Order)
			}
		}
		if _, ok := rel.Assets["manifest.json"]; ok {
			t.Errorf("v%s carries a manifest.json of its own", v)
		}
	}
	// In the index, manifest.json is the commit point: only the legacy
	// root signature files and the v2 index follow its last swap, and the
	// index's own signatures and shards come before index.json.
	o := idx.Order
	i := slices.Index(o, "manifest.json")
	j := slices.Index(o, "index.json")
	if j < i {
		t.Errorf("index.json uploaded before manifest.json (the commit point): %v", o)
	}
	for k, after := range o[i+1:] {
		switch {
		case after == "manifest.json.sig" || after == "root.signatures.json" || strings.HasPrefix(after, "manifest.json.prev."):
		case strings.HasPrefix(after, "index.json.") || strings.HasPrefix(after, "shard."):
			if i+1+k > j && !strings.HasPrefix(after, "index.json.prev.") {
				t.Errorf("%s uploaded after index.json, which names it: %v", after, o)
			}
		case after == "index.json":
		default:
			t.Errorf("%s uploaded after manifest.json (the commit point): %v", after, o)
		}
	}

	// A client reading the public download URLs: the manifest, then the
	// signatures of exactly its bytes.
	get := func(name string) []byte {
		t.Helper()
		resp, err := http.Get(gh.URL + "/example/hello/releases/download/relkit-index/" + name)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", name, resp.Status)
		}
		data, _ := io.ReadAll(resp.Body)
		return data
	}
	data := get("manifest.json")
	sum := sha256.Sum256(data)
	set, err := verify.ParseSignatureSet(get("manifest.json." + hex.EncodeToString(sum[:]) + ".signatures.json"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := os.ReadFile(filepath.Join(kdir, "cosign.pub"))
	if err != nil {
		t.Fatal(err)
	}
	ring, _ := verify.NewKeyRing(pub)
	v, _ := verify.NewVerifier(ring, verify.WithProject("hello"))
	m, err := v.VerifyManifest(context.Background(), data, verify.Signatures{Set: set})
	if err != nil {
		t.Fatal(err)
	}
	if m.Aliases["latest"] != "3.1.0" || len(m.Releases) != 2 || m.Serial != 2 {
		t.Errorf("manifest from the index: latest %s, %d releases, serial %d", m.Aliases["latest"], len(m.Releases), m.Serial)
	}
}

// TestReleaseToGitHubPrerelease: a release candidate published with
// `--to github:` is a GitHub pre-release (so it never becomes the
// repository's "latest" release), and the stable release after it is not.
func TestReleaseToGitHubPrerelease(t *testing.T) {
	gh := githubtest.NewServer(t)
	kdir, env := keys(t)
	src := project(t)
	env = append(env, "GITHUB_TOKEN="+gh.Token)
	for _, v := range []string{"2.0.0-rc.1", "2.0.0"} {
		run(t, src, env, true, "release", "--project", "hello", "--version", v, "--key", filepath.Join(kdir, "cosign.key"),
			"--targets", host(), "--to", "github:example/hello", "--github-api", gh.URL+"/api/v3/", "--dist", filepath.Join(src, "dist"))
	}
	byTag := map[string]githubtest.Release{}
	for _, r := range gh.Releases("example", "hello") {
		byTag[r.Tag] = r
	}
	if rc, ok := byTag["v2.0.0-rc.1"]; !ok || !rc.Prerelease {
		t.Errorf("v2.0.0-rc.1: found %v, pre-release %v; want a pre-release", ok, rc.Prerelease)
	}
	if st, ok := byTag["v2.0.0"]; !ok || st.Prerelease {
		t.Errorf("v2.0.0: found %v, pre-release %v; want a release that is not a pre-release", ok, st.Prerelease)
	}
}
