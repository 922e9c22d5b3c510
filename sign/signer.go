package sign

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"

	"github.com/relkit/relkit/internal/ctxio"
	"github.com/relkit/relkit/verify"
)

// MaxEd25519MessageSize is the largest message an Ed25519 signer signs.
// Pure Ed25519 (RFC 8032, the "ed25519" algorithm) hashes the message
// twice, so the whole message must be in memory; the limit keeps that
// bounded. The files relkit signs (SHA256SUMS, manifest.json, keys.json)
// are far smaller; sign a checksums file, never an artifact. Larger input
// is refused with an error wrapping [ErrMessageTooLarge]. ECDSA and RSA
// signers stream any size.
const MaxEd25519MessageSize = 64 << 20

// ErrMessageTooLarge is returned (wrapped) by an Ed25519 signer given more
// than [MaxEd25519MessageSize] bytes.
var ErrMessageTooLarge = errors.New("message too large for Ed25519 signing")

// PSSSaltLength is the salt length of RSA-PSS signatures made here: the
// SHA-256 output size, as the relkit wire format prescribes.
const PSSSaltLength = sha256.Size

// Signer makes detached signatures with one private key.
//
// Sign reads message to EOF and returns the raw signature (not base64) for
// the algorithm Algorithm names. Implementations that hash (ECDSA, RSA)
// must stream the message and never hold it in memory; an implementation
// must stop and return ctx.Err() (wrapped) when ctx is done. PublicKey,
// KeyID and Algorithm must be constant for a Signer's lifetime: KeyID is
// [verify.KeyID] of PublicKey, Algorithm one of the verify.Alg* names.
// Implementations must be safe for concurrent use.
type Signer interface {
	Sign(ctx context.Context, message io.Reader) ([]byte, error)
	PublicKey() crypto.PublicKey
	KeyID() string
	Algorithm() string
}

// KeySigner is the Signer for a key in this process: a PEM key, a
// decrypted cosign key, or any crypto.Signer (an HSM or KMS client that
// implements crypto.Signer works too, through [NewSigner]).
type KeySigner struct {
	key    crypto.Signer
	pub    crypto.PublicKey
	alg    string
	keyID  string
	cosign bool // a sigstore signer: PKCS#1 v1.5 only for RSA
}

var _ Signer = (*KeySigner)(nil)

// NewSigner returns a Signer for key using algorithm alg, one of the
// verify.Alg* names. The empty alg picks the key type's default:
// [verify.AlgECDSASHA256] for ECDSA, [verify.AlgEd25519] for Ed25519,
// [verify.AlgRSAPKCS1v15SHA256] for RSA (pass [verify.AlgRSAPSSSHA256] for
// RSA-PSS). The key must be one package verify accepts (see
// [ParsePrivateKeyPEM]); an algorithm that does not fit it is an error
// wrapping [verify.ErrUnknownAlgorithm].
func NewSigner(key crypto.Signer, alg string) (*KeySigner, error) {
	if key == nil {
		return nil, errors.New("sign: NewSigner: nil key")
	}
	if err := checkKey(key.Public()); err != nil {
		return nil, err
	}
	return newSigner(key, alg, false)
}

func newSigner(key crypto.Signer, alg string, cosign bool) (*KeySigner, error) {
	pub := key.Public()
	algs := verify.Algorithms(pub)
	if cosign {
		// sigstore's RSA signer is PKCS#1 v1.5 whatever the options say.
		algs = slices.DeleteFunc(algs, func(a string) bool { return a == verify.AlgRSAPSSSHA256 })
	}
	if len(algs) == 0 {
		return nil, keyErr(ErrUnsupportedKey, "key type %T", pub)
	}
	if alg == "" {
		alg = algs[0]
	}
	if !slices.Contains(algs, alg) {
		return nil, fmt.Errorf("sign: algorithm %q with a %s key (want one of %v): %w", alg, keyType(pub), algs, verify.ErrUnknownAlgorithm)
	}
	id, err := verify.KeyID(pub)
	if err != nil {
		return nil, keyErr(ErrUnsupportedKey, "%v", err)
	}
	return &KeySigner{key: key, pub: pub, alg: alg, keyID: id, cosign: cosign}, nil
}

// WithAlgorithm returns a signer for the same key using alg instead (see
// [NewSigner]); for example verify.AlgRSAPSSSHA256 for an RSA key loaded
// with [LoadSigner]. RSA cosign keys sign PKCS#1 v1.5 only, as cosign does.
func (s *KeySigner) WithAlgorithm(alg string) (*KeySigner, error) {
	return newSigner(s.key, alg, s.cosign)
}

// PublicKey returns the signer's public key.
func (s *KeySigner) PublicKey() crypto.PublicKey { return s.pub }

// KeyID returns [verify.KeyID] of the public key.
func (s *KeySigner) KeyID() string { return s.keyID }

// Algorithm returns the signature algorithm, a verify.Alg* name.
func (s *KeySigner) Algorithm() string { return s.alg }

// PublicKeyPEM returns the public key as a PKIX "PUBLIC KEY" PEM block,
// the format of cosign.pub and "openssl pkey -pubout".
func (s *KeySigner) PublicKeyPEM() []byte {
	b, err := verify.MarshalPublicKey(s.pub)
	if err != nil {
		panic("sign: public key checked at construction no longer encodes: " + err.Error())
	}
	return b
}

// String describes the signer by algorithm and key ID; never key material.
// (fmt and log/slog use it for KeySigner values and pointers alike.)
func (s KeySigner) String() string {
	return fmt.Sprintf("%s key %s", s.alg, s.keyID)
}

// GoString is String, so that %#v does not print the private key either.
func (s KeySigner) GoString() string { return s.String() }

// LogValue implements slog.LogValuer with String.
func (s KeySigner) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Sign reads message to EOF and signs it (see [Signer]). For ECDSA and RSA
// it hashes the stream with SHA-256 as it reads, so any size works with
// constant memory; for Ed25519 it reads at most [MaxEd25519MessageSize]
// bytes. The result is the raw signature: ASN.1 DER for ECDSA (what cosign
// sign-blob and openssl dgst -sha256 -sign make), 64 bytes for Ed25519,
// the modulus size for RSA. Encode it for a .sig file with
// [verify.EncodeSignature].
//
// Signatures by a key in this process are deterministic, except RSA-PSS:
// ECDSA follows RFC 6979, Ed25519 and RSA PKCS#1 v1.5 are deterministic by
// design. Signing the same bytes twice gives the same signature, so a
// release prepared again after a killed publish signs its unchanged files
// with the bytes already published, and the re-run converges. A
// crypto.Signer passed to [NewSigner] (an HSM, a KMS) signs as it does.
func (s *KeySigner) Sign(ctx context.Context, message io.Reader) ([]byte, error) {
	r := ctxio.Reader(ctx, message)
	var (
		sig []byte
		err error
	)
	switch s.alg {
	case verify.AlgEd25519:
		msg, rerr := io.ReadAll(io.LimitReader(r, MaxEd25519MessageSize+1))
		if rerr != nil {
			return nil, fmt.Errorf("sign: reading message: %w", rerr)
		}
		if len(msg) > MaxEd25519MessageSize {
			return nil, fmt.Errorf("sign: %w: more than %d bytes (sign a checksums file instead)", ErrMessageTooLarge, MaxEd25519MessageSize)
		}
		sig, err = s.key.Sign(rand.Reader, msg, crypto.Hash(0))
	default:
		h := sha256.New()
		if _, rerr := io.Copy(h, r); rerr != nil {
			return nil, fmt.Errorf("sign: reading message: %w", rerr)
		}
		digest := h.Sum(nil)
		var opts crypto.SignerOpts = crypto.SHA256
		if s.alg == verify.AlgRSAPSSSHA256 {
			opts = &rsa.PSSOptions{SaltLength: PSSSaltLength, Hash: crypto.SHA256}
		}
		random := rand.Reader
		if _, ok := s.key.(*ecdsa.PrivateKey); ok {
			random = nil // RFC 6979: the same bytes always get the same signature
		}
		sig, err = s.key.Sign(random, digest, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("sign: %s signature with key %s: %w", s.alg, s.keyID, err)
	}
	return sig, nil
}

// SignBlob signs message with s and returns the detached signature file's
// contents as "cosign sign-blob --key cosign.key --tlog-upload=false
// --output-signature blob.sig blob" writes them: the raw signature in
// standard base64 with no trailing newline ([verify.EncodeSignature]).
// "cosign verify-blob --key cosign.pub --signature blob.sig
// --insecure-ignore-tlog blob" and package verify accept it. Unlike
// [SignFile] it streams: with an ECDSA or RSA key, any size of blob signs in
// constant memory.
func SignBlob(ctx context.Context, s Signer, message io.Reader) ([]byte, error) {
	sig, err := s.Sign(ctx, message)
	if err != nil {
		return nil, err
	}
	return verify.EncodeSignature(sig), nil
}

func keyType(pub crypto.PublicKey) string {
	switch verify.Algorithms(pub)[0] {
	case verify.AlgECDSASHA256:
		return "ECDSA"
	case verify.AlgEd25519:
		return "Ed25519"
	default:
		return "RSA"
	}
}

// LoadSigner reads a private key file and returns a signer with the key
// type's default algorithm (see [NewSigner]; use [KeySigner.WithAlgorithm]
// for RSA-PSS). It reads encrypted cosign keys ("ENCRYPTED SIGSTORE PRIVATE
// KEY", decrypted with pf: [EnvPassword] for COSIGN_PASSWORD; see
// [LoadCosignKey]) and every unencrypted PEM form [ParsePrivateKeyPEM]
// reads (pf is then not called). Errors are *KeyError values naming the
// file, never showing its contents.
func LoadSigner(path string, pf PassFunc) (*KeySigner, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	s, err := ParseSigner(data, pf)
	return s, withSource(err, path)
}

// ParseSigner is [LoadSigner] for key file contents already in memory.
func ParseSigner(data []byte, pf PassFunc) (*KeySigner, error) {
	if isCosignPEM(data) {
		return LoadCosignKey(data, pf)
	}
	key, err := ParsePrivateKeyPEM(data)
	if err != nil {
		return nil, err
	}
	return newSigner(key, "", false)
}
