package verify

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"

	"github.com/relkit/relkit/manifest"
)

// envelopeLine is a DSSE envelope of payload signed by keys, as one
// .jsonl line.
func envelopeLine(t *testing.T, payload []byte, keys ...*testKey) []byte {
	t.Helper()
	type sig struct {
		KeyID string `json:"keyid"`
		Sig   string `json:"sig"`
	}
	env := struct {
		PayloadType string `json:"payloadType"`
		Payload     string `json:"payload"`
		Signatures  []sig  `json:"signatures"`
	}{PayloadType: "application/vnd.in-toto+json", Payload: base64.StdEncoding.EncodeToString(payload)}
	for _, k := range keys {
		id, err := KeyID(k.pub)
		if err != nil {
			t.Fatal(err)
		}
		env.Signatures = append(env.Signatures, sig{KeyID: id, Sig: base64.StdEncoding.EncodeToString(k.sign(t, dssePAE(env.PayloadType, payload)))})
	}
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// TestVerifyReleaseDSSEProvenance: a release whose provenance is only the
// signed provenance.intoto.jsonl verifies, its envelope signature checked
// with the trusted keys; an envelope signed by another key, or whose
// payload changed after signing, fails the release. (A release with only
// the older provenance.intoto.json is TestVerifyReleaseDir.)
func TestVerifyReleaseDSSEProvenance(t *testing.T) {
	k := newKey(t, "p256")
	other := newKey(t, "p256#other")
	v := verifier(t, ring(t, k))
	for _, tc := range []struct {
		name  string
		line  func(stmt []byte) []byte
		check CheckStatus
	}{
		{"signed by the release key", func(stmt []byte) []byte { return envelopeLine(t, stmt, k) }, Pass},
		{"signed by another key", func(stmt []byte) []byte { return envelopeLine(t, stmt, other) }, Fail},
		{"payload changed after signing", func(stmt []byte) []byte {
			var env map[string]any
			json.Unmarshal(envelopeLine(t, stmt, k), &env)
			env["payload"] = base64.StdEncoding.EncodeToString(append(stmt, ' '))
			b, _ := json.Marshal(env)
			return b
		}, Fail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, k)
			stmt := f.files[f.p(manifest.ProvenanceFile)]
			delete(f.files, f.p(manifest.ProvenanceFile))
			f.files[f.p(manifest.ProvenanceDSSEFile)] = tc.line(stmt)
			rep, err := v.VerifyRelease(bg, Dir(f.write(t)), ReleaseOptions{})
			checkStatus(t, rep, "provenance signature "+manifest.ProvenanceDSSEFile+"#1", tc.check)
			if tc.check == Pass {
				if err != nil {
					t.Fatalf("%v\n%s", err, rep.Markdown())
				}
				checkStatus(t, rep, "provenance agrees: hello-1.2.0-linux-arm64.tar.gz", Pass)
				return
			}
			if err == nil || rep.OK || !errors.Is(err, ErrBadSignature) {
				t.Fatalf("got %v (ok %v), want a failure wrapping ErrBadSignature", err, rep.OK)
			}
		})
	}
}
