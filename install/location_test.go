package install

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/relkit/relkit/verify"
)

// TestLocationPrintsItsSource: the adapter through which verify reads
// the signed metadata prints as the source (base URL without
// credentials, directory, repository), so an error or report that embeds
// it names the place, not a struct dump (issue 16 item 8).
func TestLocationPrintsItsSource(t *testing.T) {
	h, err := newHTTPFetcher("https://user:secret@example.com/releases/hello", http.DefaultClient, "t")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	d, err := newDirFetcher(dir)
	if err != nil {
		t.Fatal(err)
	}
	g, err := newForgeFetcher(verify.ForgeRepo{Kind: verify.ForgeGitHub, Web: "https://github.com", API: "https://api.github.com", Owner: "acme", Repo: "hello"}, "", http.DefaultClient, "t")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		src  fetcher
		want string
	}{
		{h, "https://example.com/releases/hello/"},
		{d, dir},
		{g, "https://github.com/acme/hello"},
	} {
		var loc verify.Location = location{&downloader{src: c.src}}
		if got := fmt.Sprint(loc); got != c.want {
			t.Errorf("location over %T prints %q, want %q", c.src, got, c.want)
		}
	}
}
