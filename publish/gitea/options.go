package gitea

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/relkit/relkit/manifest"
)

// An Option configures a [Store] made by [New]. Each option checks its
// argument and documents its default; New reports the first error.
type Option func(*options) error

// options is what the options set.
type options struct {
	BaseURL, Owner, Repo string
	Token                string
	IndexTag             string
	TagFor               func(version string) string
	Target               string
	HTTPClient           *http.Client
	Timeout              time.Duration
	MinThroughput        int64
	StreamAbove          int64
	ReplaceWait          time.Duration
}

// Defaults of the options.
const (
	// DefaultTimeout bounds every request unless [WithTimeout] says
	// otherwise.
	DefaultTimeout = time.Minute
	// DefaultMinThroughput is the slowest transfer, in bytes per second,
	// that an upload's or download's deadline allows for its bytes
	// unless [WithTimeout] says otherwise: 256 KiB/s.
	DefaultMinThroughput = 256 << 10
	// DefaultReplaceWait is how long a Stat of manifest.json waits for
	// another publisher's replacement unless [WithReplaceWait] says
	// otherwise.
	DefaultReplaceWait = 10 * time.Second
	// DefaultStreamAbove is the size above which an upload is streamed
	// unless [WithStreamAbove] says otherwise (32 MiB).
	DefaultStreamAbove = 32 << 20
)

func defaultOptions() options {
	return options{
		IndexTag:      manifest.IndexTag,
		TagFor:        func(v string) string { return "v" + v },
		Timeout:       DefaultTimeout,
		MinThroughput: DefaultMinThroughput,
		StreamAbove:   DefaultStreamAbove,
		ReplaceWait:   DefaultReplaceWait,
	}
}

// WithToken authenticates every API request ("Authorization: token T").
// It is sent to the server's host only. Default: none, and the requests
// are anonymous, which reads public releases only (publishing then fails
// with HTTP 401). The environment is never read: [TokenFromEnv] returns
// GITEA_TOKEN for this option.
func WithToken(token string) Option {
	return func(o *options) error {
		if strings.TrimSpace(token) == "" {
			return errors.New("WithToken: empty token")
		}
		o.Token = token
		return nil
	}
}

// WithIndexTag sets the index release's tag. Default: [manifest.IndexTag].
func WithIndexTag(tag string) Option {
	return func(o *options) error {
		if strings.TrimSpace(tag) == "" {
			return errors.New("WithIndexTag: empty tag")
		}
		o.IndexTag = tag
		return nil
	}
}

// WithTagFor sets the release tag of a version. Default: "v" + version.
func WithTagFor(tagFor func(version string) string) Option {
	return func(o *options) error {
		if tagFor == nil {
			return errors.New("WithTagFor: nil function")
		}
		o.TagFor = tagFor
		return nil
	}
}

// WithTarget sets the branch or commit a release's tag is created from
// when the tag does not exist yet. Default: the repository's default
// branch.
func WithTarget(commitish string) Option {
	return func(o *options) error {
		if strings.TrimSpace(commitish) == "" {
			return errors.New("WithTarget: empty branch or commit")
		}
		o.Target = commitish
		return nil
	}
}

// WithHTTPClient makes every request with c. Default: a new http.Client.
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("WithHTTPClient: nil client")
		}
		o.HTTPClient = c
		return nil
	}
}

// WithTimeout sets the deadline of every request: d (default
// [DefaultTimeout]) plus, for uploads and downloads, the time their bytes
// take at minBytesPerSecond (default [DefaultMinThroughput]; 0 adds
// nothing). A request past its deadline fails with a retryable
// [*TimeoutError].
func WithTimeout(d time.Duration, minBytesPerSecond int64) Option {
	return func(o *options) error {
		if d <= 0 || minBytesPerSecond < 0 {
			return fmt.Errorf("WithTimeout: invalid timeout %v or throughput %d", d, minBytesPerSecond)
		}
		o.Timeout, o.MinThroughput = d, minBytesPerSecond
		return nil
	}
}

// WithStreamAbove sets the size above which an upload is streamed as it
// is read (a multipart body over plain HTTP, never held in memory)
// instead of going through the SDK, whose CreateReleaseAttachment buffers
// the whole file; a negative size streams every upload but manifest.json.
// Default: [DefaultStreamAbove].
func WithStreamAbove(size int64) Option {
	return func(o *options) error {
		o.StreamAbove = size
		return nil
	}
}

// WithReplaceWait sets how long a Stat of manifest.json waits for another
// publisher's replacement to finish before it fails with a
// [*ReplacingError]; 0 does not wait. Default: [DefaultReplaceWait].
func WithReplaceWait(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return fmt.Errorf("WithReplaceWait: negative wait %v", d)
		}
		o.ReplaceWait = d
		return nil
	}
}
