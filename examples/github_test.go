package examples_test

import (
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/relkit/relkit/publish/github/githubtest"
)

func TestReleaseToGitHub(t *testing.T) {
	gh := githubtest.NewServer(t)
	kdir, env := keys(t)
	src := project(t)
	env = append(env, "GITHUB_TOKEN="+gh.Token)
	run(t, src, env, true, "release", "--project", "hello", "--version", "3.0.0", "--key", filepath.Join(kdir, "cosign.key"),
		"--targets", host(), "--to", "github:example/hello", "--github-api", gh.URL+"/api/v3/", "--dist", filepath.Join(src, "dist"))
	rels := gh.Releases("example", "hello")
	if len(rels) != 1 || rels[0].Draft || rels[0].Tag != "v3.0.0" {
		t.Fatalf("releases on the server: %+v", rels)
	}
	for _, want := range []string{"manifest.json", "manifest.json.sig", "SHA256SUMS", "SHA256SUMS.sig", "hello-3.0.0-" + runtime.GOOS + "-" + runtime.GOARCH + ".tar.gz"} {
		if _, ok := rels[0].Assets[want]; !ok {
			t.Errorf("release lacks asset %s (has %v)", want, rels[0].Order)
		}
	}
	// manifest.json is the commit point: only the legacy root signature
	// files follow it, brought in line with what was committed (the
	// signatures of its bytes are in place before, as
	// manifest.json.<sha256>.sig and .signatures.json).
	o := rels[0].Order
	i := slices.Index(o, "manifest.json")
	for _, after := range o[i+1:] {
		if after != "manifest.json.sig" && after != "root.signatures.json" {
			t.Errorf("%s uploaded after manifest.json (the commit point): %v", after, o)
		}
	}

	// The verify example checks the flat release from GitHub's public
	// download URLs, the way a user's machine reads it.
	url := gh.URL + "/example/hello/releases/download/v3.0.0/"
	out := run(t, "", nil, true, "verify", "--key", filepath.Join(kdir, "cosign.pub"), "--flat", "--version", "3.0.0", url)
	if !strings.Contains(out, "3.0.0") {
		t.Errorf("verify of the GitHub release:\n%s", out)
	}
}
