package verify

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/relkit/relkit"

// allowedDep reports whether a non-standard package may be a dependency of
// verify, manifest or install: only golang.org/x and relkit's own
// manifest, verify and internal packages. This is the promise to
// importers: a self-updater importing verify pulls no cosign, sigstore, aws
// or go-github code.
func allowedDep(importPath string) bool {
	if strings.HasPrefix(importPath, "golang.org/x/") {
		return true
	}
	for _, p := range []string{"/manifest", "/verify", "/install"} {
		if importPath == module+p {
			return true
		}
	}
	return strings.HasPrefix(importPath, module+"/internal/") || strings.HasPrefix(importPath, module+"/install/")
}

func TestAllowedDep(t *testing.T) {
	for _, ok := range []string{"golang.org/x/mod/semver", module + "/manifest", module + "/internal/atomicfile"} {
		if !allowedDep(ok) {
			t.Errorf("%s refused", ok)
		}
	}
	for _, bad := range []string{"github.com/sigstore/sigstore-go/pkg/verify", "github.com/sigstore/cosign/v2/pkg/cosign",
		"github.com/aws/aws-sdk-go-v2/service/s3", "github.com/google/go-github/v62/github", module + "/sign", module + "/publish/s3", module + "/verify/sigstore"} {
		if allowedDep(bad) {
			t.Errorf("%s allowed", bad)
		}
	}
}

// TestDependencyBoundary runs `go list -deps` on verify (and manifest and
// install when present) and fails on any package outside the standard
// library, golang.org/x and relkit's light packages.
func TestDependencyBoundary(t *testing.T) {
	gobin := filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		if gobin, err = exec.LookPath("go"); err != nil {
			t.Fatal("go command not found")
		}
	}
	pkgs := []string{"./verify"}
	for _, p := range []string{"manifest", "install"} {
		if m, _ := filepath.Glob(filepath.Join("..", p, "*.go")); len(m) > 0 {
			pkgs = append(pkgs, "./"+p)
		}
	}
	for _, p := range pkgs {
		cmd := exec.Command(gobin, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", p)
		cmd.Dir = ".."
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", p, err, out)
		}
		n := 0
		for _, dep := range strings.Fields(string(out)) {
			n++
			if !allowedDep(dep) {
				t.Errorf("%s depends on %s: only the standard library, golang.org/x and relkit's manifest/verify/internal are allowed", p, dep)
			}
		}
		if n == 0 {
			t.Errorf("go list -deps %s listed nothing: the check is not running", p)
		}
	}
}
