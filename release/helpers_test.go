package release

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/relkit/relkit/manifest"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// testRepo is a throwaway git repository in t.TempDir().
type testRepo struct {
	t   testing.TB
	dir string
	env []string
}

func newRepo(t testing.TB) *testRepo {
	t.Helper()
	r := &testRepo{t: t, dir: t.TempDir(), env: []string{
		"GIT_AUTHOR_NAME=Rel Kit", "GIT_AUTHOR_EMAIL=rel@example.com",
		"GIT_COMMITTER_NAME=Rel Kit", "GIT_COMMITTER_EMAIL=rel@example.com",
		"GIT_AUTHOR_DATE=2026-11-20T12:00:00Z", "GIT_COMMITTER_DATE=2026-11-20T12:00:00Z",
		"GIT_CONFIG_NOSYSTEM=1", "HOME=" + t.TempDir(),
	}}
	r.git("init", "-q", "-b", "main")
	return r
}

func (r *testRepo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), r.env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return strings.TrimSpace(out.String())
}

func (r *testRepo) write(name, content string) {
	r.t.Helper()
	p := filepath.Join(r.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

func (r *testRepo) commit(msg string) string {
	r.t.Helper()
	r.git("add", "-A")
	r.git("commit", "-q", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// allTargets are the platforms the end-to-end tests build for.
var allTargets = []manifest.Platform{
	{OS: "darwin", Arch: "arm64"}, {OS: "linux", Arch: "amd64"},
	{OS: "linux", Arch: "arm64"}, {OS: "windows", Arch: "amd64"},
}

const (
	testCommit = "4f9c2e0000000000000000000000000000000001"
)

var testDate = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// shared holds the test program built once per test binary for
// allTargets: builds are the expensive part on a 2-core machine.
var shared struct {
	once sync.Once
	dir  string
	bins []Binary
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// testBuild is the Build stage the shared build and the end-to-end tests use.
func testBuild() *Build {
	return &Build{
		Mains:   []Main{{Package: "./testdata/hello"}},
		Targets: allTargets,
		Vars:    LinkVars{Version: "main.version", Commit: "main.commit", Date: "main.date"},
	}
}

// sharedBinaries returns the test program built for allTargets at version
// 1.2.0. Callers must not modify the files.
func sharedBinaries(t testing.TB) []Binary {
	t.Helper()
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "relkit-release-build-")
		if shared.err != nil {
			return
		}
		st := &State{Project: "hello", Version: manifest.MustParseVersion("1.2.0"), Commit: testCommit, Date: testDate, Work: shared.dir}
		shared.err = testBuild().Run(context.Background(), st)
		shared.bins = st.Binaries
	})
	if shared.err != nil {
		t.Fatalf("shared build: %v", shared.err)
	}
	return slices.Clone(shared.bins)
}

// stagedState returns a state at version 1.2.0 with the shared binaries
// and a fresh staging root.
func stagedState(t testing.TB) *State {
	t.Helper()
	st := emptyState(t)
	st.Binaries = sharedBinaries(t)
	return st
}

func emptyState(t testing.TB) *State {
	return &State{
		Project: "hello", Version: manifest.MustParseVersion("1.2.0"), Tag: "v1.2.0",
		Commit: testCommit, Date: testDate, Root: t.TempDir(), Work: t.TempDir(), Log: testLogger(t),
	}
}

func testVersion() manifest.Version { return manifest.MustParseVersion("1.2.0") }

// fakeBinaries returns small stand-in executables (not Go programs) for
// allTargets, for tests where the bytes of the binaries do not matter:
// packaging 4 real binaries dozens of times is what makes the race run slow.
func fakeBinaries(t testing.TB) []Binary {
	t.Helper()
	dir := t.TempDir()
	var bins []Binary
	for _, p := range allTargets {
		name := "hello" + p.ExeSuffix()
		path := filepath.Join(dir, p.OS+"_"+p.Arch, name)
		os.MkdirAll(filepath.Dir(path), 0o755)
		content := bytes.Repeat([]byte("#!/bin/sh\necho hello "+p.String()+"\n"), 512)
		if err := os.WriteFile(path, content, 0o755); err != nil {
			t.Fatal(err)
		}
		bins = append(bins, Binary{Name: name, Path: path, Platform: p})
	}
	return bins
}

// lightState is stagedState with fakeBinaries.
func lightState(t testing.TB) *State {
	t.Helper()
	st := emptyState(t)
	st.Binaries = fakeBinaries(t)
	return st
}

// onlyPlatform keeps the binaries for one platform.
func onlyPlatform(bins []Binary, p manifest.Platform) []Binary {
	var out []Binary
	for _, b := range bins {
		if b.Platform == p {
			out = append(out, b)
		}
	}
	return out
}
