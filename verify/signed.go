package verify

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/relkit/relkit/manifest"
)

// VerifyManifest verifies manifest.json bytes and returns the parsed
// manifest only when every check passed:
//
//   - data is at most manifest.MaxManifestSize bytes;
//   - sigs hold signatures by the threshold of trusted keys over exactly
//     these bytes (see VerifySignatures);
//   - it parses and validates (see manifest.Parse and Manifest.Validate);
//   - it belongs to the project set with WithProject, if any;
//   - it has an expiry, and the clock is before it (freeze attack);
//   - its serial is not lower than the last one accepted (rollback
//     attack); the serial is then recorded in the State, under
//     "manifest.json:<project>" with WithProject, else under
//     "manifest.json" for every project alike (so a validly signed
//     manifest of another project with a lower serial is a rollback too).
func (v *Verifier) VerifyManifest(ctx context.Context, data []byte, sigs Signatures) (*manifest.Manifest, error) {
	if len(data) > manifest.MaxManifestSize {
		return nil, &LimitError{What: manifest.File, Limit: manifest.MaxManifestSize}
	}
	if _, err := v.VerifySignatures(manifest.File, data, sigs); err != nil {
		return nil, err
	}
	m, err := manifest.Parse(data)
	if err != nil {
		return nil, &FormatError{File: manifest.File, Reason: "does not parse", Err: err}
	}
	if err := m.Validate(); err != nil {
		return nil, &FormatError{File: manifest.File, Reason: "invalid", Err: err}
	}
	if v.project != "" && m.Project != v.project {
		// Want is what the signed manifest says, Got what we asked for,
		// as for every ArtifactMismatchError.
		return nil, &ArtifactMismatchError{Name: manifest.File, Field: "project", Want: m.Project, Got: v.project}
	}
	if err := v.checkFresh(ctx, manifest.File, m.Expires, m.Serial); err != nil {
		return nil, err
	}
	return m, nil
}

// checkFresh refuses a signed root file (what) that never expires or has
// expired (freeze attack), or whose serial is below the last one accepted
// (rollback attack), and records the serial. manifest.json and
// index.json share the record: they carry the same serials.
func (v *Verifier) checkFresh(ctx context.Context, what string, expires time.Time, serial int64) error {
	now := v.now()
	if expires.IsZero() {
		return &ExpiredError{What: what, Expires: "never (a signed manifest must expire)", Now: now.UTC().Format(time.RFC3339)}
	}
	if now.After(expires) {
		return &ExpiredError{What: what, Expires: expires.UTC().Format(time.RFC3339), Now: now.UTC().Format(time.RFC3339)}
	}
	key := manifest.File
	if v.project != "" {
		key += ":" + v.project
	}
	if err := v.checkSerial(ctx, what, key, serial); err != nil {
		return err
	}
	if err := v.state.SetSerial(ctx, key, serial); err != nil {
		return fmt.Errorf("verify: recording %s serial: %w", what, err)
	}
	return nil
}

// ArtifactClaim describes an artifact as a client holds it: what it asked
// for (version, platform) and what it got (name, size, digest).
type ArtifactClaim struct {
	Version string // the release version asked for ("1.2.0" or "v1.2.0")
	Name    string // the file name
	OS      string // Go's GOOS, or "" for a platform-independent file
	Arch    string // Go's GOARCH, or ""
	Size    int64  // bytes received
	SHA256  string // hex digest of the bytes received
}

// CheckArtifact accepts an artifact only when the verified manifest m lists
// it in release c.Version with the same name, os, arch, size and SHA-256,
// and the release is not yanked: this stops a valid artifact of another
// version or platform being served in its place (mix-and-match). It returns
// the manifest's entry, or a *MissingEntryError, an
// *ArtifactMismatchError naming the first differing field, or an error
// wrapping ErrYanked.
//
// m must come from VerifyManifest.
func CheckArtifact(m *manifest.Manifest, c ArtifactClaim) (manifest.Artifact, error) {
	rel, ok := m.Release(c.Version)
	if !ok {
		return manifest.Artifact{}, &MissingEntryError{Name: "release " + c.Version, In: manifest.File}
	}
	if rel.Status == manifest.StatusYanked {
		return manifest.Artifact{}, fmt.Errorf("%s %s: %w: %s", m.Project, rel.Version, ErrYanked, rel.Reason)
	}
	for _, a := range rel.Artifacts {
		if a.Name != c.Name {
			continue
		}
		for _, f := range []struct{ field, want, got string }{
			{"os", a.OS, c.OS},
			{"arch", a.Arch, c.Arch},
			{"size", strconv.FormatInt(a.Size, 10), strconv.FormatInt(c.Size, 10)},
			{"sha256", strings.ToLower(a.SHA256), strings.ToLower(c.SHA256)},
		} {
			if f.want != f.got {
				return manifest.Artifact{}, &ArtifactMismatchError{Name: c.Name, Field: f.field, Want: f.want, Got: f.got}
			}
		}
		return a, nil
	}
	return manifest.Artifact{}, &MissingEntryError{Name: c.Name, In: manifest.File + " release " + rel.Version}
}
