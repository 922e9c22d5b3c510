//go:build attack12

package attack12

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/relkit/relkit/internal/attack12/check"
	"github.com/relkit/relkit/internal/attack12/harness"
	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/verify"
)

// TestRolledBackDestination: an operator restores manifest.json from a
// backup (or an S3 "restore previous version", or a stale mirror sync):
// the older manifest still verifies, because sigs/ keeps its signatures
// forever. What does the next publish do?
func TestRolledBackDestination(t *testing.T) {
	ctx := context.Background()
	s := newSigner(t)
	pub, _ := check.ParsePub(s.PublicKeyPEM())
	dest := t.TempDir()
	st, _ := publish.NewDirStore(dest)
	state := verify.NewMemoryState()
	r, _ := verify.NewKeyRing(s.PublicKeyPEM())
	client := func(label string) {
		v, _ := verify.NewVerifier(r, verify.WithProject("hello"), verify.WithState(state))
		m, err := v.FetchManifest(ctx, verify.Dir(dest))
		if err != nil {
			t.Logf("%s: client with state refuses: %v", label, err)
			return
		}
		var vs []string
		for _, x := range m.Releases {
			vs = append(vs, x.Version)
		}
		t.Logf("%s: client with state accepts serial %d %v", label, m.Serial, vs)
	}
	var backup []byte
	for i, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		root, _ := harness.Prepare(ctx, s, t.TempDir(), v, "", nil)
		if err := harness.Publish(ctx, st, root, s); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			backup, _ = os.ReadFile(filepath.Join(dest, "manifest.json"))
		}
		client("after " + v)
	}
	os.WriteFile(filepath.Join(dest, "manifest.json"), backup, 0o644) // the restore
	root, _ := harness.Prepare(ctx, s, t.TempDir(), "1.3.0", "", nil)
	err := harness.Publish(ctx, st, root, s)
	res, cerr := check.Root(check.DirReader(dest), pub)
	t.Logf("publish 1.3.0 into the rolled-back destination: err=%v; now serial %d versions %v (checker: %v)", err, res.Serial, res.Versions, cerr)
	if err == nil && len(res.Missing([]string{"1.1.0", "1.2.0"})) > 0 {
		t.Errorf("BUG: the publish re-signed a manifest that drops 1.1.0/1.2.0 (serial %d reused: the serial of an earlier, different manifest; clients that saw serial 3 refuse it until serials pass 3, then silently lose 1.1.0 and 1.2.0)", res.Serial)
	}
	client("after 1.3.0")
	fresh := verify.NewMemoryState()
	v, _ := verify.NewVerifier(r, verify.WithProject("hello"), verify.WithState(fresh))
	if m, err := v.FetchManifest(ctx, verify.Dir(dest)); err == nil {
		t.Logf("a new client accepts serial %d with %d releases", m.Serial, len(m.Releases))
	}
}
