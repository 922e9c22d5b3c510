package github

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"

	gh "github.com/google/go-github/v62/github"

	"github.com/relkit/relkit/publish"
)

// Contents writes files into a GitHub repository through the contents
// API, one commit per changed file: how tap.Update (package release/tap)
// updates a Homebrew tap or a Scoop bucket hosted on GitHub without a git
// client. It implements tap.Writer (WriteFile).
type Contents struct {
	store *Store
	// Branch is the branch written to ("" is the repository's default).
	Branch string
}

// NewContents returns a Contents for the repository owner/repo, writing
// to branch ("" is the repository's default branch). It takes the options
// every client takes ([WithToken], [WithBaseURL], [WithHTTPClient],
// [WithTimeout], [WithMaxRateLimitWait], ...), not the release options. It
// makes no request.
func NewContents(owner, repo, branch string, opts ...Option) (*Contents, error) {
	o, err := apply("NewContents", opts)
	if err != nil {
		return nil, err
	}
	o.Owner, o.Repo, o.Tag = owner, repo, "contents" // the tag is unused: the store requires one
	s, err := newStore(o)
	if err != nil {
		return nil, err
	}
	return &Contents{store: s, Branch: branch}, nil
}

// WriteFile makes path hold data, committing with message when it does
// not already; it reports whether it committed and the commit's SHA (""
// when nothing changed). A file changed by someone else between its read
// and the write is a 409 from GitHub: WriteFile reads it again and retries
// (bounded).
func (c *Contents) WriteFile(ctx context.Context, path string, data []byte, message string) (bool, string, error) {
	s := c.store
	o := s.opts
	for try := 0; try < 4; try++ {
		var cur *gh.RepositoryContent
		err := s.call(ctx, "get contents", path, func(ctx context.Context) (*gh.Response, error) {
			opt := &gh.RepositoryContentGetOptions{Ref: c.Branch}
			f, _, resp, err := s.client.Repositories.GetContents(ctx, o.Owner, o.Repo, path, opt)
			cur = f
			return resp, err
		})
		if err != nil && !errors.Is(err, publish.ErrNotExist) {
			return false, "", err
		}
		var sha *string
		if cur != nil {
			old, derr := cur.GetContent()
			if derr == nil && bytes.Equal([]byte(old), data) {
				return false, "", nil
			}
			sha = cur.SHA
		}
		opts := &gh.RepositoryContentFileOptions{Message: gh.String(message), Content: data, SHA: sha}
		if c.Branch != "" {
			opts.Branch = gh.String(c.Branch)
		}
		var commit string
		err = s.call(ctx, "put contents", path, func(ctx context.Context) (*gh.Response, error) {
			var res *gh.RepositoryContentResponse
			var resp *gh.Response
			var err error
			if sha == nil {
				res, resp, err = s.client.Repositories.CreateFile(ctx, o.Owner, o.Repo, path, opts)
			} else {
				res, resp, err = s.client.Repositories.UpdateFile(ctx, o.Owner, o.Repo, path, opts)
			}
			if res != nil {
				commit = res.Commit.GetSHA()
			}
			return resp, err
		})
		var se *publish.StatusError
		if errors.As(err, &se) && (se.StatusCode == http.StatusConflict || se.StatusCode == http.StatusUnprocessableEntity) {
			continue // changed meanwhile: read it again
		}
		if err != nil {
			return false, "", err
		}
		return true, commit, nil
	}
	return false, "", fmt.Errorf("github: %s/%s %s keeps changing while it is written: %w", o.Owner, o.Repo, path, publish.ErrChanged)
}

// String returns "github:OWNER/REPO".
func (c *Contents) String() string { return "github:" + c.store.opts.Owner + "/" + c.store.opts.Repo }
