package sign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/relkit/relkit/verify"
)

// testPassword is the password of the cosign test keys in testdata.
const testPassword = "relkit-test-password"

// stdVerify checks sig over msg with the standard library alone, as an
// independent second opinion next to package verify.
func stdVerify(pub crypto.PublicKey, alg string, msg, sig []byte) error {
	digest := sha256.Sum256(msg)
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if alg != verify.AlgECDSASHA256 {
			return fmt.Errorf("ECDSA key with algorithm %q", alg)
		}
		if !ecdsa.VerifyASN1(k, digest[:], sig) {
			return fmt.Errorf("ECDSA signature does not verify")
		}
		return nil
	case ed25519.PublicKey:
		if alg != verify.AlgEd25519 {
			return fmt.Errorf("Ed25519 key with algorithm %q", alg)
		}
		if !ed25519.Verify(k, msg, sig) {
			return fmt.Errorf("Ed25519 signature does not verify")
		}
		return nil
	case *rsa.PublicKey:
		switch alg {
		case verify.AlgRSAPKCS1v15SHA256:
			return rsa.VerifyPKCS1v15(k, crypto.SHA256, digest[:], sig)
		case verify.AlgRSAPSSSHA256:
			// Exactly the salt length the wire format prescribes.
			return rsa.VerifyPSS(k, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: sha256.Size})
		}
		return fmt.Errorf("RSA key with algorithm %q", alg)
	}
	return fmt.Errorf("key type %T", pub)
}

// signBytes signs msg with s.
func signBytes(t testing.TB, s Signer, msg []byte) []byte {
	t.Helper()
	sig, err := s.Sign(context.Background(), bytes.NewReader(msg))
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return sig
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, name string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// unsetEnv unsets key for the rest of the test; call t.Setenv(key, ...)
// first so that the old value is restored afterwards.
func unsetEnv(t testing.TB, key string) {
	t.Helper()
	if err := os.Unsetenv(key); err != nil {
		t.Fatal(err)
	}
}
