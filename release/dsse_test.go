package release

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/release/provenance"
	"github.com/relkit/relkit/sign"
)

// TestProvenanceDSSE: with Signers the provenance stage also writes
// provenance.intoto.jsonl, one DSSE envelope whose payload is the
// statement of provenance.intoto.json and whose signature by the release
// key verifies over PAE; SHA256SUMS lists both files, and two runs write
// the same envelope bytes.
func TestProvenanceDSSE(t *testing.T) {
	signer, _ := newSigner(t)
	var envs [2][]byte
	for i := range envs {
		st := lightState(t)
		p := &Pipeline{Logger: testLogger(t), Stages: []Stage{
			&Package{}, &SBOM{}, &Provenance{SourceURI: "git+https://github.com/example/hello", Signers: []sign.Signer{signer}}, Checksums{},
		}}
		if err := p.Run(t.Context(), st); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(st.VersionDir(), manifest.ProvenanceDSSEFile))
		if err != nil {
			t.Fatal(err)
		}
		envs[i] = data
		if bytes.Count(data, []byte("\n")) != 1 || data[len(data)-1] != '\n' {
			t.Fatalf("not one JSON line: %q", data)
		}
		var env provenance.Envelope
		if err := json.Unmarshal(data, &env); err != nil {
			t.Fatal(err)
		}
		payload, err := base64.StdEncoding.DecodeString(env.Payload)
		if err != nil {
			t.Fatal(err)
		}
		plain, _ := os.ReadFile(filepath.Join(st.VersionDir(), manifest.ProvenanceFile))
		if env.PayloadType != provenance.InTotoPayloadType || !bytes.Equal(payload, plain) {
			t.Errorf("payloadType %q, payload is the statement: %v", env.PayloadType, bytes.Equal(payload, plain))
		}
		if len(env.Signatures) != 1 || env.Signatures[0].KeyID != signer.KeyID() {
			t.Fatalf("signatures %+v", env.Signatures)
		}
		sig, _ := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
		sum := sha256.Sum256(provenance.PAE(env.PayloadType, payload))
		if !ecdsa.VerifyASN1(signer.PublicKey().(*ecdsa.PublicKey), sum[:], sig) {
			t.Error("the envelope signature does not verify over PAE")
		}
		for _, name := range []string{manifest.ProvenanceFile, manifest.ProvenanceDSSEFile} {
			a, ok := st.Artifact(name)
			if !ok || a.Kind != manifest.KindProvenance {
				t.Errorf("%s not staged as provenance: %+v", name, a)
			}
			sums, _ := os.ReadFile(filepath.Join(st.VersionDir(), manifest.ChecksumsFile))
			if !bytes.Contains(sums, []byte("  "+name+"\n")) {
				t.Errorf("SHA256SUMS lacks %s", name)
			}
		}
	}
	if !bytes.Equal(envs[0], envs[1]) {
		t.Error("two runs wrote different envelopes")
	}
}
