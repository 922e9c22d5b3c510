//go:build attack12

package attack12

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/relkit/relkit/internal/attack12/check"
	"github.com/relkit/relkit/internal/attack12/harness"
)

var (
	toolOnce sync.Once
	toolPath string
	toolErr  error
)

// pubtool builds the writer process once (or uses $PUBTOOL).
func pubtool(t testing.TB) string {
	t.Helper()
	toolOnce.Do(func() {
		if p := os.Getenv("PUBTOOL"); p != "" {
			toolPath = p
			return
		}
		dir, err := os.MkdirTemp("", "a12tool")
		if err != nil {
			toolErr = err
			return
		}
		toolPath = filepath.Join(dir, "pubtool")
		out, err := exec.Command("go", "build", "-o", toolPath, "github.com/relkit/relkit/internal/attack12/pubtool").CombinedOutput()
		if err != nil {
			toolErr = fmt.Errorf("build pubtool: %v\n%s", err, out)
		}
	})
	if toolErr != nil {
		t.Fatal(toolErr)
	}
	return toolPath
}

type keyFiles struct {
	dir string
	pub *ecdsa.PublicKey
}

func (k keyFiles) key() string { return filepath.Join(k.dir, "key.pem") }

func newKeyFiles(t testing.TB) keyFiles {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := harness.WriteKey(dir, k); err != nil {
		t.Fatal(err)
	}
	return keyFiles{dir: dir, pub: &k.PublicKey}
}

// stageVersions prepares versions (no base: the merge at commit is the
// source of truth).
func stageVersions(t testing.TB, kf keyFiles, channel string, versions ...string) map[string]string {
	t.Helper()
	s, err := harness.LoadSigner(kf.key())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, v := range versions {
		r, err := harness.Prepare(context.Background(), s, t.TempDir(), v, channel, nil)
		if err != nil {
			t.Fatal(err)
		}
		out[v] = r
	}
	return out
}

type run struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan error
}

func start(t testing.TB, env []string, args ...string) *run {
	t.Helper()
	r := &run{cmd: exec.Command(pubtool(t), args...), done: make(chan error, 1)}
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	r.cmd.Env = append(os.Environ(), env...)
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- r.cmd.Wait() }()
	return r
}

// wait waits at most d; a hang kills the process and is reported.
func (r *run) wait(t testing.TB, d time.Duration) error {
	t.Helper()
	select {
	case err := <-r.done:
		return err
	case <-time.After(d):
		r.cmd.Process.Signal(syscall.SIGQUIT)
		time.Sleep(200 * time.Millisecond)
		r.cmd.Process.Kill()
		<-r.done
		t.Errorf("HANG: %v did not finish within %v\nstderr tail: %s", r.cmd.Args[1:], d, tail(r.stderr.String(), 3000))
		return fmt.Errorf("hang")
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func versionsN(prefix string, n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf(prefix, i))
	}
	return out
}

func countTmp(root string) int {
	n := 0
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && strings.HasPrefix(fi.Name(), ".relkit-tmp-") {
			n++
		}
		return nil
	})
	return n
}

// TestKillPublishProcess: SIGKILL a real release.Publish process at a
// random time, check the root with the independent checker, re-run it,
// check convergence; a reader process polls verify.FetchManifest all
// along.
func TestKillPublishProcess(t *testing.T) {
	trials := 60
	if s := os.Getenv("A12_TRIALS"); s != "" {
		fmt.Sscan(s, &trials)
	}
	kf := newKeyFiles(t)
	versions := versionsN("1.%d.0", trials)
	staged := stageVersions(t, kf, "", versions...)
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			dest, read := tg.dest(t, 0)
			killPublish(t, tg.env, dest, read, kf, versions, staged)
		})
	}
}

func killPublish(t *testing.T, env []string, dest string, read check.Reader, kf keyFiles, versions []string, staged map[string]string) {
	trials := len(versions)
	reader := start(t, env, "reader", "-dest", dest, "-key", kf.key(), "-dur", "10m", "-timeout", "11m")
	defer func() {
		stopReader(reader)
		t.Logf("reader: %s", readerCounts(reader.stdout.String()))
		if strings.Contains(reader.stdout.String(), "FAIL") {
			t.Errorf("BUG: reader saw verification failures:\n%s", tail(reader.stdout.String(), 4000))
			os.MkdirAll("evidence", 0o755)
			os.WriteFile(filepath.Join("evidence", unsafeName.ReplaceAllString(t.Name(), "_")+"-reader.log"), reader.stdout.Bytes(), 0o644)
		}
	}()
	var v2 v2track
	defer func() { t.Logf("%s", v2.summary()) }()
	// Measure an uncontended publish to pick kill times.
	t0 := time.Now()
	r := start(t, env, "publish", "-staged", staged[versions[0]], "-dest", dest, "-key", kf.key())
	if err := r.wait(t, 60*time.Second); err != nil {
		t.Fatalf("first publish: %v\n%s", err, r.stderr.String())
	}
	full := time.Since(t0)
	t.Logf("one publish process takes %v", full)
	if res, err := check.Root(read, kf.pub); err != nil {
		t.Fatalf("first publish: root does not verify: %v", err)
	} else {
		v2.conv(t, "first publish", dest, res)
	}
	published := []string{versions[0]}
	killedListed, killedNot := 0, 0
	legacyBadBeforeCommit, legacyBadAfterCommit := 0, 0
	for i := 1; i < trials; i++ {
		v := versions[i]
		r := start(t, env, "publish", "-staged", staged[v], "-dest", dest, "-key", kf.key())
		at := time.Duration(mrand.Int64N(int64(full)))
		time.Sleep(at)
		r.cmd.Process.Signal(syscall.SIGKILL)
		err := r.wait(t, 30*time.Second)
		res, cerr := check.Root(read, kf.pub)
		if cerr != nil {
			t.Errorf("BUG trial %d (%s, exit %v, killed at %v): after the kill the root does not verify: %v", i, v, err, at, cerr)
			saveEvidence(t, fmt.Sprintf("trial %d killed at %v", i, at), dest, cerr.Error())
			continue
		}
		v2.kill(t, fmt.Sprintf("trial %d (%s) killed at %v", i, v, at), dest, res, 1)
		if m := res.Missing(published); len(m) > 0 {
			t.Errorf("BUG trial %d: after the kill, published releases are missing: %v", i, m)
		}
		if len(res.Missing([]string{v})) == 0 {
			killedListed++
			if !res.LegacySetOK || !res.LegacySigOK {
				legacyBadAfterCommit++
			}
		} else {
			killedNot++
			if !res.LegacySetOK || !res.LegacySigOK {
				legacyBadBeforeCommit++
			}
		}
		t1 := time.Now()
		r = start(t, env, "publish", "-staged", staged[v], "-dest", dest, "-key", kf.key())
		if err := r.wait(t, 60*time.Second); err != nil {
			t.Errorf("BUG trial %d: the re-run of %s fails: %v\n%s", i, v, err, tail(r.stderr.String(), 2000))
			continue
		}
		full = time.Since(t1) * 13 / 10 // a re-run does the same work
		published = append(published, v)
		res, cerr = check.Root(read, kf.pub)
		if cerr != nil {
			t.Errorf("BUG trial %d: after the re-run the root does not verify: %v", i, cerr)
			saveEvidence(t, fmt.Sprintf("trial %d rerun", i), dest, cerr.Error())
			continue
		}
		v2.conv(t, fmt.Sprintf("trial %d (%s) re-run", i, v), dest, res)
		if m := res.Missing(published); len(m) > 0 {
			t.Errorf("BUG trial %d: after the re-run, releases are missing: %v", i, m)
		}
		if !res.LegacySigOK || !res.LegacySetOK {
			t.Errorf("BUG trial %d: after a completed re-run the legacy files are not repaired (sig %v, set %v)", i, res.LegacySigOK, res.LegacySetOK)
		}
		if res.Serial != int64(len(published)) {
			t.Logf("trial %d: serial %d for %d releases", i, res.Serial, len(published))
		}
	}
	t.Logf("last publish %v", full)
	t.Logf("legacy signatures.json/manifest.json.sig not matching manifest.json after a kill: %d of %d kills before the commit, %d of %d kills after it", legacyBadBeforeCommit, killedNot, legacyBadAfterCommit, killedListed)
	t.Logf("%d kills: the killed version was already listed %d times, not yet %d times; %d .relkit-tmp files left", trials-1, killedListed, killedNot, countTmp(strings.TrimPrefix(dest, "s3:")))
}

// TestKillAmendProcess: SIGKILL refresh / yank / deprecate processes at
// random times; the root must verify and keep every release; a re-run
// must converge.
func TestKillAmendProcess(t *testing.T) {
	trials := 45
	if s := os.Getenv("A12_TRIALS"); s != "" {
		fmt.Sscan(s, &trials)
	}
	kf := newKeyFiles(t)
	versions := versionsN("1.%d.0", 5)
	staged := stageVersions(t, kf, "", versions...)
	dest := t.TempDir()
	for _, v := range versions {
		r := start(t, nil, "publish", "-staged", staged[v], "-dest", dest, "-key", kf.key())
		if err := r.wait(t, 60*time.Second); err != nil {
			t.Fatal(err, r.stderr.String())
		}
	}
	reader := start(t, nil, "reader", "-dest", dest, "-key", kf.key(), "-dur", "10m", "-timeout", "11m")
	defer func() {
		stopReader(reader)
		t.Logf("reader: %s", readerCounts(reader.stdout.String()))
		if strings.Contains(reader.stdout.String(), "FAIL") {
			t.Errorf("BUG: reader saw verification failures:\n%s", tail(reader.stdout.String(), 4000))
			os.MkdirAll("evidence", 0o755)
			os.WriteFile(filepath.Join("evidence", unsafeName.ReplaceAllString(t.Name(), "_")+"-reader.log"), reader.stdout.Bytes(), 0o644)
		}
	}()
	var v2 v2track
	defer func() { t.Logf("%s", v2.summary()) }()
	if res, err := check.Root(check.DirReader(dest), kf.pub); err != nil {
		t.Fatal(err)
	} else {
		v2.conv(t, "seed", dest, res)
	}
	full := 100 * time.Millisecond
	lastSerial := int64(0)
	for i := range trials {
		var args []string
		switch i % 3 {
		case 0:
			args = []string{"amend", "-op", "refresh"}
		case 1:
			args = []string{"amend", "-op", "yank", "-version", versions[i%5]}
		case 2:
			args = []string{"amend", "-op", "deprecate", "-version", versions[(i+1)%5]}
		}
		args = append(args, "-dest", dest, "-key", kf.key())
		r := start(t, nil, args...)
		at := time.Duration(mrand.Int64N(int64(full)))
		time.Sleep(at)
		r.cmd.Process.Signal(syscall.SIGKILL)
		r.wait(t, 30*time.Second)
		res, cerr := check.Root(check.DirReader(dest), kf.pub)
		if cerr != nil {
			t.Errorf("BUG trial %d %v: after the kill (at %v) the root does not verify: %v", i, args[:3], at, cerr)
			saveEvidence(t, fmt.Sprintf("trial %d %v killed at %v", i, args[:3], at), dest, cerr.Error())
			continue
		}
		v2.kill(t, fmt.Sprintf("trial %d %v killed at %v", i, args[:3], at), dest, res, 1)
		if m := res.Missing(versions); len(m) > 0 {
			t.Errorf("BUG trial %d: releases lost: %v", i, m)
		}
		if res.Serial < lastSerial {
			t.Errorf("BUG trial %d: serial went back %d -> %d", i, lastSerial, res.Serial)
		}
		t1 := time.Now()
		r = start(t, nil, args...)
		if err := r.wait(t, 60*time.Second); err != nil {
			t.Errorf("BUG trial %d: re-run fails: %v %s", i, err, tail(r.stderr.String(), 1000))
			continue
		}
		full = time.Since(t1) * 13 / 10
		res, cerr = check.Root(check.DirReader(dest), kf.pub)
		if cerr != nil || len(res.Missing(versions)) > 0 || !res.LegacySigOK || !res.LegacySetOK {
			t.Errorf("BUG trial %d: re-run did not converge: %v %+v", i, cerr, res)
			continue
		}
		v2.conv(t, fmt.Sprintf("trial %d %v re-run", i, args[:3]), dest, res)
		lastSerial = res.Serial
	}
	t.Logf("%d amend kills, final serial %d, last amend took %v", trials, lastSerial, full)
}
