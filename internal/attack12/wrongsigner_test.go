//go:build attack12

package attack12

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/relkit/relkit/internal/attack12/check"
	"github.com/relkit/relkit/internal/attack12/harness"
	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/release"
	"github.com/relkit/relkit/sign"
)

// TestSignerNotInKeys: CI signs with a key that Keys (the trust list the
// destination is verified with) does not contain — a half-done signing
// key rotation. Is the commit refused before manifest.json is replaced?
func TestSignerNotInKeys(t *testing.T) {
	ctx := context.Background()
	a, b := newSigner(t), newSigner(t)
	pubA, _ := check.ParsePub(a.PublicKeyPEM())
	dest := t.TempDir()
	st, _ := publish.NewDirStore(dest)
	base, _ := harness.Prepare(ctx, a, t.TempDir(), "1.0.0", "", nil)
	if err := harness.Publish(ctx, st, base, a); err != nil {
		t.Fatal(err)
	}
	next, _ := harness.Prepare(ctx, a, t.TempDir(), "1.1.0", "", nil)
	p, _ := publish.New(st)
	_, err := release.Publish(ctx, release.PublishConfig{Root: next, Publisher: p, Keys: [][]byte{a.PublicKeyPEM()},
		Signers: []sign.Signer{b}, SummaryDir: filepath.Join(t.TempDir(), "s"), Logger: harness.Log()})
	_, cerr := check.Root(check.DirReader(dest), pubA)
	t.Logf("publish signed by a key not in Keys: err=%v; root verifies with the trusted key: %v", err, cerr == nil)
	if cerr != nil {
		t.Errorf("BUG: manifest.json was replaced by one that the trusted keys do not verify (%v); publish returned %v", cerr, err)
		// and the next publish with the right key?
		next2, _ := harness.Prepare(ctx, a, t.TempDir(), "1.2.0", "", nil)
		t.Logf("next publish with the right key: %v", harness.Publish(ctx, st, next2, a))
	}
}
