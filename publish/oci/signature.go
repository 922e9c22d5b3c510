package oci

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// signIndex attaches a cosign signature of the index at digest, made with
// c.signer, under cosign's signature tag. It writes nothing when a valid
// signature by the same key for the same digest is already there.
func (c *Client) signIndex(ctx context.Context, repo name.Repository, digest string, opts []remote.Option) (tag string, wrote bool, err error) {
	ref := repo.Digest(digest)
	tag = repo.Tag(sigTag(digest)).Name()
	ropts := ociremote.WithRemoteOptions(opts...)
	sii, err := ociremote.SignedImageIndex(ref, ropts)
	if err != nil {
		return tag, false, fmt.Errorf("oci: sign %s: %w", ref, err)
	}
	existing, err := sii.Signatures()
	if err != nil {
		return tag, false, fmt.Errorf("oci: read signatures of %s: %w", ref, err)
	}
	sigs, err := existing.Get()
	if err != nil {
		return tag, false, fmt.Errorf("oci: read signatures of %s: %w", ref, err)
	}
	for _, s := range sigs {
		if c.signedBySigner(s, digest) {
			return tag, false, nil
		}
	}
	msg, err := payload.Cosign{Image: ref}.MarshalJSON()
	if err != nil {
		return tag, false, err
	}
	raw, err := c.signer.Sign(ctx, bytes.NewReader(msg))
	if err != nil {
		return tag, false, fmt.Errorf("oci: sign %s: %w", ref, err)
	}
	if !verifySig(c.signer.PublicKey(), msg, raw) {
		return tag, false, fmt.Errorf("oci: sign %s: the signer made a signature its public key does not verify", ref)
	}
	sig, err := static.NewSignature(msg, base64.StdEncoding.EncodeToString(raw))
	if err != nil {
		return tag, false, err
	}
	se, err := mutate.AttachSignatureToImageIndex(sii, sig)
	if err != nil {
		return tag, false, err
	}
	if err := ociremote.WriteSignatures(repo, se, ropts); err != nil {
		return tag, false, fmt.Errorf("oci: write signature %s: %w", tag, err)
	}
	return tag, true, nil
}

// signedBySigner reports whether s is a valid signature by c.signer over
// a cosign payload for digest.
func (c *Client) signedBySigner(s oci.Signature, digest string) bool {
	msg, err := s.Payload()
	if err != nil {
		return false
	}
	b64, err := s.Base64Signature()
	if err != nil {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return false
	}
	var p payload.SimpleContainerImage
	if err := json.Unmarshal(msg, &p); err != nil || p.Critical.Image.DockerManifestDigest != digest || p.Critical.Type != payload.CosignSignatureType {
		return false
	}
	return verifySig(c.signer.PublicKey(), msg, raw)
}

// verifySig checks an ECDSA or RSA PKCS#1 v1.5 signature over SHA-256 of
// msg, the verification "cosign verify --key" does.
func verifySig(pub crypto.PublicKey, msg, sig []byte) bool {
	sum := sha256.Sum256(msg)
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return ecdsa.VerifyASN1(k, sum[:], sig)
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], sig) == nil
	}
	return false
}
