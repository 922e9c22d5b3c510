package provenance_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"testing"

	"github.com/relkit/relkit/release/provenance"
	"github.com/relkit/relkit/sign"
)

func newSigner(t testing.TB) (sign.Signer, *ecdsa.PublicKey) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sign.NewSigner(k, "")
	if err != nil {
		t.Fatal(err)
	}
	return s, &k.PublicKey
}

// TestSign: the envelope carries the payload, one signature per signer
// that verifies over PAE, encodes as one JSON line, and is the same for
// the same payload (the key is deterministic); no signers is an error.
func TestSign(t *testing.T) {
	s, pub := newSigner(t)
	payload := []byte(`{"_type":"https://in-toto.io/Statement/v1"}`)
	env, err := provenance.Sign(t.Context(), provenance.InTotoPayloadType, payload, []sign.Signer{s, s})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := base64.StdEncoding.DecodeString(env.Payload); !bytes.Equal(got, payload) || env.PayloadType != provenance.InTotoPayloadType {
		t.Fatalf("envelope %+v does not carry the payload", env)
	}
	if len(env.Signatures) != 2 {
		t.Fatalf("%d signatures, want 2", len(env.Signatures))
	}
	sum := sha256.Sum256(provenance.PAE(env.PayloadType, payload))
	for _, sig := range env.Signatures {
		raw, _ := base64.StdEncoding.DecodeString(sig.Sig)
		if sig.KeyID != s.KeyID() || !ecdsa.VerifyASN1(pub, sum[:], raw) {
			t.Errorf("signature %+v does not verify over PAE", sig)
		}
	}
	line, err := env.MarshalLine()
	if err != nil {
		t.Fatal(err)
	}
	var back provenance.Envelope
	if bytes.Count(line, []byte("\n")) != 1 || line[len(line)-1] != '\n' || json.Unmarshal(line, &back) != nil {
		t.Fatalf("not one JSON line: %q", line)
	}
	again, _ := provenance.Sign(t.Context(), provenance.InTotoPayloadType, payload, []sign.Signer{s, s})
	if again2, _ := again.MarshalLine(); !bytes.Equal(again2, line) {
		t.Error("the same payload and key gave another envelope")
	}
	if _, err := provenance.Sign(t.Context(), provenance.InTotoPayloadType, payload, nil); err == nil {
		t.Error("Sign without signers succeeded")
	}
}

// TestMarshalDeterministic: a statement's bytes are indented JSON with a
// final newline and unescaped HTML characters, the same on every call.
func TestMarshalDeterministic(t *testing.T) {
	st := &provenance.Statement{Type: provenance.InTotoStatementType, PredicateType: provenance.SLSAProvenanceType,
		Subject: []provenance.Subject{{Name: "a&b.tar.gz", Digest: map[string]string{"sha256": "00"}}}}
	a, err := st.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := st.Marshal()
	if !bytes.Equal(a, b) || !bytes.HasSuffix(a, []byte("}\n")) || !bytes.Contains(a, []byte("\n  \"subject\"")) || !bytes.Contains(a, []byte("a&b")) {
		t.Errorf("Marshal: %s", a)
	}
}

// ExamplePAE shows the bytes a DSSE signature covers.
func ExamplePAE() {
	os.Stdout.Write(provenance.PAE("application/vnd.in-toto+json", []byte(`{"_type":"..."}`)))
	// Output: DSSEv1 28 application/vnd.in-toto+json 15 {"_type":"..."}
}

// Sign a statement into the one line of provenance.intoto.jsonl.
func ExampleSign() {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, _ := sign.NewSigner(k, "")
	stmt := &provenance.Statement{Type: provenance.InTotoStatementType, PredicateType: provenance.SLSAProvenanceType,
		Subject: []provenance.Subject{{Name: "hello-1.2.0-linux-amd64.tar.gz", Digest: map[string]string{"sha256": "..."}}}}
	payload, err := stmt.Marshal() // the bytes of provenance.intoto.json
	if err != nil {
		log.Fatal(err)
	}
	env, err := provenance.Sign(context.Background(), provenance.InTotoPayloadType, payload, []sign.Signer{signer})
	if err != nil {
		log.Fatal(err)
	}
	line, _ := env.MarshalLine()
	fmt.Println(env.PayloadType, len(env.Signatures), line[len(line)-1] == '\n')
	// Output: application/vnd.in-toto+json 1 true
}
