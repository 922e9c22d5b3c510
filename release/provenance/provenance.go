// Package provenance holds the wire types of relkit's build provenance:
// an in-toto Statement v1 whose predicate is SLSA provenance v1
// ([Statement]), and the DSSE envelope that signs it ([Envelope], [PAE],
// [Sign]).
//
// It knows nothing of the release pipeline: the release package's
// Provenance stage fills a Statement from what it built and writes it as
// [manifest.ProvenanceFile], and with signers as a signed envelope in [manifest.ProvenanceDSSEFile]. Readers of a
// published release (verify.VerifyRelease, slsa-verifier style tools,
// OpenSSF Scorecard) read the same two files.
//
// # Format
//
// [manifest.ProvenanceFile] holds one Statement as indented JSON. [manifest.ProvenanceDSSEFile] holds one
// Envelope per line ("JSON lines"); its payload is the bytes of [manifest.ProvenanceFile] and
// its payloadType is [InTotoPayloadType]. Each signature covers
// PAE(payloadType, payload), as DSSE specifies
// (https://github.com/secure-systems-lab/dsse), and names its key by
// relkit's key ID (the SHA-256 of the key's DER encoding). The identifiers
// below are part of the format and never change within a major version.
package provenance

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/relkit/relkit/sign"
)

// In-toto, SLSA and DSSE identifiers relkit writes.
const (
	// InTotoStatementType is a Statement's _type.
	InTotoStatementType = "https://in-toto.io/Statement/v1"
	// SLSAProvenanceType is a Statement's predicateType.
	SLSAProvenanceType = "https://slsa.dev/provenance/v1"
	// InTotoPayloadType is the DSSE payloadType of an in-toto statement.
	InTotoPayloadType = "application/vnd.in-toto+json"
	// DefaultBuildType is the buildType of relkit's provenance: the
	// external parameters are repository, ref, commit, version, goVersion
	// and targets.
	DefaultBuildType = "https://github.com/relkit/relkit/release/buildtypes/go-cross/v1"
	// DefaultBuilderID identifies relkit's release pipeline as the
	// builder when the release names none.
	DefaultBuilderID = "https://github.com/relkit/relkit/release"
)

// Statement is an in-toto Statement v1 (the fields relkit writes).
type Statement struct {
	Type          string        `json:"_type"`
	Subject       []Subject     `json:"subject"`
	PredicateType string        `json:"predicateType"`
	Predicate     SLSAPredicate `json:"predicate"`
}

// Subject is one artifact a statement is about.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// SLSAPredicate is the SLSA provenance v1 predicate.
type SLSAPredicate struct {
	BuildDefinition BuildDefinition `json:"buildDefinition"`
	RunDetails      RunDetails      `json:"runDetails"`
}

// BuildDefinition is SLSA's description of the build's inputs.
type BuildDefinition struct {
	BuildType            string               `json:"buildType"`
	ExternalParameters   ExternalParameters   `json:"externalParameters"`
	ResolvedDependencies []ResourceDescriptor `json:"resolvedDependencies,omitempty"`
}

// ExternalParameters are the inputs the release was asked for.
type ExternalParameters struct {
	Repository string   `json:"repository"`
	Ref        string   `json:"ref,omitempty"`
	Commit     string   `json:"commit,omitempty"`
	Version    string   `json:"version"`
	GoVersion  string   `json:"goVersion"`
	Targets    []string `json:"targets"`
}

// ResourceDescriptor is an in-toto resource descriptor.
type ResourceDescriptor struct {
	URI    string            `json:"uri"`
	Digest map[string]string `json:"digest,omitempty"`
}

// RunDetails names the builder.
type RunDetails struct {
	Builder Builder `json:"builder"`
}

// Builder identifies the build platform.
type Builder struct {
	ID string `json:"id"`
}

// Marshal returns the bytes of [manifest.ProvenanceFile] for s: indented JSON with a final
// newline, HTML characters unescaped. The same statement always gives
// the same bytes.
func (s *Statement) Marshal() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Envelope is a DSSE envelope (https://github.com/secure-systems-lab/dsse).
type Envelope struct {
	PayloadType string              `json:"payloadType"`
	Payload     string              `json:"payload"`
	Signatures  []EnvelopeSignature `json:"signatures"`
}

// EnvelopeSignature is one signature of a DSSE envelope: the key ID
// (relkit's: the SHA-256 of the key's DER encoding) and the base64
// signature over PAE(payloadType, payload).
type EnvelopeSignature struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"`
}

// PAE is DSSE's pre-authentication encoding, the bytes a DSSE signature
// covers: "DSSEv1 <len(type)> <type> <len(body)> <body>".
func PAE(payloadType string, payload []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "DSSEv1 %d %s %d ", len(payloadType), payloadType, len(payload))
	b.Write(payload)
	return b.Bytes()
}

// Sign wraps payload in a DSSE envelope signed by every signer, in order.
// With a deterministic signer (an in-process ECDSA, Ed25519 or RSA
// PKCS#1 v1.5 key) the same payload gives the same envelope.
func Sign(ctx context.Context, payloadType string, payload []byte, signers []sign.Signer) (*Envelope, error) {
	if len(signers) == 0 {
		return nil, errors.New("provenance: Sign: no signers")
	}
	env := &Envelope{PayloadType: payloadType, Payload: base64.StdEncoding.EncodeToString(payload)}
	pae := PAE(payloadType, payload)
	for _, s := range signers {
		sig, err := s.Sign(ctx, bytes.NewReader(pae))
		if err != nil {
			return nil, fmt.Errorf("sign the provenance envelope with %s: %w", s.KeyID(), err)
		}
		env.Signatures = append(env.Signatures, EnvelopeSignature{KeyID: s.KeyID(), Sig: base64.StdEncoding.EncodeToString(sig)})
	}
	return env, nil
}

// MarshalLine returns the envelope as one line of [manifest.ProvenanceDSSEFile]: compact JSON
// and a newline.
func (e *Envelope) MarshalLine() ([]byte, error) {
	line, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	return append(line, '\n'), nil
}
