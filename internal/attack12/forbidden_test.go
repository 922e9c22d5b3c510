//go:build attack12

package attack12

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/relkit/relkit/internal/attack12/harness"
	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/verify"
)

// s3Like serves dir as a public-read S3 bucket without s3:ListBucket for
// anonymous users does: a missing key is 403 AccessDenied, not 404.
func s3Like(dir string) *httptest.Server {
	fs := http.FileServer(http.Dir(dir))
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(r.URL.Path))); err != nil {
			http.Error(w, "<Error><Code>AccessDenied</Code></Error>", http.StatusForbidden)
			return
		}
		fs.ServeHTTP(w, r)
	}))
}

func TestForbiddenForMissing(t *testing.T) {
	ctx := context.Background()
	s := newSigner(t)
	ring, _ := verify.NewKeyRing(s.PublicKeyPEM())
	fetch := func(dir string) error {
		srv := s3Like(dir)
		defer srv.Close()
		loc, err := verify.NewHTTP(srv.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		v, _ := verify.NewVerifier(ring, verify.WithProject("hello"))
		_, err = v.FetchManifest(ctx, loc)
		return err
	}
	root, _ := harness.Prepare(ctx, s, t.TempDir(), "1.0.0", "", nil)

	// 1. A root as relkit published it before sigs/ (legacy files only).
	old := t.TempDir()
	st, _ := publish.NewDirStore(old)
	if err := harness.Publish(ctx, st, root, s); err != nil {
		t.Fatal(err)
	}
	if err := fetch(old); err != nil {
		t.Fatalf("setup: %v", err)
	}
	os.RemoveAll(filepath.Join(old, "sigs"))
	if err := fetch(verifyDirOK(t, old, ring)); err != nil {
		t.Errorf("BUG: a pre-sigs/ root served like S3 (403 for a missing key) no longer verifies, though verify.Dir accepts it: %v", err)
	}

	// 2. A staged release whose manifest has only manifest.json.sig
	// (no signatures.json), published as staged: only sigs/<h>.sig is written.
	root2, _ := harness.Prepare(ctx, s, t.TempDir(), "1.0.0", "", nil)
	os.Remove(filepath.Join(root2, "signatures.json"))
	d2 := t.TempDir()
	st2, _ := publish.NewDirStore(d2)
	p, _ := publish.New(st2)
	if _, err := p.Publish(ctx, root2); err != nil {
		t.Fatal(err)
	}
	if err := fetch(verifyDirOK(t, d2, ring)); err != nil {
		t.Errorf("BUG: a root freshly published with a detached signature only does not verify over S3-like HTTP: %v", err)
	}
}

func verifyDirOK(t *testing.T, dir string, ring *verify.KeyRing) string {
	v, _ := verify.NewVerifier(ring, verify.WithProject("hello"))
	if _, err := v.FetchManifest(context.Background(), verify.Dir(dir)); err != nil {
		t.Fatalf("verify.Dir refuses it too: %v", err)
	}
	return dir
}
