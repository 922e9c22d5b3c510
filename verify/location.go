package verify

import (
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
	"strings"
	"sync"
	"time"
)

// Location is where a release is published: a directory, an HTTP base
// URL, or anything else that can open a file by its slash-separated path
// relative to the release root.
//
// Open must return an error wrapping fs.ErrNotExist (ErrNotFound) for a
// missing file, must refuse names that are not clean relative paths, and
// must bound what it returns (the HTTP location caps bytes and time). Its
// errors should name the file as the location knows it (Dir's path, the
// HTTP URL), once: the Fetch functions then do not repeat the name.
//
// Reports and errors name a Location by its String method when it has
// one (Dir prints as its path, *HTTP as its base URL, *Forge as its
// repository's web URL), else by its type: give your own Location a
// String method.
type Location interface {
	Open(ctx context.Context, name string) (io.ReadCloser, error)
}

// Dir is a Location on the local file system. Files are opened through
// os.Root, so neither ".." nor a symbolic link can escape the directory.
type Dir string

// Open implements Location. An error is an *fs.PathError naming the file
// by its path below the directory ("open /srv/hello/manifest.json: no
// such file or directory"), wrapping fs.ErrNotExist for a missing file
// or directory and fs.ErrInvalid for a name that is not a clean relative
// path or a file that is not a regular one.
func (d Dir) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !cleanRelPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	fail := func(err error) error {
		if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
			err = pe.Err
		}
		return &fs.PathError{Op: "open", Path: filepath.Join(string(d), filepath.FromSlash(name)), Err: err}
	}
	root, err := os.OpenRoot(string(d))
	if err != nil {
		return nil, fail(err)
	}
	defer root.Close()
	f, err := root.Open(name)
	if err != nil {
		return nil, fail(err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fail(fs.ErrInvalid)
	}
	return f, nil
}

// Fetch limits. Each is the default of an HTTPOption.
const (
	// DefaultFetchTimeout bounds a whole request, body included (a body
	// trickling in just under the idle timeout). Large artifacts over slow
	// links may need more: see WithFetchTimeout.
	DefaultFetchTimeout = 30 * time.Minute
	// DefaultIdleTimeout bounds the wait for the next bytes of a body (a
	// server that stops sending).
	DefaultIdleTimeout = 30 * time.Second
	// DefaultMaxFetchSize caps the bytes read from one response body.
	DefaultMaxFetchSize = 4 << 30
	// MaxRedirects is the most redirects followed per request.
	MaxRedirects = 10
)

// HTTPError reports a refused HTTP exchange: a response with a status
// other than the one asked for (StatusCode set), or a redirect refused by
// the redirect policy (Redirect set; see [CheckRedirect]). It is the one
// HTTP error type of both verify and package install.
type HTTPError struct {
	// URL is the requested URL, without credentials.
	URL string
	// StatusCode is the response status; 0 for a refused redirect.
	StatusCode int
	// Status is the response status line ("503 Service Unavailable").
	Status string
	// Redirect is the refused redirect target, without credentials; ""
	// for a status.
	Redirect string
	// Reason says why the redirect was refused.
	Reason string
}

// Error implements error.
func (e *HTTPError) Error() string {
	if e.Redirect != "" {
		return fmt.Sprintf("GET %s: redirect to %s refused: %s", e.URL, e.Redirect, e.Reason)
	}
	status := e.Status
	if status == "" {
		status = fmt.Sprintf("%d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	return fmt.Sprintf("GET %s: %s", e.URL, status)
}

// Temporary reports whether retrying could help: 5xx, 408 and 429. A
// refused redirect never is.
func (e *HTTPError) Temporary() bool {
	return e.Redirect == "" && (e.StatusCode >= 500 || e.StatusCode == http.StatusRequestTimeout || e.StatusCode == http.StatusTooManyRequests)
}

// Unwrap returns ErrFetch, and also ErrNotFound for 404 and 410.
func (e *HTTPError) Unwrap() []error {
	if e.StatusCode == http.StatusNotFound || e.StatusCode == http.StatusGone {
		return []error{ErrFetch, ErrNotFound}
	}
	return []error{ErrFetch}
}

// CheckRedirect is relkit's one redirect policy, for
// http.Client.CheckRedirect: a redirect may keep its scheme or upgrade
// from http to https; it may not go from https to http (anywhere in the
// chain, so not after an upgrade either), nor to any scheme but http and
// https (file:, ftp:, data:), nor past MaxRedirects. A refusal is an
// *HTTPError with Redirect and Reason set, which the client returns
// before making the refused request.
func CheckRedirect(req *http.Request, via []*http.Request) error {
	if len(via) == 0 {
		return nil
	}
	refuse := func(reason string) error {
		return &HTTPError{URL: redactURL(via[0].URL), Redirect: redactURL(req.URL), Reason: reason}
	}
	to := req.URL.Scheme
	if to != "http" && to != "https" {
		return refuse(fmt.Sprintf("scheme %q is not http or https", to))
	}
	if to == "http" {
		for _, r := range via {
			if r.URL.Scheme == "https" {
				return refuse("redirect from https to http")
			}
		}
	}
	if len(via) >= MaxRedirects {
		return refuse(fmt.Sprintf("more than %d redirects", MaxRedirects))
	}
	return nil
}

// redactURL returns u as a string without user info.
func redactURL(u *url.URL) string {
	if u.User == nil {
		return u.String()
	}
	c := *u
	c.User = nil
	return c.String()
}

// TimeoutError reports a request that took too long, or a body that
// stopped sending for longer than the idle timeout.
type TimeoutError struct {
	URL     string
	Timeout time.Duration
	Idle    bool // the idle (between bytes) timeout, not the total one
}

// Error implements error.
func (e *TimeoutError) Error() string {
	if e.Idle {
		return fmt.Sprintf("GET %s: no data for %s", e.URL, e.Timeout)
	}
	return fmt.Sprintf("GET %s: not done after %s", e.URL, e.Timeout)
}

// Unwrap returns ErrFetch and context.DeadlineExceeded.
func (e *TimeoutError) Unwrap() []error { return []error{ErrFetch, context.DeadlineExceeded} }

// HTTP is a Location served over HTTP(S) below a base URL. It follows
// redirects by [CheckRedirect] (same scheme or an http->https upgrade;
// never https->http, file: or any other scheme), and refuses non-200
// statuses, bodies over its byte cap, and requests over its timeouts.
// Build it with NewHTTP.
type HTTP struct {
	base    *url.URL
	client  *http.Client
	timeout time.Duration
	idle    time.Duration
	max     int64
}

// HTTPOption configures an HTTP location.
type HTTPOption func(*HTTP) error

// WithHTTPClient uses c's transport, jar and (lower) timeout. Its
// CheckRedirect is replaced by [CheckRedirect]. Default:
// http.DefaultClient's transport.
func WithHTTPClient(c *http.Client) HTTPOption {
	return func(h *HTTP) error {
		if c == nil {
			return errors.New("verify: nil HTTP client")
		}
		cc := *c
		h.client = &cc
		return nil
	}
}

// WithFetchTimeout bounds each request, body included (default
// DefaultFetchTimeout).
func WithFetchTimeout(d time.Duration) HTTPOption {
	return func(h *HTTP) error {
		if d <= 0 {
			return fmt.Errorf("verify: fetch timeout %s must be positive", d)
		}
		h.timeout = d
		return nil
	}
}

// WithIdleTimeout bounds the wait for the next bytes of a body (default
// DefaultIdleTimeout).
func WithIdleTimeout(d time.Duration) HTTPOption {
	return func(h *HTTP) error {
		if d <= 0 {
			return fmt.Errorf("verify: idle timeout %s must be positive", d)
		}
		h.idle = d
		return nil
	}
}

// WithMaxFetchSize caps the bytes read from one response (default
// DefaultMaxFetchSize). A longer body fails with a *LimitError.
func WithMaxFetchSize(n int64) HTTPOption {
	return func(h *HTTP) error {
		if n <= 0 {
			return fmt.Errorf("verify: max fetch size %d must be positive", n)
		}
		h.max = n
		return nil
	}
}

// NewHTTP returns a Location for files below baseURL, which must be an
// absolute http or https URL ("https://example.com/releases/hello/").
func NewHTTP(baseURL string, opts ...HTTPOption) (*HTTP, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("verify: base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("verify: base URL %q: want an absolute http or https URL", baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("verify: base URL %q: no query, fragment or user info allowed", baseURL)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	h := &HTTP{base: u, client: &http.Client{}, timeout: DefaultFetchTimeout, idle: DefaultIdleTimeout, max: DefaultMaxFetchSize}
	for _, o := range opts {
		if err := o(h); err != nil {
			return nil, err
		}
	}
	h.client.CheckRedirect = CheckRedirect
	return h, nil
}

// String returns the base URL, which never holds credentials.
func (h *HTTP) String() string { return h.base.String() }

// URL returns the absolute URL of name.
func (h *HTTP) URL(name string) string {
	u := *h.base
	u.Path = path.Join(h.base.Path, name)
	return u.String()
}

// Open implements Location: it GETs name below the base URL and returns
// the body, bounded by the location's limits. Errors are *HTTPError (a
// status, or a refused redirect), *TimeoutError (both wrapping ErrFetch),
// or *LimitError from reading the body.
func (h *HTTP) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	if !cleanRelPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	body, _, err := h.get(ctx, h.URL(name), nil)
	return body, err
}

// get GETs target with the extra headers hdr, bounded by h's limits. For
// a 200 it returns the bounded body; for any other status an *HTTPError
// and the response's headers (a forge's rate-limit headers).
func (h *HTTP) get(ctx context.Context, target string, hdr http.Header) (io.ReadCloser, http.Header, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	total := time.AfterFunc(h.timeout, func() { cancel(&TimeoutError{URL: target, Timeout: h.timeout}) })
	idle := time.AfterFunc(h.idle, func() { cancel(&TimeoutError{URL: target, Timeout: h.idle, Idle: true}) })
	stop := func() {
		total.Stop()
		idle.Stop()
		cancel(nil)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		stop()
		return nil, nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := h.client.Do(req)
	if err != nil {
		cause := context.Cause(ctx)
		stop()
		var he *HTTPError
		if errors.As(err, &he) {
			return nil, nil, he
		}
		var te *TimeoutError
		if errors.As(cause, &te) {
			return nil, nil, te
		}
		return nil, nil, &fetchError{op: "GET", url: target, err: err}
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		stop()
		return nil, resp.Header, &HTTPError{URL: target, StatusCode: resp.StatusCode, Status: resp.Status}
	}
	if resp.ContentLength > h.max {
		resp.Body.Close()
		stop()
		return nil, nil, &LimitError{What: target, Limit: h.max}
	}
	idle.Reset(h.idle)
	return &body{rc: resp.Body, ctx: ctx, stop: stop, idle: idle, d: h.idle, left: h.max, max: h.max, url: target}, resp.Header, nil
}

// body bounds a response body by bytes and time.
type body struct {
	rc   io.ReadCloser
	ctx  context.Context
	stop func()
	idle *time.Timer
	d    time.Duration
	left int64 // bytes still allowed
	max  int64 // the cap
	url  string
	once sync.Once
}

func (b *body) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// Probe for one more byte: only a longer body is an error.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, &LimitError{What: b.url, Limit: b.max}
		}
		return 0, b.wrap(err)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if n > 0 {
		b.idle.Reset(b.d)
	}
	return n, b.wrap(err)
}

func (b *body) wrap(err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	if cause := context.Cause(b.ctx); cause != nil {
		var te *TimeoutError
		if errors.As(cause, &te) {
			return te
		}
	}
	return &fetchError{op: "read", url: b.url, err: err}
}

// fetchError is a request or a body read that failed below HTTP (a
// refused connection, DNS, a reset): "GET URL: dial tcp …". It names the
// URL once: the *url.Error it wraps says it again ("Get \"URL\": …"), so
// only that error's cause is printed, while errors.As still finds the
// *url.Error and what it wraps (a *net.OpError).
type fetchError struct {
	op, url string
	err     error
}

func (e *fetchError) Error() string {
	msg := e.err
	if ue, ok := e.err.(*url.Error); ok {
		msg = ue.Err
	}
	return e.op + " " + e.url + ": " + msg.Error()
}

// Unwrap returns ErrFetch and the error it wraps.
func (e *fetchError) Unwrap() []error { return []error{ErrFetch, e.err} }

func (b *body) Close() error {
	err := b.rc.Close()
	b.once.Do(b.stop)
	return err
}
