package oci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/relkit/relkit/sign"
	"github.com/relkit/relkit/verify"
)

// DefaultJobs is how many blobs a push uploads at once unless WithJobs says
// otherwise.
const DefaultJobs = 4

// ErrInsecureRegistry is wrapped by the error of any plain-HTTP request to
// a registry that is not on a loopback address. Plain HTTP is allowed only
// for 127.0.0.0/8, ::1 and "localhost"; every other registry must speak
// HTTPS.
var ErrInsecureRegistry = errors.New("plain HTTP to a registry that is not on loopback")

// ErrUnsupportedSigner is wrapped when a signer's algorithm is not one
// "cosign verify --key" accepts for image signatures (ECDSA, or RSA
// PKCS#1 v1.5, both over SHA-256).
var ErrUnsupportedSigner = errors.New("signer algorithm not supported for image signatures")

// Client builds, pushes and signs release images. Create one with New; it
// is safe for concurrent use.
type Client struct {
	keychain  authn.Keychain
	transport http.RoundTripper
	signer    sign.Signer
	tempDir   string
	jobs      int
	userAgent string
	log       *slog.Logger
}

// Option configures a Client.
type Option func(*Client) error

// WithKeychain sets where registry credentials come from. The default is
// authn.DefaultKeychain: the Docker config ($DOCKER_CONFIG/config.json or
// ~/.docker/config.json), its credential helpers and credsStore, and the
// Podman auth file.
func WithKeychain(k authn.Keychain) Option {
	return func(c *Client) error {
		if k == nil {
			return errors.New("oci: WithKeychain: nil keychain")
		}
		c.keychain = k
		return nil
	}
}

// WithTransport sets the HTTP transport; the default is
// remote.DefaultTransport. Whatever the transport, plain HTTP to a
// registry that is not on loopback is refused with ErrInsecureRegistry.
func WithTransport(t http.RoundTripper) Option {
	return func(c *Client) error {
		if t == nil {
			return errors.New("oci: WithTransport: nil transport")
		}
		c.transport = t
		return nil
	}
}

// WithSigner signs every pushed index with s, as a cosign signature that
// "cosign verify --key" accepts. s must use ECDSA (cosign's default key
// type) or RSA PKCS#1 v1.5; other algorithms fail New with an error
// wrapping ErrUnsupportedSigner. Without a signer, images are not signed.
func WithSigner(s sign.Signer) Option {
	return func(c *Client) error {
		if s == nil {
			return errors.New("oci: WithSigner: nil signer")
		}
		switch s.Algorithm() {
		case verify.AlgECDSASHA256, verify.AlgRSAPKCS1v15SHA256:
		default:
			return fmt.Errorf("oci: WithSigner: %s: %w", s.Algorithm(), ErrUnsupportedSigner)
		}
		c.signer = s
		return nil
	}
}

// WithTempDir sets where layers are written while a build is alive; the
// default is os.TempDir().
func WithTempDir(dir string) Option {
	return func(c *Client) error {
		c.tempDir = dir
		return nil
	}
}

// WithJobs sets how many blobs are uploaded at once; the default is
// DefaultJobs. n must be at least 1.
func WithJobs(n int) Option {
	return func(c *Client) error {
		if n < 1 {
			return fmt.Errorf("oci: WithJobs: %d is less than 1", n)
		}
		c.jobs = n
		return nil
	}
}

// WithUserAgent sets the User-Agent prefix sent to registries; the
// default is "relkit".
func WithUserAgent(ua string) Option {
	return func(c *Client) error {
		c.userAgent = ua
		return nil
	}
}

// WithLogger sets the logger for progress (one Info record per step).
// Default: discard it, as every relkit library does unless given a logger.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) error {
		if l == nil {
			return errors.New("oci: WithLogger: nil logger")
		}
		c.log = l
		return nil
	}
}

// New returns a Client with the given options.
func New(opts ...Option) (*Client, error) {
	c := &Client{
		keychain:  authn.DefaultKeychain,
		transport: remote.DefaultTransport,
		jobs:      DefaultJobs,
		userAgent: "relkit",
		log:       slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Stats counts the requests a push made, as seen on the wire.
type Stats struct {
	// Requests is the number of HTTP requests.
	Requests int64
	// Heads is the number of HEAD requests (existence checks).
	Heads int64
	// BlobUploads is the number of blob uploads started (POST
	// .../blobs/uploads/); zero on a re-push of the same images.
	BlobUploads int64
	// ManifestPuts is the number of manifests written (PUT
	// .../manifests/...), by digest or by tag.
	ManifestPuts int64
	// BytesSent is the number of request body bytes sent.
	BytesSent int64
}

// stats is Stats updated concurrently.
type stats struct {
	requests, heads, blobUploads, manifestPuts, bytesSent atomic.Int64
}

func (s *stats) snapshot() Stats {
	return Stats{
		Requests: s.requests.Load(), Heads: s.heads.Load(), BlobUploads: s.blobUploads.Load(),
		ManifestPuts: s.manifestPuts.Load(), BytesSent: s.bytesSent.Load(),
	}
}

// guardTransport refuses plain HTTP to non-loopback hosts and counts
// requests.
type guardTransport struct {
	next  http.RoundTripper
	stats *stats
}

func (t *guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" && !IsLoopback(req.URL.Host) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("oci: %s %s: %w", req.Method, req.URL.Redacted(), ErrInsecureRegistry)
	}
	if s := t.stats; s != nil {
		s.requests.Add(1)
		p := req.URL.Path
		switch {
		case req.Method == http.MethodHead:
			s.heads.Add(1)
		case req.Method == http.MethodPost && strings.HasSuffix(p, "/blobs/uploads/") && req.URL.Query().Get("mount") == "":
			s.blobUploads.Add(1)
		case req.Method == http.MethodPut && strings.Contains(p, "/manifests/"):
			s.manifestPuts.Add(1)
		}
		if req.Body != nil && req.Body != http.NoBody {
			req = req.Clone(req.Context())
			req.Body = &countingBody{ReadCloser: req.Body, n: &s.bytesSent}
		}
	}
	return t.next.RoundTrip(req)
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// IsLoopback reports whether host (a registry "host[:port]") is on a
// loopback address: 127.0.0.0/8, ::1 or the name "localhost". Only those
// registries may be reached over plain HTTP.
func IsLoopback(host string) bool {
	h := host
	if sh, _, err := net.SplitHostPort(host); err == nil {
		h = sh
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// remoteOptions returns the go-containerregistry options for one
// operation, counting into st when it is not nil.
func (c *Client) remoteOptions(ctx context.Context, st *stats) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(c.keychain),
		remote.WithTransport(&guardTransport{next: c.transport, stats: st}),
		remote.WithJobs(c.jobs),
		remote.WithUserAgent(c.userAgent),
	}
}
