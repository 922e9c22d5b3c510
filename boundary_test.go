package relkit_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDependencyBoundary enforces DESIGN.md's import rules: the packages a
// self-updater imports (manifest, verify, install) use only the standard
// library, golang.org/x and each other, so they never pull in cosign,
// sigstore, the AWS SDK or go-github; and install never imports sign or
// publish. The light example binaries keep the same promise.
func TestDependencyBoundary(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	allowed := map[string][]string{
		"./manifest": {"github.com/relkit/relkit/manifest", "github.com/relkit/relkit/internal/"},
		"./verify":   {"github.com/relkit/relkit/manifest", "github.com/relkit/relkit/verify", "github.com/relkit/relkit/internal/"},
		"./install":  {"github.com/relkit/relkit/manifest", "github.com/relkit/relkit/verify", "github.com/relkit/relkit/install", "github.com/relkit/relkit/internal/"},
		"./examples/selfupdate": {"github.com/relkit/relkit/manifest", "github.com/relkit/relkit/verify",
			"github.com/relkit/relkit/install", "github.com/relkit/relkit/internal/", "github.com/relkit/relkit/examples/selfupdate"},
	}
	checked := 0
	for pkg, ok := range allowed {
		if !hasGoFiles(pkg) {
			t.Logf("%s does not exist yet", pkg)
			continue
		}
		checked++
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.HasPrefix(dep, "golang.org/x/") || hasAnyPrefix(dep, ok) {
				continue
			}
			t.Errorf("%s imports %s, outside its boundary (stdlib, golang.org/x, %s)", pkg, dep, strings.Join(ok, ", "))
		}
	}
	if checked == 0 {
		t.Fatal("no package checked")
	}
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if s == p || strings.HasPrefix(s, strings.TrimSuffix(p, "/")+"/") {
			return true
		}
	}
	return false
}

func hasGoFiles(dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, f := range m {
		if !strings.HasSuffix(f, "_test.go") {
			if _, err := os.Stat(f); err == nil {
				return true
			}
		}
	}
	return false
}
