package tap_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relkit/relkit/internal/testenv"
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish/github"
	"github.com/relkit/relkit/publish/github/githubtest"
	"github.com/relkit/relkit/release/tap"
	"github.com/relkit/relkit/sign"
	"github.com/relkit/relkit/verify"
)

func newSigner(t *testing.T) (sign.Signer, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sign.NewSigner(key, "")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := verify.MarshalPublicKey(s.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	return s, pub
}

// publishedRelease writes a published release root: a signed
// manifest.json listing release 1.2.0 of hello with an archive for
// darwin/arm64, linux/amd64, linux/arm64 and windows/amd64 (the files
// themselves are not needed: a tap names them by URL and SHA-256). It
// returns the root and the trusted key.
func publishedRelease(t *testing.T) (string, []byte) {
	t.Helper()
	signer, pub := newSigner(t)
	dir := t.TempDir()
	rel := manifest.Release{Version: "1.2.0", Tag: "v1.2.0", Date: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC), Commit: strings.Repeat("4f", 20)}
	for _, p := range []manifest.Platform{{OS: "darwin", Arch: "arm64"}, {OS: "linux", Arch: "amd64"}, {OS: "linux", Arch: "arm64"}, {OS: "windows", Arch: "amd64"}} {
		ext := ".tar.gz"
		if p.OS == "windows" {
			ext = ".zip"
		}
		name := "hello-1.2.0-" + p.OS + "-" + p.Arch + ext
		sum := sha256.Sum256([]byte(name))
		rel.Artifacts = append(rel.Artifacts, manifest.Artifact{Name: name, Path: "1.2.0/" + name, Kind: manifest.KindArchive,
			OS: p.OS, Arch: p.Arch, Size: 1000, SHA256: hex.EncodeToString(sum[:])})
	}
	m := manifest.New("hello")
	if _, err := m.Add(rel); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	m.Serial, m.Updated, m.Expires = 1, now, now.Add(90*24*time.Hour)
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, manifest.File), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := sign.SignFile(context.Background(), dir, manifest.File, signer); err != nil {
		t.Fatal(err)
	}
	return dir, pub
}

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

func tapConfig(pubDir string, pub []byte, brew, scoop string) tap.Config {
	return tap.Config{
		Project: "hello", BaseURL: "https://releases.example.com/hello", Remote: verify.Dir(pubDir), Keys: [][]byte{pub},
		Homebrew:    &tap.Repo{URL: brew},
		Scoop:       &tap.Repo{URL: scoop},
		Description: "Says hello.", Homepage: "https://example.com/hello", License: "MIT",
	}
}

// TestUpdate: after the publish, Update writes Casks/hello.rb and
// bucket/hello.json from the signed published manifest (every URL and
// SHA-256 the manifest's), commits and pushes them to the tap and bucket
// repositories (local paths); the cask passes `ruby -c` and has the
// stanzas Homebrew's Cask Cookbook requires, the Scoop manifest the
// fields Scoop's app manifest reference requires; a re-run changes
// nothing; and a version that was never published reaches no tap.
func TestUpdate(t *testing.T) {
	ruby := testenv.Tool(t, "ruby")
	brew, scoop := bareRepo(t), bareRepo(t)
	pubDir, pub := publishedRelease(t)
	c := tapConfig(pubDir, pub, brew, scoop)
	res, err := tap.Update(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != "1.2.0" || len(res.Updates) != 2 || !res.Updates[0].Changed || !res.Updates[1].Changed {
		t.Fatalf("result %+v", res)
	}
	m, err := manifest.LoadFile(filepath.Join(pubDir, manifest.File))
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
	res, err = tap.Update(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	if res.Updates[0].Changed || res.Updates[1].Changed || head(t, brew) != heads[0] || head(t, scoop) != heads[1] {
		t.Errorf("a re-run changed the taps: %+v", res)
	}

	// A version the published manifest lacks reaches no tap.
	c.Version = "1.3.0"
	if _, err := tap.Update(t.Context(), c); !errors.Is(err, manifest.ErrNotFound) {
		t.Errorf("an unpublished version: got %v, want ErrNotFound", err)
	}
	if head(t, brew) != heads[0] || head(t, scoop) != heads[1] {
		t.Error("an unpublished version changed a tap")
	}
	// A manifest signed by another key reaches no tap either.
	_, other := newSigner(t)
	c.Version, c.Keys = "", [][]byte{other}
	if _, err := tap.Update(t.Context(), c); !errors.Is(err, verify.ErrBadSignature) {
		t.Errorf("a manifest not signed by the trusted key: got %v, want ErrBadSignature", err)
	}
}

// TestUpdateThroughGitHubContents: the tap and the bucket live on
// GitHub and are written through the contents API (github.Contents), one
// commit per changed file; a re-run changes nothing; a file changed by
// someone else meanwhile is read again and written; a repository the
// token cannot write is a *tap.Error.
func TestUpdateThroughGitHubContents(t *testing.T) {
	srv := githubtest.NewServer(t)
	pubDir, pub := publishedRelease(t)
	writer := func(repo string) *github.Contents {
		c, err := github.NewContents("example", repo, "", github.WithToken(githubtest.Token), github.WithBaseURL(srv.URL))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := tapConfig(pubDir, pub, "", "")
	c.Homebrew = &tap.Repo{URL: "https://github.com/example/homebrew-tap", Writer: writer("homebrew-tap")}
	c.Scoop = &tap.Repo{URL: "https://github.com/example/scoop-bucket", Writer: writer("scoop-bucket")}
	res, err := tap.Update(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Updates) != 2 || !res.Updates[0].Changed || !res.Updates[1].Changed || res.Updates[0].Commit == "" {
		t.Fatalf("first run: %+v", res.Updates)
	}
	cask, ok := srv.File("example", "homebrew-tap", "Casks/hello.rb")
	if !ok || !strings.Contains(string(cask), `version "1.2.0"`) {
		t.Fatalf("cask on GitHub: %q", cask)
	}
	if _, ok := srv.File("example", "scoop-bucket", "bucket/hello.json"); !ok {
		t.Fatal("no Scoop manifest on GitHub")
	}
	// A re-run makes no commit.
	before := srv.Commits("example", "homebrew-tap") + srv.Commits("example", "scoop-bucket")
	res, err = tap.Update(t.Context(), c)
	if err != nil || res.Updates[0].Changed || res.Updates[1].Changed {
		t.Fatalf("re-run: %+v, %v", res, err)
	}
	if after := srv.Commits("example", "homebrew-tap") + srv.Commits("example", "scoop-bucket"); after != before {
		t.Errorf("the re-run made %d commits", after-before)
	}
	// Somebody edits the cask on GitHub: the next run writes it back.
	if _, _, err := writer("homebrew-tap").WriteFile(t.Context(), "Casks/hello.rb", []byte("# edited\n"), "edit"); err != nil {
		t.Fatal(err)
	}
	if res, err = tap.Update(t.Context(), c); err != nil || !res.Updates[0].Changed {
		t.Fatalf("after an edit: %+v, %v", res, err)
	}
	// A token that cannot write.
	srv.Fail = func(r *http.Request) (int, int) {
		if r.Method == http.MethodPut {
			return http.StatusForbidden, 0
		}
		return 0, 0
	}
	if _, _, err := writer("other").WriteFile(t.Context(), "x", []byte("x"), "x"); err == nil {
		t.Fatal("a refused write succeeded")
	}
	c2 := c
	c2.Homebrew = &tap.Repo{URL: "https://github.com/example/locked", Writer: writer("locked")}
	c2.Scoop = nil
	var te *tap.Error
	if _, err := tap.Update(t.Context(), c2); !errors.As(err, &te) {
		t.Fatalf("unwritable tap: %v, want *tap.Error", err)
	}
}

// TestCheck: a repository that cannot be cloned is an *Error, a
// configuration missing what Homebrew and Scoop require a *ConfigError
// naming the field; with both repositories usable the check passes and
// pushes nothing.
func TestCheck(t *testing.T) {
	testenv.Tool(t, "git")
	c := tapConfig("", []byte("unused"), filepath.Join(t.TempDir(), "no-such-tap.git"), bareRepo(t))
	var te *tap.Error
	if err := c.Check(t.Context()); !errors.As(err, &te) || te.Op != "clone" {
		t.Errorf("a missing tap: %v, want a *tap.Error from clone", err)
	}
	for field, edit := range map[string]func(c *tap.Config){
		"Description":     func(c *tap.Config) { c.Description = " " },
		"Homepage":        func(c *tap.Config) { c.Homepage = "" },
		"BaseURL":         func(c *tap.Config) { c.BaseURL = "http://releases.example.com" },
		"Keys":            func(c *tap.Config) { c.Keys = nil },
		"Project":         func(c *tap.Config) { c.Project = "" },
		"Homebrew, Scoop": func(c *tap.Config) { c.Homebrew, c.Scoop = nil, nil },
		"Homebrew.Token":  func(c *tap.Config) { c.Homebrew.Token = "Hello World" },
		"Scoop.Dir":       func(c *tap.Config) { c.Scoop.Dir = "../bucket" },
		"Binaries":        func(c *tap.Config) { c.Binaries = []string{"bin/hello"} },
	} {
		bad := tapConfig("", []byte("unused"), "brew.git", "scoop.git")
		edit(&bad)
		var ce *tap.ConfigError
		if err := bad.Validate(); !errors.As(err, &ce) || ce.Field != field {
			t.Errorf("%s: Validate: %v, want a *tap.ConfigError for it", field, err)
		}
		if err := bad.Check(t.Context()); !errors.As(err, &ce) {
			t.Errorf("%s: Check: %v, want a *tap.ConfigError", field, err)
		}
	}
	good := tapConfig("", []byte("unused"), bareRepo(t), bareRepo(t))
	if err := good.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	if h := head(t, good.Homebrew.URL); h != "" {
		t.Errorf("Check pushed %s", h)
	}
}

// ExampleUpdate updates a Homebrew tap and a Scoop bucket after the
// release is published: both files come from the signed manifest the
// destination serves, and a re-run changes nothing.
func ExampleUpdate() {
	pub, _ := os.ReadFile("cosign.pub")
	res, err := tap.Update(context.Background(), tap.Config{
		Project: "hello", BaseURL: "https://releases.example.com/hello", Keys: [][]byte{pub},
		Homebrew:    &tap.Repo{URL: "git@github.com:example/homebrew-tap.git"},
		Scoop:       &tap.Repo{URL: "git@github.com:example/scoop-bucket.git"},
		Description: "Says hello.", Homepage: "https://example.com/hello", License: "MIT",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, u := range res.Updates {
		fmt.Println(u.File, u.Changed)
	}
}
