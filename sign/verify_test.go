package sign

import (
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/relkit/relkit/verify"
)

// acceptedByVerify reports whether package verify accepts sig over msg by
// pub with algorithm alg, both as a signatures.json entry (which names the
// key and algorithm) and as a detached .sig file (which names neither).
func acceptedByVerify(t testing.TB, pub crypto.PublicKey, alg string, msg, sig []byte) error {
	t.Helper()
	pemKey, err := verify.MarshalPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := verify.NewKeyRing(pemKey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.NewVerifier(ring)
	if err != nil {
		t.Fatal(err)
	}
	id, err := verify.KeyID(pub)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(msg)
	set := &verify.SignatureSet{}
	if err := set.Add(verify.SignatureEntry{KeyID: id, Algorithm: alg, File: "f", SHA256: hex.EncodeToString(sum[:]), Signature: sig}); err != nil {
		t.Fatalf("verify refuses the signatures.json entry: %v", err)
	}
	_, errSet := v.VerifySignatures("f", msg, verify.Signatures{Set: set})
	_, errDetached := v.VerifySignatures("f", msg, verify.Signatures{Detached: verify.EncodeSignature(sig)})
	return errors.Join(errSet, errDetached)
}
