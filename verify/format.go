package verify

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/relkit/relkit/manifest"
)

// Wire-format identifiers and conventional file names.
const (
	// SignaturesSchema identifies a signatures.json document. Readers
	// accept "relkit.signatures/v1" and minor revisions "relkit.signatures/v1.N".
	SignaturesSchema = "relkit.signatures/v1"
	// KeysSchema identifies a keys.json document (a root-signed bundle of
	// signing keys). Readers accept minor revisions as for SignaturesSchema.
	KeysSchema = "relkit.keys/v1"

	// SignatureSuffix is appended to a file's name to name its detached
	// signature ("manifest.json.sig", "SHA256SUMS.sig").
	SignatureSuffix = ".sig"
)

// Signature algorithm names, as written in signatures.json.
const (
	// AlgECDSASHA256 is an ASN.1 DER ECDSA signature over SHA-256 of the
	// message, on any supported curve. `cosign sign-blob` and
	// `openssl dgst -sha256 -sign` with an EC key make these.
	AlgECDSASHA256 = "ecdsa-sha256"
	// AlgEd25519 is a pure Ed25519 signature (RFC 8032) over the message
	// itself: 64 raw bytes. `openssl pkeyutl -sign -rawin` makes these.
	AlgEd25519 = "ed25519"
	// AlgRSAPKCS1v15SHA256 is RSASSA-PKCS1-v1_5 over SHA-256
	// (`openssl dgst -sha256 -sign` with an RSA key).
	AlgRSAPKCS1v15SHA256 = "rsa-pkcs1v15-sha256"
	// AlgRSAPSSSHA256 is RSASSA-PSS with SHA-256 and MGF1-SHA-256. Signers
	// use a 32-byte salt; verifiers accept any salt length.
	AlgRSAPSSSHA256 = "rsa-pss-sha256"
)

// Size limits. Every input this package reads is bounded; a larger input is
// refused with a *LimitError wrapping ErrTooLarge.
const (
	// MaxSignatureSize is the largest detached signature file accepted
	// (base64 or raw).
	MaxSignatureSize = 64 << 10
	// MaxKeySize is the largest PEM public key accepted.
	MaxKeySize = 64 << 10
	// MaxSignaturesSize is the largest signatures.json accepted.
	MaxSignaturesSize = 4 << 20
	// MaxKeysSize is the largest keys.json accepted.
	MaxKeysSize = 4 << 20
	// MinRSABits is the smallest RSA modulus accepted.
	MinRSABits = 2048
	// MaxRSABits is the largest RSA modulus accepted (bounds the cost of a
	// verification an attacker can make a client perform).
	MaxRSABits = 8192
)

// SignatureEntry is one signature in a signatures.json set.
type SignatureEntry struct {
	// KeyID is the signing key's ID (see KeyID).
	KeyID string `json:"keyid"`
	// Algorithm is one of the Alg* names.
	Algorithm string `json:"algorithm"`
	// File is the signed file's path relative to the directory holding
	// signatures.json ("manifest.json", "1.2.0/SHA256SUMS").
	File string `json:"file"`
	// SHA256 is the lowercase hex SHA-256 of the signed bytes. A verifier
	// only considers entries whose SHA256 matches the bytes it holds, so one
	// set can carry signatures for several revisions of a file.
	SHA256 string `json:"sha256"`
	// Signature is the raw signature; it is encoded in JSON as standard
	// base64.
	Signature []byte `json:"signature"`
}

// SignatureSet is a signatures.json document: signatures by one or more
// keys over one or more files. See ParseSignatureSet and SignatureSet.Marshal.
type SignatureSet struct {
	// Schema is SignaturesSchema.
	Schema string `json:"schema"`
	// Signatures are kept sorted by (File, KeyID, SHA256) by Marshal.
	Signatures []SignatureEntry `json:"signatures"`
}

// ParseSignatureSet decodes and checks a signatures.json document: known
// schema major, every entry with a 64-hex key ID and SHA-256, a known
// algorithm, a clean relative file path, a non-empty signature of at most
// MaxSignatureSize bytes, and no duplicate (file, keyid, sha256). Unknown
// fields are ignored. Errors are *FormatError or *LimitError.
func ParseSignatureSet(data []byte) (*SignatureSet, error) {
	if len(data) > MaxSignaturesSize {
		return nil, &LimitError{What: manifest.SignaturesFile, Limit: MaxSignaturesSize}
	}
	var s SignatureSet
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, &FormatError{File: manifest.SignaturesFile, Reason: "invalid JSON", Err: err}
	}
	if !schemaOK(s.Schema, SignaturesSchema) {
		return nil, &FormatError{File: manifest.SignaturesFile, Reason: fmt.Sprintf("unsupported schema %q, want %q", s.Schema, SignaturesSchema)}
	}
	seen := make(map[[3]string]bool)
	for i, e := range s.Signatures {
		if err := e.check(); err != nil {
			return nil, &FormatError{File: manifest.SignaturesFile, Reason: fmt.Sprintf("signatures[%d]: %v", i, err)}
		}
		k := [3]string{e.File, e.KeyID, e.SHA256}
		if seen[k] {
			return nil, &FormatError{File: manifest.SignaturesFile, Reason: fmt.Sprintf("signatures[%d]: duplicate entry for %s by %s", i, e.File, e.KeyID)}
		}
		seen[k] = true
	}
	return &s, nil
}

func (e SignatureEntry) check() error {
	switch {
	case !isHex64(e.KeyID):
		return fmt.Errorf("keyid %q is not 64 lowercase hex digits", e.KeyID)
	case !knownAlgorithm(e.Algorithm):
		return fmt.Errorf("unknown algorithm %q", e.Algorithm)
	case !cleanRelPath(e.File):
		return fmt.Errorf("file %q is not a clean relative path", e.File)
	case !isHex64(e.SHA256):
		return fmt.Errorf("sha256 %q is not 64 lowercase hex digits", e.SHA256)
	case len(e.Signature) == 0:
		return fmt.Errorf("empty signature")
	case len(e.Signature) > MaxSignatureSize:
		return fmt.Errorf("signature larger than %d bytes", MaxSignatureSize)
	}
	return nil
}

// Add inserts e, replacing an entry with the same (File, KeyID, SHA256).
// It refuses an entry that ParseSignatureSet would refuse.
func (s *SignatureSet) Add(e SignatureEntry) error {
	if err := e.check(); err != nil {
		return &FormatError{File: manifest.SignaturesFile, Reason: err.Error()}
	}
	for i, old := range s.Signatures {
		if old.File == e.File && old.KeyID == e.KeyID && old.SHA256 == e.SHA256 {
			s.Signatures[i] = e
			return nil
		}
	}
	s.Signatures = append(s.Signatures, e)
	return nil
}

// For returns the entries for file whose SHA256 is sha256hex.
func (s *SignatureSet) For(file, sha256hex string) []SignatureEntry {
	if s == nil {
		return nil
	}
	var out []SignatureEntry
	for _, e := range s.Signatures {
		if e.File == file && e.SHA256 == sha256hex {
			out = append(out, e)
		}
	}
	return out
}

// Marshal encodes the set deterministically: schema set to
// SignaturesSchema when empty, entries sorted by (File, KeyID, SHA256),
// two-space indent, final newline.
func (s *SignatureSet) Marshal() ([]byte, error) {
	c := SignatureSet{Schema: s.Schema, Signatures: slices.Clone(s.Signatures)}
	if c.Schema == "" {
		c.Schema = SignaturesSchema
	}
	if c.Signatures == nil {
		c.Signatures = []SignatureEntry{}
	}
	slices.SortFunc(c.Signatures, func(a, b SignatureEntry) int {
		if n := strings.Compare(a.File, b.File); n != 0 {
			return n
		}
		if n := strings.Compare(a.KeyID, b.KeyID); n != 0 {
			return n
		}
		return strings.Compare(a.SHA256, b.SHA256)
	})
	return marshalIndent(c)
}

// KeyBundle is a keys.json document: signing keys certified by root keys
// (through a signatures.json entry for "keys.json"), so signing keys can
// rotate without a new client binary. See ParseKeyBundle and
// KeyRing.AddBundle.
type KeyBundle struct {
	// Schema is KeysSchema.
	Schema string `json:"schema"`
	// Project is the project whose signing keys these are. A client set
	// to a project (WithProject, Trust.Project, install.Config.Project)
	// refuses a bundle for another project, and one without this field
	// unless it allows unbound bundles (Trust.UnsafeAllowUnboundKeys):
	// projects that share root keys cannot serve each other's bundles.
	// Bundles written before the field existed have none.
	Project string `json:"project,omitempty"`
	// Serial increases with every new bundle; clients refuse a bundle whose
	// serial is lower than one they accepted (per project).
	Serial int64 `json:"serial"`
	// Issued is when the bundle was made.
	Issued time.Time `json:"issued"`
	// Expires is when clients stop trusting the bundle. Required.
	Expires time.Time `json:"expires"`
	// Keys are the signing keys the bundle certifies.
	Keys []BundleKey `json:"keys"`
	// Revoked lists key IDs that must never be trusted, even when pinned.
	Revoked []RevokedKey `json:"revoked,omitempty"`
}

// BundleKey is one signing key in a KeyBundle.
type BundleKey struct {
	// KeyID must equal KeyID(public key).
	KeyID string `json:"keyid"`
	// PublicKey is the PEM "PUBLIC KEY" (PKIX) encoding.
	PublicKey string `json:"public_key"`
	// Expires, when set, is when this key stops being trusted (it is
	// capped by the bundle's own expiry).
	Expires time.Time `json:"expires,omitzero"`
}

// RevokedKey names a revoked key.
type RevokedKey struct {
	KeyID  string `json:"keyid"`
	Reason string `json:"reason,omitempty"`
}

// ParseKeyBundle decodes and checks a keys.json document: known schema
// major, non-negative serial, an expiry, every key parsing (see
// ParsePublicKey) with a key ID that matches it, no duplicate key, and
// well-formed revoked IDs. It does not check signatures or expiry against
// the clock: KeyRing.AddBundle does. Errors are *FormatError, *KeyError or
// *LimitError.
func ParseKeyBundle(data []byte) (*KeyBundle, error) {
	if len(data) > MaxKeysSize {
		return nil, &LimitError{What: manifest.KeysFile, Limit: MaxKeysSize}
	}
	var b KeyBundle
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, &FormatError{File: manifest.KeysFile, Reason: "invalid JSON", Err: err}
	}
	if !schemaOK(b.Schema, KeysSchema) {
		return nil, &FormatError{File: manifest.KeysFile, Reason: fmt.Sprintf("unsupported schema %q, want %q", b.Schema, KeysSchema)}
	}
	if b.Serial < 0 {
		return nil, &FormatError{File: manifest.KeysFile, Reason: fmt.Sprintf("negative serial %d", b.Serial)}
	}
	if b.Expires.IsZero() {
		return nil, &FormatError{File: manifest.KeysFile, Reason: "no expiry"}
	}
	seen := make(map[string]bool)
	for i, k := range b.Keys {
		if !isHex64(k.KeyID) {
			return nil, &FormatError{File: manifest.KeysFile, Reason: fmt.Sprintf("keys[%d]: keyid %q is not 64 lowercase hex digits", i, k.KeyID)}
		}
		pub, err := ParsePublicKey([]byte(k.PublicKey))
		if err != nil {
			return nil, &FormatError{File: manifest.KeysFile, Reason: fmt.Sprintf("keys[%d] (%s)", i, k.KeyID), Err: err}
		}
		id, _ := KeyID(pub)
		if id != k.KeyID {
			return nil, &FormatError{File: manifest.KeysFile, Reason: fmt.Sprintf("keys[%d]: keyid %s does not match its public key (%s)", i, k.KeyID, id)}
		}
		if seen[id] {
			return nil, &FormatError{File: manifest.KeysFile, Reason: fmt.Sprintf("keys[%d]: duplicate key %s", i, id)}
		}
		seen[id] = true
	}
	for i, r := range b.Revoked {
		if !isHex64(r.KeyID) {
			return nil, &FormatError{File: manifest.KeysFile, Reason: fmt.Sprintf("revoked[%d]: keyid %q is not 64 lowercase hex digits", i, r.KeyID)}
		}
	}
	return &b, nil
}

// Marshal encodes the bundle deterministically: schema set to KeysSchema
// when empty, times in UTC, keys and revocations sorted by key ID,
// two-space indent, final newline.
func (b *KeyBundle) Marshal() ([]byte, error) {
	c := *b
	if c.Schema == "" {
		c.Schema = KeysSchema
	}
	c.Issued, c.Expires = c.Issued.UTC(), c.Expires.UTC()
	c.Keys = slices.Clone(b.Keys)
	if c.Keys == nil {
		c.Keys = []BundleKey{}
	}
	for i := range c.Keys {
		c.Keys[i].Expires = c.Keys[i].Expires.UTC()
	}
	c.Revoked = slices.Clone(b.Revoked)
	slices.SortFunc(c.Keys, func(x, y BundleKey) int { return strings.Compare(x.KeyID, y.KeyID) })
	slices.SortFunc(c.Revoked, func(x, y RevokedKey) int { return strings.Compare(x.KeyID, y.KeyID) })
	return marshalIndent(c)
}

// KeyID returns the key's ID: the lowercase hex SHA-256 of its PKIX DER
// encoding (64 characters). The same key always has the same ID, whatever
// file it was read from.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", &KeyError{Reason: "cannot encode as PKIX", Err: err}
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}

// ParsePublicKey parses one PEM "PUBLIC KEY" block (PKIX, as written by
// `openssl pkey -pubout` and `cosign generate-key-pair`) holding an ECDSA
// P-256 or P-384, Ed25519, or RSA key of MinRSABits to MaxRSABits bits.
// Anything else (other PEM types, other curves, weak RSA, trailing data,
// several blocks) is refused with a *KeyError wrapping ErrBadKey.
func ParsePublicKey(pemBytes []byte) (crypto.PublicKey, error) {
	if len(pemBytes) > MaxKeySize {
		return nil, &LimitError{What: "public key", Limit: MaxKeySize}
	}
	block, rest := pem.Decode(pemBytes)
	if block == nil {
		return nil, &KeyError{Reason: "no PEM block"}
	}
	if block.Type != "PUBLIC KEY" {
		return nil, &KeyError{Reason: fmt.Sprintf("PEM type %q, want \"PUBLIC KEY\"", block.Type)}
	}
	if len(block.Headers) != 0 {
		return nil, &KeyError{Reason: "PEM headers are not allowed"}
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, &KeyError{Reason: "trailing data after the PEM block"}
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, &KeyError{Reason: "not a PKIX public key", Err: err}
	}
	if err := checkKey(pub); err != nil {
		return nil, err
	}
	return pub, nil
}

// checkKey refuses key types, curves and sizes this package does not trust.
func checkKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() {
			return &KeyError{Reason: fmt.Sprintf("ECDSA curve %s is not supported (P-256, P-384)", k.Curve.Params().Name)}
		}
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return &KeyError{Reason: "Ed25519 key of wrong length"}
		}
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < MinRSABits || n > MaxRSABits {
			return &KeyError{Reason: fmt.Sprintf("RSA key of %d bits, need %d to %d", n, MinRSABits, MaxRSABits)}
		}
	default:
		return &KeyError{Reason: fmt.Sprintf("unsupported key type %T", pub)}
	}
	return nil
}

// MarshalPublicKey returns the PEM "PUBLIC KEY" (PKIX) encoding of pub, the
// form ParsePublicKey reads and keys.json carries.
func MarshalPublicKey(pub crypto.PublicKey) ([]byte, error) {
	if err := checkKey(pub); err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, &KeyError{Reason: "cannot encode as PKIX", Err: err}
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// Algorithms returns the algorithm names a key of pub's type can verify,
// the default (the one signers should use) first: ecdsa-sha256 for ECDSA,
// ed25519 for Ed25519, rsa-pkcs1v15-sha256 then rsa-pss-sha256 for RSA.
func Algorithms(pub crypto.PublicKey) []string {
	switch pub.(type) {
	case *ecdsa.PublicKey:
		return []string{AlgECDSASHA256}
	case ed25519.PublicKey:
		return []string{AlgEd25519}
	case *rsa.PublicKey:
		return []string{AlgRSAPKCS1v15SHA256, AlgRSAPSSSHA256}
	}
	return nil
}

// DecodeSignature decodes a detached signature file's contents. It accepts
// standard base64 (padded, optionally wrapped, with or without a trailing
// newline: what `cosign sign-blob` writes) and raw binary (DER as `openssl
// dgst -sign` writes it, or 64 raw Ed25519 bytes). Input made only of
// printable ASCII is taken as base64 and must decode strictly; anything
// else is taken as raw bytes. Errors wrap ErrBadSignatureEncoding or
// ErrTooLarge.
func DecodeSignature(data []byte) ([]byte, error) {
	if len(data) > MaxSignatureSize {
		return nil, &LimitError{What: "signature", Limit: MaxSignatureSize}
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrBadSignatureEncoding)
	}
	if !isText(data) {
		return bytes.Clone(data), nil
	}
	text := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, string(data))
	if text == "" {
		return nil, fmt.Errorf("%w: only whitespace", ErrBadSignatureEncoding)
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(text)
	if err != nil {
		return nil, fmt.Errorf("%w: bad base64: %v", ErrBadSignatureEncoding, err)
	}
	if len(sig) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrBadSignatureEncoding)
	}
	return sig, nil
}

// EncodeSignature returns the detached-signature file form of sig: standard
// base64 with no trailing newline (what `cosign sign-blob
// --output-signature` writes).
func EncodeSignature(sig []byte) []byte {
	return []byte(base64.StdEncoding.EncodeToString(sig))
}

func isText(b []byte) bool {
	for _, c := range b {
		if (c < 0x20 || c > 0x7e) && c != '\n' && c != '\r' && c != '\t' {
			return false
		}
	}
	return true
}

func knownAlgorithm(a string) bool {
	switch a {
	case AlgECDSASHA256, AlgEd25519, AlgRSAPKCS1v15SHA256, AlgRSAPSSSHA256:
		return true
	}
	return false
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// cleanRelPath reports whether p is a clean, relative, slash-separated path
// that stays inside its directory.
func cleanRelPath(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") || strings.ContainsRune(p, 0) {
		return false
	}
	if path.Clean(p) != p {
		return false
	}
	return p != "." && p != ".." && !strings.HasPrefix(p, "../")
}

func schemaOK(got, want string) bool {
	return got == want || strings.HasPrefix(got, want+".")
}

func marshalIndent(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
