package github_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/relkit/relkit/internal/testenv"
	"github.com/relkit/relkit/publish/github"
	"github.com/relkit/relkit/publish/github/githubtest"
)

// TestCurlDownloadsResultURLs publishes to the fake and downloads every
// asset URL of the Result with curl, as a user would: the URLs work
// without a token once the release is published, and the bytes are the
// staged ones.
func TestCurlDownloadsResultURLs(t *testing.T) {
	curl := testenv.Tool(t, "curl")
	srv := githubtest.NewServer(t)
	dir, _ := stage(t)
	res, err := newPub(t, newStore(t, srv, "v1.0.0")).Publish(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	for _, a := range res.Assets {
		dst := filepath.Join(out, github.AssetName(a.Name))
		if b, err := exec.Command(curl, "-fsSL", "-o", dst, a.URL).CombinedOutput(); err != nil {
			t.Fatalf("curl %s: %v\n%s", a.URL, err, b)
		}
		got, _ := os.ReadFile(dst)
		want, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(a.Name)))
		if string(got) != string(want) {
			t.Errorf("curl %s: %d bytes differ from the staged %d", a.URL, len(got), len(want))
		}
	}
	// sha256sum -c accepts the downloaded archives against the downloaded
	// SHA256SUMS.
	sha := testenv.Tool(t, "sha256sum")
	cmd := exec.Command(sha, "-c", "SHA256SUMS")
	cmd.Dir = out
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c: %v\n%s", err, b)
	}
}
