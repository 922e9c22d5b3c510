package sign

// This file is the only one in package sign that imports cosign and
// sigstore: the cosign key format ("ENCRYPTED SIGSTORE PRIVATE KEY", scrypt +
// NaCl secretbox) is read and written by cosign's own functions.

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	"github.com/sigstore/cosign/v2/pkg/cosign"
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
// once per generation or load. A nil PassFunc means [EnvPassword].
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
		return nil, ErrNoPassword
	}
	return []byte(pw), nil
}

func (pf PassFunc) get() ([]byte, error) {
	if pf == nil {
		pf = EnvPassword
	}
	pw, err := pf()
	if err != nil {
		if errors.Is(err, ErrNoPassword) {
			return nil, &KeyError{Err: ErrNoPassword}
		}
		return nil, fmt.Errorf("sign: getting key password: %w", err)
	}
	return pw, nil
}

// GenerateCosignKeyPair generates a key pair exactly as "cosign
// generate-key-pair" does, with cosign's own code: an ECDSA P-256 key,
// encrypted with the password from pf (scrypt + NaCl secretbox) into an
// "ENCRYPTED SIGSTORE PRIVATE KEY" PEM block, and its "PUBLIC KEY" PEM.
// A nil pf reads COSIGN_PASSWORD (see [EnvPassword]).
//
// Write the result with [KeyPair.WriteFiles] (conventionally to
// [CosignKeyFile] and [CosignPubFile]); load it with [LoadCosignKey] or
// [LoadSigner]. The cosign CLI reads both files as its own.
func GenerateCosignKeyPair(pf PassFunc) (*KeyPair, error) {
	pw, err := pf.get()
	if err != nil {
		return nil, err
	}
	kb, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return pw, nil })
	if err != nil {
		return nil, fmt.Errorf("sign: generating cosign key pair: %w", err)
	}
	return &KeyPair{PrivatePEM: kb.PrivateBytes, PublicPEM: kb.PublicBytes}, nil
}

// LoadCosignKey decrypts an encrypted cosign private key (the cosign.key
// that "cosign generate-key-pair" or [GenerateCosignKeyPair] writes, or one
// imported with "cosign import-key-pair") with the password from pf (nil:
// COSIGN_PASSWORD) and returns a signer for it.
//
// The signer's signatures are what "cosign sign-blob --key cosign.key"
// makes: for ECDSA keys an ASN.1 DER signature over the SHA-256 of the
// message ("ecdsa-sha256"), for RSA keys PKCS#1 v1.5 over SHA-256. Ed25519
// cosign keys (from "cosign import-key-pair") sign pure Ed25519 over the
// message (the relkit "ed25519" algorithm), which "cosign verify-blob
// --key" accepts; cosign v2.6.5's own sign-blob crashes on such keys.
//
// A password that does not decrypt the key is an error wrapping
// [ErrWrongPassword]; a missing password one wrapping [ErrNoPassword].
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
	// cosign's own LoadPrivateKey does exactly this (PEM, scrypt +
	// secretbox, PKCS#8) and then wraps the key in a sigstore signer;
	// keeping the plain Go key instead makes ECDSA signatures
	// deterministic (RFC 6979, see [KeySigner.Sign]).
	block, _ := pem.Decode(keyPEM)
	if block == nil || (block.Type != pemCosign && block.Type != "ENCRYPTED COSIGN PRIVATE KEY") {
		return nil, keyErr(ErrInvalidKey, "no %q PEM block", pemCosign)
	}
	der, err := encrypted.Decrypt(block.Bytes, pw)
	if err != nil {
		// go-securesystemslib says "encrypted: decryption failed", which
		// is all secretbox can say about a wrong key.
		if strings.Contains(err.Error(), "decryption failed") {
			return nil, &KeyError{Reason: "the password does not decrypt the cosign key", Err: ErrWrongPassword}
		}
		return nil, keyErr(ErrInvalidKey, "cosign key: %v", err)
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
