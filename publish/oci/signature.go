package oci

// A cosign image signature, written with go-containerregistry alone, as
// cosign v2 writes it ("cosign sign --key" with no transparency log,
// pkg/oci/remote and pkg/oci/mutate): the image at the tag
// sha256-<hex>.sig of the signed digest, an OCI manifest with an OCI config,
// one uncompressed layer per signature whose bytes are the simple-signing
// payload (media type application/vnd.dev.cosign.simplesigning.v1+json) and
// whose descriptor carries the base64 signature in the annotation
// dev.cosignproject.cosign/signature. A new signature is appended to the
// layers already there.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The cosign signature format.
const (
	// cosignSignatureType is critical.type of the payload.
	cosignSignatureType = "cosign container image signature"
	// simpleSigningMediaType is the media type of a signature layer.
	simpleSigningMediaType types.MediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	// signatureAnnotation holds the base64 signature of a layer.
	signatureAnnotation = "dev.cosignproject.cosign/signature"
	// maxSignatureLayers is the most signatures cosign reads from one
	// signature image; an image with more is refused, as cosign does.
	maxSignatureLayers = 1000
	// maxPayloadSize bounds the signature payloads read back to look for
	// our own: ours are a few hundred bytes, and a larger layer is
	// someone else's, left alone.
	maxPayloadSize = 64 << 10
)

// simpleSigning is the payload cosign signs for an image: the
// "simple signing" format of containers/image, with cosign's type (see
// github.com/sigstore/sigstore/pkg/signature/payload). Field order and the
// null optional are as cosign marshals it.
type simpleSigning struct {
	Critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
	Optional map[string]any `json:"optional"`
}

// cosignPayload returns the payload "cosign sign" signs for the image at
// digest in repo.
func cosignPayload(repo name.Repository, digest string) ([]byte, error) {
	var p simpleSigning
	p.Critical.Identity.DockerReference = repo.Name()
	p.Critical.Image.DockerManifestDigest = digest
	p.Critical.Type = cosignSignatureType
	return json.Marshal(p)
}

// signIndex attaches a cosign signature of the index at digest, made with
// c.signer, under cosign's signature tag. It writes nothing when a valid
// signature by the same key for the same digest is already there.
func (c *Client) signIndex(ctx context.Context, repo name.Repository, digest string, opts []remote.Option) (tag string, wrote bool, err error) {
	ref := repo.Digest(digest)
	sigRef := repo.Tag(sigTag(digest))
	tag = sigRef.Name()
	base, err := remote.Image(sigRef, opts...)
	switch {
	case isNotFound(err):
		// No signature yet: cosign starts from an empty OCI image.
		base = mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	case err != nil:
		return tag, false, fmt.Errorf("oci: read signatures of %s: %w", ref, err)
	default:
		found, err := c.hasSignature(base, digest)
		if err != nil {
			return tag, false, fmt.Errorf("oci: read signatures of %s: %w", ref, err)
		}
		if found {
			return tag, false, nil
		}
	}
	msg, err := cosignPayload(repo, digest)
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
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:       static.NewLayer(msg, simpleSigningMediaType),
		Annotations: map[string]string{signatureAnnotation: base64.StdEncoding.EncodeToString(raw)},
	})
	if err != nil {
		return tag, false, err
	}
	if err := remote.Write(sigRef, img, opts...); err != nil {
		return tag, false, fmt.Errorf("oci: write signature %s: %w", tag, err)
	}
	return tag, true, nil
}

// hasSignature reports whether the signature image img holds a valid
// signature by c.signer over a cosign payload for digest. Layers that are
// not such a signature (other keys, other payloads, attachments) are
// skipped; an image with more layers than cosign reads is an error.
func (c *Client) hasSignature(img v1.Image, digest string) (bool, error) {
	m, err := img.Manifest()
	if err != nil {
		return false, err
	}
	if len(m.Layers) > maxSignatureLayers {
		return false, fmt.Errorf("%d signature layers, more than the %d cosign reads", len(m.Layers), maxSignatureLayers)
	}
	for _, d := range m.Layers {
		b64, ok := d.Annotations[signatureAnnotation]
		if !ok || d.Size > maxPayloadSize {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			continue
		}
		l, err := img.LayerByDigest(d.Digest)
		if err != nil {
			return false, err
		}
		msg, err := readLayer(l)
		if err != nil {
			return false, err
		}
		var p simpleSigning
		if err := json.Unmarshal(msg, &p); err != nil || p.Critical.Image.DockerManifestDigest != digest || p.Critical.Type != cosignSignatureType {
			continue
		}
		if verifySig(c.signer.PublicKey(), msg, raw) {
			return true, nil
		}
	}
	return false, nil
}

// readLayer reads a signature layer's bytes as stored (cosign stores them
// uncompressed), at most maxPayloadSize of them.
func readLayer(l v1.Layer) ([]byte, error) {
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxPayloadSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxPayloadSize {
		return nil, errors.New("signature layer larger than its descriptor says")
	}
	return b, nil
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
