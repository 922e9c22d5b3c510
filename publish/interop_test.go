package publish_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/relkit/relkit/internal/testenv"
	"github.com/relkit/relkit/publish/publishtest"
)

// TestDirStoreInterop publishes into a directory, checks the published
// version with `sha256sum -c SHA256SUMS`, serves the directory over HTTP
// (a web-served mirror) and downloads every Result URL with curl.
func TestDirStoreInterop(t *testing.T) {
	sha := testenv.Tool(t, "sha256sum")
	curl := testenv.Tool(t, "curl")
	staged := t.TempDir()
	publishtest.StageRelease(t, staged, publishtest.Release{})
	s := newDir(t)
	srv := httptest.NewServer(http.FileServer(http.Dir(s.Root())))
	defer srv.Close()
	s.BaseURL = srv.URL + "/"
	res, err := newPub(t, s).Publish(context.Background(), staged)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sha, "-c", "SHA256SUMS")
	cmd.Dir = filepath.Join(s.Root(), "1.0.0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c in the published directory: %v\n%s", err, b)
	}
	out := t.TempDir()
	for _, a := range res.Assets {
		dst := filepath.Join(out, "f")
		if b, err := exec.Command(curl, "-fsS", "-o", dst, a.URL).CombinedOutput(); err != nil {
			t.Fatalf("curl %s: %v\n%s", a.URL, err, b)
		}
		got, _ := os.ReadFile(dst)
		want, _ := os.ReadFile(filepath.Join(staged, filepath.FromSlash(a.Name)))
		if string(got) != string(want) {
			t.Errorf("curl %s: bytes differ", a.URL)
		}
	}
}
