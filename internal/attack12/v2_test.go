//go:build attack12

package attack12

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/relkit/relkit/internal/attack12/check"
	"github.com/relkit/relkit/internal/attack12/harness"
)

// The v2 index checks (manifest v2: index.json, shards/, written after
// the manifest.json commit). check.Root verifies index.json whenever it
// exists; these helpers add what the protocol promises on top:
// after a kill or failure the index may lag manifest.json by at most
// maxLag serials (one publish) and never goes back; after a completed
// publish or re-run it lists exactly what manifest.json lists.

var (
	rootDirsMu sync.Mutex
	rootDirs   = map[string]string{} // dest -> the directory holding its bytes
)

func setRootDir(dest, dir string) {
	rootDirsMu.Lock()
	rootDirs[dest] = dir
	rootDirsMu.Unlock()
}

func rootDir(dest string) string {
	rootDirsMu.Lock()
	defer rootDirsMu.Unlock()
	if d, ok := rootDirs[dest]; ok {
		return d
	}
	return dest
}

type v2track struct {
	lastIdx            int64
	afterKill, lagged  int
	converged, shardsN int
	maxShards          int
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// saveEvidence copies the root's metadata (manifest.json, index.json,
// shards/, sigs/index.json.*, the legacy files) and the checker's message
// under evidence/<test>/<what>/.
func saveEvidence(t *testing.T, what, dest, msg string) {
	dir := filepath.Join("evidence", unsafeName.ReplaceAllString(t.Name(), "_"), unsafeName.ReplaceAllString(what, "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("evidence: %v", err)
		return
	}
	os.WriteFile(filepath.Join(dir, "checker.txt"), []byte(msg+"\n"), 0o644)
	src := rootDir(dest)
	var list []string
	filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(src, p)
		rel = filepath.ToSlash(rel)
		list = append(list, fmt.Sprintf("%10d %s %s", fi.Size(), fi.ModTime().Format(time.RFC3339Nano), rel))
		keep := rel == "manifest.json" || rel == "index.json" || rel == "signatures.json" || rel == "manifest.json.sig" ||
			strings.HasPrefix(rel, "shards/") || strings.HasPrefix(rel, "sigs/index.json.")
		if keep && fi.Size() < 8<<20 {
			b, err := os.ReadFile(p)
			if err == nil {
				to := filepath.Join(dir, "root", filepath.FromSlash(rel))
				os.MkdirAll(filepath.Dir(to), 0o755)
				os.WriteFile(to, b, 0o644)
			}
		}
		return nil
	})
	os.WriteFile(filepath.Join(dir, "files.txt"), []byte(strings.Join(list, "\n")+"\n"), 0o644)
	t.Logf("evidence saved in %s", dir)
}

// kill checks a state after a kill or a failed run: the index (if any
// was published before) must be there, verify (check.Root did), lag at
// most maxLag serials, and not go back.
func (v *v2track) kill(t *testing.T, what, dest string, res *check.Result, maxLag int64) {
	t.Helper()
	v.afterKill++
	if res.Index == nil {
		if v.lastIdx > 0 {
			msg := fmt.Sprintf("BUG %s: index.json (last seen at serial %d) is gone; manifest serial %d", what, v.lastIdx, res.Serial)
			t.Error(msg)
			saveEvidence(t, what, dest, msg)
		}
		return
	}
	lag := res.Lag()
	if lag > 0 {
		v.lagged++
	}
	if lag > maxLag {
		msg := fmt.Sprintf("BUG %s: index serial %d lags manifest serial %d by %d (allowed %d)", what, res.Index.Serial, res.Serial, lag, maxLag)
		t.Error(msg)
		saveEvidence(t, what, dest, msg)
	}
	if res.Index.Serial < v.lastIdx {
		msg := fmt.Sprintf("BUG %s: index serial went back %d -> %d", what, v.lastIdx, res.Index.Serial)
		t.Error(msg)
		saveEvidence(t, what, dest, msg)
	}
	v.lastIdx = max(v.lastIdx, res.Index.Serial)
	v.maxShards = max(v.maxShards, res.Index.Shards)
}

// conv checks a state after a completed publish or re-run.
func (v *v2track) conv(t *testing.T, what, dest string, res *check.Result) bool {
	t.Helper()
	v.converged++
	if err := res.Converged(); err != nil {
		msg := fmt.Sprintf("BUG %s: %v", what, err)
		t.Error(msg)
		saveEvidence(t, what, dest, msg)
		return false
	}
	if res.Index.Serial < v.lastIdx {
		msg := fmt.Sprintf("BUG %s: index serial went back %d -> %d", what, v.lastIdx, res.Index.Serial)
		t.Error(msg)
		saveEvidence(t, what, dest, msg)
	}
	v.lastIdx = max(v.lastIdx, res.Index.Serial)
	v.maxShards = max(v.maxShards, res.Index.Shards)
	if res.Index.Shards > 0 {
		v.shardsN++
	}
	return true
}

func (v *v2track) summary() string {
	return fmt.Sprintf("v2 index: %d post-kill states checked (%d lagging), %d converged checks (%d with shards, up to %d shards)", v.afterKill, v.lagged, v.converged, v.shardsN, v.maxShards)
}

// readerCounts extracts the last counter line of a reader's output.
func readerCounts(out string) string {
	lines := strings.Split(out, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "reads ") {
			return strings.TrimSpace(lines[i])
		}
	}
	return "(no counts)"
}

// TestKillShardedProcess: a root seeded with a long history (A12_SEED,
// default 300 releases: an index with shards), then SIGKILLs of real
// publish / yank-of-an-old-release / deprecate / refresh processes at
// random moments, each followed by the check of the state (index lag at
// most one publish), a re-run and the converged check; a reader polls
// manifest.json and index.json (with shard reads) all along.
func TestKillShardedProcess(t *testing.T) {
	trials, seed := 40, 300
	if s := os.Getenv("A12_TRIALS"); s != "" {
		fmt.Sscan(s, &trials)
	}
	if s := os.Getenv("A12_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	kf := newKeyFiles(t)
	s, err := harness.LoadSigner(kf.key())
	if err != nil {
		t.Fatal(err)
	}
	hist, err := harness.SeedHistory(seed)
	if err != nil {
		t.Fatal(err)
	}
	first, err := harness.Prepare(context.Background(), s, t.TempDir(), "1.0.0", "", hist)
	if err != nil {
		t.Fatal(err)
	}
	versions := versionsN("1.%d.1", trials)
	staged := stageVersions(t, kf, "", versions...)
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			dest, read := tg.dest(t, 0)
			var v2 v2track
			r := start(t, tg.env, "seed", "-n", fmt.Sprint(seed), "-dest", dest, "-key", kf.key())
			if err := r.wait(t, 120*time.Second); err != nil {
				t.Fatalf("seed: %v\n%s", err, tail(r.stderr.String(), 2000))
			}
			r = start(t, tg.env, "publish", "-staged", first, "-dest", dest, "-key", kf.key())
			if err := r.wait(t, 120*time.Second); err != nil {
				t.Fatalf("seed publish: %v\n%s", err, tail(r.stderr.String(), 2000))
			}
			res, err := check.Root(read, kf.pub)
			if err != nil {
				t.Fatalf("seeded root does not verify: %v", err)
			}
			v2.conv(t, "seed", dest, res)
			if res.Index == nil || res.Index.Shards == 0 {
				t.Fatalf("seeded root has no sharded index: %+v", res.Index)
			}
			t.Logf("seeded: %d releases, index serial %d, %d shards", len(res.Versions), res.Index.Serial, res.Index.Shards)
			reader := start(t, tg.env, "reader", "-dest", dest, "-key", kf.key(), "-dur", "20m", "-timeout", "21m")
			defer func() {
				stopReader(reader)
				t.Logf("reader: %s", readerCounts(reader.stdout.String()))
				if strings.Contains(reader.stdout.String(), "FAIL") {
					msg := fmt.Sprintf("BUG: reader saw verification failures:\n%s", tail(reader.stdout.String(), 4000))
					t.Error(msg)
					os.MkdirAll("evidence", 0o755)
					os.WriteFile(filepath.Join("evidence", unsafeName.ReplaceAllString(t.Name(), "_")+"-reader.log"), reader.stdout.Bytes(), 0o644)
				}
			}()
			full := 2 * time.Second
			published := append([]string{}, res.Versions...)
			lastSerial := res.Serial
			ops := map[string]int{}
			for i := range trials {
				var args []string
				switch i % 4 {
				case 0, 2:
					args = []string{"publish", "-staged", staged[versions[i]]}
				case 1:
					args = []string{"amend", "-op", "yank", "-version", fmt.Sprintf("0.1.%d", mrand.IntN(seed))}
				case 3:
					if i%8 == 3 {
						args = []string{"amend", "-op", "refresh"}
					} else {
						args = []string{"amend", "-op", "deprecate", "-version", fmt.Sprintf("0.1.%d", mrand.IntN(seed))}
					}
				}
				args = append(args, "-dest", dest, "-key", kf.key(), "-timeout", "120s")
				what := fmt.Sprintf("trial %d %s", i, strings.Join(args[:min(len(args), 4)], " "))
				if args[0] == "publish" {
					ops["publish"]++
				} else {
					ops[args[2]]++
				}
				r := start(t, tg.env, args...)
				at := time.Duration(mrand.Int64N(int64(full)))
				time.Sleep(at)
				r.cmd.Process.Signal(syscall.SIGKILL)
				exit := r.wait(t, 30*time.Second)
				res, cerr := check.Root(read, kf.pub)
				if cerr != nil {
					msg := fmt.Sprintf("BUG %s killed at %v (exit %v): the root does not verify: %v", what, at, exit, cerr)
					t.Error(msg)
					saveEvidence(t, what+" killed", dest, msg)
				} else {
					if m := res.Missing(published); len(m) > 0 {
						t.Errorf("BUG %s: releases lost after the kill: %v", what, m)
					}
					if res.Serial < lastSerial {
						t.Errorf("BUG %s: serial went back %d -> %d", what, lastSerial, res.Serial)
					}
					v2.kill(t, what+fmt.Sprintf(" killed at %v", at), dest, res, 1)
				}
				t1 := time.Now()
				r = start(t, tg.env, args...)
				if err := r.wait(t, 150*time.Second); err != nil {
					t.Errorf("BUG %s: the re-run fails: %v\n%s", what, err, tail(r.stderr.String(), 2000))
					continue
				}
				full = time.Since(t1) * 13 / 10
				if args[0] == "publish" {
					published = append(published, versions[i])
				}
				res, cerr = check.Root(read, kf.pub)
				if cerr != nil {
					msg := fmt.Sprintf("BUG %s: after the re-run the root does not verify: %v", what, cerr)
					t.Error(msg)
					saveEvidence(t, what+" rerun", dest, msg)
					continue
				}
				if m := res.Missing(published); len(m) > 0 {
					t.Errorf("BUG %s: releases missing after the re-run: %v", what, m)
				}
				lastSerial = res.Serial
				v2.conv(t, what+" re-run", dest, res)
			}
			t.Logf("%d kills %v, final serial %d, %d releases, last run %v; %s", trials, ops, lastSerial, len(published), full, v2.summary())
		})
	}
}

// stopReader asks a reader to stop (SIGTERM: it prints its counts and
// exits 3 on failures), waits at most 10 s, then kills it.
func stopReader(r *run) {
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		r.cmd.Process.Kill()
		<-r.done
	}
}

// TestCheckerCatches: the v2 checks are not vacuous: a root with a
// sharded index passes, and each damage is caught (a shard byte flipped,
// a shard missing, index.json re-signed by nobody, an older index left
// over: verifies but is not converged).
func TestCheckerCatches(t *testing.T) {
	kf := newKeyFiles(t)
	s, err := harness.LoadSigner(kf.key())
	if err != nil {
		t.Fatal(err)
	}
	hist, _ := harness.SeedHistory(300)
	first, err := harness.Prepare(context.Background(), s, t.TempDir(), "1.0.0", "", hist)
	if err != nil {
		t.Fatal(err)
	}
	next := stageVersions(t, kf, "", "1.1.0")["1.1.0"]
	dest := t.TempDir()
	for _, args := range [][]string{{"seed", "-n", "300"}, {"publish", "-staged", first}} {
		r := start(t, nil, append(args, "-dest", dest, "-key", kf.key())...)
		if err := r.wait(t, 60*time.Second); err != nil {
			t.Fatal(err, r.stderr.String())
		}
	}
	res, err := check.Root(check.DirReader(dest), kf.pub)
	if err != nil || res.Converged() != nil || res.Index.Shards != 2 {
		t.Fatalf("clean root: %v %v %+v", err, res.Converged(), res.Index)
	}
	old, _ := os.ReadFile(filepath.Join(dest, "index.json"))
	r := start(t, nil, "publish", "-staged", next, "-dest", dest, "-key", kf.key())
	if err := r.wait(t, 60*time.Second); err != nil {
		t.Fatal(err, r.stderr.String())
	}
	res, err = check.Root(check.DirReader(dest), kf.pub)
	if err != nil || res.Converged() != nil {
		t.Fatalf("after 1.1.0: %v %v", err, res.Converged())
	}
	damage := func(name string, f func(d string)) {
		d := cpDir(t, dest)
		f(d)
		res, err := check.Root(check.DirReader(d), kf.pub)
		var cerr error
		if err == nil {
			cerr = res.Converged()
		}
		t.Logf("%s: root: %v; converged: %v", name, err, cerr)
		if err == nil && cerr == nil {
			t.Errorf("checker missed: %s", name)
		}
	}
	ref := res.Index.ShardPaths
	damage("shard byte flipped", func(d string) {
		p := filepath.Join(d, ref[0])
		b, _ := os.ReadFile(p)
		b[len(b)/2] ^= 1
		os.WriteFile(p, b, 0o644)
	})
	damage("shard missing", func(d string) { os.Remove(filepath.Join(d, ref[len(ref)-1])) })
	damage("index signature missing", func(d string) {
		m, _ := filepath.Glob(filepath.Join(d, "sigs", "index.json."+res.Index.SHA256+".*"))
		for _, p := range m {
			os.Remove(p)
		}
	})
	damage("index.json edited", func(d string) {
		b, _ := os.ReadFile(filepath.Join(d, "index.json"))
		os.WriteFile(filepath.Join(d, "index.json"), []byte(strings.Replace(string(b), `"1.1.0"`, `"1.1.1"`, 1)), 0o644)
	})
	damage("older index left (lags: verifies, not converged)", func(d string) { os.WriteFile(filepath.Join(d, "index.json"), old, 0o644) })
}

// TestRaceShardedStalled: a root with a sharded index (A12_SEED, default
// 300 releases); each trial races three publishers and a yank of an old
// release (in a shard) while a fifth publisher is frozen (SIGSTOP) at a
// random moment and resumed (SIGCONT) only after the others finished, so
// its index write, if it had not happened, comes last and carries an
// older serial. When every run has returned, the index must be the
// manifest's (converged); the reader (state kept across polls) must never
// see an index go back.
func TestRaceShardedStalled(t *testing.T) {
	trials, seed := 15, 300
	if s := os.Getenv("A12_TRIALS"); s != "" {
		fmt.Sscan(s, &trials)
	}
	if s := os.Getenv("A12_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	kf := newKeyFiles(t)
	s, err := harness.LoadSigner(kf.key())
	if err != nil {
		t.Fatal(err)
	}
	hist, _ := harness.SeedHistory(seed)
	first, err := harness.Prepare(context.Background(), s, t.TempDir(), "1.0.0", "", hist)
	if err != nil {
		t.Fatal(err)
	}
	var vs []string
	for i := range trials {
		for j := range 4 {
			vs = append(vs, fmt.Sprintf("2.%d.%d", i, j))
		}
	}
	staged := stageVersions(t, kf, "", vs...)
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			dest, read := tg.dest(t, 0)
			for _, args := range [][]string{{"seed", "-n", fmt.Sprint(seed)}, {"publish", "-staged", first}} {
				r := start(t, tg.env, append(args, "-dest", dest, "-key", kf.key())...)
				if err := r.wait(t, 120*time.Second); err != nil {
					t.Fatal(err, r.stderr.String())
				}
			}
			var v2 v2track
			res, err := check.Root(read, kf.pub)
			if err != nil {
				t.Fatal(err)
			}
			v2.conv(t, "seed", dest, res)
			reader := start(t, tg.env, "reader", "-dest", dest, "-key", kf.key(), "-dur", "20m", "-timeout", "21m")
			defer func() {
				stopReader(reader)
				t.Logf("reader: %s", readerCounts(reader.stdout.String()))
				if strings.Contains(reader.stdout.String(), "FAIL") {
					t.Errorf("BUG: reader saw verification failures:\n%s", tail(reader.stdout.String(), 4000))
					os.MkdirAll("evidence", 0o755)
					os.WriteFile(filepath.Join("evidence", unsafeName.ReplaceAllString(t.Name(), "_")+"-reader.log"), reader.stdout.Bytes(), 0o644)
				}
			}()
			full := 300 * time.Millisecond
			failures, stoppedMid := 0, 0
			for i := range trials {
				mine := vs[4*i : 4*i+4]
				t0 := time.Now()
				frozen := start(t, tg.env, "publish", "-staged", staged[mine[3]], "-dest", dest, "-key", kf.key(), "-timeout", "120s")
				at := time.Duration(mrand.Int64N(int64(full)))
				time.Sleep(at)
				frozen.cmd.Process.Signal(syscall.SIGSTOP)
				var runs []*run
				for _, v := range mine[:3] {
					runs = append(runs, start(t, tg.env, "publish", "-staged", staged[v], "-dest", dest, "-key", kf.key(), "-timeout", "120s"))
				}
				runs = append(runs, start(t, tg.env, "amend", "-op", "yank", "-version", fmt.Sprintf("0.1.%d", mrand.IntN(seed)), "-dest", dest, "-key", kf.key(), "-timeout", "120s"))
				failed := 0
				for j, r := range runs {
					if err := r.wait(t, 150*time.Second); err != nil {
						failed++
						t.Logf("trial %d run %d %v failed: %v %s", i, j, r.cmd.Args[1:3], err, tail(r.stderr.String(), 600))
					}
				}
				mid, _ := check.Root(read, kf.pub)
				frozen.cmd.Process.Signal(syscall.SIGCONT)
				if err := frozen.wait(t, 150*time.Second); err != nil {
					failed++
					t.Logf("trial %d frozen publisher (stopped at %v) failed: %v %s", i, at, err, tail(frozen.stderr.String(), 600))
				}
				if time.Since(t0) < 10*time.Second {
					full = max(full, time.Since(t0)/3)
				}
				if mid != nil && len(mid.Missing(mine[3:])) == 0 {
					stoppedMid++ // it had committed before the freeze
				}
				what := fmt.Sprintf("trial %d (frozen at %v)", i, at)
				res, err := check.Root(read, kf.pub)
				if err != nil {
					t.Errorf("BUG %s: root does not verify: %v", what, err)
					saveEvidence(t, what, dest, err.Error())
					continue
				}
				if m := res.Missing(mine); len(m) > 0 && failed == 0 {
					t.Errorf("BUG %s: releases missing: %v", what, m)
				}
				if failed == 0 {
					v2.conv(t, what+" every run returned nil", dest, res)
				} else {
					failures++
					v2.kill(t, what+fmt.Sprintf(" %d runs failed", failed), dest, res, int64(failed))
				}
			}
			t.Logf("%d trials (%d with failed runs; frozen publisher had committed before the others in %d), %s", trials, failures, stoppedMid, v2.summary())
		})
	}
}
