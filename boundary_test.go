package relkit_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDependencyBoundary enforces the import rules of docs/design.md: the
// packages a self-updater imports (manifest, verify, install) use only the
// standard library, golang.org/x and each other, so they never pull in cosign,
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

// TestForgeSDKBoundary: the Gitea SDK stays inside publish/gitea. A
// self-updater (manifest, verify, install, examples/selfupdate) never links
// code.gitea.io or go-github, whatever the other boundaries allow; and
// publish/gitea links the SDK, its own dependencies and the publish side
// of relkit only (no go-github, no AWS SDK, no cosign).
func TestForgeSDKBoundary(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	deps := func(pkg string) []string {
		t.Helper()
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		return strings.Fields(string(out))
	}
	for _, pkg := range []string{"./manifest", "./verify", "./install", "./examples/selfupdate"} {
		for _, dep := range deps(pkg) {
			if hasAnyPrefix(dep, []string{"code.gitea.io/", "github.com/google/go-github/", "github.com/relkit/relkit/publish/"}) {
				t.Errorf("%s imports %s: a self-updater downloads over plain HTTPS and links no forge SDK", pkg, dep)
			}
		}
	}
	allowed := []string{"code.gitea.io/sdk/gitea", "github.com/42wim/httpsig", "github.com/go-fed/httpsig",
		"github.com/davidmz/go-pageant", "github.com/hashicorp/go-version", "golang.org/x/",
		"github.com/relkit/relkit/publish", "github.com/relkit/relkit/manifest", "github.com/relkit/relkit/internal/"}
	found := false
	for _, dep := range deps("./publish/gitea") {
		found = found || dep == "code.gitea.io/sdk/gitea"
		if !hasAnyPrefix(dep, allowed) || hasAnyPrefix(dep, []string{"github.com/relkit/relkit/publish/github", "github.com/relkit/relkit/publish/s3", "github.com/relkit/relkit/publish/oci"}) {
			t.Errorf("publish/gitea imports %s, outside its boundary (the Gitea SDK and its dependencies, publish, manifest, internal)", dep)
		}
	}
	if !found {
		t.Error("publish/gitea does not link code.gitea.io/sdk/gitea: the boundary check is looking at the wrong package")
	}
}

// TestNameOnlyImports: release (and its leaf packages) and publish/oci use
// the published layout's names (package manifest owns them) and never
// link a forge SDK for them; only publish/github and publish/gitea, which
// talk to the forges, do.
func TestNameOnlyImports(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	for _, pkg := range []string{"./release/...", "./publish/oci", "./publish", "./verify"} {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.HasPrefix(dep, "github.com/google/go-github") || strings.HasPrefix(dep, "code.gitea.io/") ||
				dep == "github.com/relkit/relkit/publish/github" || dep == "github.com/relkit/relkit/publish/gitea" {
				t.Errorf("%s imports %s", pkg, dep)
			}
		}
	}
}
