//go:build attack12

package attack12

import (
	"context"
	"testing"
	"time"

	"github.com/relkit/relkit/internal/attack12/check"
	"github.com/relkit/relkit/internal/attack12/harness"
	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/release"
	"github.com/relkit/relkit/sign"
	"github.com/relkit/relkit/verify"
)

// TestOddTTLAndClock: a negative TTL, a tiny TTL, a publisher clock far
// in the past. Does a client still accept what was committed?
func TestOddTTLAndClock(t *testing.T) {
	ctx := context.Background()
	s := newSigner(t)
	pub, _ := check.ParsePub(s.PublicKeyPEM())
	base, _ := harness.Prepare(ctx, s, t.TempDir(), "1.0.0", "", nil)
	ring, _ := verify.NewKeyRing(s.PublicKeyPEM())
	for _, c := range []struct {
		name string
		ttl  time.Duration
		now  func() time.Time
	}{
		{"negative ttl", -time.Hour, nil},
		{"1ns ttl", time.Nanosecond, nil},
		{"clock a year behind", 0, func() time.Time { return time.Now().AddDate(-1, 0, 0) }},
		{"clock a year ahead", 0, func() time.Time { return time.Now().AddDate(1, 0, 0) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			dest := t.TempDir()
			st, _ := publish.NewDirStore(dest)
			if err := harness.Publish(ctx, st, base, s); err != nil {
				t.Fatal(err)
			}
			p, _ := publish.New(st)
			_, err := release.Refresh(ctx, release.AmendConfig{Project: "hello", Publisher: p, Keys: [][]byte{s.PublicKeyPEM()},
				Signers: []sign.Signer{s}, TTL: c.ttl, Now: c.now})
			res, _ := check.Root(check.DirReader(dest), pub)
			v, _ := verify.NewVerifier(ring, verify.WithProject("hello"))
			_, verr := v.FetchManifest(ctx, verify.Dir(dest))
			t.Logf("refresh err=%v; serial %d expires %s; client: %v", err, res.Serial, res.Expires, verr)
			if err == nil && verr != nil {
				t.Errorf("BUG: refresh succeeded but committed a manifest clients refuse: %v", verr)
			}
		})
	}
}
