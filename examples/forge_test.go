package examples_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relkit/relkit/install"
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish/github/githubtest"
	"github.com/relkit/relkit/verify"
)

// TestSelfUpdateFromGitHub is issue 13's acceptance for GitHub: the
// selfupdate example is released with examples/release --to github: at
// 1.0.0 and 1.1.0, and the installed 1.0.0 updates itself to 1.1.0 from
// the repository's public download URLs, with the API's budget spent and
// no token anywhere near the asset host; examples/verify checks the
// release from the same repository.
func TestSelfUpdateFromGitHub(t *testing.T) {
	gh := githubtest.NewServer(t)
	kdir, env := keys(t)
	env = append(env, "GITHUB_TOKEN="+gh.Token)
	pubKey := filepath.Join(kdir, "cosign.pub")
	release := func(v string) {
		t.Helper()
		// The released program is examples/selfupdate itself, built
		// from this module (its version stamped into main.version).
		run(t, "..", env, true, "release", "--project", "hello", "--version", v, "--package", "./examples/selfupdate",
			"--key", filepath.Join(kdir, "cosign.key"), "--targets", host(), "--to", "github:example/hello",
			"--github-api", gh.URL+"/api/v3/", "--dist", filepath.Join(t.TempDir(), "dist"))
	}
	release("1.0.0")
	source := "github:" + gh.URL + "/example/hello"

	// Install 1.0.0 from the repository, as an install script would.
	pem, err := os.ReadFile(pubKey)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := verify.NewKeyRing(pem)
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	in, err := install.New(install.Config{Project: "hello", Source: source, Dir: bin, Keys: ring})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := in.Install(context.Background(), manifest.Query{}); err != nil || res.Version != "1.0.0" {
		t.Fatalf("install 1.0.0: %+v %v", res, err)
	}
	hello := filepath.Join(bin, "hello")

	release("1.1.0")
	// From here on the API answers 403 rate limited: clients must not
	// need it.
	gh.SetRateLimit(60, 0, time.Hour)
	before := len(gh.Requests())
	selfupdate := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(hello, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("hello %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if out := selfupdate("version"); strings.TrimSpace(out) != "hello 1.0.0" {
		t.Fatalf("installed: %q", out)
	}
	if out := selfupdate("update", "--check", "--from", source, "--key", pubKey); !strings.Contains(out, "1.0.0 -> 1.1.0") {
		t.Errorf("update --check:\n%s", out)
	}
	if out := selfupdate("update", "--from", source, "--key", pubKey); !strings.Contains(out, "updated hello from 1.0.0 to 1.1.0") {
		t.Fatalf("update:\n%s", out)
	}
	if out := selfupdate("version"); strings.TrimSpace(out) != "hello 1.1.0" {
		t.Fatalf("after the update: %q", out)
	}
	for _, r := range gh.Requests()[before:] {
		if strings.Contains(r, "/api/") {
			t.Errorf("the self-update made an API request: %s", r)
		}
	}
	for _, a := range gh.AssetRequests() {
		if a.Authorization != "" {
			t.Errorf("the asset host received a token: %+v", a)
		}
	}

	// The verify example reads the same repository.
	out := run(t, "", nil, true, "verify", "--key", pubKey, source)
	if !strings.Contains(out, "hello 1.1.0") || !strings.Contains(out, "verified") {
		t.Errorf("verify of the GitHub repository:\n%s", out)
	}
	// A repository without relkit's manifest says what to do.
	gh.CreateRelease("example", "plain", githubtest.Release{Tag: "v1.0.0", Assets: map[string][]byte{"x": []byte("x")}})
	out = run(t, "", nil, false, "verify", "--key", pubKey, "github:"+gh.URL+"/example/plain")
	if !strings.Contains(out, "relkit-index") || !strings.Contains(out, gh.URL+"/example/plain") {
		t.Errorf("verify of a repository without a manifest:\n%s", out)
	}
}
