package github

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/relkit/relkit/manifest"
)

// An Option configures a [Store] made by [New], a [Repo] made by [NewRepo]
// or a [Contents] made by [NewContents]. Each option checks its argument
// and documents its default; the constructor reports the first error, and
// refuses an option that does not apply to what it makes (the release
// options to NewContents, the Repo options to New).
type Option func(*options) error

// options is what the options set: the fields of one release of one
// repository, and the Repo's routing.
type options struct {
	Owner, Repo, Tag   string
	Token              string
	BaseURL, UploadURL string
	HTTPClient         *http.Client
	Name, Body         string
	TargetCommitish    string
	Prerelease         bool
	prereleaseSet      bool // WithPrerelease was given
	MakeLatest         string
	MaxRateLimitWait   time.Duration
	PerPage            int
	Timeout            time.Duration
	MinThroughput      int64

	// Repo only.
	IndexTag string
	TagFor   func(version string) string

	// Which constructors the given options apply to.
	release bool   // a release option (WithName, WithBody, ...) was given
	repo    string // the name of a Repo-only option that was given
	tag     bool   // WithTag was given
}

// Defaults of [WithTimeout].
const (
	DefaultTimeout       = 2 * time.Minute
	DefaultMinThroughput = 64 << 10
)

// DefaultPerPage is the page size of listings unless [WithPerPage] says
// otherwise: GitHub's maximum.
const DefaultPerPage = 100

func defaultOptions() options {
	return options{
		PerPage:       DefaultPerPage,
		Timeout:       DefaultTimeout,
		MinThroughput: DefaultMinThroughput,
		IndexTag:      manifest.IndexTag,
		TagFor:        func(v string) string { return "v" + v },
	}
}

// apply runs opts over the defaults and checks that each applies to what
// the constructor named kind makes ("New", "NewRepo", "NewContents").
func apply(kind string, opts []Option) (options, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			return options{}, fmt.Errorf("github: %s: nil Option", kind)
		}
		if err := opt(&o); err != nil {
			return options{}, fmt.Errorf("github: %s: %w", kind, err)
		}
	}
	switch {
	case kind != "NewRepo" && o.repo != "":
		return options{}, fmt.Errorf("github: %s: %s applies to NewRepo only", kind, o.repo)
	case kind == "NewContents" && (o.release || o.tag):
		return options{}, fmt.Errorf("github: NewContents: the release options (WithTag, WithName, WithBody, WithTarget, WithPrerelease, WithMakeLatest) do not apply to a repository's contents")
	case kind == "New" && o.tag:
		return options{}, errors.New("github: New: the tag is New's argument: WithTag applies to NewRepo only")
	case kind == "NewRepo" && o.release && !o.tag:
		return options{}, errors.New("github: NewRepo: the release options describe the release of one tag: give it with WithTag")
	}
	return o, nil
}

// WithToken authenticates every request with token ("Authorization:
// Bearer T"). Default: none, and the requests are anonymous, which reads
// public releases only (publishing then fails with HTTP 401). The
// environment is never read: [TokenFromEnv] returns GITHUB_TOKEN or
// GH_TOKEN for this option.
func WithToken(token string) Option {
	return func(o *options) error {
		if strings.TrimSpace(token) == "" {
			return errors.New("WithToken: empty token")
		}
		o.Token = token
		return nil
	}
}

// WithBaseURL points the client at a GitHub Enterprise Server: apiURL is
// its API URL ("https://ghe.example.com/" or ".../api/v3/"). Uploads go to
// the matching ".../api/uploads/" unless [WithUploadURL] says otherwise.
// Default: github.com.
func WithBaseURL(apiURL string) Option {
	return func(o *options) error {
		if err := checkURL("WithBaseURL", apiURL); err != nil {
			return err
		}
		o.BaseURL = apiURL
		return nil
	}
}

// WithUploadURL sets the upload URL of a GitHub Enterprise Server, for a
// server whose uploads are not at the API URL's ".../api/uploads/".
// Default: derived from [WithBaseURL]. It needs WithBaseURL.
func WithUploadURL(uploadURL string) Option {
	return func(o *options) error {
		if err := checkURL("WithUploadURL", uploadURL); err != nil {
			return err
		}
		o.UploadURL = uploadURL
		return nil
	}
}

func checkURL(opt, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", opt, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s: %q is not an http or https URL", opt, raw)
	}
	return nil
}

// WithHTTPClient makes every request with c. Asset downloads, which
// GitHub redirects to a pre-signed storage URL, are made without the
// token. Default: a new http.Client.
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
// [*TimeoutError], so a stalled connection never hangs a publish.
func WithTimeout(d time.Duration, minBytesPerSecond int64) Option {
	return func(o *options) error {
		if d <= 0 || minBytesPerSecond < 0 {
			return fmt.Errorf("WithTimeout: invalid timeout %v or throughput %d", d, minBytesPerSecond)
		}
		o.Timeout, o.MinThroughput = d, minBytesPerSecond
		return nil
	}
}

// WithMaxRateLimitWait sets the longest the client waits for a rate limit
// (primary: until X-RateLimit-Reset; secondary: Retry-After) before
// retrying a request once. Default 0: do not wait, fail with a
// [*RateLimitError].
func WithMaxRateLimitWait(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return fmt.Errorf("WithMaxRateLimitWait: negative wait %v", d)
		}
		o.MaxRateLimitWait = d
		return nil
	}
}

// WithPerPage sets the page size for listing releases and assets, from 1
// to 100. Default: [DefaultPerPage].
func WithPerPage(n int) Option {
	return func(o *options) error {
		if n < 1 || n > 100 {
			return fmt.Errorf("WithPerPage: %d outside [1, 100]", n)
		}
		o.PerPage = n
		return nil
	}
}

// WithName sets the title of a release the client creates. Default: its
// tag. A release that already exists keeps its own.
func WithName(name string) Option {
	return func(o *options) error {
		o.Name, o.release = name, true
		return nil
	}
}

// WithBody sets the description (Markdown) of a release the client
// creates. Default: empty. A release that already exists keeps its own.
func WithBody(body string) Option {
	return func(o *options) error {
		o.Body, o.release = body, true
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
		o.TargetCommitish, o.release = commitish, true
		return nil
	}
}

// WithPrerelease marks a release the client creates as a pre-release (or
// not, with false). Default: not a pre-release for [New]; for [NewRepo],
// a release is a pre-release when its version is one, and this option
// decides it for the release of [WithTag] only.
func WithPrerelease(pre bool) Option {
	return func(o *options) error {
		o.Prerelease, o.prereleaseSet, o.release = pre, true, true
		return nil
	}
}

// WithMakeLatest is passed to GitHub when the draft is published: "true",
// "false" or "legacy". Default: GitHub's default ("true" for a release
// that is not a pre-release).
func WithMakeLatest(v string) Option {
	return func(o *options) error {
		switch v {
		case "true", "false", "legacy":
		default:
			return fmt.Errorf("WithMakeLatest: %q: want true, false or legacy", v)
		}
		o.MakeLatest, o.release = v, true
		return nil
	}
}

// WithTag names, for [NewRepo], the tag of the release that the release
// options ([WithName], [WithBody], [WithTarget], [WithPrerelease],
// [WithMakeLatest]) describe: the release being published. Default: none;
// every release a Repo creates is then named after its tag and is a
// pre-release when its version is. [New] takes the tag as an argument.
func WithTag(tag string) Option {
	return func(o *options) error {
		if strings.TrimSpace(tag) == "" {
			return errors.New("WithTag: empty tag")
		}
		o.Tag, o.tag = tag, true
		return nil
	}
}

// WithIndexTag sets, for [NewRepo], the tag of the index release.
// Default: [manifest.IndexTag].
func WithIndexTag(tag string) Option {
	return func(o *options) error {
		if strings.TrimSpace(tag) == "" {
			return errors.New("WithIndexTag: empty tag")
		}
		o.IndexTag, o.repo = tag, "WithIndexTag"
		return nil
	}
}

// WithTagFor sets, for [NewRepo], the tag of a version's release.
// Default: "v" + version, which is what package release tags.
func WithTagFor(tagFor func(version string) string) Option {
	return func(o *options) error {
		if tagFor == nil {
			return errors.New("WithTagFor: nil function")
		}
		o.TagFor, o.repo = tagFor, "WithTagFor"
		return nil
	}
}
