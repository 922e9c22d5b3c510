// Package gitcmd runs the git binary for relkit's release packages
// (release and release/tap), and reports a failed command as an *Error
// that package release exports as release.GitError.
package gitcmd

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
)

// Error reports a git command that failed.
type Error struct {
	// Args are git's arguments ("clone", "-q", ...).
	Args []string
	// Stderr is the end of what git wrote on its standard error (at most
	// 2 KiB).
	Stderr string
	// Err is the cause (often an *exec.ExitError).
	Err error
}

// Error implements the error interface.
func (e *Error) Error() string {
	msg := "git " + strings.Join(e.Args, " ") + ": " + e.Err.Error()
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += ": " + s
	}
	return msg
}

// Unwrap returns the underlying error (often an *exec.ExitError).
func (e *Error) Unwrap() error { return e.Err }

// MaxStderr is how much of git's standard error an Error keeps.
const MaxStderr = 2048

// Git runs the real git binary in Dir, with Env added to the process's
// environment.
type Git struct {
	Dir string
	Env []string
}

// Cmd returns the command for git args.
func (g Git) Cmd(ctx context.Context, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, "git", args...)
	c.Dir = g.Dir
	if len(g.Env) > 0 {
		c.Env = append(c.Environ(), g.Env...)
	}
	return c
}

// Run runs git args and returns its stdout without the trailing newline,
// or an *Error.
func (g Git) Run(ctx context.Context, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	c := g.Cmd(ctx, args...)
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Run(); err != nil {
		return "", &Error{Args: args, Stderr: LastBytes(stderr.String(), MaxStderr), Err: err}
	}
	return strings.TrimRight(stdout.String(), "\n"), nil
}

// LastBytes returns the last n bytes of s, marked with "…" when cut.
func LastBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
