package install

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/manifest"
)

// TestDevBuildCanCheck: a development build reports a version such as
// "dev", which is not a release version. The installer treats it as
// unknown, with a warning, instead of refusing to be built (issue 16: a
// dev build's `update --check` used to fail every time).
func TestDevBuildCanCheck(t *testing.T) {
	f := newFixture(t, "hello")
	f.release("1.0.0")
	srv := f.serve()
	for _, dev := range []string{"dev", "(devel)", "v0.0.0-unknown", ""} {
		cfg := f.config(srv.URL+"/", t.TempDir())
		cfg.CurrentVersion = dev
		in, err := New(cfg)
		if err != nil {
			t.Fatalf("CurrentVersion %q: %v", dev, err)
		}
		u, err := in.Check(context.Background(), manifest.Query{})
		if err != nil {
			t.Fatalf("CurrentVersion %q: Check: %v", dev, err)
		}
		if dev == "dev" || dev == "(devel)" {
			if u.Installed != "" || !u.Available || !hasWarning(u.Warnings, dev) {
				t.Errorf("CurrentVersion %q: installed %q, available %v, warnings %q", dev, u.Installed, u.Available, u.Warnings)
			}
		}
	}
}

func hasWarning(ws []string, sub string) bool {
	for _, w := range ws {
		if strings.Contains(w, sub) {
			return true
		}
	}
	return false
}

// TestMissingDirSaysCreateIt: installing into a directory that does not
// exist says to create it, rather than suggesting sudo.
func TestMissingDirSaysCreateIt(t *testing.T) {
	f := newFixture(t, "hello")
	f.release("1.0.0")
	srv := f.serve()
	dir := filepath.Join(t.TempDir(), "bin")
	_, err := f.installer(f.config(srv.URL+"/", dir)).Install(context.Background(), manifest.Query{})
	var nw *NotWritableError
	if !errors.As(err, &nw) || !strings.Contains(err.Error(), "mkdir -p") || strings.Contains(err.Error(), "sudo") {
		t.Fatalf("install into a missing directory: %v", err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("the directory was created")
	}
}

// TestRenamedSelfUpdaterRefused: a self-updater renamed from hello to hi
// used to install "hello" beside itself and report the update, while hi
// stayed at its version forever. With Binaries left at its default, New
// now refuses, naming both.
func TestRenamedSelfUpdaterRefused(t *testing.T) {
	f := newFixture(t, "hello")
	dir := t.TempDir()
	hi := filepath.Join(dir, "hi")
	if err := os.WriteFile(hi, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	old := executable
	executable = func() (string, error) { return hi, nil }
	defer func() { executable = old }()
	_, err := New(f.config("http://127.0.0.1:1/", dir))
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "hi") || !strings.Contains(err.Error(), "hello") {
		t.Fatalf("renamed self-updater: %v, want a *ConfigError naming hi and hello", err)
	}
	// Binaries set explicitly, or the project's binary present: allowed.
	if err := os.WriteFile(filepath.Join(dir, "hello"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := New(f.config("http://127.0.0.1:1/", dir)); err != nil {
		t.Fatalf("with hello beside hi: %v", err)
	}
}
