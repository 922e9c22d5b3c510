package examples_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/internal/testenv"
	"github.com/relkit/relkit/manifest"
)

// TestReleaseDistribution: examples/release with --formats, --packages and
// a Homebrew tap and Scoop bucket (bare git repositories) publishes
// .tar.gz, .tar.xz, .tar.zst, zip, deb, rpm and apk, every one in the
// signed manifest, then writes the cask and the Scoop manifest into the
// repositories; a tap that does not exist fails the release before the
// build, and missing package metadata too.
func TestReleaseDistribution(t *testing.T) {
	testenv.Tool(t, "git")
	kdir, env := keys(t)
	src, pub := project(t), t.TempDir()
	key := filepath.Join(kdir, "cosign.key")
	bare := func() string {
		d := filepath.Join(t.TempDir(), "tap.git")
		if out, err := exec.Command("git", "init", "-q", "--bare", "-b", "main", d).CombinedOutput(); err != nil {
			t.Fatalf("git init: %v %s", err, out)
		}
		return d
	}
	brew, scoop := bare(), bare()
	args := []string{"--project", "hello", "--version", "1.0.0", "--key", key, "--targets", "linux/amd64,windows/amd64",
		"--to", "dir:" + pub, "--dist", filepath.Join(src, "dist"),
		"--formats", "tar.gz,tar.xz,tar.zst", "--packages", "deb,rpm,apk",
		"--maintainer", "Rel Kit <rel@example.com>", "--description", "Says hello.", "--license", "MIT", "--homepage", "https://example.com/hello",
		"--homebrew-tap", brew, "--scoop-bucket", scoop, "--base-url", "https://releases.example.com/hello"}
	// A missing tap, and missing package metadata, fail before the build.
	bad := append(append([]string(nil), args...), "--homebrew-tap", filepath.Join(t.TempDir(), "missing.git"))
	if out := run(t, src, env, false, "release", bad...); !strings.Contains(out, "tap") {
		t.Errorf("a missing tap:\n%s", out)
	}
	bad = append(append([]string(nil), args...), "--maintainer", "")
	if out := run(t, src, env, false, "release", bad...); !strings.Contains(out, "LinuxPackages.Maintainer") {
		t.Errorf("no maintainer:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(pub, "manifest.json")); err == nil {
		t.Fatal("a failed release published")
	}

	out := run(t, src, env, true, "release", args...)
	m, err := manifest.LoadFile(filepath.Join(pub, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := m.Release("1.0.0")
	var names []string
	for _, a := range rel.Artifacts {
		names = append(names, a.Name)
	}
	for _, want := range []string{"hello-1.0.0-linux-amd64.tar.gz", "hello-1.0.0-linux-amd64.tar.xz", "hello-1.0.0-linux-amd64.tar.zst",
		"hello-1.0.0-windows-amd64.zip", "hello_1.0.0_amd64.deb", "hello-1.0.0-1.x86_64.rpm", "hello_1.0.0_x86_64.apk", "provenance.intoto.jsonl"} {
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("the published release lacks %s: %v", want, names)
		}
	}
	for _, f := range []struct{ repo, file, want string }{
		{brew, "Casks/hello.rb", `url "https://releases.example.com/hello/1.0.0/hello-1.0.0-linux-amd64.tar.gz"`},
		{scoop, "bucket/hello.json", `"url": "https://releases.example.com/hello/1.0.0/hello-1.0.0-windows-amd64.zip"`},
	} {
		b, err := exec.Command("git", "--git-dir", f.repo, "show", "main:"+f.file).CombinedOutput()
		if err != nil || !strings.Contains(string(b), f.want) {
			t.Errorf("%s: %v\n%s", f.file, err, b)
		}
		if strings.HasSuffix(f.file, ".json") && !json.Valid(b) {
			t.Errorf("%s is not JSON", f.file)
		}
	}
	if !strings.Contains(out, "Casks/hello.rb (changed true)") || !strings.Contains(out, "bucket/hello.json (changed true)") {
		t.Errorf("release printed:\n%s", out)
	}
}
