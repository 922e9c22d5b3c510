package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/verify"
)

// CurrentManifest reads the destination's current manifest.json from loc
// (the publish location, as clients read it) for [Config.Published], and
// returns it only when it is signed by keys (PEM public keys): manifest.json.sig
// and/or signatures.json at the root. A location without a manifest (a
// first release) returns nil and no error.
//
// Unlike a client, it accepts an expired manifest (the new release
// re-signs it with a fresh expiry) and keeps no rollback state. Signature
// checking is not optional: the new manifest extends this one and is
// signed again, so an unsigned or tampered manifest must never be merged.
func CurrentManifest(ctx context.Context, loc verify.Location, keys [][]byte) (*manifest.Manifest, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("current manifest: %w", ErrNoSigningKey)
	}
	data, err := readLocation(ctx, loc, manifest.File, manifest.MaxManifestSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("current manifest: %w", err)
	}
	sigs, err := verify.FetchSignatures(ctx, loc, manifest.File, data)
	if err != nil {
		return nil, fmt.Errorf("current manifest: %w", err)
	}
	ring, err := verify.NewKeyRing(keys...)
	if err != nil {
		return nil, err
	}
	v, err := verify.NewVerifier(ring)
	if err != nil {
		return nil, err
	}
	if _, err := v.VerifySignatures(manifest.File, data, sigs); err != nil {
		return nil, fmt.Errorf("current manifest: %w", err)
	}
	m, err := manifest.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("current manifest: %w", err)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("current manifest: %w", err)
	}
	return m, nil
}

func readLocation(ctx context.Context, loc verify.Location, name string, limit int64) ([]byte, error) {
	rc, err := loc.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes: %w", name, limit, manifest.ErrTooLarge)
	}
	return data, nil
}
