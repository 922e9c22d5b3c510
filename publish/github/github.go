package github

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v62/github"

	"github.com/relkit/relkit/publish"
)

// ErrNoToken is returned by [TokenFromEnv] when neither GITHUB_TOKEN nor
// GH_TOKEN is set.
var ErrNoToken = errors.New("github: no token: set GITHUB_TOKEN or GH_TOKEN")

// TokenFromEnv returns the token the GitHub CLI and GitHub Actions use:
// $GITHUB_TOKEN, else $GH_TOKEN, else [ErrNoToken]. It is the only place
// this package reads the environment; pass its result to [WithToken]:
//
//	tok, err := github.TokenFromEnv()
//	if err != nil {
//		return err
//	}
//	store, err := github.New("acme", "hello", "v1.2.0", github.WithToken(tok))
func TokenFromEnv() (string, error) {
	for _, v := range []string{"GITHUB_TOKEN", "GH_TOKEN"} {
		if tok := os.Getenv(v); tok != "" {
			return tok, nil
		}
	}
	return "", ErrNoToken
}

// ErrNameCollision is wrapped by the error a Store returns when two object
// names flatten to the same asset name ("1.0.0/SHA256SUMS" and
// "1.1.0/SHA256SUMS"): a GitHub release holds one version.
var ErrNameCollision = errors.New("github: two files flatten to the same asset name")

// RateLimitError reports a GitHub rate limit (primary or secondary) that
// the Store did not wait for, because waiting is not allowed
// ([WithMaxRateLimitWait]) or the reset is too far away.
type RateLimitError struct {
	// Secondary is true for a secondary (abuse) limit.
	Secondary bool
	// Reset is when requests are allowed again.
	Reset time.Time
	// Err is go-github's error.
	Err error
}

// Error implements error.
func (e *RateLimitError) Error() string {
	kind := "primary"
	if e.Secondary {
		kind = "secondary"
	}
	return fmt.Sprintf("github: %s rate limit exceeded until %s: %v", kind, e.Reset.UTC().Format(time.RFC3339), e.Err)
}

// Unwrap returns go-github's error.
func (e *RateLimitError) Unwrap() error { return e.Err }

// TimeoutError reports a request that ran past the Store's own deadline
// (see [WithTimeout]) while the caller's context was still live. It
// is a timeout in the net.Error sense, so the Publisher retries it.
type TimeoutError struct {
	Op, Name string
	Err      error
}

// Error implements error.
func (e *TimeoutError) Error() string {
	return fmt.Sprintf("github: %s %s: request timed out (see github.WithTimeout): %v", e.Op, e.Name, e.Err)
}

// Timeout reports true.
func (e *TimeoutError) Timeout() bool { return true }

// Temporary reports true.
func (e *TimeoutError) Temporary() bool { return true }

// reqctx bounds one request that moves size bytes.
func (s *Store) reqctx(ctx context.Context, size int64) (context.Context, context.CancelFunc) {
	d := s.opts.Timeout
	if size > 0 && s.opts.MinThroughput > 0 {
		d += time.Duration(float64(size) / float64(s.opts.MinThroughput) * float64(time.Second))
	}
	return context.WithTimeout(ctx, d)
}

// Store is the GitHub Releases provider: a [publish.Store] that publishes
// one release (one tag) of one repository. It finds the release for the
// tag, published or draft, or creates a draft; uploads assets to it; and
// publishes the draft in Commit, which is the commit point of the
// protocol: until then no one without push access sees the release, and
// this also works with GitHub's immutable releases, which refuse uploads
// to a published release.
//
// Object names are flattened to their last element: "1.2.0/SHA256SUMS" is
// the asset "SHA256SUMS" (see [AssetName] for the one exception, the
// root's signatures.json). Stat reports the SHA-256 from the asset's
// "digest" field where GitHub provides it; otherwise the Publisher
// downloads the asset to hash it.
//
// Replacing an asset (Put with Replace, used for manifest.json and its
// signature on a re-signed release, or for everything with
// publish.WithReplaceExistingUnsafe) deletes the old asset and uploads the
// new one; on a published release this is visible for a moment and is
// refused by immutable releases.
type Store struct {
	client   *gh.Client
	download *http.Client
	opts     options

	mu     sync.Mutex
	rel    *gh.RepositoryRelease
	assets map[string]*asset // by asset name; nil until listed
	claims map[string]string // asset name -> object name
	stale  bool
	// flatten maps object names to asset names (default AssetName).
	flatten func(string) string
	// noRelease records that the tag has no release yet (until Put
	// creates the draft).
	noRelease bool
	loadOnce  sync.Mutex // serializes release lookup/creation
	listMu    sync.Mutex // serializes asset listings
}

// asset is a release asset with the digest field that go-github v62 lacks.
type asset struct {
	gh.ReleaseAsset
	Digest *string `json:"digest,omitempty"`
}

var _ interface {
	publish.Store
	publish.Committer
	publish.Locator
} = (*Store)(nil)

// New returns a Store for the release of tag ("v1.2.0") in the
// repository owner/repo ("acme", "hello"). If the tag does not exist yet,
// GitHub creates it from [WithTarget] when the release is published. New
// makes no request: the release is looked up (or created as a draft) on
// first use.
func New(owner, repo, tag string, opts ...Option) (*Store, error) {
	o, err := apply("New", opts)
	if err != nil {
		return nil, err
	}
	o.Owner, o.Repo, o.Tag = owner, repo, tag
	return newStore(o)
}

// newStore checks o and returns its Store.
func newStore(opts options) (*Store, error) {
	if opts.Owner == "" || opts.Repo == "" || opts.Tag == "" {
		return nil, errors.New("github: the owner, repository and tag are required")
	}
	if strings.ContainsAny(opts.Owner+opts.Repo, "/?#") {
		return nil, fmt.Errorf("github: invalid repository %q/%q", opts.Owner, opts.Repo)
	}
	if opts.UploadURL != "" && opts.BaseURL == "" {
		return nil, errors.New("github: WithUploadURL needs WithBaseURL")
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	client := gh.NewClient(hc)
	if opts.Token != "" {
		client = client.WithAuthToken(opts.Token)
	}
	if opts.BaseURL != "" {
		up := opts.UploadURL
		if up == "" {
			up = opts.BaseURL
			if u, err := url.Parse(opts.BaseURL); err == nil && strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), "/api/v3") {
				u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/api/v3") + "/api/uploads/"
				up = u.String()
			}
		}
		var err error
		client, err = client.WithEnterpriseURLs(opts.BaseURL, up)
		if err != nil {
			return nil, fmt.Errorf("github: %w", err)
		}
	}
	dl := *hc
	dl.CheckRedirect = nil
	return &Store{client: client, download: &dl, opts: opts, claims: map[string]string{}}, nil
}

// assetName flattens an object name and records the claim.
func (s *Store) assetName(name string) (string, error) {
	if err := publish.CheckName(name); err != nil {
		return "", fmt.Errorf("github: %w", err)
	}
	flat := s.flat(name)
	if err := CheckAssetName(flat); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.claims[flat]; ok && prev != name {
		return "", fmt.Errorf("%w: %s and %s are both %q", ErrNameCollision, prev, name, flat)
	}
	s.claims[flat] = name
	return flat, nil
}

func (s *Store) flat(name string) string {
	if s.flatten != nil {
		return s.flatten(name)
	}
	return AssetName(name)
}

// RootSignaturesAsset is the asset name of the release root's
// signatures.json. In the flat asset namespace the name signatures.json
// belongs to the version's own signature set, which the manifest lists and
// checksums (and which a flat verifier reads for SHA256SUMS); the root's set
// (signatures of manifest.json and keys.json) is published beside it under
// this name. A verifier of the flat layout finds the manifest's first
// signature in manifest.json.sig either way.
const RootSignaturesAsset = "root.signatures.json"

// AssetName returns the asset name an object is published under: its last
// path element ("1.2.0/SHA256SUMS" is "SHA256SUMS"), except that the
// root's signatures.json becomes [RootSignaturesAsset].
func AssetName(name string) string {
	if name == "signatures.json" {
		return RootSignaturesAsset
	}
	return path.Base(name)
}

// CheckAssetName reports whether GitHub stores an asset under exactly this
// name. GitHub silently rewrites other names (spaces and most punctuation
// become ".", a leading "." gets a prefix), which would make a published
// asset look missing on a re-run, so the Store refuses them: names may
// hold ASCII letters, digits and "._-+@", and must not start with ".".
func CheckAssetName(name string) error {
	if name == "" || name[0] == '.' {
		return fmt.Errorf("github: asset name %q: empty or starting with '.'", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-+@", r)) {
			return fmt.Errorf("github: asset name %q: GitHub would rewrite %q", name, r)
		}
	}
	return nil
}

// call runs one API call, waiting for rate limits when allowed and
// translating errors for the Publisher.
func (s *Store) call(ctx context.Context, op, name string, fn func(ctx context.Context) (*gh.Response, error)) error {
	return s.callSized(ctx, op, name, 0, fn)
}

// callSized is call for a request that moves size bytes: each attempt has
// its own deadline (see [WithTimeout]). A negative size leaves the
// deadline to fn (a download, whose body outlives the call).
func (s *Store) callSized(ctx context.Context, op, name string, size int64, fn func(ctx context.Context) (*gh.Response, error)) error {
	waited := false
	for {
		var resp *gh.Response
		var err error
		if size < 0 {
			resp, err = fn(ctx)
		} else {
			rctx, cancel := s.reqctx(ctx, size)
			resp, err = fn(rctx)
			cancel()
		}
		if err == nil {
			return nil
		}
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return &TimeoutError{Op: op, Name: name, Err: errors.New(err.Error())}
		}
		var wait time.Duration
		var rle *gh.RateLimitError
		var abuse *gh.AbuseRateLimitError
		var reset time.Time
		secondary := false
		switch {
		case errors.As(err, &rle):
			reset = rle.Rate.Reset.Time
			wait = time.Until(reset) + time.Second
		case errors.As(err, &abuse):
			secondary = true
			wait = time.Minute
			if abuse.RetryAfter != nil {
				wait = *abuse.RetryAfter
			}
			reset = time.Now().Add(wait)
		default:
			return translate(op, name, resp, err)
		}
		if waited || wait > s.opts.MaxRateLimitWait {
			return &RateLimitError{Secondary: secondary, Reset: reset, Err: err}
		}
		waited = true
		t := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// translate maps a go-github error to the publish error contract.
func translate(op, name string, resp *gh.Response, err error) error {
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		se := &publish.StatusError{Op: op, Name: name, StatusCode: er.Response.StatusCode, Err: err}
		if ra := er.Response.Header.Get("Retry-After"); ra != "" {
			var secs int
			if _, perr := fmt.Sscanf(ra, "%d", &secs); perr == nil {
				se.RetryAfter = time.Duration(secs) * time.Second
			}
		}
		for _, e := range er.Errors {
			if e.Code == "already_exists" {
				return fmt.Errorf("%w: %w", publish.ErrExist, se)
			}
		}
		if se.StatusCode == http.StatusNotFound {
			return fmt.Errorf("%w: %w", publish.ErrNotExist, se)
		}
		return se
	}
	if resp != nil && resp.Response != nil && resp.StatusCode >= 300 {
		return &publish.StatusError{Op: op, Name: name, StatusCode: resp.StatusCode, Err: err}
	}
	return fmt.Errorf("github: %s %s: %w", op, name, err)
}

// release returns the release for the tag: published, else an existing
// draft with that tag, else (when create is true) a new draft; nil when
// there is none and create is false, so that planning and dry runs create
// nothing.
func (s *Store) release(ctx context.Context, create bool) (*gh.RepositoryRelease, error) {
	s.loadOnce.Lock()
	defer s.loadOnce.Unlock()
	s.mu.Lock()
	rel, none := s.rel, s.noRelease
	s.mu.Unlock()
	if rel != nil || (none && !create) {
		return rel, nil
	}
	o := s.opts
	err := s.call(ctx, "get release", o.Tag, func(ctx context.Context) (*gh.Response, error) {
		r, resp, err := s.client.Repositories.GetReleaseByTag(ctx, o.Owner, o.Repo, o.Tag)
		rel = r
		return resp, err
	})
	if errors.Is(err, publish.ErrNotExist) {
		rel, err = s.findDraft(ctx)
		if err == nil && rel == nil && !create {
			s.mu.Lock()
			s.noRelease = true
			s.mu.Unlock()
			return nil, nil
		}
		if err == nil && rel == nil {
			name := o.Name
			if name == "" {
				name = o.Tag
			}
			req := &gh.RepositoryRelease{TagName: gh.String(o.Tag), Name: gh.String(name), Draft: gh.Bool(true),
				Prerelease: gh.Bool(o.Prerelease)}
			if o.Body != "" {
				req.Body = gh.String(o.Body)
			}
			if o.TargetCommitish != "" {
				req.TargetCommitish = gh.String(o.TargetCommitish)
			}
			err = s.call(ctx, "create release", o.Tag, func(ctx context.Context) (*gh.Response, error) {
				r, resp, err := s.client.Repositories.CreateRelease(ctx, o.Owner, o.Repo, req)
				rel = r
				return resp, err
			})
		}
	}
	if err != nil {
		return nil, fmt.Errorf("github: release %s of %s/%s: %w", o.Tag, o.Owner, o.Repo, err)
	}
	s.mu.Lock()
	s.rel = rel
	s.mu.Unlock()
	return rel, nil
}

// findDraft looks through the release list (drafts are not found by tag)
// for a draft with the tag.
func (s *Store) findDraft(ctx context.Context) (*gh.RepositoryRelease, error) {
	o := s.opts
	opt := &gh.ListOptions{PerPage: o.PerPage}
	for {
		var page []*gh.RepositoryRelease
		var next int
		err := s.call(ctx, "list releases", "", func(ctx context.Context) (*gh.Response, error) {
			p, resp, err := s.client.Repositories.ListReleases(ctx, o.Owner, o.Repo, opt)
			page = p
			if resp != nil {
				next = resp.NextPage
			}
			return resp, err
		})
		if err != nil {
			return nil, err
		}
		for _, r := range page {
			if r.GetDraft() && r.GetTagName() == o.Tag {
				return r, nil
			}
		}
		if next == 0 {
			return nil, nil
		}
		opt.Page = next
	}
}

// listAssets returns the release's assets by name, listing them when not
// yet known or stale.
func (s *Store) listAssets(ctx context.Context) (map[string]*asset, error) {
	rel, err := s.release(ctx, false)
	if err != nil {
		return nil, err
	}
	if rel == nil { // no release yet: nothing published
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.assets == nil {
			s.assets = map[string]*asset{}
		}
		return s.assets, nil
	}
	s.listMu.Lock() // one listing at a time; the others use its result
	defer s.listMu.Unlock()
	s.mu.Lock()
	if s.assets != nil && !s.stale {
		m := s.assets
		s.mu.Unlock()
		return m, nil
	}
	s.mu.Unlock()
	o := s.opts
	all := map[string]*asset{}
	page := 1
	for page != 0 {
		u := fmt.Sprintf("repos/%s/%s/releases/%d/assets?per_page=%d&page=%d", o.Owner, o.Repo, rel.GetID(), o.PerPage, page)
		var items []*asset
		next := 0
		err := s.call(ctx, "list assets", o.Tag, func(ctx context.Context) (*gh.Response, error) {
			req, err := s.client.NewRequest(http.MethodGet, u, nil)
			if err != nil {
				return nil, err
			}
			items = nil
			resp, err := s.client.Do(ctx, req, &items)
			if resp != nil {
				next = resp.NextPage
			}
			return resp, err
		})
		if err != nil {
			return nil, err
		}
		for _, a := range items {
			all[a.GetName()] = a
		}
		page = next
	}
	s.mu.Lock()
	s.assets, s.stale = all, false
	s.mu.Unlock()
	return all, nil
}

func (s *Store) lookup(ctx context.Context, flat string) (*asset, error) {
	m, err := s.listAssets(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return m[flat], nil
}

// Stat implements [publish.Store].
func (s *Store) Stat(ctx context.Context, name string) (publish.Object, error) {
	flat, err := s.assetName(name)
	if err != nil {
		return publish.Object{}, err
	}
	a, err := s.lookup(ctx, flat)
	if err != nil {
		return publish.Object{}, err
	}
	if a == nil || !a.complete() {
		return publish.Object{}, fmt.Errorf("github: asset %s of release %s: %w", flat, s.opts.Tag, publish.ErrNotExist)
	}
	obj := publish.Object{Name: name, Size: int64(a.GetSize()), Version: strconv.FormatInt(a.GetID(), 10)}
	if d, ok := strings.CutPrefix(a.digest(), "sha256:"); ok && len(d) == 64 {
		obj.SHA256 = strings.ToLower(d)
	}
	return obj, nil
}

// complete reports whether the asset's upload finished; GitHub lists
// interrupted uploads with another state ("open", "starter").
func (a *asset) complete() bool {
	st := a.GetState()
	return st == "" || st == "uploaded"
}

func (a *asset) digest() string {
	if a.Digest == nil {
		return ""
	}
	return *a.Digest
}

// Open implements [publish.Store]: it downloads the asset (following
// GitHub's redirect without the token).
func (s *Store) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	flat, err := s.assetName(name)
	if err != nil {
		return nil, err
	}
	a, err := s.lookup(ctx, flat)
	if err != nil {
		return nil, err
	}
	if a == nil || !a.complete() {
		return nil, fmt.Errorf("github: asset %s of release %s: %w", flat, s.opts.Tag, publish.ErrNotExist)
	}
	return s.fetchAsset(ctx, name, a)
}

// fetchAsset reads an asset (following GitHub's redirect without the token).
func (s *Store) fetchAsset(ctx context.Context, name string, a *asset) (io.ReadCloser, error) {
	// Not go-github's DownloadReleaseAsset: it swaps the shared client's
	// CheckRedirect while it runs, which races with every concurrent
	// request of the Store.
	u := fmt.Sprintf("repos/%s/%s/releases/assets/%d", s.opts.Owner, s.opts.Repo, a.GetID())
	var rc io.ReadCloser
	err := s.callSized(ctx, "download", name, -1, func(ctx context.Context) (*gh.Response, error) {
		// The deadline covers reading the body; Close releases it.
		ctx, cancel := s.reqctx(ctx, int64(a.GetSize()))
		ok := false
		defer func() {
			if !ok {
				cancel()
			}
		}()
		req, err := s.client.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/octet-stream")
		api := *s.client.Client() // the token's transport, but no redirects
		api.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := api.Do(req.WithContext(ctx))
		if err != nil {
			return nil, err
		}
		if resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusMovedPermanently || resp.StatusCode == http.StatusTemporaryRedirect {
			// The storage URL is pre-signed: fetched without the token.
			loc := resp.Header.Get("Location")
			resp.Body.Close()
			dreq, err := http.NewRequestWithContext(ctx, http.MethodGet, loc, nil)
			if err != nil {
				return nil, err
			}
			if resp, err = s.download.Do(dreq); err != nil {
				return nil, err
			}
		}
		if err := gh.CheckResponse(resp); err != nil {
			resp.Body.Close()
			return &gh.Response{Response: resp}, err
		}
		rc, ok = &cancelBody{resp.Body, cancel}, true
		return &gh.Response{Response: resp}, nil
	})
	if err != nil {
		return nil, err
	}
	return rc, nil
}

// cancelBody releases a request's deadline when its body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelBody) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// verifyErr records the error the body returned, so that an upload whose
// bytes failed verification is removed even if the server stored it.
type verifyErr struct {
	r   io.Reader
	err error
}

func (v *verifyErr) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	if err != nil && err != io.EOF {
		v.err = err
	}
	return n, err
}

// Put implements [publish.Store]. A create-only Put of a taken name fails
// with an error wrapping publish.ErrExist (GitHub's 422 already_exists);
// Replace deletes the old asset first.
func (s *Store) Put(ctx context.Context, name string, r *publish.Body, info publish.PutInfo) error {
	flat, err := s.assetName(name)
	if err != nil {
		return err
	}
	rel, err := s.release(ctx, true)
	if err != nil {
		return err
	}
	if info.Replace && info.IfMatch != "" {
		// A conditional replace looks at a fresh listing. GitHub has no
		// conditional upload, so this narrows the race with another
		// publisher to the time between this listing and the delete;
		// see the package documentation.
		s.mu.Lock()
		s.stale = true
		s.mu.Unlock()
	}
	old, err := s.lookup(ctx, flat)
	if err != nil {
		return err
	}
	if info.Replace && info.IfMatch != "" && (old == nil || !old.complete() || strconv.FormatInt(old.GetID(), 10) != info.IfMatch) {
		return fmt.Errorf("github: asset %s of release %s is no longer asset %s: %w", flat, s.opts.Tag, info.IfMatch, publish.ErrChanged)
	}
	if old != nil && !old.complete() {
		// The remains of an interrupted upload block the name: remove.
		if err := s.deleteAsset(ctx, name, old); err != nil {
			return err
		}
		old = nil
	}
	if old != nil {
		if !info.Replace {
			return fmt.Errorf("github: asset %s of release %s: %w", flat, s.opts.Tag, publish.ErrExist)
		}
		if err := s.deleteAsset(ctx, name, old); err != nil {
			return err
		}
	}
	uploadURL := rel.GetUploadURL()
	if i := strings.IndexByte(uploadURL, '{'); i >= 0 {
		uploadURL = uploadURL[:i] // RFC 6570 template "{?name,label}"
	}
	if uploadURL == "" {
		uploadURL = fmt.Sprintf("repos/%s/%s/releases/%d/assets", s.opts.Owner, s.opts.Repo, rel.GetID())
	}
	uploadURL += "?name=" + url.QueryEscape(flat)
	body := &verifyErr{r: r}
	var created asset
	attempt := 0
	err = s.callSized(ctx, "upload", name, info.Size, func(ctx context.Context) (*gh.Response, error) {
		if attempt++; attempt > 1 {
			// Waited for a rate limit: start the body again.
			if _, err := r.Seek(0, io.SeekStart); err != nil {
				return nil, err
			}
			body.err = nil
		}
		req, err := s.client.NewUploadRequest(uploadURL, body, info.Size, info.ContentType)
		if err != nil {
			return nil, err
		}
		return s.client.Do(ctx, req, &created)
	})
	if body.err != nil {
		// The bytes did not verify. If the server stored them anyway,
		// remove them.
		s.markStale()
		if a, lerr := s.lookup(ctx, flat); lerr == nil && a != nil && int64(a.GetSize()) == info.Size {
			s.deleteAsset(ctx, name, a)
		}
		return body.err
	}
	if err != nil {
		s.markStale() // an upload of unknown outcome
		return err
	}
	if d, ok := strings.CutPrefix(created.digest(), "sha256:"); ok && !strings.EqualFold(d, info.SHA256) {
		s.deleteAsset(ctx, name, &created)
		return &publish.ChecksumError{Name: name, WantSHA256: info.SHA256, GotSHA256: d, WantSize: info.Size, GotSize: int64(created.GetSize())}
	}
	s.mu.Lock()
	if s.assets != nil {
		s.assets[flat] = &created
	}
	s.mu.Unlock()
	return nil
}

func (s *Store) markStale() {
	s.mu.Lock()
	s.stale = true
	s.mu.Unlock()
}

func (s *Store) deleteAsset(ctx context.Context, name string, a *asset) error {
	err := s.call(ctx, "delete", name, func(ctx context.Context) (*gh.Response, error) {
		return s.client.Repositories.DeleteReleaseAsset(ctx, s.opts.Owner, s.opts.Repo, a.GetID())
	})
	if err != nil && !errors.Is(err, publish.ErrNotExist) {
		return err
	}
	s.mu.Lock()
	if s.assets != nil && s.assets[a.GetName()] == a {
		delete(s.assets, a.GetName())
	}
	s.mu.Unlock()
	return nil
}

// Commit implements [publish.Committer]: it publishes the draft release
// (a no-op when the release is already published) and refreshes the
// asset list, whose download URLs change when a draft is published.
func (s *Store) Commit(ctx context.Context) error {
	rel, err := s.release(ctx, true)
	if err != nil {
		return err
	}
	if rel.GetDraft() {
		edit := &gh.RepositoryRelease{Draft: gh.Bool(false)}
		if s.opts.MakeLatest != "" {
			edit.MakeLatest = gh.String(s.opts.MakeLatest)
		}
		var out *gh.RepositoryRelease
		err := s.call(ctx, "publish release", s.opts.Tag, func(ctx context.Context) (*gh.Response, error) {
			r, resp, err := s.client.Repositories.EditRelease(ctx, s.opts.Owner, s.opts.Repo, rel.GetID(), edit)
			out = r
			return resp, err
		})
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.rel = out
		s.mu.Unlock()
	}
	s.markStale()
	_, err = s.listAssets(ctx)
	return err
}

// URL implements [publish.Locator]: the asset's browser download URL (as
// last listed; final after Commit), or the release page for "".
func (s *Store) URL(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if name == "" {
		if s.rel == nil {
			return ""
		}
		return s.rel.GetHTMLURL()
	}
	if s.assets == nil {
		return ""
	}
	if a := s.assets[s.flat(name)]; a != nil {
		return a.GetBrowserDownloadURL()
	}
	return ""
}

// ReleaseInfo describes a GitHub release in relkit's own terms (so that
// relkit's API does not change with go-github's major versions).
type ReleaseInfo struct {
	// ID is GitHub's release ID; Tag its tag; Name its title.
	ID        int64
	Tag, Name string
	// URL is the release page.
	URL string
	// Draft and Prerelease are GitHub's flags.
	Draft, Prerelease bool
}

// Release returns the release as last seen by the Store, or nil before
// its first use or while the tag has no release.
func (s *Store) Release() *ReleaseInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rel == nil {
		return nil
	}
	r := s.rel
	return &ReleaseInfo{ID: r.GetID(), Tag: r.GetTagName(), Name: r.GetName(), URL: r.GetHTMLURL(), Draft: r.GetDraft(), Prerelease: r.GetPrerelease()}
}

// Flat reports true: a Store is one GitHub release, which holds the files
// of one version under their base names. The publishtest conformance
// cases that put several versions into one store skip it.
func (s *Store) Flat() bool { return true }

// String returns "github:OWNER/REPO@TAG".
func (s *Store) String() string {
	return "github:" + s.opts.Owner + "/" + s.opts.Repo + "@" + s.opts.Tag
}
