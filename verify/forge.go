package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/relkit/relkit/manifest"
)

// ForgeKind names the API family of a forge.
type ForgeKind string

// Forge kinds.
const (
	// ForgeGitHub is github.com or a GitHub Enterprise Server.
	ForgeGitHub ForgeKind = "github"
	// ForgeGitea is Gitea or Forgejo (the same release API and URLs).
	ForgeGitea ForgeKind = "gitea"
)

// Forge defaults.
const (
	// DefaultForgeRetryWait is how long Forge.Open waits before its one
	// retry of a missing manifest.json: a publisher replacing it deletes
	// the old asset before it uploads the new one.
	DefaultForgeRetryWait = 2 * time.Second
	// maxForgeAPIBody caps one API answer (a release with its assets).
	maxForgeAPIBody = 8 << 20
	// maxForgeAssetPages bounds the pages of a release's asset list read
	// to find one asset (100 assets a page).
	maxForgeAssetPages = 20
)

// Forge errors, wrapped by *ForgeError.
var (
	// ErrRepoNotFound: the repository does not exist, or it is private
	// and the request carried no token that can read it (github.com
	// answers both with 404).
	ErrRepoNotFound = errors.New("forge repository not found")
	// ErrNoIndex: the repository exists but has no relkit manifest: no
	// published index release, or one without manifest.json.
	ErrNoIndex = errors.New("no relkit manifest in the repository")
	// ErrRateLimited: the forge's API refused the request for its rate
	// limit (403 or 429 with X-RateLimit-Remaining: 0, or a Retry-After).
	ErrRateLimited = errors.New("forge API rate limit exceeded")
	// ErrBadToken: the forge refused the token (401).
	ErrBadToken = errors.New("forge token refused")
)

// ForgeError reports a forge repository that cannot serve a release,
// naming the URL and what to do. It unwraps to ErrFetch, its Err (one of
// ErrRepoNotFound, ErrNoIndex, ErrRateLimited, ErrBadToken) and, for the
// first two, ErrNotFound.
type ForgeError struct {
	// URL is the request that failed.
	URL string
	// Repo is the repository's web URL.
	Repo string
	// Err is the kind of failure.
	Err error
	// Hint says what to do about it.
	Hint string
	// Reset is when a rate limit resets (zero when unknown).
	Reset time.Time
}

// Error implements error.
func (e *ForgeError) Error() string {
	return fmt.Sprintf("%s: %v: %s", e.URL, e.Err, e.Hint)
}

// Unwrap returns ErrFetch, Err, and ErrNotFound for a missing repository
// or manifest.
func (e *ForgeError) Unwrap() []error {
	errs := []error{ErrFetch, e.Err}
	if e.Err == ErrRepoNotFound || e.Err == ErrNoIndex {
		errs = append(errs, ErrNotFound)
	}
	return errs
}

// ForgeRepo identifies a repository on a forge.
type ForgeRepo struct {
	// Kind is the forge's API family.
	Kind ForgeKind
	// Web is the forge's web base URL, without a trailing slash
	// ("https://github.com", "https://git.example.com/gitea").
	Web string
	// API is the REST API base URL ("https://api.github.com",
	// "https://ghe.example.com/api/v3", "https://git.example.com/api/v1").
	API string
	// Owner and Repo name the repository.
	Owner, Repo string
}

// String returns the repository's web URL.
func (r ForgeRepo) String() string { return r.Web + "/" + r.Owner + "/" + r.Repo }

// ParseForgeRepo parses a forge repository source. ok is false when
// source is not one (a release root URL, a directory); err is set when
// it is one but malformed. The forms:
//
//	github:OWNER/REPO                      github.com
//	github:HOST/OWNER/REPO                 GitHub Enterprise Server at https://HOST
//	github:https://HOST[/PREFIX]/OWNER/REPO
//	https://github.com/OWNER/REPO          github.com (this host only; exactly two path elements)
//	gitea:HOST/OWNER/REPO                  Gitea or Forgejo at https://HOST (forgejo: is the same)
//	gitea:https://HOST[/PREFIX]/OWNER/REPO
//
// Only the github: and gitea:/forgejo: prefixes, and the github.com host,
// make a source a forge: an https URL on any other host is a release
// root. The API base is https://api.github.com for github.com,
// WEB/api/v3 for a GitHub Enterprise Server and WEB/api/v1 for Gitea.
func ParseForgeRepo(source string) (r ForgeRepo, ok bool, err error) {
	kind, rest := ForgeKind(""), ""
	switch {
	case strings.HasPrefix(source, "github:"):
		kind, rest = ForgeGitHub, strings.TrimPrefix(source, "github:")
	case strings.HasPrefix(source, "gitea:"):
		kind, rest = ForgeGitea, strings.TrimPrefix(source, "gitea:")
	case strings.HasPrefix(source, "forgejo:"):
		kind, rest = ForgeGitea, strings.TrimPrefix(source, "forgejo:")
	default:
		u, perr := url.Parse(source)
		if perr != nil || u.Scheme != "https" || !isGitHubCom(u.Host) {
			return r, false, nil
		}
		p := strings.Split(strings.Trim(u.Path, "/"), "/")
		if len(p) != 2 || u.RawQuery != "" || u.Fragment != "" {
			return r, false, nil // a release root below github.com, or a web page
		}
		kind, rest = ForgeGitHub, source
	}
	bad := func(format string, a ...any) (ForgeRepo, bool, error) {
		return ForgeRepo{}, true, fmt.Errorf("verify: forge source %q: %s (want %s:OWNER/REPO, %s:HOST/OWNER/REPO or %s:https://HOST/OWNER/REPO)",
			source, fmt.Sprintf(format, a...), kind, kind, kind)
	}
	if !strings.Contains(rest, "://") {
		parts := strings.Split(strings.Trim(rest, "/"), "/")
		switch {
		case len(parts) == 2 && kind == ForgeGitHub:
			rest = "https://github.com/" + strings.Join(parts, "/")
		case len(parts) >= 3:
			rest = "https://" + strings.Join(parts, "/")
		default:
			return bad("no repository")
		}
	}
	u, err := url.Parse(rest)
	if err != nil {
		return bad("%v", err)
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return bad("want an https URL")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return bad("no user info, query or fragment allowed (pass a token separately)")
	}
	p := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(p) < 2 {
		return bad("no OWNER/REPO in the path")
	}
	owner, repo := p[len(p)-2], strings.TrimSuffix(p[len(p)-1], ".git")
	for _, n := range []string{owner, repo} {
		if !forgeName(n) {
			return bad("%q is not a repository or owner name", n)
		}
	}
	web := u.Scheme + "://" + u.Host
	if prefix := strings.Join(p[:len(p)-2], "/"); prefix != "" {
		web += "/" + prefix
	}
	r = ForgeRepo{Kind: kind, Web: web, Owner: owner, Repo: repo}
	switch {
	case kind == ForgeGitHub && isGitHubCom(u.Host):
		if len(p) != 2 {
			return bad("github.com has no path prefix")
		}
		r.Web, r.API = "https://github.com", "https://api.github.com"
	case kind == ForgeGitHub:
		r.API = web + "/api/v3"
	default:
		r.API = web + "/api/v1"
	}
	return r, true, nil
}

// loopback reports whether host is a loopback name or address.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func isGitHubCom(host string) bool {
	h := strings.ToLower(host)
	return h == "github.com" || h == "www.github.com"
}

// forgeName reports whether s is a plausible owner or repository name.
func forgeName(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > 100 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// ForgeOptions configures a Forge location.
type ForgeOptions struct {
	// Token reads a private repository. It is sent to the configured
	// forge only: on GitHub to its API host (api.github.com, or the
	// Enterprise Server), because github.com's web download URLs need
	// browser cookies for a private repository; on Gitea and Forgejo
	// with the web download URLs (Gitea 1.20.5 and later accept a token
	// there, go-gitea/gitea#26430). It never follows a redirect to
	// another host. Default "": a public repository, read only through
	// the web download URLs, which need no token and no API budget.
	Token string
	// IndexTag is the tag of the index release (default manifest.IndexTag).
	IndexTag string
	// RetryWait is the wait before the one retry of a missing
	// manifest.json (default DefaultForgeRetryWait; negative: no retry).
	RetryWait time.Duration
	// HTTP are the limits and client of every request (see NewHTTP).
	HTTP []HTTPOption
}

// Forge is a Location for a relkit release published to a forge
// repository in the forge layout of docs/wire-format.md: the root files
// in the index release (tag manifest.IndexTag), the files of version V in
// the release tagged with the manifest's tag for V. Build it with
// NewForge.
//
// Names map to download URLs as
//
//	manifest.json, keys.json, ...   <web>/<owner>/<repo>/releases/download/<index>/<name>
//	signatures.json                 .../download/<index>/root.signatures.json
//	sigs/<name>                     .../download/<index>/<name>
//	root/<n>.json                   .../download/<index>/root.<n>.json
//	<V>/<name>                      .../download/<tag of V>/<name>
//
// where the tag of V is the verified manifest's (see UseManifest), or
// "v"+V before a manifest is known. Without a token nothing but these
// URLs is requested: no API call, so no API rate limit applies. With a
// token on GitHub, each file is read through the REST API instead (GET
// /repos/{owner}/{repo}/releases/tags/{tag} for the asset's ID, once per
// release, then GET /repos/{owner}/{repo}/releases/assets/{id} with
// Accept: application/octet-stream). Redirects follow CheckRedirect, and
// the token is dropped on a redirect to another host.
//
// Finding the current manifest costs two downloads (manifest.json, then
// the signatures of exactly its bytes), whatever the repository's other
// releases: pre-releases, yanked versions and drafts do not matter, and
// an old copy served by a cache is refused by the Verifier's rollback
// check.
type Forge struct {
	repo  ForgeRepo
	token string
	index string
	wait  time.Duration
	h     *HTTP

	mu       sync.Mutex
	tags     map[string]string        // version -> tag, from the verified manifest
	releases map[string]*forgeRelease // tag -> asset IDs (token path)
}

type forgeRelease struct {
	id     int64
	assets map[string]int64
}

// NewForge returns a Location for the forge repository source (see
// ParseForgeRepo for the forms).
func NewForge(source string, opts ForgeOptions) (*Forge, error) {
	r, ok, err := ParseForgeRepo(source)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("verify: %q is not a forge repository (want github:OWNER/REPO, https://github.com/OWNER/REPO, github:https://HOST/OWNER/REPO or gitea:https://HOST/OWNER/REPO)", source)
	}
	return NewForgeRepo(r, opts)
}

// NewForgeRepo returns a Location for the repository r.
func NewForgeRepo(r ForgeRepo, opts ForgeOptions) (*Forge, error) {
	if r.Kind != ForgeGitHub && r.Kind != ForgeGitea || r.Web == "" || r.API == "" || !forgeName(r.Owner) || !forgeName(r.Repo) {
		return nil, fmt.Errorf("verify: incomplete forge repository %+v", r)
	}
	if opts.Token != "" {
		for _, base := range []string{r.Web, r.API} {
			if u, err := url.Parse(base); err != nil || u.Scheme != "https" && !loopback(u.Hostname()) {
				return nil, fmt.Errorf("verify: forge %s: a token is only sent over https (or to a loopback test server)", base)
			}
		}
	}
	h, err := NewHTTP(r.Web+"/", opts.HTTP...)
	if err != nil {
		return nil, err
	}
	f := &Forge{repo: r, token: opts.Token, index: opts.IndexTag, wait: opts.RetryWait, h: h,
		tags: map[string]string{}, releases: map[string]*forgeRelease{}}
	if f.index == "" {
		f.index = manifest.IndexTag
	}
	if f.wait == 0 {
		f.wait = DefaultForgeRetryWait
	}
	h.client.CheckRedirect = f.CheckRedirect
	return f, nil
}

// Repo returns the repository.
func (f *Forge) Repo() ForgeRepo { return f.repo }

// RetryWait returns the wait before the one retry of a missing
// manifest.json (negative: no retry).
func (f *Forge) RetryWait() time.Duration { return f.wait }

// UseManifest records the tag of every release of m, a manifest the
// caller verified, so that version files are read from the release with
// that tag. FetchManifest and VerifyRelease call it (see ManifestUser).
func (f *Forge) UseManifest(m *manifest.Manifest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range m.Releases {
		if r.Tag != "" {
			f.tags[r.Version] = r.Tag
		}
	}
}

// Asset returns the release tag and asset name that hold name, a path
// below the release root.
func (f *Forge) Asset(name string) (tag, asset string, err error) {
	if !cleanRelPath(name) {
		return "", "", &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	parts := strings.Split(name, "/")
	switch index, _, asset := manifest.ForgeAsset(name); {
	case index && len(parts) <= 2:
		return f.index, asset, nil
	case len(parts) == 2:
		f.mu.Lock()
		tag := f.tags[parts[0]]
		f.mu.Unlock()
		if tag == "" {
			tag = "v" + parts[0]
		}
		return tag, parts[1], nil
	}
	return "", "", &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("%w: no place for %q in the forge layout", fs.ErrInvalid, name)}
}

// String returns the repository's web URL ("https://github.com/acme/hello").
func (f *Forge) String() string { return f.repo.String() }

// URL returns the public download URL of name ("" names the repository).
func (f *Forge) URL(name string) string {
	if name == "" || name == "." {
		return f.repo.String()
	}
	tag, asset, err := f.Asset(name)
	if err != nil {
		return f.repo.String() + "/" + name
	}
	return f.download(tag, asset)
}

func (f *Forge) download(tag, asset string) string {
	return f.repo.String() + "/releases/download/" + url.PathEscape(tag) + "/" + url.PathEscape(asset)
}

// useAPI reports whether files are read through the REST API: a token on
// GitHub.
func (f *Forge) useAPI() bool { return f.token != "" && f.repo.Kind == ForgeGitHub }

// auth returns the Authorization header value for the configured host.
func (f *Forge) auth() string {
	if f.repo.Kind == ForgeGitea {
		return "token " + f.token
	}
	return "Bearer " + f.token
}

// CheckRedirect is the Forge's redirect policy: CheckRedirect, and the
// Authorization header dropped on a redirect to another host than the
// first request's (net/http keeps it for the same host name on another
// port).
func (f *Forge) CheckRedirect(req *http.Request, via []*http.Request) error {
	if err := CheckRedirect(req, via); err != nil {
		return err
	}
	if len(via) > 0 && !strings.EqualFold(req.URL.Host, via[0].URL.Host) {
		req.Header.Del("Authorization")
	}
	return nil
}

// NewRequest returns the GET request that reads name: its public
// download URL, or, with a token on GitHub, the API's asset URL (finding
// the asset's ID first, which costs one API request per release). It is
// for callers with their own transport (package install); send it with a
// client whose CheckRedirect is f.CheckRedirect, and pass a failed
// response to ResponseError.
func (f *Forge) NewRequest(ctx context.Context, name string) (*http.Request, error) {
	tag, asset, err := f.Asset(name)
	if err != nil {
		return nil, err
	}
	target := f.download(tag, asset)
	hdr := http.Header{}
	if f.useAPI() {
		id, _, err := f.assetID(ctx, tag, asset, false)
		if err != nil {
			return nil, err
		}
		target = fmt.Sprintf("%s/repos/%s/%s/releases/assets/%d", f.repo.API, f.repo.Owner, f.repo.Repo, id)
		hdr.Set("Accept", "application/octet-stream")
		hdr.Set("Authorization", f.auth())
	} else if f.token != "" {
		hdr.Set("Authorization", f.auth())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	req.Header = hdr
	return req, nil
}

// Open implements Location. A manifest.json that is missing is asked for
// once more after RetryWait (a publisher replaces it by a delete and an
// upload); still missing, the repository is looked at (one or two more
// requests) to say why, as a *ForgeError: the repository does not exist
// or is private (ErrRepoNotFound), or it has no relkit manifest
// (ErrNoIndex). API answers over the rate limit are a *ForgeError
// wrapping ErrRateLimited, a refused token one wrapping ErrBadToken.
func (f *Forge) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	rc, err := f.open(ctx, name, false)
	if name != manifest.File || !missing(err) {
		return rc, err
	}
	if f.wait > 0 {
		t := time.NewTimer(f.wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		if rc, err = f.open(ctx, name, true); !missing(err) {
			return rc, err
		}
	}
	return nil, f.Explain(ctx, name, err)
}

// missing reports a plain not-found, not one already explained.
func missing(err error) bool {
	var fe *ForgeError
	return errors.Is(err, ErrNotFound) && !errors.As(err, &fe)
}

func (f *Forge) open(ctx context.Context, name string, fresh bool) (io.ReadCloser, error) {
	if !f.useAPI() {
		req, err := f.NewRequest(ctx, name)
		if err != nil {
			return nil, err
		}
		rc, hdr, err := f.h.get(ctx, req.URL.String(), req.Header)
		return rc, f.statusError(err, hdr, false)
	}
	tag, asset, err := f.Asset(name)
	if err != nil {
		return nil, err
	}
	// The asset list may be older than the asset (replaced since): one
	// fresh listing, then the download again; at most two attempts.
	for attempt := 0; attempt < 2; attempt++ {
		var id int64
		var listed bool
		if id, listed, err = f.assetID(ctx, tag, asset, fresh || attempt > 0); err == nil {
			target := fmt.Sprintf("%s/repos/%s/%s/releases/assets/%d", f.repo.API, f.repo.Owner, f.repo.Repo, id)
			var rc io.ReadCloser
			var hdr http.Header
			rc, hdr, err = f.h.get(ctx, target, http.Header{"Accept": {"application/octet-stream"}, "Authorization": {f.auth()}})
			if err = f.statusError(err, hdr, true); err == nil {
				return rc, nil
			}
		}
		if !missing(err) || listed {
			break // a fresh listing is not older than the asset
		}
	}
	return nil, err
}

// ResponseError turns a failed response to a request from NewRequest
// into the error Open would return: a *ForgeError for a rate limit or a
// refused token, else an *HTTPError.
func (f *Forge) ResponseError(resp *http.Response) error {
	first := resp.Request // the request made, before any redirect
	for i := 0; first.Response != nil && first.Response.Request != nil && i <= MaxRedirects; i++ {
		first = first.Response.Request
	}
	err := &HTTPError{URL: redactURL(first.URL), StatusCode: resp.StatusCode, Status: resp.Status}
	return f.statusError(err, resp.Header, resp.Request.URL.Host == first.URL.Host && strings.HasPrefix(first.URL.String(), f.repo.API+"/"))
}

// statusError maps an API's rate-limit and token refusals to a
// *ForgeError; other errors pass.
func (f *Forge) statusError(err error, hdr http.Header, api bool) error {
	var he *HTTPError
	if err == nil || !errors.As(err, &he) || he.StatusCode == 0 {
		return err
	}
	switch {
	case api && (he.StatusCode == http.StatusForbidden || he.StatusCode == http.StatusTooManyRequests) &&
		(hdr.Get("X-RateLimit-Remaining") == "0" || hdr.Get("Retry-After") != ""):
		fe := &ForgeError{URL: he.URL, Repo: f.repo.String(), Err: ErrRateLimited}
		if s, perr := strconv.ParseInt(hdr.Get("X-RateLimit-Reset"), 10, 64); perr == nil {
			fe.Reset = time.Unix(s, 0).UTC()
		} else if s, perr := strconv.Atoi(hdr.Get("Retry-After")); perr == nil {
			fe.Reset = time.Now().Add(time.Duration(s) * time.Second).UTC()
		}
		when := "later"
		if !fe.Reset.IsZero() {
			when = "after " + fe.Reset.Format(time.RFC3339)
		}
		fe.Hint = fmt.Sprintf("the API budget of this token is spent (%s, X-RateLimit-Limit %s); try again %s, or, for a public repository, drop the token: the public download URLs need no API", he.Status, hdr.Get("X-RateLimit-Limit"), when)
		return fe
	case he.StatusCode == http.StatusUnauthorized:
		return &ForgeError{URL: he.URL, Repo: f.repo.String(), Err: ErrBadToken,
			Hint: "the token was refused: check that it has not expired or been revoked, and that it may read " + f.repo.String()}
	}
	return err
}

// Explain turns err, a not-found answer for name, into a *ForgeError
// saying whether the repository is missing (or private without a
// usable token) or has no relkit manifest, after looking at the
// repository (one or two requests: on GitHub without a token its web
// page and its index release's, so no API budget is spent; with a token,
// and on Gitea, the API's). Other errors, and a probe that fails itself,
// return err unchanged.
func (f *Forge) Explain(ctx context.Context, name string, err error) error {
	if !missing(err) {
		return err
	}
	at := f.URL(name)
	var he *HTTPError
	if errors.As(err, &he) {
		at = he.URL
	}
	repoStatus, indexStatus := 0, 0
	if f.repo.Kind == ForgeGitea {
		// Gitea's API answers anonymous readers of a public repository
		// (and has no repository page a client could tell apart).
		api := fmt.Sprintf("%s/repos/%s/%s/releases", f.repo.API, f.repo.Owner, f.repo.Repo)
		repoStatus = f.probe(ctx, api+"?limit=1", f.token != "")
		if repoStatus == http.StatusOK {
			indexStatus = f.probe(ctx, api+"/tags/"+url.PathEscape(f.index), f.token != "")
		}
	} else if f.useAPI() {
		repoStatus = f.probe(ctx, fmt.Sprintf("%s/repos/%s/%s", f.repo.API, f.repo.Owner, f.repo.Repo), true)
		if repoStatus == http.StatusOK {
			indexStatus = f.probe(ctx, fmt.Sprintf("%s/repos/%s/%s/releases/tags/%s", f.repo.API, f.repo.Owner, f.repo.Repo, url.PathEscape(f.index)), true)
		}
	} else {
		repoStatus = f.probe(ctx, f.repo.String(), f.token != "")
		if repoStatus == http.StatusOK {
			indexStatus = f.probe(ctx, f.repo.String()+"/releases/tag/"+url.PathEscape(f.index), f.token != "")
		}
	}
	fe := &ForgeError{URL: at, Repo: f.repo.String()}
	to := "github:" + f.repo.Owner + "/" + f.repo.Repo
	switch {
	case f.repo.Kind == ForgeGitea:
		to = "gitea:" + strings.TrimPrefix(strings.TrimPrefix(f.repo.Web, "https://"), "http://") + "/" + f.repo.Owner + "/" + f.repo.Repo
	case f.repo.Web != "https://github.com":
		to += " --github-api " + f.repo.API + "/"
	}
	publish := fmt.Sprintf("publish the project there with relkit (publish/%s, or examples/release --to %s), or point the source at the release root it was published to", f.repo.Kind, to)
	switch {
	case repoStatus == http.StatusNotFound && f.token == "":
		fe.Err = ErrRepoNotFound
		fe.Hint = fmt.Sprintf("%s does not exist, or it is private: check OWNER/REPO, and for a private repository give a token that can read it", f.repo)
	case repoStatus == http.StatusNotFound:
		fe.Err = ErrRepoNotFound
		fe.Hint = fmt.Sprintf("%s does not exist, or the token cannot read it: check OWNER/REPO and the token's access (contents: read)", f.repo)
	case repoStatus == http.StatusOK && indexStatus == http.StatusNotFound:
		fe.Err = ErrNoIndex
		fe.Hint = fmt.Sprintf("the repository has no published release tagged %s holding relkit's manifest.json: %s", f.index, publish)
	case repoStatus == http.StatusOK && indexStatus == http.StatusOK:
		fe.Err = ErrNoIndex
		fe.Hint = fmt.Sprintf("the release tagged %s has no %s: a publisher may be replacing it (try again), or it was not published by relkit: %s", f.index, name, publish)
	default:
		return err
	}
	return fe
}

// probe GETs target and returns its status (0 when the request failed),
// reading at most a little of the body.
func (f *Forge) probe(ctx context.Context, target string, withToken bool) int {
	hdr := http.Header{}
	if withToken {
		hdr.Set("Authorization", f.auth())
	}
	rc, _, err := f.h.get(ctx, target, hdr)
	if err == nil {
		rc.Close()
		return http.StatusOK
	}
	var he *HTTPError
	if errors.As(err, &he) {
		return he.StatusCode
	}
	return 0
}

// assetID returns the ID of the asset name of the release tagged tag,
// listing the release through the API (once per tag, or again when
// fresh); listed reports whether it listed the release just now.
func (f *Forge) assetID(ctx context.Context, tag, name string, fresh bool) (id int64, listed bool, err error) {
	f.mu.Lock()
	rel := f.releases[tag]
	f.mu.Unlock()
	if rel == nil || fresh {
		if rel, err = f.listRelease(ctx, tag); err != nil {
			return 0, true, err
		}
		listed = true
		f.mu.Lock()
		f.releases[tag] = rel
		f.mu.Unlock()
	}
	if id, ok := rel.assets[name]; ok {
		return id, listed, nil
	}
	return 0, listed, &HTTPError{URL: f.download(tag, name), StatusCode: http.StatusNotFound,
		Status: fmt.Sprintf("404 Not Found (the release tagged %s has no asset %s)", tag, name)}
}

type apiAsset struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	State string `json:"state"`
}

// listRelease reads the release tagged tag and its asset IDs: the
// release (GET .../releases/tags/{tag}), then, when it lists a full page
// of assets, the rest of its asset list (bounded).
func (f *Forge) listRelease(ctx context.Context, tag string) (*forgeRelease, error) {
	base := fmt.Sprintf("%s/repos/%s/%s/releases", f.repo.API, f.repo.Owner, f.repo.Repo)
	var r struct {
		ID     int64      `json:"id"`
		Assets []apiAsset `json:"assets"`
	}
	if err := f.apiJSON(ctx, base+"/tags/"+url.PathEscape(tag), &r); err != nil {
		return nil, err
	}
	rel := &forgeRelease{id: r.ID, assets: map[string]int64{}}
	add := func(as []apiAsset) {
		for _, a := range as {
			if a.State == "" || a.State == "uploaded" {
				rel.assets[a.Name] = a.ID
			}
		}
	}
	add(r.Assets)
	if len(r.Assets) < 30 {
		return rel, nil // GitHub embeds all of a small release's assets
	}
	for page := 1; page <= maxForgeAssetPages; page++ {
		var as []apiAsset
		if err := f.apiJSON(ctx, fmt.Sprintf("%s/%d/assets?per_page=100&page=%d", base, r.ID, page), &as); err != nil {
			return nil, err
		}
		add(as)
		if len(as) < 100 {
			break
		}
	}
	return rel, nil
}

// apiJSON GETs an API URL with the token and decodes its JSON answer.
func (f *Forge) apiJSON(ctx context.Context, target string, v any) error {
	hdr := http.Header{"Accept": {"application/vnd.github+json"}, "Authorization": {f.auth()}, "X-Github-Api-Version": {"2022-11-28"}}
	rc, h, err := f.h.get(ctx, target, hdr)
	if err != nil {
		return f.statusError(err, h, true)
	}
	defer rc.Close()
	data, err := readLimited(rc, target, maxForgeAPIBody)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return &FormatError{File: target, Reason: "not the forge API's JSON: " + err.Error()}
	}
	return nil
}

// ManifestUser is implemented by a Location that needs the verified
// manifest to find files, such as a Forge (the tags of version
// releases). FetchManifest and VerifyRelease call UseManifest with each
// manifest they verified, before reading anything else.
type ManifestUser interface {
	UseManifest(m *manifest.Manifest)
}
