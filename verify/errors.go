package verify

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/relkit/relkit/manifest"
)

// Sentinel errors. Every refusal returned by this package wraps one of these
// (or a typed error below that unwraps to one), so callers can branch with
// errors.Is and read details with errors.As.
var (
	// ErrTooLarge is returned (wrapped, via *LimitError) when an input
	// exceeds its size limit. It is the same value as manifest.ErrTooLarge.
	ErrTooLarge = manifest.ErrTooLarge

	// ErrNotFound is returned (wrapped) when a file is missing from a
	// location. It is fs.ErrNotExist, so os.IsNotExist-style checks work.
	ErrNotFound = fs.ErrNotExist

	// ErrNoTrustedKeys is returned when verification is attempted with no
	// trusted keys at all: verify fails closed.
	ErrNoTrustedKeys = errors.New("no trusted keys")

	// ErrBadKey is returned (wrapped, via *KeyError) for a public key that
	// cannot be parsed, is of an unsupported type, or is too weak.
	ErrBadKey = errors.New("unusable public key")

	// ErrBadSignatureEncoding is returned (wrapped) for a signature file or
	// field that is empty, badly encoded base64, or of an impossible size.
	ErrBadSignatureEncoding = errors.New("malformed signature encoding")

	// ErrBadSignature is returned (wrapped, via *SignatureError or
	// *ThresholdError) when no trusted key's signature verifies.
	ErrBadSignature = errors.New("signature verification failed")

	// ErrUnknownKey is returned (wrapped, via *SignatureError) for a
	// signature by a key that is not in the key ring.
	ErrUnknownKey = errors.New("signature by an untrusted key")

	// ErrNoSignature is returned (wrapped) when a file comes with no
	// signature at all.
	ErrNoSignature = errors.New("no signature")

	// ErrUnknownAlgorithm is returned (wrapped) for an algorithm name this
	// package does not implement, or that does not fit the key's type.
	ErrUnknownAlgorithm = errors.New("unknown signature algorithm")

	// ErrMalformed is returned (wrapped, via *FormatError) for a
	// signatures.json, keys.json, manifest, SBOM or provenance document that
	// does not decode or violates its schema.
	ErrMalformed = errors.New("malformed document")

	// ErrExpired is returned (wrapped, via *ExpiredError) for a manifest,
	// key bundle or key past its expiry time (freeze attack).
	ErrExpired = errors.New("expired")

	// ErrRollback is returned (wrapped, via *RollbackError) for a manifest or
	// key bundle whose serial is lower than one already accepted.
	ErrRollback = errors.New("rollback refused")

	// ErrRevoked is returned (wrapped) when a key is revoked by the key
	// bundle.
	ErrRevoked = errors.New("key revoked")

	// ErrChecksumMismatch is returned (wrapped, via *ChecksumMismatchError)
	// when content does not hash to the expected SHA-256.
	ErrChecksumMismatch = errors.New("checksum mismatch")

	// ErrSizeMismatch is returned (wrapped, via *SizeMismatchError) when
	// content is not the expected number of bytes.
	ErrSizeMismatch = errors.New("size mismatch")

	// ErrMissingEntry is returned (wrapped, via *MissingEntryError) when a
	// checksums file, manifest, SBOM or provenance does not list a file.
	ErrMissingEntry = errors.New("missing entry")

	// ErrArtifactMismatch is returned (wrapped, via *ArtifactMismatchError)
	// when an artifact differs from what the signed manifest lists for it
	// (mix-and-match attack).
	ErrArtifactMismatch = errors.New("artifact does not match the signed manifest")

	// ErrYanked is returned (wrapped) by CheckArtifact for an artifact of a
	// release the signed manifest marks yanked.
	ErrYanked = errors.New("release is yanked")

	// ErrFetch is returned (wrapped) for a refused or failed HTTP fetch:
	// a bad status or a redirect refused by CheckRedirect (an *HTTPError),
	// a timeout (a *TimeoutError).
	ErrFetch = errors.New("fetch refused")
)

// LimitError reports an input that exceeds a size limit.
type LimitError struct {
	What  string // what was being read ("manifest.json", "signature")
	Limit int64  // the limit in bytes
}

// Error implements error.
func (e *LimitError) Error() string {
	return fmt.Sprintf("%s: larger than the %d-byte limit", e.What, e.Limit)
}

// Unwrap returns ErrTooLarge.
func (e *LimitError) Unwrap() error { return ErrTooLarge }

// KeyError reports a public key that cannot be used.
type KeyError struct {
	KeyID  string // the key's ID when known
	Reason string // what is wrong ("RSA key of 1024 bits, need >= 2048")
	Err    error  // underlying parse error, if any
}

// Error implements error.
func (e *KeyError) Error() string {
	s := "public key"
	if e.KeyID != "" {
		s += " " + e.KeyID
	}
	s += ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns ErrBadKey and the underlying error.
func (e *KeyError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrBadKey, e.Err}
	}
	return []error{ErrBadKey}
}

// FormatError reports a document that does not decode or violates its
// schema.
type FormatError struct {
	File   string // "signatures.json", "keys.json", "sbom.spdx.json", ...
	Reason string
	Err    error
}

// Error implements error.
func (e *FormatError) Error() string {
	s := e.File + ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns ErrMalformed and the underlying error.
func (e *FormatError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrMalformed, e.Err}
	}
	return []error{ErrMalformed}
}

// SignatureError reports one signature that failed to verify, or a file for
// which no trusted key's signature verified.
type SignatureError struct {
	File      string // the signed file ("manifest.json")
	KeyID     string // the key tried, if one
	Algorithm string // the algorithm tried, if one
	Err       error  // ErrBadSignature, ErrBadSignatureEncoding, ErrUnknownAlgorithm, ...
}

// Error implements error.
func (e *SignatureError) Error() string {
	s := "signature on " + e.File
	if e.KeyID != "" {
		s += " by key " + e.KeyID
	}
	if e.Algorithm != "" {
		s += " (" + e.Algorithm + ")"
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *SignatureError) Unwrap() error { return e.Err }

// ThresholdError reports that fewer distinct trusted keys than required
// signed a file. Failures explains each signature that did not count.
type ThresholdError struct {
	File     string
	Need     int      // the threshold
	Got      int      // distinct trusted keys whose signature verified
	Valid    []string // their key IDs
	Failures []error  // why the other signatures did not count
}

// Error implements error.
func (e *ThresholdError) Error() string {
	s := fmt.Sprintf("%s: %d of %d required trusted signatures verified", e.File, e.Got, e.Need)
	if len(e.Failures) > 0 {
		var parts []string
		for _, f := range e.Failures {
			parts = append(parts, f.Error())
		}
		s += " (" + strings.Join(parts, "; ") + ")"
	}
	return s
}

// Unwrap returns ErrBadSignature followed by the individual failures, so
// errors.Is(err, ErrRevoked) tells whether a revoked key was among them.
func (e *ThresholdError) Unwrap() []error {
	return append([]error{ErrBadSignature}, e.Failures...)
}

// ExpiredError reports a manifest, key bundle or key past its expiry.
type ExpiredError struct {
	What    string // "manifest.json", "keys.json", "key <id>"
	Expires string // RFC 3339
	Now     string // RFC 3339
}

// Error implements error.
func (e *ExpiredError) Error() string {
	return fmt.Sprintf("%s expired at %s (now %s)", e.What, e.Expires, e.Now)
}

// Unwrap returns ErrExpired.
func (e *ExpiredError) Unwrap() error { return ErrExpired }

// RollbackError reports a serial lower than the last one accepted.
type RollbackError struct {
	What string // "manifest.json", "keys.json"
	Got  int64  // the serial offered
	Last int64  // the last serial accepted
}

// Error implements error.
func (e *RollbackError) Error() string {
	return fmt.Sprintf("%s: serial %d is lower than %d, already accepted", e.What, e.Got, e.Last)
}

// Unwrap returns ErrRollback.
func (e *RollbackError) Unwrap() error { return ErrRollback }

// ChecksumMismatchError reports content whose SHA-256 is not the expected
// one. Want and Got are lowercase hex.
type ChecksumMismatchError struct {
	Name string
	Want string
	Got  string
}

// Error implements error.
func (e *ChecksumMismatchError) Error() string {
	return fmt.Sprintf("%s: sha256 %s, want %s", e.Name, e.Got, e.Want)
}

// Unwrap returns ErrChecksumMismatch.
func (e *ChecksumMismatchError) Unwrap() error { return ErrChecksumMismatch }

// SizeMismatchError reports content that is not the expected size. When
// the content was longer than expected, Got is the number of bytes read
// before verification stopped (at most Want+1).
type SizeMismatchError struct {
	Name string
	Want int64
	Got  int64
}

// Error implements error.
func (e *SizeMismatchError) Error() string {
	if e.Got > e.Want {
		return fmt.Sprintf("%s: more than the expected %d bytes", e.Name, e.Want)
	}
	return fmt.Sprintf("%s: %d bytes, want %d", e.Name, e.Got, e.Want)
}

// Unwrap returns ErrSizeMismatch.
func (e *SizeMismatchError) Unwrap() error { return ErrSizeMismatch }

// MissingEntryError reports a file that a list (checksums file, manifest,
// SBOM, provenance) does not contain.
type MissingEntryError struct {
	Name string // the file looked for
	In   string // the list ("SHA256SUMS", "manifest.json", ...)
}

// Error implements error.
func (e *MissingEntryError) Error() string {
	return fmt.Sprintf("%s: no entry for %q", e.In, e.Name)
}

// Unwrap returns ErrMissingEntry.
func (e *MissingEntryError) Unwrap() error { return ErrMissingEntry }

// ArtifactMismatchError reports an artifact field that differs from the
// signed manifest's entry (or from the request it should answer).
type ArtifactMismatchError struct {
	Name  string // the artifact
	Field string // "name", "version", "os", "arch", "size", "sha256"
	Want  string
	Got   string
}

// Error implements error.
func (e *ArtifactMismatchError) Error() string {
	return fmt.Sprintf("artifact %s: %s is %q, the signed manifest says %q", e.Name, e.Field, e.Got, e.Want)
}

// Unwrap returns ErrArtifactMismatch.
func (e *ArtifactMismatchError) Unwrap() error { return ErrArtifactMismatch }
