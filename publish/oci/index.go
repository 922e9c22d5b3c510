package oci

import (
	"bytes"
	"encoding/json"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// plainIndex is an image index whose manifest is exactly the given bytes,
// children served by the index it was made from. go-containerregistry's
// mutate.AppendManifests writes "artifactType" (the config media type) into
// every image descriptor; image-spec 1.1 means that field for artifacts,
// and older tools (skopeo 1.9, as in Debian 12) must then re-encode the
// index, so they cannot copy it with its digest. plainIndex drops it.
type plainIndex struct {
	inner  v1.ImageIndex
	raw    []byte
	m      *v1.IndexManifest
	digest v1.Hash
}

// withoutArtifactTypes returns idx with no artifactType on image
// descriptors.
func withoutArtifactTypes(idx v1.ImageIndex) (v1.ImageIndex, error) {
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	m = m.DeepCopy()
	for i := range m.Manifests {
		if m.Manifests[i].MediaType.IsImage() {
			m.Manifests[i].ArtifactType = ""
		}
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	return &plainIndex{inner: idx, raw: raw, m: m, digest: h}, nil
}

func (p *plainIndex) MediaType() (types.MediaType, error)       { return p.m.MediaType, nil }
func (p *plainIndex) Digest() (v1.Hash, error)                  { return p.digest, nil }
func (p *plainIndex) Size() (int64, error)                      { return int64(len(p.raw)), nil }
func (p *plainIndex) RawManifest() ([]byte, error)              { return p.raw, nil }
func (p *plainIndex) IndexManifest() (*v1.IndexManifest, error) { return p.m.DeepCopy(), nil }

func (p *plainIndex) Image(h v1.Hash) (v1.Image, error) { return p.inner.Image(h) }

func (p *plainIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) { return p.inner.ImageIndex(h) }
