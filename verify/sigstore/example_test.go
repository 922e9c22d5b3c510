package sigstore_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/relkit/relkit/verify/sigstore"
)

// Verify a keyless signature of a release's SHA256SUMS, made by its
// GitHub Actions release workflow. Here sigstore-go's VirtualSigstore, in
// process, plays Fulcio and Rekor and writes the trusted root; a real
// verifier pins the public-good instance's trusted_root.json or fetches
// it through TUF.
func ExampleLoadTrustedRoot() {
	const workflow = "https://github.com/example/hello/.github/workflows/release.yml@refs/tags/v1.2.0"
	sums := []byte("4f9c...  hello-1.2.0-linux-amd64.tar.gz\n") // SHA256SUMS
	trustedRootJSON, bundleJSON, err := sigstore.VirtualRelease(workflow, "https://token.actions.githubusercontent.com", sums)
	if err != nil {
		log.Fatal(err)
	}

	tr, err := sigstore.LoadTrustedRoot(trustedRootJSON) // pinned or fetched out of band
	if err != nil {
		log.Fatal(err)
	}
	v, err := sigstore.NewVerifier(tr, sigstore.Identity{
		Issuer:    "https://token.actions.githubusercontent.com",
		SANRegexp: `^https://github\.com/example/hello/\.github/workflows/release\.yml@refs/tags/v`,
	})
	if err != nil {
		log.Fatal(err)
	}
	b, err := sigstore.ParseBundle(bundleJSON) // the bundle published with SHA256SUMS
	if err != nil {
		log.Fatal(err)
	}
	res, err := v.Verify(b, bytes.NewReader(sums)) // the artifact, read once
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed by", res.SAN)

	_, err = v.Verify(b, bytes.NewReader([]byte("other bytes")))
	fmt.Println("other bytes:", err != nil)
	// Output:
	// signed by https://github.com/example/hello/.github/workflows/release.yml@refs/tags/v1.2.0
	// other bytes: true
}
