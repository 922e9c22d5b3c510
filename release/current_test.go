package release

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/sign"
	"github.com/relkit/relkit/verify"
)

func TestCurrentManifest(t *testing.T) {
	signer, pub := newSigner(t)
	_, otherPub := newSigner(t)
	st := lightState(t)
	stages := []Stage{&Package{}, Checksums{}, &UpdateManifest{}, &SignManifest{Signers: []sign.Signer{signer}}}
	if err := (&Pipeline{Stages: stages, Logger: testLogger(t)}).Run(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	m, err := CurrentManifest(t.Context(), verify.Dir(st.Root), [][]byte{pub})
	if err != nil || m == nil || m.Project != "hello" {
		t.Fatalf("signed manifest: %v %v", m, err)
	}
	if _, err := CurrentManifest(t.Context(), verify.Dir(st.Root), [][]byte{otherPub}); !errors.Is(err, verify.ErrBadSignature) {
		t.Errorf("other key: err = %v, want ErrBadSignature", err)
	}
	// Tampered: a release injected into the bucket's manifest.
	path := filepath.Join(st.Root, manifest.File)
	data, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(data), `"serial": 1`, `"serial": 2`, 1)), 0o644)
	if _, err := CurrentManifest(t.Context(), verify.Dir(st.Root), [][]byte{pub}); !errors.Is(err, verify.ErrBadSignature) {
		t.Errorf("tampered: err = %v, want ErrBadSignature", err)
	}
	// First release: nothing there.
	if m, err := CurrentManifest(t.Context(), verify.Dir(t.TempDir()), [][]byte{pub}); m != nil || err != nil {
		t.Errorf("empty location: %v %v", m, err)
	}
	if _, err := CurrentManifest(t.Context(), verify.Dir(st.Root), nil); !errors.Is(err, ErrNoSigningKey) {
		t.Errorf("no keys: err = %v", err)
	}
}
