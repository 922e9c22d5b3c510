package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish/oci"
	"github.com/relkit/relkit/sign"
)

// ImageConfig describes the container image of a release (package
// publish/oci): a multi-platform image of the release's linux binaries,
// recorded by [Prepare] (stage [ImageBuild]) and pushed by [Publish]
// (stage [ImagePush]). Give both the same ImageConfig: the push rebuilds the
// image from the staged archives and refuses to ship anything but the
// recorded digest (*oci.DigestMismatchError).
type ImageConfig struct {
	// Spec describes the image as for oci.Build: set Repository (where
	// the image is pushed, without tag or digest, e.g.
	// "ghcr.io/example/hello"; required by [ImagePush], unused by
	// [ImageBuild]), and optionally Name (tells apart several images of
	// one release), Base (the base image, best pinned by digest since
	// the push must rebuild the same bytes; empty means scratch, and then
	// building needs no network), Source, Files, BinDir, Entrypoint,
	// Cmd, Env, User, WorkingDir, Labels and Annotations. Channel decides
	// which tags the push moves (see oci.Tags); empty means the release's
	// channel (Config.Channel, as staged in manifest.json), except that a
	// pre-release on the edge channel, where the manifest puts
	// pre-releases by default, moves only its own tags.
	//
	// The release fills in Project, Version, Commit, Created and
	// Binaries; setting them is a *ConfigError.
	oci.Spec
	// Binary is the executable put into the image, as named in the
	// archives ("hello"); empty means the project name. Other binaries of
	// the release are not in the image.
	Binary string
	// Signer signs the pushed index as "cosign sign --key" does (ECDSA,
	// such as a cosign key, or RSA PKCS#1 v1.5); nil pushes an unsigned
	// image. [ImageBuild] checks it, so an unusable key fails Prepare
	// rather than Publish.
	Signer sign.Signer
	// Options are extra client options (oci.WithKeychain,
	// oci.WithTransport, oci.WithTempDir...).
	Options []oci.Option
}

// binary returns the executable name.
func (c *ImageConfig) binary(st *State) string {
	if c.Binary != "" {
		return c.Binary
	}
	return st.Project
}

// spec returns the oci.Spec of the release in st on the tag channel
// channel with binaries bins.
func (c *ImageConfig) spec(st *State, channel string, bins []oci.Binary) oci.Spec {
	s := c.Spec
	s.Project, s.Version, s.Commit, s.Created, s.Channel, s.Binaries = st.Project, st.Version.String(), st.Commit, st.Date, channel, bins
	return s
}

// check refuses the Spec fields the release fills in.
func (c *ImageConfig) check() error {
	var set []string
	if c.Project != "" {
		set = append(set, "Project")
	}
	if c.Version != "" {
		set = append(set, "Version")
	}
	if c.Commit != "" {
		set = append(set, "Commit")
	}
	if !c.Created.IsZero() {
		set = append(set, "Created")
	}
	if len(c.Binaries) > 0 {
		set = append(set, "Binaries")
	}
	if len(set) > 0 {
		return &ConfigError{Field: "ImageConfig.Spec", Reason: fmt.Sprintf("%s: set by the release from its state; leave empty", strings.Join(set, ", "))}
	}
	return nil
}

// channel returns the channel of the image tags of version v released on
// the release channel rel (as configured or as staged).
func (c *ImageConfig) channel(v manifest.Version, rel string) string {
	switch {
	case c.Channel != "":
		return c.Channel
	case v.IsPrerelease() && rel == manifest.ChannelEdge:
		return ""
	}
	return rel
}

// client returns an oci.Client with the configured signer and options,
// logging to st.
func (c *ImageConfig) client(st *State) (*oci.Client, error) {
	opts := []oci.Option{oci.WithLogger(st.logger())}
	if c.Signer != nil {
		opts = append(opts, oci.WithSigner(c.Signer))
	}
	return oci.New(append(opts, c.Options...)...)
}

// indexName is the name of the index record of the image (see
// oci.Image.Artifacts).
func (c *ImageConfig) indexName(st *State) string {
	n := st.Project + "-" + st.Version.String()
	if c.Name != "" {
		n += "-" + c.Name
	}
	return n + "-image"
}

// ErrNoImage is returned (wrapped) by [ImagePush] when the staged release
// records no image of the configured name: it was prepared without
// [ImageBuild] or with another [ImageConfig.Name].
var ErrNoImage = errors.New("no image recorded in the staged release")

// ImageBuild is the image stage ("image") of [Prepare]: it builds the
// container image of the release's linux binaries (one image per linux
// platform and an index over them, package publish/oci), without pushing
// anything, and stages the image manifests as files of kind
// manifest.KindImage: <version>/<project>-<version>-image holds the index
// manifest and <version>/<project>-<version>-image-<os>-<arch> each
// platform's image manifest, byte for byte as the registry will serve
// them, so that each file's SHA-256 is the image digest. They are then
// listed in SHA256SUMS, manifest.json, the SBOM and the provenance like
// any artifact, which ties the image digests to the signed release. Run it
// after [Build] and before [SBOM].
//
// With the default scratch base, building does no network I/O. Builds are
// reproducible (the commit time is every timestamp), so [ImagePush] can
// rebuild the same digests later from the staged archives.
type ImageBuild struct {
	// Image describes the image; required.
	Image *ImageConfig
	// Channel is the release's channel (Config.Channel); it decides the
	// image tags unless ImageConfig.Channel is set, and is checked here
	// (a pre-release on stable is refused) so that the push cannot fail on
	// it later.
	Channel string
	// Layout, when set, is a directory (absent or empty) where the image is
	// also written as an OCI image layout, for inspecting a dry run
	// ("skopeo inspect --raw oci:DIR:VERSION").
	Layout string
}

// Name returns "image".
func (b *ImageBuild) Name() string { return "image" }

// Run builds the image and stages its manifests.
func (b *ImageBuild) Run(ctx context.Context, st *State) error {
	if b.Image == nil {
		return &ConfigError{Field: "ImageBuild.Image", Reason: "required"}
	}
	if err := b.Image.check(); err != nil {
		return err
	}
	if err := st.needVersion(); err != nil {
		return err
	}
	channel := b.Image.channel(st.Version, b.Channel)
	if _, err := oci.Tags(st.Version, channel, st.Commit, st.Date); err != nil {
		return err
	}
	c, err := b.Image.client(st)
	if err != nil {
		return err
	}
	name := b.Image.binary(st)
	var bins []oci.Binary
	for _, x := range st.Binaries {
		if x.Platform.OS == "linux" && x.Name == name {
			bins = append(bins, oci.Binary{Name: x.Name, Path: x.Path, Platform: x.Platform})
		}
	}
	if len(bins) == 0 {
		return &ConfigError{Field: "ImageConfig.Binary", Reason: fmt.Sprintf("no linux binary named %q in the release", name)}
	}
	im, err := c.Build(ctx, b.Image.spec(st, channel, bins))
	if err != nil {
		return err
	}
	defer im.Close()
	arts, err := imageManifests(im)
	if err != nil {
		return err
	}
	var staged []manifest.Artifact // recorded only when all are staged
	for _, a := range arts {
		rec, err := st.stageFile(a.Name, manifest.KindImage, manifest.Platform{OS: a.OS, Arch: a.Arch}, func(w io.Writer) error {
			_, err := w.Write(a.raw)
			return err
		})
		if err != nil {
			return err
		}
		if rec.SHA256 != a.SHA256 || rec.Size != a.Size {
			return fmt.Errorf("image %s: staged manifest has sha256 %s (%d bytes), its record says %s (%d bytes)", a.Name, rec.SHA256, rec.Size, a.SHA256, a.Size)
		}
		staged = append(staged, rec)
	}
	if b.Layout != "" {
		if err := im.WriteLayout(b.Layout); err != nil {
			return err
		}
	}
	for _, a := range staged {
		st.AddArtifact(a)
	}
	st.logger().Info("image built", "digest", im.Digest, "platforms", len(im.Platforms), "layout", b.Layout)
	return nil
}

// imageManifest is an image record with the manifest bytes it describes.
type imageManifest struct {
	manifest.Artifact
	raw []byte
}

// imageManifests returns the records of im with their manifests' bytes.
// Manifests are small (a few KiB: they list digests, not content), so
// they are held in memory.
func imageManifests(im *oci.Image) ([]imageManifest, error) {
	var out []imageManifest
	for _, a := range im.Artifacts() {
		var raw []byte
		var err error
		if a.OS == "" {
			raw, err = im.Index.RawManifest()
		} else {
			var img v1.Image
			if img, err = im.Index.Image(v1.Hash{Algorithm: "sha256", Hex: a.SHA256}); err == nil {
				raw, err = img.RawManifest()
			}
		}
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", a.Name, err)
		}
		out = append(out, imageManifest{Artifact: a, raw: raw})
	}
	return out, nil
}

// ImagePush is the image push stage ("push-image") of [Publish]: it pushes
// the image [ImageBuild] recorded to ImageConfig.Repository, before the
// publish stage, so that the registry holds the image (signed, and tagged
// per oci.Tags) before manifest.json names it. The image is rebuilt from
// the binaries in the staged linux archives (checked against their
// SHA-256 while read) with the index digest pinned to the one recorded in
// the staged manifest, so what is pushed is what was signed; any drift
// (another base image, another ImageConfig) fails with an
// *oci.DigestMismatchError before anything is uploaded. Pushing again is
// idempotent: same digests, nothing uploaded, tags unchanged.
//
// The result is appended to State.Pushed.
type ImagePush struct {
	// Image describes the image, as given to [ImageBuild]; required.
	Image *ImageConfig
}

// Name returns "push-image".
func (p *ImagePush) Name() string { return "push-image" }

// Publishes reports true: snapshot mode skips this stage.
func (p *ImagePush) Publishes() bool { return true }

// Run pushes the image.
func (p *ImagePush) Run(ctx context.Context, st *State) error {
	if p.Image == nil {
		return &ConfigError{Field: "ImagePush.Image", Reason: "required"}
	}
	if p.Image.Repository == "" {
		return &ConfigError{Field: "ImageConfig.Spec.Repository", Reason: "required to push"}
	}
	if err := p.Image.check(); err != nil {
		return err
	}
	if err := st.needVersion(); err != nil {
		return err
	}
	index, ok := st.Artifact(p.Image.indexName(st))
	if !ok || index.Kind != manifest.KindImage {
		return fmt.Errorf("%s %s: image %s: %w", st.Project, st.Version, p.Image.indexName(st), ErrNoImage)
	}
	c, err := p.Image.client(st)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "relkit-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bins, err := oci.FromArchives(ctx, st.Root, st.Release(""), p.Image.binary(st), tmp)
	if err != nil {
		return err
	}
	m, err := manifest.LoadFile(filepath.Join(st.Root, manifest.File))
	if err != nil {
		return err
	}
	rel, ok := m.Release(st.Version.String())
	if !ok {
		return fmt.Errorf("%s: release %s: %w", manifest.File, st.Version, manifest.ErrNotFound)
	}
	spec := p.Image.spec(st, p.Image.channel(st.Version, rel.Channel), bins)
	spec.Digest = "sha256:" + index.SHA256
	if p.Image.Signer == nil {
		st.logger().Warn("pushing an unsigned image (ImageConfig.Signer is nil)", "repository", spec.Repository)
	}
	res, err := c.Push(ctx, spec)
	if err != nil {
		return err
	}
	st.Pushed = append(st.Pushed, res)
	var tags []string
	for _, t := range res.Tags {
		tags = append(tags, t.Name+"="+string(t.Action))
	}
	st.logger().Info("image pushed", "ref", res.Ref(), "tags", strings.Join(tags, " "), "signed", res.Signed,
		"blob_uploads", res.Stats.BlobUploads, "manifest_puts", res.Stats.ManifestPuts)
	return nil
}
