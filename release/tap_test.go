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
	"github.com/relkit/relkit/release/tap"
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
func publishedRelease(t *testing.T, taps *tap.Config) (string, []byte, *State) {
	t.Helper()
	signer, pub := newSigner(t)
	r := releaseRepo(t, "v1.2.0")
	cfg := Config{
		Project: "hello", Dist: t.TempDir(), Repo: r.dir, Version: "1.2.0",
		Prebuilt:  fakeBinaries(t),
		SourceURI: "git+https://github.com/example/hello",
		Signers:   []sign.Signer{signer},
		Taps:      taps,
		Logger:    testLogger(t),
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

func tapConfig(pubDir string, pub []byte, brew, scoop string) tap.Config {
	return tap.Config{
		Project: "hello", BaseURL: "https://releases.example.com/hello", Remote: verify.Dir(pubDir), Keys: [][]byte{pub},
		Homebrew:    &tap.Repo{URL: brew},
		Scoop:       &tap.Repo{URL: scoop},
		Description: "Says hello.", Homepage: "https://example.com/hello", License: "MIT",
	}
}

// TestTapsCheckedBeforeBuild: a tap repository that cannot be cloned or
// pushed to fails Prepare with a *tap.Error before anything is built, and
// a configuration missing what Homebrew and Scoop require is a
// *ConfigError from Config.Pipeline naming the Config field.
func TestTapsCheckedBeforeBuild(t *testing.T) {
	testenv.Tool(t, "git")
	dist := t.TempDir()
	c := tapConfig("", []byte("unused"), filepath.Join(t.TempDir(), "no-such-tap.git"), bareRepo(t))
	signer, _ := newSigner(t)
	cfg := Config{Project: "hello", Dist: dist, Repo: releaseRepo(t, "v1.2.0").dir, Version: "1.2.0", Prebuilt: fakeBinaries(t), Taps: &c, Logger: testLogger(t),
		SourceURI: "git+https://example.com/hello", Signers: []sign.Signer{signer}} // valid but for the taps
	_, err := Prepare(t.Context(), cfg)
	var te *tap.Error
	var se *StageError
	if !errors.As(err, &te) || !errors.As(err, &se) || se.Stage != "tap-check" {
		t.Fatalf("got %v, want a *tap.Error from the tap-check stage", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(dist, "release")); len(entries) != 0 {
		t.Errorf("something was staged: %v", entries)
	}
	bad := c
	bad.Description = ""
	var ce *ConfigError
	if _, _, err := (Config{Project: "hello", Prebuilt: fakeBinaries(t), Taps: &bad}).Pipeline(); !errors.As(err, &ce) || ce.Field != "Taps.Description" {
		t.Errorf("no description: got %v, want a *ConfigError for Taps.Description", err)
	}
	bad = c
	bad.BaseURL = "http://releases.example.com"
	if _, _, err := (Config{Project: "hello", Prebuilt: fakeBinaries(t), Taps: &bad}).Pipeline(); !errors.As(err, &ce) || ce.Field != "Taps.BaseURL" {
		t.Errorf("plain http base URL: got %v, want a *ConfigError for Taps.BaseURL", err)
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

// TestTapStage: appended to a publish's stages, the taps stage writes the
// cask and the Scoop manifest of the state's version from the published
// manifest; a snapshot skips it; a version that was staged but not
// published reaches no tap.
func TestTapStage(t *testing.T) {
	testenv.Tool(t, "git")
	brew, scoop := bareRepo(t), bareRepo(t)
	pubDir, pub, st := publishedRelease(t, nil)
	c := tapConfig(pubDir, pub, brew, scoop)
	c.Project = "" // the state's
	stage := &TapStage{Config: c}
	snap := *st
	if err := (&Pipeline{Stages: []Stage{stage}, Snapshot: true}).Run(t.Context(), &snap); err != nil || head(t, brew) != "" {
		t.Fatalf("snapshot: %v, tap head %q", err, head(t, brew))
	}
	if err := (&Pipeline{Stages: []Stage{stage}, Logger: testLogger(t)}).Run(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	if cask := show(t, brew, "Casks/hello.rb"); !strings.Contains(cask, `version "1.2.0"`) {
		t.Errorf("cask:\n%s", cask)
	}
	var sm map[string]any
	if err := json.Unmarshal([]byte(show(t, scoop, "bucket/hello.json")), &sm); err != nil || sm["version"] != "1.2.0" {
		t.Errorf("scoop manifest %v, %v", sm, err)
	}
	heads := [2]string{head(t, brew), head(t, scoop)}
	st.Version = manifest.MustParseVersion("1.3.0")
	if err := (&Pipeline{Stages: []Stage{stage}, Logger: testLogger(t)}).Run(t.Context(), st); !errors.Is(err, manifest.ErrNotFound) {
		t.Errorf("an unpublished version: %v, want ErrNotFound", err)
	}
	if head(t, brew) != heads[0] || head(t, scoop) != heads[1] {
		t.Error("an unpublished version changed a tap")
	}
}
