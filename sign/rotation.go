package sign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/relkit/relkit/internal/atomicfile"
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/verify"
)

// ErrBadBundle is returned (wrapped) when a key bundle is not fit to sign:
// no expiry or one before its issue time, a revoked key still listed, a
// serial not above the keys.json already in place, or a document package
// verify would refuse.
var ErrBadBundle = errors.New("invalid key bundle")

// NewKeyBundle returns an empty keys.json bundle (see [verify.KeyBundle])
// with the given serial, issued now and expiring after ttl. Add signing keys
// with [AddBundleKey] and sign it with [SignKeyBundle]. It names no
// project, and clients set to a project (every installer) refuse such a
// bundle: use [NewProjectKeyBundle].
func NewKeyBundle(serial int64, now time.Time, ttl time.Duration) *verify.KeyBundle {
	return &verify.KeyBundle{
		Schema:  verify.KeysSchema,
		Serial:  serial,
		Issued:  now.UTC().Truncate(time.Second),
		Expires: now.Add(ttl).UTC().Truncate(time.Second),
	}
}

// NewProjectKeyBundle is NewKeyBundle for project: the bundle carries the
// project's name, which clients set to a project require (see
// [verify.KeyBundle].Project). Every new bundle should be made this way.
func NewProjectKeyBundle(project string, serial int64, now time.Time, ttl time.Duration) *verify.KeyBundle {
	b := NewKeyBundle(serial, now, ttl)
	b.Project = project
	return b
}

// NextKeyBundle returns the bundle that rotates prev: a copy with the same
// project, keys and revocations, Serial one higher, issued now and
// expiring after ttl. Clients refuse a bundle whose serial is lower than
// one they accepted, so every published bundle must come from the
// previous one.
func NextKeyBundle(prev *verify.KeyBundle, now time.Time, ttl time.Duration) *verify.KeyBundle {
	b := NewProjectKeyBundle(prev.Project, prev.Serial+1, now, ttl)
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
// pinned directly, and a root key it names no longer counts towards this
// bundle's own root threshold. To retire a root key for good, rotate the
// roots ([NextRoot], [RevokeRootKey], [SignRoot]): a revocation in
// keys.json lasts only as long as the bundles that carry it. Revoking a key b does not list is allowed (a key pinned
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
	path := filepath.Join(dir, manifest.KeysFile)
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
	return signData(ctx, dir, manifest.KeysFile, data, roots, write)
}

// NewRoot returns version 1 of project's root chain: the root set that
// clients pin (add its keys with [AddRootKey]), requiring threshold of
// them, issued now and expiring after ttl. Publishing it with [SignRoot]
// (as root/1.json) records it for the rotations that follow; clients do
// not read it, they pin its keys.
func NewRoot(project string, threshold int, now time.Time, ttl time.Duration) *verify.Root {
	return &verify.Root{
		Schema: verify.RootSchema, Project: project, Version: 1, Threshold: threshold,
		Issued:  now.UTC().Truncate(time.Second),
		Expires: now.Add(ttl).UTC().Truncate(time.Second),
	}
}

// NextRoot returns the root set that rotates prev: a copy with the same
// project, keys, threshold and revocations, Version one higher, issued
// now and expiring after ttl. Change its keys with [AddRootKey] and
// [RevokeRootKey] (and its Threshold), then sign it with [SignRoot] by a
// threshold of prev's keys and of its own.
func NextRoot(prev *verify.Root, now time.Time, ttl time.Duration) *verify.Root {
	r := NewRoot(prev.Project, prev.Threshold, now, ttl)
	r.Version = prev.Version + 1
	r.Keys = slices.Clone(prev.Keys)
	r.Revoked = slices.Clone(prev.Revoked)
	return r
}

// AddRootKey adds pub to the root set r and returns its key ID. Adding a
// key that is there is a no-op; a revoked key cannot be added back
// (ErrBadBundle).
func AddRootKey(r *verify.Root, pub crypto.PublicKey) (string, error) {
	pemKey, err := verify.MarshalPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("sign: root key: %w", err)
	}
	id, err := verify.KeyID(pub)
	if err != nil {
		return "", fmt.Errorf("sign: root key: %w", err)
	}
	if slices.ContainsFunc(r.Revoked, func(k verify.RevokedKey) bool { return k.KeyID == id }) {
		return "", fmt.Errorf("sign: root key %s is revoked and cannot be added back: %w", id, ErrBadBundle)
	}
	if !slices.ContainsFunc(r.Keys, func(k verify.BundleKey) bool { return k.KeyID == id }) {
		r.Keys = append(r.Keys, verify.BundleKey{KeyID: id, PublicKey: string(pemKey)})
	}
	return id, nil
}

// RevokeRootKey removes keyID from the root set r and lists it as revoked
// with reason. Once clients accept r, they refuse that key for good: for
// keys.json, for later root sets (which must keep the revocation), and as
// a signing key.
func RevokeRootKey(r *verify.Root, keyID, reason string) error {
	if len(keyID) != 64 {
		return fmt.Errorf("sign: key ID %q is not 64 hex digits: %w", keyID, ErrBadBundle)
	}
	r.Keys = slices.DeleteFunc(r.Keys, func(k verify.BundleKey) bool { return k.KeyID == keyID })
	k := verify.RevokedKey{KeyID: keyID, Reason: reason}
	if i := slices.IndexFunc(r.Revoked, func(x verify.RevokedKey) bool { return x.KeyID == keyID }); i >= 0 {
		r.Revoked[i] = k
	} else {
		r.Revoked = append(r.Revoked, k)
	}
	return nil
}

// SignRoot signs the root set r with signers and writes it to
// dir/root/<version>.json (see [verify.RootFile]), which clients read to
// follow the rotation. Version 1 must be signed by its own threshold;
// every later version by the threshold of the previous version, read from
// dir/root/<version-1>.json, AND by its own threshold, as clients check:
// SignRoot verifies the file exactly as a client pinning the previous
// version would before it writes it.
//
// It refuses (ErrBadBundle), writing nothing, a root set package verify
// would not parse or that is expired, a missing previous version, too few
// signers of either set, and an existing file for that version with other
// bytes (a published version is never rewritten; identical bytes are a
// no-op).
func SignRoot(ctx context.Context, dir string, r *verify.Root, signers ...Signer) (string, error) {
	if err := checkSigners(signers); err != nil {
		return "", err
	}
	if r == nil {
		return "", fmt.Errorf("sign: nil root set: %w", ErrBadBundle)
	}
	if !r.Expires.After(time.Now()) {
		return "", fmt.Errorf("sign: root set expired at %s: %w", r.Expires.UTC().Format(time.RFC3339), ErrBadBundle)
	}
	payload, err := r.Marshal()
	if err != nil {
		return "", fmt.Errorf("sign: encoding root set: %w", err)
	}
	if _, err := verify.ParseRoot(payload); err != nil {
		return "", fmt.Errorf("sign: %w: %w", ErrBadBundle, err)
	}
	env := &verify.SignedRoot{Payload: payload}
	for _, s := range signers {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		sig, err := s.Sign(ctx, bytes.NewReader(payload))
		if err != nil {
			return "", fmt.Errorf("sign: root set by %s: %w", s.KeyID(), err)
		}
		env.Signatures = append(env.Signatures, verify.RootSignature{KeyID: s.KeyID(), Algorithm: s.Algorithm(), Signature: sig})
	}
	data, err := env.Marshal()
	if err != nil {
		return "", fmt.Errorf("sign: encoding root set: %w", err)
	}

	// Check it as a client does: pinning the previous version (or, for
	// version 1, this one) and reading this file as its successor.
	name := verify.RootFile(r.Version)
	pinned := r
	if r.Version > 1 {
		prevData, err := readLimited(filepath.Join(dir, filepath.FromSlash(verify.RootFile(r.Version-1))), verify.MaxRootSize)
		if err != nil {
			return "", fmt.Errorf("sign: the previous root set is needed to sign version %d: %w: %w", r.Version, ErrBadBundle, err)
		}
		if _, pinned, err = verify.ParseSignedRoot(prevData); err != nil {
			return "", fmt.Errorf("sign: previous root set: %w: %w", ErrBadBundle, err)
		}
	}
	ring, err := pinned.KeyRing()
	if err != nil {
		return "", fmt.Errorf("sign: %w: %w", ErrBadBundle, err)
	}
	trust := verify.Trust{Roots: ring, RootThreshold: pinned.Threshold, RootVersion: pinned.Version, Project: r.Project, State: verify.NewMemoryState()}
	rv, err := trust.RootVerifier()
	if err != nil {
		return "", fmt.Errorf("sign: %w: %w", ErrBadBundle, err)
	}
	if r.Version == 1 {
		// Version 1 only needs its own threshold.
		one := verify.RootFile(1)
		set := &verify.SignatureSet{}
		for _, e := range env.Signatures {
			set.Signatures = append(set.Signatures, verify.SignatureEntry{KeyID: e.KeyID, Algorithm: e.Algorithm, File: one, SHA256: sha256Hex(payload), Signature: e.Signature})
		}
		if _, err := rv.VerifySignatures(one, payload, verify.Signatures{Set: set}); err != nil {
			return "", fmt.Errorf("sign: %w: %w", ErrBadBundle, err)
		}
	} else if _, err := rv.FetchRoots(ctx, oneFile{name: name, data: data}); err != nil {
		return "", fmt.Errorf("sign: %w: %w", ErrBadBundle, err)
	}

	path := filepath.Join(dir, filepath.FromSlash(name))
	old, err := readLimited(path, verify.MaxRootSize)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return "", fmt.Errorf("sign: reading existing %s: %w", path, err)
	default:
		if _, oldRoot, perr := verify.ParseSignedRoot(old); perr == nil {
			if p, _ := oldRoot.Marshal(); bytes.Equal(p, payload) {
				return path, nil // already published
			}
		}
		return "", fmt.Errorf("sign: %s exists with another root set (a published version is never rewritten; sign version %d instead): %w", path, r.Version+1, ErrBadBundle)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	if _, err := atomicfile.WriteFile(path, bytes.NewReader(data), 0o644); err != nil {
		return "", fmt.Errorf("sign: writing %s: %w", path, err)
	}
	return path, nil
}

// oneFile is a verify.Location holding one file.
type oneFile struct {
	name string
	data []byte
}

// Open implements verify.Location.
func (o oneFile) Open(_ context.Context, name string) (io.ReadCloser, error) {
	if name != o.name {
		return nil, fmt.Errorf("%s: %w", name, fs.ErrNotExist)
	}
	return io.NopCloser(bytes.NewReader(o.data)), nil
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
