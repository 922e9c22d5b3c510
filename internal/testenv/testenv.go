// Package testenv holds helpers for relkit's tests: finding the real tools
// (sha256sum, openssl, cosign, versitygw) that interop tests run.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Interop reports whether RELKIT_INTEROP=1 is set: interop tests must then
// fail, not skip, when a tool is missing. .ci/run sets it.
func Interop() bool { return os.Getenv("RELKIT_INTEROP") == "1" }

// Tool returns the path of the named tool. It looks on PATH and then in
// $(go env GOPATH)/bin (where .ci/run installs the Go-built tools). When
// the tool is missing it skips the test, or fails it when [Interop] is set.
func Tool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range goBinDirs() {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	if Interop() {
		t.Fatalf("interop tool %q not found on PATH or in GOPATH/bin, and RELKIT_INTEROP=1 (run .ci/tools.sh)", name)
	}
	t.Skipf("interop tool %q not found; install it with .ci/tools.sh (set RELKIT_INTEROP=1 to make this a failure)", name)
	return ""
}

func goBinDirs() []string {
	var dirs []string
	if d := os.Getenv("GOBIN"); d != "" {
		dirs = append(dirs, d)
	}
	if d := os.Getenv("GOPATH"); d != "" {
		for _, p := range filepath.SplitList(d) {
			dirs = append(dirs, filepath.Join(p, "bin"))
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	return dirs
}
