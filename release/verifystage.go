package release

import (
	"context"
	"errors"
	"fmt"
	"github.com/relkit/relkit/manifest"
	"io"
	"os"
	"path/filepath"

	"github.com/relkit/relkit/sign"
	"github.com/relkit/relkit/verify"
)

// VerifyStaged is the stage ("verify-staged") that checks the staged
// directory with [verify.Verifier.VerifyRelease], the way a client will
// check it once published, before anything is published: the SHA256SUMS
// signature by the trusted keys, every file's size and digest, the signed
// manifest, and agreement between manifest, SHA256SUMS, SBOM and
// provenance. The report is kept in State.Verified and State.Report.
type VerifyStaged struct {
	// Keys are the trusted public keys (PEM); when empty, the public keys
	// of Signers are trusted.
	Keys    [][]byte
	Signers []sign.Signer
}

// Name returns "verify-staged".
func (v *VerifyStaged) Name() string { return "verify-staged" }

// Run verifies the staged release.
func (v *VerifyStaged) Run(ctx context.Context, st *State) error {
	return verifyAt(ctx, st, "staged", verify.Dir(st.Root), "", v.Keys, v.Signers)
}

func verifyAt(ctx context.Context, st *State, where string, loc verify.Location, dir string, keys [][]byte, signers []sign.Signer) error {
	if err := st.needVersion(); err != nil {
		return err
	}
	if len(keys) == 0 {
		var err error
		if keys, err = publicKeysPEM(signers); err != nil {
			return err
		}
	}
	if len(keys) == 0 {
		return fmt.Errorf("verify %s release: %w", where, ErrNoSigningKey)
	}
	ring, err := verify.NewKeyRing(keys...)
	if err != nil {
		return err
	}
	opts := []verify.Option{}
	if st.Project != "" {
		opts = append(opts, verify.WithProject(st.Project))
	}
	v, err := verify.NewVerifier(ring, opts...)
	if err != nil {
		return err
	}
	rep, err := v.VerifyRelease(ctx, loc, verify.ReleaseOptions{Version: st.Version.String(), Dir: dir, RequireManifest: hasManifest(ctx, loc)})
	if rep != nil {
		st.Reports = append(st.Reports, Verification{Where: where, Report: rep})
		if where == "remote" && !rep.Expires.IsZero() {
			st.Expires = rep.Expires
		}
		for _, w := range rep.Warnings {
			st.logger().Warn(where+": "+w, "expires", rep.Expires)
		}
		for _, c := range rep.Checks {
			if c.Status == verify.Pass {
				st.Verified = append(st.Verified, where+": "+c.Name)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("verify %s release: %w", where, err)
	}
	st.logger().Info("verified", "where", where, "checks", len(rep.Checks))
	return nil
}

func hasManifest(ctx context.Context, loc verify.Location) bool {
	rc, err := loc.Open(ctx, manifest.File)
	if err != nil {
		return false
	}
	rc.Close()
	return true
}

// Verification is one verification of the release (staged or remote).
type Verification struct {
	// Where is "staged" or "remote".
	Where  string
	Report *verify.Report
}

// MissingAssetsError reports staged files that the published location
// does not serve.
type MissingAssetsError struct {
	// Location names the published location: its String (a base URL, a
	// directory, a repository), or its type when it has none.
	Location string
	// Names are the missing files, as the location names them.
	Names []string
}

// Error implements the error interface.
func (e *MissingAssetsError) Error() string {
	return fmt.Sprintf("%d staged file(s) missing at %s: %v", len(e.Names), e.Location, e.Names)
}

// Unwrap returns os.ErrNotExist.
func (e *MissingAssetsError) Unwrap() error { return os.ErrNotExist }

// RemoteVerify is the stage ("remote-verify") that checks the release at
// its public location after publishing: every staged file must be served
// there (a *MissingAssetsError lists the ones that are not), and
// [verify.Verifier.VerifyRelease] must pass against it. It is skipped in
// snapshot mode, since nothing was published.
type RemoteVerify struct {
	// Location is where clients read the release: verify.NewHTTP(url) or
	// verify.Dir(dir).
	Location verify.Location
	// Keys or Signers as for [VerifyStaged].
	Keys    [][]byte
	Signers []sign.Signer
	// Flat says the location serves every file under its base name, as
	// GitHub release assets do ("1.2.0/SHA256SUMS" is "SHA256SUMS"; the
	// root signatures.json is [github.RootSignaturesAsset]).
	Flat bool
}

// Name returns "remote-verify".
func (r *RemoteVerify) Name() string { return "remote-verify" }

// Publishes reports true: there is nothing remote to verify in snapshot
// mode.
func (r *RemoteVerify) Publishes() bool { return true }

// Run checks the published release.
func (r *RemoteVerify) Run(ctx context.Context, st *State) error {
	if r.Location == nil {
		return &ConfigError{Field: "RemoteVerify.Location", Reason: "required"}
	}
	names, err := stagedFiles(st.Root)
	if err != nil {
		return err
	}
	var missing []string
	for _, name := range names {
		if r.Flat {
			name = flatName(name)
		}
		rc, err := r.Location.Open(ctx, name)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				missing = append(missing, name)
				continue
			}
			return fmt.Errorf("remote %s: %w", name, err)
		}
		io.Copy(io.Discard, io.LimitReader(rc, 1))
		rc.Close()
	}
	if len(missing) > 0 {
		return &MissingAssetsError{Location: locationName(r.Location), Names: missing}
	}
	st.Verified = append(st.Verified, fmt.Sprintf("remote: all %d staged files are served", len(names)))
	dir := ""
	if r.Flat {
		dir = "."
	}
	return verifyAt(ctx, st, "remote", r.Location, dir, r.Keys, r.Signers)
}

// locationName names loc for a message: its String method, a Dir's path,
// else its type (never a struct dump, which could hold a token).
func locationName(loc verify.Location) string {
	switch l := loc.(type) {
	case verify.Dir:
		return string(l)
	case fmt.Stringer:
		return l.String()
	}
	return fmt.Sprintf("%T", loc)
}

// flatName maps a staged name to its GitHub release asset name.
func flatName(name string) string {
	_, _, asset := manifest.ForgeAsset(name)
	return asset
}

// stagedFiles lists the regular files under root as slash paths.
func stagedFiles(root string) ([]string, error) {
	var names []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			if filepath.Base(rel)[0] != '.' {
				names = append(names, filepath.ToSlash(rel))
			}
		}
		return nil
	})
	return names, err
}
