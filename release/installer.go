package release

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/relkit/relkit/release/installsh"
)

// ErrNoSigningKey: a stage that needs the signing key (sign, the
// installer, the drift check) was given none.
var ErrNoSigningKey = errors.New("no signing key")

// InstallScriptStage is the installer stage ("installer"): it renders
// Script (package release/installsh) to <root>/install.sh, unversioned, so
// that `curl -fsSL <base>/install.sh | sh` stays the same URL across
// releases. Script.Project defaults to State.Project. [Prepare] runs it
// when Config.InstallScript is set, with the first signer's public key as
// Script.Key when that is nil.
type InstallScriptStage struct {
	// Script is the installer to render; its BaseURL and Key are
	// required.
	Script installsh.Script
}

// Name returns "installer".
func (i *InstallScriptStage) Name() string { return "installer" }

// Run renders <root>/install.sh. A missing key wraps [ErrNoSigningKey]; a
// field the script cannot take is an *installsh.ConfigError.
func (i *InstallScriptStage) Run(ctx context.Context, st *State) error {
	s := i.Script
	if s.Project == "" {
		s.Project = st.Project
	}
	if s.Key == nil {
		return fmt.Errorf("installer: %w", ErrNoSigningKey)
	}
	script, err := s.Render()
	if err != nil {
		return err
	}
	if st.Root == "" {
		return &ConfigError{Field: "State.Root", Reason: "not set"}
	}
	if err := os.MkdirAll(st.Root, 0o755); err != nil {
		return err
	}
	dst := filepath.Join(st.Root, installsh.File)
	if _, err := writeAtomic(dst, 0o755, func(w io.Writer) error { _, err := w.Write(script); return err }); err != nil {
		return err
	}
	st.logger().Info("installer", "path", dst, "bytes", len(script))
	return nil
}

// InstallerKeyCheck is the drift check stage ("installer-key"): it refuses
// to go on when the public key embedded in the installer script differs
// from the signing key (installsh.CheckKey, an *installsh.KeyDriftError).
// Run it before publishing; [Publish] runs it when the staged root has an
// install.sh.
type InstallerKeyCheck struct {
	// Script is the installer to check; empty means <root>/install.sh.
	// Point it at a script kept in the repository (banger's
	// scripts/install.sh) to check that copy too.
	Script string
	// Key is the signing key's public key; required ([ErrNoSigningKey]).
	Key crypto.PublicKey
}

// Name returns "installer-key".
func (c *InstallerKeyCheck) Name() string { return "installer-key" }

// Run compares the keys.
func (c *InstallerKeyCheck) Run(ctx context.Context, st *State) error {
	name := c.Script
	if name == "" {
		name = filepath.Join(st.Root, installsh.File)
	}
	if c.Key == nil {
		return fmt.Errorf("drift check of %s: %w", name, ErrNoSigningKey)
	}
	script, err := readLimited(name)
	if err != nil {
		return err
	}
	if err := installsh.CheckKey(name, script, c.Key); err != nil {
		return err
	}
	st.Verified = append(st.Verified, "installer key matches the signing key ("+filepath.Base(name)+")")
	return nil
}
