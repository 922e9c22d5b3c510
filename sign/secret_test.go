package sign

import (
	"bytes"
	"errors"
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

// A nil PassFunc reads no environment variable (issue 16 item 3: the
// library reads the environment only in explicit helpers): an encrypted
// key then needs EnvPassword, or Password, passed explicitly.
func TestNilPassFuncReadsNoEnvironment(t *testing.T) {
	kp, err := GenerateCosignKeyPair(Password("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(PasswordEnv, "s3cret")
	if _, err := LoadCosignKey(kp.PrivatePEM, nil); !errors.Is(err, ErrNoPassword) {
		t.Fatalf("LoadCosignKey(key, nil) with %s set = %v, want ErrNoPassword", PasswordEnv, err)
	}
	if _, err := LoadCosignKey(kp.PrivatePEM, EnvPassword); err != nil {
		t.Fatalf("LoadCosignKey(key, EnvPassword): %v", err)
	}
	if _, err := GenerateCosignKeyPair(nil); !errors.Is(err, ErrNoPassword) {
		t.Fatalf("GenerateCosignKeyPair(nil) with %s set = %v, want ErrNoPassword", PasswordEnv, err)
	}
}
