package verify

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// maxEnvelopes bounds the envelopes one provenance file may hold.
const maxEnvelopes = 64

// signedEnvelope is a DSSE envelope with its signatures.
type signedEnvelope struct {
	PayloadType string `json:"payloadType"`
	Payload     string `json:"payload"`
	Signatures  []struct {
		KeyID string `json:"keyid"`
		Sig   string `json:"sig"`
	} `json:"signatures"`
}

// dssePAE is DSSE's pre-authentication encoding, the signed bytes.
func dssePAE(payloadType string, payload []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "DSSEv1 %d %s %d ", len(payloadType), payloadType, len(payload))
	b.Write(payload)
	return b.Bytes()
}

// parseEnvelopes reads the DSSE envelopes of a .jsonl file (one per
// non-empty line; a single JSON document spanning lines is accepted too).
func parseEnvelopes(file string, data []byte) ([]signedEnvelope, error) {
	var out []signedEnvelope
	var one signedEnvelope
	if err := json.Unmarshal(data, &one); err == nil {
		return append(out, one), nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), MaxProvenanceSize)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if len(out) >= maxEnvelopes {
			return nil, &FormatError{File: file, Reason: fmt.Sprintf("more than %d envelopes", maxEnvelopes)}
		}
		var env signedEnvelope
		if err := json.Unmarshal(b, &env); err != nil {
			return nil, &FormatError{File: file, Reason: fmt.Sprintf("line %d is not a DSSE envelope", line), Err: err}
		}
		out = append(out, env)
	}
	if err := sc.Err(); err != nil {
		return nil, &FormatError{File: file, Reason: "unreadable", Err: err}
	}
	if len(out) == 0 {
		return nil, &FormatError{File: file, Reason: "no envelope"}
	}
	return out, nil
}

// verifyEnvelope checks an envelope's signatures against v's trusted keys
// (the threshold of distinct keys, as for any release file) and returns
// its payload and the IDs of the keys that signed it.
func (v *Verifier) verifyEnvelope(file string, env signedEnvelope) ([]byte, []string, error) {
	if env.PayloadType != "application/vnd.in-toto+json" {
		return nil, nil, &FormatError{File: file, Reason: fmt.Sprintf("DSSE payloadType %q", env.PayloadType)}
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return nil, nil, &FormatError{File: file, Reason: "DSSE payload is not base64", Err: err}
	}
	pae := dssePAE(env.PayloadType, payload)
	sum := sha256.Sum256(pae)
	set := &SignatureSet{Schema: SignaturesSchema}
	for _, s := range env.Signatures {
		sig, err := base64.StdEncoding.DecodeString(s.Sig)
		if err != nil || len(sig) == 0 {
			continue // counts as no signature from that key
		}
		algs := []string{AlgECDSASHA256}
		if k, ok := v.keys.keys[strings.ToLower(s.KeyID)]; ok {
			algs = Algorithms(k.pub)
		}
		for _, alg := range algs {
			set.Signatures = append(set.Signatures, SignatureEntry{KeyID: strings.ToLower(s.KeyID), Algorithm: alg, File: file, SHA256: hex.EncodeToString(sum[:]), Signature: sig})
		}
	}
	ids, err := v.VerifySignatures(file, pae, Signatures{Set: set})
	if err != nil {
		return nil, nil, err
	}
	return payload, ids, nil
}
