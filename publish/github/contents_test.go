package github_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/relkit/relkit/publish/github"
	"github.com/relkit/relkit/publish/github/githubtest"
)

// TestContentsWriteFile: create, no-op, update, and a 409 (the file
// changed between the read and the write) read again and retried.
func TestContentsWriteFile(t *testing.T) {
	srv := githubtest.NewServer(t)
	c, err := github.NewContents("acme", "tap", "", github.WithToken(githubtest.Token), github.WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i, step := range []struct {
		data    string
		changed bool
	}{{"v1\n", true}, {"v1\n", false}, {"v2\n", true}} {
		changed, _, err := c.WriteFile(ctx, "Casks/hello.rb", []byte(step.data), "update hello")
		if err != nil || changed != step.changed {
			t.Fatalf("step %d: changed %v, %v", i, changed, err)
		}
	}
	var conflicts atomic.Int32
	srv.Fail = func(r *http.Request) (int, int) {
		if r.Method == http.MethodPut && conflicts.Add(1) == 1 {
			return http.StatusConflict, 0
		}
		return 0, 0
	}
	if changed, _, err := c.WriteFile(ctx, "Casks/hello.rb", []byte("v3\n"), "update hello"); err != nil || !changed {
		t.Fatalf("after a 409: changed %v, %v", changed, err)
	}
	if got, _ := srv.File("acme", "tap", "Casks/hello.rb"); string(got) != "v3\n" || srv.Commits("acme", "tap") != 3 {
		t.Fatalf("file %q after %d commits", got, srv.Commits("acme", "tap"))
	}
}
