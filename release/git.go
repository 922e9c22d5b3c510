package release

import (
	"bytes"
	"context"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// GitError reports a git command that failed.
type GitError struct {
	Args   []string
	Stderr string
	Err    error
}

// Error implements the error interface.
func (e *GitError) Error() string {
	msg := "git " + strings.Join(e.Args, " ") + ": " + e.Err.Error()
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += ": " + s
	}
	return msg
}

// Unwrap returns the underlying error (often an *exec.ExitError).
func (e *GitError) Unwrap() error { return e.Err }

// git runs the real git binary in a directory.
type git struct {
	dir string
	env []string
}

func (g git) cmd(ctx context.Context, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, "git", args...)
	c.Dir = g.dir
	if len(g.env) > 0 {
		c.Env = append(c.Environ(), g.env...)
	}
	return c
}

// run returns git's stdout without the trailing newline.
func (g git) run(ctx context.Context, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	c := g.cmd(ctx, args...)
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Run(); err != nil {
		return "", &GitError{Args: args, Stderr: lastBytes(stderr.String(), 2048), Err: err}
	}
	return strings.TrimRight(stdout.String(), "\n"), nil
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

func lastBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
