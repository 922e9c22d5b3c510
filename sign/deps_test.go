package sign

import (
	"os/exec"
	"strings"
	"testing"
)

// TestSignDependencies: package sign links the standard library,
// golang.org/x (scrypt and secretbox for the cosign key format) and relkit's
// own verify, manifest and internal packages, nothing else. In particular
// no github.com/sigstore/ package (cosign, sigstore) and no
// go-securesystemslib: the cosign key format is implemented here, so a
// release tool that signs does not link several hundred packages for it.
func TestSignDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	allowed := []string{"golang.org/x/", "github.com/relkit/relkit/sign", "github.com/relkit/relkit/verify",
		"github.com/relkit/relkit/manifest", "github.com/relkit/relkit/internal/"}
	sawCrypto := false
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/sigstore/") || strings.HasPrefix(dep, "github.com/secure-systems-lab/") {
			t.Errorf("sign imports %s: the cosign key format needs only golang.org/x/crypto", dep)
			continue
		}
		ok := false
		for _, p := range allowed {
			ok = ok || dep == strings.TrimSuffix(p, "/") || strings.HasPrefix(dep, strings.TrimSuffix(p, "/")+"/")
		}
		if !ok {
			t.Errorf("sign imports %s, outside its boundary (stdlib, golang.org/x, relkit's verify, manifest and internal)", dep)
		}
		sawCrypto = sawCrypto || dep == "golang.org/x/crypto/scrypt"
	}
	if !sawCrypto {
		t.Error("sign does not link golang.org/x/crypto/scrypt: the check is looking at the wrong package")
	}
}
