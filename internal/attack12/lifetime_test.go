//go:build attack12

package attack12

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/relkit/relkit/internal/attack12/check"
	"github.com/relkit/relkit/internal/attack12/harness"
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/release"
	"github.com/relkit/relkit/verify"
)

// TestLifetimeOdd: yank/deprecate/prune with odd inputs on a channel with
// stable and nightly releases. Every refusal must change no root file;
// every success must leave a root the checker and a client accept.
func TestLifetimeOdd(t *testing.T) {
	ctx := context.Background()
	s := newSigner(t)
	pub, _ := check.ParsePub(s.PublicKeyPEM())
	tmpl := t.TempDir()
	st0, _ := publish.NewDirStore(tmpl)
	for _, v := range []struct{ v, ch string }{{"1.0.0", ""}, {"1.1.0", ""}, {"2.0.0-nightly.1", "nightly"}, {"2.0.0-nightly.2", "nightly"}, {"2.0.0-nightly.3", "nightly"}} {
		r, err := harness.Prepare(ctx, s, t.TempDir(), v.v, v.ch, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := harness.Publish(ctx, st0, r, s); err != nil {
			t.Fatal(err)
		}
	}
	type op func(ac release.AmendConfig) (*release.AmendResult, error)
	prune := func(p manifest.RetentionPolicy) op {
		return func(ac release.AmendConfig) (*release.AmendResult, error) { return release.Prune(ctx, ac, p) }
	}
	yank := func(v, reason string) op {
		return func(ac release.AmendConfig) (*release.AmendResult, error) { return release.Yank(ctx, ac, v, reason) }
	}
	cases := []struct {
		name string
		op   op
	}{
		{"yank missing", yank("9.9.9", "x")},
		{"yank empty reason", yank("1.1.0", "")},
		{"yank v-prefixed", yank("v1.1.0", "x")},
		{"yank twice", func(ac release.AmendConfig) (*release.AmendResult, error) {
			if _, err := release.Yank(ctx, ac, "1.1.0", "x"); err != nil {
				return nil, err
			}
			return release.Yank(ctx, ac, "1.1.0", "y")
		}},
		{"yank every stable", func(ac release.AmendConfig) (*release.AmendResult, error) {
			if _, err := release.Yank(ctx, ac, "1.1.0", "x"); err != nil {
				return nil, err
			}
			return release.Yank(ctx, ac, "1.0.0", "y")
		}},
		{"deprecate missing", func(ac release.AmendConfig) (*release.AmendResult, error) {
			return release.Deprecate(ctx, ac, "0.0.1", "x")
		}},
		{"prune keep 0", prune(manifest.RetentionPolicy{Channels: []string{"nightly"}, Keep: 0})},
		{"prune keep -1", prune(manifest.RetentionPolicy{Channels: []string{"nightly"}, Keep: -1})},
		{"prune stable channel", prune(manifest.RetentionPolicy{Channels: []string{"stable"}, Keep: 1})},
		{"prune no channel", prune(manifest.RetentionPolicy{Keep: 1})},
		{"prune unknown channel", prune(manifest.RetentionPolicy{Channels: []string{"beta"}, Keep: 1})},
		{"prune Nightly case", prune(manifest.RetentionPolicy{Channels: []string{"Nightly"}, Keep: 1})},
		{"prune nightly keep 1", prune(manifest.RetentionPolicy{Channels: []string{"nightly"}, Keep: 1})},
		{"prune missing version", prune(manifest.RetentionPolicy{Keep: 1, Versions: []string{"9.9.9"}})},
		{"prune latest stable by name", prune(manifest.RetentionPolicy{Keep: 1, Versions: []string{"1.1.0"}})},
		{"prune everything by name", prune(manifest.RetentionPolicy{Keep: 1, Versions: []string{"1.0.0", "1.1.0", "2.0.0-nightly.1", "2.0.0-nightly.2", "2.0.0-nightly.3"}})},
		{"prune duplicate names", prune(manifest.RetentionPolicy{Keep: 1, Versions: []string{"1.0.0", "1.0.0", "v1.0.0"}})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := cpDir(t, tmpl)
			st, _ := publish.NewDirStore(d)
			ac, _ := harness.Amend(st, s)
			before := rootFiles(t, d)
			res, err := c.op(ac)
			after := rootFiles(t, d)
			cr, cerr := check.Root(check.DirReader(d), pub)
			if err != nil {
				t.Logf("refused: %T %.250v", err, err)
				if dd := diff(before, after); len(dd) > 0 && c.name != "yank twice" && c.name != "yank every stable" {
					t.Errorf("BUG: a refused op changed root files: %v", dd)
				}
			} else {
				t.Logf("ok: serial %d removed %v; versions %v status %v channels %v", res.Root.Serial, res.Removed, cr.Versions, cr.Status, cr.Channels)
			}
			if cerr != nil {
				t.Errorf("BUG: root does not verify: %v", cerr)
			}
			// A client.
			r, _ := verify.NewKeyRing(s.PublicKeyPEM())
			v, _ := verify.NewVerifier(r, verify.WithProject("hello"))
			if _, err := v.FetchManifest(ctx, verify.Dir(d)); err != nil {
				t.Errorf("BUG: a client refuses the manifest after the op: %v", err)
			}
			// And a later publish still works.
			nr, err := harness.Prepare(ctx, s, t.TempDir(), "1.2.0", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := harness.Publish(ctx, st, nr, s); err != nil {
				t.Errorf("BUG: a publish after the op fails: %v", err)
			}
		})
	}
	// Re-running the publish of a pruned release: does it come back?
	t.Run("republish pruned", func(t *testing.T) {
		d := cpDir(t, tmpl)
		st, _ := publish.NewDirStore(d)
		ac, _ := harness.Amend(st, s)
		if _, err := release.Prune(ctx, ac, manifest.RetentionPolicy{Keep: 1, Versions: []string{"1.0.0"}}); err != nil {
			t.Fatal(err)
		}
		r, _ := harness.Prepare(ctx, s, t.TempDir(), "1.0.0", "", nil)
		err := harness.Publish(ctx, st, r, s)
		cr, _ := check.Root(check.DirReader(d), pub)
		t.Logf("re-publish of pruned 1.0.0: err=%v; listed again: %v", err, len(cr.Missing([]string{"1.0.0"})) == 0)
		if err == nil && len(cr.Missing([]string{"1.0.0"})) == 0 {
			t.Errorf("BUG?: a late re-run of a pruned release's publish silently brings it back (serial %d)", cr.Serial)
		}
	})
	t.Run("republish yanked", func(t *testing.T) {
		d := cpDir(t, tmpl)
		st, _ := publish.NewDirStore(d)
		ac, _ := harness.Amend(st, s)
		if _, err := release.Yank(ctx, ac, "1.1.0", "broken"); err != nil {
			t.Fatal(err)
		}
		r, _ := harness.Prepare(ctx, s, t.TempDir(), "1.1.0", "", nil)
		err := harness.Publish(ctx, st, r, s)
		cr, _ := check.Root(check.DirReader(d), pub)
		t.Logf("re-publish of yanked 1.1.0: err=%v; status now %q", err, cr.Status["1.1.0"])
		if cr.Status["1.1.0"] != "yanked" {
			t.Errorf("BUG: re-publishing un-yanked 1.1.0")
		}
	})
	_ = fmt.Sprint
	_ = os.Remove
	_ = filepath.Join
}
