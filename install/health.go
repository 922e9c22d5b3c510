package install

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/relkit/relkit/manifest"
)

// DefaultHealthTimeout bounds the default health check.
const DefaultHealthTimeout = 10 * time.Second

// maxHealthOutput bounds what the health check keeps of a binary's output.
const maxHealthOutput = 64 << 10

// HealthCheck is run after the new binaries are in place and before the
// install commits. It returns nil when the install is healthy; any error
// makes the installer restore the previous binaries. Binary is the path of
// the primary binary and Version the version it must be.
type HealthCheck func(ctx context.Context, binary, version string) error

// VersionCommand returns a [HealthCheck] that runs the binary with args
// (by default the single argument "version") and requires the output to
// name the new version: "1.2.0" or "v1.2.0" as a whole word, so that
// "1.2.0-rc.1" does not pass for "1.2.0". It is the default health check.
func VersionCommand(args ...string) HealthCheck {
	if len(args) == 0 {
		args = []string{"version"}
	}
	return func(ctx context.Context, binary, version string) error {
		cmd := exec.CommandContext(ctx, binary, args...)
		var out limitedBuffer
		out.max = maxHealthOutput
		cmd.Stdout = &out
		cmd.Stderr = &out
		cmd.WaitDelay = time.Second
		err := cmd.Run()
		if err != nil {
			return &healthOutputError{output: out.String(), err: fmt.Errorf("%s %s: %w", binary, strings.Join(args, " "), err)}
		}
		if !mentionsVersion(out.String(), version) {
			return &healthOutputError{output: out.String(), err: fmt.Errorf("%s %s does not report version %s", binary, strings.Join(args, " "), version)}
		}
		return nil
	}
}

// healthOutputError carries a binary's output up to the HealthCheckError.
type healthOutputError struct {
	output string
	err    error
}

// Error implements the error interface.
func (e *healthOutputError) Error() string { return e.err.Error() }

// Unwrap returns the underlying error, for errors.Is and errors.As.
func (e *healthOutputError) Unwrap() error { return e.err }

// mentionsVersion reports whether out contains version (with or without
// "v") as a whole token.
func mentionsVersion(out, version string) bool {
	v := strings.TrimPrefix(version, "v")
	want, err := manifest.ParseVersion(v)
	if err != nil {
		return false
	}
	isTok := func(c byte) bool {
		return c == '.' || c == '-' || c == '+' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	for i := 0; i < len(out); {
		// Split out into tokens of version characters.
		for i < len(out) && !isTok(out[i]) {
			i++
		}
		j := i
		for j < len(out) && isTok(out[j]) {
			j++
		}
		tok := strings.TrimRight(out[i:j], ".")
		i = j
		if tok == "" {
			continue
		}
		tok = strings.TrimPrefix(tok, "v")
		if got, err := manifest.ParseVersion(tok); err == nil && manifest.Compare(got, want) == 0 && len(got.Pre) == len(want.Pre) {
			return true
		}
	}
	return false
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// runHealth runs hc with a timeout and turns a failure into a
// *HealthCheckError.
func runHealth(ctx context.Context, hc HealthCheck, timeout time.Duration, binary, version string) *HealthCheckError {
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := hc(hctx, binary, version)
	if err == nil {
		return nil
	}
	he := &HealthCheckError{Binary: binary, Version: version, Err: err}
	var oe *healthOutputError
	if errors.As(err, &oe) {
		he.Output = oe.output
	}
	return he
}
