package sign

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/relkit/relkit/internal/atomicfile"
	"github.com/relkit/relkit/verify"
)

// File modes of written key files.
const (
	// PrivateKeyMode is the mode of private key files: owner read/write only.
	PrivateKeyMode fs.FileMode = 0o600
	// PublicKeyMode is the mode of public key files.
	PublicKeyMode fs.FileMode = 0o644
)

// KeyPair is a private key and its public key, both PEM-encoded, ready to
// be written to files. PrivatePEM is secret: KeyPair's String, GoString
// and LogValue methods redact it, so printing or logging a KeyPair never
// shows key material; do not print PrivatePEM yourself.
type KeyPair struct {
	// PrivatePEM is the private key: an "ENCRYPTED SIGSTORE PRIVATE KEY"
	// block for cosign keys, a PKCS#8 "PRIVATE KEY" block otherwise.
	PrivatePEM []byte
	// PublicPEM is the PKIX "PUBLIC KEY" block.
	PublicPEM []byte
}

// String describes the key pair without its private key.
func (kp KeyPair) String() string {
	id := "?"
	if pub, err := verify.ParsePublicKey(kp.PublicPEM); err == nil {
		if k, err := verify.KeyID(pub); err == nil {
			id = k
		}
	}
	return fmt.Sprintf("KeyPair{keyid: %s, private: [REDACTED]}", id)
}

// GoString is String, so %#v redacts the private key too.
func (kp KeyPair) GoString() string { return kp.String() }

// LogValue implements slog.LogValuer: logging a KeyPair logs its key ID only.
func (kp KeyPair) LogValue() slog.Value { return slog.StringValue(kp.String()) }

// GenerateEd25519Key generates an Ed25519 key pair and returns it as PEM:
// the private key as PKCS#8 "PRIVATE KEY" (what "openssl genpkey
// -algorithm ed25519" writes) and the public key as PKIX "PUBLIC KEY".
// Load the private key back with [LoadSigner] or [ParsePrivateKeyPEM].
func GenerateEd25519Key() (*KeyPair, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("sign: generating Ed25519 key: %w", err)
	}
	return marshalKeyPair(priv)
}

// marshalKeyPair encodes a private key as PKCS#8 PEM and its public key as
// PKIX PEM.
func marshalKeyPair(priv crypto.Signer) (*KeyPair, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("sign: encoding private key: %w", err)
	}
	pub, err := verify.MarshalPublicKey(priv.Public())
	if err != nil {
		return nil, fmt.Errorf("sign: encoding public key: %w", err)
	}
	return &KeyPair{
		PrivatePEM: pem.EncodeToMemory(&pem.Block{Type: pemPKCS8, Bytes: der}),
		PublicPEM:  pub,
	}, nil
}

// WriteFiles writes the private key to privPath with mode 0600 and the
// public key to pubPath with mode 0644.
//
// Unless overwrite is true, it refuses (with an error wrapping
// [ErrKeyExists]) when either file exists, and creates both with O_EXCL so
// that a concurrent writer cannot be clobbered; if writing the public key
// fails, the private key file it just created is removed. With overwrite,
// each file is replaced atomically (temporary file + rename), so a reader
// sees the old key or the new one, never a mix. The private key is never
// readable by others at any moment: its temporary file is created 0600.
func (kp *KeyPair) WriteFiles(privPath, pubPath string, overwrite bool) error {
	if kp == nil || len(kp.PrivatePEM) == 0 || len(kp.PublicPEM) == 0 {
		return errors.New("sign: WriteFiles: empty key pair")
	}
	if filepath.Clean(privPath) == filepath.Clean(pubPath) {
		return fmt.Errorf("sign: WriteFiles: private and public key paths are the same (%s)", privPath)
	}
	if overwrite {
		if _, err := atomicfile.WriteFile(privPath, bytes.NewReader(kp.PrivatePEM), PrivateKeyMode); err != nil {
			return fmt.Errorf("sign: writing private key %s: %w", privPath, err)
		}
		if _, err := atomicfile.WriteFile(pubPath, bytes.NewReader(kp.PublicPEM), PublicKeyMode); err != nil {
			return fmt.Errorf("sign: writing public key %s: %w", pubPath, err)
		}
		return nil
	}
	for _, p := range []string{privPath, pubPath} {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("sign: %s: %w (pass overwrite=true to replace it)", p, ErrKeyExists)
		}
	}
	if err := writeNew(privPath, kp.PrivatePEM, PrivateKeyMode); err != nil {
		return fmt.Errorf("sign: writing private key: %w", err)
	}
	if err := writeNew(pubPath, kp.PublicPEM, PublicKeyMode); err != nil {
		os.Remove(privPath) // we created it just now with O_EXCL
		return fmt.Errorf("sign: writing public key: %w", err)
	}
	return nil
}

// writeNew creates name with O_EXCL and mode perm, writes data and syncs
// the file and its directory.
func writeNew(name string, data []byte, perm fs.FileMode) (err error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s: %w", name, ErrKeyExists)
		}
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(name)
		}
	}()
	// The umask may have cleared bits of perm; set it exactly (it can only
	// have made a private key stricter, and a public key must be readable).
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return atomicfile.SyncDir(filepath.Dir(name))
}
