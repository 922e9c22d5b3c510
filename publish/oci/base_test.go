package oci_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/relkit/relkit/internal/registrytest"
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish/oci"
)

// pushBase pushes a base image index with one image per platform (a random
// layer, an env var and a label) and returns the per-platform digests.
func pushBase(t *testing.T, ref string, mt types.MediaType, platforms ...v1.Platform) map[string]string {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	digests := map[string]string{}
	for i, p := range platforms {
		img, err := random.Image(512, 1)
		if err != nil {
			t.Fatal(err)
		}
		img = mutate.MediaType(img, mt)
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = p.OS, p.Architecture
		cf.Config.Env = []string{"PATH=/usr/bin:/bin"}
		cf.Config.Labels = map[string]string{"base.label": "kept"}
		cf.Config.Entrypoint = []string{"/bin/sh"}
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		digests[p.Architecture] = d.String()
		pp := platforms[i]
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &pp}})
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
	return digests
}

func TestBaseImage(t *testing.T) {
	reg := registrytest.Start(t)
	base := reg.Host + "/base:1"
	digests := pushBase(t, base, types.OCIManifestSchema1,
		v1.Platform{OS: "linux", Architecture: "amd64"}, v1.Platform{OS: "linux", Architecture: "arm64"})
	c := newClient(t)
	spec := testSpec(t, reg.Host+"/hello", "1.0.0", 1)
	spec.Base = base
	res := push(t, c, spec)

	for _, p := range res.Platforms {
		if p.BaseDigest != digests[p.Platform.Arch] {
			t.Errorf("%s: base digest %s, want %s", p.Platform, p.BaseDigest, digests[p.Platform.Arch])
		}
		ref, _ := name.NewDigest(res.Repository + "@" + p.Digest)
		img, err := remote.Image(ref)
		if err != nil {
			t.Fatal(err)
		}
		layers, _ := img.Layers()
		cf, _ := img.ConfigFile()
		m, _ := img.Manifest()
		if len(layers) != 2 || cf.Architecture != p.Platform.Arch {
			t.Errorf("%s: %d layers, arch %s", p.Platform, len(layers), cf.Architecture)
		}
		if !slices.Equal(cf.Config.Entrypoint, []string{"/usr/local/bin/hello"}) || cf.Config.Labels["base.label"] != "kept" || !slices.Contains(cf.Config.Env, "PATH=/usr/bin:/bin") {
			t.Errorf("%s: config %+v", p.Platform, cf.Config)
		}
		if m.Annotations[oci.AnnotationBaseName] != base || m.Annotations[oci.AnnotationBaseDigest] != p.BaseDigest {
			t.Errorf("%s: annotations %v", p.Platform, m.Annotations)
		}
	}

	// A base with no arm64 image.
	amd := reg.Host + "/base-amd64:1"
	pushBase(t, amd, types.OCIManifestSchema1, v1.Platform{OS: "linux", Architecture: "amd64"})
	spec.Base = amd
	_, err := c.Build(context.Background(), spec)
	var be *oci.BaseImageError
	if !errors.As(err, &be) || be.Platform != (manifest.Platform{OS: "linux", Arch: "arm64"}) || be.Base != amd {
		t.Errorf("base without arm64: err = %v, want *BaseImageError for linux/arm64", err)
	}
}

// TestBaseImageDocker builds on a Docker schema 2 base: the added layer is
// a Docker layer too, and docker-registry accepts the push.
func TestBaseImageDocker(t *testing.T) {
	reg := registrytest.Start(t)
	base := reg.Host + "/dbase:1"
	pushBase(t, base, types.DockerManifestSchema2,
		v1.Platform{OS: "linux", Architecture: "amd64"}, v1.Platform{OS: "linux", Architecture: "arm64"})
	spec := testSpec(t, reg.Host+"/hello", "1.0.0", 1)
	spec.Base = base
	res := push(t, newClient(t), spec)
	ref, _ := name.NewDigest(res.Repository + "@" + res.Platforms[1].Digest)
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := img.Manifest()
	if m.MediaType != types.DockerManifestSchema2 || m.Layers[1].MediaType != types.DockerLayer {
		t.Errorf("manifest %s, layer %s", m.MediaType, m.Layers[1].MediaType)
	}
}
