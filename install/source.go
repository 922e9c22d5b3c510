package install

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/relkit/relkit/verify"
)

// fetcher reads files of a release root: over HTTP(S) or from a local
// directory.
type fetcher interface {
	// get opens the file at rel (slash-separated, relative to the root)
	// from byte offset; validator, when set, is the ETag (or
	// Last-Modified) of a previous response, so the server restarts from
	// zero rather than splice two versions of the file.
	get(ctx context.Context, rel string, offset int64, validator string) (io.ReadCloser, fetchInfo, error)
	// name returns the URL or path of rel, for messages and receipts.
	name(rel string) string
}

// String names the source that the metadata location (see resolve.go)
// reads: its base URL without credentials, its directory or its
// repository, for the reports and errors that embed it.
func (l location) String() string { return l.d.src.name("") }

// fetchInfo describes a response.
type fetchInfo struct {
	start     int64  // offset of the first byte of the body
	total     int64  // full size of the file, or -1 when unknown
	validator string // strong ETag or Last-Modified, "" when none
	// contentType is the response's Content-Type, "" when none (or
	// for a local file).
	contentType string
}

// checkRel refuses relative paths that could leave the root. Manifest
// paths are validated by package manifest too; this is defence in depth.
func checkRel(rel string) error {
	if rel == "" || strings.HasPrefix(rel, "/") || strings.Contains(rel, `\`) || strings.ContainsRune(rel, 0) {
		return fmt.Errorf("unsafe path %q in release", rel)
	}
	for _, p := range strings.Split(rel, "/") {
		if p == ".." || p == "" || p == "." {
			return fmt.Errorf("unsafe path %q in release", rel)
		}
	}
	return nil
}

// httpFetcher reads a release root over HTTP(S).
type httpFetcher struct {
	base   *url.URL // ends with "/"
	client *http.Client
	agent  string
}

func newHTTPFetcher(root string, client *http.Client, agent string) (*httpFetcher, error) {
	u, err := url.Parse(root)
	if err != nil {
		return nil, fmt.Errorf("source %q: %w", root, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("source %q: scheme must be http or https", root)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("source %q: no host", root)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		u.RawPath = ""
	}
	u.RawQuery, u.Fragment = "", ""
	// One redirect policy for all of relkit: verify.CheckRedirect, then
	// the caller's own, if any.
	c := *client
	prev := client.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := verify.CheckRedirect(req, via); err != nil {
			return err
		}
		if prev != nil {
			return prev(req, via)
		}
		return nil
	}
	return &httpFetcher{base: u, client: &c, agent: agent}, nil
}

func redact(u *url.URL) string {
	if u.User == nil {
		return u.String()
	}
	c := *u
	c.User = nil
	return c.String()
}

func (h *httpFetcher) url(rel string) *url.URL {
	ref := &url.URL{Path: rel}
	return h.base.ResolveReference(ref)
}

func (h *httpFetcher) name(rel string) string { return redact(h.url(rel)) }

func (h *httpFetcher) get(ctx context.Context, rel string, offset int64, validator string) (io.ReadCloser, fetchInfo, error) {
	if err := checkRel(rel); err != nil {
		return nil, fetchInfo{}, err
	}
	u := h.url(rel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fetchInfo{}, err
	}
	// Ask for the bytes as stored: a server that gzips a .tar.gz on the
	// fly must not make the transport decompress it. The JSON metadata
	// (manifest.json above all, which grows with the history) may come
	// compressed: it is read whole, from the start, and decompressed here
	// under the caller's size limit, which counts decompressed bytes.
	compressed := offset == 0 && strings.HasSuffix(rel, ".json")
	if compressed {
		req.Header.Set("Accept-Encoding", "gzip")
	} else {
		req.Header.Set("Accept-Encoding", "identity")
	}
	if h.agent != "" {
		req.Header.Set("User-Agent", h.agent)
	}
	if offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
		if validator != "" {
			req.Header.Set("If-Range", validator)
		}
	}
	return do(h.client, req, offset, redact(u), nil)
}

// do sends req (a GET from offset) and returns the body of a 200 or of a
// 206 starting at offset. Any other status is an *HTTPError for name, or
// what fail makes of the response when fail is set.
func do(client *http.Client, req *http.Request, offset int64, name string, fail func(*http.Response) error) (io.ReadCloser, fetchInfo, error) {
	resp, err := client.Do(req)
	if err != nil {
		if he := (*HTTPError)(nil); errors.As(err, &he) {
			return nil, fetchInfo{}, he // a refused redirect
		}
		return nil, fetchInfo{}, err
	}
	info := fetchInfo{total: -1, contentType: resp.Header.Get("Content-Type")}
	if et := resp.Header.Get("ETag"); et != "" && !strings.HasPrefix(et, "W/") {
		info.validator = et
	} else if lm := resp.Header.Get("Last-Modified"); lm != "" {
		info.validator = lm
	}
	switch resp.StatusCode {
	case http.StatusOK:
		info.total = resp.ContentLength
	case http.StatusPartialContent:
		start, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != offset {
			resp.Body.Close()
			return nil, fetchInfo{}, fmt.Errorf("GET %s: bad Content-Range %q for a request from byte %d", name, resp.Header.Get("Content-Range"), offset)
		}
		info.start, info.total = start, total
	default:
		// Including 416 (the file is shorter than the range asked for):
		// the caller decides whether to start over.
		resp.Body.Close()
		if fail != nil {
			return nil, fetchInfo{}, fail(resp)
		}
		return nil, fetchInfo{}, &HTTPError{URL: name, StatusCode: resp.StatusCode, Status: resp.Status}
	}
	// Elsewhere a Content-Encoding is ignored: some servers label a stored
	// .tar.gz "gzip", and its bytes as stored are what the checksum covers.
	// A request that asked for gzip (JSON metadata, read whole under a
	// limit on the decompressed bytes) is decompressed here.
	if req.Header.Get("Accept-Encoding") == "gzip" && resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			resp.Body.Close()
			return nil, fetchInfo{}, fmt.Errorf("GET %s: gzip: %w", name, err)
		}
		info.total = -1 // the length on the wire is not the length of the file
		return gzipBody{zr, resp.Body}, info, nil
	}
	return resp.Body, info, nil
}

// gzipBody is a decompressed response body.
type gzipBody struct {
	*gzip.Reader
	body io.Closer
}

func (g gzipBody) Close() error {
	g.Reader.Close()
	return g.body.Close()
}

// parseContentRange parses "bytes START-END/TOTAL" (TOTAL may be "*").
func parseContentRange(s string) (start, total int64, ok bool) {
	rest, found := strings.CutPrefix(s, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	a, b, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start {
		return 0, 0, false
	}
	total = -1
	if tot != "*" {
		t, err := strconv.ParseInt(tot, 10, 64)
		if err != nil || t <= end {
			return 0, 0, false
		}
		total = t
	}
	return start, total, true
}

// dirFetcher reads a release root in a local directory. It opens files
// through an [os.Root], so no path in a manifest can leave the directory.
type dirFetcher struct {
	dir  string
	root *os.Root
}

func newDirFetcher(dir string) (*dirFetcher, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	return &dirFetcher{dir: dir, root: r}, nil
}

func (d *dirFetcher) name(rel string) string {
	return filepath.Join(d.dir, filepath.FromSlash(path.Clean(rel)))
}

func (d *dirFetcher) get(ctx context.Context, rel string, offset int64, _ string) (io.ReadCloser, fetchInfo, error) {
	if err := checkRel(rel); err != nil {
		return nil, fetchInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fetchInfo{}, err
	}
	f, err := d.root.Open(filepath.FromSlash(rel))
	if err != nil {
		// Name the file by its whole path, once ("openat manifest.json"
		// names it relative to a root the message does not show).
		if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
			err = &fs.PathError{Op: "open", Path: d.name(rel), Err: pe.Err}
		}
		return nil, fetchInfo{}, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fetchInfo{}, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fetchInfo{}, fmt.Errorf("%s: not a regular file", d.name(rel))
	}
	if offset > 0 {
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			f.Close()
			return nil, fetchInfo{}, err
		}
	}
	return f, fetchInfo{start: offset, total: fi.Size()}, nil
}
