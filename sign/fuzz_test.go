package sign

import (
	"errors"
	"testing"

	"github.com/relkit/relkit/verify"
)

// FuzzParsePrivateKeyPEM feeds arbitrary bytes to the PEM private key
// parser. It must never panic; a key it accepts must be one package verify
// accepts and NewSigner can use; a refusal must be a *KeyError wrapping one
// of the documented sentinels. Seeds are in testdata/fuzz.
func FuzzParsePrivateKeyPEM(f *testing.F) {
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := ParsePrivateKeyPEM(data)
		if err != nil {
			var ke *KeyError
			if !errors.As(err, &ke) {
				t.Fatalf("error %T is not a *KeyError: %v", err, err)
			}
			if !errors.Is(err, ErrInvalidKey) && !errors.Is(err, ErrUnsupportedKey) && !errors.Is(err, ErrEncryptedKey) {
				t.Fatalf("error wraps no documented sentinel: %v", err)
			}
			if key != nil {
				t.Fatal("key returned with an error")
			}
			return
		}
		if _, err := verify.MarshalPublicKey(key.Public()); err != nil {
			t.Fatalf("accepted a key verify refuses: %v", err)
		}
		if _, err := NewSigner(key, ""); err != nil {
			t.Fatalf("accepted key does not make a signer: %v", err)
		}
	})
}
