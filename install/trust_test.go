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

// TestCustomVerifierChecksProject: a ready Config.Verifier built without
// WithProject must not let another project's validly signed release
// through; the installer compares the manifest's project with
// Config.Project whatever verifier it is given. Only
// Config.UnsafeSkipProjectCheck turns that off.
func TestCustomVerifierChecksProject(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "other") // a sibling project signed by the same key
	f.release("6.6.6")
	dir := t.TempDir()
	v, err := verify.NewVerifier(f.ring) // no WithProject
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.config(f.root, dir)
	cfg.Project = "hello"
	cfg.Keys = nil
	cfg.Verifier = v
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
			t.Fatalf("%s of another project's release with a custom verifier: %v, want a project *verify.ArtifactMismatchError", op, err)
		}
		if am.Want != "other" || am.Got != "hello" {
			t.Errorf("%s: mismatch %+v, want Want (the signed manifest's) \"other\", Got (ours) \"hello\"", op, am)
		}
	}
	if after := snapshot(t, dir); len(after) != len(before) {
		t.Fatalf("a refused install changed %s: %v", dir, after)
	}

	// The escape hatch says Unsafe.
	cfg.UnsafeSkipProjectCheck = true
	if _, err := f.installer(cfg).Check(ctx, manifest.Query{}); err != nil {
		t.Fatalf("UnsafeSkipProjectCheck: %v", err)
	}

	// A custom verifier bound to another project is a configuration error.
	cfg.UnsafeSkipProjectCheck = false
	if cfg.Verifier, err = verify.NewVerifier(f.ring, verify.WithProject("other")); err != nil {
		t.Fatal(err)
	}
	var ce *ConfigError
	if _, err := New(cfg); !errors.As(err, &ce) {
		t.Fatalf("Verifier for project other, Config.Project hello: %v, want *ConfigError", err)
	}
}

// TestCustomVerifierPersistsSerials: with a ready Config.Verifier (whose
// own State is the in-memory default), the installer still records the
// manifest serial in its state file, so a rolled-back manifest is refused
// after a restart. Only Config.UnsafeNoPersistentState turns that off.
func TestCustomVerifierPersistsSerials(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "hello")
	f.release("1.0.0")
	oldManifest := readFile(t, filepath.Join(f.root, "manifest.json"))
	oldSig := readFile(t, filepath.Join(f.root, "manifest.json.sig"))
	f.release("1.1.0")
	dir := t.TempDir()
	cfg := f.config(f.root, dir)
	cfg.Keys = nil
	newVerifier := func() *verify.Verifier {
		v, err := verify.NewVerifier(f.ring) // in-memory State
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cfg.Verifier = newVerifier()
	if _, err := f.installer(cfg).Install(ctx, manifest.Query{}); err != nil {
		t.Fatal(err)
	}
	// The server goes back to the older, validly signed manifest; a new
	// process (a fresh verifier, a fresh installer) must refuse it.
	f.write("manifest.json", []byte(oldManifest))
	f.write("manifest.json.sig", []byte(oldSig))
	cfg.Verifier = newVerifier()
	_, err := f.installer(cfg).Check(ctx, manifest.Query{})
	if !errors.Is(err, ErrVerification) || !errors.Is(err, verify.ErrRollback) {
		t.Fatalf("older manifest after a restart with a custom verifier: %v, want ErrRollback", err)
	}

	cfg.Verifier = newVerifier()
	cfg.UnsafeNoPersistentState = true
	if _, err := f.installer(cfg).Check(ctx, manifest.Query{}); err != nil {
		t.Fatalf("UnsafeNoPersistentState: %v", err)
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
