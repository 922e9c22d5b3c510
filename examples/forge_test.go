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
	"github.com/relkit/relkit/publish/gitea/giteatest"
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
	source := "github:" + gh.URL + "/example/hello"
	var before int
	pubKey := selfUpdate(t, forgeRun{
		source: source,
		env:    []string{"GITHUB_TOKEN=" + gh.Token},
		to:     []string{"--to", "github:example/hello", "--github-api", gh.URL + "/api/v3/"},
		published: func() {
			// From here on the API answers 403 rate limited: clients
			// must not need it.
			gh.SetRateLimit(60, 0, time.Hour)
			before = len(gh.Requests())
		},
	})
	for _, r := range gh.Requests()[before:] {
		if strings.Contains(r, "/api/") {
			t.Errorf("a client made an API request: %s", r)
		}
	}
	for _, a := range gh.AssetRequests() {
		if a.Authorization != "" {
			t.Errorf("the asset host received a token: %+v", a)
		}
	}
	// A repository without relkit's manifest says what to do.
	gh.CreateRelease("example", "plain", githubtest.Release{Tag: "v1.0.0", Assets: map[string][]byte{"x": []byte("x")}})
	out := run(t, "", nil, false, "verify", "--key", pubKey, "github:"+gh.URL+"/example/plain")
	t.Logf("without a manifest: %s", lastLine(out))
	if !strings.Contains(out, "relkit-index") || !strings.Contains(out, gh.URL+"/example/plain") {
		t.Errorf("verify of a repository without a manifest:\n%s", out)
	}
}

// TestSelfUpdateFromPrivateGitea is the same for a private Gitea (or Forgejo)
// repository: examples/release --to gitea:HOST/OWNER/REPO, then the
// self-update with a read-only token (--token-env) on Gitea's download
// URLs; without the token the repository is not found, and the verify
// example says it may be private.
func TestSelfUpdateFromPrivateGitea(t *testing.T) {
	srv := giteatest.NewServer(t)
	srv.CreateRepo("example", "hello", true)
	source := "gitea:" + srv.URL + "/example/hello"
	pubKey := selfUpdate(t, forgeRun{
		source: source,
		env:    []string{"GITEA_TOKEN=" + srv.Token},
		to:     []string{"--to", "gitea:" + strings.TrimPrefix(srv.URL, "http://") + "/example/hello", "--gitea-url", srv.URL},
		token:  srv.ReadToken,
	})
	out := run(t, "", nil, false, "verify", "--key", pubKey, source)
	t.Logf("private without a token: %s", lastLine(out))
	if !strings.Contains(out, "forge repository not found") || !strings.Contains(out, "private") {
		t.Errorf("verify of the private repository without a token:\n%s", out)
	}
}

// forgeRun says how selfUpdate publishes to a forge and reads it back.
type forgeRun struct {
	source    string   // the client's Source / --from
	env       []string // the publisher's token
	to        []string // examples/release's destination flags
	token     string   // the client's token for a private repository
	published func()   // called once both versions are published
}

// selfUpdate releases examples/selfupdate at 1.0.0 with examples/release,
// installs it with package install, releases 1.1.0, and has the installed
// 1.0.0 update itself (update --check, update, version); then the verify
// example checks the repository. It returns the trusted public key's file.
func selfUpdate(t *testing.T, fr forgeRun) string {
	kdir, env := keys(t)
	env = append(env, fr.env...)
	pubKey := filepath.Join(kdir, "cosign.pub")
	release := func(v string) {
		t.Helper()
		// The released program is examples/selfupdate itself, built
		// from this module (its version stamped into main.version).
		args := []string{"--project", "hello", "--version", v, "--package", "./examples/selfupdate",
			"--key", filepath.Join(kdir, "cosign.key"), "--targets", host(), "--dist", filepath.Join(t.TempDir(), "dist")}
		run(t, "..", env, true, "release", append(args, fr.to...)...)
	}
	release("1.0.0")

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
	in, err := install.New(install.Config{Project: "hello", Source: fr.source, Dir: bin, Trust: &verify.Trust{Keys: ring}, Network: install.Network{ForgeToken: fr.token}})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := in.Install(context.Background(), manifest.Query{}); err != nil || res.Version != "1.0.0" {
		t.Fatalf("install 1.0.0: %+v %v", res, err)
	}
	hello := filepath.Join(bin, "hello")

	release("1.1.0")
	if fr.published != nil {
		fr.published()
	}
	from := []string{"--from", fr.source, "--key", pubKey}
	var clientEnv []string
	if fr.token != "" {
		from = append(from, "--token-env", "FORGE_TOKEN")
		clientEnv = []string{"FORGE_TOKEN=" + fr.token}
	}
	selfupdate := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(hello, args...)
		cmd.Env = append(os.Environ(), clientEnv...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("hello %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if out := selfupdate("version"); strings.TrimSpace(out) != "hello 1.0.0" {
		t.Fatalf("installed: %q", out)
	}
	if out := selfupdate(append([]string{"update", "--check"}, from...)...); !strings.Contains(out, "1.0.0 -> 1.1.0") {
		t.Errorf("update --check:\n%s", out)
	}
	if out := selfupdate(append([]string{"update"}, from...)...); !strings.Contains(out, "updated hello from 1.0.0 to 1.1.0") {
		t.Fatalf("update:\n%s", out)
	}
	if out := selfupdate("version"); strings.TrimSpace(out) != "hello 1.1.0" {
		t.Fatalf("after the update: %q", out)
	}

	// The verify example reads the same repository.
	args := []string{"--key", pubKey, fr.source}
	if fr.token != "" {
		args = append([]string{"--token-env", "FORGE_TOKEN"}, args...)
	}
	out := run(t, "", clientEnv, true, "verify", args...)
	if !strings.Contains(out, "hello 1.1.0") || !strings.Contains(out, "verified") {
		t.Errorf("verify of the repository:\n%s", out)
	}
	return pubKey
}
