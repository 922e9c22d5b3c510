package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/relkit/relkit/manifest"
)

// Verifier checks signatures against a KeyRing with a threshold policy, and
// refuses expired and rolled-back metadata. Build one with NewVerifier; it
// is safe for concurrent use once built (its State must be too).
type Verifier struct {
	keys      *KeyRing
	threshold int
	now       func() time.Time
	state     State
	project   string
	// rootVersion is the version of this verifier's keys in the root
	// chain, when it verifies keys.json (default 1).
	rootVersion int64
	// rootExpires is when the rotated root set these keys are expires
	// (zero for pinned roots).
	rootExpires time.Time
	// root is the rotated root set these keys are (nil for pinned roots).
	root *Root
	// unboundKeys accepts a keys.json without a project field.
	unboundKeys bool
}

// withRoots sets the root-chain version of the keys and whether a
// keys.json without a project is accepted (Trust.RootVerifier).
func withRoots(version int64, unbound bool) Option {
	return func(v *Verifier) error {
		if version < 1 {
			return fmt.Errorf("verify: root version %d, must be at least 1", version)
		}
		v.rootVersion, v.unboundKeys = version, unbound
		return nil
	}
}

// Option configures a Verifier.
type Option func(*Verifier) error

// WithThreshold requires signatures by k distinct trusted keys (default 1).
// k must be between 1 and the number of keys in the ring. A detached .sig
// file carries one signature, so k > 1 needs a signatures.json.
func WithThreshold(k int) Option {
	return func(v *Verifier) error {
		if k < 1 {
			return fmt.Errorf("verify: threshold %d, must be at least 1", k)
		}
		v.threshold = k
		return nil
	}
}

// WithClock sets the clock used for expiry checks (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(v *Verifier) error {
		if now == nil {
			return errors.New("verify: nil clock")
		}
		v.now = now
		return nil
	}
}

// WithState sets where the highest accepted serials are remembered, to
// refuse rollbacks across runs. The default is an in-memory State, which
// only protects one process: a self-updater should pass a FileState.
func WithState(s State) Option {
	return func(v *Verifier) error {
		if s == nil {
			return errors.New("verify: nil state")
		}
		v.state = s
		return nil
	}
}

// WithProject makes VerifyManifest refuse a manifest for another project
// (a validly signed manifest of a sibling project signed by the same key)
// and keeps the project's serial under its own State key. Default: any
// project, with one serial sequence for all. Self-updaters should set it.
func WithProject(name string) Option {
	return func(v *Verifier) error {
		v.project = name
		return nil
	}
}

// NewVerifier returns a Verifier trusting the keys in ring. It fails closed:
// an empty or nil ring is refused with ErrNoTrustedKeys, and a threshold
// larger than the ring is refused.
func NewVerifier(ring *KeyRing, opts ...Option) (*Verifier, error) {
	if ring.Len() == 0 {
		return nil, fmt.Errorf("verify: %w", ErrNoTrustedKeys)
	}
	v := &Verifier{keys: ring, threshold: 1, now: time.Now, state: NewMemoryState(), rootVersion: 1}
	for _, o := range opts {
		if err := o(v); err != nil {
			return nil, err
		}
	}
	if v.threshold > ring.Len() {
		return nil, fmt.Errorf("verify: threshold %d is larger than the %d trusted keys", v.threshold, ring.Len())
	}
	return v, nil
}

// With returns a copy of v with opts applied on top of v's settings (the
// same keys, threshold, clock, State and project unless an option changes
// them); v itself is unchanged. It refuses what NewVerifier refuses.
func (v *Verifier) With(opts ...Option) (*Verifier, error) {
	if v == nil {
		return nil, fmt.Errorf("verify: %w", ErrNoTrustedKeys)
	}
	c := *v
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	if c.threshold > c.keys.Len() {
		return nil, fmt.Errorf("verify: threshold %d is larger than the %d trusted keys", c.threshold, c.keys.Len())
	}
	return &c, nil
}

// Project returns the project set with WithProject, or "" when v accepts
// any project.
func (v *Verifier) Project() string { return v.project }

// State returns where v remembers accepted serials (see WithState).
func (v *Verifier) State() State { return v.state }

// Threshold returns how many distinct trusted keys must sign.
func (v *Verifier) Threshold() int { return v.threshold }

// Signatures are the signatures offered for one file: a detached signature
// file's contents, a signatures.json set, or both. Signatures from both
// count towards the threshold, once per distinct key.
type Signatures struct {
	// Detached is the contents of the file's ".sig" file (base64 or raw;
	// see DecodeSignature), or nil.
	Detached []byte
	// Set is a parsed signatures.json, or nil. Only its entries whose File
	// is the name being verified and whose SHA256 matches the bytes count.
	Set *SignatureSet
}

// VerifySignatures checks that data, known as name (its path relative to
// the directory of the signatures.json, if any), is signed by at least the
// threshold of distinct trusted, unexpired, unrevoked keys. It returns the
// IDs of the keys whose signatures verified.
//
// On failure the error is a *ThresholdError wrapping ErrBadSignature and,
// for each signature that did not count, a *SignatureError saying why
// (ErrUnknownKey, ErrRevoked, ErrExpired, ErrUnknownAlgorithm,
// ErrBadSignatureEncoding, ErrBadSignature, ErrNoSignature).
func (v *Verifier) VerifySignatures(name string, data []byte, sigs Signatures) ([]string, error) {
	if v == nil || v.keys.Len() == 0 {
		return nil, ErrNoTrustedKeys
	}
	sum := sha256.Sum256(data)
	digest := hex.EncodeToString(sum[:])
	now := v.now()
	valid := map[string]bool{}
	var ids []string
	var failures []error
	fail := func(keyID, alg string, err error) {
		failures = append(failures, &SignatureError{File: name, KeyID: keyID, Algorithm: alg, Err: err})
	}
	accept := func(id string) {
		if !valid[id] {
			valid[id] = true
			ids = append(ids, id)
		}
	}
	usable := func(id string) (ringKey, error) {
		if reason, ok := v.keys.revoked[id]; ok {
			return ringKey{}, fmt.Errorf("%w: %s", ErrRevoked, reason)
		}
		k, ok := v.keys.keys[id]
		if !ok {
			return ringKey{}, ErrUnknownKey
		}
		if !k.expires.IsZero() && now.After(k.expires) {
			return ringKey{}, &ExpiredError{What: "key " + id, Expires: k.expires.UTC().Format(time.RFC3339), Now: now.UTC().Format(time.RFC3339)}
		}
		return k, nil
	}

	offered := 0
	for _, e := range sigs.Set.For(name, digest) {
		offered++
		k, err := usable(e.KeyID)
		if err != nil {
			fail(e.KeyID, e.Algorithm, err)
			continue
		}
		if err := verifyMessage(k.pub, e.Algorithm, data, e.Signature); err != nil {
			fail(e.KeyID, e.Algorithm, err)
			continue
		}
		accept(k.id)
	}

	if sigs.Detached != nil {
		offered++
		if sig, err := DecodeSignature(sigs.Detached); err != nil {
			fail("", "", err)
		} else if id, err := v.detached(data, sig, usable); err != nil {
			fail(id, "", err)
		} else {
			accept(id)
		}
	}
	if offered == 0 {
		fail("", "", ErrNoSignature)
	}
	if len(ids) >= v.threshold {
		return ids, nil
	}
	return nil, &ThresholdError{File: name, Need: v.threshold, Got: len(ids), Valid: ids, Failures: failures}
}

// detached tries sig, which names no key, with every trusted key and every
// algorithm its type allows. It returns the ID of the key that verified,
// with an error when that key is not usable (expired).
func (v *Verifier) detached(data, sig []byte, usable func(string) (ringKey, error)) (string, error) {
	for _, id := range v.keys.IDs() {
		k := v.keys.keys[id]
		for _, alg := range Algorithms(k.pub) {
			if verifyMessage(k.pub, alg, data, sig) == nil {
				_, err := usable(id)
				return id, err
			}
		}
	}
	for id, pub := range v.keys.revokedPub {
		for _, alg := range Algorithms(pub) {
			if verifyMessage(pub, alg, data, sig) == nil {
				return id, fmt.Errorf("%w: %s", ErrRevoked, v.keys.revoked[id])
			}
		}
	}
	return "", fmt.Errorf("%w: no trusted key verifies it", ErrBadSignature)
}

// VerifyKeyBundle verifies a keys.json document with this Verifier's keys
// as the roots (signed through entries for "keys.json" in sigs.Set, or a
// detached keys.json.sig) and returns a KeyRing of its unrevoked,
// unexpired signing keys, with the bundle's revocations recorded so that
// a revoked key cannot be added back. Pass the ring to NewVerifier to
// verify releases.
//
// It refuses the bundle when fewer than the threshold of distinct roots
// signed it (a root the bundle itself revokes does not count), when it
// is expired, when it names another project than the one set with
// WithProject (a *ProjectError; one naming no project is refused too
// when a project is set, unless Trust.UnsafeAllowUnboundKeys), and when
// its serial is lower than the last one accepted. The serial is
// remembered in the State under "keys.json:<project>" with a project
// (starting from the legacy "keys.json" serial when the project has
// none yet), else under "keys.json".
//
// The roots are the newest root set this Verifier's State holds for the
// project (see FetchKeyBundle, which follows the root chain first), else
// the Verifier's own keys.
func (v *Verifier) VerifyKeyBundle(ctx context.Context, data []byte, sigs Signatures) (*KeyRing, error) {
	roots, err := v.currentRoots(ctx)
	if err != nil {
		return nil, err
	}
	return roots.verifyKeyBundle(ctx, data, sigs)
}

// verifyKeyBundle is VerifyKeyBundle with v's keys as the roots.
func (v *Verifier) verifyKeyBundle(ctx context.Context, data []byte, sigs Signatures) (*KeyRing, error) {
	if len(data) > MaxKeysSize {
		return nil, &LimitError{What: manifest.KeysFile, Limit: MaxKeysSize}
	}
	ids, err := v.VerifySignatures(manifest.KeysFile, data, sigs)
	if err != nil {
		return nil, err
	}
	b, err := ParseKeyBundle(data)
	if err != nil {
		return nil, err
	}
	// A root the bundle revokes does not vouch for it.
	var counted []string
	var failures []error
	for _, id := range ids {
		if i := slices.IndexFunc(b.Revoked, func(r RevokedKey) bool { return r.KeyID == id }); i >= 0 {
			failures = append(failures, &SignatureError{File: manifest.KeysFile, KeyID: id, Err: fmt.Errorf("%w: by the bundle itself: %s", ErrRevoked, b.Revoked[i].Reason)})
			continue
		}
		counted = append(counted, id)
	}
	if len(counted) < v.threshold {
		return nil, &ThresholdError{File: manifest.KeysFile, Need: v.threshold, Got: len(counted), Valid: counted, Failures: failures}
	}
	if err := v.checkProject(manifest.KeysFile, b.Project); err != nil {
		return nil, err
	}
	now := v.now()
	if now.After(b.Expires) {
		return nil, &ExpiredError{What: manifest.KeysFile, Expires: b.Expires.UTC().Format(time.RFC3339), Now: now.UTC().Format(time.RFC3339)}
	}
	key := manifest.KeysFile
	if v.project != "" {
		key += ":" + v.project
	}
	last, err := v.state.Serial(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("verify: reading state for %s: %w", manifest.KeysFile, err)
	}
	if last == 0 && key != manifest.KeysFile {
		// The project's first bundle: the serial recorded before bundles
		// were bound to projects still holds.
		if last, err = v.state.Serial(ctx, manifest.KeysFile); err != nil {
			return nil, fmt.Errorf("verify: reading state for %s: %w", manifest.KeysFile, err)
		}
	}
	if b.Serial < last {
		return nil, &RollbackError{What: manifest.KeysFile, Got: b.Serial, Last: last}
	}
	ring := &KeyRing{}
	for _, r := range b.Revoked {
		ring.Revoke(r.KeyID, r.Reason)
	}
	for id, reason := range v.keys.revoked {
		ring.Revoke(id, reason)
	}
	for _, k := range b.Keys {
		if _, bad := ring.revoked[k.KeyID]; bad {
			continue
		}
		exp := b.Expires
		if !k.Expires.IsZero() && k.Expires.Before(exp) {
			exp = k.Expires
		}
		if now.After(exp) {
			continue
		}
		pub, err := ParsePublicKey([]byte(k.PublicKey))
		if err != nil {
			return nil, err // unreachable: ParseKeyBundle checked it
		}
		if _, err := ring.add(pub, exp); err != nil {
			return nil, err
		}
	}
	// A root key the bundle revokes stays revoked for this client, also
	// when a later bundle (signed by that root, say) omits it.
	for _, r := range b.Revoked {
		if _, isRoot := v.keys.keys[r.KeyID]; isRoot {
			if err := v.state.SetSerial(ctx, revokedKey(r.KeyID), 1); err != nil {
				return nil, fmt.Errorf("verify: recording the revocation of root %s: %w", r.KeyID, err)
			}
		}
	}
	if err := v.state.SetSerial(ctx, key, b.Serial); err != nil {
		return nil, fmt.Errorf("verify: recording %s serial: %w", manifest.KeysFile, err)
	}
	return ring, nil
}

// revokedKey is the State key that records a root key revoked by an
// accepted keys.json (any serial above 0).
func revokedKey(id string) string { return "revoked:" + id }

// withRevokedRoots returns v without the root keys its State records as
// revoked by an accepted keys.json (a copy; v is unchanged).
func (v *Verifier) withRevokedRoots(ctx context.Context) (*Verifier, error) {
	var revoked []string
	for _, id := range v.keys.IDs() {
		n, err := v.state.Serial(ctx, revokedKey(id))
		if err != nil {
			return nil, fmt.Errorf("verify: reading state for root %s: %w", id, err)
		}
		if n > 0 {
			revoked = append(revoked, id)
		}
	}
	if len(revoked) == 0 {
		return v, nil
	}
	ring := &KeyRing{}
	ring.Merge(v.keys)
	for _, id := range revoked {
		ring.Revoke(id, "revoked by an accepted keys.json")
	}
	c := *v
	c.keys = ring
	return &c, nil
}

// checkProject refuses a document signed for another project than v's,
// and, for keys.json, one naming no project unless v allows it.
func (v *Verifier) checkProject(file, project string) error {
	switch {
	case v.project == "" || project == v.project:
		return nil
	case project == "" && file == manifest.KeysFile && v.unboundKeys:
		return nil
	}
	return &ProjectError{File: file, Want: v.project, Got: project}
}

// checkSerial refuses serial when it is lower than the one recorded under
// key.
func (v *Verifier) checkSerial(ctx context.Context, what, key string, serial int64) error {
	last, err := v.state.Serial(ctx, key)
	if err != nil {
		return fmt.Errorf("verify: reading state for %s: %w", what, err)
	}
	if serial < last {
		return &RollbackError{What: what, Got: serial, Last: last}
	}
	return nil
}
