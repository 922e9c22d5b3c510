package install

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/relkit/relkit/internal/testenv"
	"github.com/relkit/relkit/manifest"
)

// stampedBinary builds a tiny Go program in a git repository tagged tag,
// with VCS stamping, so that its build information states the tag.
func stampedBinary(t *testing.T, tag string) []byte {
	t.Helper()
	goBin := testenv.Tool(t, "go")
	testenv.Tool(t, "git")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/hello\n\ngo 1.26\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello "+tag[1:]+"\") }\n"), 0o644)
	env := append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir())
	for _, args := range [][]string{{"git", "init", "-q"}, {"git", "add", "."}, {"git", "commit", "-qm", "hello"}, {"git", "tag", tag}, {goBin, "build", "-buildvcs=true", "-trimpath", "-o", "hello", "."}} {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "hello"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCheckBuildVersion: with Config.CheckBuildVersion, a binary stamped
// v1.0.0 installs as release 1.0.0 and is refused, with a
// *BuildVersionError and nothing changed, when published as 1.1.0;
// without the option it installs.
func TestCheckBuildVersion(t *testing.T) {
	ctx := context.Background()
	bin := stampedBinary(t, "v1.0.0")
	f := newFixture(t, "hello")
	name := func(v string) string { return "hello-" + v + "-" + f.plat.OS + "-" + f.plat.Arch }
	f.publish("1.0.0", name("1.0.0"), bin)
	f.publish("1.1.0", name("1.1.0"), bin) // mislabelled
	srv := f.serve()
	dir := t.TempDir()
	cfg := f.config(srv.URL, dir)
	cfg.Health.CheckBuildVersion = true
	if _, err := f.installer(cfg).Install(ctx, manifest.Query{Version: "1.0.0"}); err != nil {
		t.Fatal(err)
	}
	_, err := f.installer(cfg).Install(ctx, manifest.Query{Version: "1.1.0"})
	var be *BuildVersionError
	if !errors.As(err, &be) || !errors.Is(err, ErrVerification) || be.Stamped != "v1.0.0" || be.Release != "1.1.0" || be.Module != "example.com/hello" {
		t.Fatalf("got %v, want a *BuildVersionError (v1.0.0 published as 1.1.0)", err)
	}
	t.Log(err)
	rec, err := ReadReceipt(dir, "hello")
	if err != nil || rec.Version != "1.0.0" {
		t.Fatalf("receipt after the refusal: %+v %v", rec, err)
	}
	if l := leftovers(t, dir); len(l) != 0 {
		t.Fatalf("leftover files: %v", l)
	}
	cfg.Health.CheckBuildVersion = false
	cfg.Health.Check = func(ctx context.Context, binary, version string) error { return nil } // it would say 1.0.0
	if _, err := f.installer(cfg).Install(ctx, manifest.Query{Version: "1.1.0"}); err != nil {
		t.Fatalf("without CheckBuildVersion: %v", err)
	}
}
