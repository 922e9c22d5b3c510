package release

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/internal/testenv"
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/sign"
	"github.com/relkit/relkit/verify"
)

// bareRepo is a bare git repository for a tap or bucket, at a local path.
func bareRepo(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tap.git")
	if out, err := exec.Command("git", "init", "-q", "--bare", "-b", "main", dir).CombinedOutput(); err != nil {
		t.Fatalf("git init --bare: %v %s", err, out)
	}
	return dir
}

// show returns a file of a repository's main branch.
func show(t *testing.T, repo, file string) string {
	t.Helper()
	out, err := exec.Command("git", "--git-dir", repo, "show", "main:"+file).CombinedOutput()
	if err != nil {
		t.Fatalf("git show main:%s: %v %s", file, err, out)
	}
	return string(out)
}

func head(t *testing.T, repo string) string {
	t.Helper()
	out, _ := exec.Command("git", "--git-dir", repo, "rev-parse", "--verify", "-q", "refs/heads/main").Output()
	return strings.TrimSpace(string(out))
}

// publishedRelease prepares release 1.2.0 for allTargets (fake binaries)
// and publishes it into a directory; it returns the published root, the
// trusted key and the staged state.
func publishedRelease(t *testing.T, taps *TapConfig) (string, []byte, *State) {
	t.Helper()
	signer, pub := newSigner(t)
	r := releaseRepo(t, "v1.2.0")
	cfg := Config{
		Project: "hello", Dist: t.TempDir(), Repo: r.dir, Version: "1.2.0",
		Prebuilt:   fakeBinaries(t),
		Repository: "git+https://github.com/example/hello",
		Signers:    []sign.Signer{signer},
		Taps:       taps,
		Logger:     testLogger(t),
	}
	st, err := Prepare(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	pubDir := t.TempDir()
	store, err := publish.NewDirStore(pubDir)
	if err != nil {
		t.Fatal(err)
	}
	pubr, err := publish.New(store)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Publish(t.Context(), PublishConfig{Root: st.Root, Publisher: pubr, Keys: [][]byte{pub}, Remote: verify.Dir(pubDir), Logger: testLogger(t)}); err != nil {
		t.Fatal(err)
	}
	return pubDir, pub, st
}

func tapConfig(pubDir string, pub []byte, brew, scoop string) TapConfig {
	return TapConfig{
		Project: "hello", BaseURL: "https://releases.example.com/hello", Remote: verify.Dir(pubDir), Keys: [][]byte{pub},
		Homebrew:    &TapRepo{URL: brew},
		Scoop:       &TapRepo{URL: scoop},
		Description: "Says hello.", Homepage: "https://example.com/hello", License: "MIT",
	}
}

// TestUpdateTaps: after the publish, UpdateTaps writes Casks/hello.rb and
// bucket/hello.json from the signed published manifest (every URL and
// SHA-256 the manifest's), commits and pushes them to the tap and bucket
// repositories (local paths); the cask passes `ruby -c` and has the
// stanzas Homebrew's Cask Cookbook requires, the Scoop manifest the
// fields Scoop's app manifest reference requires; a re-run changes
// nothing; and a version that was never published reaches no tap.
func TestUpdateTaps(t *testing.T) {
	ruby := testenv.Tool(t, "ruby")
	brew, scoop := bareRepo(t), bareRepo(t)
	pubDir, pub, st := publishedRelease(t, nil)
	c := tapConfig(pubDir, pub, brew, scoop)
	res, err := UpdateTaps(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != "1.2.0" || len(res.Updates) != 2 || !res.Updates[0].Changed || !res.Updates[1].Changed {
		t.Fatalf("result %+v", res)
	}
	m, err := manifest.LoadFile(filepath.Join(pubDir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := m.Release("1.2.0")
	art := func(os, arch string) manifest.Artifact {
		for _, a := range rel.Artifacts {
			if a.OS == os && a.Arch == arch && a.Kind == manifest.KindArchive {
				return a
			}
		}
		t.Fatalf("no %s/%s archive", os, arch)
		return manifest.Artifact{}
	}

	cask := show(t, brew, "Casks/hello.rb")
	t.Logf("Casks/hello.rb:\n%s", cask)
	caskFile := filepath.Join(t.TempDir(), "hello.rb")
	os.WriteFile(caskFile, []byte(cask), 0o644)
	if out, err := exec.Command(ruby, "-c", caskFile).CombinedOutput(); err != nil || !strings.Contains(string(out), "Syntax OK") {
		t.Fatalf("ruby -c: %v %s", err, out)
	}
	for _, want := range []string{`cask "hello" do`, `version "1.2.0"`, `name "hello"`, `desc "Says hello."`,
		`homepage "https://example.com/hello"`, `binary "hello"`, "on_macos do", "on_linux do", "on_arm do", "on_intel do"} {
		if !strings.Contains(cask, want) {
			t.Errorf("cask lacks %q", want)
		}
	}
	for _, p := range [][2]string{{"darwin", "arm64"}, {"linux", "amd64"}, {"linux", "arm64"}} {
		a := art(p[0], p[1])
		if !strings.Contains(cask, `sha256 "`+a.SHA256+`"`+"\n      url \"https://releases.example.com/hello/"+a.Path+`"`) {
			t.Errorf("cask lacks the url and sha256 of %s", a.Name)
		}
	}

	var sm map[string]any
	if err := json.Unmarshal([]byte(show(t, scoop, "bucket/hello.json")), &sm); err != nil {
		t.Fatal(err)
	}
	win := art("windows", "amd64")
	a64, _ := sm["architecture"].(map[string]any)["64bit"].(map[string]any)
	if sm["version"] != "1.2.0" || sm["description"] != "Says hello." || sm["homepage"] != "https://example.com/hello" ||
		sm["license"] != "MIT" || sm["bin"] != "hello.exe" ||
		a64["url"] != "https://releases.example.com/hello/"+win.Path || a64["hash"] != win.SHA256 {
		t.Errorf("scoop manifest %v", sm)
	}

	// A re-run changes nothing.
	heads := [2]string{head(t, brew), head(t, scoop)}
	res, err = UpdateTaps(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	if res.Updates[0].Changed || res.Updates[1].Changed || head(t, brew) != heads[0] || head(t, scoop) != heads[1] {
		t.Errorf("a re-run changed the taps: %+v", res)
	}

	// A version the published manifest lacks (prepared, never
	// published) reaches no tap.
	c.Version = "1.3.0"
	if _, err := UpdateTaps(t.Context(), c); !errors.Is(err, manifest.ErrNotFound) {
		t.Errorf("an unpublished version: got %v, want ErrNotFound", err)
	}
	if head(t, brew) != heads[0] || head(t, scoop) != heads[1] {
		t.Error("an unpublished version changed a tap")
	}
	// A manifest signed by another key reaches no tap either.
	_, other := newSigner(t)
	c.Version, c.Keys = "", [][]byte{other}
	if _, err := UpdateTaps(t.Context(), c); !errors.Is(err, verify.ErrBadSignature) {
		t.Errorf("a manifest not signed by the trusted key: got %v, want ErrBadSignature", err)
	}
	_ = st
}

// TestTapsCheckedBeforeBuild: a tap repository that cannot be cloned or
// pushed to fails Prepare with a *TapError before anything is built, and
// a configuration missing what Homebrew and Scoop require is a
// *ConfigError from Config.Pipeline.
func TestTapsCheckedBeforeBuild(t *testing.T) {
	testenv.Tool(t, "git")
	dist := t.TempDir()
	c := tapConfig("", []byte("unused"), filepath.Join(t.TempDir(), "no-such-tap.git"), bareRepo(t))
	signer, _ := newSigner(t)
	cfg := Config{Project: "hello", Dist: dist, Repo: releaseRepo(t, "v1.2.0").dir, Version: "1.2.0", Prebuilt: fakeBinaries(t), Taps: &c, Logger: testLogger(t),
		Repository: "git+https://example.com/hello", Signers: []sign.Signer{signer}} // valid but for the taps
	_, err := Prepare(t.Context(), cfg)
	var te *TapError
	var se *StageError
	if !errors.As(err, &te) || !errors.As(err, &se) || se.Stage != "tap-check" {
		t.Fatalf("got %v, want a *TapError from the tap-check stage", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(dist, "release")); len(entries) != 0 {
		t.Errorf("something was staged: %v", entries)
	}
	bad := c
	bad.Description = ""
	if _, _, err := (Config{Project: "hello", Prebuilt: fakeBinaries(t), Taps: &bad}).Pipeline(); !errors.As(err, new(*ConfigError)) {
		t.Errorf("no description: got %v, want a *ConfigError", err)
	}
	bad = c
	bad.BaseURL = "http://releases.example.com"
	if _, _, err := (Config{Project: "hello", Prebuilt: fakeBinaries(t), Taps: &bad}).Pipeline(); !errors.As(err, new(*ConfigError)) {
		t.Errorf("plain http base URL: got %v, want a *ConfigError", err)
	}
	// Both repositories usable: the check passes and pushes nothing.
	good := tapConfig("", []byte("unused"), bareRepo(t), bareRepo(t))
	if err := good.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	if h := head(t, good.Homebrew.URL); h != "" {
		t.Errorf("Check pushed %s", h)
	}
}
