package githubtest_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"github.com/relkit/relkit/publish/github/githubtest"
)

// PublishLayout puts a relkit release root into a repository in the
// forge layout, for client tests: the root files in the index release,
// each version's files in the release of its tag. Downloads redirect to
// the asset host, as on github.com.
func ExampleServer_PublishLayout() {
	srv, err := githubtest.Start()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "root")
	defer os.RemoveAll(dir)
	os.MkdirAll(filepath.Join(dir, "1.0.0"), 0o755)
	os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{"releases":[{"version":"1.0.0","tag":"v1.0.0"}]}`), 0o644)
	os.WriteFile(filepath.Join(dir, "1.0.0", "SHA256SUMS"), []byte("sums\n"), 0o644)
	if err := srv.PublishLayout("acme", "hello", dir); err != nil {
		panic(err)
	}
	resp, err := http.Get(srv.URL + "/acme/hello/releases/download/v1.0.0/SHA256SUMS")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("%s %q, via the asset host: %v\n", resp.Status, body, resp.Request.URL.Host != srv.URL[len("http://"):])
	for _, r := range srv.Releases("acme", "hello") {
		fmt.Println(r.Tag, r.Order, "pre-release:", r.Prerelease)
	}
	// Output:
	// 200 OK "sums\n", via the asset host: true
	// relkit-index [manifest.json] pre-release: true
	// v1.0.0 [SHA256SUMS] pre-release: false
}
