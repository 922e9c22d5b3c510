package release

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/release/installsh"
	"github.com/relkit/relkit/sign"
)

// The script itself (what it checks, under which shells) is tested in
// package release/installsh; these tests cover the two stages.

// TestInstallScriptStageDrift: an installer rendered with another key
// stops the release at the drift check, before the manifest is written.
func TestInstallScriptStageDrift(t *testing.T) {
	signer, _ := newSigner(t)
	other, _ := newSigner(t)
	st := lightState(t)
	p := &Pipeline{Logger: testLogger(t), Stages: []Stage{
		&Package{}, Checksums{}, &Sign{Signers: []sign.Signer{signer}},
		&InstallScriptStage{Script: installsh.Script{BaseURL: "https://example.com/hello", Key: other.PublicKey()}},
		&InstallerKeyCheck{Key: signer.PublicKey()},
		&UpdateManifest{},
	}}
	err := p.Run(t.Context(), st)
	var se *StageError
	var de *installsh.KeyDriftError
	if !errors.Is(err, installsh.ErrKeyDrift) || !errors.As(err, &de) || !errors.As(err, &se) || se.Stage != "installer-key" {
		t.Fatalf("err = %v, want a drift error from installer-key", err)
	}
	if _, err := os.Stat(filepath.Join(st.Root, manifest.File)); err == nil {
		t.Error("manifest written after a drift")
	}
	script, err := os.ReadFile(filepath.Join(st.Root, installsh.File))
	if err != nil {
		t.Fatal(err)
	}
	if err := installsh.CheckKey("install.sh", script, other.PublicKey()); err != nil {
		t.Errorf("the stage rendered the script with another key than Script.Key: %v", err)
	}
}

// TestInstallScriptStageNeedsKey: without a key, the installer and the
// drift check fail with ErrNoSigningKey, and the installer writes nothing.
func TestInstallScriptStageNeedsKey(t *testing.T) {
	st := lightState(t)
	if err := (&InstallScriptStage{Script: installsh.Script{BaseURL: "https://example.com/hello"}}).Run(t.Context(), st); !errors.Is(err, ErrNoSigningKey) {
		t.Errorf("installer: err = %v, want ErrNoSigningKey", err)
	}
	if _, err := os.Stat(filepath.Join(st.Root, installsh.File)); err == nil {
		t.Error("install.sh written without a key")
	}
	if err := (&InstallerKeyCheck{}).Run(t.Context(), st); !errors.Is(err, ErrNoSigningKey) {
		t.Errorf("installer-key: err = %v, want ErrNoSigningKey", err)
	}
}

// TestInstallScriptStageProject: Script.Project defaults to the release's
// project; a name the script cannot take is an *installsh.ConfigError.
func TestInstallScriptStageProject(t *testing.T) {
	signer, _ := newSigner(t)
	st := lightState(t)
	in := &InstallScriptStage{Script: installsh.Script{BaseURL: "https://example.com/hello", Key: signer.PublicKey()}}
	if err := in.Run(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	want, err := installsh.Script{Project: st.Project, BaseURL: "https://example.com/hello", Key: signer.PublicKey()}.Render()
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(st.Root, installsh.File)); string(got) != string(want) {
		t.Error("install.sh is not the script rendered for State.Project")
	}
	st.Project = "-rf"
	var ce *installsh.ConfigError
	if err := in.Run(t.Context(), st); !errors.As(err, &ce) || ce.Field != "Project" {
		t.Errorf("bad project: err = %v, want an *installsh.ConfigError for Project", err)
	}
}

func TestSignNeedsKey(t *testing.T) {
	st := lightState(t)
	p := &Pipeline{Logger: testLogger(t), Stages: []Stage{&Package{}, Checksums{}, &Sign{}}}
	if err := p.Run(t.Context(), st); !errors.Is(err, ErrNoSigningKey) {
		t.Fatalf("err = %v, want ErrNoSigningKey", err)
	}
	if err := (&SignManifest{}).Run(t.Context(), st); !errors.Is(err, ErrNoSigningKey) {
		t.Fatalf("sign-manifest: err = %v, want ErrNoSigningKey", err)
	}
	if err := (&VerifyStaged{}).Run(t.Context(), st); !errors.Is(err, ErrNoSigningKey) {
		t.Fatalf("verify-staged: err = %v, want ErrNoSigningKey", err)
	}
}
