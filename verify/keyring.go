package verify

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"slices"
	"time"
)

// KeyRing is a set of trusted public keys, each known by its KeyID, plus a
// set of revoked key IDs that can never be added. The zero value is an
// empty ring, which verifies nothing: verification with an empty ring fails
// with ErrNoTrustedKeys.
//
// A KeyRing is not safe for concurrent modification; build it, then share
// it read-only.
type KeyRing struct {
	keys    map[string]ringKey
	revoked map[string]string // key ID -> reason
	// revokedPub keeps the public half of keys revoked while trusted, only
	// to say "revoked" rather than "untrusted" for a detached signature
	// (which names no key) by one of them. It never verifies anything.
	revokedPub map[string]crypto.PublicKey
}

type ringKey struct {
	id      string
	pub     crypto.PublicKey
	expires time.Time // zero: no expiry
}

// NewKeyRing returns a ring trusting the given PEM public keys (see
// ParsePublicKey). It fails on the first key that does not parse.
func NewKeyRing(pemKeys ...[]byte) (*KeyRing, error) {
	r := &KeyRing{}
	for _, p := range pemKeys {
		if _, err := r.AddPEM(p); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Add trusts pub and returns its key ID. Adding a key twice is a no-op.
// Keys of unsupported types or sizes are refused with a *KeyError, revoked
// keys with an error wrapping ErrRevoked.
func (r *KeyRing) Add(pub crypto.PublicKey) (string, error) {
	return r.add(pub, time.Time{})
}

func (r *KeyRing) add(pub crypto.PublicKey, expires time.Time) (string, error) {
	if err := checkKey(pub); err != nil {
		return "", err
	}
	id, err := KeyID(pub)
	if err != nil {
		return "", err
	}
	if reason, ok := r.revoked[id]; ok {
		return "", &KeyError{KeyID: id, Reason: "revoked: " + reason, Err: ErrRevoked}
	}
	if r.keys == nil {
		r.keys = make(map[string]ringKey)
	}
	r.keys[id] = ringKey{id: id, pub: pub, expires: expires}
	return id, nil
}

// AddPEM parses a PEM public key (see ParsePublicKey), trusts it and
// returns its key ID.
func (r *KeyRing) AddPEM(pemKey []byte) (string, error) {
	pub, err := ParsePublicKey(pemKey)
	if err != nil {
		return "", err
	}
	return r.Add(pub)
}

// Revoke removes the key with ID id (if present) and refuses it from now
// on, also when added again.
func (r *KeyRing) Revoke(id, reason string) {
	if r.revoked == nil {
		r.revoked = make(map[string]string)
	}
	if reason == "" {
		reason = "revoked"
	}
	r.revoked[id] = reason
	if k, ok := r.keys[id]; ok {
		if r.revokedPub == nil {
			r.revokedPub = make(map[string]crypto.PublicKey)
		}
		r.revokedPub[id] = k.pub
	}
	delete(r.keys, id)
}

// IDs returns the trusted key IDs, sorted.
func (r *KeyRing) IDs() []string {
	ids := make([]string, 0, len(r.keys))
	for id := range r.keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Len returns the number of trusted keys.
func (r *KeyRing) Len() int {
	if r == nil {
		return 0
	}
	return len(r.keys)
}

// Key returns the trusted key with ID id.
func (r *KeyRing) Key(id string) (crypto.PublicKey, bool) {
	k, ok := r.keys[id]
	return k.pub, ok
}

// Merge adds every key of o to r, and every revocation of o (revoking the
// key in r too). Keys revoked in r are refused: they are skipped, not
// re-trusted.
func (r *KeyRing) Merge(o *KeyRing) {
	for id, reason := range o.revoked {
		r.Revoke(id, reason)
	}
	for id, k := range o.keys {
		if _, bad := r.revoked[id]; bad {
			continue
		}
		r.add(k.pub, k.expires)
	}
}

// verifyMessage checks one signature by key k over msg with algorithm alg.
// It returns nil, or an error wrapping ErrBadSignature or
// ErrUnknownAlgorithm.
func verifyMessage(pub crypto.PublicKey, alg string, msg, sig []byte) error {
	if len(sig) == 0 || len(sig) > MaxSignatureSize {
		return fmt.Errorf("%w: signature of %d bytes", ErrBadSignatureEncoding, len(sig))
	}
	ok := false
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if alg != AlgECDSASHA256 {
			return fmt.Errorf("%w: %q with an ECDSA key", ErrUnknownAlgorithm, alg)
		}
		h := sha256.Sum256(msg)
		ok = ecdsa.VerifyASN1(k, h[:], sig)
	case ed25519.PublicKey:
		if alg != AlgEd25519 {
			return fmt.Errorf("%w: %q with an Ed25519 key", ErrUnknownAlgorithm, alg)
		}
		if len(sig) != ed25519.SignatureSize {
			return fmt.Errorf("%w: Ed25519 signature of %d bytes, want %d", ErrBadSignature, len(sig), ed25519.SignatureSize)
		}
		ok = ed25519.Verify(k, msg, sig)
	case *rsa.PublicKey:
		h := sha256.Sum256(msg)
		switch alg {
		case AlgRSAPKCS1v15SHA256:
			ok = rsa.VerifyPKCS1v15(k, crypto.SHA256, h[:], sig) == nil
		case AlgRSAPSSSHA256:
			ok = rsa.VerifyPSS(k, crypto.SHA256, h[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto, Hash: crypto.SHA256}) == nil
		default:
			return fmt.Errorf("%w: %q with an RSA key", ErrUnknownAlgorithm, alg)
		}
	default:
		return &KeyError{Reason: fmt.Sprintf("unsupported key type %T", pub)}
	}
	if !ok {
		return ErrBadSignature
	}
	return nil
}
