package giteatest_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/relkit/relkit/publish/gitea/giteatest"
)

// Start a server, create a release with the Gitea SDK and download its
// asset from the public download path.
func ExampleStart() {
	srv, err := giteatest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	srv.CreateRepo("acme", "hello", false)

	c, err := sdk.NewClient(srv.URL, sdk.SetToken(srv.Token))
	if err != nil {
		log.Fatal(err)
	}
	rel, _, err := c.CreateRelease("acme", "hello", sdk.CreateReleaseOption{TagName: "v1.0.0", Title: "v1.0.0"})
	if err != nil {
		log.Fatal(err)
	}
	if _, _, err := c.CreateReleaseAttachment("acme", "hello", rel.ID, strings.NewReader("hello\n"), "hello.txt"); err != nil {
		log.Fatal(err)
	}
	resp, err := http.Get(srv.URL + "/acme/hello/releases/download/v1.0.0/hello.txt")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Printf("%s %q\n", resp.Status, b)
	// Output: 200 OK "hello\n"
}

// NewServer is the form for tests: the server stops when the test ends.
func ExampleNewServer() {
	// In a test:
	//
	//	srv := giteatest.NewServer(t)
	//	srv.CreateRepo("acme", "hello", false)
	//	store, err := gitea.New(srv.URL, "acme", "hello", gitea.WithToken(srv.Token))
	fmt.Println(giteatest.Token != giteatest.ReadToken)
	// Output: true
}
