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
// publish. The light example binaries keep the same promise. The opt-in
// decoder packages (install/xz, install/zstd) add one library each, and
// install never imports them: a self-updater links a decompressor only by
// importing its package.
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
		// The opt-in decoders: install's boundary plus exactly their one
		// decompression library each.
		"./install/xz": {"github.com/relkit/relkit/manifest", "github.com/relkit/relkit/verify", "github.com/relkit/relkit/install",
			"github.com/relkit/relkit/internal/", "github.com/ulikunitz/xz"},
		"./install/zstd": {"github.com/relkit/relkit/manifest", "github.com/relkit/relkit/verify", "github.com/relkit/relkit/install",
			"github.com/relkit/relkit/internal/", "github.com/klauspost/compress"},
	}
	// Packages inside an allowed prefix that a self-updater still must
	// not link unless it imports them itself.
	forbidden := map[string][]string{
		"./install":             {"github.com/relkit/relkit/install/xz", "github.com/relkit/relkit/install/zstd"},
		"./examples/selfupdate": {"github.com/relkit/relkit/install/xz", "github.com/relkit/relkit/install/zstd"},
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
			if hasAnyPrefix(dep, forbidden[pkg]) {
				t.Errorf("%s imports %s: the opt-in decoders are for programs that import them", pkg, dep)
				continue
			}
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
