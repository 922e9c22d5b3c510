package release

import (
	"debug/buildinfo"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/manifest"
)

func TestBuildCrossCompiles(t *testing.T) {
	bins := sharedBinaries(t)
	if len(bins) != len(allTargets) {
		t.Fatalf("built %d binaries, want %d", len(bins), len(allTargets))
	}
	for _, b := range bins {
		info, err := buildinfo.ReadFile(b.Path)
		if err != nil {
			t.Fatalf("%s: %v", b.Path, err)
		}
		settings := map[string]string{}
		for _, s := range info.Settings {
			settings[s.Key] = s.Value
		}
		if settings["GOOS"] != b.Platform.OS || settings["GOARCH"] != b.Platform.Arch {
			t.Errorf("%s: built for %s/%s, want %s", b.Name, settings["GOOS"], settings["GOARCH"], b.Platform)
		}
		if settings["-trimpath"] != "true" || settings["CGO_ENABLED"] != "0" {
			t.Errorf("%s: settings %v: want -trimpath and CGO_ENABLED=0", b.Name, settings)
		}
		if want := "hello" + b.Platform.ExeSuffix(); b.Name != want {
			t.Errorf("name %q, want %q", b.Name, want)
		}
	}
}

func TestBuildInjectsVersion(t *testing.T) {
	for _, b := range sharedBinaries(t) {
		if b.Platform != (manifest.Platform{OS: "linux", Arch: "amd64"}) {
			continue
		}
		if out, err := exec.Command(b.Path).CombinedOutput(); err != nil {
			t.Skipf("cannot run linux/amd64 binary here: %v %s", err, out)
		}
		out, err := exec.Command(b.Path, "version").CombinedOutput()
		if err != nil {
			t.Fatal(err, string(out))
		}
		want := "hello 1.2.0 (commit " + testCommit + ", built 2026-11-20T12:00:00Z, canonical v1.2.0)"
		if strings.TrimSpace(string(out)) != want {
			t.Errorf("got %q\nwant %q", out, want)
		}
		return
	}
	t.Fatal("no linux/amd64 binary")
}

func TestBuildFailure(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/broken\n\ngo 1.26\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() { undefinedThing() }\n"), 0o644)
	st := &State{Project: "broken", Version: manifest.MustParseVersion("1.0.0"), Work: t.TempDir(), Log: testLogger(t)}
	b := &Build{Dir: dir, Targets: []manifest.Platform{{OS: "linux", Arch: "amd64"}}}
	err := b.Run(t.Context(), st)
	var be *BuildError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v, want *BuildError", err)
	}
	if !strings.Contains(be.Output, "undefinedThing") || be.Platform.OS != "linux" {
		t.Errorf("BuildError %+v does not name the problem", be)
	}
	if len(st.Binaries) != 0 {
		t.Errorf("binaries recorded after a failed build: %v", st.Binaries)
	}
}

func TestBuildConfigErrors(t *testing.T) {
	st := &State{Project: "x", Version: manifest.MustParseVersion("1.0.0"), Work: t.TempDir()}
	for _, b := range []*Build{
		{},
		{Targets: []manifest.Platform{{OS: "plan10", Arch: "amd64"}}},
		{Targets: []manifest.Platform{{OS: "linux", Arch: "amd64"}}, Mains: []Main{{Name: "a/b", Package: "."}}},
	} {
		var ce *ConfigError
		if err := b.Run(t.Context(), st); !errors.As(err, &ce) {
			t.Errorf("%+v: err = %v, want *ConfigError", b, err)
		}
	}
}

func TestPrebuilt(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "tool")
	os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755)
	st := &State{}
	p := &Prebuilt{Binaries: []Binary{{Path: bin, Platform: manifest.Platform{OS: "linux", Arch: "amd64"}}}}
	if err := p.Run(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	if len(st.Binaries) != 1 || st.Binaries[0].Name != "tool" {
		t.Errorf("binaries %+v", st.Binaries)
	}
	p = &Prebuilt{Binaries: []Binary{{Path: filepath.Join(dir, "missing"), Platform: manifest.Platform{OS: "linux", Arch: "amd64"}}}}
	if err := p.Run(t.Context(), st); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
}

func TestLDFlagsQuoting(t *testing.T) {
	st := &State{Version: manifest.MustParseVersion("1.0.0"), Commit: "abc"}
	b := &Build{Vars: LinkVars{Version: "main.version", Commit: "main.commit"}, LDFlags: []string{"-s"}}
	got := b.ldflags(st)
	want := "-buildid= -X=main.version=1.0.0 -X=main.commit=abc -s"
	if got != want {
		t.Errorf("ldflags %q, want %q", got, want)
	}
	if q := quoteFlag("-X=main.x=a b"); q != "'-X=main.x=a b'" {
		t.Errorf("quote %q", q)
	}
}

// A relative State.Work is relative to the caller's directory, not to
// Build.Dir where go build runs.
func TestBuildRelativeWork(t *testing.T) {
	pkgDir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	t.Chdir(tmp)
	st := &State{Project: "hello", Version: manifest.MustParseVersion("1.0.0"), Work: "work", Log: testLogger(t)}
	b := &Build{Dir: pkgDir, Mains: []Main{{Package: "./testdata/hello"}}, Targets: []manifest.Platform{{OS: "linux", Arch: "amd64"}}}
	if err := b.Run(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(tmp, "work", "linux_amd64", "hello")); err != nil {
		t.Fatalf("binary not under the caller's work dir: %v (recorded %s)", err, st.Binaries[0].Path)
	}
	if _, err := os.Stat(st.Binaries[0].Path); err != nil {
		t.Fatalf("recorded path %s: %v", st.Binaries[0].Path, err)
	}
}

func TestParseTargets(t *testing.T) {
	got, err := ParseTargets("linux/amd64, darwin/aarch64 windows_x86_64,linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	want := []manifest.Platform{{OS: "linux", Arch: "amd64"}, {OS: "darwin", Arch: "arm64"}, {OS: "windows", Arch: "amd64"}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	for _, bad := range []string{"", " , ", "plan9000/amd64", "linux"} {
		if _, err := ParseTargets(bad); err == nil {
			t.Errorf("ParseTargets(%q) accepted", bad)
		}
	}
	if len(DefaultTargets()) != 4 {
		t.Error("DefaultTargets")
	}
}
