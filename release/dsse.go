package release

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/sign"
)

// ProvenanceDSSEFile is the name of the signed provenance: the statement
// of [ProvenanceFile] as a DSSE envelope, one JSON object per line.
// "*.intoto.jsonl" is the name OpenSSF Scorecard's signed-releases check
// counts as provenance.
const ProvenanceDSSEFile = "provenance.intoto.jsonl"

// InTotoPayloadType is the DSSE payloadType of an in-toto statement.
const InTotoPayloadType = "application/vnd.in-toto+json"

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

// signEnvelope wraps payload in a DSSE envelope signed by every signer.
func signEnvelope(ctx context.Context, payloadType string, payload []byte, signers []sign.Signer) (*Envelope, error) {
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

// stageEnvelope writes stmt as a signed DSSE envelope into
// ProvenanceDSSEFile.
func (p *Provenance) stageEnvelope(ctx context.Context, st *State, stmt *Statement) error {
	var payload bytes.Buffer
	if err := writeJSON(&payload, stmt); err != nil {
		return err
	}
	env, err := signEnvelope(ctx, InTotoPayloadType, payload.Bytes(), p.Signers)
	if err != nil {
		return err
	}
	a, err := st.stageFile(ProvenanceDSSEFile, manifest.KindProvenance, manifest.Platform{}, func(w io.Writer) error {
		line, err := json.Marshal(env)
		if err != nil {
			return err
		}
		_, err = w.Write(append(line, '\n'))
		return err
	})
	if err != nil {
		return err
	}
	st.AddArtifact(a)
	return nil
}
