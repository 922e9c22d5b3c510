package oci

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"os"
	"path"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/relkit/relkit/manifest"
)

// Image is a built multi-platform image: an OCI image index over one image
// per linux platform, ready to push. Its layers live in temporary files
// until Close.
type Image struct {
	// Index is the image index.
	Index v1.ImageIndex
	// Digest is the index digest ("sha256:...").
	Digest string
	// Size is the size of the index manifest in bytes.
	Size int64
	// Version is the release version the images carry.
	Version manifest.Version
	// Platforms are the per-platform images, sorted by platform.
	Platforms []PlatformImage
	// Skipped are the binaries that got no image (not linux).
	Skipped []Binary
	// Annotations are the annotations on the index.
	Annotations map[string]string

	project string
	name    string
	channel string
	commit  string
	created time.Time
	dir     string
}

// PlatformImage is the image of one platform.
type PlatformImage struct {
	// Platform is the platform ("linux"/"arm64").
	Platform manifest.Platform
	// Digest is the image manifest digest ("sha256:...").
	Digest string
	// Size is the size of the image manifest in bytes.
	Size int64
	// BaseDigest is the digest of the base image used for this platform;
	// empty for scratch.
	BaseDigest string
}

// Close removes the image's temporary files. The Image must not be pushed
// after Close.
func (im *Image) Close() error {
	if im == nil || im.dir == "" {
		return nil
	}
	err := os.RemoveAll(im.dir)
	im.dir = ""
	return err
}

// BaseImageError reports a base image that could not be used for a
// platform.
type BaseImageError struct {
	// Base is the base image reference as given.
	Base string
	// Platform is the platform it was resolved for.
	Platform manifest.Platform
	// Err is the cause.
	Err error
}

// Error names the base, the platform and the cause.
func (e *BaseImageError) Error() string {
	return fmt.Sprintf("oci: base image %s for %s: %v", e.Base, e.Platform, e.Err)
}

// Unwrap returns Err.
func (e *BaseImageError) Unwrap() error { return e.Err }

// Build builds the images spec describes, without pushing anything: one
// image per linux platform of spec.Binaries and an index over them. Given
// the same Spec (and the same base image), Build makes the same digests on
// any machine, so a release can record image digests before it publishes.
// Only a base image is read from its registry; with no base, Build does no
// network I/O. Call Image.Close when done.
func (c *Client) Build(ctx context.Context, spec Spec) (_ *Image, err error) {
	v, err := spec.check()
	if err != nil {
		return nil, err
	}
	platforms, byPlatform, skipped := spec.linuxPlatforms()
	if len(platforms) == 0 {
		return nil, &SpecError{Field: "Binaries", Reason: "no linux binaries"}
	}
	entrypoint, err := spec.entrypoint(platforms, byPlatform)
	if err != nil {
		return nil, err
	}
	var base name.Reference
	if spec.Base != "" {
		if base, err = name.ParseReference(spec.Base); err != nil {
			return nil, &SpecError{Field: "Base", Reason: err.Error()}
		}
	}
	dir, err := os.MkdirTemp(c.tempDir, "relkit-oci-")
	if err != nil {
		return nil, err
	}
	im := &Image{Version: v, Skipped: skipped, project: spec.Project, name: spec.Name, channel: spec.Channel, commit: spec.Commit, created: spec.Created, dir: dir}
	defer func() {
		if err != nil {
			im.Close()
		}
	}()

	created := spec.Created.UTC().Truncate(time.Second)
	std := map[string]string{
		AnnotationCreated:  created.Format(time.RFC3339),
		AnnotationVersion:  strings.TrimPrefix(v.String(), "v"),
		AnnotationRevision: spec.Commit,
		AnnotationTitle:    cmp.Or(spec.Name, spec.Project),
	}
	if spec.Source != "" {
		std[AnnotationSource] = spec.Source
	}
	// Platforms build concurrently (compression is the cost), at most
	// GOMAXPROCS at a time; the index lists them in platform order.
	imgs := make([]v1.Image, len(platforms))
	pis := make([]PlatformImage, len(platforms))
	errs := make([]error, len(platforms))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, p := range platforms {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			imgs[i], pis[i], errs[i] = c.buildPlatform(ctx, &spec, p, byPlatform[p], base, entrypoint, created, std, dir)
		})
	}
	wg.Wait()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for i, p := range platforms {
		if errs[i] != nil {
			return nil, errs[i]
		}
		op := ociPlatform(p)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: imgs[i], Descriptor: v1.Descriptor{Platform: &op}})
		im.Platforms = append(im.Platforms, pis[i])
	}
	im.Annotations = merge(std, spec.Annotations)
	idx = mutate.Annotations(idx, im.Annotations).(v1.ImageIndex)
	if idx, err = withoutArtifactTypes(idx); err != nil {
		return nil, err
	}
	d, err := idx.Digest()
	if err != nil {
		return nil, err
	}
	size, err := idx.Size()
	if err != nil {
		return nil, err
	}
	im.Index, im.Digest, im.Size = idx, d.String(), size
	if spec.Digest != "" {
		if want := "sha256:" + strings.TrimPrefix(spec.Digest, "sha256:"); want != im.Digest {
			return nil, &DigestMismatchError{Want: want, Got: im.Digest}
		}
	}
	c.log.InfoContext(ctx, "built image index", "digest", im.Digest, "platforms", len(im.Platforms))
	return im, nil
}

func (c *Client) buildPlatform(ctx context.Context, spec *Spec, p manifest.Platform, bins []Binary, base name.Reference,
	entrypoint []string, created time.Time, std map[string]string, dir string) (v1.Image, PlatformImage, error) {
	pi := PlatformImage{Platform: p}
	op := ociPlatform(p)
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	anns := maps.Clone(std)
	if base != nil {
		b, err := remote.Image(base, append(c.remoteOptions(ctx, nil), remote.WithPlatform(op))...)
		if err != nil {
			return nil, pi, &BaseImageError{Base: spec.Base, Platform: p, Err: err}
		}
		cf, err := b.ConfigFile()
		if err != nil {
			return nil, pi, &BaseImageError{Base: spec.Base, Platform: p, Err: err}
		}
		if cf.OS != op.OS || cf.Architecture != op.Architecture {
			return nil, pi, &BaseImageError{Base: spec.Base, Platform: p,
				Err: fmt.Errorf("resolved to an image for %s/%s", cf.OS, cf.Architecture)}
		}
		d, err := b.Digest()
		if err != nil {
			return nil, pi, &BaseImageError{Base: spec.Base, Platform: p, Err: err}
		}
		img, pi.BaseDigest = b, d.String()
		anns[AnnotationBaseName] = spec.Base
		anns[AnnotationBaseDigest] = pi.BaseDigest
	}
	mt, err := img.MediaType()
	if err != nil {
		return nil, pi, err
	}
	layerType := types.OCILayer
	if mt == types.DockerManifestSchema2 {
		layerType = types.DockerLayer
	}

	var entries []entry
	seen := map[string]string{}
	addEntry := func(e entry, field string) error {
		if prev, ok := seen[e.dst]; ok {
			return &SpecError{Field: field, Reason: fmt.Sprintf("%s is also %s in the %s image", e.dst, prev, p)}
		}
		seen[e.dst] = field
		entries = append(entries, e)
		return nil
	}
	for _, b := range bins {
		if err := addEntry(entry{src: b.Path, dst: path.Join(spec.binDir(), b.name()), mode: 0o755}, "binary "+b.Path); err != nil {
			return nil, pi, err
		}
	}
	for i, f := range spec.Files {
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
		}
		if err := addEntry(entry{src: f.Src, dst: f.Dst, mode: mode}, fmt.Sprintf("Files[%d]", i)); err != nil {
			return nil, pi, err
		}
	}
	layer, err := writeLayer(ctx, dir, entries, created, layerType)
	if err != nil {
		return nil, pi, fmt.Errorf("oci: layer for %s: %w", p, err)
	}
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{
		Created: v1.Time{Time: created}, CreatedBy: "relkit publish/oci", Comment: spec.Project + " " + std[AnnotationVersion],
	}})
	if err != nil {
		return nil, pi, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, pi, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = op.OS, op.Architecture, op.Variant
	cf.Created = v1.Time{Time: created}
	cf.Author = ""
	if len(entrypoint) > 0 {
		cf.Config.Entrypoint = entrypoint
		cf.Config.Cmd = nil
	}
	if len(spec.Cmd) > 0 {
		cf.Config.Cmd = spec.Cmd
	}
	cf.Config.Env = append(cf.Config.Env, spec.Env...)
	if spec.User != "" {
		cf.Config.User = spec.User
	}
	if spec.WorkingDir != "" {
		cf.Config.WorkingDir = spec.WorkingDir
	}
	cf.Config.Labels = merge(cf.Config.Labels, std, spec.Labels)
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, pi, err
	}
	img = mutate.Annotations(img, merge(anns, spec.Annotations)).(v1.Image)
	d, err := img.Digest()
	if err != nil {
		return nil, pi, err
	}
	if pi.Size, err = img.Size(); err != nil {
		return nil, pi, err
	}
	pi.Digest = d.String()
	return img, pi, nil
}

// entrypoint returns spec.Entrypoint or the path of the one binary every
// platform has.
func (s *Spec) entrypoint(platforms []manifest.Platform, by map[manifest.Platform][]Binary) ([]string, error) {
	if len(s.Entrypoint) > 0 {
		return s.Entrypoint, nil
	}
	var only string
	for _, p := range platforms {
		bins := by[p]
		if len(bins) != 1 || (only != "" && bins[0].name() != only) {
			return nil, &SpecError{Field: "Entrypoint", Reason: "required when a platform has several binaries or platforms differ in binary name"}
		}
		only = bins[0].name()
	}
	return []string{path.Join(s.binDir(), only)}, nil
}

// ociPlatform maps a Go platform to an OCI platform (GOARCH arm is
// variant v7, as GOARM defaults to 7).
func ociPlatform(p manifest.Platform) v1.Platform {
	op := v1.Platform{OS: p.OS, Architecture: p.Arch}
	if p.Arch == "arm" {
		op.Variant = "v7"
	}
	return op
}

// merge returns the union of ms, later maps winning, or nil when all are
// empty.
func merge(ms ...map[string]string) map[string]string {
	var out map[string]string
	for _, m := range ms {
		for k, v := range m {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}

// Artifacts returns the manifest records of the image, kind
// manifest.KindImage, for a release's manifest.json (and its SBOM and
// provenance subjects): first the index, named
// "<project>-<version>-image", then one per platform,
// "<project>-<version>-image-<os>-<arch>" with OS and Arch set; with
// Spec.Name, "<project>-<version>-<name>-image" and so on. Size and
// SHA256 are those of the manifest bytes (SHA256 is the digest without
// "sha256:"); Path is empty, as an image lives in a registry, not under the
// release root. The records do not depend on the repository, so pushing
// the same image to several registries records it once.
func (im *Image) Artifacts() []manifest.Artifact {
	prefix := im.project + "-" + strings.TrimPrefix(im.Version.String(), "v")
	if im.name != "" {
		prefix += "-" + im.name
	}
	prefix += "-image"
	out := []manifest.Artifact{{Name: prefix, Kind: manifest.KindImage, Size: im.Size, SHA256: hexOf(im.Digest)}}
	for _, p := range im.Platforms {
		out = append(out, manifest.Artifact{
			Name: prefix + "-" + p.Platform.OS + "-" + p.Platform.Arch, Kind: manifest.KindImage,
			OS: p.Platform.OS, Arch: p.Platform.Arch, Size: p.Size, SHA256: hexOf(p.Digest),
		})
	}
	return out
}

func hexOf(digest string) string { return strings.TrimPrefix(digest, "sha256:") }
