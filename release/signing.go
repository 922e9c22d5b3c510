package release

import (
	"context"
	"crypto"
	"fmt"
	"path"
	"path/filepath"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/sign"
	"github.com/relkit/relkit/verify"
)

// Sign is the signing stage ("sign"): it signs <version>/SHA256SUMS with
// every signer through [sign.SignFile], which writes SHA256SUMS.sig (the
// first signer's signature, base64: what `cosign verify-blob` and `openssl
// dgst -sha256 -verify` check) and signatures.json (one entry per signer),
// and records both as signature artifacts. SHA256SUMS covers every other
// file, so this one signature covers the release. Signing is idempotent.
type Sign struct {
	// Signers sign in order; the first one makes SHA256SUMS.sig. At least
	// one is required (ErrNoSigningKey).
	Signers []sign.Signer
}

// Name returns "sign".
func (s *Sign) Name() string { return "sign" }

// Run signs SHA256SUMS.
func (s *Sign) Run(ctx context.Context, st *State) error {
	if len(s.Signers) == 0 {
		return fmt.Errorf("sign %s: %w", manifest.ChecksumsFile, ErrNoSigningKey)
	}
	if err := st.needVersion(); err != nil {
		return err
	}
	if _, ok := st.Artifact(manifest.ChecksumsFile); !ok {
		return &ConfigError{Field: "State.Artifacts", Reason: "no SHA256SUMS to sign (run the checksums stage first)"}
	}
	res, err := sign.SignFile(ctx, st.VersionDir(), manifest.ChecksumsFile, s.Signers...)
	if err != nil {
		return err
	}
	for _, name := range []string{manifest.ChecksumsFile + ".sig", manifest.SignaturesFile} {
		if err := st.recordFile(name, manifest.KindSignature); err != nil {
			return err
		}
	}
	st.logger().Info("signed", "file", manifest.ChecksumsFile, "keys", res.Signed, "kept", res.Kept)
	return nil
}

// recordFile hashes a file the stage did not write itself (a signature
// written by package sign) and records it.
func (st *State) recordFile(name string, kind manifest.Kind) error {
	size, sum, err := hashFile(filepath.Join(st.VersionDir(), name))
	if err != nil {
		return err
	}
	st.AddArtifact(manifest.Artifact{Name: name, Path: path.Join(st.Version.String(), name), Kind: kind, Size: size, SHA256: sum})
	return nil
}

// SignManifest is the stage ("sign-manifest") that signs <root>/manifest.json
// (written by [UpdateManifest]) with every signer: manifest.json.sig and
// <root>/signatures.json.
type SignManifest struct {
	Signers []sign.Signer
}

// Name returns "sign-manifest".
func (s *SignManifest) Name() string { return "sign-manifest" }

// Run signs manifest.json.
func (s *SignManifest) Run(ctx context.Context, st *State) error {
	if len(s.Signers) == 0 {
		return fmt.Errorf("sign %s: %w", manifest.File, ErrNoSigningKey)
	}
	res, err := sign.SignFile(ctx, st.Root, manifest.File, s.Signers...)
	if err != nil {
		return err
	}
	st.logger().Info("signed", "file", manifest.File, "keys", res.Signed, "kept", res.Kept)
	return nil
}

// publicKeysPEM returns the PEM public keys of signers, for a verifier.
func publicKeysPEM(signers []sign.Signer) ([][]byte, error) {
	var out [][]byte
	for _, s := range signers {
		der, err := verify.MarshalPublicKey(s.PublicKey())
		if err != nil {
			return nil, err
		}
		out = append(out, der)
	}
	return out, nil
}

// signingKey returns the first signer's public key, or nil.
func signingKey(signers []sign.Signer) crypto.PublicKey {
	if len(signers) == 0 {
		return nil
	}
	return signers[0].PublicKey()
}
