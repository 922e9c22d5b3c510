package sign

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/relkit/relkit/verify"
)

// Limits on key material.
const (
	// MaxKeyFileSize is the largest private key file (PEM) this package
	// reads. Real keys are a few KiB at most.
	MaxKeyFileSize = 64 << 10
)

// PEM block types of private keys, as openssl and cosign write them.
const (
	pemPKCS8         = "PRIVATE KEY"           // openssl genpkey (PKCS#8): ECDSA, Ed25519, RSA
	pemSEC1          = "EC PRIVATE KEY"        // openssl ecparam -genkey (SEC1)
	pemECParams      = "EC PARAMETERS"         // openssl ecparam -genkey prepends it
	pemPKCS1         = "RSA PRIVATE KEY"       // openssl genrsa -traditional (PKCS#1)
	pemEncPKCS8      = "ENCRYPTED PRIVATE KEY" // openssl genpkey -aes256 (PKCS#8 PBES2)
	pemPublic        = "PUBLIC KEY"
	pemCertificate   = "CERTIFICATE"
	pemOpenSSH       = "OPENSSH PRIVATE KEY"
	pemCosignLegacy  = "ENCRYPTED COSIGN PRIVATE KEY"
	pemCosign        = "ENCRYPTED SIGSTORE PRIVATE KEY"
	pemProcTypeHdr   = "Proc-Type"
	pemEncryptedProc = "ENCRYPTED"
)

// Errors a caller can branch on with errors.Is. Key problems are returned as
// a *KeyError that wraps one of them.
var (
	// ErrInvalidKey means the key file is not a well-formed private key:
	// no PEM block, a corrupt body, or a public key where a private key was
	// expected.
	ErrInvalidKey = errors.New("invalid private key")

	// ErrUnsupportedKey means the key is well formed but of a type, curve
	// or size this package does not sign with (see [NewSigner]).
	ErrUnsupportedKey = errors.New("unsupported private key")

	// ErrEncryptedKey means a PEM key is password-protected in a format
	// this package does not decrypt (PKCS#8 "ENCRYPTED PRIVATE KEY" or a
	// legacy "Proc-Type: 4,ENCRYPTED" block). Decrypt it first, for example
	// with "openssl pkey -in enc.pem -out key.pem", or use a cosign key.
	ErrEncryptedKey = errors.New("encrypted PEM private key not supported")

	// ErrWrongPassword means an encrypted cosign key did not decrypt with
	// the password given. (The cipher cannot tell a wrong password from a
	// corrupted key body; a wrong password is by far the common cause.)
	ErrWrongPassword = errors.New("wrong password for encrypted key")

	// ErrNoPassword means a cosign key needs a password and none was given:
	// the PassFunc was nil, or EnvPassword found COSIGN_PASSWORD unset.
	ErrNoPassword = errors.New("no password given for an encrypted key")

	// ErrKeyExists means a key file already exists and overwriting was not
	// asked for.
	ErrKeyExists = errors.New("key file already exists")
)

// KeyError reports a private key that could not be used. It never contains
// key material.
type KeyError struct {
	// Source names where the key came from: a file name, or "" for bytes.
	Source string
	// Reason says what is wrong, for people.
	Reason string
	// Err is the sentinel: ErrInvalidKey, ErrUnsupportedKey,
	// ErrEncryptedKey, ErrWrongPassword, ErrNoPassword or an I/O error.
	Err error
}

// Error says which key failed and why, without key material.
func (e *KeyError) Error() string {
	src := e.Source
	if src == "" {
		src = "private key"
	} else {
		src = "private key " + src
	}
	if e.Reason == "" {
		return "sign: " + src + ": " + e.Err.Error()
	}
	return "sign: " + src + ": " + e.Err.Error() + ": " + e.Reason
}

// Unwrap returns the sentinel error.
func (e *KeyError) Unwrap() error { return e.Err }

func keyErr(sentinel error, format string, args ...any) *KeyError {
	return &KeyError{Reason: fmt.Sprintf(format, args...), Err: sentinel}
}

// ParsePrivateKeyPEM parses an unencrypted PEM private key as openssl
// writes it and returns it as a crypto.Signer:
//
//   - "PRIVATE KEY" (PKCS#8: openssl genpkey, openssl pkey) holding an
//     ECDSA, Ed25519 or RSA key;
//   - "EC PRIVATE KEY" (SEC1: openssl ecparam -genkey, with or without the
//     "EC PARAMETERS" block that command writes first);
//   - "RSA PRIVATE KEY" (PKCS#1: openssl genrsa -traditional).
//
// Accepted keys are those package verify accepts: ECDSA on P-256 or P-384,
// Ed25519, and RSA with a modulus of [verify.MinRSABits] to
// [verify.MaxRSABits] bits. Other blocks before the key
// ("EC PARAMETERS", comments outside PEM blocks) are skipped; a file with
// two private keys is refused as ambiguous. Encrypted cosign keys are
// refused with a hint to use [LoadCosignKey]. Errors are *KeyError values
// wrapping [ErrInvalidKey], [ErrUnsupportedKey] or [ErrEncryptedKey].
func ParsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	if len(data) > MaxKeyFileSize {
		return nil, keyErr(ErrInvalidKey, "larger than %d bytes", MaxKeyFileSize)
	}
	block, err := findPrivateBlock(data)
	if err != nil {
		return nil, err
	}
	var key any
	switch block.Type {
	case pemPKCS8:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, keyErr(ErrInvalidKey, "PKCS#8 body: %v", err)
		}
	case pemSEC1:
		key, err = x509.ParseECPrivateKey(block.Bytes)
		if err != nil {
			return nil, keyErr(ErrInvalidKey, "SEC1 EC body: %v", err)
		}
	case pemPKCS1:
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, keyErr(ErrInvalidKey, "PKCS#1 RSA body: %v", err)
		}
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, keyErr(ErrUnsupportedKey, "key type %T", key)
	}
	if err := checkKey(s.Public()); err != nil {
		return nil, err
	}
	return s, nil
}

// findPrivateBlock returns the one private key block in data.
func findPrivateBlock(data []byte) (*pem.Block, error) {
	var found *pem.Block
	rest := data
	sawPEM := false
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		sawPEM = true
		switch b.Type {
		case pemECParams:
			continue
		case pemPKCS8, pemSEC1, pemPKCS1:
			if strings.Contains(b.Headers[pemProcTypeHdr], pemEncryptedProc) {
				return nil, keyErr(ErrEncryptedKey, "legacy %q block with Proc-Type %s", b.Type, b.Headers[pemProcTypeHdr])
			}
			if found != nil {
				return nil, keyErr(ErrInvalidKey, "more than one private key in the file")
			}
			found = b
		case pemEncPKCS8:
			return nil, keyErr(ErrEncryptedKey, "PKCS#8 %q block", b.Type)
		case pemCosign, pemCosignLegacy:
			return nil, keyErr(ErrUnsupportedKey, "%q is a cosign key: load it with LoadCosignKey or LoadSigner", b.Type)
		case pemPublic, pemCertificate:
			if found == nil {
				// A public key or certificate alone is a common mix-up;
				// keep looking in case the private key follows.
				continue
			}
		case pemOpenSSH:
			return nil, keyErr(ErrUnsupportedKey, "OpenSSH private key format (convert it to PKCS#8 PEM)")
		default:
			// Unknown blocks before or after the key are ignored.
		}
	}
	if found == nil {
		if !sawPEM {
			return nil, keyErr(ErrInvalidKey, "no PEM block found")
		}
		return nil, keyErr(ErrInvalidKey, "no PEM private key block (want PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY)")
	}
	return found, nil
}

// checkKey refuses keys that package verify would not accept, so that
// sign never makes a signature no relkit client can check.
func checkKey(pub crypto.PublicKey) error {
	if _, err := verify.MarshalPublicKey(pub); err != nil {
		var ke *verify.KeyError
		if errors.As(err, &ke) {
			return keyErr(ErrUnsupportedKey, "%s", ke.Reason)
		}
		return keyErr(ErrUnsupportedKey, "%v", err)
	}
	return nil
}

// readKeyFile reads a key file with the size limit.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &KeyError{Source: path, Err: err}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxKeyFileSize+1))
	if err != nil {
		return nil, &KeyError{Source: path, Err: err}
	}
	if len(data) > MaxKeyFileSize {
		return nil, &KeyError{Source: path, Reason: fmt.Sprintf("larger than %d bytes", MaxKeyFileSize), Err: ErrInvalidKey}
	}
	return data, nil
}

// withSource sets the source of a *KeyError and returns err.
func withSource(err error, source string) error {
	var ke *KeyError
	if errors.As(err, &ke) && ke.Source == "" {
		ke.Source = source
	}
	return err
}

// isCosignPEM reports whether data holds an encrypted cosign key block.
func isCosignPEM(data []byte) bool {
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return false
		}
		if b.Type == pemCosign || b.Type == pemCosignLegacy {
			return true
		}
	}
}
