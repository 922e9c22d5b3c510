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
// must bound what it returns (the HTTP location caps bytes and time).
type Location interface {
	Open(ctx context.Context, name string) (io.ReadCloser, error)
}

// Dir is a Location on the local file system. Files are opened through
// os.Root, so neither ".." nor a symbolic link can escape the directory.
type Dir string

// Open implements Location.
func (d Dir) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !cleanRelPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	root, err := os.OpenRoot(string(d))
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
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

// HTTPStatusError reports a response with a status other than 200.
type HTTPStatusError struct {
	URL        string
	StatusCode int
}

// Error implements error.
func (e *HTTPStatusError) Error() string {
	return fmt.Sprintf("GET %s: %d %s", e.URL, e.StatusCode, http.StatusText(e.StatusCode))
}

// Unwrap returns ErrFetch, and also ErrNotFound for 404 and 410.
func (e *HTTPStatusError) Unwrap() []error {
	if e.StatusCode == http.StatusNotFound || e.StatusCode == http.StatusGone {
		return []error{ErrFetch, ErrNotFound}
	}
	return []error{ErrFetch}
}

// RedirectError reports a refused redirect.
type RedirectError struct {
	From, To string
	Reason   string
}

// Error implements error.
func (e *RedirectError) Error() string {
	return fmt.Sprintf("redirect from %s to %s refused: %s", e.From, e.To, e.Reason)
}

// Unwrap returns ErrFetch.
func (e *RedirectError) Unwrap() error { return ErrFetch }

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

// HTTP is a Location served over HTTP(S) below a base URL. It refuses
// redirects to another scheme (an https base never falls back to http, and
// nothing redirects to file: or any other scheme), non-200 statuses, bodies
// over its byte cap, and requests over its timeouts. Build it with NewHTTP.
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
// CheckRedirect is replaced by the location's redirect policy. Default:
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
	scheme := u.Scheme
	h.client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		from := via[len(via)-1].URL.String()
		if req.URL.Scheme != scheme {
			return &RedirectError{From: from, To: req.URL.String(), Reason: "scheme " + req.URL.Scheme + " is not " + scheme}
		}
		if len(via) >= MaxRedirects {
			return &RedirectError{From: from, To: req.URL.String(), Reason: fmt.Sprintf("more than %d redirects", MaxRedirects)}
		}
		return nil
	}
	return h, nil
}

// URL returns the absolute URL of name.
func (h *HTTP) URL(name string) string {
	u := *h.base
	u.Path = path.Join(h.base.Path, name)
	return u.String()
}

// Open implements Location: it GETs name below the base URL and returns
// the body, bounded by the location's limits. Errors are
// *HTTPStatusError, *RedirectError, *TimeoutError (all wrapping
// ErrFetch), or *LimitError from reading the body.
func (h *HTTP) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	if !cleanRelPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	target := h.URL(name)
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
		return nil, err
	}
	resp, err := h.client.Do(req)
	if err != nil {
		cause := context.Cause(ctx)
		stop()
		var re *RedirectError
		if errors.As(err, &re) {
			return nil, re
		}
		var te *TimeoutError
		if errors.As(cause, &te) {
			return nil, te
		}
		return nil, fmt.Errorf("%w: GET %s: %w", ErrFetch, target, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		stop()
		return nil, &HTTPStatusError{URL: target, StatusCode: resp.StatusCode}
	}
	if resp.ContentLength > h.max {
		resp.Body.Close()
		stop()
		return nil, &LimitError{What: target, Limit: h.max}
	}
	idle.Reset(h.idle)
	return &body{rc: resp.Body, ctx: ctx, stop: stop, idle: idle, d: h.idle, left: h.max, max: h.max, url: target}, nil
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
	return fmt.Errorf("%w: reading %s: %w", ErrFetch, b.url, err)
}

func (b *body) Close() error {
	err := b.rc.Close()
	b.once.Do(b.stop)
	return err
}
