// Package giteatest is an in-memory Gitea (and Forgejo) server for tests:
// an httptest server on 127.0.0.1 that implements the release endpoints of
// Gitea's REST API (/api/v1) and the web download paths, so that code
// using code.gitea.io/sdk/gitea (or plain HTTP) is tested against the
// protocol rather than against a mock of its own interfaces.
//
// It follows Gitea's API documentation as of Gitea 1.25 (the swagger
// definitions in routers/api/v1/repo/release.go, release_tags.go and
// release_attachment.go, with the draft-access checks of Gitea's fix for
// CVE-2026-27660, and the web routes
// /{owner}/{repo}/releases/download/{tag}/{name} and /attachments/{uuid}),
// read through code.gitea.io/sdk/gitea v0.25.1, whose calls it answers.
// Forgejo serves the same API for these routes.
//
// # What it implements
//
//   - GET /api/v1/version: {"version": [Server.Version]}.
//   - GET /api/v1/repos/{owner}/{repo}: the repository (404 when it does
//     not exist, or is private and the request anonymous).
//   - GET /api/v1/repos/{owner}/{repo}/releases: newest first, paginated
//     with page (1-based) and limit (default 30, at most 50, Gitea's
//     DEFAULT_PAGING_NUM and MAX_RESPONSE_ITEMS; the deprecated per_page
//     is accepted), filtered by draft=true|false and pre-release=true|false,
//     with X-Total-Count and a Link header (rel="next", "last", "first",
//     "prev"). Drafts are listed only to a token with write access.
//   - POST /api/v1/repos/{owner}/{repo}/releases: create (201); 422 when
//     tag_name is missing or a name git refuses for a tag; 409 when a
//     release with the tag exists.
//   - GET, PATCH, DELETE /api/v1/repos/{owner}/{repo}/releases/{id} and
//     GET, DELETE .../releases/tags/{tag}: 404 for a draft unless the token
//     has write access. PATCH {"draft": false} publishes a draft
//     (published_at set); empty fields are left unchanged, as in Gitea.
//   - GET /api/v1/repos/{owner}/{repo}/releases/latest: the newest
//     release that is neither a draft nor a pre-release.
//   - GET, POST .../releases/{id}/assets and GET, PATCH, DELETE
//     .../releases/{id}/assets/{attachment_id}: the list is not paginated
//     (Gitea ignores page and limit there); an upload is multipart/form-data
//     with the file in the "attachment" field (or an application/octet-stream
//     body), its name from the ?name= query or the part's file name (400
//     when neither gives one), 413 above [Server.MaxFileSize]. Gitea does
//     not refuse a duplicate name: the upload creates a second attachment
//     with the same name, listed beside the first, and the download path
//     serves the one with the lowest ID; so does this server.
//   - GET /{owner}/{repo}/releases/download/{tag}/{name}: the public
//     download path (200 with the bytes, as Gitea's ServeAttachment does
//     with local storage); a draft's attachments are 404 unless the token
//     has write access; "latest" as the tag means the latest release.
//   - GET /attachments/{uuid}: an attachment's browser_download_url, with
//     the same draft rule (stricter than Gitea releases that served a
//     draft's attachment to any reader who knew its UUID, a reported
//     advisory: a test must never depend on that leak).
//   - With [Server.ServeDirect], both download paths answer 302 to a
//     one-time URL on a second loopback server (object storage) instead.
//
// Authentication is "Authorization: token T" (also "Bearer T", and the
// deprecated ?token= and ?access_token= queries). [Server.Token] has write
// access, [Server.ReadToken] read access only; an unknown token is 401 on
// every route; a request without a token may read a public repository
// and is 401 for writes; a read token writing is 403. A private repository
// ([Server.CreateRepo]) is 404 to anonymous readers. Errors carry Gitea's
// body, {"message": ..., "url": ...}. [Server.Fail] injects other answers
// (5xx, 429 with Retry-After) for chosen requests.
//
// # Compatibility
//
// giteatest is a public test server, for relkit's tests and for anyone
// testing code against Gitea's or Forgejo's release API, as
// go-containerregistry's pkg/registry is for registries: relkit commits
// to it as to any of its packages. What it emulates is what the section
// above lists: Gitea's release API and download routes as of the version
// named above, as code.gitea.io/sdk/gitea calls them.
//
// Stable within a major version of relkit (from v1.0.0; before it, as
// for every relkit package, a change is recorded in CHANGELOG.md with how
// to move over):
//
//   - the exported API (NewServer, Start, the Server fields and methods,
//     Release, Asset, StorageRequest) only grows: nothing is removed or
//     changes meaning;
//   - the routes listed above keep their statuses, the documented JSON
//     fields and headers, pagination and the token rules. They change
//     only to follow Gitea more faithfully (a newer Gitea, a fixed
//     advisory), and each such change is recorded in relkit's
//     CHANGELOG.md.
//
// Not stable, so a test must not depend on it:
//
//   - anything the section above does not list: other routes (404 today)
//     may be added, and answers may gain JSON fields and headers;
//   - the text of error messages (only the status and the body's shape),
//     IDs, UUIDs, timestamps, the order of JSON fields, and the paths of
//     the storage server behind [Server.ServeDirect].
//
// It is a test fixture, not a Gitea replacement: it listens on 127.0.0.1
// only and keeps everything in memory.
package giteatest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
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

// Token is the write token the server accepts unless Server.Token is
// changed; ReadToken the read-only one.
const (
	Token     = "giteatest-write-token"
	ReadToken = "giteatest-read-token"
)

// Server is the fake. Its exported fields may be changed between requests
// (they are read under the server's lock).
type Server struct {
	// URL is the server's base URL ("http://127.0.0.1:port"), Gitea's
	// ROOT_URL; the API is at URL+"/api/v1".
	URL string
	// Token has write access to every repository (default [Token]);
	// ReadToken read access only (default [ReadToken]).
	Token, ReadToken string
	// Version is what /api/v1/version reports (default "1.25.0").
	Version string
	// MaxFileSize bounds an upload in bytes (Gitea's
	// [repository.release] FILE_MAX_SIZE); 0 means no bound.
	MaxFileSize int64
	// ServeDirect makes the download paths answer with a 302 redirect to
	// a second loopback server (the object storage) instead of the bytes,
	// as Gitea does with [storage] SERVE_DIRECT = true on MinIO or S3: a
	// pre-signed URL that needs no token. [Server.StorageURL] is that
	// server; [Server.StorageRequests] what it was sent.
	ServeDirect bool
	// Fail, when set, is called for every request before it is handled;
	// a status other than 0 answers the request with that status (and
	// Retry-After: retryAfter seconds when > 0) instead.
	Fail func(r *http.Request) (status int, retryAfter int)

	srv     *httptest.Server
	storage *httptest.Server

	mu       sync.Mutex
	nextID   int64
	repos    map[string]*repo
	requests []string
	blobs    map[string][]byte // storage token -> bytes
	storReqs []StorageRequest
}

// StorageRequest is a request the object storage (see ServeDirect) got.
type StorageRequest struct {
	// Path is the request path; Authorization its Authorization header
	// ("" when none: a client must never send its Gitea token there).
	Path, Authorization string
}

type repo struct {
	owner, name string
	private     bool
	releases    []*release // creation order
}

type release struct {
	ID          int64
	Tag         string
	Target      string
	Title       string
	Note        string
	Draft       bool
	Prerelease  bool
	CreatedAt   time.Time
	PublishedAt time.Time
	assets      []*asset // ID order
	repo        *repo
}

type asset struct {
	ID        int64
	UUID      string
	Name      string
	Data      []byte
	CreatedAt time.Time
	Downloads int64
	rel       *release
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
	s := &Server{Token: Token, ReadToken: ReadToken, Version: "1.25.0", repos: map[string]*repo{}, blobs: map[string][]byte{}}
	// The URL is set before the server starts: its handlers read it, and a
	// request arriving over the network carries no happens-before edge
	// from this goroutine.
	s.URL = "http://" + l.Addr().String()
	sl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		l.Close()
		return nil, err
	}
	s.storage = &httptest.Server{Listener: sl, Config: &http.Server{Handler: http.HandlerFunc(s.serveStorage), ReadHeaderTimeout: 10 * time.Second}}
	s.storage.Start()
	s.srv = &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}}
	s.srv.Start()
	return s, nil
}

// StorageURL is the base URL of the object storage that ServeDirect
// redirects to.
func (s *Server) StorageURL() string { return s.storage.URL }

// StorageRequests returns the requests the object storage got.
func (s *Server) StorageRequests() []StorageRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.storReqs)
}

func (s *Server) serveStorage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.storReqs = append(s.storReqs, StorageRequest{Path: r.URL.Path, Authorization: r.Header.Get("Authorization")})
	data, ok := s.blobs[strings.TrimPrefix(r.URL.Path, "/blob/")]
	s.mu.Unlock()
	if !ok || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	serveBytes(w, "blob", data)
}

// serveFile answers a download: the bytes, or with ServeDirect a redirect
// to a one-time storage URL. Called with s.mu held.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, name string, data []byte) {
	if s.ServeDirect {
		var tok [16]byte
		rand.Read(tok[:])
		key := hex.EncodeToString(tok[:])
		s.blobs[key] = data
		s.mu.Unlock()
		http.Redirect(w, r, s.storage.URL+"/blob/"+key, http.StatusFound)
		return
	}
	s.mu.Unlock()
	serveBytes(w, name, data)
}

// Close stops the server (a server from NewServer also stops when the
// test ends).
func (s *Server) Close() {
	s.srv.Close()
	s.storage.Close()
}

// CreateRepo creates the repository owner/name (a no-op when it exists).
// Requests for a repository that was never created are 404, as on Gitea.
func (s *Server) CreateRepo(owner, name string, private bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := owner + "/" + name
	if rp := s.repos[key]; rp != nil {
		rp.private = private
		return
	}
	s.repos[key] = &repo{owner: owner, name: name, private: private}
}

// Requests returns "METHOD path" for every request served so far.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Release is a snapshot of a release, for test assertions and setup.
type Release struct {
	// ID is the release's id (ignored by AddRelease).
	ID int64
	// Tag, Title, Note, Draft and Prerelease are the release's fields.
	Tag        string
	Title      string
	Note       string
	Draft      bool
	Prerelease bool
	// Assets lists the attachments in ID (upload) order; duplicates of
	// a name appear as Gitea keeps them.
	Assets []Asset
}

// Asset is a snapshot of a release attachment.
type Asset struct {
	// ID and UUID identify the attachment.
	ID   int64
	UUID string
	// Name is its file name; Data its content.
	Name string
	Data []byte
}

// Asset returns the content of the first (lowest ID) attachment named
// name, the one Gitea's download path serves, and whether there is one.
func (r Release) Asset(name string) ([]byte, bool) {
	for _, a := range r.Assets {
		if a.Name == name {
			return a.Data, true
		}
	}
	return nil, false
}

// Names returns the attachment names in upload order.
func (r Release) Names() []string {
	var out []string
	for _, a := range r.Assets {
		out = append(out, a.Name)
	}
	return out
}

// Releases returns snapshots of owner/name's releases in creation order.
func (s *Server) Releases(owner, name string) []Release {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repos[owner+"/"+name]
	if rp == nil {
		return nil
	}
	var out []Release
	for _, r := range rp.releases {
		out = append(out, r.snapshot())
	}
	return out
}

// ReleaseByTag returns a snapshot of the release with the tag.
func (s *Server) ReleaseByTag(owner, name, tag string) (Release, bool) {
	for _, r := range s.Releases(owner, name) {
		if r.Tag == tag {
			return r, true
		}
	}
	return Release{}, false
}

func (r *release) snapshot() Release {
	snap := Release{ID: r.ID, Tag: r.Tag, Title: r.Title, Note: r.Note, Draft: r.Draft, Prerelease: r.Prerelease}
	for _, a := range r.assets {
		snap.Assets = append(snap.Assets, Asset{ID: a.ID, UUID: a.UUID, Name: a.Name, Data: slices.Clone(a.Data)})
	}
	return snap
}

// AddRelease adds a release directly (no request), for test setup, creating
// the repository if needed, and returns its ID.
func (s *Server) AddRelease(owner, name string, r Release) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := owner + "/" + name
	rp := s.repos[key]
	if rp == nil {
		rp = &repo{owner: owner, name: name}
		s.repos[key] = rp
	}
	rel := s.newRelease(rp, r.Tag, "main", r.Title, r.Note, r.Draft, r.Prerelease)
	for _, a := range r.Assets {
		s.newAsset(rel, a.Name, slices.Clone(a.Data))
	}
	return rel.ID
}

// AddAsset adds an attachment to the release with the ID directly (no
// request), as another publisher's upload would, and returns its ID (0
// when there is no such release).
func (s *Server) AddAsset(releaseID int64, name string, data []byte) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rp := range s.repos {
		for _, rel := range rp.releases {
			if rel.ID == releaseID {
				return s.newAsset(rel, name, slices.Clone(data)).ID
			}
		}
	}
	return 0
}

// DeleteAsset removes an attachment directly (no request), for tests that
// simulate another publisher or an operator.
func (s *Server) DeleteAsset(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rp := range s.repos {
		for _, rel := range rp.releases {
			for i, a := range rel.assets {
				if a.ID == id {
					rel.assets = slices.Delete(rel.assets, i, i+1)
					return true
				}
			}
		}
	}
	return false
}

func (s *Server) newRelease(rp *repo, tag, target, title, note string, draft, pre bool) *release {
	s.nextID++
	rel := &release{ID: s.nextID, Tag: tag, Target: target, Title: title, Note: note, Draft: draft, Prerelease: pre,
		CreatedAt: time.Now().UTC().Truncate(time.Second), repo: rp}
	if !draft {
		rel.PublishedAt = rel.CreatedAt
	}
	rp.releases = append(rp.releases, rel)
	return rel
}

func (s *Server) newAsset(rel *release, name string, data []byte) *asset {
	s.nextID++
	var u [16]byte
	rand.Read(u[:])
	h := hex.EncodeToString(u[:])
	a := &asset{ID: s.nextID, UUID: h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:],
		Name: name, Data: data, CreatedAt: time.Now().UTC().Truncate(time.Second), rel: rel}
	rel.assets = append(rel.assets, a)
	return a
}

// apiError writes Gitea's error body.
func (s *Server) apiError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"message": msg, "url": s.URL + "/api/swagger"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// access is what the request's credentials allow.
type access int

const (
	anonymous access = iota
	reader
	writer
	badToken
)

func (s *Server) access(r *http.Request) access {
	tok := ""
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, t, _ := strings.Cut(h, " ")
		switch strings.ToLower(scheme) {
		case "token", "bearer":
			tok = strings.TrimSpace(t)
		default:
			return badToken
		}
	} else if t := r.URL.Query().Get("token"); t != "" {
		tok = t
	} else if t := r.URL.Query().Get("access_token"); t != "" {
		tok = t
	}
	switch {
	case tok == "":
		return anonymous
	case tok == s.Token:
		return writer
	case tok == s.ReadToken:
		return reader
	}
	return badToken
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+r.URL.Path)
	fail := s.Fail
	s.mu.Unlock()
	if fail != nil {
		if status, ra := fail(r); status != 0 {
			if ra > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(ra))
			}
			s.apiError(w, status, http.StatusText(status))
			return
		}
	}
	s.mu.Lock()
	acc := s.access(r)
	s.mu.Unlock()
	if acc == badToken {
		s.apiError(w, http.StatusUnauthorized, "user does not exist [uid: 0, name: ]: invalid username, password or token")
		return
	}
	p := r.URL.Path
	switch {
	case p == "/api/v1/version" && r.Method == http.MethodGet:
		s.mu.Lock()
		v := s.Version
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]string{"version": v})
	case strings.HasPrefix(p, "/api/v1/repos/"):
		s.serveAPI(w, r, acc, strings.Split(strings.TrimPrefix(p, "/api/v1/repos/"), "/"))
	case strings.HasPrefix(p, "/api/"):
		s.apiError(w, http.StatusNotFound, "not found")
	case strings.HasPrefix(p, "/attachments/") && r.Method == http.MethodGet:
		s.serveAttachment(w, r, acc, strings.TrimPrefix(p, "/attachments/"))
	default:
		parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
		if len(parts) == 6 && parts[2] == "releases" && parts[3] == "download" && r.Method == http.MethodGet {
			tag, err1 := url.PathUnescape(parts[4])
			name, err2 := url.PathUnescape(parts[5])
			if err1 == nil && err2 == nil {
				s.serveDownload(w, r, acc, parts[0], parts[1], tag, name)
				return
			}
		}
		http.NotFound(w, r)
	}
}

// lookupRepo returns the repository if acc may read it; otherwise it
// answers 404 (Gitea does not reveal private repositories).
func (s *Server) lookupRepo(w http.ResponseWriter, acc access, owner, name string) *repo {
	rp := s.repos[owner+"/"+name]
	if rp == nil || (rp.private && acc == anonymous) {
		s.apiError(w, http.StatusNotFound, "The target couldn't be found.")
		return nil
	}
	return rp
}

// canWrite checks write access, answering 401 or 403 when missing.
func (s *Server) canWrite(w http.ResponseWriter, acc access) bool {
	switch acc {
	case writer:
		return true
	case anonymous:
		s.apiError(w, http.StatusUnauthorized, "token is required")
	default:
		s.apiError(w, http.StatusForbidden, "user should have a permission to write to the repo")
	}
	return false
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, acc access, parts []string) {
	if len(parts) < 2 || len(parts) > 2 && parts[2] != "releases" {
		s.apiError(w, http.StatusNotFound, "not found")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.lookupRepo(w, acc, parts[0], parts[1])
	if rp == nil {
		return
	}
	if len(parts) == 2 {
		if r.Method != http.MethodGet {
			s.apiError(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": 1, "name": rp.name, "full_name": rp.owner + "/" + rp.name,
			"owner": map[string]any{"login": rp.owner, "username": rp.owner}, "private": rp.private,
			"html_url": s.repoURL(rp), "default_branch": "main", "has_releases": true})
		return
	}
	rest := parts[3:]
	m := r.Method
	switch {
	case len(rest) == 0 && m == http.MethodGet:
		s.listReleases(w, r, acc, rp)
	case len(rest) == 0 && m == http.MethodPost:
		if s.canWrite(w, acc) {
			s.createRelease(w, r, rp)
		}
	case len(rest) == 1 && rest[0] == "latest" && m == http.MethodGet:
		for i := len(rp.releases) - 1; i >= 0; i-- {
			if rel := rp.releases[i]; !rel.Draft && !rel.Prerelease {
				writeJSON(w, http.StatusOK, s.releaseJSON(rel))
				return
			}
		}
		s.apiError(w, http.StatusNotFound, "The target couldn't be found.")
	case len(rest) == 2 && rest[0] == "tags":
		tag, _ := url.PathUnescape(rest[1])
		var rel *release
		for _, x := range rp.releases {
			if x.Tag == tag {
				rel = x
			}
		}
		s.release(w, r, acc, rel, false)
	case len(rest) >= 1:
		id, err := strconv.ParseInt(rest[0], 10, 64)
		if err != nil {
			s.apiError(w, http.StatusNotFound, "The target couldn't be found.")
			return
		}
		var rel *release
		for _, x := range rp.releases {
			if x.ID == id {
				rel = x
			}
		}
		if len(rest) == 1 {
			s.release(w, r, acc, rel, true)
			return
		}
		if rel == nil || (rel.Draft && acc != writer) {
			s.apiError(w, http.StatusNotFound, "The target couldn't be found.")
			return
		}
		if rest[1] != "assets" || len(rest) > 3 {
			s.apiError(w, http.StatusNotFound, "not found")
			return
		}
		if len(rest) == 2 {
			switch m {
			case http.MethodGet:
				out := []any{}
				for _, a := range rel.assets {
					out = append(out, s.assetJSON(a))
				}
				writeJSON(w, http.StatusOK, out)
			case http.MethodPost:
				if s.canWrite(w, acc) {
					s.upload(w, r, rel)
				}
			default:
				s.apiError(w, http.StatusMethodNotAllowed, "method not allowed")
			}
			return
		}
		aid, err := strconv.ParseInt(rest[2], 10, 64)
		var a *asset
		for _, x := range rel.assets {
			if err == nil && x.ID == aid {
				a = x
			}
		}
		if a == nil {
			s.apiError(w, http.StatusNotFound, "The target couldn't be found.")
			return
		}
		switch m {
		case http.MethodGet:
			writeJSON(w, http.StatusOK, s.assetJSON(a))
		case http.MethodPatch:
			if !s.canWrite(w, acc) {
				return
			}
			var form struct {
				Name string `json:"name"`
			}
			if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&form); err != nil {
				s.apiError(w, http.StatusUnprocessableEntity, "invalid JSON: "+err.Error())
				return
			}
			if form.Name != "" {
				a.Name = form.Name
			}
			writeJSON(w, http.StatusCreated, s.assetJSON(a))
		case http.MethodDelete:
			if !s.canWrite(w, acc) {
				return
			}
			i := slices.Index(rel.assets, a)
			rel.assets = slices.Delete(rel.assets, i, i+1)
			w.WriteHeader(http.StatusNoContent)
		default:
			s.apiError(w, http.StatusMethodNotAllowed, "method not allowed")
		}
	default:
		s.apiError(w, http.StatusNotFound, "not found")
	}
}

// release serves GET, PATCH (byID only) and DELETE of one release.
func (s *Server) release(w http.ResponseWriter, r *http.Request, acc access, rel *release, byID bool) {
	if rel == nil || (rel.Draft && acc != writer) {
		s.apiError(w, http.StatusNotFound, "The target couldn't be found.")
		return
	}
	switch {
	case r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.releaseJSON(rel))
	case r.Method == http.MethodPatch && byID:
		if !s.canWrite(w, acc) {
			return
		}
		var form struct {
			TagName    string `json:"tag_name"`
			Target     string `json:"target_commitish"`
			Title      string `json:"name"`
			Note       string `json:"body"`
			Draft      *bool  `json:"draft"`
			Prerelease *bool  `json:"prerelease"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&form); err != nil {
			s.apiError(w, http.StatusUnprocessableEntity, "invalid JSON: "+err.Error())
			return
		}
		if form.TagName != "" && form.TagName != rel.Tag {
			for _, x := range rel.repo.releases {
				if x.Tag == form.TagName {
					s.apiError(w, http.StatusConflict, "release tag already exists")
					return
				}
			}
			rel.Tag = form.TagName
		}
		if form.Target != "" {
			rel.Target = form.Target
		}
		if form.Title != "" {
			rel.Title = form.Title
		}
		if form.Note != "" {
			rel.Note = form.Note
		}
		if form.Draft != nil {
			if rel.Draft && !*form.Draft {
				rel.PublishedAt = time.Now().UTC().Truncate(time.Second)
			}
			rel.Draft = *form.Draft
		}
		if form.Prerelease != nil {
			rel.Prerelease = *form.Prerelease
		}
		writeJSON(w, http.StatusOK, s.releaseJSON(rel))
	case r.Method == http.MethodDelete:
		if !s.canWrite(w, acc) {
			return
		}
		rels := rel.repo.releases
		rel.repo.releases = slices.Delete(rels, slices.Index(rels, rel), slices.Index(rels, rel)+1)
		w.WriteHeader(http.StatusNoContent)
	default:
		s.apiError(w, http.StatusMethodNotAllowed, "method not allowed")
	}
}

func (s *Server) listReleases(w http.ResponseWriter, r *http.Request, acc access, rp *repo) {
	q := r.URL.Query()
	optBool := func(k string) *bool {
		v, err := strconv.ParseBool(q.Get(k))
		if err != nil {
			return nil
		}
		return &v
	}
	draft, pre := optBool("draft"), optBool("pre-release")
	var items []*release
	for i := len(rp.releases) - 1; i >= 0; i-- { // newest first
		rel := rp.releases[i]
		if rel.Draft && acc != writer {
			continue
		}
		if draft != nil && rel.Draft != *draft || pre != nil && rel.Prerelease != *pre {
			continue
		}
		items = append(items, rel)
	}
	limit, page := 30, 1
	if v, err := strconv.Atoi(q.Get("limit")); err == nil && v > 0 {
		limit = v
	} else if v, err := strconv.Atoi(q.Get("per_page")); err == nil && v > 0 {
		limit = v
	}
	limit = min(limit, 50)
	if v, err := strconv.Atoi(q.Get("page")); err == nil && v > 0 {
		page = v
	}
	total := len(items)
	last := max(1, (total+limit-1)/limit)
	link := func(p int, rel string) string {
		u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path}
		qq := url.Values{}
		for k, v := range q {
			qq[k] = v
		}
		qq.Set("page", strconv.Itoa(p))
		qq.Set("limit", strconv.Itoa(limit))
		u.RawQuery = qq.Encode()
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
		w.Header().Set("Link", strings.Join(links, ","))
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	start := min((page-1)*limit, total)
	end := min(start+limit, total)
	out := []any{}
	for _, rel := range items[start:end] {
		out = append(out, s.releaseJSON(rel))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) createRelease(w http.ResponseWriter, r *http.Request, rp *repo) {
	var form struct {
		TagName    string `json:"tag_name"`
		Target     string `json:"target_commitish"`
		Title      string `json:"name"`
		Note       string `json:"body"`
		Draft      bool   `json:"draft"`
		Prerelease bool   `json:"prerelease"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&form); err != nil {
		s.apiError(w, http.StatusUnprocessableEntity, "invalid JSON: "+err.Error())
		return
	}
	if strings.TrimSpace(form.TagName) == "" {
		s.apiError(w, http.StatusUnprocessableEntity, "[TagName]: Required")
		return
	}
	if !validTag(form.TagName) {
		s.apiError(w, http.StatusUnprocessableEntity, fmt.Sprintf("release tag name is not valid [tagName: %s]", form.TagName))
		return
	}
	for _, x := range rp.releases {
		if x.Tag == form.TagName {
			s.apiError(w, http.StatusConflict, fmt.Sprintf("release tag already exist [tagName: %s]", form.TagName))
			return
		}
	}
	if form.Target == "" {
		form.Target = "main"
	}
	rel := s.newRelease(rp, form.TagName, form.Target, form.Title, form.Note, form.Draft, form.Prerelease)
	writeJSON(w, http.StatusCreated, s.releaseJSON(rel))
}

// validTag applies git check-ref-format's rules for a tag name, as Gitea
// does before it creates a release.
func validTag(t string) bool {
	if t == "" || t == "@" || strings.HasPrefix(t, "-") || strings.HasPrefix(t, "/") || strings.HasSuffix(t, "/") ||
		strings.HasSuffix(t, ".") || strings.HasSuffix(t, ".lock") || strings.Contains(t, "..") || strings.Contains(t, "@{") ||
		strings.Contains(t, "//") || strings.Contains(t, "/.") || strings.HasPrefix(t, ".") {
		return false
	}
	for _, c := range t {
		if c < 0x20 || c == 0x7f || strings.ContainsRune(" ~^:?*[\\", c) {
			return false
		}
	}
	return true
}

// upload handles POST .../releases/{id}/assets. It reads the body with
// the server's lock released, so that slow uploads do not block others.
func (s *Server) upload(w http.ResponseWriter, r *http.Request, rel *release) {
	maxSize := s.MaxFileSize
	s.mu.Unlock()
	data, name, status, msg := readUpload(r, maxSize)
	s.mu.Lock()
	if status != 0 {
		s.apiError(w, status, msg)
		return
	}
	if !slices.Contains(rel.repo.releases, rel) {
		s.apiError(w, http.StatusNotFound, "The target couldn't be found.")
		return
	}
	a := s.newAsset(rel, name, data)
	writeJSON(w, http.StatusCreated, s.assetJSON(a))
}

func readUpload(r *http.Request, maxSize int64) (data []byte, name string, status int, msg string) {
	limit := int64(1 << 40)
	if maxSize > 0 {
		limit = maxSize
	}
	name = r.URL.Query().Get("name")
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var src io.Reader = r.Body
	if ct == "multipart/form-data" {
		if params["boundary"] == "" {
			return nil, "", http.StatusInternalServerError, "no multipart boundary"
		}
		mr, err := r.MultipartReader()
		if err != nil {
			return nil, "", http.StatusInternalServerError, err.Error()
		}
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				return nil, "", http.StatusInternalServerError, "http: no such file"
			}
			if err != nil {
				return nil, "", http.StatusInternalServerError, err.Error()
			}
			if part.FormName() == "attachment" {
				if name == "" {
					name = part.FileName()
				}
				src = part
				break
			}
		}
	}
	if name == "" {
		return nil, "", http.StatusBadRequest, "Could not determine name of attachment."
	}
	data, err := io.ReadAll(io.LimitReader(src, limit+1))
	if err != nil {
		return nil, "", http.StatusInternalServerError, err.Error()
	}
	if int64(len(data)) > limit {
		return nil, "", http.StatusRequestEntityTooLarge, "file exceeds the maximum file size"
	}
	return data, name, 0, ""
}

// serveDownload serves /{owner}/{repo}/releases/download/{tag}/{name}.
func (s *Server) serveDownload(w http.ResponseWriter, r *http.Request, acc access, owner, name, tag, file string) {
	s.mu.Lock()
	rp := s.repos[owner+"/"+name]
	var rel *release
	if rp != nil && !(rp.private && acc == anonymous) {
		for _, x := range rp.releases {
			if x.Tag == tag && (!x.Draft || acc == writer) {
				rel = x
			}
		}
		if rel == nil && tag == "latest" {
			for i := len(rp.releases) - 1; i >= 0; i-- {
				if x := rp.releases[i]; !x.Draft && !x.Prerelease {
					rel = x
					break
				}
			}
		}
	}
	var a *asset
	if rel != nil {
		for _, x := range rel.assets { // the lowest ID of the name
			if x.Name == file {
				a = x
				break
			}
		}
	}
	if a == nil {
		s.mu.Unlock()
		http.NotFound(w, r)
		return
	}
	a.Downloads++
	s.serveFile(w, r, file, a.Data)
}

// serveAttachment serves /attachments/{uuid}.
func (s *Server) serveAttachment(w http.ResponseWriter, r *http.Request, acc access, uuid string) {
	s.mu.Lock()
	var a *asset
	for _, rp := range s.repos {
		for _, rel := range rp.releases {
			for _, x := range rel.assets {
				if x.UUID == uuid && !(rel.Draft && acc != writer) && !(rp.private && acc == anonymous) {
					a = x
				}
			}
		}
	}
	if a == nil {
		s.mu.Unlock()
		http.NotFound(w, r)
		return
	}
	a.Downloads++
	s.serveFile(w, r, a.Name, a.Data)
}

func serveBytes(w http.ResponseWriter, name string, data []byte) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Header().Set("Cache-Control", "private, max-age=300")
	w.Write(data)
}

func (s *Server) repoURL(rp *repo) string {
	return s.URL + "/" + url.PathEscape(rp.owner) + "/" + url.PathEscape(rp.name)
}

func (s *Server) releaseJSON(rel *release) map[string]any {
	api := s.URL + "/api/v1/repos/" + url.PathEscape(rel.repo.owner) + "/" + url.PathEscape(rel.repo.name)
	assets := []any{}
	for _, a := range rel.assets {
		assets = append(assets, s.assetJSON(a))
	}
	out := map[string]any{
		"id":               rel.ID,
		"tag_name":         rel.Tag,
		"target_commitish": rel.Target,
		"name":             rel.Title,
		"body":             rel.Note,
		"url":              fmt.Sprintf("%s/releases/%d", api, rel.ID),
		"html_url":         s.repoURL(rel.repo) + "/releases/tag/" + url.PathEscape(rel.Tag),
		"tarball_url":      s.repoURL(rel.repo) + "/archive/" + url.PathEscape(rel.Tag) + ".tar.gz",
		"zipball_url":      s.repoURL(rel.repo) + "/archive/" + url.PathEscape(rel.Tag) + ".zip",
		"upload_url":       fmt.Sprintf("%s/releases/%d/assets", api, rel.ID),
		"draft":            rel.Draft,
		"prerelease":       rel.Prerelease,
		"created_at":       rel.CreatedAt.Format(time.RFC3339),
		"published_at":     rel.PublishedAt.Format(time.RFC3339),
		"author":           map[string]any{"id": 1, "login": "giteatest", "username": "giteatest"},
		"assets":           assets,
	}
	return out
}

func (s *Server) assetJSON(a *asset) map[string]any {
	return map[string]any{
		"id":                   a.ID,
		"name":                 a.Name,
		"size":                 len(a.Data),
		"download_count":       a.Downloads,
		"created_at":           a.CreatedAt.Format(time.RFC3339),
		"uuid":                 a.UUID,
		"browser_download_url": s.URL + "/attachments/" + a.UUID,
		"type":                 "attachment",
	}
}
