//go:build attack12

package attack12

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/relkit/relkit/internal/attack12/check"
)

// TestSwarm: N processes publish N versions at once into an EMPTY
// destination (the first manifest is create-only), then N more into the
// now non-empty one. RaceError is allowed (MaxMergeAttempts) but must
// leave the loser's release unlisted; every success must be listed.
func TestSwarm(t *testing.T) {
	n, trials := 8, 5
	if s := os.Getenv("A12_PROCS"); s != "" {
		fmt.Sscan(s, &n)
	}
	if s := os.Getenv("A12_TRIALS"); s != "" {
		fmt.Sscan(s, &trials)
	}
	kf := newKeyFiles(t)
	var vs []string
	for i := range trials {
		for j := range 2 * n {
			vs = append(vs, fmt.Sprintf("4.%d.%d", i, j))
		}
	}
	staged := stageVersions(t, kf, "", vs...)
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			races, ok := 0, 0
			for i := range trials {
				dest, read := tg.dest(t, 100+i)
				reader := start(t, tg.env, "reader", "-dest", dest, "-key", kf.key(), "-dur", "120s", "-timeout", "130s")
				var want []string
				for wave := range 2 {
					var runs []*run
					var mine []string
					for j := range n {
						v := fmt.Sprintf("4.%d.%d", i, wave*n+j)
						mine = append(mine, v)
						runs = append(runs, start(t, tg.env, "publish", "-staged", staged[v], "-dest", dest, "-key", kf.key()))
					}
					for j, r := range runs {
						if err := r.wait(t, 120*time.Second); err != nil {
							if strings.Contains(r.stderr.String(), "TYPE RaceError") {
								races++
								continue
							}
							t.Errorf("trial %d wave %d: %s failed: %v %s", i, wave, mine[j], err, tail(r.stderr.String(), 800))
							continue
						}
						ok++
						want = append(want, mine[j])
					}
				}
				reader.cmd.Process.Signal(syscall.SIGKILL)
				<-reader.done
				if strings.Contains(reader.stdout.String(), "FAIL") {
					t.Errorf("BUG trial %d: reader failures:\n%s", i, tail(reader.stdout.String(), 2000))
				}
				res, err := check.Root(read, kf.pub)
				if err != nil {
					t.Errorf("BUG trial %d: %v", i, err)
					continue
				}
				if m := res.Missing(want); len(m) > 0 {
					t.Errorf("BUG trial %d: releases that reported success are missing: %v", i, m)
				}
				if len(res.Versions) != len(want) {
					t.Errorf("BUG trial %d: %d listed, %d reported success", i, len(res.Versions), len(want))
				}
			}
			t.Logf("%s: %d trials x 2 waves x %d processes: %d ok, %d RaceError", tg.name, trials, n, ok, races)
		})
	}
}
