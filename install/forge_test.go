package install

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish/github/githubtest"
	"github.com/relkit/relkit/verify"
)

// toForge writes the signature set of the fixture's current manifest.json
// (sigs/manifest.json.<sha256>.signatures.json, as a publisher does before
// it commits) and publishes the fixture's root to example/<repo> on gh in
// the forge layout: the index release relkit-index and one release per
// version.
func (f *fixture) toForge(gh *githubtest.Server, repo string) {
	f.t.Helper()
	data, err := os.ReadFile(filepath.Join(f.root, manifest.File))
	if err != nil {
		f.t.Fatal(err)
	}
	sum := hexSum(data)
	raw, err := verify.DecodeSignature(signBytes(f.t, f.key, data))
	if err != nil {
		f.t.Fatal(err)
	}
	id, err := verify.KeyID(&f.key.PublicKey)
	if err != nil {
		f.t.Fatal(err)
	}
	set := &verify.SignatureSet{Schema: verify.SignaturesSchema}
	if err := set.Add(verify.SignatureEntry{KeyID: id, Algorithm: verify.AlgECDSASHA256, File: manifest.File, SHA256: sum, Signature: raw}); err != nil {
		f.t.Fatal(err)
	}
	b, err := set.Marshal()
	if err != nil {
		f.t.Fatal(err)
	}
	f.write(manifest.SignatureSetPath(manifest.File, sum), b)
	if err := gh.PublishLayout("example", repo, f.root); err != nil {
		f.t.Fatal(err)
	}
}

// webRequests counts gh's requests with the prefix.
func webRequests(gh *githubtest.Server, from int, prefix string) int {
	n := 0
	for _, r := range gh.Requests()[from:] {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func noTokenOnAssetHost(t *testing.T, gh *githubtest.Server) {
	t.Helper()
	for _, a := range gh.AssetRequests() {
		if a.Authorization != "" {
			t.Fatalf("the asset host received the token %q (%s)", a.Authorization, a.Path)
		}
	}
}

func TestForgeInstallUpdate(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "hello")
	f.v2 = true // index.json: the update check reads it and its signature
	v1 := f.release("1.0.0")
	gh := githubtest.NewServer(t)
	// The API budget is spent: the public download path must not care.
	gh.SetRateLimit(60, 0, time.Hour)
	f.toForge(gh, "hello")
	// A draft of the index release (a publisher mid-flight) holding junk:
	// never visible.
	gh.CreateRelease("example", "hello", githubtest.Release{Tag: githubtest.IndexTag, Draft: true, Assets: map[string][]byte{"manifest.json": []byte("junk")}})

	dir := t.TempDir()
	cfg := f.config("github:"+gh.URL+"/example/hello", dir)
	var calls int
	var lastDone, lastTotal int64
	cfg.Progress = func(done, total int64) { calls++; lastDone, lastTotal = done, total }
	in := f.installer(cfg)
	res, err := in.Install(ctx, manifest.Query{})
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "hello")
	if res.Version != "1.0.0" || readFile(t, bin) != string(v1["hello"]) {
		t.Fatalf("install: %+v", res)
	}
	if calls == 0 || lastDone != res.Artifact.Size || lastTotal != res.Artifact.Size {
		t.Errorf("progress: %d calls, last %d/%d", calls, lastDone, lastTotal)
	}
	rec, err := ReadReceipt(dir, "hello")
	if err != nil || rec.Version != "1.0.0" || !strings.HasPrefix(rec.Source, gh.URL+"/example/hello") {
		t.Fatalf("receipt %+v, %v", rec, err)
	}
	if !strings.HasPrefix(res.Source, gh.URL+"/example/hello/releases/download/v1.0.0/") {
		t.Errorf("artifact source %s", res.Source)
	}

	// 1.1.0, then a pre-release newer than the latest stable.
	v2 := f.release("1.1.0")
	f.publish("1.2.0-rc.1", f.artifactName("1.2.0-rc.1"), tarGz(t, []entry{{name: "hello", body: script("hello", "1.2.0-rc.1")}}))
	f.toForge(gh, "hello")
	gh.SetPrerelease("example", "hello", "v1.2.0-rc.1", true)

	before := len(gh.Requests())
	u, err := in.Check(ctx, manifest.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if !u.Available || u.Latest.Release.Version != "1.1.0" {
		t.Fatalf("check: %+v", u)
	}
	if n := len(gh.Requests()) - before; n != 2 {
		t.Errorf("Check found the current manifest in %d requests, want 2: %v", n, gh.Requests()[before:])
	}
	if u, err := in.Check(ctx, manifest.Query{Channel: "edge"}); err != nil || u.Latest.Release.Version != "1.2.0-rc.1" {
		t.Fatalf("edge: %+v %v", u, err)
	}
	if u, err := in.Check(ctx, manifest.Query{Constraint: "<1.1"}); err != nil || u.Latest.Release.Version != "1.0.0" {
		t.Fatalf("constraint <1.1: %+v %v", u, err)
	}
	if u, err := in.Check(ctx, manifest.Query{Alias: "1.1"}); err != nil || u.Latest.Release.Version != "1.1.0" {
		t.Fatalf("alias 1.1: %+v %v", u, err)
	}
	// The download cap holds as for a release root URL.
	capped := cfg
	capped.Limits.MaxDownload = 10
	var le *LimitError
	if _, err := f.installer(capped).Install(ctx, manifest.Query{}); !errors.As(err, &le) {
		t.Fatalf("download over the cap: %v", err)
	}
	if res, err = in.Install(ctx, manifest.Query{}); err != nil {
		t.Fatal(err)
	}
	if res.Version != "1.1.0" || res.Previous != "1.0.0" || readFile(t, bin) != string(v2["hello"]) {
		t.Fatalf("update: %+v", res)
	}

	// 1.1.0 is yanked: stable moves back to 1.0.0, and going there is a
	// downgrade, refused.
	if _, err := f.m.Yank("1.1.0", "eats config files"); err != nil {
		t.Fatal(err)
	}
	f.sign()
	f.toForge(gh, "hello")
	u, err = in.Check(ctx, manifest.Query{})
	if err != nil || u.Latest.Release.Version != "1.0.0" {
		t.Fatalf("check after the yank: %+v %v", u, err)
	}
	if _, err := in.Install(ctx, manifest.Query{Version: "1.1.0"}); err == nil || !strings.Contains(err.Error(), "yanked") {
		t.Fatalf("install of the yanked release: %v", err)
	}
	var de *DowngradeError
	if _, err := in.Install(ctx, manifest.Query{Version: "1.0.0"}); !errors.As(err, &de) {
		t.Fatalf("downgrade: %v", err)
	}

	if n := webRequests(gh, 0, "GET /api/"); n != 0 {
		t.Errorf("%d API requests for a public repository", n)
	}
	noTokenOnAssetHost(t, gh)
}

func TestForgeResume(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "hello")
	body := append(script("hello", "2.0.0"), []byte("# "+randomHex(3<<20)+"\n")...)
	f.publish("2.0.0", f.artifactName("2.0.0"), tarGz(t, []entry{{name: "hello", body: body}}))
	gh := githubtest.NewServer(t)
	f.toForge(gh, "hello")
	cut := true
	gh.CutDownload = func(r *http.Request, size int) int {
		if cut && size > 1<<20 && r.Header.Get("Range") == "" {
			cut = false
			return 1 << 19 // the archive: part of it, then the link breaks
		}
		return 0
	}
	dir := t.TempDir()
	res, err := f.installer(f.config("github:"+gh.URL+"/example/hello", dir)).Install(ctx, manifest.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != "2.0.0" || readFile(t, filepath.Join(dir, "hello")) != string(body) {
		t.Fatal("wrong bytes after resume")
	}
	var ranged []string
	for _, a := range gh.AssetRequests() {
		if a.Range != "" {
			ranged = append(ranged, a.Range)
		}
	}
	if len(ranged) != 1 || ranged[0] != "bytes=524288-" {
		t.Fatalf("want one resume from byte 524288 through the redirect, got %v", ranged)
	}
}

// TestForgeTrustRefusals: every refusal of the directory layout holds for
// a GitHub repository.
func TestForgeTrustRefusals(t *testing.T) {
	ctx := context.Background()
	var ve *VerificationError
	for _, c := range []struct {
		name  string
		setup func(t *testing.T, f *fixture, gh *githubtest.Server, in *Installer)
		query manifest.Query
		want  error
		as    any
	}{
		{name: "tampered asset", setup: func(t *testing.T, f *fixture, gh *githubtest.Server, in *Installer) {
			b, _ := os.ReadFile(filepath.Join(f.root, "1.1.0", f.artifactName("1.1.0")))
			b[len(b)/2] ^= 0xff
			gh.PutAsset("example", "hello", "v1.1.0", f.artifactName("1.1.0"), b)
		}, want: verify.ErrChecksumMismatch, as: &ve},
		{name: "mix-and-match: the asset of another tag", setup: func(t *testing.T, f *fixture, gh *githubtest.Server, in *Installer) {
			b, _ := os.ReadFile(filepath.Join(f.root, "1.0.0", f.artifactName("1.0.0")))
			gh.PutAsset("example", "hello", "v1.1.0", f.artifactName("1.1.0"), b)
		}, want: ErrVerification, as: &ve},
		{name: "wrong-project manifest", setup: func(t *testing.T, f *fixture, gh *githubtest.Server, in *Installer) {
			other := newFixture(t, "other")
			other.key, other.ring = f.key, f.ring // the same key signs a sibling project
			other.release("9.0.0")
			other.toForge(gh, "hello")
		}, want: verify.ErrArtifactMismatch, as: &ve},
		{name: "old manifest replayed", setup: func(t *testing.T, f *fixture, gh *githubtest.Server, in *Installer) {
			old := gh.Releases("example", "hello")[0].Assets["manifest.json"]
			f.release("1.2.0")
			f.toForge(gh, "hello")
			if _, err := in.Check(ctx, manifest.Query{}); err != nil { // the client sees serial 3...
				t.Fatal(err)
			}
			gh.PutAsset("example", "hello", githubtest.IndexTag, "manifest.json", old) // ...then serial 2 again, with its signatures
		}, want: verify.ErrRollback, as: &ve},
		{name: "downgrade", setup: func(t *testing.T, f *fixture, gh *githubtest.Server, in *Installer) {
			if _, err := in.Install(ctx, manifest.Query{}); err != nil {
				t.Fatal(err)
			}
		}, query: manifest.Query{Version: "1.0.0"}, want: ErrDowngrade, as: new(*DowngradeError)},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, "hello")
			f.release("1.0.0")
			f.release("1.1.0")
			gh := githubtest.NewServer(t)
			f.toForge(gh, "hello")
			dir := t.TempDir()
			in := f.installer(f.config("github:"+gh.URL+"/example/hello", dir))
			c.setup(t, f, gh, in)
			before := snapshot(t, dir)
			_, err := in.Install(ctx, c.query)
			if !errors.Is(err, c.want) || !errors.As(err, c.as) {
				t.Fatalf("got %v, want %v (%T)", err, c.want, c.as)
			}
			if after := snapshot(t, dir); len(after) != len(before) || after["hello"] != before["hello"] {
				t.Errorf("a refused install changed the directory: %v -> %v", before, after)
			}
		})
	}
}

func TestForgeSourceErrors(t *testing.T) {
	setForgeRetryWait(t, time.Millisecond)
	ctx := context.Background()
	f := newFixture(t, "hello")
	f.release("1.0.0")
	gh := githubtest.NewServer(t)
	f.toForge(gh, "hello")
	f.toForge(gh, "secret")
	gh.SetPrivate("example", "secret", true)
	gh.CreateRelease("example", "plain", githubtest.Release{Tag: "v1.0.0", Assets: map[string][]byte{"hello.tar.gz": []byte("x")}})

	check := func(repo, token string) error {
		cfg := f.config("github:"+gh.URL+"/example/"+repo, t.TempDir())
		cfg.Network.ForgeToken = token
		_, err := f.installer(cfg).Check(ctx, manifest.Query{})
		return err
	}
	for _, c := range []struct {
		name, repo, token string
		want              error
		hint              string
	}{
		{"a repository that does not exist", "nope", "", verify.ErrRepoNotFound, "check OWNER/REPO"},
		{"a release without relkit's manifest", "plain", "", verify.ErrNoIndex, "examples/release --to github:example/plain"},
		{"a private repository without a token", "secret", "", verify.ErrRepoNotFound, "for a private repository give a token"},
		{"a refused token", "secret", "expired", verify.ErrBadToken, "token was refused"},
	} {
		err := check(c.repo, c.token)
		t.Logf("%s: %v", c.name, err)
		var fe *verify.ForgeError
		if !errors.Is(err, c.want) || !errors.As(err, &fe) || !strings.Contains(err.Error(), gh.URL+"/example/"+c.repo) || !strings.Contains(err.Error(), c.hint) {
			t.Errorf("%s: %v; want a *verify.ForgeError wrapping %v naming the URL and saying %q", c.name, err, c.want, c.hint)
		}
	}

	// The private repository with its token: through the API, and the
	// token never reaches the asset host.
	dir := t.TempDir()
	cfg := f.config("github:"+gh.URL+"/example/secret", dir)
	cfg.Network.ForgeToken = githubtest.Token
	before := len(gh.Requests())
	res, err := f.installer(cfg).Install(ctx, manifest.Query{})
	if err != nil || res.Version != "1.0.0" {
		t.Fatalf("private with a token: %+v %v", res, err)
	}
	if all, api := len(gh.Requests())-before, webRequests(gh, before, "GET /api/v3/repos/example/secret/releases/"); all != api {
		t.Errorf("private with a token: %d requests, %d through the API: %v", all, api, gh.Requests()[before:])
	}
	noTokenOnAssetHost(t, gh)

	// A rate-limited API is a typed error with the reset time.
	gh.SetRateLimit(5000, 0, time.Hour)
	err = check("secret", githubtest.Token)
	t.Logf("rate limited: %v", err)
	var fe *verify.ForgeError
	if !errors.Is(err, verify.ErrRateLimited) || !errors.As(err, &fe) || fe.Reset.IsZero() || !strings.Contains(err.Error(), gh.URL+"/api/v3/") {
		t.Errorf("rate limited: %v", err)
	}
	// ...which the public repository never meets.
	if err := check("hello", ""); err != nil {
		t.Errorf("public repository while the API is rate limited: %v", err)
	}
}

func TestForgeManifestAbsentForAMoment(t *testing.T) {
	setForgeRetryWait(t, time.Millisecond)
	f := newFixture(t, "hello")
	f.release("1.0.0")
	gh := githubtest.NewServer(t)
	f.toForge(gh, "hello")
	gone := true
	gh.FailDownload = func(r *http.Request) int {
		if gone && strings.HasSuffix(r.URL.Path, "/relkit-index/manifest.json") {
			gone = false // the publisher has uploaded the new one
			return http.StatusNotFound
		}
		return 0
	}
	res, err := f.installer(f.config("github:"+gh.URL+"/example/hello", t.TempDir())).Install(context.Background(), manifest.Query{})
	if err != nil || res.Version != "1.0.0" {
		t.Fatalf("install while manifest.json is replaced: %+v %v", res, err)
	}
	n := 0
	for _, r := range gh.Requests() {
		if r == "GET /example/hello/releases/download/relkit-index/manifest.json" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("manifest.json read %d times, want 2 (one retry): %v", n, gh.Requests())
	}
}

func TestForgeConfig(t *testing.T) {
	f := newFixture(t, "hello")
	for _, c := range []struct{ source, token, want string }{
		{"github:acme", "", "Source"},
		{"https://releases.example.com/hello/", "tok", "ForgeToken"},
	} {
		cfg := f.config(c.source, t.TempDir())
		cfg.Network.ForgeToken = c.token
		var ce *ConfigError
		if _, err := New(cfg); !errors.As(err, &ce) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Source %q, ForgeToken %q: %v", c.source, c.token, err)
		}
	}
}

// TestForgeRootRotation: with only a root key pinned, the installer
// follows the root chain and keys.json in the index release
// (root/<n>.json is the asset root.<n>.json, the root signatures.json is
// root.signatures.json), and refuses keys.json by the rotated-out root.
func TestForgeRootRotation(t *testing.T) {
	ctx := context.Background()
	gen := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	r1, r2 := gen(), gen()
	pinned := &verify.KeyRing{}
	pinned.Add(&r1.PublicKey)
	f := newFixture(t, "hello")
	signing := f.key
	f.release("1.0.0")
	f.signRoot("hello", []*ecdsa.PrivateKey{r1}, []*ecdsa.PrivateKey{signing}) // keys.json signed in signatures.json
	gh := githubtest.NewServer(t)
	f.toForge(gh, "hello")
	dir := t.TempDir()
	cfg := f.config("github:"+gh.URL+"/example/hello", dir)
	cfg.Trust = &verify.Trust{Roots: pinned}
	if res, err := f.installer(cfg).Install(ctx, manifest.Query{}); err != nil || res.Version != "1.0.0" {
		t.Fatalf("install with a pinned root: %+v %v", res, err)
	}
	if n := webRequests(gh, 0, "GET /example/hello/releases/download/relkit-index/root.signatures.json"); n == 0 {
		t.Errorf("keys.json's root signatures were not read from root.signatures.json: %v", gh.Requests())
	}

	// The root rotates to R2 (R1 revoked); keys.json is signed by R2.
	f.writeRoot(2, 1, []*ecdsa.PrivateKey{r2}, []*ecdsa.PrivateKey{r1}, []*ecdsa.PrivateKey{r1, r2})
	f.release("1.1.0")
	f.writeKeyBundle(r2, 2, []*ecdsa.PrivateKey{signing})
	f.toForge(gh, "hello")
	before := len(gh.Requests())
	if res, err := f.installer(cfg).Install(ctx, manifest.Query{}); err != nil || res.Version != "1.1.0" {
		t.Fatalf("after the root rotation: %+v %v", res, err)
	}
	if webRequests(gh, before, "GET /example/hello/releases/download/relkit-index/root.2.json") != 1 ||
		webRequests(gh, before, "GET /example/hello/releases/download/relkit-index/root.3.json") != 1 {
		t.Errorf("the root chain was not walked in the index release: %v", gh.Requests()[before:])
	}

	// keys.json signed by the rotated-out R1 again: refused (R2 is the
	// root now, and the client remembers it).
	f.writeKeyBundle(r1, 3, []*ecdsa.PrivateKey{signing})
	f.toForge(gh, "hello")
	if _, err := f.installer(cfg).Check(ctx, manifest.Query{}); !errors.Is(err, ErrVerification) || !errors.Is(err, verify.ErrBadSignature) {
		t.Fatalf("keys.json by the rotated-out root: %v, want a refused signature", err)
	}
}
