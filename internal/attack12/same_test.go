//go:build attack12

package attack12

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/relkit/relkit/internal/attack12/check"
)

// TestSameVersionTwice: a tag push and a re-run of the same job publish
// the same version at once, each from its own Prepare (same inputs).
// Both should succeed and the version be listed once.
func TestSameVersionTwice(t *testing.T) {
	trials := 10
	if s := os.Getenv("A12_TRIALS"); s != "" {
		fmt.Sscan(s, &trials)
	}
	kf := newKeyFiles(t)
	a := stageVersions(t, kf, "", "5.0.0", "5.1.0")
	b := stageVersions(t, kf, "", "5.1.0")
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			fails := 0
			for i := range trials {
				dest, read := tg.dest(t, 200+i)
				r := start(t, tg.env, "publish", "-staged", a["5.0.0"], "-dest", dest, "-key", kf.key())
				if err := r.wait(t, 60*time.Second); err != nil {
					t.Fatal(err, r.stderr.String())
				}
				r1 := start(t, tg.env, "publish", "-staged", a["5.1.0"], "-dest", dest, "-key", kf.key())
				r2 := start(t, tg.env, "publish", "-staged", b["5.1.0"], "-dest", dest, "-key", kf.key())
				for j, r := range []*run{r1, r2} {
					if err := r.wait(t, 60*time.Second); err != nil {
						fails++
						t.Errorf("trial %d publisher %d: %v %s", i, j, err, tail(r.stderr.String(), 400))
					}
				}
				res, err := check.Root(read, kf.pub)
				if err != nil || len(res.Versions) != 2 || !strings.Contains(strings.Join(res.Versions, ","), "5.1.0") {
					t.Errorf("BUG trial %d: %v %+v", i, err, res)
				}
			}
			t.Logf("%s: %d trials, %d publisher failures", tg.name, trials, fails)
		})
	}
}
