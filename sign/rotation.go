package sign

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"time"

	"github.com/relkit/relkit/internal/atomicfile"
	"github.com/relkit/relkit/verify"
)

// ErrBadBundle is returned (wrapped) when a key bundle is not fit to sign:
// no expiry or one before its issue time, a revoked key still listed, a
// serial not above the keys.json already in place, or a document package
// verify would refuse.
var ErrBadBundle = errors.New("invalid key bundle")

// NewKeyBundle returns an empty keys.json bundle (see [verify.KeyBundle])
// with the given serial, issued now and expiring after ttl. Add signing keys
// with [AddBundleKey] and sign it with [SignKeyBundle].
func NewKeyBundle(serial int64, now time.Time, ttl time.Duration) *verify.KeyBundle {
	return &verify.KeyBundle{
		Schema:  verify.KeysSchema,
		Serial:  serial,
		Issued:  now.UTC().Truncate(time.Second),
		Expires: now.Add(ttl).UTC().Truncate(time.Second),
	}
}

// NextKeyBundle returns the bundle that rotates prev: a copy with the same
// keys and revocations, Serial one higher, issued now and expiring after
// ttl. Clients refuse a bundle whose serial is lower than one they
// accepted, so every published bundle must come from the previous one.
func NextKeyBundle(prev *verify.KeyBundle, now time.Time, ttl time.Duration) *verify.KeyBundle {
	b := NewKeyBundle(prev.Serial+1, now, ttl)
	b.Keys = slices.Clone(prev.Keys)
	b.Revoked = slices.Clone(prev.Revoked)
	return b
}

// AddBundleKey certifies pub as a signing key in b until expires (the zero
// time: until the bundle itself expires) and returns its key ID. Adding a
// key that is already there updates its expiry. A revoked key cannot be
// added back (ErrBadBundle).
func AddBundleKey(b *verify.KeyBundle, pub crypto.PublicKey, expires time.Time) (string, error) {
	pemKey, err := verify.MarshalPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("sign: bundle key: %w", err)
	}
	id, err := verify.KeyID(pub)
	if err != nil {
		return "", fmt.Errorf("sign: bundle key: %w", err)
	}
	if slices.ContainsFunc(b.Revoked, func(r verify.RevokedKey) bool { return r.KeyID == id }) {
		return "", fmt.Errorf("sign: key %s is revoked and cannot be added back: %w", id, ErrBadBundle)
	}
	k := verify.BundleKey{KeyID: id, PublicKey: string(pemKey)}
	if !expires.IsZero() {
		k.Expires = expires.UTC().Truncate(time.Second)
	}
	if i := slices.IndexFunc(b.Keys, func(k verify.BundleKey) bool { return k.KeyID == id }); i >= 0 {
		b.Keys[i] = k
	} else {
		b.Keys = append(b.Keys, k)
	}
	return id, nil
}

// RevokeBundleKey removes the key keyID from b's signing keys and lists it
// as revoked with reason: clients refuse it from then on, even where it is
// pinned directly. Revoking a key b does not list is allowed (a key pinned
// in old binaries, say); revoking twice updates the reason.
func RevokeBundleKey(b *verify.KeyBundle, keyID, reason string) error {
	if len(keyID) != 64 {
		return fmt.Errorf("sign: key ID %q is not 64 hex digits: %w", keyID, ErrBadBundle)
	}
	b.Keys = slices.DeleteFunc(b.Keys, func(k verify.BundleKey) bool { return k.KeyID == keyID })
	r := verify.RevokedKey{KeyID: keyID, Reason: reason}
	if i := slices.IndexFunc(b.Revoked, func(r verify.RevokedKey) bool { return r.KeyID == keyID }); i >= 0 {
		b.Revoked[i] = r
	} else {
		b.Revoked = append(b.Revoked, r)
	}
	return nil
}

// SignKeyBundle checks b, signs it with the root keys and writes it to
// dir/keys.json (see [SignFile]: keys.json.sig by the first root, and one
// entry per root in dir/signatures.json, written before keys.json itself,
// so that a reader never sees a new bundle without its signatures). Clients that pin the roots verify it
// with verify.Verifier.VerifyKeyBundle or FetchKeyBundle and then trust its
// unrevoked, unexpired keys to sign releases.
//
// It refuses (ErrBadBundle), writing nothing, a bundle without an issue or
// expiry time or expiring before it is issued or before now, one listing a
// revoked key as a signing key, one package verify would not parse, and a
// bundle whose serial is not higher than that of the keys.json already in
// dir (unless the bytes are identical, which makes re-running harmless).
func SignKeyBundle(ctx context.Context, dir string, b *verify.KeyBundle, roots ...Signer) (*Result, error) {
	if err := checkSigners(roots); err != nil {
		return nil, err
	}
	if b == nil {
		return nil, fmt.Errorf("sign: nil key bundle: %w", ErrBadBundle)
	}
	if b.Issued.IsZero() || b.Expires.IsZero() {
		return nil, fmt.Errorf("sign: key bundle needs issued and expires times: %w", ErrBadBundle)
	}
	if !b.Expires.After(b.Issued) {
		return nil, fmt.Errorf("sign: key bundle expires (%s) before it is issued (%s): %w", b.Expires.UTC().Format(time.RFC3339), b.Issued.UTC().Format(time.RFC3339), ErrBadBundle)
	}
	if !b.Expires.After(time.Now()) {
		return nil, fmt.Errorf("sign: key bundle expired at %s: %w", b.Expires.UTC().Format(time.RFC3339), ErrBadBundle)
	}
	for _, k := range b.Keys {
		if slices.ContainsFunc(b.Revoked, func(r verify.RevokedKey) bool { return r.KeyID == k.KeyID }) {
			return nil, fmt.Errorf("sign: key %s is both listed and revoked: %w", k.KeyID, ErrBadBundle)
		}
	}
	data, err := b.Marshal()
	if err != nil {
		return nil, fmt.Errorf("sign: encoding key bundle: %w", err)
	}
	if _, err := verify.ParseKeyBundle(data); err != nil {
		return nil, fmt.Errorf("sign: %w: %w", ErrBadBundle, err)
	}
	path := filepath.Join(dir, verify.KeysFile)
	old, err := readLimited(path, verify.MaxKeysSize)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("sign: reading existing %s: %w", path, err)
	case bytes.Equal(old, data):
		// Same bundle: only make sure it is signed.
	default:
		prev, err := verify.ParseKeyBundle(old)
		if err != nil {
			return nil, fmt.Errorf("sign: existing %s (not overwritten): %w", path, err)
		}
		if b.Serial <= prev.Serial {
			return nil, fmt.Errorf("sign: key bundle serial %d is not above the existing %s serial %d (clients would refuse it as a rollback): %w", b.Serial, path, prev.Serial, ErrBadBundle)
		}
	}
	// The signatures go in first and keys.json last: until it is replaced,
	// clients read the old bundle, whose entries signatures.json keeps.
	var write func() error
	if !bytes.Equal(old, data) {
		write = func() error {
			if _, err := atomicfile.WriteFile(path, bytes.NewReader(data), 0o644); err != nil {
				return fmt.Errorf("sign: writing %s: %w", path, err)
			}
			return nil
		}
	}
	return signData(ctx, dir, verify.KeysFile, data, roots, write)
}
