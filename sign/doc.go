// Package sign makes the signatures relkit releases carry, with the keys
// release maintainers already have: cosign key pairs, PEM keys made by
// openssl, and Ed25519 keys generated here. Every signature it makes is one
// package [github.com/relkit/relkit/verify] accepts, and one the standard
// tools accept too ("cosign verify-blob", "openssl dgst -verify").
//
// Most callers want [LoadSigner] to load a key file and [SignRelease] to
// sign a release directory; a release pipeline that signs files one by one
// uses [SignFile], and [SignBlob] makes a cosign-style .sig for any stream;
// key management uses [GenerateCosignKeyPair],
// [GenerateEd25519Key] and, for rotation, [SignKeyBundle].
//
// This package needs only the standard library and golang.org/x/crypto
// (scrypt and NaCl secretbox, for cosign's key file format): it does not
// import cosign or sigstore, and a test keeps it so. Clients that only
// verify import package verify, which needs nothing outside the standard
// library.
//
// # Signers
//
// A [Signer] signs a stream with one private key and reports its public
// key, key ID ([verify.KeyID]: the SHA-256 of the PKIX public key) and
// algorithm name. [KeySigner] is the implementation for keys in this
// process; [NewSigner] wraps any crypto.Signer, including an HSM or KMS
// client. The algorithms are those of the relkit wire format:
//
//	key type        default algorithm       signature bytes
//	ECDSA P-256/384 ecdsa-sha256            ASN.1 DER over SHA-256 (cosign sign-blob, openssl dgst -sha256 -sign)
//	Ed25519         ed25519                 64 bytes, pure Ed25519 over the message (openssl pkeyutl -sign -rawin)
//	RSA 2048-8192   rsa-pkcs1v15-sha256     PKCS#1 v1.5 over SHA-256 (openssl dgst -sha256 -sign)
//	RSA             rsa-pss-sha256          PSS, SHA-256, MGF1-SHA-256, 32-byte salt (ask with KeySigner.WithAlgorithm)
//
// ECDSA and RSA signers hash the stream as they read it, so any size signs
// in constant memory. Pure Ed25519 needs the whole message, so an Ed25519
// signer refuses more than [MaxEd25519MessageSize] bytes: sign a checksums
// file, not an artifact.
//
// # Key files
//
// [LoadSigner] reads, by content rather than file name:
//
//   - cosign keys: "ENCRYPTED SIGSTORE PRIVATE KEY" (and the older
//     "ENCRYPTED COSIGN PRIVATE KEY"), as "cosign generate-key-pair" and
//     "cosign import-key-pair" write them, decrypted as cosign does. Only
//     the scrypt costs cosign accepts are accepted (N=2^15, 2^16 or 2^17,
//     r=8, p=1): a file asking for more is refused with [ErrInvalidKey]
//     before any key derivation, so a hostile key file cannot burn CPU or
//     memory.
//     The password comes from a [PassFunc]: [Password] for a value,
//     [EnvPassword] for COSIGN_PASSWORD as the cosign CLI reads it (nil is
//     no password: the library reads no environment on its own). A
//     library never prompts: with no password available the error wraps
//     [ErrNoPassword]; a password that does not decrypt the key, an error
//     wrapping [ErrWrongPassword].
//   - PEM keys as openssl writes them: PKCS#8 "PRIVATE KEY" (openssl
//     genpkey), SEC1 "EC PRIVATE KEY" (openssl ecparam -genkey, with or
//     without its "EC PARAMETERS" block) and PKCS#1 "RSA PRIVATE KEY"
//     (openssl genrsa -traditional). Password-protected PEM files are
//     refused with [ErrEncryptedKey]; decrypt them with "openssl pkey".
//
// Key problems are *[KeyError] values naming the file and what is wrong,
// never showing key material. Keys package verify would refuse (P-521,
// RSA under 2048 bits) are refused here too, with [ErrUnsupportedKey], so
// nothing is signed that no client can check.
//
// # Generating and writing keys
//
// [GenerateCosignKeyPair] generates what "cosign generate-key-pair" does:
// an ECDSA P-256 key encrypted with scrypt (N=65536, r=8, p=1) and NaCl
// secretbox, in cosign's format field for field (the tests run the cosign
// CLI on it). [GenerateEd25519Key] writes PKCS#8 and PKIX
// PEM, which openssl reads. [KeyPair.WriteFiles] writes the private key
// with mode 0600 and the public key with mode 0644, refuses to overwrite an
// existing file unless asked (creating with O_EXCL), and replaces files
// atomically when asked. A KeyPair prints and logs (fmt, log/slog) as its
// key ID only.
//
// # Signing a release
//
// [SignFile] signs one file for every signer and records the result next to
// it: name.sig, the first signer's signature in base64 with no newline (the
// file "cosign sign-blob --output-signature" writes, which "cosign
// verify-blob --key cosign.pub --signature SHA256SUMS.sig
// --insecure-ignore-tlog SHA256SUMS" accepts), and one entry per signer in
// the directory's signatures.json ([verify.SignatureSet]), merged with the
// entries already there. Entries for other revisions of a file are kept so
// that a client holding the previous manifest.json still verifies it while
// a publish is in flight; [PruneSignatures] removes them afterwards.
//
// [SignRelease] applies SignFile to a release root: manifest.json,
// SHA256SUMS at the root (a flat layout), and every <version>/SHA256SUMS.
//
// Signing is idempotent: a file already signed by a key keeps its
// signature, so signing a root with a hundred published versions signs only
// what is new and never changes a published byte (signatures are
// randomized; a fresh one would differ). Every new signature is verified
// with package verify before it is written, and a Signer that produces a
// bad one fails with [ErrBadSigner]. Files are replaced atomically.
//
// # Key rotation
//
// Clients pin root keys; the roots certify signing keys through keys.json
// ([verify.KeyBundle]), so a signing key can change without a new client
// binary. [NewKeyBundle] starts a bundle, [NextKeyBundle] derives the next
// one (serial + 1: clients refuse a lower serial), [AddBundleKey] certifies
// a key with an optional expiry, [RevokeBundleKey] revokes one (clients
// then refuse it even where pinned), and [SignKeyBundle] checks the bundle,
// signs it with the root keys and writes keys.json after its signatures.
//
// # Compatibility
//
// The files written here are the relkit wire formats ("relkit.signatures/v1",
// "relkit.keys/v1"), defined and versioned by package verify, plus the
// detached-signature files cosign and openssl read. "cosign verify-blob
// --key" accepts the .sig files for every key type here (ECDSA, Ed25519
// as pure Ed25519, RSA PKCS#1 v1.5); "openssl dgst -sha256 -verify" (or
// "openssl pkeyutl -verify -rawin" for Ed25519) accepts the raw signatures.
// The tests run both tools.
package sign
