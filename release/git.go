package release

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/relkit/relkit/internal/gitcmd"
)

// GitError reports a git command that failed: its fields are Args (git's
// arguments), Stderr (the end of git's standard error, at most 2 KiB) and
// Err (the cause, often an *exec.ExitError); Unwrap returns Err. The
// release/tap package's errors wrap the same type.
type GitError = gitcmd.Error

// git runs the real git binary in a directory.
type git struct {
	dir string
	env []string
}

func (g git) cmd(ctx context.Context, args ...string) *exec.Cmd {
	return gitcmd.Git{Dir: g.dir, Env: g.env}.Cmd(ctx, args...)
}

// run returns git's stdout without the trailing newline.
func (g git) run(ctx context.Context, args ...string) (string, error) {
	return gitcmd.Git{Dir: g.dir, Env: g.env}.Run(ctx, args...)
}

func (g git) isRepo(ctx context.Context) bool {
	out, err := g.run(ctx, "rev-parse", "--is-inside-work-tree")
	return err == nil && out == "true"
}

func (g git) head(ctx context.Context) (string, error) {
	return g.run(ctx, "rev-parse", "--verify", "HEAD^{commit}")
}

func (g git) commitTime(ctx context.Context, rev string) (time.Time, error) {
	out, err := g.run(ctx, "log", "-1", "--format=%ct", rev)
	if err != nil {
		return time.Time{}, err
	}
	sec, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
	if err != nil {
		return time.Time{}, &GitError{Args: []string{"log", "-1", "--format=%ct", rev}, Err: err}
	}
	return time.Unix(sec, 0).UTC(), nil
}

func lastBytes(s string, n int) string { return gitcmd.LastBytes(s, n) }
