package gitea

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish"
)

// RootSignaturesAsset is the asset name of the root's signatures.json in
// the index release (docs/wire-format.md), so that it is never confused
// with a version's own signatures.json.
const RootSignaturesAsset = "root.signatures.json"

// ErrNoToken is returned by [TokenFromEnv] when GITEA_TOKEN is not set.
var ErrNoToken = errors.New("gitea: no token: set GITEA_TOKEN to a token with write access to the repository")

// TokenFromEnv returns $GITEA_TOKEN, or [ErrNoToken] when it is empty or
// unset. It is the only place this package reads the environment; pass its
// result to [WithToken]:
//
//	tok, err := gitea.TokenFromEnv()
//	if err != nil {
//		return err
//	}
//	store, err := gitea.New("https://codeberg.org", "acme", "hello", gitea.WithToken(tok))
func TokenFromEnv() (string, error) {
	if tok := os.Getenv("GITEA_TOKEN"); tok != "" {
		return tok, nil
	}
	return "", ErrNoToken
}

// ErrNameCollision is wrapped by the error a Store returns when two object
// names map to the same asset of the same release (the root's
// signatures.json and a root file literally named root.signatures.json).
var ErrNameCollision = errors.New("gitea: two names map to the same release asset")

// NameError reports an object name the forge layout has no place for:
// only root files, sigs/NAME, root/<n>.json and VERSION/NAME are mapped.
type NameError struct {
	// Name is the object name; Reason what is wrong with it.
	Name, Reason string
}

// Error implements error.
func (e *NameError) Error() string {
	return fmt.Sprintf("gitea: object %q: %s (a forge release holds flat assets: root files, sigs/NAME, root/N.json and VERSION/NAME only)", e.Name, e.Reason)
}

// APIError is a Gitea answer other than 2xx. It says which request failed
// and what to do. publish.IsRetryable is true for 5xx and 429.
type APIError struct {
	// Op is what the Store was doing ("upload", "create release", ...);
	// Name the object or release tag.
	Op, Name string
	// Repo is "owner/repo" on Server (the base URL).
	Repo, Server string
	// StatusCode is the HTTP status; Message Gitea's message.
	StatusCode int
	Message    string
	// RetryAfter is the server's Retry-After, or 0.
	RetryAfter time.Duration
}

// Error implements error.
func (e *APIError) Error() string {
	msg := ""
	if e.Message != "" {
		msg = " (" + e.Message + ")"
	}
	return fmt.Sprintf("gitea: %s %s in %s on %s: %d %s%s: %s", e.Op, e.Name, e.Repo, e.Server,
		e.StatusCode, http.StatusText(e.StatusCode), msg, e.Advice())
}

// Advice says what to do about the answer.
func (e *APIError) Advice() string {
	switch c := e.StatusCode; {
	case c == http.StatusUnauthorized:
		return "the token is missing, wrong or expired: use WithToken (GITEA_TOKEN, through TokenFromEnv) with a token of a user with write access"
	case c == http.StatusForbidden:
		return "the token may not do this: it needs write access to the repository (token scope write:repository); a release made immutable takes no new assets"
	case c == http.StatusNotFound:
		return "not found: check the server URL, the owner and repository names, and that the token's user can see the repository"
	case c == http.StatusConflict:
		return "a release with this tag exists already"
	case c == http.StatusRequestEntityTooLarge:
		return "the file is larger than the server allows ([repository.release] FILE_MAX_SIZE)"
	case c == http.StatusUnprocessableEntity:
		return "Gitea refused the request as invalid (a tag name git refuses, a protected tag, or an immutable release?)"
	case c == http.StatusBadRequest:
		return "Gitea refused the request (for an upload: the file type may be refused by [repository.release] ALLOWED_TYPES)"
	case c == http.StatusTooManyRequests:
		return "rate limited: the publish retries after the server's Retry-After"
	case c >= 500:
		return "the server failed: the publish retries with back-off; if it persists, look at the server's logs"
	}
	return "unexpected answer"
}

// HTTPStatusCode returns the status, for publish.IsRetryable.
func (e *APIError) HTTPStatusCode() int { return e.StatusCode }

// RetryAfterHint returns the server's Retry-After.
func (e *APIError) RetryAfterHint() time.Duration { return e.RetryAfter }

// TimeoutError reports a request that got no complete answer within its
// deadline. It is a net.Error whose Timeout is true, so publish.IsRetryable
// retries it.
type TimeoutError struct {
	// Op and Name identify the request; After is its deadline.
	Op, Name string
	After    time.Duration
}

// Error implements error.
func (e *TimeoutError) Error() string {
	return fmt.Sprintf("gitea: %s %s: no complete answer within %s (see gitea.WithTimeout)", e.Op, e.Name, e.After)
}

// Timeout reports true.
func (e *TimeoutError) Timeout() bool { return true }

// Temporary reports true.
func (e *TimeoutError) Temporary() bool { return true }

// ReplacingError reports a manifest.json that is missing from an index
// release which shows that a manifest was committed before: another
// publisher is between deleting and uploading it. It is retryable (it
// reports status 503 to publish.IsRetryable). If it persists, a publisher
// stopped in that moment; see the message.
type ReplacingError struct {
	// Repo is "owner/repo"; Tag the index release's tag.
	Repo, Tag string
	// Waited is how long the Store waited for the new manifest.json.
	Waited time.Duration
}

// Error implements error.
func (e *ReplacingError) Error() string {
	return fmt.Sprintf("gitea: manifest.json is missing from release %s of %s, which holds the signatures of a committed manifest (waited %s): "+
		"another publisher is replacing it, so retry; if no publish is running, one stopped between deleting and uploading it: "+
		"upload the last published manifest.json to that release again (the one whose SHA-256 names the newest manifest.json.<sha256>.signatures.json)",
		e.Tag, e.Repo, e.Waited.Round(time.Millisecond))
}

// HTTPStatusCode returns 503 (Service Unavailable): the root is being
// replaced, so publish.IsRetryable retries.
func (e *ReplacingError) HTTPStatusCode() int { return http.StatusServiceUnavailable }

// RetryAfterHint asks for a short wait.
func (e *ReplacingError) RetryAfterHint() time.Duration { return time.Second }

// Store is the Gitea and Forgejo provider: a [publish.Store] that maps a
// release root onto a repository's releases (see the package
// documentation). It is also a publish.Locator (the public download URLs)
// and, through Open, a verify.Location that reads with the token.
type Store struct {
	opts options
	base *url.URL
	hc   *http.Client
	dl   *http.Client // hc for downloads: the token stays on the server's host

	mu       sync.Mutex
	repoSeen bool                 // the repository exists (checkRepo)
	rels     map[string]*relState // by tag
	sums     map[int64]string     // asset ID -> SHA-256 of assets this Store uploaded or read
	claims   map[string]string    // tag + "\x00" + asset -> object name
}

// relState is what the Store knows of one release.
type relState struct {
	tag     string
	version string // "" for the index release
	index   bool

	mu      sync.Mutex // serializes lookup and creation
	rel     *sdk.Release
	none    bool // looked up: no release with the tag
	stale   bool
	touched bool // a version release named by a Stat or Put of this Store
}

var _ interface {
	publish.Store
	publish.Locator
} = (*Store)(nil)

// New returns a Store for the repository owner/repo on the Gitea or
// Forgejo server at baseURL, its root URL as its users see it
// ("https://gitea.example.com", "https://example.com/gitea"; the API base,
// baseURL + "/api/v1", is accepted too). Clients download from
// baseURL/OWNER/REPO/releases/download/TAG/NAME. New makes no request:
// releases are looked up (and created) on first use.
func New(baseURL, owner, repo string, opts ...Option) (*Store, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			return nil, errors.New("gitea: New: nil Option")
		}
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("gitea: New: %w", err)
		}
	}
	o.BaseURL, o.Owner, o.Repo = baseURL, owner, repo
	if o.BaseURL == "" || o.Owner == "" || o.Repo == "" {
		return nil, errors.New("gitea: the base URL, owner and repository are required")
	}
	// The API base (".../api/v1") names the same server.
	u, err := url.Parse(strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(o.BaseURL, "/"), "/api/v1"), "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("gitea: base URL %q: want the server's http(s) root URL, such as https://gitea.example.com", o.BaseURL)
	}
	if strings.ContainsAny(o.Owner+o.Repo, "/?#% ") {
		return nil, fmt.Errorf("gitea: invalid repository %q/%q", o.Owner, o.Repo)
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	s := &Store{opts: o, base: u, hc: hc, rels: map[string]*relState{}, sums: map[int64]string{}, claims: map[string]string{}}
	dl := *hc
	dl.CheckRedirect = s.checkRedirect
	s.dl = &dl
	return s, nil
}

// checkRedirect follows a download's redirects (Gitea's SERVE_DIRECT sends
// them to the object storage): at most 10, never from https to http, and
// without the token once the request leaves the server's host (Go keeps
// it for another port of the same host name).
func (s *Store) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("gitea: download: more than 10 redirects")
	}
	if via[len(via)-1].URL.Scheme == "https" && req.URL.Scheme != "https" {
		return fmt.Errorf("gitea: download: refusing a redirect from https to %s", req.URL.Redacted())
	}
	if req.URL.Host != s.base.Host || req.URL.Scheme != s.base.Scheme {
		req.Header.Del("Authorization")
	}
	return nil
}

// Route returns where the Store keeps the object name: the tag of its
// release and its asset name, and whether that release is the index
// release. Root files go to the index release under their own name
// (signatures.json as [RootSignaturesAsset]), sigs/NAME as NAME,
// root/<n>.json as root.<n>.json, shards/NAME as shard.NAME;
// VERSION/NAME goes to the release of [WithTagFor](VERSION) as NAME.
func (s *Store) Route(name string) (tag, asset string, index bool, err error) {
	if err := publish.CheckName(name); err != nil {
		return "", "", false, fmt.Errorf("gitea: %w", err)
	}
	el := strings.Split(name, "/")
	switch {
	case len(el) == 1:
		asset = name
		if name == manifest.SignaturesFile {
			asset = RootSignaturesAsset
		}
		return s.opts.IndexTag, asset, true, nil
	case len(el) == 2 && el[0] == manifest.SigsDir:
		return s.opts.IndexTag, el[1], true, nil
	case len(el) == 2 && el[0] == manifest.ShardsDir:
		_, _, asset := manifest.ForgeAsset(name)
		return s.opts.IndexTag, asset, true, nil
	case len(el) == 2 && el[0] == "root":
		return s.opts.IndexTag, "root." + el[1], true, nil
	case len(el) == 2:
		tag := s.opts.TagFor(el[0])
		if strings.TrimSpace(tag) == "" || tag == s.opts.IndexTag {
			return "", "", false, &NameError{Name: name, Reason: fmt.Sprintf("version %q maps to tag %q", el[0], tag)}
		}
		return tag, el[1], false, nil
	}
	return "", "", false, &NameError{Name: name, Reason: "too deep"}
}

// route is Route plus the collision check.
func (s *Store) route(name string) (*relState, string, error) {
	tag, asset, index, err := s.Route(name)
	if err != nil {
		return nil, "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := tag + "\x00" + asset
	if prev, ok := s.claims[key]; ok && prev != name {
		return nil, "", fmt.Errorf("%w: %s and %s are both asset %q of release %s", ErrNameCollision, prev, name, asset, tag)
	}
	s.claims[key] = name
	st := s.rels[tag]
	if st == nil {
		st = &relState{tag: tag, index: index}
		if !index {
			st.version, _, _ = strings.Cut(name, "/")
		}
		s.rels[tag] = st
	}
	if !index {
		st.touched = true
	}
	return st, asset, nil
}

// authorize sets the token on a request to the server, if there is one
// (the SDK does the same for its own requests).
func (s *Store) authorize(req *http.Request) {
	if s.opts.Token != "" {
		req.Header.Set("Authorization", "token "+s.opts.Token)
	}
}

func (s *Store) repoName() string { return s.opts.Owner + "/" + s.opts.Repo }

// client returns an SDK client whose requests use ctx (the SDK has one
// context per client, so each call gets its own; they share HTTPClient).
func (s *Store) client(ctx context.Context) (*sdk.Client, error) {
	return sdk.NewClient(s.base.String(), sdk.SetHTTPClient(s.hc), sdk.SetToken(s.opts.Token),
		sdk.SetGiteaVersion(""), sdk.SetContext(ctx), sdk.SetUserAgent("relkit-publish-gitea"))
}

// call runs one API request with a deadline and translates its error.
func (s *Store) call(ctx context.Context, op, name string, timeout time.Duration, fn func(c *sdk.Client) (*sdk.Response, error)) error {
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := s.client(rctx)
	if err != nil {
		return fmt.Errorf("gitea: %w", err)
	}
	resp, err := fn(c)
	if err == nil {
		return nil
	}
	if resp != nil && resp.Response != nil && resp.StatusCode >= 300 {
		return s.apiError(op, name, resp.Response, err.Error())
	}
	if ctx.Err() != nil {
		return fmt.Errorf("gitea: %s %s: %w", op, name, ctx.Err())
	}
	if rctx.Err() != nil {
		return &TimeoutError{Op: op, Name: name, After: timeout}
	}
	return fmt.Errorf("gitea: %s %s in %s: %w", op, name, s.repoName(), err)
}

func (s *Store) apiError(op, name string, resp *http.Response, msg string) *APIError {
	e := &APIError{Op: op, Name: name, Repo: s.repoName(), Server: s.base.String(), StatusCode: resp.StatusCode, Message: msg}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if secs, err := strconv.Atoi(strings.TrimSpace(ra)); err == nil && secs >= 0 {
			e.RetryAfter = time.Duration(secs) * time.Second
		} else if t, err := http.ParseTime(ra); err == nil {
			e.RetryAfter = max(time.Until(t), 0)
		}
	}
	return e
}

func isStatus(err error, code int) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.StatusCode == code
}

// lookup returns the release of st: from the cache unless fresh (or stale),
// else by tag; when there is none and create is set, it creates it (a
// version release as a draft, the index release published and flagged as
// a pre-release). nil when there is none and create is false.
func (s *Store) lookup(ctx context.Context, st *relState, create, fresh bool) (*sdk.Release, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !fresh && !st.stale && (st.rel != nil || (st.none && !create)) {
		return st.rel, nil
	}
	rel, err := s.getByTag(ctx, st.tag)
	if err != nil {
		return nil, err
	}
	if rel == nil && create {
		// The index is a pre-release (never "latest"); a version's
		// release is one when its version is.
		pre := st.index
		if v, err := manifest.ParseVersion(st.version); err == nil && !st.index {
			pre = v.IsPrerelease()
		}
		opt := sdk.CreateReleaseOption{TagName: st.tag, Target: s.opts.Target, Title: st.tag, IsDraft: !st.index, IsPrerelease: pre}
		if st.index {
			opt.Title = "relkit index"
			opt.Note = "The release root that relkit clients read: manifest.json and its signatures. Replaced on every publish; do not delete."
		}
		var out *sdk.Release
		err = s.call(ctx, "create release", st.tag, s.opts.Timeout, func(c *sdk.Client) (*sdk.Response, error) {
			r, resp, err := c.CreateRelease(s.opts.Owner, s.opts.Repo, opt)
			out = r
			return resp, err
		})
		if isStatus(err, http.StatusConflict) {
			// Another publisher created it first.
			out, err = s.getByTag(ctx, st.tag)
			if err == nil && out == nil {
				err = fmt.Errorf("gitea: release %s of %s: Gitea says it exists but does not show it: %w", st.tag, s.repoName(), publish.ErrChanged)
			}
		}
		if err != nil {
			return nil, err
		}
		rel = out
	}
	st.rel, st.none, st.stale = rel, rel == nil, false
	return rel, nil
}

// getByTag fetches the release with the tag (drafts included: the token
// has write access); nil when there is none.
func (s *Store) getByTag(ctx context.Context, tag string) (*sdk.Release, error) {
	var rel *sdk.Release
	err := s.call(ctx, "get release", tag, s.opts.Timeout, func(c *sdk.Client) (*sdk.Response, error) {
		r, resp, err := c.GetReleaseByTag(s.opts.Owner, s.opts.Repo, tag)
		rel = r
		return resp, err
	})
	if isStatus(err, http.StatusNotFound) {
		// No release with the tag, or no repository at all (Gitea
		// answers both with the same 404): tell them apart once.
		return nil, s.checkRepo(ctx)
	}
	if err != nil {
		return nil, err
	}
	return rel, nil
}

// checkRepo makes sure the repository exists and the token sees it, once
// per Store, so that a wrong name is reported as such rather than as an
// empty release root.
func (s *Store) checkRepo(ctx context.Context) error {
	s.mu.Lock()
	ok := s.repoSeen
	s.mu.Unlock()
	if ok {
		return nil
	}
	err := s.call(ctx, "get repository", s.repoName(), s.opts.Timeout, func(c *sdk.Client) (*sdk.Response, error) {
		_, resp, err := c.GetRepo(s.opts.Owner, s.opts.Repo)
		return resp, err
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.repoSeen = true
	s.mu.Unlock()
	return nil
}

// getByID fetches a release with its current assets.
func (s *Store) getByID(ctx context.Context, st *relState, id int64) (*sdk.Release, error) {
	var rel *sdk.Release
	err := s.call(ctx, "get release", st.tag, s.opts.Timeout, func(c *sdk.Client) (*sdk.Response, error) {
		r, resp, err := c.GetRelease(s.opts.Owner, s.opts.Repo, id)
		rel = r
		return resp, err
	})
	if err != nil {
		return nil, err
	}
	// Not cached: concurrent uploads of this Store may have finished
	// after this answer was made; they update the cache themselves.
	return rel, nil
}

// named returns the release's assets called name, lowest ID first; the
// first is the one that counts (Gitea's download path serves it).
func named(rel *sdk.Release, name string) []*sdk.Attachment {
	if rel == nil {
		return nil
	}
	var out []*sdk.Attachment
	for _, a := range rel.Attachments {
		if a != nil && a.Name == name {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b *sdk.Attachment) int { return int(a.ID - b.ID) })
	return out
}

func (s *Store) object(name string, a *sdk.Attachment) publish.Object {
	s.mu.Lock()
	sum := s.sums[a.ID]
	s.mu.Unlock()
	return publish.Object{Name: name, Size: a.Size, SHA256: sum, Version: strconv.FormatInt(a.ID, 10)}
}

func (s *Store) notExist(st *relState, asset string) error {
	return fmt.Errorf("gitea: asset %s of release %s of %s: %w", asset, st.tag, s.repoName(), publish.ErrNotExist)
}

// Stat implements [publish.Store]. The index release is read afresh every
// time (other publishers change it); a version release once.
func (s *Store) Stat(ctx context.Context, name string) (publish.Object, error) {
	st, asset, err := s.route(name)
	if err != nil {
		return publish.Object{}, err
	}
	rel, err := s.lookup(ctx, st, false, st.index)
	if err != nil {
		return publish.Object{}, err
	}
	if as := named(rel, asset); len(as) > 0 {
		return s.object(name, as[0]), nil
	}
	if rel != nil && st.index && asset == manifest.File && committedBefore(rel) {
		return s.awaitManifest(ctx, st, name)
	}
	return publish.Object{}, s.notExist(st, asset)
}

// pendingSuffix ends the name of a pending copy of a manifest.json being
// committed: manifest.json.<sha256>.pending.
const pendingSuffix = ".pending"

func pendingName(sum string) string { return manifest.File + "." + sum + pendingSuffix }

// pendingSum returns the SHA-256 a pending copy's name gives, or "".
func pendingSum(asset string) string {
	rest, ok := strings.CutPrefix(asset, manifest.File+".")
	if !ok {
		return ""
	}
	h, ok := strings.CutSuffix(rest, pendingSuffix)
	if !ok || len(h) != 64 || !isHex(h) {
		return ""
	}
	return h
}

// putPending uploads data as the pending copy of the manifest with the
// digest sum (reusing one already there) and returns its asset ID.
func (s *Store) putPending(ctx context.Context, st *relState, rel *sdk.Release, data []byte, sum string) (int64, error) {
	n := pendingName(sum)
	for _, a := range named(rel, n) {
		if a.Size == int64(len(data)) {
			return a.ID, nil
		}
	}
	a, err := s.upload(ctx, st, rel.ID, n, n, data)
	if err != nil {
		return 0, err
	}
	return a.ID, nil
}

// adopt puts back the manifest.json of a publisher that stopped between
// its conditional delete and its upload: the newest pending copy, whose
// bytes must hash to the digest in its name. It returns the manifest now
// there, or an error wrapping ErrNotExist when there is no pending copy.
func (s *Store) adopt(ctx context.Context, st *relState, rel *sdk.Release, name string) (publish.Object, error) {
	var pend *sdk.Attachment
	for _, a := range rel.Attachments {
		if a != nil && pendingSum(a.Name) != "" && (pend == nil || a.ID > pend.ID) {
			pend = a
		}
	}
	if pend == nil {
		return publish.Object{}, s.notExist(st, pendingName("<sha256>"))
	}
	rc, err := s.download(ctx, pend.Name, pend)
	if err != nil {
		return publish.Object{}, err
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return publish.Object{}, err
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != pendingSum(pend.Name) {
		return publish.Object{}, &publish.ChecksumError{Name: pend.Name, WantSHA256: pendingSum(pend.Name), WantSize: pend.Size,
			GotSHA256: hex.EncodeToString(sum[:]), GotSize: int64(len(data))}
	}
	created, err := s.upload(ctx, st, rel.ID, name, manifest.File, data)
	if err != nil {
		return publish.Object{}, err
	}
	s.mu.Lock()
	s.sums[created.ID] = hex.EncodeToString(sum[:])
	s.mu.Unlock()
	// Of racing repairs (or the slow owner arriving) the oldest counts.
	cur, err := s.getByID(ctx, st, rel.ID)
	if err != nil {
		return publish.Object{}, err
	}
	as := named(cur, manifest.File)
	if len(as) > 0 && as[0].ID != created.ID {
		s.deleteAsset(ctx, st, rel.ID, name, created.ID)
		return s.object(name, as[0]), nil
	}
	s.deleteAsset(ctx, st, rel.ID, pend.Name, pend.ID)
	return s.object(name, created), nil
}

// committedMark is added to the index release's description after the
// first manifest.json committed there, as evidence for committedBefore that
// does not depend on the legacy manifest.json.sig (a root signed only
// through signatures.json has none). It is an HTML comment: invisible on
// the release page.
const committedMark = "<!-- relkit: a manifest.json was committed to this release -->"

// committedBefore reports whether the index release shows that a manifest
// was committed: content-addressed manifest signatures, and either the
// legacy manifest.json.sig, which the Publisher writes only after a
// commit, the Store's committedMark, or a pending copy (made only to
// replace a manifest).
func committedBefore(rel *sdk.Release) bool {
	legacy, sigs := false, false
	for _, a := range rel.Attachments {
		if a == nil {
			continue
		}
		if a.Name == publish.ManifestSigName || pendingSum(a.Name) != "" {
			legacy = true
		}
		if rest, ok := strings.CutPrefix(a.Name, manifest.File+"."); ok && pendingSum(a.Name) == "" {
			if h, _, ok := strings.Cut(rest, "."); ok && len(h) == 64 && isHex(h) {
				sigs = true
			}
		}
	}
	return sigs && (legacy || strings.Contains(rel.Note, committedMark))
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

// awaitManifest waits (bounded by [WithReplaceWait]) for another
// publisher's manifest.json replacement to finish.
func (s *Store) awaitManifest(ctx context.Context, st *relState, name string) (publish.Object, error) {
	start := time.Now()
	deadline := start.Add(max(s.opts.ReplaceWait, 0))
	// look reads the release once more: done with an Object when the
	// manifest is back, done with ErrNotExist when no manifest was ever
	// committed, and not done while a replacement is still under way.
	look := func() (*sdk.Release, publish.Object, bool, error) {
		rel, err := s.lookup(ctx, st, false, true)
		if err != nil {
			return nil, publish.Object{}, true, err
		}
		if as := named(rel, manifest.File); len(as) > 0 {
			return rel, s.object(name, as[0]), true, nil
		}
		if rel == nil || !committedBefore(rel) {
			return rel, publish.Object{}, true, s.notExist(st, manifest.File)
		}
		return rel, publish.Object{}, false, nil
	}
	delay := 10 * time.Millisecond
	for i := 0; i < 1000 && time.Now().Before(deadline); i++ {
		t := time.NewTimer(min(delay, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return publish.Object{}, ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, 500*time.Millisecond)
		if _, obj, done, err := look(); done {
			return obj, err
		}
	}
	// The wait is over: a publisher stopped after its commit (the delete)
	// and before its upload. Put its pending copy in place.
	rel, obj, done, err := look()
	if done {
		return obj, err
	}
	obj, err = s.adopt(ctx, st, rel, name)
	if errors.Is(err, publish.ErrNotExist) {
		return publish.Object{}, &ReplacingError{Repo: s.repoName(), Tag: st.tag, Waited: time.Since(start)}
	}
	return obj, err
}

// transferTimeout is the deadline of a request moving size bytes.
func (s *Store) transferTimeout(size int64) time.Duration {
	if s.opts.MinThroughput <= 0 {
		return s.opts.Timeout
	}
	return s.opts.Timeout + time.Duration(float64(size)/float64(s.opts.MinThroughput)*float64(time.Second))
}

// Open implements [publish.Store]: it downloads the asset from its
// browser_download_url (with the token only when that is on the server's
// host), so a draft's assets are readable too.
func (s *Store) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	st, asset, err := s.route(name)
	if err != nil {
		return nil, err
	}
	// An asset listed a moment ago can be gone when it is downloaded
	// (another publisher replaced it): look again, a bounded number of
	// times, and read the one there now.
	for try := 0; try < 4; try++ {
		rel, err := s.lookup(ctx, st, false, st.index || try > 0)
		if err != nil {
			return nil, err
		}
		as := named(rel, asset)
		if len(as) == 0 && st.index && asset == manifest.File && rel != nil && committedBefore(rel) {
			// Mid-replace, as for Stat: wait for (or repair) it.
			if _, err := s.awaitManifest(ctx, st, name); err != nil {
				return nil, err
			}
			continue
		}
		if len(as) == 0 {
			break
		}
		rc, err := s.download(ctx, name, as[0])
		if errors.Is(err, publish.ErrNotExist) {
			continue
		}
		return rc, err
	}
	return nil, s.notExist(st, asset)
}

// download starts reading the asset a.
func (s *Store) download(ctx context.Context, name string, a *sdk.Attachment) (io.ReadCloser, error) {
	u := a.DownloadURL
	if u == "" {
		u = s.base.String() + "/attachments/" + url.PathEscape(a.UUID)
	}
	timeout := s.transferTimeout(a.Size)
	rctx, cancel := context.WithTimeout(ctx, timeout)
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("gitea: download %s: %w", name, err)
	}
	if req.URL.Host == s.base.Host && req.URL.Scheme == s.base.Scheme {
		s.authorize(req)
	}
	resp, err := s.dl.Do(req)
	if err != nil {
		cancel()
		if ctx.Err() == nil && rctx.Err() != nil {
			return nil, &TimeoutError{Op: "download", Name: name, After: timeout}
		}
		return nil, fmt.Errorf("gitea: download %s: %w", name, err)
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		cancel()
		if resp.StatusCode == http.StatusNotFound {
			return nil, fmt.Errorf("gitea: download %s: %w", name, publish.ErrNotExist)
		}
		return nil, s.apiError("download", name, resp, strings.TrimSpace(string(msg)))
	}
	return &download{s: s, name: name, id: a.ID, size: a.Size, body: resp.Body, cancel: cancel, h: sha256.New(), ctx: rctx, parent: ctx, timeout: timeout}, nil
}

// download reads an asset, bounded by its listed size, and remembers its
// SHA-256 when it was read whole.
type download struct {
	s           *Store
	name        string
	id, size, n int64
	body        io.ReadCloser
	cancel      context.CancelFunc
	h           hash.Hash
	ctx, parent context.Context
	timeout     time.Duration
}

func (d *download) Read(p []byte) (int, error) {
	if d.n >= d.size {
		// Never more than the listed size.
		var one [1]byte
		if k, _ := d.body.Read(one[:]); k > 0 {
			return 0, fmt.Errorf("gitea: download %s: longer than its listed %d bytes", d.name, d.size)
		}
		d.s.mu.Lock()
		d.s.sums[d.id] = hex.EncodeToString(d.h.Sum(nil))
		d.s.mu.Unlock()
		return 0, io.EOF
	}
	if int64(len(p)) > d.size-d.n {
		p = p[:d.size-d.n]
	}
	k, err := d.body.Read(p)
	d.n += int64(k)
	d.h.Write(p[:k])
	if err == io.EOF {
		if d.n < d.size {
			return k, fmt.Errorf("gitea: download %s: %d of %d bytes: %w", d.name, d.n, d.size, io.ErrUnexpectedEOF)
		}
		err = nil
	}
	if err != nil && d.parent.Err() == nil && d.ctx.Err() != nil {
		err = &TimeoutError{Op: "download", Name: d.name, After: d.timeout}
	}
	return k, err
}

func (d *download) Close() error {
	err := d.body.Close()
	d.cancel()
	return err
}

// Put implements [publish.Store]. The bytes are read and verified before
// any request (the SDK buffers the multipart body anyway), so a body that
// fails verification publishes nothing. A create-only Put of a taken name
// fails with an error wrapping publish.ErrExist; Replace deletes the old
// asset first; IfMatch makes the replace conditional on the asset ID (see
// the package documentation). Before manifest.json goes into the index
// release, every version release this Store used that the manifest lists
// is published.
func (s *Store) Put(ctx context.Context, name string, r *publish.Body, info publish.PutInfo) error {
	st, asset, err := s.route(name)
	if err != nil {
		return err
	}
	// Small files are read (and so verified) before any request and go
	// through the SDK, which buffers the multipart body; large ones are
	// streamed (see [WithStreamAbove]).
	var data []byte
	stream := info.Size > s.opts.StreamAbove && !(st.index && asset == manifest.File)
	if !stream {
		if data, err = io.ReadAll(io.LimitReader(r, info.Size+1)); err != nil {
			return err
		}
		if int64(len(data)) != info.Size {
			return &publish.ChecksumError{Name: name, WantSHA256: info.SHA256, WantSize: info.Size, GotSize: int64(len(data))}
		}
	}
	if st.index && asset == manifest.File {
		if err := s.publishDrafts(ctx, data); err != nil {
			return err
		}
	}
	rel, err := s.lookup(ctx, st, true, st.index)
	if err != nil {
		return err
	}
	if st.index && (rel.IsDraft || !rel.IsPrerelease) {
		// Clients cannot read a draft, and the index must never be
		// "latest": publish it as a pre-release.
		draft, pre := false, true
		if rel, err = s.editRelease(ctx, st, rel, sdk.EditReleaseOption{IsDraft: &draft, IsPrerelease: &pre}); err != nil {
			return err
		}
	}
	old := named(rel, asset)
	var ifMatch, pend int64
	if info.Replace && info.IfMatch != "" {
		ifMatch, err = strconv.ParseInt(info.IfMatch, 10, 64)
		if err != nil || len(old) == 0 || old[0].ID != ifMatch {
			return s.changed(st, asset, info.IfMatch)
		}
		if st.index && asset == manifest.File {
			// The new bytes go up first as a pending copy, so that a
			// stop between the delete and the upload below leaves them
			// for the next publisher to put in place (see adopt).
			if pend, err = s.putPending(ctx, st, rel, data, info.SHA256); err != nil {
				return err
			}
			defer s.deleteAsset(context.WithoutCancel(ctx), st, rel.ID, name, pend)
		}
		// The conditional delete: only one publisher succeeds.
		if err := s.deleteAsset(ctx, st, rel.ID, name, ifMatch); err != nil {
			if isStatus(err, http.StatusNotFound) {
				return s.changed(st, asset, info.IfMatch)
			}
			return err
		}
		old = old[1:] // leftovers of a publisher stopped mid-upload
	}
	if len(old) > 0 && !info.Replace {
		return fmt.Errorf("gitea: asset %s of release %s of %s: %w", asset, st.tag, s.repoName(), publish.ErrExist)
	}
	if ifMatch != 0 {
		for _, a := range old {
			if err := s.deleteAsset(ctx, st, rel.ID, name, a.ID); err != nil && !isStatus(err, http.StatusNotFound) {
				return err
			}
		}
	}
	// An unconditional replace uploads first and removes the older
	// assets after, so that the name is never missing: a Stat in
	// between sees the old bytes, never nothing.
	var created *sdk.Attachment
	if stream {
		created, err = s.uploadStream(ctx, st, rel.ID, name, asset, r, info.Size)
	} else {
		created, err = s.upload(ctx, st, rel.ID, name, asset, data)
	}
	if err != nil {
		return err
	}
	// Gitea accepts several assets with one name: look for a racing
	// upload. Of a create-only (or conditional) upload the older one
	// wins; of an unconditional replace the newer one (last writer).
	cur, err := s.getByID(ctx, st, rel.ID)
	if err != nil {
		return err
	}
	for _, a := range named(cur, asset) {
		switch {
		case a.ID == created.ID:
		case a.ID < created.ID && !info.Replace || a.ID < created.ID && ifMatch != 0:
			s.deleteAsset(ctx, st, rel.ID, name, created.ID)
			if ifMatch != 0 {
				return s.changed(st, asset, info.IfMatch)
			}
			return fmt.Errorf("gitea: asset %s of release %s of %s: another publisher uploaded it first: %w", asset, st.tag, s.repoName(), publish.ErrExist)
		case a.ID < created.ID:
			if err := s.deleteAsset(ctx, st, rel.ID, name, a.ID); err != nil && !isStatus(err, http.StatusNotFound) {
				return err
			}
		}
	}
	s.mu.Lock()
	s.sums[created.ID] = info.SHA256
	s.mu.Unlock()
	if pend != 0 {
		// Pending copies older than ours are of publishers that lost to
		// us or stopped: never to be put in place now.
		for _, a := range cur.Attachments {
			if a != nil && a.ID < pend && pendingSum(a.Name) != "" {
				s.deleteAsset(ctx, st, rel.ID, a.Name, a.ID)
			}
		}
	}
	if st.index && asset == manifest.File && !strings.Contains(rel.Note, committedMark) {
		// Best effort: the legacy manifest.json.sig is evidence too,
		// and the next commit tries again.
		s.editRelease(ctx, st, rel, sdk.EditReleaseOption{Note: strings.TrimSpace(rel.Note + "\n\n" + committedMark)})
	}
	return nil
}

func (s *Store) changed(st *relState, asset, id string) error {
	return fmt.Errorf("gitea: asset %s of release %s of %s is no longer asset %s: %w", asset, st.tag, s.repoName(), id, publish.ErrChanged)
}

// upload creates the asset and checks what Gitea stored.
func (s *Store) upload(ctx context.Context, st *relState, relID int64, name, asset string, data []byte) (*sdk.Attachment, error) {
	var created *sdk.Attachment
	err := s.call(ctx, "upload", name, s.transferTimeout(int64(len(data))), func(c *sdk.Client) (*sdk.Response, error) {
		a, resp, err := c.CreateReleaseAttachment(s.opts.Owner, s.opts.Repo, relID, bytes.NewReader(data), asset)
		created = a
		return resp, err
	})
	if err != nil {
		s.markStale(st) // an upload of unknown outcome
		return nil, err
	}
	return s.checkCreated(ctx, st, relID, name, asset, int64(len(data)), created)
}

// checkCreated checks what Gitea says it stored and records it.
func (s *Store) checkCreated(ctx context.Context, st *relState, relID int64, name, asset string, size int64, created *sdk.Attachment) (*sdk.Attachment, error) {
	if created == nil || created.ID == 0 || created.Name != asset || created.Size != size {
		s.markStale(st)
		if created != nil && created.ID != 0 {
			s.deleteAsset(ctx, st, relID, name, created.ID)
			return nil, fmt.Errorf("gitea: upload %s: the server stored %q with %d bytes, want %q with %d", name, created.Name, created.Size, asset, size)
		}
		return nil, fmt.Errorf("gitea: upload %s: no attachment in the answer", name)
	}
	st.mu.Lock()
	if st.rel != nil && st.rel.ID == relID {
		if !slices.ContainsFunc(st.rel.Attachments, func(a *sdk.Attachment) bool { return a != nil && a.ID == created.ID }) {
			cp := *st.rel // releases handed out are never changed
			cp.Attachments = append(slices.Clone(cp.Attachments), created)
			st.rel = &cp
		}
	}
	st.mu.Unlock()
	return created, nil
}

// uploadStream uploads size bytes read from r as a multipart body that is
// written while it is sent, so that a large file is never held in memory.
// r verifies the bytes (a *publish.Body): when they do not match, it fails
// before the last ones, the server never gets a complete body and stores
// nothing, and the checksum error is returned; an asset of the name and
// size that appeared anyway is removed.
func (s *Store) uploadStream(ctx context.Context, st *relState, relID int64, name, asset string, r io.Reader, size int64) (*sdk.Attachment, error) {
	// The exact Content-Length: the part's header, the bytes, the trailer.
	var frame bytes.Buffer
	fw := multipart.NewWriter(&frame)
	if _, err := fw.CreateFormFile("attachment", asset); err != nil {
		return nil, err
	}
	fw.Close()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	if err := mw.SetBoundary(fw.Boundary()); err != nil {
		return nil, err
	}
	bodyErr := make(chan error, 1)
	go func() {
		part, err := mw.CreateFormFile("attachment", asset)
		if err == nil {
			var n int64
			n, err = io.Copy(part, io.LimitReader(r, size))
			if err == nil && n != size {
				err = &publish.ChecksumError{Name: name, WantSize: size, GotSize: n}
			}
		}
		if err == nil {
			err = mw.Close()
		}
		bodyErr <- err
		pw.CloseWithError(err)
	}()
	timeout := s.transferTimeout(size)
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	u := fmt.Sprintf("%s/api/v1/repos/%s/%s/releases/%d/assets?name=%s", s.base.String(),
		url.PathEscape(s.opts.Owner), url.PathEscape(s.opts.Repo), relID, url.QueryEscape(asset))
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, u, pr)
	if err != nil {
		pr.Close()
		return nil, err
	}
	req.ContentLength = int64(frame.Len()) + size
	req.Header.Set("Content-Type", mw.FormDataContentType())
	s.authorize(req)
	req.Header.Set("User-Agent", "relkit-publish-gitea")
	resp, err := s.hc.Do(req)
	pr.Close()        // ends the writer if the request stopped reading early
	berr := <-bodyErr // the writer never blocks on a closed pipe
	if berr != nil && errors.Is(berr, publish.ErrChecksum) {
		if resp != nil {
			resp.Body.Close()
		}
		s.removeStray(ctx, st, relID, name, asset, size)
		return nil, berr
	}
	if err != nil {
		s.markStale(st)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("gitea: upload %s: %w", name, ctx.Err())
		}
		if rctx.Err() != nil {
			return nil, &TimeoutError{Op: "upload", Name: name, After: timeout}
		}
		return nil, fmt.Errorf("gitea: upload %s in %s: %w", name, s.repoName(), err)
	}
	defer resp.Body.Close()
	b, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		s.markStale(st)
		var e struct {
			Message string `json:"message"`
		}
		json.Unmarshal(b, &e)
		return nil, s.apiError("upload", name, resp, e.Message)
	}
	created := new(sdk.Attachment)
	if rerr != nil || json.Unmarshal(b, created) != nil {
		s.markStale(st)
		return nil, fmt.Errorf("gitea: upload %s: unreadable answer (%v)", name, rerr)
	}
	return s.checkCreated(ctx, st, relID, name, asset, size, created)
}

// removeStray deletes an asset of the name and size that a failed upload
// may have left.
func (s *Store) removeStray(ctx context.Context, st *relState, relID int64, name, asset string, size int64) {
	s.markStale(st)
	if cur, err := s.getByID(ctx, st, relID); err == nil {
		for _, a := range named(cur, asset) {
			if a.Size == size {
				s.deleteAsset(ctx, st, relID, name, a.ID)
			}
		}
	}
}

func (s *Store) markStale(st *relState) {
	st.mu.Lock()
	st.stale = true
	st.mu.Unlock()
}

func (s *Store) deleteAsset(ctx context.Context, st *relState, relID int64, name string, id int64) error {
	err := s.call(ctx, "delete", name, s.opts.Timeout, func(c *sdk.Client) (*sdk.Response, error) {
		return c.DeleteReleaseAttachment(s.opts.Owner, s.opts.Repo, relID, id)
	})
	if err == nil || isStatus(err, http.StatusNotFound) {
		st.mu.Lock()
		if st.rel != nil {
			cp := *st.rel // releases handed out are never changed
			cp.Attachments = slices.DeleteFunc(slices.Clone(cp.Attachments), func(a *sdk.Attachment) bool { return a != nil && a.ID == id })
			st.rel = &cp
		}
		st.mu.Unlock()
	}
	return err
}

// publishDrafts publishes the draft version releases this Store used
// (Stat or Put) whose versions the manifest about to be committed lists,
// so that no client is pointed at an invisible release.
func (s *Store) publishDrafts(ctx context.Context, manifestData []byte) error {
	var tags map[string]bool
	if m, err := manifest.Parse(manifestData); err == nil {
		tags = map[string]bool{}
		for _, r := range m.Releases {
			tags[s.opts.TagFor(r.Version)] = true
			if r.Tag != "" {
				tags[r.Tag] = true
			}
		}
	}
	s.mu.Lock()
	var todo []*relState
	for _, st := range s.rels {
		if !st.index && st.touched && (tags == nil || tags[st.tag]) {
			todo = append(todo, st)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(todo, func(a, b *relState) int { return strings.Compare(a.tag, b.tag) })
	for _, st := range todo {
		rel, err := s.lookup(ctx, st, false, false)
		if err != nil {
			return err
		}
		if rel == nil || !rel.IsDraft {
			continue
		}
		draft := false
		if _, err := s.editRelease(ctx, st, rel, sdk.EditReleaseOption{IsDraft: &draft}); err != nil {
			return err
		}
	}
	return nil
}

// editRelease changes a release (Gitea leaves empty fields unchanged).
func (s *Store) editRelease(ctx context.Context, st *relState, rel *sdk.Release, edit sdk.EditReleaseOption) (*sdk.Release, error) {
	var out *sdk.Release
	err := s.call(ctx, "edit release", st.tag, s.opts.Timeout, func(c *sdk.Client) (*sdk.Response, error) {
		r, resp, err := c.EditRelease(s.opts.Owner, s.opts.Repo, rel.ID, edit)
		out = r
		return resp, err
	})
	if err != nil {
		return nil, err
	}
	if out == nil || out.ID != rel.ID {
		return nil, fmt.Errorf("gitea: edit release %s of %s: no release in the answer", st.tag, s.repoName())
	}
	st.mu.Lock()
	st.rel = out
	st.mu.Unlock()
	return out, nil
}

// String returns the repository's releases page, as URL("") does, so
// that a Store used as a verify.Location prints readably (and never its
// token) in messages.
func (s *Store) String() string { return s.URL("") }

// URL implements [publish.Locator]: the public download URL of the object
// (BaseURL/OWNER/REPO/releases/download/TAG/ASSET), or the repository's
// releases page for "".
func (s *Store) URL(name string) string {
	repo := s.base.String() + "/" + url.PathEscape(s.opts.Owner) + "/" + url.PathEscape(s.opts.Repo) + "/releases"
	if name == "" {
		return repo
	}
	tag, asset, _, err := s.Route(name)
	if err != nil {
		return ""
	}
	return repo + "/download/" + url.PathEscape(tag) + "/" + url.PathEscape(asset)
}

// Release returns the release with the tag as last seen by the Store (nil
// when it has not looked it up or there is none).
func (s *Store) Release(tag string) *sdk.Release {
	s.mu.Lock()
	st := s.rels[tag]
	s.mu.Unlock()
	if st == nil {
		return nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.rel
}
