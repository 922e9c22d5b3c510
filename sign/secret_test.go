package sign

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// TestKeyMaterialNeverPrinted formats and logs key pairs and signers every
// way a careless caller might, and checks no private key appears.
func TestKeyMaterialNeverPrinted(t *testing.T) {
	kp, err := GenerateEd25519Key()
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSigner(kp.PrivatePEM, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The base64 body of the private key, without the PEM armour.
	body := strings.Split(string(kp.PrivatePEM), "\n")[1]

	var out bytes.Buffer
	for _, v := range []any{kp, *kp, s, *s} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
			fmt.Fprintf(&out, verb+"\n", v)
		}
		fmt.Fprintln(&out, v)
	}
	logger := slog.New(slog.NewTextHandler(&out, nil))
	logger.Info("keys", "pair", kp, "pairValue", *kp, "signer", s, "signerValue", *s)
	jl := slog.New(slog.NewJSONHandler(&out, nil))
	jl.Info("keys", "pair", kp, "signer", s)

	text := out.String()
	decimal := strings.Trim(fmt.Sprint(kp.PrivatePEM[:12]), "[]") // how %v prints []byte
	if strings.Contains(text, "PRIVATE") || strings.Contains(text, body) || strings.Contains(text, decimal) {
		t.Fatalf("key material printed:\n%s", text)
	}
	if !strings.Contains(text, s.KeyID()) {
		t.Fatalf("output does not even name the key:\n%s", text)
	}
	// A KeySigner's private key (an ed25519.PrivateKey is a byte slice)
	// must not appear in any form either.
	if strings.Contains(text, fmt.Sprint([]byte(s.key.(interface{ Seed() []byte }).Seed()))) {
		t.Fatalf("private key bytes printed:\n%s", text)
	}
}
