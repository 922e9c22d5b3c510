package release

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/relkit/relkit/publish/github"
	"github.com/relkit/relkit/publish/github/githubtest"
)

// TestUpdateTapsThroughGitHubContents: the tap and the bucket live on
// GitHub and are written through the contents API (github.Contents), one
// commit per changed file; a re-run changes nothing; a file changed by
// someone else meanwhile is read again and written; a repository the
// token cannot write is a *TapError.
func TestUpdateTapsThroughGitHubContents(t *testing.T) {
	srv := githubtest.NewServer(t)
	pubDir, pub, _ := publishedRelease(t, nil)
	writer := func(repo string) *github.Contents {
		c, err := github.NewContents("example", repo, "", github.WithToken(githubtest.Token), github.WithBaseURL(srv.URL))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := tapConfig(pubDir, pub, "", "")
	c.Homebrew = &TapRepo{URL: "https://github.com/example/homebrew-tap", Writer: writer("homebrew-tap")}
	c.Scoop = &TapRepo{URL: "https://github.com/example/scoop-bucket", Writer: writer("scoop-bucket")}
	res, err := UpdateTaps(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Updates) != 2 || !res.Updates[0].Changed || !res.Updates[1].Changed || res.Updates[0].Commit == "" {
		t.Fatalf("first run: %+v", res.Updates)
	}
	cask, ok := srv.File("example", "homebrew-tap", "Casks/hello.rb")
	if !ok || !strings.Contains(string(cask), `version "1.2.0"`) {
		t.Fatalf("cask on GitHub: %q", cask)
	}
	if _, ok := srv.File("example", "scoop-bucket", "bucket/hello.json"); !ok {
		t.Fatal("no Scoop manifest on GitHub")
	}
	// A re-run makes no commit.
	before := srv.Commits("example", "homebrew-tap") + srv.Commits("example", "scoop-bucket")
	res, err = UpdateTaps(t.Context(), c)
	if err != nil || res.Updates[0].Changed || res.Updates[1].Changed {
		t.Fatalf("re-run: %+v, %v", res, err)
	}
	if after := srv.Commits("example", "homebrew-tap") + srv.Commits("example", "scoop-bucket"); after != before {
		t.Errorf("the re-run made %d commits", after-before)
	}
	// Somebody edits the cask on GitHub: the next run writes it back.
	if _, _, err := writer("homebrew-tap").WriteFile(t.Context(), "Casks/hello.rb", []byte("# edited\n"), "edit"); err != nil {
		t.Fatal(err)
	}
	if res, err = UpdateTaps(t.Context(), c); err != nil || !res.Updates[0].Changed {
		t.Fatalf("after an edit: %+v, %v", res, err)
	}
	// A token that cannot write.
	srv.Fail = func(r *http.Request) (int, int) {
		if r.Method == http.MethodPut {
			return http.StatusForbidden, 0
		}
		return 0, 0
	}
	if _, _, err := writer("other").WriteFile(t.Context(), "x", []byte("x"), "x"); err == nil {
		t.Fatal("a refused write succeeded")
	}
	c2 := c
	c2.Homebrew = &TapRepo{URL: "https://github.com/example/locked", Writer: writer("locked")}
	c2.Scoop = nil
	var te *TapError
	if _, err := UpdateTaps(t.Context(), c2); !errors.As(err, &te) {
		t.Fatalf("unwritable tap: %v, want *TapError", err)
	}
}
