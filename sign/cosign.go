package sign

// This file reads and writes cosign's encrypted private key format
// ("ENCRYPTED SIGSTORE PRIVATE KEY") on golang.org/x/crypto alone: scrypt
// for the key derivation, NaCl secretbox for the cipher, exactly as
// go-securesystemslib's encrypted package (which cosign calls) does.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"golang.org/x/crypto/nacl/secretbox"
	"golang.org/x/crypto/scrypt"
)

// Cosign key file names and the password environment variable, as the
// cosign CLI uses them.
const (
	// CosignKeyFile is the private key file "cosign generate-key-pair" writes.
	CosignKeyFile = "cosign.key"
	// CosignPubFile is the public key file "cosign generate-key-pair" writes.
	CosignPubFile = "cosign.pub"
	// PasswordEnv is the environment variable cosign reads the key
	// password from, and so does [EnvPassword].
	PasswordEnv = "COSIGN_PASSWORD"
)

// PassFunc returns the password of an encrypted cosign key. It is called
// once per generation or load. A nil PassFunc means no password: an
// encrypted key is then an error wrapping [ErrNoPassword]. Pass
// [EnvPassword] to read COSIGN_PASSWORD as the cosign CLI does (the
// library reads no environment variable on its own).
type PassFunc func() ([]byte, error)

// Password returns a PassFunc that always returns pw. The empty password
// is allowed (cosign allows it too) but protects nothing.
func Password(pw string) PassFunc {
	return func() ([]byte, error) { return []byte(pw), nil }
}

// EnvPassword is a PassFunc that returns the value of COSIGN_PASSWORD, as
// the cosign CLI does when the variable is set (set to the empty string, it
// means the empty password). When the variable is unset it returns
// [ErrNoPassword]: a library never prompts on a terminal.
func EnvPassword() ([]byte, error) {
	pw, ok := os.LookupEnv(PasswordEnv)
	if !ok {
		return nil, fmt.Errorf("%w (%s is not set)", ErrNoPassword, PasswordEnv)
	}
	return []byte(pw), nil
}

func (pf PassFunc) get() ([]byte, error) {
	if pf == nil {
		return nil, &KeyError{Err: fmt.Errorf("%w: pass sign.EnvPassword (reads %s) or sign.Password", ErrNoPassword, PasswordEnv)}
	}
	pw, err := pf()
	if err != nil {
		if errors.Is(err, ErrNoPassword) {
			return nil, &KeyError{Err: err}
		}
		return nil, fmt.Errorf("sign: getting key password: %w", err)
	}
	return pw, nil
}

// GenerateCosignKeyPair generates a key pair exactly as "cosign
// generate-key-pair" does: an ECDSA P-256 key, encrypted with the password
// from pf into an "ENCRYPTED SIGSTORE PRIVATE KEY" PEM block (scrypt with
// N=65536, r=8, p=1 and a random 32-byte salt; NaCl secretbox with a
// random nonce; the PKCS#8 DER of the key inside), and its "PUBLIC KEY"
// PEM. pf is [EnvPassword] to read COSIGN_PASSWORD; nil is an error
// wrapping [ErrNoPassword].
//
// Write the result with [KeyPair.WriteFiles] (conventionally to
// [CosignKeyFile] and [CosignPubFile]); load it with [LoadCosignKey] or
// [LoadSigner]. The cosign CLI reads both files as its own.
func GenerateCosignKeyPair(pf PassFunc) (*KeyPair, error) {
	pw, err := pf.get()
	if err != nil {
		return nil, err
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("sign: generating cosign key pair: %w", err)
	}
	kp, err := marshalKeyPair(priv)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("sign: encoding private key: %w", err)
	}
	body, err := sealCosignKey(der, pw)
	if err != nil {
		return nil, fmt.Errorf("sign: encrypting cosign key: %w", err)
	}
	kp.PrivatePEM = pem.EncodeToMemory(&pem.Block{Type: pemCosign, Bytes: body})
	return kp, nil
}

// LoadCosignKey decrypts an encrypted cosign private key (the cosign.key
// that "cosign generate-key-pair" or [GenerateCosignKeyPair] writes, or one
// imported with "cosign import-key-pair") with the password from pf
// ([EnvPassword] for COSIGN_PASSWORD) and returns a signer for it.
//
// The signer's signatures are what "cosign sign-blob --key cosign.key"
// makes: for ECDSA keys an ASN.1 DER signature over the SHA-256 of the
// message ("ecdsa-sha256"), for RSA keys PKCS#1 v1.5 over SHA-256. Ed25519
// cosign keys (from "cosign import-key-pair") sign pure Ed25519 over the
// message (the relkit "ed25519" algorithm), which "cosign verify-blob
// --key" accepts; cosign v2.6.5's own sign-blob crashes on such keys.
//
// A password that does not decrypt the key is an error wrapping
// [ErrWrongPassword]; a missing password one wrapping [ErrNoPassword]. A
// damaged file, or one asking for scrypt costs cosign does not use (only
// N=2^15, 2^16 or 2^17 with r=8, p=1 are read), is refused with
// [ErrInvalidKey] before any key derivation.
func LoadCosignKey(keyPEM []byte, pf PassFunc) (*KeySigner, error) {
	if len(keyPEM) > MaxKeyFileSize {
		return nil, keyErr(ErrInvalidKey, "larger than %d bytes", MaxKeyFileSize)
	}
	if !isCosignPEM(keyPEM) {
		return nil, keyErr(ErrInvalidKey, "no %q PEM block", pemCosign)
	}
	pw, err := pf.get()
	if err != nil {
		return nil, err
	}
	// cosign's own LoadPrivateKey does exactly this (first PEM block,
	// scrypt + secretbox, PKCS#8) and then wraps the key in a sigstore
	// signer; keeping the plain Go key instead makes ECDSA signatures
	// deterministic (RFC 6979, see [KeySigner.Sign]).
	block, _ := pem.Decode(keyPEM)
	if block == nil || (block.Type != pemCosign && block.Type != pemCosignLegacy) {
		return nil, keyErr(ErrInvalidKey, "no %q PEM block", pemCosign)
	}
	der, err := openCosignKey(block.Bytes, pw)
	if err != nil {
		return nil, err
	}
	pk, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, keyErr(ErrInvalidKey, "cosign key: %v", err)
	}
	cs, ok := pk.(crypto.Signer)
	if !ok {
		return nil, keyErr(ErrUnsupportedKey, "cosign key of type %T", pk)
	}
	if err := checkKey(cs.Public()); err != nil {
		return nil, err
	}
	return newSigner(cs, "", true)
}

// The encrypted cosign key format, as go-securesystemslib's encrypted
// package (v0.9.1, which cosign v2 calls) writes and reads it: the PEM body
// is the JSON of cosignBox, and its ciphertext is
// secretbox.Seal(PKCS#8 DER, nonce, scrypt(password, salt, N, r, p, 32)).
const (
	cosignKDF       = "scrypt"
	cosignCipher    = "nacl/secretbox"
	cosignSaltSize  = 32
	cosignKeySize   = 32
	cosignNonceSize = 24
)

// cosignScrypt are scrypt parameters. encoding/json matches field names
// without regard to case, as it does for cosign.
type cosignScrypt struct {
	N int `json:"N"`
	R int `json:"r"`
	P int `json:"p"`
}

// cosignScryptParams are the only scrypt parameters cosign accepts
// (securesystemslib's Legacy, Standard and OWASP levels); the first is the
// one it writes. Any other set is refused before deriving a key: the
// parameters are read from the file, and an attacker who sets N, r or p
// to a large value could otherwise spend hours of CPU and terabytes of
// memory. The costliest, N=2^17 r=8, needs 128 MiB and well under a
// second.
var cosignScryptParams = []cosignScrypt{
	{N: 1 << 16, R: 8, P: 1}, // Standard: what cosign generate-key-pair writes
	{N: 1 << 15, R: 8, P: 1}, // Legacy: keys from older cosign releases
	{N: 1 << 17, R: 8, P: 1}, // OWASP
}

type cosignBox struct {
	KDF struct {
		Name   string       `json:"name"`
		Params cosignScrypt `json:"params"`
		Salt   []byte       `json:"salt"`
	} `json:"kdf"`
	Cipher struct {
		Name  string `json:"name"`
		Nonce []byte `json:"nonce"`
	} `json:"cipher"`
	Ciphertext []byte `json:"ciphertext"`
}

// sealCosignKey encrypts der with pw into the JSON body of a cosign key
// PEM block, with fresh random salt and nonce.
func sealCosignKey(der, pw []byte) ([]byte, error) {
	var box cosignBox
	box.KDF.Name = cosignKDF
	box.KDF.Params = cosignScryptParams[0]
	box.KDF.Salt = make([]byte, cosignSaltSize)
	box.Cipher.Name = cosignCipher
	box.Cipher.Nonce = make([]byte, cosignNonceSize)
	if _, err := rand.Read(box.KDF.Salt); err != nil {
		return nil, err
	}
	if _, err := rand.Read(box.Cipher.Nonce); err != nil {
		return nil, err
	}
	p := box.KDF.Params
	k, err := scrypt.Key(pw, box.KDF.Salt, p.N, p.R, p.P, cosignKeySize)
	if err != nil {
		return nil, err
	}
	var key [cosignKeySize]byte
	var nonce [cosignNonceSize]byte
	copy(key[:], k)
	copy(nonce[:], box.Cipher.Nonce)
	box.Ciphertext = secretbox.Seal(nil, der, &nonce, &key)
	return json.Marshal(&box)
}

// openCosignKey decrypts the JSON body of a cosign key PEM block with pw
// and returns the plaintext (PKCS#8 DER). Everything the file says is
// checked before the key is derived, so a hostile file costs no more than
// a genuine one. Errors are *KeyError values: ErrWrongPassword when the
// cipher refuses the derived key (it cannot tell a wrong password from a
// damaged body), ErrInvalidKey for anything else.
func openCosignKey(body, pw []byte) ([]byte, error) {
	var box cosignBox
	if err := json.Unmarshal(body, &box); err != nil {
		return nil, keyErr(ErrInvalidKey, "cosign key body is not the expected JSON")
	}
	if box.KDF.Name != cosignKDF {
		return nil, keyErr(ErrInvalidKey, "cosign key: unknown kdf %q", truncate(box.KDF.Name))
	}
	if box.Cipher.Name != cosignCipher {
		return nil, keyErr(ErrInvalidKey, "cosign key: unknown cipher %q", truncate(box.Cipher.Name))
	}
	p := box.KDF.Params
	known := false
	for _, q := range cosignScryptParams {
		known = known || p == q
	}
	if !known {
		return nil, keyErr(ErrInvalidKey, "cosign key: unsupported scrypt parameters N=%d r=%d p=%d (cosign writes N=%d r=%d p=%d)",
			p.N, p.R, p.P, cosignScryptParams[0].N, cosignScryptParams[0].R, cosignScryptParams[0].P)
	}
	if len(box.Cipher.Nonce) != cosignNonceSize {
		return nil, keyErr(ErrInvalidKey, "cosign key: nonce of %d bytes, want %d", len(box.Cipher.Nonce), cosignNonceSize)
	}
	if len(box.Ciphertext) < secretbox.Overhead {
		return nil, keyErr(ErrInvalidKey, "cosign key: ciphertext of %d bytes, shorter than its authenticator", len(box.Ciphertext))
	}
	k, err := scrypt.Key(pw, box.KDF.Salt, p.N, p.R, p.P, cosignKeySize)
	if err != nil {
		return nil, keyErr(ErrInvalidKey, "cosign key: scrypt: %v", err)
	}
	var key [cosignKeySize]byte
	var nonce [cosignNonceSize]byte
	copy(key[:], k)
	copy(nonce[:], box.Cipher.Nonce)
	der, ok := secretbox.Open(nil, box.Ciphertext, &nonce, &key)
	if !ok {
		return nil, &KeyError{Reason: "the password does not decrypt the cosign key", Err: ErrWrongPassword}
	}
	return der, nil
}

// truncate shortens a name read from a file for an error message.
func truncate(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}
