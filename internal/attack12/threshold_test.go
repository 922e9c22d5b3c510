//go:build attack12

package attack12

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/internal/attack12/harness"
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/release"
	"github.com/relkit/relkit/sign"
	"github.com/relkit/relkit/verify"
)

// TestMergeLaundersBelowThreshold: the project requires 2 of its 2
// signing keys (clients use Threshold 2). An attacker holding ONE key
// (A) and write access to the store plants a manifest signed by A alone
// that adds a release 6.6.6. Clients refuse it. Then CI publishes 1.1.0
// with both keys: does the merge accept the 1-of-2 manifest and re-sign
// it with both keys?
func TestMergeLaundersBelowThreshold(t *testing.T) {
	ctx := context.Background()
	a, b := newSigner(t), newSigner(t)
	keys := [][]byte{a.PublicKeyPEM(), b.PublicKeyPEM()}
	signers := []sign.Signer{a, b}
	dest := t.TempDir()
	st, _ := publish.NewDirStore(dest)
	pubWith := func(root string) error {
		p, _ := publish.New(st)
		_, err := release.Publish(ctx, release.PublishConfig{Root: root, Publisher: p, Keys: keys, Signers: signers,
			SummaryDir: filepath.Join(t.TempDir(), "s"), Logger: harness.Log()})
		return err
	}
	base, _ := harness.Prepare(ctx, a, t.TempDir(), "1.0.0", "", nil)
	if err := pubWith(base); err != nil {
		t.Fatal(err)
	}
	ring, _ := verify.NewKeyRing(keys...)
	client := func(label string) *manifest.Manifest {
		v, _ := verify.NewVerifier(ring, verify.WithThreshold(2), verify.WithProject("hello"))
		m, err := v.FetchManifest(ctx, verify.Dir(dest))
		if err != nil {
			t.Logf("%s: threshold-2 client refuses: %.200v", label, err)
			return nil
		}
		t.Logf("%s: threshold-2 client accepts serial %d", label, m.Serial)
		return m
	}
	client("after 1.0.0")
	// The forgery, signed by A only.
	data, _ := os.ReadFile(filepath.Join(dest, "manifest.json"))
	m, _ := manifest.Parse(data)
	r, _ := m.Release("1.0.0")
	evil := *r
	evil.Version = "6.6.6"
	evil.Commit = ""
	evil.Artifacts = nil
	for _, x := range r.Artifacts {
		x.Path = strings.ReplaceAll(x.Path, "1.0.0", "6.6.6")
		x.Name = strings.ReplaceAll(x.Name, "1.0.0", "6.6.6")
		evil.Artifacts = append(evil.Artifacts, x)
	}
	if _, err := m.Add(evil); err != nil {
		t.Fatal(err)
	}
	forged, _ := m.Marshal()
	resign(t, dest, forged, a)
	if client("after the forgery") != nil {
		t.Fatal("setup: a threshold-2 client accepted a 1-of-2 forgery")
	}
	var err error
	if os.Getenv("A12_VIA") == "refresh" {
		p, _ := publish.New(st)
		_, err = release.Refresh(ctx, release.AmendConfig{Project: "hello", Publisher: p, Keys: keys, Signers: signers})
	} else {
		next, _ := harness.Prepare(ctx, a, t.TempDir(), "1.1.0", "", nil)
		err = pubWith(next)
	}
	t.Logf("CI publish of 1.1.0 with both keys: %v", err)
	if got := client("after CI's publish"); got != nil {
		if _, ok := got.Release("6.6.6"); ok {
			t.Errorf("BUG: the merge accepted a manifest signed by 1 of the 2 required keys and re-signed it with both: threshold-2 clients now accept the attacker's release 6.6.6")
		}
	}
}
