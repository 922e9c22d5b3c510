package oci

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/relkit/relkit/manifest"
)

// TagAction is what a push did with a tag.
type TagAction string

// Tag actions.
const (
	// TagCreated: the tag did not exist and now points at the index.
	TagCreated TagAction = "created"
	// TagMoved: a rolling tag pointed at an older version and now points
	// at the index.
	TagMoved TagAction = "moved"
	// TagUnchanged: the tag already pointed at the index.
	TagUnchanged TagAction = "unchanged"
	// TagKept: a rolling tag points at a newer version (or one whose
	// version is unknown) and was left where it is.
	TagKept TagAction = "kept"
)

// TagResult reports one tag of a push.
type TagResult struct {
	Tag
	// Action is what the push did.
	Action TagAction
	// Previous is the digest the tag pointed at before the push; empty
	// when it did not exist.
	Previous string
	// PreviousVersion is the version the tag pointed at before the push
	// (its org.opencontainers.image.version), when it was read.
	PreviousVersion string
	// Reason explains a TagKept.
	Reason string
}

// Result reports a push.
type Result struct {
	// Repository is the repository pushed to ("ghcr.io/example/hello").
	Repository string
	// Digest is the index digest ("sha256:...").
	Digest string
	// Size is the size of the index manifest in bytes.
	Size int64
	// Version is the release version.
	Version manifest.Version
	// Platforms are the per-platform images.
	Platforms []PlatformImage
	// Skipped are the binaries that got no image (not linux).
	Skipped []Binary
	// Tags are the tags, in the order of Tags.
	Tags []TagResult
	// Signature is the tag holding the index's cosign signatures
	// ("ghcr.io/example/hello:sha256-<hex>.sig"); empty when the Client
	// has no signer.
	Signature string
	// Signed reports that this push wrote a new signature; false when the
	// index already carried a valid signature by the same key.
	Signed bool
	// Artifacts are the manifest records of the index and the
	// per-platform images (see Image.Artifacts).
	Artifacts []manifest.Artifact
	// Stats counts the requests of the push.
	Stats Stats
}

// Ref returns the pushed index by digest ("ghcr.io/example/hello@sha256:...").
func (r *Result) Ref() string { return r.Repository + "@" + r.Digest }

// TagConflictError reports a fixed tag (the version tag)
// that already points at a different digest: a version is never reused,
// and a push refuses before uploading anything.
type TagConflictError struct {
	// Repository is the repository.
	Repository string
	// Tag is the tag.
	Tag string
	// Have is the digest the tag points at.
	Have string
	// Want is the digest the push would have tagged.
	Want string
}

// Error names the tag and both digests.
func (e *TagConflictError) Error() string {
	return fmt.Sprintf("oci: %s:%s already points at %s, not %s (a version tag never moves)", e.Repository, e.Tag, e.Have, e.Want)
}

// Push builds the images spec describes and pushes them to
// spec.Repository: the blobs and manifests by digest, then (with a signer)
// the cosign signature of the index, then the tags of Tags, last, so that
// nothing is visible by tag before it is complete and signed.
//
// Before uploading anything, Push reads every tag: the version tag pointing
// at another digest fails the push with a *TagConflictError; a rolling tag
// that points at a newer version (by manifest.Compare of the
// org.opencontainers.image.version annotation) is kept where it is. So
// "latest" never moves backwards, and a pre-release never moves it at all.
//
// Push is idempotent: pushing the same release again makes the same
// digests, uploads no blob and writes no manifest (Result.Stats shows
// it), and keeps the existing signature.
func (c *Client) Push(ctx context.Context, spec Spec) (*Result, error) {
	if spec.Repository == "" {
		return nil, &SpecError{Field: "Repository", Reason: "empty"}
	}
	repo, err := name.NewRepository(spec.Repository, name.StrictValidation)
	if err != nil {
		return nil, &SpecError{Field: "Repository", Reason: err.Error()}
	}
	im, err := c.Build(ctx, spec)
	if err != nil {
		return nil, err
	}
	defer im.Close()
	return c.PushImage(ctx, repo.Name(), im)
}

// PushImage pushes an image made by Build to repository, as Push does.
// The image must not be closed.
func (c *Client) PushImage(ctx context.Context, repository string, im *Image) (*Result, error) {
	if im == nil || im.Index == nil || im.dir == "" {
		return nil, errors.New("oci: PushImage: image is nil or closed")
	}
	repo, err := name.NewRepository(repository, name.StrictValidation)
	if err != nil {
		return nil, &SpecError{Field: "Repository", Reason: err.Error()}
	}
	tags, err := Tags(im.Version, im.channel, im.commit, im.created)
	if err != nil {
		return nil, err
	}
	st := new(stats)
	// One puller and one pusher for the whole push, so that the registry
	// is pinged and authenticated once, not once per request.
	opts := c.remoteOptions(ctx, st)
	puller, err := remote.NewPuller(opts...)
	if err != nil {
		return nil, err
	}
	pusher, err := remote.NewPusher(opts...)
	if err != nil {
		return nil, err
	}
	opts = append(opts, remote.Reuse(puller), remote.Reuse(pusher))
	res := &Result{
		Repository: repo.Name(), Digest: im.Digest, Size: im.Size, Version: im.Version,
		Platforms: im.Platforms, Skipped: im.Skipped, Artifacts: im.Artifacts(),
	}
	log := c.log.With("repository", res.Repository, "digest", im.Digest)

	// Read every tag first: refuse before uploading anything.
	for _, t := range tags {
		tr, err := c.planTag(ctx, repo, t, im, opts)
		if err != nil {
			return nil, err
		}
		res.Tags = append(res.Tags, tr)
	}

	if err := remote.WriteIndex(repo.Digest(im.Digest), im.Index, opts...); err != nil {
		return nil, fmt.Errorf("oci: push %s: %w", res.Ref(), err)
	}
	log.InfoContext(ctx, "pushed image index")

	if c.signer != nil {
		sigTag, wrote, err := c.signIndex(ctx, repo, im.Digest, opts)
		if err != nil {
			return nil, err
		}
		res.Signature, res.Signed = sigTag, wrote
		log.InfoContext(ctx, "signed image index", "signature", sigTag, "new", wrote)
	}

	for _, tr := range res.Tags {
		if tr.Action != TagCreated && tr.Action != TagMoved {
			continue
		}
		if err := remote.Tag(repo.Tag(tr.Name), im.Index, opts...); err != nil {
			return nil, fmt.Errorf("oci: tag %s:%s: %w", res.Repository, tr.Name, err)
		}
		log.InfoContext(ctx, "tagged", "tag", tr.Name, "action", tr.Action)
	}
	res.Stats = st.snapshot()
	return res, nil
}

// planTag reads tag t and decides what to do with it.
func (c *Client) planTag(ctx context.Context, repo name.Repository, t Tag, im *Image, opts []remote.Option) (TagResult, error) {
	tr := TagResult{Tag: t}
	desc, err := remote.Head(repo.Tag(t.Name), opts...)
	if isNotFound(err) {
		tr.Action = TagCreated
		return tr, nil
	}
	if err != nil {
		return tr, fmt.Errorf("oci: read tag %s:%s: %w", repo.Name(), t.Name, err)
	}
	tr.Previous = desc.Digest.String()
	if tr.Previous == im.Digest {
		tr.Action = TagUnchanged
		tr.PreviousVersion = im.Annotations[AnnotationVersion]
		return tr, nil
	}
	if !t.Rolling {
		return tr, &TagConflictError{Repository: repo.Name(), Tag: t.Name, Have: tr.Previous, Want: im.Digest}
	}
	prev, err := c.versionAt(repo.Digest(tr.Previous), opts)
	if err != nil {
		return tr, fmt.Errorf("oci: read the version of %s:%s (%s): %w", repo.Name(), t.Name, tr.Previous, err)
	}
	tr.PreviousVersion = prev
	if prev == "" {
		tr.Action, tr.Reason = TagKept, "the image it points at has no "+AnnotationVersion+" annotation or label"
		return tr, nil
	}
	pv, err := manifest.ParseVersion(prev)
	if err != nil {
		tr.Action, tr.Reason = TagKept, fmt.Sprintf("the image it points at has version %q, which is not a version", prev)
		return tr, nil
	}
	if manifest.Compare(im.Version, pv) < 0 {
		tr.Action, tr.Reason = TagKept, fmt.Sprintf("it points at %s, newer than %s", pv, im.Version)
		return tr, nil
	}
	tr.Action = TagMoved
	return tr, nil
}

// versionAt returns the org.opencontainers.image.version of the index or
// image at ref: the manifest annotation, else the config label (of the
// first image of an index). It returns "" when there is neither.
func (c *Client) versionAt(ref name.Digest, opts []remote.Option) (string, error) {
	desc, err := remote.Get(ref, opts...)
	if err != nil {
		return "", err
	}
	var img v1.Image
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return "", err
		}
		m, err := idx.IndexManifest()
		if err != nil {
			return "", err
		}
		if v := m.Annotations[AnnotationVersion]; v != "" {
			return v, nil
		}
		if len(m.Manifests) == 0 || !m.Manifests[0].MediaType.IsImage() {
			return "", nil
		}
		if img, err = idx.Image(m.Manifests[0].Digest); err != nil {
			return "", err
		}
	} else if img, err = desc.Image(); err != nil {
		return "", err
	}
	m, err := img.Manifest()
	if err != nil {
		return "", err
	}
	if v := m.Annotations[AnnotationVersion]; v != "" {
		return v, nil
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return "", err
	}
	return cf.Config.Labels[AnnotationVersion], nil
}

func isNotFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}

// sigTag returns cosign's signature tag for digest ("sha256-<hex>.sig").
func sigTag(digest string) string {
	return strings.Replace(digest, ":", "-", 1) + ".sig"
}
