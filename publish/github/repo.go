package github

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v62/github"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish"
)

// The asset names the index release uses while it replaces one of its
// files: the new bytes go up under a "next" name, the old asset is renamed
// to a "prev" name, and the "next" asset is renamed to the file's name.
const (
	nextInfix = ".next."
	prevInfix = ".prev."
)

// Repo is the GitHub provider for a whole project, in the forge layout
// of docs/wire-format.md: the root of the release layout (manifest.json,
// its content-addressed signatures, keys.json, install.sh, the root
// chain) lives in one index release (tag [manifest.IndexTag], published,
// flagged pre-release and never latest), and each version's files in the
// release of that version's tag, under their base names. Clients read
// both through GitHub's public download URLs, so the current manifest is
// found in two requests whatever the newest release is.
//
// A version's release is created as a draft and published before
// manifest.json is replaced, so the commit point is, as on every store,
// the replacement of manifest.json. GitHub cannot replace an asset in one
// step, so the index replaces a file by uploading the new bytes under a
// temporary name, renaming the old asset aside and renaming the new one
// into place: asset names are unique within a release, so of two
// publishers racing to claim the name, one gets GitHub's 422
// already_exists (publish.ErrChanged) and merges again. Between the two
// renames manifest.json is absent for a moment; a reader then finds the
// previous one under its "prev" name (Stat and Open do), and a publish
// killed there leaves that previous manifest in place for the next run.
//
// With GitHub's immutable releases on, a published release's assets
// cannot change, so the index cannot be updated: keep the index in a
// repository without immutable releases, or publish the root to a
// directory or S3 mirror.
type Repo struct {
	opts  options
	index *Store

	mu       sync.Mutex
	versions map[string]*Store // by version directory
	touched  map[string]bool   // versions uploaded to by this Repo
}

var _ interface {
	publish.Store
	publish.Committer
	publish.Locator
} = (*Repo)(nil)

// NewRepo returns a Repo for the repository owner/repo ("acme", "hello").
// Besides the options every client takes, [WithIndexTag] and [WithTagFor]
// set where the root and each version go, and [WithTag] names the release
// being published, which the release options ([WithName], [WithBody],
// [WithPrerelease], ...) describe. NewRepo makes no request.
func NewRepo(owner, repo string, opts ...Option) (*Repo, error) {
	o, err := apply("NewRepo", opts)
	if err != nil {
		return nil, err
	}
	o.Owner, o.Repo = owner, repo
	idx := o
	idx.Tag = o.IndexTag
	idx.Name = "Release index"
	idx.Body = "The signed index of this repository's releases (manifest.json and its signatures), read by relkit clients. Do not delete it."
	idx.Prerelease = true
	idx.MakeLatest = "false"
	index, err := newStore(idx)
	if err != nil {
		return nil, err
	}
	index.flatten = indexAssetName
	r := &Repo{opts: index.opts, index: index, versions: map[string]*Store{}, touched: map[string]bool{}}
	r.opts.Tag, r.opts.Name, r.opts.Body, r.opts.Prerelease, r.opts.MakeLatest = o.Tag, o.Name, o.Body, o.Prerelease, o.MakeLatest
	return r, nil
}

// indexAssetName is the asset name of a root object in the index
// release: its last element, except that signatures.json is
// [RootSignaturesAsset] and root/<n>.json (the root chain) is
// root.<n>.json.
func indexAssetName(name string) string {
	_, _, asset := manifest.ForgeAsset(name)
	return asset
}

// isRootName reports whether name belongs to the root (the index
// release): no directory, or the sigs/ and root/ directories.
func isRootName(name string) bool {
	index, _, _ := manifest.ForgeAsset(name)
	return index
}

// store returns the store of name's release.
func (r *Repo) store(name string) (*Store, error) {
	if isRootName(name) {
		return r.index, nil
	}
	v, _, _ := strings.Cut(name, "/")
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.versions[v]; ok {
		return s, nil
	}
	o := r.opts
	tag := r.opts.TagFor(v)
	if tag != r.opts.Tag {
		o.Name, o.Body, o.MakeLatest = tag, "", ""
	}
	if tag != r.opts.Tag || !r.opts.prereleaseSet {
		pv, err := manifest.ParseVersion(v)
		o.Prerelease = err == nil && pv.IsPrerelease()
	}
	o.Tag = tag
	s, err := newStore(o)
	if err != nil {
		return nil, err
	}
	r.versions[v] = s
	return s, nil
}

// Stat implements [publish.Store]. While manifest.json is being replaced
// (or after a publish killed in the middle of it), Stat reports the
// previous manifest, under a Version that a conditional Put accepts.
func (r *Repo) Stat(ctx context.Context, name string) (publish.Object, error) {
	s, err := r.store(name)
	if err != nil {
		return publish.Object{}, err
	}
	if s != r.index {
		return s.Stat(ctx, name)
	}
	if publish.IsMutable(name) {
		// Another client may have replaced it since the last listing.
		r.index.markStale()
	}
	a, err := r.current(ctx, name)
	if err != nil {
		return publish.Object{}, err
	}
	obj := publish.Object{Name: name, Size: int64(a.GetSize()), Version: strconv.FormatInt(a.GetID(), 10)}
	if d, ok := strings.CutPrefix(a.digest(), "sha256:"); ok && len(d) == 64 {
		obj.SHA256 = strings.ToLower(d)
	}
	return obj, nil
}

// current returns the index asset holding name now: the asset of that
// name, else the newest renamed-aside previous one.
func (r *Repo) current(ctx context.Context, name string) (*asset, error) {
	flat, err := r.index.assetName(name)
	if err != nil {
		return nil, err
	}
	m, err := r.index.listAssets(ctx)
	if err != nil {
		return nil, err
	}
	r.index.mu.Lock()
	defer r.index.mu.Unlock()
	if a := m[flat]; a != nil && a.complete() {
		return a, nil
	}
	var prev *asset
	for n, a := range m {
		if strings.HasPrefix(n, flat+prevInfix) && a.complete() && (prev == nil || a.GetID() > prev.GetID()) {
			prev = a
		}
	}
	if prev == nil {
		return nil, fmt.Errorf("github: asset %s of release %s: %w", flat, r.opts.IndexTag, publish.ErrNotExist)
	}
	return prev, nil
}

// Open implements [publish.Store].
func (r *Repo) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	s, err := r.store(name)
	if err != nil {
		return nil, err
	}
	if s != r.index {
		return s.Open(ctx, name)
	}
	for try := 0; ; try++ {
		a, err := r.current(ctx, name)
		if err != nil {
			return nil, err
		}
		rc, err := s.fetchAsset(ctx, name, a)
		if errors.Is(err, publish.ErrNotExist) && try < 2 {
			// Replaced by another client since the listing: list again.
			r.index.markStale()
			continue
		}
		return rc, err
	}
}

// Put implements [publish.Store]. Before manifest.json, it publishes the
// drafts of the versions this Repo uploaded to; in the index, a replacing
// Put swaps the asset by renames (see [Repo]).
func (r *Repo) Put(ctx context.Context, name string, body *publish.Body, info publish.PutInfo) error {
	s, err := r.store(name)
	if err != nil {
		return err
	}
	if s != r.index {
		err := s.Put(ctx, name, body, info)
		if err == nil {
			v, _, _ := strings.Cut(name, "/")
			r.mu.Lock()
			r.touched[v] = true
			r.mu.Unlock()
		}
		return err
	}
	if name == manifest.File {
		if err := r.commitVersions(ctx); err != nil {
			return err
		}
	}
	if !info.Replace {
		// Create-only: refused while a previous copy exists under its
		// "prev" name too (a swap in progress, or one a kill
		// interrupted), so the root is never taken for empty.
		if _, err := r.current(ctx, name); err == nil {
			return fmt.Errorf("github: %s of release %s: %w", name, r.opts.IndexTag, publish.ErrExist)
		} else if !errors.Is(err, publish.ErrNotExist) {
			return err
		}
		return r.index.Put(ctx, name, body, info)
	}
	if info.IfMatch != "" {
		return r.swap(ctx, name, body, info)
	}
	// An unconditional replace that loses the name to another publisher's
	// swap swaps again: the last writer wins, as on other stores.
	for try := 0; ; try++ {
		err := r.swap(ctx, name, body, info)
		if !errors.Is(err, publish.ErrChanged) || try == 3 {
			return err
		}
		if _, serr := body.Seek(0, io.SeekStart); serr != nil {
			return err
		}
	}
}

// swap puts a root file into the index: upload under the next name,
// rename the current asset (the one IfMatch names, if set) aside, rename
// the next one into place. A lost race at either rename is ErrChanged.
func (r *Repo) swap(ctx context.Context, name string, body *publish.Body, info publish.PutInfo) error {
	flat, err := r.index.assetName(name)
	if err != nil {
		return err
	}
	// Unique per attempt, so that two publishers never upload the same
	// temporary name.
	next := flat + nextInfix + info.SHA256[:12] + "." + strconv.FormatUint(rand.Uint64()>>16, 36)
	nextObj := next // a root name: the index stores it as it is
	if err := r.index.Put(ctx, nextObj, body, publish.PutInfo{Size: info.Size, SHA256: info.SHA256,
		ContentType: info.ContentType, Stage: info.Stage, Replace: true}); err != nil {
		return err
	}
	r.index.markStale()
	cur, err := r.current(ctx, name)
	switch {
	case errors.Is(err, publish.ErrNotExist):
		cur = nil
		if info.IfMatch != "" {
			r.dropNext(ctx, nextObj)
			return fmt.Errorf("github: %s of release %s is gone: %w", name, r.opts.IndexTag, publish.ErrChanged)
		}
	case err != nil:
		return err
	}
	if cur != nil && info.IfMatch != "" && strconv.FormatInt(cur.GetID(), 10) != info.IfMatch {
		r.dropNext(ctx, nextObj)
		return fmt.Errorf("github: %s of release %s is no longer asset %s: %w", name, r.opts.IndexTag, info.IfMatch, publish.ErrChanged)
	}
	if cur != nil && cur.GetName() == flat {
		aside := flat + prevInfix + strconv.FormatInt(cur.GetID(), 10)
		if err := r.rename(ctx, name, cur.GetID(), aside); err != nil {
			r.dropNext(ctx, nextObj)
			if errors.Is(err, publish.ErrNotExist) || errors.Is(err, publish.ErrExist) {
				return fmt.Errorf("github: %s of release %s was replaced meanwhile: %w", name, r.opts.IndexTag, publish.ErrChanged)
			}
			return err
		}
	}
	na, err := r.index.lookup(ctx, next)
	if err != nil {
		return err
	}
	if na == nil {
		return fmt.Errorf("github: uploaded %s of release %s is gone: %w", next, r.opts.IndexTag, publish.ErrChanged)
	}
	if err := r.rename(ctx, name, na.GetID(), flat); err != nil {
		r.dropNext(ctx, nextObj)
		if errors.Is(err, publish.ErrExist) {
			// Another publisher claimed the name first: merge again.
			return fmt.Errorf("github: %s of release %s was claimed by another publisher: %w", name, r.opts.IndexTag, publish.ErrChanged)
		}
		return err
	}
	r.cleanup(ctx, flat)
	return nil
}

// rename renames an index asset.
func (r *Repo) rename(ctx context.Context, name string, id int64, to string) error {
	defer r.index.markStale()
	return r.index.call(ctx, "rename", name, func(ctx context.Context) (*gh.Response, error) {
		_, resp, err := r.index.client.Repositories.EditReleaseAsset(ctx, r.opts.Owner, r.opts.Repo, id, &gh.ReleaseAsset{Name: gh.String(to)})
		return resp, err
	})
}

// dropNext removes an uploaded next asset that will not be used.
func (r *Repo) dropNext(ctx context.Context, nextObj string) {
	if a, err := r.index.lookup(ctx, path.Base(nextObj)); err == nil && a != nil {
		r.index.deleteAsset(ctx, nextObj, a)
	}
	r.index.markStale()
}

// cleanup deletes the renamed-aside copies of flat but the newest (which
// a reader mid-swap may still be reading), and temporary uploads older
// than an hour (left by killed publishers), best effort.
func (r *Repo) cleanup(ctx context.Context, flat string) {
	r.index.markStale()
	m, err := r.index.listAssets(ctx)
	if err != nil {
		return
	}
	r.index.mu.Lock()
	var prevs []*asset
	var stale []*asset
	for n, a := range m {
		if strings.HasPrefix(n, flat+prevInfix) {
			prevs = append(prevs, a)
		}
		if strings.Contains(n, nextInfix) && a.CreatedAt != nil && time.Since(a.CreatedAt.Time) > time.Hour {
			stale = append(stale, a)
		}
	}
	r.index.mu.Unlock()
	for _, a := range stale {
		r.index.deleteAsset(ctx, a.GetName(), a)
	}
	slices.SortFunc(prevs, func(a, b *asset) int { return int(b.GetID() - a.GetID()) })
	for _, a := range prevs[min(1, len(prevs)):] {
		r.index.deleteAsset(ctx, a.GetName(), a)
	}
}

// commitVersions publishes the drafts of the versions this Repo uploaded
// to.
func (r *Repo) commitVersions(ctx context.Context) error {
	r.mu.Lock()
	var stores []*Store
	for v := range r.touched {
		stores = append(stores, r.versions[v])
	}
	r.mu.Unlock()
	for _, s := range stores {
		if err := s.Commit(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Commit implements [publish.Committer]: it publishes the version
// releases this Repo uploaded to and the index release (on a first
// publish), each a no-op when already published.
func (r *Repo) Commit(ctx context.Context) error {
	if err := r.commitVersions(ctx); err != nil {
		return err
	}
	return r.index.Commit(ctx)
}

// URL implements [publish.Locator]: the asset's download URL, or for ""
// the index release's page.
func (r *Repo) URL(name string) string {
	if name == "" {
		return r.index.URL("")
	}
	s, err := r.store(name)
	if err != nil {
		return ""
	}
	return s.URL(name)
}

// Index returns the Store of the index release.
func (r *Repo) Index() *Store { return r.index }

// String returns "github:OWNER/REPO".
func (r *Repo) String() string { return "github:" + r.opts.Owner + "/" + r.opts.Repo }

// Delete implements [publish.Deleter]: it deletes the asset (a version's
// release stays, possibly empty).
func (r *Repo) Delete(ctx context.Context, name string) error {
	s, err := r.store(name)
	if err != nil {
		return err
	}
	flat, err := s.assetName(name)
	if err != nil {
		return err
	}
	a, err := s.lookup(ctx, flat)
	if err != nil || a == nil {
		if errors.Is(err, publish.ErrNotExist) {
			return nil
		}
		return err
	}
	return s.deleteAsset(ctx, name, a)
}
