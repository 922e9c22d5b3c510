package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Root rotation. The keys a client pins as roots are version 1 of the
// project's root chain (or the version set with Trust.RootVersion). Each
// later version is a file root/<version>.json at the release root: a Root
// (the new root keys, their threshold, the revoked root keys, an expiry)
// signed by the threshold of the previous version's keys AND by its own
// threshold of the new keys, as TUF's root metadata is. A client walks the
// chain from the newest root set it trusts, one version at a time, and
// remembers the newest in its State (see RootState), so root keys rotate
// without a new client binary, and a revoked root is refused from then on:
// for keys.json, for later root versions, and as a signing key.
const (
	// RootSchema identifies a Root document (the signed payload of a
	// root/<version>.json). Readers accept minor revisions.
	RootSchema = "relkit.root/v1"
	// SignedSchema identifies a signed envelope: a payload and the
	// signatures over its exact bytes (the form of root/<version>.json).
	SignedSchema = "relkit.signed/v1"
	// MaxRootSize is the largest root/<version>.json accepted.
	MaxRootSize = 256 << 10
	// MaxRootRotations bounds the root versions one walk of the chain
	// reads; a client further behind continues on its next run (the
	// newest trusted root set is remembered).
	MaxRootRotations = 256
)

// RootFile returns the path of root set version n at a release root:
// "root/<n>.json".
func RootFile(n int64) string { return "root/" + strconv.FormatInt(n, 10) + ".json" }

// Root is a set of root keys: version Version of a project's root chain.
// See SignedRoot for the file that carries it, and sign.NextRoot for the
// writer.
type Root struct {
	// Schema is RootSchema.
	Schema string `json:"schema"`
	// Project is the project whose root chain this is. Required.
	Project string `json:"project"`
	// Version is the position in the chain: one more than the version it
	// replaces. The pinned root set is version 1 unless the client says
	// otherwise.
	Version int64 `json:"version"`
	// Issued is when the root set was made.
	Issued time.Time `json:"issued"`
	// Expires is when clients stop trusting this root set unless a newer
	// version replaces it (freeze attack). Required.
	Expires time.Time `json:"expires"`
	// Threshold is how many distinct Keys must sign keys.json and the
	// next root version. Between 1 and len(Keys).
	Threshold int `json:"threshold"`
	// Keys are the root keys of this version.
	Keys []BundleKey `json:"keys"`
	// Revoked lists root (or any) keys that must never be trusted again.
	// Every version keeps the revocations of the version before it.
	Revoked []RevokedKey `json:"revoked,omitempty"`
}

// RootSignature is one signature in a SignedRoot.
type RootSignature struct {
	// KeyID is the signing key's ID (see KeyID).
	KeyID string `json:"keyid"`
	// Algorithm is one of the Alg* names.
	Algorithm string `json:"algorithm"`
	// Signature is the raw signature over Payload, standard base64 in
	// JSON.
	Signature []byte `json:"signature"`
}

// SignedRoot is a root/<version>.json file: the exact bytes of a Root
// (Payload, standard base64 in JSON, so that any JSON reader can recover
// the signed bytes) and the signatures over them.
type SignedRoot struct {
	// Schema is SignedSchema.
	Schema string `json:"schema"`
	// Payload is the encoded Root (see Root.Marshal).
	Payload []byte `json:"payload"`
	// Signatures are sorted by key ID by Marshal.
	Signatures []RootSignature `json:"signatures"`
}

// ParseRoot decodes and checks a Root document: known schema major, a
// project, a version of at least 1, issue and expiry times in order, every
// key parsing with a key ID that matches it, no duplicate key, a threshold
// between 1 and the number of keys, well-formed revoked IDs, and no key
// both listed and revoked. Errors are *FormatError or *LimitError.
func ParseRoot(data []byte) (*Root, error) {
	const file = "root"
	if len(data) > MaxRootSize {
		return nil, &LimitError{What: file, Limit: MaxRootSize}
	}
	var r Root
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, &FormatError{File: file, Reason: "invalid JSON", Err: err}
	}
	bad := func(format string, a ...any) error {
		return &FormatError{File: RootFile(r.Version), Reason: fmt.Sprintf(format, a...)}
	}
	switch {
	case !schemaOK(r.Schema, RootSchema):
		return nil, bad("unsupported schema %q, want %q", r.Schema, RootSchema)
	case r.Version < 1:
		return nil, bad("version %d, must be at least 1", r.Version)
	case r.Project == "":
		return nil, bad("no project")
	case r.Issued.IsZero() || r.Expires.IsZero():
		return nil, bad("needs issued and expires times")
	case !r.Expires.After(r.Issued):
		return nil, bad("expires before it is issued")
	case r.Threshold < 1 || r.Threshold > len(r.Keys):
		return nil, bad("threshold %d with %d keys", r.Threshold, len(r.Keys))
	}
	revoked := map[string]bool{}
	for i, k := range r.Revoked {
		if !isHex64(k.KeyID) {
			return nil, bad("revoked[%d]: keyid %q is not 64 lowercase hex digits", i, k.KeyID)
		}
		revoked[k.KeyID] = true
	}
	seen := map[string]bool{}
	for i, k := range r.Keys {
		pub, err := ParsePublicKey([]byte(k.PublicKey))
		if err != nil {
			return nil, &FormatError{File: RootFile(r.Version), Reason: fmt.Sprintf("keys[%d] (%s)", i, k.KeyID), Err: err}
		}
		id, _ := KeyID(pub)
		switch {
		case id != k.KeyID:
			return nil, bad("keys[%d]: keyid %s does not match its public key (%s)", i, k.KeyID, id)
		case seen[id]:
			return nil, bad("keys[%d]: duplicate key %s", i, id)
		case revoked[id]:
			return nil, bad("keys[%d]: key %s is both listed and revoked", i, id)
		}
		seen[id] = true
	}
	return &r, nil
}

// Marshal encodes the root set deterministically: schema set to RootSchema
// when empty, times in UTC, keys and revocations sorted by key ID,
// two-space indent, final newline.
func (r *Root) Marshal() ([]byte, error) {
	c := *r
	if c.Schema == "" {
		c.Schema = RootSchema
	}
	c.Issued, c.Expires = c.Issued.UTC(), c.Expires.UTC()
	c.Keys = slices.Clone(r.Keys)
	if c.Keys == nil {
		c.Keys = []BundleKey{}
	}
	for i := range c.Keys {
		c.Keys[i].Expires = time.Time{} // root keys expire with their root set
	}
	c.Revoked = slices.Clone(r.Revoked)
	slices.SortFunc(c.Keys, func(x, y BundleKey) int { return strings.Compare(x.KeyID, y.KeyID) })
	slices.SortFunc(c.Revoked, func(x, y RevokedKey) int { return strings.Compare(x.KeyID, y.KeyID) })
	return marshalIndent(c)
}

// ParseSignedRoot decodes a root/<version>.json file and checks its shape:
// known schema major, a payload that ParseRoot accepts, and signatures
// with well-formed key IDs, known algorithms, non-empty signatures of at
// most MaxSignatureSize bytes, one per key. It checks no signature: a
// Verifier does, against the previous root set. It returns the envelope
// and the Root its payload holds. Errors are *FormatError or *LimitError.
func ParseSignedRoot(data []byte) (*SignedRoot, *Root, error) {
	const file = "root"
	if len(data) > MaxRootSize {
		return nil, nil, &LimitError{What: file, Limit: MaxRootSize}
	}
	var s SignedRoot
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, nil, &FormatError{File: file, Reason: "invalid JSON", Err: err}
	}
	if !schemaOK(s.Schema, SignedSchema) {
		return nil, nil, &FormatError{File: file, Reason: fmt.Sprintf("unsupported schema %q, want %q", s.Schema, SignedSchema)}
	}
	r, err := ParseRoot(s.Payload)
	if err != nil {
		return nil, nil, err
	}
	seen := map[string]bool{}
	for i, e := range s.Signatures {
		var reason string
		switch {
		case !isHex64(e.KeyID):
			reason = fmt.Sprintf("keyid %q is not 64 lowercase hex digits", e.KeyID)
		case !knownAlgorithm(e.Algorithm):
			reason = fmt.Sprintf("unknown algorithm %q", e.Algorithm)
		case len(e.Signature) == 0 || len(e.Signature) > MaxSignatureSize:
			reason = fmt.Sprintf("signature of %d bytes", len(e.Signature))
		case seen[e.KeyID]:
			reason = "second signature by " + e.KeyID
		}
		if reason != "" {
			return nil, nil, &FormatError{File: RootFile(r.Version), Reason: fmt.Sprintf("signatures[%d]: %s", i, reason)}
		}
		seen[e.KeyID] = true
	}
	return &s, r, nil
}

// Marshal encodes the envelope deterministically: schema set to
// SignedSchema when empty, signatures sorted by key ID, two-space indent,
// final newline.
func (s *SignedRoot) Marshal() ([]byte, error) {
	c := SignedRoot{Schema: s.Schema, Payload: s.Payload, Signatures: slices.Clone(s.Signatures)}
	if c.Schema == "" {
		c.Schema = SignedSchema
	}
	if c.Signatures == nil {
		c.Signatures = []RootSignature{}
	}
	slices.SortFunc(c.Signatures, func(x, y RootSignature) int { return strings.Compare(x.KeyID, y.KeyID) })
	return marshalIndent(c)
}

// KeyRing returns the root keys of r, with r's revocations recorded.
func (r *Root) KeyRing() (*KeyRing, error) {
	ring := &KeyRing{}
	for _, k := range r.Revoked {
		ring.Revoke(k.KeyID, k.Reason)
	}
	for _, k := range r.Keys {
		if _, err := ring.AddPEM([]byte(k.PublicKey)); err != nil {
			return nil, &FormatError{File: RootFile(r.Version), Reason: "key " + k.KeyID, Err: err}
		}
	}
	return ring, nil
}

// RootState is a State that also keeps the newest root set a client has
// verified (the bytes of its root/<version>.json), so the next run starts
// the chain there, even if older versions are gone from the server.
// FileState and MemoryState implement it. With a State that does not, the
// client walks the chain from its pinned roots every time, and the
// highest root version accepted (a serial) still refuses a shortened
// chain.
type RootState interface {
	State
	// Root returns what SetRoot stored under key, or nil and no error.
	Root(ctx context.Context, key string) ([]byte, error)
	// SetRoot stores data under key, durably when the State survives
	// restarts.
	SetRoot(ctx context.Context, key string, data []byte) error
}

// rootKey is the State key of the root chain that starts at v's keys:
// "root:<project>#<fingerprint>", the fingerprint covering the pinned key
// IDs, threshold and version, so that a client that pins other roots
// starts a chain of its own.
func (v *Verifier) rootKey() string {
	h := sha256.New()
	fmt.Fprintf(h, "%d\n%d\n", v.rootVersion, v.threshold)
	for _, id := range v.keys.IDs() {
		fmt.Fprintln(h, id)
	}
	return "root:" + v.project + "#" + hex.EncodeToString(h.Sum(nil))[:16]
}

// rootVerifier is v trusting the root set r (with its revocations) at
// its threshold and version.
func (v *Verifier) rootVerifier(r *Root) (*Verifier, error) {
	ring, err := r.KeyRing()
	if err != nil {
		return nil, err
	}
	for id, reason := range v.keys.revoked {
		ring.Revoke(id, reason)
	}
	c := *v
	c.keys, c.threshold, c.rootVersion = ring, r.Threshold, r.Version
	c.rootExpires, c.root = r.Expires, r
	return &c, nil
}

// storedRoot returns the verifier for the newest root set v's State holds
// for v's chain, or v itself, and the highest root version recorded.
func (v *Verifier) storedRoot(ctx context.Context) (*Verifier, int64, error) {
	key := v.rootKey()
	last, err := v.state.Serial(ctx, key)
	if err != nil {
		return nil, 0, fmt.Errorf("verify: reading state for the root chain: %w", err)
	}
	rs, ok := v.state.(RootState)
	if !ok {
		return v, last, nil
	}
	data, err := rs.Root(ctx, key)
	if err != nil {
		return nil, 0, fmt.Errorf("verify: reading the stored root set: %w", err)
	}
	if data == nil {
		return v, last, nil
	}
	// The stored set was verified before; check that it is intact (signed
	// by its own threshold) and ours. A corrupt state fails closed.
	s, r, err := ParseSignedRoot(data)
	if err != nil {
		return nil, 0, fmt.Errorf("verify: stored root set: %w", err)
	}
	cur, err := v.rootVerifier(r)
	if err != nil {
		return nil, 0, fmt.Errorf("verify: stored root set: %w", err)
	}
	if _, err := cur.VerifySignatures(RootFile(r.Version), s.Payload, s.signatures(RootFile(r.Version))); err != nil {
		return nil, 0, fmt.Errorf("verify: stored root set: %w", err)
	}
	if err := v.checkProject(RootFile(r.Version), r.Project); err != nil {
		return nil, 0, fmt.Errorf("verify: stored root set: %w", err)
	}
	if r.Version <= v.rootVersion {
		return v, last, nil // the pinned set is as new
	}
	return cur, last, nil
}

// signatures returns s's signatures as a Signatures for name.
func (s *SignedRoot) signatures(name string) Signatures {
	sum := sha256.Sum256(s.Payload)
	set := &SignatureSet{Schema: SignaturesSchema}
	for _, e := range s.Signatures {
		set.Signatures = append(set.Signatures, SignatureEntry{KeyID: e.KeyID, Algorithm: e.Algorithm, File: name, SHA256: hex.EncodeToString(sum[:]), Signature: e.Signature})
	}
	return Signatures{Set: set}
}

// currentRoots returns the verifier for the newest root set known without
// reading the location: the stored one, else v. A recorded root version
// above it (the stored set was lost) is a *RollbackError: FetchKeyBundle
// reads the chain again.
func (v *Verifier) currentRoots(ctx context.Context) (*Verifier, error) {
	cur, last, err := v.storedRoot(ctx)
	if err != nil {
		return nil, err
	}
	if cur.rootVersion < last {
		return nil, &RollbackError{What: "root set", Got: cur.rootVersion, Last: last}
	}
	if err := cur.checkRootExpiry(); err != nil {
		return nil, err
	}
	return cur.withRevokedRoots(ctx)
}

// checkRootExpiry refuses a rotated root set past its expiry (the pinned
// set has none).
func (v *Verifier) checkRootExpiry() error {
	now := v.now()
	if !v.rootExpires.IsZero() && now.After(v.rootExpires) {
		return &ExpiredError{What: RootFile(v.rootVersion), Expires: v.rootExpires.UTC().Format(time.RFC3339), Now: now.UTC().Format(time.RFC3339)}
	}
	return nil
}

// FetchRoots follows the project's root chain at loc from the newest root
// set v trusts (its State's, else its own keys): it reads root/<n+1>.json,
// root/<n+2>.json, ... (at most MaxRootRotations) until one is missing,
// and accepts each only when it is signed by the threshold of the
// previous set AND by its own threshold of its new keys, has the next
// version, names v's project (if set) and keeps every revocation of the
// previous set. Each accepted set is remembered in v's State (see
// RootState) before the next is read. It returns a Verifier trusting the
// newest set, which must not be expired, to verify keys.json with.
//
// It refuses, with a typed error naming the file: a bad signature or too
// few (*ThresholdError), a malformed file or a wrong version
// (*FormatError), another project (*ProjectError), a chain shorter than
// one already accepted (*RollbackError) and an expired newest set
// (*ExpiredError).
func (v *Verifier) FetchRoots(ctx context.Context, loc Location) (*Verifier, error) {
	cur, last, err := v.storedRoot(ctx)
	if err != nil {
		return nil, err
	}
	key := v.rootKey()
	rs, _ := v.state.(RootState)
	rv := &releaseRun{loc: loc}
	if cur.rootVersion < v.rootVersion {
		cur = v
	}
	for range MaxRootRotations {
		name := RootFile(cur.rootVersion + 1)
		data, err := rv.open(ctx, name, MaxRootSize)
		if errors.Is(err, ErrNotFound) {
			break
		}
		if err != nil {
			return nil, fileError(name, err)
		}
		next, err := cur.verifyRoot(ctx, name, data)
		if err != nil {
			return nil, err
		}
		if rs != nil {
			if err := rs.SetRoot(ctx, key, data); err != nil {
				return nil, fmt.Errorf("verify: recording %s: %w", name, err)
			}
		}
		if err := v.state.SetSerial(ctx, key, next.rootVersion); err != nil {
			return nil, fmt.Errorf("verify: recording %s: %w", name, err)
		}
		cur = next
	}
	if cur.rootVersion < last {
		return nil, &RollbackError{What: "root set", Got: cur.rootVersion, Last: last}
	}
	if err := cur.checkRootExpiry(); err != nil {
		return nil, err
	}
	return cur.withRevokedRoots(ctx)
}

// verifyRoot checks data, the file name, as the successor of the root set
// v trusts, and returns the verifier for it. Root keys revoked by an
// accepted keys.json sign for neither set.
func (v *Verifier) verifyRoot(ctx context.Context, name string, data []byte) (*Verifier, error) {
	s, r, err := ParseSignedRoot(data)
	if err != nil {
		return nil, err
	}
	if want := v.rootVersion + 1; r.Version != want {
		return nil, &FormatError{File: name, Reason: fmt.Sprintf("says version %d, want %d", r.Version, want)}
	}
	sigs := s.signatures(name)
	// Signed by the threshold of the current roots...
	eff, err := v.withRevokedRoots(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := eff.VerifySignatures(name, s.Payload, sigs); err != nil {
		return nil, err
	}
	next, err := v.rootVerifier(r)
	if err != nil {
		return nil, err
	}
	// ... and by the threshold of the new ones.
	if eff, err = next.withRevokedRoots(ctx); err != nil {
		return nil, err
	}
	if _, err := eff.VerifySignatures(name, s.Payload, sigs); err != nil {
		return nil, err
	}
	if err := v.checkProject(name, r.Project); err != nil {
		return nil, err
	}
	if v.root != nil {
		for _, old := range v.root.Revoked {
			if !slices.ContainsFunc(r.Revoked, func(k RevokedKey) bool { return k.KeyID == old.KeyID }) {
				return nil, &FormatError{File: name, Reason: fmt.Sprintf("drops the revocation of key %s (revocations are permanent)", old.KeyID)}
			}
		}
	}
	return next, nil
}
