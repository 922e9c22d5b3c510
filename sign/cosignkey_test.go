package sign

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/nacl/secretbox"
	"golang.org/x/crypto/scrypt"
)

// The cosign key format, written out here from its specification rather
// than from the code under test: the PEM body of an "ENCRYPTED SIGSTORE
// PRIVATE KEY" is the JSON
//
//	{"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":"<32 bytes, base64>"},
//	 "cipher":{"name":"nacl/secretbox","nonce":"<24 bytes, base64>"},
//	 "ciphertext":"<secretbox.Seal of the PKCS#8 DER, base64>"}
//
// with the secretbox key scrypt(password, salt, N, r, p, 32). This is what
// go-securesystemslib's encrypted package (which cosign calls) writes.

// handKey is a cosign key body built by hand, to be mutated by a test.
type handKey struct {
	KDF struct {
		Name   string `json:"name"`
		Params struct {
			N int `json:"N"`
			R int `json:"r"`
			P int `json:"p"`
		} `json:"params"`
		Salt []byte `json:"salt"`
	} `json:"kdf"`
	Cipher struct {
		Name  string `json:"name"`
		Nonce []byte `json:"nonce"`
	} `json:"cipher"`
	Ciphertext []byte `json:"ciphertext"`
}

// sealByHand encrypts plaintext as cosign does, with the scrypt cost n.
func sealByHand(t testing.TB, plaintext []byte, password string, n int) handKey {
	t.Helper()
	var h handKey
	h.KDF.Name = "scrypt"
	h.KDF.Params.N, h.KDF.Params.R, h.KDF.Params.P = n, 8, 1
	h.KDF.Salt = make([]byte, 32)
	h.Cipher.Name = "nacl/secretbox"
	h.Cipher.Nonce = make([]byte, 24)
	if _, err := rand.Read(h.KDF.Salt); err != nil {
		t.Fatal(err)
	}
	if _, err := rand.Read(h.Cipher.Nonce); err != nil {
		t.Fatal(err)
	}
	k, err := scrypt.Key([]byte(password), h.KDF.Salt, n, 8, 1, 32)
	if err != nil {
		t.Fatal(err)
	}
	var key [32]byte
	var nonce [24]byte
	copy(key[:], k)
	copy(nonce[:], h.Cipher.Nonce)
	h.Ciphertext = secretbox.Seal(nil, plaintext, &nonce, &key)
	return h
}

// pemOf encodes a (possibly mutated) key body as a cosign PEM block.
func (h handKey) pemOf(t testing.TB, typ string) []byte {
	t.Helper()
	body, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: body})
}

func p256PKCS8(t testing.TB) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return k, der
}

// TestCosignKeyByHand: a key encrypted by hand from the format's
// specification, with each scrypt cost cosign accepts and under both PEM
// types cosign reads, loads with LoadCosignKey and is the key we sealed.
func TestCosignKeyByHand(t *testing.T) {
	const pw = "hand-made"
	priv, der := p256PKCS8(t)
	for _, n := range []int{1 << 15, 1 << 16, 1 << 17} {
		h := sealByHand(t, der, pw, n)
		for _, typ := range []string{"ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY"} {
			s, err := LoadCosignKey(h.pemOf(t, typ), Password(pw))
			if err != nil {
				t.Fatalf("N=%d %s: %v", n, typ, err)
			}
			if !priv.PublicKey.Equal(s.PublicKey()) {
				t.Fatalf("N=%d %s: loaded a different key", n, typ)
			}
		}
	}
}

// TestGenerateCosignKeyPairFormat: what GenerateCosignKeyPair writes is
// exactly the format "cosign generate-key-pair" writes: the PEM type, the
// JSON fields and their names, scrypt N=65536 r=8 p=1 with a 32-byte salt,
// a 24-byte nonce, and a ciphertext that opens by hand to the PKCS#8 DER of
// an ECDSA P-256 key matching PublicPEM.
func TestGenerateCosignKeyPairFormat(t *testing.T) {
	const pw = "format"
	kp, err := GenerateCosignKeyPair(Password(pw))
	if err != nil {
		t.Fatal(err)
	}
	block, rest := pem.Decode(kp.PrivatePEM)
	if block == nil || block.Type != "ENCRYPTED SIGSTORE PRIVATE KEY" || len(block.Headers) != 0 || len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("private PEM is not one ENCRYPTED SIGSTORE PRIVATE KEY block:\n%s", kp.PrivatePEM)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(block.Bytes, &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw) != 3 || raw["kdf"] == nil || raw["cipher"] == nil || raw["ciphertext"] == nil {
		t.Fatalf("top-level JSON fields: %s", block.Bytes)
	}
	fields := map[string]map[string]any{}
	for _, k := range []string{"kdf", "cipher"} {
		m := map[string]any{}
		if err := json.Unmarshal(raw[k], &m); err != nil {
			t.Fatal(err)
		}
		fields[k] = m
	}
	if got := fields["kdf"]["name"]; got != "scrypt" {
		t.Errorf("kdf name %v", got)
	}
	params, _ := fields["kdf"]["params"].(map[string]any)
	if len(params) != 3 || params["N"] != 65536.0 || params["r"] != 8.0 || params["p"] != 1.0 {
		t.Errorf("kdf params %v, want N=65536 r=8 p=1", params)
	}
	if got := fields["cipher"]["name"]; got != "nacl/secretbox" {
		t.Errorf("cipher name %v", got)
	}
	var h handKey
	if err := json.Unmarshal(block.Bytes, &h); err != nil {
		t.Fatal(err)
	}
	if len(h.KDF.Salt) != 32 || len(h.Cipher.Nonce) != 24 {
		t.Fatalf("salt %d bytes, nonce %d bytes; want 32 and 24", len(h.KDF.Salt), len(h.Cipher.Nonce))
	}
	k, err := scrypt.Key([]byte(pw), h.KDF.Salt, 65536, 8, 1, 32)
	if err != nil {
		t.Fatal(err)
	}
	var key [32]byte
	var nonce [24]byte
	copy(key[:], k)
	copy(nonce[:], h.Cipher.Nonce)
	der, ok := secretbox.Open(nil, h.Ciphertext, &nonce, &key)
	if !ok {
		t.Fatal("ciphertext does not open by hand with the password")
	}
	pk, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		t.Fatal(err)
	}
	ec, ok := pk.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		t.Fatalf("private key is %T, want ECDSA P-256", pk)
	}
	pubBlock, _ := pem.Decode(kp.PublicPEM)
	if pubBlock == nil || pubBlock.Type != "PUBLIC KEY" {
		t.Fatalf("public PEM:\n%s", kp.PublicPEM)
	}
	pub, err := x509.ParsePKIXPublicKey(pubBlock.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !ec.PublicKey.Equal(pub) {
		t.Fatal("PublicPEM is not the private key's public key")
	}
	// Two generations never share a salt or a nonce.
	kp2, err := GenerateCosignKeyPair(Password(pw))
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := pem.Decode(kp2.PrivatePEM)
	var h2 handKey
	if err := json.Unmarshal(b2.Bytes, &h2); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(h.KDF.Salt, h2.KDF.Salt) || bytes.Equal(h.Cipher.Nonce, h2.Cipher.Nonce) {
		t.Fatal("two generated keys share a salt or a nonce")
	}
}

// TestCosignKeyHostile: a cosign key file is input, and may be hostile or
// damaged. Every bad file is refused with a *KeyError wrapping the right
// sentinel, never a panic, and a file whose scrypt parameters would cost
// more than cosign's own (a huge N, r or p: seconds to hours of CPU and up
// to terabytes of memory) is refused before any key derivation, in bounded
// time.
func TestCosignKeyHostile(t *testing.T) {
	const pw = "hostile"
	_, der := p256PKCS8(t)
	good := sealByHand(t, der, pw, 1<<15)
	// Sanity: the unmutated key loads.
	if _, err := LoadCosignKey(good.pemOf(t, pemCosign), Password(pw)); err != nil {
		t.Fatal(err)
	}
	mut := func(f func(h *handKey)) []byte {
		h := good
		h.KDF.Salt = bytes.Clone(good.KDF.Salt)
		h.Cipher.Nonce = bytes.Clone(good.Cipher.Nonce)
		h.Ciphertext = bytes.Clone(good.Ciphertext)
		f(&h)
		return h.pemOf(t, pemCosign)
	}
	body := func(s string) []byte {
		return pem.EncodeToMemory(&pem.Block{Type: pemCosign, Bytes: []byte(s)})
	}
	notPKCS8 := sealByHand(t, []byte("not a PKCS#8 key"), pw, 1<<15)
	truncDER := sealByHand(t, []byte("0\x82"), pw, 1<<15) // a DER header and nothing else

	cases := []struct {
		name string
		pem  []byte
		pw   string
		want error
		// fast: refused before scrypt runs, so in well under a second
		// even on a loaded machine.
		fast bool
	}{
		{"wrong password", good.pemOf(t, pemCosign), "not-it", ErrWrongPassword, false},
		{"empty password for a protected key", good.pemOf(t, pemCosign), "", ErrWrongPassword, false},
		{"huge N", mut(func(h *handKey) { h.KDF.Params.N = 1 << 40 }), pw, ErrInvalidKey, true},
		{"N 2^20 (1 GiB of memory)", mut(func(h *handKey) { h.KDF.Params.N = 1 << 20 }), pw, ErrInvalidKey, true},
		{"N not a power of two", mut(func(h *handKey) { h.KDF.Params.N = 65535 }), pw, ErrInvalidKey, true},
		{"N zero", mut(func(h *handKey) { h.KDF.Params.N = 0 }), pw, ErrInvalidKey, true},
		{"negative N", mut(func(h *handKey) { h.KDF.Params.N = -(1 << 16) }), pw, ErrInvalidKey, true},
		{"huge r", mut(func(h *handKey) { h.KDF.Params.R = 1 << 30 }), pw, ErrInvalidKey, true},
		{"huge p", mut(func(h *handKey) { h.KDF.Params.P = 1 << 30 }), pw, ErrInvalidKey, true},
		{"r zero", mut(func(h *handKey) { h.KDF.Params.R = 0 }), pw, ErrInvalidKey, true},
		{"unknown kdf", mut(func(h *handKey) { h.KDF.Name = "argon2id" }), pw, ErrInvalidKey, true},
		{"unknown cipher", mut(func(h *handKey) { h.Cipher.Name = "aes-gcm" }), pw, ErrInvalidKey, true},
		{"short nonce", mut(func(h *handKey) { h.Cipher.Nonce = h.Cipher.Nonce[:23] }), pw, ErrInvalidKey, true},
		{"no nonce", mut(func(h *handKey) { h.Cipher.Nonce = nil }), pw, ErrInvalidKey, true},
		{"long nonce", mut(func(h *handKey) { h.Cipher.Nonce = append(h.Cipher.Nonce, 0) }), pw, ErrInvalidKey, true},
		{"ciphertext truncated below the authenticator", mut(func(h *handKey) { h.Ciphertext = h.Ciphertext[:secretbox.Overhead-1] }), pw, ErrInvalidKey, true},
		{"no ciphertext", mut(func(h *handKey) { h.Ciphertext = nil }), pw, ErrInvalidKey, true},
		// The cipher cannot tell a damaged body from a wrong password.
		{"ciphertext truncated by one byte", mut(func(h *handKey) { h.Ciphertext = h.Ciphertext[:len(h.Ciphertext)-1] }), pw, ErrWrongPassword, false},
		{"ciphertext truncated to the authenticator", mut(func(h *handKey) { h.Ciphertext = h.Ciphertext[:secretbox.Overhead] }), pw, ErrWrongPassword, false},
		{"ciphertext bit flipped", mut(func(h *handKey) { h.Ciphertext[len(h.Ciphertext)/2] ^= 1 }), pw, ErrWrongPassword, false},
		{"salt changed", mut(func(h *handKey) { h.KDF.Salt[0] ^= 1 }), pw, ErrWrongPassword, false},
		{"decrypts to something not PKCS#8", notPKCS8.pemOf(t, pemCosign), pw, ErrInvalidKey, false},
		{"decrypts to truncated DER", truncDER.pemOf(t, pemCosign), pw, ErrInvalidKey, false},
		{"JSON truncated", body(`{"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":"`), pw, ErrInvalidKey, true},
		{"not JSON", body("\x00\x01\x02"), pw, ErrInvalidKey, true},
		{"JSON null", body("null"), pw, ErrInvalidKey, true},
		{"empty object", body("{}"), pw, ErrInvalidKey, true},
		{"salt not base64", body(`{"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":"!!"},"cipher":{"name":"nacl/secretbox","nonce":""},"ciphertext":""}`), pw, ErrInvalidKey, true},
		{"N a string", body(`{"kdf":{"name":"scrypt","params":{"N":"32768","r":8,"p":1},"salt":""},"cipher":{"name":"nacl/secretbox","nonce":""},"ciphertext":""}`), pw, ErrInvalidKey, true},
		{"N beyond int64", body(`{"kdf":{"name":"scrypt","params":{"N":1e30,"r":8,"p":1},"salt":""},"cipher":{"name":"nacl/secretbox","nonce":""},"ciphertext":""}`), pw, ErrInvalidKey, true},
		{"truncated PEM", good.pemOf(t, pemCosign)[:60], pw, ErrInvalidKey, true},
		{"other PEM block first", append(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1}}), good.pemOf(t, pemCosign)...), pw, ErrInvalidKey, true},
		{"larger than MaxKeyFileSize", mut(func(h *handKey) { h.KDF.Salt = make([]byte, MaxKeyFileSize) }), pw, ErrInvalidKey, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			s, err := LoadCosignKey(c.pem, Password(c.pw))
			elapsed := time.Since(start)
			if err == nil {
				t.Fatalf("LoadCosignKey accepted it (key %v)", s.KeyID())
			}
			var ke *KeyError
			if !errors.As(err, &ke) {
				t.Fatalf("error %T is not a *KeyError: %v", err, err)
			}
			if !errors.Is(err, c.want) {
				t.Errorf("error %v does not wrap %v", err, c.want)
			}
			if c.fast && elapsed > time.Second {
				t.Errorf("refusal took %v: the key was derived before the file was checked", elapsed)
			}
			if strings.Contains(err.Error(), "eyJ") || strings.Contains(err.Error(), base64.StdEncoding.EncodeToString(good.Ciphertext[:12])) {
				t.Errorf("error shows key material: %v", err)
			}
		})
	}
}

// FuzzLoadCosignKey feeds arbitrary bytes to the cosign key reader with a
// fixed password. It must never panic; a refusal must be a *KeyError
// wrapping one of the documented sentinels; a key it accepts signs. Seeds
// in testdata/fuzz/FuzzLoadCosignKey include hostile scrypt parameters.
func FuzzLoadCosignKey(f *testing.F) {
	for _, name := range []string{"cosign-cli.key", "cosign-relkit.key", "cosign-imported-ed25519-pkcs8.key"} {
		b, err := os.ReadFile(filepath.Join("testdata", "keys", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := LoadCosignKey(data, Password(testPassword))
		if err != nil {
			var ke *KeyError
			if !errors.As(err, &ke) {
				t.Fatalf("error %T is not a *KeyError: %v", err, err)
			}
			if !errors.Is(err, ErrInvalidKey) && !errors.Is(err, ErrUnsupportedKey) && !errors.Is(err, ErrWrongPassword) {
				t.Fatalf("error wraps no documented sentinel: %v", err)
			}
			if s != nil {
				t.Fatal("signer returned with an error")
			}
			return
		}
		signBytes(t, s, []byte("fuzz"))
	})
}
