//go:build attack12

package attack12

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/relkit/relkit/internal/attack12/harness"
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/release"
	"github.com/relkit/relkit/sign"
	"github.com/relkit/relkit/verify"
)

func newSigner(t testing.TB) *sign.KeySigner {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sign.NewSigner(k, "ecdsa-sha256")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ring(t testing.TB, ss ...*sign.KeySigner) *verify.KeyRing {
	var pems [][]byte
	for _, s := range ss {
		pems = append(pems, s.PublicKeyPEM())
	}
	r, err := verify.NewKeyRing(pems...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestPublishDropsKeysJSONEntries: a destination with keys.json certified
// by two root keys (the default RootThreshold: all pinned roots), as
// examples/keys rotate --dir DEST writes it. A release.Publish with
// Signers then replaces the root signatures.json; does keys.json still
// verify for a client pinning both roots?
func TestPublishDropsKeysJSONEntries(t *testing.T) {
	ctx := context.Background()
	signer := newSigner(t)
	r1, r2 := newSigner(t), newSigner(t)
	dest := t.TempDir()
	store, err := publish.NewDirStore(dest)
	if err != nil {
		t.Fatal(err)
	}
	root, err := harness.Prepare(ctx, signer, t.TempDir(), "1.0.0", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := harness.Publish(ctx, store, root, signer); err != nil {
		t.Fatal(err)
	}
	b := sign.NewProjectKeyBundle("hello", 1, time.Now(), 365*24*time.Hour)
	if _, err := sign.AddBundleKey(b, signer.PublicKey(), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := sign.SignKeyBundle(ctx, dest, b, r1, r2); err != nil {
		t.Fatal(err)
	}
	client := func(label string) error {
		tr := &verify.Trust{Roots: ring(t, r1, r2), Project: "hello", UnsafeMemoryState: true}
		v, err := tr.Verifier(ctx, verify.Dir(dest))
		if err != nil {
			t.Logf("%s: client: %v", label, err)
			return err
		}
		m, err := v.FetchManifest(ctx, verify.Dir(dest))
		if err != nil {
			t.Logf("%s: client manifest: %v", label, err)
			return err
		}
		t.Logf("%s: client OK, serial %d, %d releases", label, m.Serial, len(m.Releases))
		return nil
	}
	if err := client("after rotation"); err != nil {
		t.Fatal("setup: keys.json does not verify right after SignKeyBundle")
	}
	pub, _ := manifest.LoadFile(filepath.Join(dest, "manifest.json"))
	root2, err := harness.Prepare(ctx, signer, t.TempDir(), "1.1.0", "", pub)
	if err != nil {
		t.Fatal(err)
	}
	if err := harness.Publish(ctx, store, root2, signer); err != nil {
		t.Fatal(err)
	}
	if err := client("after publish 1.1.0 (release.Publish)"); err != nil {
		set, _ := os.ReadFile(filepath.Join(dest, "signatures.json"))
		t.Errorf("BUG: a publish made keys.json unverifiable for a client pinning both roots; root signatures.json now:\n%s", set)
	}
	// Refresh (Amend) carries the root signatures.json entries: does it restore?
	ac, err := harness.Amend(store, signer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := release.Refresh(ctx, ac); err != nil {
		t.Fatal(err)
	}
	client("after refresh")
}
