//go:build !windows

package install_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path"
	"strings"

	"github.com/relkit/relkit/install"
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish/github/githubtest"
	"github.com/relkit/relkit/verify"
)

// A program updates itself from the releases of its GitHub repository:
// Source names the repository ("github:OWNER/REPO", or
// "https://github.com/OWNER/REPO"), and the installer reads the forge
// layout publish/github writes through the public download URLs (no
// token, no API rate limit). Here the repository is the GitHub test
// server on 127.0.0.1, as a GitHub Enterprise Server would be named
// ("github:https://HOST/OWNER/REPO"). A private repository adds
// ForgeToken.
func ExampleConfig_forge() {
	rel := newExampleRelease("1.0.0") // a signed release root...
	defer rel.Close()
	gh, err := githubtest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer gh.Close()
	must(gh.PublishLayout("example", "hello", rel.root)) // ...published to example/hello
	dir, _ := os.MkdirTemp("", "bin")
	defer os.RemoveAll(dir)

	in, err := install.New(install.Config{
		Project: "hello",
		Source:  "github:" + gh.URL + "/example/hello",
		Dir:     dir,
		Trust:   &verify.Trust{Keys: rel.Keys},
	})
	if err != nil {
		log.Fatal(err)
	}
	res, err := in.Install(context.Background(), manifest.Query{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("installed", res.Project, res.Version, "from", path.Dir(strings.TrimPrefix(res.Source, gh.URL)))

	rel.Publish("1.1.0")
	must(gh.PublishLayout("example", "hello", rel.root))
	u, err := in.Check(context.Background(), manifest.Query{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("update available:", u.Available, u.Latest.Release.Version)
	// Output:
	// installed hello 1.0.0 from /example/hello/releases/download/v1.0.0
	// update available: true 1.1.0
}
