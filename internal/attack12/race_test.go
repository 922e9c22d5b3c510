//go:build attack12

package attack12

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/relkit/relkit/internal/attack12/check"
	"github.com/relkit/relkit/internal/s3test"
)

type target struct {
	name string
	env  []string
	// dest returns a fresh destination and a reader of its bytes that
	// does not go through relkit (the directory, or versitygw's backend).
	dest func(t *testing.T, i int) (string, check.Reader)
}

func dirTarget() target {
	return target{name: "dir", dest: func(t *testing.T, i int) (string, check.Reader) {
		d := t.TempDir()
		return d, check.DirReader(d)
	}}
}

func s3Target(t *testing.T) target {
	srv := s3test.Start(t)
	return target{name: "s3", env: srv.Env(), dest: func(t *testing.T, i int) (string, check.Reader) {
		prefix := fmt.Sprintf("race%d-%d", time.Now().UnixNano(), i)
		dest := "s3:" + srv.Bucket + "/" + prefix
		setRootDir(dest, srv.ObjectPath(srv.Bucket, prefix))
		return dest, check.DirReader(srv.ObjectPath(srv.Bucket, prefix))
	}}
}

func init() { os.Setenv("A12_LOG", "1") }

func targets(t *testing.T) []target {
	ts := []target{dirTarget()}
	if os.Getenv("A12_S3") != "0" {
		ts = append(ts, s3Target(t))
	}
	return ts
}

// TestRacePublishers: three processes publish three versions at once into
// one destination (that already has a release), while a fourth runs a
// lifetime op (refresh, or yank of the base release); a reader polls.
func TestRacePublishers(t *testing.T) {
	trials := 20
	if s := os.Getenv("A12_TRIALS"); s != "" {
		fmt.Sscan(s, &trials)
	}
	kf := newKeyFiles(t)
	vs := []string{"2.0.0"}
	for i := range trials {
		vs = append(vs, fmt.Sprintf("3.%d.0", i), fmt.Sprintf("3.%d.1", i), fmt.Sprintf("3.%d.2", i))
	}
	staged := stageVersions(t, kf, "", vs...)
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			raceErrs, lifetimeFail, merges := 0, 0, 0
			var v2 v2track
			polls := 0
			for i := range trials {
				dest, read := tg.dest(t, i)
				r := start(t, tg.env, "publish", "-staged", staged["2.0.0"], "-dest", dest, "-key", kf.key())
				if err := r.wait(t, 60*time.Second); err != nil {
					t.Fatalf("base publish: %v %s", err, r.stderr.String())
				}
				reader := start(t, tg.env, "reader", "-dest", dest, "-key", kf.key(), "-dur", "60s", "-timeout", "70s")
				mine := []string{fmt.Sprintf("3.%d.0", i), fmt.Sprintf("3.%d.1", i), fmt.Sprintf("3.%d.2", i)}
				var runs []*run
				for _, v := range mine {
					runs = append(runs, start(t, tg.env, "publish", "-staged", staged[v], "-dest", dest, "-key", kf.key()))
				}
				op := "refresh"
				args := []string{"amend", "-op", op, "-dest", dest, "-key", kf.key()}
				if i%2 == 1 {
					args = []string{"amend", "-op", "yank", "-version", "2.0.0", "-dest", dest, "-key", kf.key()}
				}
				runs = append(runs, start(t, tg.env, args...))
				want := []string{"2.0.0"}
				failed := 0
				for j, r := range runs {
					err := r.wait(t, 90*time.Second)
					if err != nil {
						failed++
						if strings.Contains(r.stderr.String(), "TYPE RaceError") {
							raceErrs++
							t.Logf("trial %d run %d: RaceError: %s", i, j, tail(r.stderr.String(), 300))
						} else {
							t.Errorf("BUG? trial %d run %d (%v) failed: %v\n%s", i, j, r.cmd.Args[1:3], err, tail(r.stderr.String(), 1500))
						}
						if j == 3 {
							lifetimeFail++
						}
						continue
					}
					merges += strings.Count(r.stderr.String(), "merging into the published manifest") - 1
					if j < 3 {
						want = append(want, mine[j])
					}
				}
				stopReader(reader)
				var nr int
				fmt.Sscan(strings.TrimPrefix(readerCounts(reader.stdout.String()), "reads "), &nr)
				polls += nr
				if strings.Contains(reader.stdout.String(), "FAIL") {
					t.Errorf("BUG trial %d: reader failures:\n%s", i, tail(reader.stdout.String(), 2000))
					os.MkdirAll("evidence", 0o755)
					os.WriteFile(fmt.Sprintf("evidence/%s-trial%d-reader.log", unsafeName.ReplaceAllString(t.Name(), "_"), i), reader.stdout.Bytes(), 0o644)
				}
				res, err := check.Root(read, kf.pub)
				if err != nil {
					t.Errorf("BUG trial %d: root does not verify: %v", i, err)
					saveEvidence(t, fmt.Sprintf("trial %d", i), dest, err.Error())
					continue
				}
				v2.lastIdx = 0 // a fresh destination per trial
				if failed == 0 {
					v2.conv(t, fmt.Sprintf("trial %d (every run succeeded)", i), dest, res)
				} else {
					v2.kill(t, fmt.Sprintf("trial %d (%d runs failed)", i, failed), dest, res, int64(failed))
				}
				if m := res.Missing(want); len(m) > 0 {
					t.Errorf("BUG trial %d: releases missing: %v (have %v)", i, m, res.Versions)
				}
				if i%2 == 1 && res.Status["2.0.0"] != "yanked" && lifetimeFail == 0 {
					t.Errorf("BUG trial %d: yank of 2.0.0 reported success but status is %q", i, res.Status["2.0.0"])
				}
				if !res.LegacySigOK || !res.LegacySetOK {
					t.Logf("trial %d: legacy files lag after all runs finished (sig %v set %v)", i, res.LegacySigOK, res.LegacySetOK)
				}
				if res.Serial != int64(len(want)+1) && lifetimeFail == 0 {
					t.Logf("trial %d: serial %d for %d releases + 1 amend", i, res.Serial, len(want))
				}
			}
			t.Logf("%s: %d trials, %d RaceErrors, %d lifetime op failures, %d extra merges after lost races; reader polls %d; %s", tg.name, trials, raceErrs, lifetimeFail, merges, polls, v2.summary())
		})
	}
}
