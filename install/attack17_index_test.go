package install

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/verify"
)

// attack17: a root on a public bucket without list permission answers
// 403 for every missing key. index.json is there, but its signatures are
// not (deleted, or not yet replicated): the index is present and does not
// verify, so a v2 client must refuse it, never read manifest.json instead
// (docs/wire-format.md, "Transition").
func TestAttack17IndexWithoutSignaturesOn403BucketIsNotBypassed(t *testing.T) {
	f, _ := longHistory(t, 40)
	// Remove every signature of index.json: content-addressed and legacy.
	des, err := os.ReadDir(filepath.Join(f.root, "sigs"))
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		if strings.HasPrefix(de.Name(), "index.json.") {
			os.Remove(filepath.Join(f.root, "sigs", de.Name()))
		}
	}
	// A legacy root set with no entries, so the v1 path works on this
	// bucket too: the fallback then succeeds silently.
	f.write("signatures.json", []byte(`{"schema":"`+verify.SignaturesSchema+`","signatures":[]}`))
	srv := f.serve()
	// S3 without s3:ListBucket: a missing key is a 403, not a 404.
	srv.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		if _, err := os.Stat(filepath.Join(f.root, filepath.FromSlash(strings.TrimPrefix(r.URL.Path, "/")))); errors.Is(err, os.ErrNotExist) {
			http.Error(w, "AccessDenied", http.StatusForbidden)
			return true
		}
		return false
	})
	in := f.installer(f.config(srv.URL, t.TempDir()))
	u, err := in.Check(context.Background(), manifest.Query{})
	var ve *VerificationError
	if !errors.As(err, &ve) {
		t.Errorf("Check with index.json present but unsigned (403 bucket) = %+v, %v; want a *VerificationError", u, err)
	}
	if got := srv.requests("/manifest.json"); len(got) != 0 {
		t.Errorf("the v2 client fell back to manifest.json although index.json is there: %v", got)
	}
}

// attack17 (held): the same with a 404 server: refused, no fallback.
func TestAttack17IndexWithoutSignaturesOn404IsRefused(t *testing.T) {
	f, _ := longHistory(t, 40)
	des, _ := os.ReadDir(filepath.Join(f.root, "sigs"))
	for _, de := range des {
		if strings.HasPrefix(de.Name(), "index.json.") {
			os.Remove(filepath.Join(f.root, "sigs", de.Name()))
		}
	}
	srv := f.serve()
	in := f.installer(f.config(srv.URL, t.TempDir()))
	_, err := in.Check(context.Background(), manifest.Query{})
	var ve *VerificationError
	if !errors.As(err, &ve) {
		t.Errorf("Check with an unsigned index = %v; want a *VerificationError", err)
	}
	if got := srv.requests("/manifest.json"); len(got) != 0 {
		t.Errorf("fell back to manifest.json: %v", got)
	}
}
