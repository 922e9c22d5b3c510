package install

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/verify"
)

// TestTrustWithoutProjectChecksProject: a Config.Trust that names no
// Project must not let another project's validly signed release through;
// the installer compares the manifest's project with Config.Project
// whatever Trust it is given. Only Trust.UnsafeAnyProject turns that off.
func TestTrustWithoutProjectChecksProject(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "other") // a sibling project signed by the same key
	f.release("6.6.6")
	dir := t.TempDir()
	cfg := f.config(f.root, dir)
	cfg.Project = "hello"
	cfg.Trust = &verify.Trust{Keys: f.ring} // no Project
	before := snapshot(t, dir)
	for _, op := range []string{"Check", "Install"} {
		var err error
		if op == "Check" {
			_, err = f.installer(cfg).Check(ctx, manifest.Query{})
		} else {
			_, err = f.installer(cfg).Install(ctx, manifest.Query{})
		}
		var am *verify.ArtifactMismatchError
		if !errors.Is(err, ErrVerification) || !errors.As(err, &am) || am.Field != "project" {
			t.Fatalf("%s of another project's release with a Trust naming no project: %v, want a project *verify.ArtifactMismatchError", op, err)
		}
		if am.Want != "other" || am.Got != "hello" {
			t.Errorf("%s: mismatch %+v, want Want (the signed manifest's) \"other\", Got (ours) \"hello\"", op, am)
		}
	}
	if after := snapshot(t, dir); len(after) != len(before) {
		t.Fatalf("a refused install changed %s: %v", dir, after)
	}

	// The escape hatch says Unsafe.
	cfg.Trust = &verify.Trust{Keys: f.ring, UnsafeAnyProject: true}
	if _, err := f.installer(cfg).Check(ctx, manifest.Query{}); err != nil {
		t.Fatalf("UnsafeAnyProject: %v", err)
	}

	// A Trust bound to another project is a configuration error.
	cfg.Trust = &verify.Trust{Keys: f.ring, Project: "other"}
	var ce *ConfigError
	if _, err := New(cfg); !errors.As(err, &ce) {
		t.Fatalf("Trust for project other, Config.Project hello: %v, want *ConfigError", err)
	}
}

// TestTrustWithStatePersistsSerials: with a Config.Trust whose own State
// is in memory, the installer still records the manifest serial in its
// state file, so a rolled-back manifest is refused after a restart. Only
// Trust.UnsafeMemoryState turns that off.
func TestTrustWithStatePersistsSerials(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "hello")
	f.release("1.0.0")
	oldManifest := readFile(t, filepath.Join(f.root, "manifest.json"))
	oldSig := readFile(t, filepath.Join(f.root, "manifest.json.sig"))
	f.release("1.1.0")
	dir := t.TempDir()
	cfg := f.config(f.root, dir)
	newTrust := func() *verify.Trust { // a fresh process: nothing in memory
		return &verify.Trust{Keys: f.ring, State: verify.NewMemoryState()}
	}
	cfg.Trust = newTrust()
	if _, err := f.installer(cfg).Install(ctx, manifest.Query{}); err != nil {
		t.Fatal(err)
	}
	// The server goes back to the older, validly signed manifest; a new
	// process (a fresh Trust state, a fresh installer) must refuse it.
	f.write("manifest.json", []byte(oldManifest))
	f.write("manifest.json.sig", []byte(oldSig))
	cfg.Trust = newTrust()
	_, err := f.installer(cfg).Check(ctx, manifest.Query{})
	if !errors.Is(err, ErrVerification) || !errors.Is(err, verify.ErrRollback) {
		t.Fatalf("older manifest after a restart with a Trust of its own State: %v, want ErrRollback", err)
	}

	cfg.Trust = newTrust()
	cfg.Trust.UnsafeMemoryState = true
	if _, err := f.installer(cfg).Check(ctx, manifest.Query{}); err != nil {
		t.Fatalf("UnsafeMemoryState: %v", err)
	}
}

// TestProjectMismatchMessage: the refusal names our project as what we
// have and the signed manifest's as what it says, not the other way round.
func TestProjectMismatchMessage(t *testing.T) {
	f := newFixture(t, "hello")
	f.release("1.0.0")
	cfg := f.config(f.root, t.TempDir())
	cfg.Project = "Hello"
	cfg.Binaries = []string{"hello"}
	_, err := f.installer(cfg).Check(context.Background(), manifest.Query{})
	if !errors.Is(err, verify.ErrArtifactMismatch) {
		t.Fatalf("project Hello, manifest hello: %v", err)
	}
	if want := `project is "Hello", the signed manifest says "hello"`; !strings.Contains(err.Error(), want) {
		t.Errorf("message %q does not say %q", err, want)
	}
}
