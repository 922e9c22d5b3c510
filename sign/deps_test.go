package sign

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCosignConfinedToOneFile: only cosign.go may import anything outside
// the standard library and relkit, so that the weight of cosign stays in
// one place and the PEM/Ed25519 code could move without it.
func TestCosignConfinedToOneFile(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	sawCosign := false
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(path, "/")
			if !strings.Contains(first, ".") || strings.HasPrefix(path, "github.com/relkit/relkit/") {
				continue // standard library or relkit
			}
			if name != "cosign.go" {
				t.Errorf("%s imports %s: only cosign.go may import outside the standard library and relkit", name, path)
			}
			if strings.HasPrefix(path, "github.com/sigstore/") {
				sawCosign = true
			}
		}
	}
	if !sawCosign {
		t.Error("cosign.go no longer imports sigstore: update this test and the package doc")
	}
}
