// Package githubtest is an in-memory GitHub Enterprise server for tests:
// an httptest server on 127.0.0.1 that implements the documented REST
// behaviour of the release endpoints, so that code using go-github (or
// plain HTTP) can be tested against the protocol rather than against a
// mock of its own interfaces, in the manner of go-containerregistry's
// pkg/registry.
//
// It serves the API under /api/v3/ and uploads under /api/uploads/, the
// GitHub Enterprise layout, so a client is pointed at it with
// go-github's WithEnterpriseURLs(srv.URL, srv.URL) or relkit's
// publish/github WithBaseURL(srv.URL).
//
// # What it implements
//
//   - POST /repos/{owner}/{repo}/releases: create a release (draft or
//     not); 422 already_exists when a published release has the tag.
//   - GET /repos/{owner}/{repo}/releases: list, newest first, drafts
//     included (the token has push access), paginated with per_page
//     (default 30, max 100) and page, with a Link header (rel="next",
//     "last", "first", "prev").
//   - GET /repos/{owner}/{repo}: the repository (name, full_name, private)
//     when it has any release (the fake knows no other repositories).
//   - GET /repos/{owner}/{repo}/releases/tags/{tag}: published releases
//     only; a draft is not found by its tag.
//   - GET and PATCH /repos/{owner}/{repo}/releases/{id}; PATCH with
//     "draft": false publishes the release (published_at, tag URLs).
//   - GET /repos/{owner}/{repo}/releases/{id}/assets: paginated like the
//     release list.
//   - POST /api/uploads/repos/{owner}/{repo}/releases/{id}/assets?name=N
//     &label=L: upload (the release's upload_url is the RFC 6570 template
//     ".../assets{?name,label}"); Content-Length required; 422 with
//     errors[].code "already_exists" when the release has an asset of that
//     name; 422 "Cannot upload assets to an immutable release" for a
//     published release when [Server.Immutable] is set. Each asset carries
//     "digest": "sha256:<hex>" unless [Server.OmitDigest] is set.
//   - GET /repos/{owner}/{repo}/releases/assets/{id}: metadata, or with
//     "Accept: application/octet-stream" a 302 redirect to a
//     pre-signed-style download URL that needs no token.
//   - DELETE /repos/{owner}/{repo}/releases/assets/{id}: 204.
//   - GET and PUT /repos/{owner}/{repo}/contents/{path} (the default
//     branch): a file's base64 content and blob sha; create (201), update
//     with the current sha (200), 422 without it, 409 with a stale one.
//     [Server.File] and [Server.Commits] read the result.
//   - GET /{owner}/{repo}/releases/download/{tag}/{name} (no /api/v3, no
//     token): the public browser_download_url of a published release's
//     asset, a 302 to the storage URL on the asset host; 404 for drafts,
//     for a private repository (a token does not help: github.com wants
//     browser cookies there) and for a missing asset.
//   - GET /{owner}/{repo}/releases/latest/download/{name}: the same for the
//     latest release (the newest published release that is not a
//     pre-release), as github.com resolves it.
//   - GET /{owner}/{repo} and /{owner}/{repo}/releases/tag/{tag}: the web
//     pages, 200 (an empty body) for a public repository and a published
//     tag, 404 otherwise, the way a client can tell a missing repository
//     from a missing release without the API.
//
// # The asset host
//
// Downloads are served, as on github.com, by a second host:
// [Server.AssetURL], another httptest server on 127.0.0.1 with its own
// port. Every 302 (web download paths, and the API's
// application/octet-stream answer) points there, with an unguessable
// path that needs no token. It answers Range and If-Range requests
// (ETag per asset) and records every request it gets
// ([Server.AssetRequests]), with the Authorization header it carried, so
// a test can check that no token ever reaches it. The web and asset
// paths are not rate limited: the API's limit never affects them.
//
// # Test setup
//
// [Server.CreateRelease], [Server.PutAsset], [Server.DeleteAsset] and
// [Server.SetPrivate] change the state directly, without requests;
// [Server.PublishLayout] writes a relkit release root directory in the
// forge layout of docs/wire-format.md (an index release tagged
// relkit-index, one release per version), for client tests.
//
// Every API answer carries X-RateLimit-Limit, -Remaining, -Used, -Reset
// and -Resource headers. [Server.SetRateLimit] sets the budget; when it is
// spent, requests get 403 with X-RateLimit-Remaining: 0 until the reset.
// [Server.SecondaryLimit] makes the next requests fail with GitHub's
// secondary-rate-limit 403 and a Retry-After header. Requests without the
// server's token get 401 "Bad credentials". [Server.Fail] injects other
// failures (5xx, 429) for chosen requests.
//
// # Compatibility
//
// githubtest is a public test server, for relkit's tests and for anyone
// testing code against GitHub's release API, as go-containerregistry's
// pkg/registry is for registries: relkit commits to it as to any of its
// packages. What it emulates is what the sections above list: GitHub's
// documented REST behaviour of those endpoints, in the GitHub Enterprise
// Server layout, with github.com's public download paths and asset host.
//
// Stable within a major version of relkit (from v1.0.0; before it, as
// for every relkit package, a change is recorded in CHANGELOG.md with how
// to move over):
//
//   - the exported API (NewServer, Start, the Server fields and methods,
//     Release, AssetRequest, Token, IndexTag, MaxAssetSize, LayoutAsset)
//     only grows: nothing is removed or changes meaning;
//   - the endpoints listed above keep their statuses, the documented JSON
//     fields and headers, pagination, authentication and rate-limit
//     behaviour. They change only to follow GitHub more faithfully, and
//     each such change is recorded in relkit's CHANGELOG.md.
//
// Not stable, so a test must not depend on it:
//
//   - anything the sections above do not list: other endpoints (404
//     today) may be added, and answers may gain JSON fields and headers;
//   - the text of error messages (only the status and documented fields
//     such as errors[].code), IDs, timestamps, the order of JSON fields,
//     the default rate-limit budget, and the paths of the asset host (only
//     that it is another host and needs no token);
//   - what [Server.PublishLayout] and [LayoutAsset] produce, which follows
//     relkit's forge layout (docs/wire-format.md) and changes with it.
//
// It is a test fixture, not a GitHub replacement: it listens on 127.0.0.1
// only and keeps everything in memory.
package githubtest

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Token is the token the server accepts unless Server.Token is changed.
const Token = "githubtest-token"

// Server is the fake. Its exported fields may be changed between requests
// (they are read under the server's lock).
type Server struct {
	// URL is the server's base URL ("http://127.0.0.1:port"); the API is
	// at URL+"/api/v3/", uploads at URL+"/api/uploads/".
	URL string
	// Token is the accepted token (default [Token]); "Bearer T" and
	// "token T" are both accepted.
	Token string
	// Immutable makes published releases immutable, as GitHub's immutable
	// releases setting does: no uploads, no asset deletions.
	Immutable bool
	// OmitDigest leaves the "digest" field out of assets, as older
	// GitHub Enterprise servers do.
	OmitDigest bool
	// Fail, when set, is called for every API request before it is
	// handled; a status other than 0 answers the request with that status
	// (and Retry-After: retryAfter seconds when > 0) instead. Use it to
	// inject 5xx and 429 answers.
	Fail func(r *http.Request) (status int, retryAfter int)
	// FailDownload, when set, is called for every request to a web path
	// (the download URLs and pages) and to the asset host; a status other
	// than 0 answers it with that status instead.
	FailDownload func(r *http.Request) int
	// CutDownload, when set, is called for every request to the asset
	// host with the size of the asset asked for; 0 < n < size makes it
	// promise the whole asset, send its first n bytes and drop the
	// connection, as a broken link does (a client then resumes with a
	// Range request).
	CutDownload func(r *http.Request, size int) (n int)
	// AssetURL is the asset host's base URL ("http://127.0.0.1:port"),
	// where every download redirect points.
	AssetURL string

	srv    *httptest.Server
	assets *httptest.Server

	mu        sync.Mutex
	nextID    int64
	repos     map[string]*repo
	limit     int
	remaining int
	reset     time.Time
	window    time.Duration
	secondary int
	retryAft  int
	requests  []string
	assetReqs []AssetRequest
	blobs     map[string]*asset // download token -> asset
}

// AssetRequest is one request the asset host received.
type AssetRequest struct {
	// Method and Path are the request's.
	Method, Path string
	// Authorization is the request's Authorization header: it must
	// always be empty (a token never follows a redirect to another host).
	Authorization string
	// Range is the request's Range header.
	Range string
}

type repo struct {
	releases []*release // creation order
	private  bool
	files    map[string]*file // the default branch's files (contents API)
	commits  int
}

// file is a repository file as the contents API serves it.
type file struct {
	data []byte
	sha  string // the git blob SHA-1 of data
}

type release struct {
	ID              int64
	Tag             string
	Target          string
	Name            string
	Body            string
	Draft           bool
	Prerelease      bool
	CreatedAt       time.Time
	PublishedAt     time.Time
	untagged        string
	assets          []*asset
	owner, repoName string
}

type asset struct {
	ID          int64
	Name        string
	Label       string
	ContentType string
	State       string
	Data        []byte
	CreatedAt   time.Time
	rel         *release
	blob        string
}

// NewServer starts a server on 127.0.0.1 and stops it when the test ends.
func NewServer(tb testing.TB) *Server {
	tb.Helper()
	s, err := Start()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Start starts a server on 127.0.0.1 outside a test (for examples and
// demos); the caller stops it with Close.
func Start() (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{Token: Token, repos: map[string]*repo{}, limit: 5000, remaining: 5000,
		window: time.Hour, blobs: map[string]*asset{}, nextID: 1000}
	s.reset = time.Now().Add(s.window)
	al, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		l.Close()
		return nil, err
	}
	// The URLs are set before the servers start: the handlers read them,
	// and a request arriving over the network carries no happens-before
	// edge from this goroutine.
	s.URL, s.AssetURL = "http://"+l.Addr().String(), "http://"+al.Addr().String()
	s.srv = &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(s.serve)}}
	s.srv.Start()
	s.assets = &httptest.Server{Listener: al, Config: &http.Server{Handler: http.HandlerFunc(s.serveAsset)}}
	s.assets.Start()
	return s, nil
}

// Close stops the server and its asset host (a server from NewServer
// also stops when the test ends).
func (s *Server) Close() {
	s.srv.Close()
	s.assets.Close()
}

// AssetRequests returns every request the asset host received so far.
func (s *Server) AssetRequests() []AssetRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.assetReqs)
}

// SetPrivate makes owner/repo private (or public again): its web paths
// answer 404, with or without a token, and only the API (with the token)
// reaches its releases. The repository is created if it does not exist.
func (s *Server) SetPrivate(owner, repoName string, private bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repo(owner, repoName).private = private
}

func (s *Server) repo(owner, repoName string) *repo {
	key := owner + "/" + repoName
	rp := s.repos[key]
	if rp == nil {
		rp = &repo{}
		s.repos[key] = rp
	}
	return rp
}

// serveAsset is the asset host: it serves a blob by its unguessable path
// to anyone, with Range support, and records the request.
func (s *Server) serveAsset(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.assetReqs = append(s.assetReqs, AssetRequest{Method: r.Method, Path: r.URL.Path,
		Authorization: r.Header.Get("Authorization"), Range: r.Header.Get("Range")})
	fail, cut := s.FailDownload, s.CutDownload
	s.mu.Unlock()
	if fail != nil {
		if status := fail(r); status != 0 {
			http.Error(w, http.StatusText(status), status)
			return
		}
	}
	tok, ok := strings.CutPrefix(r.URL.Path, "/_download/")
	if ok && cut != nil {
		s.mu.Lock()
		a := s.blobs[tok]
		s.mu.Unlock()
		if a != nil {
			if n := cut(r, len(a.Data)); n > 0 && n < len(a.Data) {
				w.Header().Set("Content-Length", strconv.Itoa(len(a.Data)))
				w.Header().Set("Accept-Ranges", "bytes")
				w.Header().Set("ETag", `"`+tok+`"`)
				w.WriteHeader(http.StatusOK)
				w.Write(a.Data[:n])
				w.(http.Flusher).Flush()
				if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
					conn.Close()
				}
				return
			}
		}
	}
	if !ok || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	s.serveBlob(w, r, tok)
}

// serveBlob writes the blob tok, answering Range and If-Range.
func (s *Server) serveBlob(w http.ResponseWriter, r *http.Request, tok string) {
	s.mu.Lock()
	a := s.blobs[tok]
	var data []byte
	var mod time.Time
	if a != nil {
		data, mod = a.Data, a.CreatedAt
	}
	s.mu.Unlock()
	if a == nil {
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("ETag", `"`+tok+`"`)
	http.ServeContent(w, r, "", mod, bytes.NewReader(data))
}

// SetRateLimit sets the primary rate limit: limit requests per window,
// with remaining left in the current window, which resets after reset.
func (s *Server) SetRateLimit(limit, remaining int, reset time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit, s.remaining, s.window = limit, remaining, reset
	s.reset = time.Now().Add(reset)
}

// SecondaryLimit makes the next n API requests fail with a secondary rate
// limit 403 and "Retry-After: retryAfter" (seconds).
func (s *Server) SecondaryLimit(n, retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secondary, s.retryAft = n, retryAfter
}

// Requests returns "METHOD path" for every request served so far.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Release is a snapshot of a release, for test assertions.
type Release struct {
	// ID is the release's id (ignored by CreateRelease).
	ID int64
	// Tag, Name, Body, Draft and Prerelease are the release's fields.
	Tag        string
	Name       string
	Body       string
	Draft      bool
	Prerelease bool
	// Assets maps asset names to their content.
	Assets map[string][]byte
	// Order lists asset names in upload order.
	Order []string
	// States maps asset names to their state, for CreateRelease: default
	// "uploaded"; "open" is an asset whose upload never completed, which
	// GitHub lists and which blocks a new upload of the same name until
	// it is deleted.
	States map[string]string
}

// Releases returns snapshots of owner/repo's releases in creation order.
func (s *Server) Releases(owner, repoName string) []Release {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repos[owner+"/"+repoName]
	if rp == nil {
		return nil
	}
	var out []Release
	for _, r := range rp.releases {
		snap := Release{ID: r.ID, Tag: r.Tag, Name: r.Name, Body: r.Body, Draft: r.Draft, Prerelease: r.Prerelease,
			Assets: map[string][]byte{}, States: map[string]string{}}
		for _, a := range r.assets {
			snap.Assets[a.Name] = slices.Clone(a.Data)
			snap.States[a.Name] = a.State
			snap.Order = append(snap.Order, a.Name)
		}
		out = append(out, snap)
	}
	return out
}

// CreateRelease adds a release directly (no request), for test setup, and
// returns its ID. Assets are added in the order of names.
func (s *Server) CreateRelease(owner, repoName string, r Release) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	rel := s.newRelease(owner, repoName, r.Tag, "main", r.Name, r.Body, r.Draft, r.Prerelease)
	names := r.Order
	if names == nil {
		for n := range r.Assets {
			names = append(names, n)
		}
		slices.Sort(names)
	}
	for _, n := range names {
		a := s.newAsset(rel, n, "", "application/octet-stream", slices.Clone(r.Assets[n]))
		if st := r.States[n]; st != "" {
			a.State = st
		}
	}
	return rel.ID
}

func (s *Server) newRelease(owner, repoName, tag, target, name, body string, draft, pre bool) *release {
	rp := s.repo(owner, repoName)
	s.nextID++
	rel := &release{ID: s.nextID, Tag: tag, Target: target, Name: name, Body: body, Draft: draft, Prerelease: pre,
		CreatedAt: time.Now().UTC().Truncate(time.Second), owner: owner, repoName: repoName,
		untagged: fmt.Sprintf("untagged-%x", sha256.Sum256([]byte(fmt.Sprint(s.nextID))))[:29]}
	if !draft {
		rel.PublishedAt = rel.CreatedAt
	}
	rp.releases = append(rp.releases, rel)
	return rel
}

func (s *Server) newAsset(rel *release, name, label, ctype string, data []byte) *asset {
	s.nextID++
	a := &asset{ID: s.nextID, Name: name, Label: label, ContentType: ctype, Data: data, State: "uploaded",
		CreatedAt: time.Now().UTC().Truncate(time.Second), rel: rel}
	tok := sha256.Sum256([]byte(fmt.Sprintf("blob-%d-%d", a.ID, time.Now().UnixNano())))
	a.blob = hex.EncodeToString(tok[:16])
	s.blobs[a.blob] = a
	rel.assets = append(rel.assets, a)
	return a
}

// apiError writes GitHub's error body.
func apiError(w http.ResponseWriter, status int, msg string, errs ...map[string]string) {
	body := map[string]any{"message": msg, "documentation_url": "https://docs.github.com/rest/releases"}
	if len(errs) > 0 {
		body["errors"] = errs
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+r.URL.Path)
	fail := s.Fail
	s.mu.Unlock()

	// Pre-signed downloads need no token and are not rate limited. The
	// redirects point to the asset host; the same paths on this host
	// still answer, for clients that kept an old URL.
	if tok, ok := strings.CutPrefix(r.URL.Path, "/_download/"); ok && r.Method == http.MethodGet {
		s.serveBlob(w, r, tok)
		return
	}
	if !strings.HasPrefix(r.URL.Path, "/api/") {
		s.serveWeb(w, r)
		return
	}

	if fail != nil {
		if status, ra := fail(r); status != 0 {
			if r.Body != nil {
				io.Copy(io.Discard, r.Body)
			}
			if ra > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(ra))
			}
			apiError(w, status, http.StatusText(status))
			return
		}
	}

	var api string
	upload := false
	if p, ok := strings.CutPrefix(r.URL.Path, "/api/v3/"); ok {
		api = p
	} else if p, ok := strings.CutPrefix(r.URL.Path, "/api/uploads/"); ok {
		api, upload = p, true
	}

	auth := r.Header.Get("Authorization")
	s.mu.Lock()
	token := s.Token
	s.mu.Unlock()
	if auth != "Bearer "+token && auth != "token "+token {
		apiError(w, http.StatusUnauthorized, "Bad credentials")
		return
	}

	if !s.rateLimit(w) {
		return
	}

	parts := strings.Split(strings.Trim(api, "/"), "/")
	// repos/{owner}/{repo}: the repository, for the token's owner.
	if len(parts) == 3 && parts[0] == "repos" && r.Method == http.MethodGet && !upload {
		s.mu.Lock()
		rp := s.repos[parts[1]+"/"+parts[2]]
		var private bool
		if rp != nil {
			private = rp.private
		}
		s.mu.Unlock()
		if rp == nil {
			apiError(w, http.StatusNotFound, "Not Found")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"name": parts[2], "full_name": parts[1] + "/" + parts[2],
			"owner": map[string]any{"login": parts[1]}, "private": private,
			"html_url": s.URL + "/" + parts[1] + "/" + parts[2]})
		return
	}
	// repos/{owner}/{repo}/contents/{path}
	if len(parts) >= 5 && parts[0] == "repos" && parts[3] == "contents" && !upload {
		s.contents(w, r, parts[1], parts[2], strings.Join(parts[4:], "/"))
		return
	}
	// repos/{owner}/{repo}/releases...
	if len(parts) < 4 || parts[0] != "repos" || parts[3] != "releases" {
		apiError(w, http.StatusNotFound, "Not Found")
		return
	}
	owner, repoName, rest := parts[1], parts[2], parts[4:]

	s.mu.Lock()
	defer s.mu.Unlock()
	if upload {
		if len(rest) == 2 && rest[1] == "assets" && r.Method == http.MethodPost {
			s.upload(w, r, owner, repoName, rest[0])
			return
		}
		apiError(w, http.StatusNotFound, "Not Found")
		return
	}
	switch {
	case len(rest) == 0 && r.Method == http.MethodGet:
		s.listReleases(w, r, owner, repoName)
	case len(rest) == 0 && r.Method == http.MethodPost:
		s.createRelease(w, r, owner, repoName)
	case len(rest) == 2 && rest[0] == "tags" && r.Method == http.MethodGet:
		rel := s.findByTag(owner, repoName, rest[1])
		if rel == nil {
			apiError(w, http.StatusNotFound, "Not Found")
			return
		}
		writeJSON(w, http.StatusOK, s.releaseJSON(rel))
	case len(rest) == 2 && rest[0] == "assets":
		s.assetByID(w, r, owner, repoName, rest[1])
	case len(rest) == 1:
		rel := s.releaseByID(owner, repoName, rest[0])
		if rel == nil {
			apiError(w, http.StatusNotFound, "Not Found")
			return
		}
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, http.StatusOK, s.releaseJSON(rel))
		case http.MethodPatch:
			s.editRelease(w, r, rel)
		default:
			apiError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		}
	case len(rest) == 2 && rest[1] == "assets" && r.Method == http.MethodGet:
		rel := s.releaseByID(owner, repoName, rest[0])
		if rel == nil {
			apiError(w, http.StatusNotFound, "Not Found")
			return
		}
		items := make([]any, len(rel.assets))
		for i, a := range rel.assets {
			items[i] = s.assetJSON(a)
		}
		s.paginate(w, r, items)
	default:
		apiError(w, http.StatusNotFound, "Not Found")
	}
}

// rateLimit applies the primary and secondary limits and sets the headers;
// it reports whether the request may proceed.
func (s *Server) rateLimit(w http.ResponseWriter) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if !now.Before(s.reset) {
		s.remaining = s.limit
		s.reset = now.Add(s.window)
	}
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(s.limit))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(s.reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
	if s.secondary > 0 {
		s.secondary--
		h.Set("X-RateLimit-Remaining", strconv.Itoa(s.remaining))
		h.Set("X-RateLimit-Used", strconv.Itoa(s.limit-s.remaining))
		h.Set("Retry-After", strconv.Itoa(s.retryAft))
		h.Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		json.NewEncoder(w).Encode(map[string]string{
			"message":           "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
			"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
		})
		return false
	}
	if s.remaining <= 0 {
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Used", strconv.Itoa(s.limit))
		h.Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		json.NewEncoder(w).Encode(map[string]string{
			"message":           "API rate limit exceeded for user.",
			"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit",
		})
		return false
	}
	s.remaining--
	h.Set("X-RateLimit-Remaining", strconv.Itoa(s.remaining))
	h.Set("X-RateLimit-Used", strconv.Itoa(s.limit-s.remaining))
	return true
}

// paginate writes one page of items with a Link header.
func (s *Server) paginate(w http.ResponseWriter, r *http.Request, items []any) {
	perPage, page := 30, 1
	if v, err := strconv.Atoi(r.URL.Query().Get("per_page")); err == nil && v > 0 {
		perPage = min(v, 100)
	}
	if v, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && v > 0 {
		page = v
	}
	last := max(1, (len(items)+perPage-1)/perPage)
	link := func(p int, rel string) string {
		u := *r.URL
		u.Scheme, u.Host = "http", r.Host
		q := u.Query()
		q.Set("per_page", strconv.Itoa(perPage))
		q.Set("page", strconv.Itoa(p))
		u.RawQuery = q.Encode()
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(page-1, "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	start := min((page-1)*perPage, len(items))
	end := min(start+perPage, len(items))
	writeJSON(w, http.StatusOK, items[start:end])
}

func (s *Server) listReleases(w http.ResponseWriter, r *http.Request, owner, repoName string) {
	rp := s.repos[owner+"/"+repoName]
	var items []any
	if rp != nil {
		for i := len(rp.releases) - 1; i >= 0; i-- { // newest first
			items = append(items, s.releaseJSON(rp.releases[i]))
		}
	}
	if items == nil {
		items = []any{}
	}
	s.paginate(w, r, items)
}

// serveWeb answers the web paths: the public download URLs (a 302 to
// the asset host), and the repository and release pages.
func (s *Server) serveWeb(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	fail := s.FailDownload
	s.mu.Unlock()
	if fail != nil {
		if status := fail(r); status != 0 {
			http.Error(w, http.StatusText(status), status)
			return
		}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(parts) < 2 {
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	rp := s.repos[parts[0]+"/"+parts[1]]
	if rp == nil || rp.private {
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	var rel *release
	var name string
	switch {
	case len(parts) == 2:
		w.WriteHeader(http.StatusOK) // the repository page
		return
	case len(parts) == 5 && parts[2] == "releases" && parts[3] == "tag":
		if s.findByTag(parts[0], parts[1], parts[4]) == nil {
			http.Error(w, "Not Found", http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusOK)
		return
	case len(parts) == 6 && parts[2] == "releases" && parts[3] == "download":
		rel, name = s.findByTag(parts[0], parts[1], parts[4]), parts[5]
	case len(parts) == 6 && parts[2] == "releases" && parts[3] == "latest" && parts[4] == "download":
		rel, name = s.latest(rp), parts[5]
	}
	var blob string
	if rel != nil {
		for _, a := range rel.assets {
			if a.Name == name && a.State == "uploaded" {
				blob = a.blob
			}
		}
	}
	if blob == "" {
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	http.Redirect(w, r, s.AssetURL+"/_download/"+blob, http.StatusFound)
}

// latest is the release github.com calls latest: the most recently
// published release that is neither a draft nor a pre-release.
func (s *Server) latest(rp *repo) *release {
	var best *release
	for _, rel := range rp.releases {
		if rel.Draft || rel.Prerelease {
			continue
		}
		if best == nil || !rel.PublishedAt.Before(best.PublishedAt) {
			best = rel
		}
	}
	return best
}

func (s *Server) findByTag(owner, repoName, tag string) *release {
	rp := s.repos[owner+"/"+repoName]
	if rp == nil {
		return nil
	}
	for _, rel := range rp.releases {
		if rel.Tag == tag && !rel.Draft {
			return rel
		}
	}
	return nil
}

func (s *Server) releaseByID(owner, repoName, id string) *release {
	rp := s.repos[owner+"/"+repoName]
	if rp == nil {
		return nil
	}
	for _, rel := range rp.releases {
		if strconv.FormatInt(rel.ID, 10) == id {
			return rel
		}
	}
	return nil
}

type releaseReq struct {
	TagName         *string `json:"tag_name"`
	TargetCommitish *string `json:"target_commitish"`
	Name            *string `json:"name"`
	Body            *string `json:"body"`
	Draft           *bool   `json:"draft"`
	Prerelease      *bool   `json:"prerelease"`
	MakeLatest      *string `json:"make_latest"`
}

func (s *Server) createRelease(w http.ResponseWriter, r *http.Request, owner, repoName string) {
	var req releaseReq
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	if req.TagName == nil || *req.TagName == "" {
		apiError(w, http.StatusUnprocessableEntity, "Validation Failed",
			map[string]string{"resource": "Release", "code": "missing_field", "field": "tag_name"})
		return
	}
	draft := req.Draft != nil && *req.Draft
	if !draft && s.findByTag(owner, repoName, *req.TagName) != nil {
		apiError(w, http.StatusUnprocessableEntity, "Validation Failed",
			map[string]string{"resource": "Release", "code": "already_exists", "field": "tag_name"})
		return
	}
	str := func(p *string, def string) string {
		if p == nil {
			return def
		}
		return *p
	}
	rel := s.newRelease(owner, repoName, *req.TagName, str(req.TargetCommitish, "main"), str(req.Name, ""), str(req.Body, ""),
		draft, req.Prerelease != nil && *req.Prerelease)
	writeJSON(w, http.StatusCreated, s.releaseJSON(rel))
}

func (s *Server) editRelease(w http.ResponseWriter, r *http.Request, rel *release) {
	var req releaseReq
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	if req.TagName != nil && *req.TagName != rel.Tag {
		if !rel.Draft && s.Immutable {
			apiError(w, http.StatusUnprocessableEntity, "Cannot change the tag of an immutable release")
			return
		}
		rel.Tag = *req.TagName
	}
	if req.Draft != nil && *req.Draft != rel.Draft {
		if !*req.Draft {
			if other := s.findByTag(rel.owner, rel.repoName, rel.Tag); other != nil {
				apiError(w, http.StatusUnprocessableEntity, "Validation Failed",
					map[string]string{"resource": "Release", "code": "already_exists", "field": "tag_name"})
				return
			}
			rel.Draft = false
			rel.PublishedAt = time.Now().UTC().Truncate(time.Second)
		} else {
			if s.Immutable {
				apiError(w, http.StatusUnprocessableEntity, "Cannot unpublish an immutable release")
				return
			}
			rel.Draft = true
			rel.PublishedAt = time.Time{}
		}
	}
	if req.Name != nil {
		rel.Name = *req.Name
	}
	if req.Body != nil {
		rel.Body = *req.Body
	}
	if req.Prerelease != nil {
		rel.Prerelease = *req.Prerelease
	}
	writeJSON(w, http.StatusOK, s.releaseJSON(rel))
}

// MaxAssetSize is the largest upload the fake accepts (GitHub's limit is
// 2 GiB per asset).
const MaxAssetSize = 2 << 30

func (s *Server) upload(w http.ResponseWriter, r *http.Request, owner, repoName, id string) {
	rel := s.releaseByID(owner, repoName, id)
	if rel == nil {
		io.Copy(io.Discard, r.Body)
		apiError(w, http.StatusNotFound, "Not Found")
		return
	}
	name := r.URL.Query().Get("name")
	if name == "" {
		io.Copy(io.Discard, r.Body)
		apiError(w, http.StatusUnprocessableEntity, "Validation Failed",
			map[string]string{"resource": "ReleaseAsset", "code": "missing_field", "field": "name"})
		return
	}
	if r.ContentLength < 0 {
		apiError(w, http.StatusLengthRequired, "Content-Length required")
		return
	}
	if r.ContentLength > MaxAssetSize {
		apiError(w, http.StatusUnprocessableEntity, "Asset too large")
		return
	}
	if !rel.Draft && s.Immutable {
		io.Copy(io.Discard, r.Body)
		apiError(w, http.StatusUnprocessableEntity, "Cannot upload assets to an immutable release.")
		return
	}
	for _, a := range rel.assets {
		if a.Name == name {
			io.Copy(io.Discard, r.Body)
			apiError(w, http.StatusUnprocessableEntity, "Validation Failed",
				map[string]string{"resource": "ReleaseAsset", "code": "already_exists", "field": "name"})
			return
		}
	}
	// Read the body without holding the lock.
	s.mu.Unlock()
	data, err := io.ReadAll(io.LimitReader(r.Body, r.ContentLength+1))
	s.mu.Lock()
	if err != nil || int64(len(data)) != r.ContentLength {
		apiError(w, http.StatusBadRequest, "Bad Request: body does not match Content-Length")
		return
	}
	for _, a := range rel.assets { // a concurrent upload may have won
		if a.Name == name {
			apiError(w, http.StatusUnprocessableEntity, "Validation Failed",
				map[string]string{"resource": "ReleaseAsset", "code": "already_exists", "field": "name"})
			return
		}
	}
	ctype := r.Header.Get("Content-Type")
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	a := s.newAsset(rel, name, r.URL.Query().Get("label"), ctype, data)
	writeJSON(w, http.StatusCreated, s.assetJSON(a))
}

func (s *Server) assetByID(w http.ResponseWriter, r *http.Request, owner, repoName, id string) {
	rp := s.repos[owner+"/"+repoName]
	var a *asset
	if rp != nil {
		for _, rel := range rp.releases {
			for _, x := range rel.assets {
				if strconv.FormatInt(x.ID, 10) == id {
					a = x
				}
			}
		}
	}
	if a == nil {
		apiError(w, http.StatusNotFound, "Not Found")
		return
	}
	switch r.Method {
	case http.MethodGet:
		if strings.Contains(r.Header.Get("Accept"), "application/octet-stream") {
			w.Header().Set("Location", s.AssetURL+"/_download/"+a.blob)
			w.WriteHeader(http.StatusFound)
			return
		}
		writeJSON(w, http.StatusOK, s.assetJSON(a))
	case http.MethodDelete:
		if !a.rel.Draft && s.Immutable {
			apiError(w, http.StatusUnprocessableEntity, "Cannot delete assets of an immutable release.")
			return
		}
		a.rel.assets = slices.DeleteFunc(a.rel.assets, func(x *asset) bool { return x == a })
		delete(s.blobs, a.blob)
		w.WriteHeader(http.StatusNoContent)
	case http.MethodPatch:
		var req struct {
			Name  *string `json:"name"`
			Label *string `json:"label"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
			apiError(w, http.StatusBadRequest, "Problems parsing JSON")
			return
		}
		if req.Name != nil {
			for _, x := range a.rel.assets {
				if x != a && x.Name == *req.Name {
					apiError(w, http.StatusUnprocessableEntity, "Validation Failed",
						map[string]string{"resource": "ReleaseAsset", "code": "already_exists", "field": "name"})
					return
				}
			}
			a.Name = *req.Name
		}
		if req.Label != nil {
			a.Label = *req.Label
		}
		writeJSON(w, http.StatusOK, s.assetJSON(a))
	default:
		apiError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
	}
}

func (s *Server) tagPath(rel *release) string {
	if rel.Draft {
		return rel.untagged
	}
	return url.PathEscape(rel.Tag)
}

func (s *Server) releaseJSON(rel *release) map[string]any {
	api := fmt.Sprintf("%s/api/v3/repos/%s/%s/releases/%d", s.URL, rel.owner, rel.repoName, rel.ID)
	assets := make([]any, len(rel.assets))
	for i, a := range rel.assets {
		assets[i] = s.assetJSON(a)
	}
	m := map[string]any{
		"id":               rel.ID,
		"node_id":          fmt.Sprintf("RE_%d", rel.ID),
		"url":              api,
		"assets_url":       api + "/assets",
		"upload_url":       fmt.Sprintf("%s/api/uploads/repos/%s/%s/releases/%d/assets{?name,label}", s.URL, rel.owner, rel.repoName, rel.ID),
		"html_url":         fmt.Sprintf("%s/%s/%s/releases/tag/%s", s.URL, rel.owner, rel.repoName, s.tagPath(rel)),
		"tag_name":         rel.Tag,
		"target_commitish": rel.Target,
		"name":             rel.Name,
		"body":             rel.Body,
		"draft":            rel.Draft,
		"prerelease":       rel.Prerelease,
		"created_at":       rel.CreatedAt.Format(time.RFC3339),
		"published_at":     nil,
		"assets":           assets,
		"tarball_url":      fmt.Sprintf("%s/api/v3/repos/%s/%s/tarball/%s", s.URL, rel.owner, rel.repoName, rel.Tag),
		"zipball_url":      fmt.Sprintf("%s/api/v3/repos/%s/%s/zipball/%s", s.URL, rel.owner, rel.repoName, rel.Tag),
	}
	if !rel.PublishedAt.IsZero() {
		m["published_at"] = rel.PublishedAt.Format(time.RFC3339)
	}
	return m
}

func (s *Server) assetJSON(a *asset) map[string]any {
	m := map[string]any{
		"id":                   a.ID,
		"node_id":              fmt.Sprintf("RA_%d", a.ID),
		"url":                  fmt.Sprintf("%s/api/v3/repos/%s/%s/releases/assets/%d", s.URL, a.rel.owner, a.rel.repoName, a.ID),
		"name":                 a.Name,
		"label":                a.Label,
		"state":                a.State,
		"content_type":         a.ContentType,
		"size":                 len(a.Data),
		"download_count":       0,
		"created_at":           a.CreatedAt.Format(time.RFC3339),
		"updated_at":           a.CreatedAt.Format(time.RFC3339),
		"browser_download_url": fmt.Sprintf("%s/%s/%s/releases/download/%s/%s", s.URL, a.rel.owner, a.rel.repoName, s.tagPath(a.rel), url.PathEscape(a.Name)),
	}
	if !s.OmitDigest {
		sum := sha256.Sum256(a.Data)
		m["digest"] = "sha256:" + hex.EncodeToString(sum[:])
	}
	return m
}

// contents serves GET and PUT /repos/{owner}/{repo}/contents/{path} on the
// default branch, as GitHub documents them: GET answers a file's base64
// content and blob sha (404 when there is none); PUT creates a file
// (201), or updates it when the request carries the file's current sha
// (200); an update without the sha is 422, and a stale sha 409.
func (s *Server) contents(w http.ResponseWriter, r *http.Request, owner, repoName, path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repo(owner, repoName)
	f := rp.files[path]
	switch r.Method {
	case http.MethodGet:
		if f == nil {
			apiError(w, http.StatusNotFound, "Not Found")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"type": "file", "path": path, "sha": f.sha, "size": len(f.data),
			"encoding": "base64", "content": base64.StdEncoding.EncodeToString(f.data)})
	case http.MethodPut:
		var req struct {
			Message string `json:"message"`
			Content string `json:"content"`
			SHA     string `json:"sha"`
			Branch  string `json:"branch"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<20)).Decode(&req); err != nil || req.Message == "" {
			apiError(w, http.StatusUnprocessableEntity, "Invalid request: message and content are required")
			return
		}
		data, err := base64.StdEncoding.DecodeString(req.Content)
		if err != nil {
			apiError(w, http.StatusUnprocessableEntity, "content is not valid Base64")
			return
		}
		switch {
		case f != nil && req.SHA == "":
			apiError(w, http.StatusUnprocessableEntity, `Invalid request. "sha" wasn't supplied.`)
			return
		case f != nil && req.SHA != f.sha:
			apiError(w, http.StatusConflict, path+" does not match "+req.SHA)
			return
		}
		status := http.StatusCreated
		if f != nil {
			status = http.StatusOK
		}
		if rp.files == nil {
			rp.files = map[string]*file{}
		}
		nf := &file{data: data, sha: blobSHA(data)}
		rp.files[path] = nf
		rp.commits++
		writeJSON(w, status, map[string]any{
			"content": map[string]any{"type": "file", "path": path, "sha": nf.sha, "size": len(data)},
			"commit":  map[string]any{"sha": fmt.Sprintf("%040x", rp.commits), "message": req.Message},
		})
	default:
		apiError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
	}
}

// blobSHA is git's blob id of data: SHA-1 of "blob <len>\x00" + data.
func blobSHA(data []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(data))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

// File returns the content of a file of the repository's default branch
// (written through the contents API), and whether it exists.
func (s *Server) File(owner, repo, path string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repos[owner+"/"+repo]
	if rp == nil || rp.files[path] == nil {
		return nil, false
	}
	return append([]byte(nil), rp.files[path].data...), true
}

// Commits returns how many commits the contents API made in the
// repository.
func (s *Server) Commits(owner, repo string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rp := s.repos[owner+"/"+repo]; rp != nil {
		return rp.commits
	}
	return 0
}
