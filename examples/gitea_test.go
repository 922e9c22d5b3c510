package examples_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/relkit/relkit/install"
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish/gitea/giteatest"
	"github.com/relkit/relkit/verify"
)

// TestReleaseToGitea releases 1.0.0 and then 1.1.0 with
// "examples/release --to gitea:HOST/OWNER/REPO" against the giteatest
// server, checks the index release and both version releases, and then
// verifies the whole published root, mirrored into a directory from the
// public download paths, with the verify example.
func TestReleaseToGitea(t *testing.T) {
	srv := giteatest.NewServer(t)
	srv.CreateRepo("example", "hello", false)
	kdir, env := keys(t)
	src := project(t)
	env = append(env, "GITEA_TOKEN="+srv.Token)
	key := filepath.Join(kdir, "cosign.key")
	to := "gitea:" + strings.TrimPrefix(srv.URL, "http://") + "/example/hello"
	release := func(ok bool, v string) string {
		return run(t, src, env, ok, "release", "--project", "hello", "--version", v, "--key", key, "--targets", host(),
			"--to", to, "--gitea-url", srv.URL+"/api/v1", "--dist", filepath.Join(src, "dist"))
	}
	release(true, "1.0.0")
	release(true, "1.1.0")
	if out := release(false, "1.1.0"); !strings.Contains(out, "1.1.0") { // a published version is never reused
		t.Errorf("a second 1.1.0 was refused without naming it:\n%s", out)
	} else {
		t.Logf("a second 1.1.0: %s", lastLine(out))
	}

	rels := map[string]giteatest.Release{}
	for _, r := range srv.Releases("example", "hello") {
		rels[r.Tag] = r
	}
	if len(rels) != 3 {
		t.Fatalf("releases: %v, want relkit-index, v1.0.0, v1.1.0", slices.Collect(func(yield func(string) bool) {
			for k := range rels {
				yield(k)
			}
		}))
	}
	idx := rels["relkit-index"]
	if idx.Draft || !idx.Prerelease {
		t.Errorf("index release: draft=%v prerelease=%v, want published and a pre-release", idx.Draft, idx.Prerelease)
	}
	data, ok := idx.Asset("manifest.json")
	if !ok {
		t.Fatalf("index release lacks manifest.json: %v", idx.Names())
	}
	m, err := manifest.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if m.Serial != 2 || len(m.Releases) != 2 || m.Aliases["latest"] != "1.1.0" {
		t.Errorf("published manifest: serial %d, %d releases, latest %s; want 2, 2, 1.1.0", m.Serial, len(m.Releases), m.Aliases["latest"])
	}
	sum := sha(data)
	for _, want := range []string{"manifest.json." + sum + ".sig", "manifest.json." + sum + ".signatures.json", "manifest.json.sig", "root.signatures.json"} {
		if _, ok := idx.Asset(want); !ok {
			t.Errorf("index release lacks %s: %v", want, idx.Names())
		}
	}
	arch := runtime.GOOS + "-" + runtime.GOARCH
	for _, v := range []string{"1.0.0", "1.1.0"} {
		r, ok := rels["v"+v]
		if !ok || r.Draft || r.Prerelease {
			t.Fatalf("release v%s: found %v, draft %v, prerelease %v; want published", v, ok, r.Draft, r.Prerelease)
		}
		rel, _ := m.Release(v)
		if rel == nil || len(rel.Artifacts) == 0 {
			t.Fatalf("manifest lacks %s", v)
		}
		for _, a := range rel.Artifacts {
			b, ok := r.Asset(filepath.Base(a.Path))
			if !ok || sha(b) != a.SHA256 {
				t.Errorf("v%s: asset %s missing or not the manifest's bytes (%v)", v, a.Path, r.Names())
			}
		}
		for _, want := range []string{"SHA256SUMS", "SHA256SUMS.sig", "hello-" + v + "-" + arch + ".tar.gz"} {
			if _, ok := r.Asset(want); !ok {
				t.Errorf("v%s lacks %s: %v", v, want, r.Names())
			}
		}
		if _, ok := r.Asset("manifest.json"); ok {
			t.Errorf("v%s holds a manifest.json", v)
		}
	}

	// Mirror the published root from the public download paths (no token)
	// into a directory and verify it the way a client checks a release.
	mirror := t.TempDir()
	fetch := func(tag, asset, name string) {
		b := httpGet(t, srv.URL+"/example/hello/releases/download/"+tag+"/"+asset)
		p := filepath.Join(mirror, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range idx.Names() {
		name := n
		switch {
		case n == "root.signatures.json":
			name = "signatures.json"
		case strings.HasPrefix(n, "manifest.json.") && n != "manifest.json.sig", strings.HasPrefix(n, "index.json."):
			name = "sigs/" + n
		case strings.HasPrefix(n, "shard."):
			name = "shards/" + strings.TrimPrefix(n, "shard.")
		case strings.HasPrefix(n, "root.") && strings.HasSuffix(n, ".json"):
			name = "root/" + strings.TrimPrefix(n, "root.")
		}
		fetch("relkit-index", n, name)
	}
	for _, v := range []string{"1.0.0", "1.1.0"} {
		for _, n := range rels["v"+v].Names() {
			fetch("v"+v, n, v+"/"+n)
		}
	}
	pub := filepath.Join(kdir, "cosign.pub")

	for _, v := range []string{"1.0.0", "1.1.0"} {
		out := run(t, "", nil, true, "verify", "--key", pub, "--version", v, mirror)
		if !strings.Contains(out, v) {
			t.Errorf("verify %s of the mirrored Gitea release:\n%s", v, out)
		}
		t.Logf("verify %s: %s", v, strings.SplitN(out, "\n", 2)[0])
		// And straight from the repository, as a client reads it.
		out = run(t, "", nil, true, "verify", "--key", pub, "--version", v, "gitea:"+srv.URL+"/example/hello")
		if !strings.Contains(out, "hello "+v+" — verified") {
			t.Errorf("verify %s from the Gitea repository:\n%s", v, out)
		}
	}

	// Running the channel on Gitea: a yank and a refresh are signed root
	// changes, committed by a conditional replace of manifest.json in the
	// index release.
	gitea := []string{"--key", key, "--to", to, "--gitea-url", srv.URL}
	run(t, src, env, true, "release", append([]string{"yank", "--project", "hello", "--reason", "corrupts the config"}, append(gitea, "1.0.0")...)...)
	if out := run(t, src, env, true, "release", append([]string{"refresh", "--project", "hello"}, gitea...)...); !strings.Contains(out, "refresh: manifest serial 4") {
		t.Errorf("refresh printed:\n%s", out)
	}
	idx, _ = srv.ReleaseByTag("example", "hello", "relkit-index")
	data, _ = idx.Asset("manifest.json")
	if m, err = manifest.Parse(data); err != nil {
		t.Fatal(err)
	}
	if r, _ := m.Release("1.0.0"); m.Serial != 4 || r == nil || r.Status != manifest.StatusYanked || len(m.Releases) != 2 {
		t.Fatalf("after yank and refresh: serial %d, %d releases, 1.0.0 %+v", m.Serial, len(m.Releases), r)
	}
	if n := strings.Count(" "+strings.Join(idx.Names(), " ")+" ", " manifest.json "); n != 1 || strings.Contains(strings.Join(idx.Names(), " "), ".pending") {
		t.Errorf("index release holds %d manifest.json assets, or a pending copy: %v", n, idx.Names())
	}
	sig, _ := idx.Asset("manifest.json.sig")
	if cas, ok := idx.Asset("manifest.json." + sha(data) + ".sig"); !ok || string(cas) != string(sig) {
		t.Errorf("the legacy manifest.json.sig is not the signature of the current manifest")
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// httpGet downloads url without credentials, as a client does.
func httpGet(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, %v", url, resp.Status, err)
	}
	return b
}

func lastLine(s string) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return l[len(l)-1]
}

// TestSelfUpdateFromGitea is the acceptance for Gitea: the
// selfupdate example, released with "examples/release --to gitea:..." at
// 1.0.0 and 1.1.0, is installed at 1.0.0 from the Gitea repository and
// updates itself to 1.1.0 from it, reading only the public download paths
// (no token).
func TestSelfUpdateFromGitea(t *testing.T) {
	srv := giteatest.NewServer(t)
	srv.CreateRepo("example", "hello", false)
	kdir, env := keys(t)
	env = append(env, "GITEA_TOKEN="+srv.Token)
	root, err := filepath.Abs("..") // the module: the selfupdate example is the program released
	if err != nil {
		t.Fatal(err)
	}
	dist := t.TempDir()
	// The same repository string for the publisher and the clients.
	source := "forgejo:" + srv.URL + "/example/hello"
	for _, v := range []string{"1.0.0", "1.1.0"} {
		run(t, root, env, true, "release", "--project", "hello", "--version", v, "--package", "./examples/selfupdate",
			"--key", filepath.Join(kdir, "cosign.key"), "--targets", host(), "--to", source, "--dist", dist)
	}
	pem, err := os.ReadFile(filepath.Join(kdir, "cosign.pub"))
	if err != nil {
		t.Fatal(err)
	}
	ring, err := verify.NewKeyRing(pem)
	if err != nil {
		t.Fatal(err)
	}
	published := len(srv.Requests())
	bin := t.TempDir()
	in, err := install.New(install.Config{Project: "hello", Source: source, Dir: bin, Trust: &verify.Trust{Keys: ring}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := in.Install(context.Background(), manifest.Query{Version: "1.0.0"})
	if err != nil {
		t.Fatalf("install 1.0.0 from Gitea: %v", err)
	}
	hello := res.Paths[0]
	say := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(hello, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("hello %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if out := say("version"); !strings.Contains(out, "hello 1.0.0") {
		t.Fatalf("installed program says %q, want hello 1.0.0", out)
	}
	from := []string{"--from", source, "--key", filepath.Join(kdir, "cosign.pub")}
	if out := say(append([]string{"update", "--check"}, from...)...); !strings.Contains(out, "1.1.0") {
		t.Errorf("update --check: %q, want 1.1.0 offered", out)
	}
	if out := say(append([]string{"update"}, from...)...); !strings.Contains(out, "updated hello from 1.0.0 to 1.1.0") {
		t.Errorf("update: %q", out)
	}
	if out := say("version"); !strings.Contains(out, "hello 1.1.0") {
		t.Errorf("after the update the program says %q, want hello 1.1.0", out)
	}
	// The clients (installer and program) read the public download paths
	// only: no API request, so no token and no API rate limit.
	client := srv.Requests()[published:]
	for _, r := range client {
		if !strings.HasPrefix(r, "GET /example/hello/releases/download/") {
			t.Errorf("a client made the request %q, want only public downloads", r)
		}
	}
	if len(client) == 0 {
		t.Error("no client request recorded")
	}
}

// TestInstallFromPrivateGitea: a release published to a private Gitea
// repository installs with a read token (ForgeToken), and without one is
// refused with a *verify.ForgeError saying the repository was not found:
// giteatest answers anonymous readers of a private repository 404, as
// Gitea does, and the token goes with the download requests.
func TestInstallFromPrivateGitea(t *testing.T) {
	srv := giteatest.NewServer(t)
	srv.CreateRepo("example", "secret", true)
	kdir, env := keys(t)
	src := project(t)
	env = append(env, "GITEA_TOKEN="+srv.Token)
	source := "gitea:" + srv.URL + "/example/secret"
	run(t, src, env, true, "release", "--project", "hello", "--version", "2.0.0", "--key", filepath.Join(kdir, "cosign.key"),
		"--targets", host(), "--to", source, "--dist", filepath.Join(src, "dist"))
	pem, err := os.ReadFile(filepath.Join(kdir, "cosign.pub"))
	if err != nil {
		t.Fatal(err)
	}
	ring, err := verify.NewKeyRing(pem)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	anon, err := install.New(install.Config{Project: "hello", Source: source, Dir: t.TempDir(), Trust: &verify.Trust{Keys: ring}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = anon.Install(ctx, manifest.Query{})
	var fe *verify.ForgeError
	if !errors.As(err, &fe) || !errors.Is(err, verify.ErrRepoNotFound) {
		t.Fatalf("install from a private repository without a token: %v, want a *verify.ForgeError (repository not found)", err)
	}
	in, err := install.New(install.Config{Project: "hello", Source: source, Dir: t.TempDir(), Trust: &verify.Trust{Keys: ring}, Network: install.Network{ForgeToken: srv.ReadToken}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := in.Install(ctx, manifest.Query{})
	if err != nil || res.Version != "2.0.0" {
		t.Fatalf("install from the private repository with a read token: %+v, %v", res, err)
	}
	if out, err := exec.Command(res.Paths[0]).CombinedOutput(); err != nil || !strings.Contains(string(out), "hello 2.0.0") {
		t.Errorf("installed program: %q, %v", out, err)
	}
}
