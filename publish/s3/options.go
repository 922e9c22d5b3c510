package s3

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/relkit/relkit/publish"
)

// Limits and defaults of the multipart upload path. S3 allows at most
// [MaxParts] parts of at least [MinPartSize] bytes (except the last).
const (
	// MinPartSize is the smallest part size S3 accepts (5 MiB).
	MinPartSize = 5 << 20
	// MaxParts is the largest number of parts of one upload.
	MaxParts = 10000
	// MaxObjectSize is the largest object S3 stores (5 TiB).
	MaxObjectSize = 5 << 40
	// DefaultMultipartThreshold is the size from which a file is uploaded
	// in parts unless [WithMultipart] says otherwise (64 MiB).
	DefaultMultipartThreshold = 64 << 20
	// DefaultPartSize is the part size unless [WithMultipart] says
	// otherwise (16 MiB). It grows automatically for files that would
	// need more than [MaxParts] parts.
	DefaultPartSize = 16 << 20
	// DefaultPartConcurrency is how many parts of one file are uploaded
	// at once unless [WithPartConcurrency] says otherwise. The Publisher
	// uploads several files at once on top of that.
	DefaultPartConcurrency = 4
	// MaxPartConcurrency is the largest value [WithPartConcurrency] accepts.
	MaxPartConcurrency = 64
)

// Cache-Control values used unless [WithCacheControl] says otherwise.
const (
	// DefaultMutableCacheControl is sent with manifest.json and the other
	// files at the root of the release, which every release replaces
	// (see [publish.IsMutable]): caches keep them for a minute, so a new
	// release is visible to clients shortly after it is published.
	DefaultMutableCacheControl = "max-age=60"
	// DefaultImmutableCacheControl is sent with every other object: a
	// versioned object never changes once published.
	DefaultImmutableCacheControl = "max-age=31536000, immutable"
)

// MetadataSHA256 is the user metadata key (sent as x-amz-meta-sha256) that
// holds the lowercase hex SHA-256 of every object the store uploads. S3
// reports a multipart object's SHA-256 checksum as a checksum of the parts'
// checksums ("…-N"), not of the content; Stat reads this key instead.
const MetadataSHA256 = "sha256"

// An Option configures a [Store] made by [New]. Each option checks its
// argument; New reports the first error.
type Option func(*options) error

type options struct {
	cfg         *aws.Config
	region      string
	creds       aws.CredentialsProvider
	endpoint    string
	pathStyle   bool
	prefix      string
	threshold   int64
	partSize    int64
	partConc    int
	publicRead  bool
	ccMutable   string
	ccImmutable string
	publicURL   string
	noCond      bool
	timeout     time.Duration
	minRate     int64
}

func defaultOptions() options {
	return options{
		threshold:   DefaultMultipartThreshold,
		partSize:    DefaultPartSize,
		partConc:    DefaultPartConcurrency,
		ccMutable:   DefaultMutableCacheControl,
		ccImmutable: DefaultImmutableCacheControl,
		timeout:     DefaultTimeout,
		minRate:     DefaultMinThroughput,
	}
}

// Defaults of [WithTimeout].
const (
	// DefaultTimeout bounds every request before its body is counted.
	DefaultTimeout = 2 * time.Minute
	// DefaultMinThroughput is the slowest transfer, in bytes per second,
	// that a request's deadline allows for its body: 64 KiB/s.
	DefaultMinThroughput = 64 << 10
)

// WithTimeout sets the deadline of every request: d (default
// [DefaultTimeout]) plus the time the request's body (an upload, a part,
// a download) takes at minBytesPerSecond (default [DefaultMinThroughput];
// 0 adds nothing). A request past its deadline fails with a retryable
// timeout, so a stalled connection never hangs a publish.
func WithTimeout(d time.Duration, minBytesPerSecond int64) Option {
	return func(o *options) error {
		if d <= 0 || minBytesPerSecond < 0 {
			return fmt.Errorf("invalid timeout %v or throughput %d", d, minBytesPerSecond)
		}
		o.timeout, o.minRate = d, minBytesPerSecond
		return nil
	}
}

// WithConfig uses cfg (credentials, region, HTTP client, ...) instead of
// loading the standard AWS configuration chain. Default: the chain, as
// config.LoadDefaultConfig reads it (environment, shared config and
// credentials files, SSO, web identity, container and instance roles).
func WithConfig(cfg aws.Config) Option {
	return func(o *options) error {
		c := cfg.Copy()
		o.cfg = &c
		return nil
	}
}

// WithRegion sets the region requests are signed for (for R2, "auto").
// Default: the region of the configuration (AWS_REGION, the shared config
// file), which must then be set.
func WithRegion(region string) Option {
	return func(o *options) error {
		if strings.TrimSpace(region) == "" {
			return errors.New("WithRegion: empty region")
		}
		o.region = region
		return nil
	}
}

// WithStaticCredentials uses an access key and secret (and, for temporary
// credentials, a session token) instead of the credential chain. Default:
// the chain.
func WithStaticCredentials(accessKey, secretKey, sessionToken string) Option {
	return func(o *options) error {
		if accessKey == "" || secretKey == "" {
			return errors.New("WithStaticCredentials: empty access key or secret key")
		}
		o.creds = credentials.NewStaticCredentialsProvider(accessKey, secretKey, sessionToken)
		return nil
	}
}

// WithEndpoint sends requests to an S3-compatible service at rawURL (for
// example "https://<account>.r2.cloudflarestorage.com" or
// "http://127.0.0.1:9000") instead of AWS. Most self-hosted stores also
// need [WithPathStyle]. Default: the AWS endpoint of the region.
func WithEndpoint(rawURL string) Option {
	return func(o *options) error {
		u, err := url.Parse(rawURL)
		if err != nil {
			return fmt.Errorf("WithEndpoint: %w", err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("WithEndpoint: %q is not an http or https URL", rawURL)
		}
		if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return fmt.Errorf("WithEndpoint: %q must not have a query, fragment or user", rawURL)
		}
		o.endpoint = strings.TrimRight(rawURL, "/")
		return nil
	}
}

// WithPathStyle addresses the bucket in the path (endpoint/bucket/key)
// instead of the host name (bucket.endpoint/key), as MinIO-like stores
// and servers without wildcard DNS require. Default: host-style, as AWS
// recommends.
func WithPathStyle() Option {
	return func(o *options) error {
		o.pathStyle = true
		return nil
	}
}

// WithPrefix publishes under prefix inside the bucket: the object name
// "1.2.0/SHA256SUMS" is stored under the key "prefix/1.2.0/SHA256SUMS".
// Leading and trailing slashes are ignored; the rest must be a clean
// relative path (no ".", ".." or empty elements). Default: the bucket's
// root.
func WithPrefix(prefix string) Option {
	return func(o *options) error {
		p := strings.Trim(prefix, "/")
		if p != "" {
			if err := publish.CheckName(p); err != nil {
				return fmt.Errorf("WithPrefix(%q): %w", prefix, err)
			}
		}
		o.prefix = p
		return nil
	}
}

// WithMultipart sets the size from which a file is uploaded in parts
// (threshold) and the size of each part. Parts are read straight from the
// staged file, so memory use does not grow with either. partSize must be
// at least [MinPartSize] and threshold at least partSize. Defaults:
// [DefaultMultipartThreshold], [DefaultPartSize].
func WithMultipart(threshold, partSize int64) Option {
	return func(o *options) error {
		if partSize < MinPartSize || partSize > MaxObjectSize {
			return fmt.Errorf("WithMultipart: part size %d outside [%d, %d]", partSize, MinPartSize, int64(MaxObjectSize))
		}
		if threshold < partSize {
			return fmt.Errorf("WithMultipart: threshold %d is below the part size %d", threshold, partSize)
		}
		o.threshold, o.partSize = threshold, partSize
		return nil
	}
}

// WithPartConcurrency sets how many parts of one file are uploaded at
// once, from 1 to [MaxPartConcurrency]. Default: [DefaultPartConcurrency].
func WithPartConcurrency(n int) Option {
	return func(o *options) error {
		if n < 1 || n > MaxPartConcurrency {
			return fmt.Errorf("WithPartConcurrency: %d outside [1, %d]", n, MaxPartConcurrency)
		}
		o.partConc = n
		return nil
	}
}

// WithPublicRead uploads every object with the canned ACL "public-read",
// for buckets that serve downloads directly and still use ACLs. Buckets
// with Object Ownership set to "bucket owner enforced" (the AWS default
// since 2023) refuse ACLs: grant public access with a bucket policy there
// instead. Default: no ACL (the bucket's default applies).
func WithPublicRead() Option {
	return func(o *options) error {
		o.publicRead = true
		return nil
	}
}

// WithCacheControl sets the Cache-Control header of the mutable root
// files (manifest.json, its signature, signatures.json, keys.json, ...;
// see [publish.IsMutable]) and of every other, immutable object. An empty string sends no header.
// Defaults: [DefaultMutableCacheControl], [DefaultImmutableCacheControl].
func WithCacheControl(mutable, immutable string) Option {
	return func(o *options) error {
		for _, v := range []string{mutable, immutable} {
			if strings.ContainsAny(v, "\r\n") {
				return fmt.Errorf("WithCacheControl: %q contains a line break", v)
			}
		}
		o.ccMutable, o.ccImmutable = mutable, immutable
		return nil
	}
}

// WithPublicURL sets the URL the bucket prefix is served at (a CDN or a
// website endpoint, e.g. "https://dl.example.com/hello"), used by
// [Store.URL] for the URLs in [publish.Result]. Default: the object URL on
// the S3 endpoint.
func WithPublicURL(rawURL string) Option {
	return func(o *options) error {
		u, err := url.Parse(rawURL)
		if err != nil {
			return fmt.Errorf("WithPublicURL: %w", err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("WithPublicURL: %q is not an http or https URL", rawURL)
		}
		o.publicURL = strings.TrimRight(rawURL, "/")
		return nil
	}
}

// WithoutConditionalWritesUnsafe stops sending If-None-Match and If-Match
// headers, for S3-compatible stores that reject them. A create-only Put
// then checks with a HEAD request first, which a concurrent publisher can
// race: an object published in between is overwritten. Default:
// conditional writes, which S3 evaluates atomically.
func WithoutConditionalWritesUnsafe() Option {
	return func(o *options) error {
		o.noCond = true
		return nil
	}
}
