package oci_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestOCIDependencies: publish/oci writes cosign signatures with
// go-containerregistry alone, so it links no cosign or sigstore package
// (which would bring several hundred more), and no forge SDK or AWS SDK.
func TestOCIDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	sawGGCR := false
	for _, dep := range strings.Fields(string(out)) {
		for _, bad := range []string{"github.com/sigstore/", "github.com/secure-systems-lab/", "github.com/google/go-github/", "code.gitea.io/", "github.com/aws/"} {
			if strings.HasPrefix(dep, bad) {
				t.Errorf("publish/oci imports %s", dep)
			}
		}
		sawGGCR = sawGGCR || dep == "github.com/google/go-containerregistry/pkg/v1/remote"
	}
	if !sawGGCR {
		t.Error("publish/oci does not link go-containerregistry's remote: the check is looking at the wrong package")
	}
}
