package verify

import (
	"context"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/relkit/relkit/manifest"
)

// FetchManifest reads manifest.json from the root of loc with the
// signatures of exactly those bytes (sigs/manifest.json.<sha256>.signatures.json
// or .sig, which a publisher writes before it replaces manifest.json; for
// a root published without sigs/, manifest.json.sig and/or the
// signatures.json entries for "manifest.json") and verifies it with
// VerifyManifest. It returns the
// manifest only when it is signed by the threshold of trusted keys, not
// expired, and not older than one already accepted. A loc that is a
// ManifestUser (a Forge) is given the verified manifest.
func (v *Verifier) FetchManifest(ctx context.Context, loc Location) (*manifest.Manifest, error) {
	rv := &releaseRun{loc: loc}
	data, err := rv.open(ctx, manifest.File, manifest.MaxManifestSize)
	if err != nil {
		return nil, fileError(manifest.File, err)
	}
	sigs, err := rv.rootSigs(ctx, manifest.File, data)
	if err != nil {
		return nil, fmt.Errorf("verify: signatures of %s: %w", manifest.File, err)
	}
	m, err := v.VerifyManifest(ctx, data, sigs)
	if err == nil {
		if mu, ok := loc.(ManifestUser); ok {
			mu.UseManifest(m)
		}
	}
	return m, err
}

// FetchKeyBundle first follows the project's root chain at loc (see
// FetchRoots: a root set rotated since, and every root it revokes, take
// effect), then reads keys.json from the root of loc with its signatures
// (keys.json.sig and/or signatures.json entries for "keys.json") and
// verifies it with the newest trusted root set (see VerifyKeyBundle). It
// returns the ring of signing keys to build the release Verifier from;
// every key the root chain revokes is revoked in it.
func (v *Verifier) FetchKeyBundle(ctx context.Context, loc Location) (*KeyRing, error) {
	roots, err := v.FetchRoots(ctx, loc)
	if err != nil {
		return nil, err
	}
	rv := &releaseRun{loc: loc}
	data, err := rv.open(ctx, manifest.KeysFile, MaxKeysSize)
	if err != nil {
		return nil, fileError(manifest.KeysFile, err)
	}
	sigs, err := rv.rootSigs(ctx, manifest.KeysFile, data)
	if err != nil {
		return nil, fmt.Errorf("verify: signatures of %s: %w", manifest.KeysFile, err)
	}
	return roots.verifyKeyBundle(ctx, data, sigs)
}

// FetchArtifact opens the artifact a (an entry of a manifest returned by
// VerifyManifest or FetchManifest) at its path in loc and copies it to w
// while checking its size and SHA-256 in the same pass (see Copy). It
// returns the number of bytes written. On error w holds unverified bytes
// that must be discarded: write to a temporary file and rename it into
// place only on success.
func FetchArtifact(ctx context.Context, loc Location, a manifest.Artifact, w io.Writer) (int64, error) {
	if !cleanRelPath(a.Path) || path.Base(a.Path) != a.Name {
		return 0, &FormatError{File: a.Name, Reason: fmt.Sprintf("artifact path %q is not a clean relative path ending in its name", a.Path)}
	}
	rc, err := loc.Open(ctx, a.Path)
	if err != nil {
		return 0, fileError(a.Path, err)
	}
	defer rc.Close()
	return Copy(ctx, w, rc, ExpectArtifact(a))
}

// FetchSignatures reads the signatures of the root file name (manifest.json,
// keys.json) whose bytes are data from loc, as FetchManifest does: the
// content-addressed set or detached signature under sigs/, else the
// legacy name.sig and signatures.json. It verifies nothing; pass the result
// to VerifySignatures or VerifyManifest.
func FetchSignatures(ctx context.Context, loc Location, name string, data []byte) (Signatures, error) {
	rv := &releaseRun{loc: loc}
	return rv.rootSigs(ctx, name, data)
}

// fileError prefixes err, from reading the file name at a location, with
// "verify: " and names the file only when err does not already: the
// errors of Dir, HTTP and Forge name it by its path or URL, and saying it
// twice ("verify: manifest.json: open /srv/hello/manifest.json: …") reads
// as two failures.
func fileError(name string, err error) error {
	if strings.Contains(err.Error(), name) {
		return fmt.Errorf("verify: %w", err)
	}
	return fmt.Errorf("verify: %s: %w", name, err)
}
