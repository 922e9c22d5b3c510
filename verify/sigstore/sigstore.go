// Package sigstore verifies keyless signatures: sigstore bundles whose
// signing certificate Fulcio issued to an OIDC identity (a CI workflow, a
// person), logged in Rekor, checked against a trusted root
// (trusted_root.json) that the caller supplies.
//
// It is optional and separate from package verify because it imports
// sigstore-go (about 70 modules): a self-updater that only needs pinned
// keys imports verify alone.
//
// # Use
//
//	tr, err := sigstore.LoadTrustedRoot(trustedRootJSON) // pinned or fetched out of band
//	v, err := sigstore.NewVerifier(tr, sigstore.Identity{
//		Issuer:    "https://token.actions.githubusercontent.com",
//		SANRegexp: `^https://github\.com/example/hello/\.github/workflows/release\.yml@refs/tags/v`,
//	})
//	b, err := sigstore.ParseBundle(bundleJSON) // the bundle published with SHA256SUMS
//	res, err := v.Verify(b, bytes.NewReader(sums)) // the artifact, read once
//	fmt.Println("signed by", res.SAN)
//
// The whole program, each err checked, is [LoadTrustedRoot]'s example.
// The Result names the identity from the certificate.
//
// The identity is a required argument: there is no way to accept "any
// signer". Verification requires one transparency-log entry (inclusion
// proof or promise) and one observer timestamp (the log's integrated time
// or an RFC 3161 timestamp), and checks the certificate was valid at that
// time. Every refusal wraps ErrVerification.
//
// Trust material is never fetched here: pass a trusted root you obtained
// through TUF (sigstore-go's root.FetchTrustedRoot) or pinned.
package sigstore

import (
	"errors"
	"fmt"
	"io"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
)

// Limits on the inputs this package parses.
const (
	// MaxBundleSize is the largest bundle ParseBundle accepts.
	MaxBundleSize = 16 << 20
	// MaxTrustedRootSize is the largest trusted_root.json LoadTrustedRoot
	// accepts.
	MaxTrustedRootSize = 4 << 20
)

// ErrVerification is wrapped by every refusal of this package.
var ErrVerification = errors.New("sigstore verification failed")

// ErrTooLarge is wrapped when an input exceeds its limit.
var ErrTooLarge = errors.New("input too large")

// Error reports a refused bundle, trusted root or identity.
type Error struct {
	Step string // "bundle", "trusted root", "identity", "verify"
	Err  error
}

// Error implements error.
func (e *Error) Error() string { return "sigstore " + e.Step + ": " + e.Err.Error() }

// Unwrap returns ErrVerification and the cause.
func (e *Error) Unwrap() []error { return []error{ErrVerification, e.Err} }

// Identity is who must have signed: the OIDC issuer and the certificate's
// subject alternative name (an e-mail address or a workflow URI), each as
// an exact value or a regular expression. Both the issuer and the SAN are
// required.
type Identity struct {
	Issuer       string
	IssuerRegexp string
	SAN          string
	SANRegexp    string
}

// Verifier checks sigstore bundles against a trusted root and an identity.
type Verifier struct {
	v  *sgverify.Verifier
	id sgverify.CertificateIdentity
}

// NewVerifier returns a Verifier trusting the given material (a trusted
// root) for signatures by identity. It refuses an identity that does not
// pin both an issuer and a SAN.
func NewVerifier(trusted root.TrustedMaterial, identity Identity) (*Verifier, error) {
	if trusted == nil {
		return nil, &Error{Step: "trusted root", Err: errors.New("none given")}
	}
	if identity.Issuer == "" && identity.IssuerRegexp == "" || identity.SAN == "" && identity.SANRegexp == "" {
		return nil, &Error{Step: "identity", Err: errors.New("both an issuer and a SAN (value or regexp) are required")}
	}
	id, err := sgverify.NewShortCertificateIdentity(identity.Issuer, identity.IssuerRegexp, identity.SAN, identity.SANRegexp)
	if err != nil {
		return nil, &Error{Step: "identity", Err: err}
	}
	v, err := sgverify.NewVerifier(trusted, sgverify.WithTransparencyLog(1), sgverify.WithObserverTimestamps(1))
	if err != nil {
		return nil, &Error{Step: "verifier", Err: err}
	}
	return &Verifier{v: v, id: id}, nil
}

// Result is what a successful verification established.
type Result struct {
	// Issuer and SAN are the signer's identity from the certificate.
	Issuer string
	SAN    string
	// Raw is sigstore-go's full result.
	Raw *sgverify.VerificationResult
}

// Verify checks that entity (a parsed bundle, see ParseBundle) is a valid
// keyless signature over the bytes of artifact by the Verifier's identity.
// The artifact is read once, streaming.
func (v *Verifier) Verify(entity sgverify.SignedEntity, artifact io.Reader) (*Result, error) {
	if entity == nil || artifact == nil {
		return nil, &Error{Step: "verify", Err: errors.New("missing bundle or artifact")}
	}
	res, err := v.v.Verify(entity, sgverify.NewPolicy(sgverify.WithArtifact(artifact), sgverify.WithCertificateIdentity(v.id)))
	if err != nil {
		return nil, &Error{Step: "verify", Err: err}
	}
	r := &Result{Raw: res}
	// From the certificate: VerifiedIdentity is the policy that matched,
	// which holds no value when it was a regular expression.
	if res.Signature != nil && res.Signature.Certificate != nil {
		r.Issuer = res.Signature.Certificate.Issuer
		r.SAN = res.Signature.Certificate.SubjectAlternativeName
	}
	return r, nil
}

// ParseBundle decodes a sigstore bundle (JSON, media types v0.1 to v0.3)
// of at most MaxBundleSize bytes.
func ParseBundle(data []byte) (*bundle.Bundle, error) {
	if len(data) > MaxBundleSize {
		return nil, &Error{Step: "bundle", Err: fmt.Errorf("%w: larger than %d bytes", ErrTooLarge, MaxBundleSize)}
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		return nil, &Error{Step: "bundle", Err: err}
	}
	return &b, nil
}

// LoadTrustedRoot decodes a trusted_root.json of at most
// MaxTrustedRootSize bytes.
func LoadTrustedRoot(data []byte) (*root.TrustedRoot, error) {
	if len(data) > MaxTrustedRootSize {
		return nil, &Error{Step: "trusted root", Err: fmt.Errorf("%w: larger than %d bytes", ErrTooLarge, MaxTrustedRootSize)}
	}
	tr, err := root.NewTrustedRootFromJSON(data)
	if err != nil {
		return nil, &Error{Step: "trusted root", Err: err}
	}
	return tr, nil
}
