//go:build !windows

package install

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/verify"
)

const crashEnv = "RELKIT_INSTALL_CRASH_HELPER"

// TestCrashHelper is the helper process of TestCrashAtRandomPoints: it
// installs one version and exits. It does nothing in a normal test run.
func TestCrashHelper(t *testing.T) {
	if os.Getenv(crashEnv) == "" {
		t.Skip("helper process for TestCrashAtRandomPoints")
	}
	ring, err := verify.NewKeyRing([]byte(os.Getenv("CRASH_KEY")))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	in, err := New(Config{
		Project: "banger", Source: os.Getenv("CRASH_SOURCE"), Dir: os.Getenv("CRASH_DIR"),
		Binaries: strings.Split(os.Getenv("CRASH_BINARIES"), ","), Trust: &verify.Trust{Keys: ring},
		LockWait: 10 * time.Second,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if _, err := in.Install(context.Background(), manifest.Query{Version: os.Getenv("CRASH_VERSION")}, AllowDowngrade()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	os.Exit(0)
}

// TestCrashAtRandomPoints starts an install of a three-binary set in a
// helper process and SIGKILLs it at a random instant, 50 times. After
// each kill every binary must be byte-identical to the old or the new
// version and runnable; the next run must restore a consistent set (all
// old or all new, matching the receipt) and leave no temporary files.
func TestCrashAtRandomPoints(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		t.Skip("in the helper")
	}
	ctx := context.Background()
	f := newFixture(t, "banger")
	names := []string{"banger", "bangerd", "banger-vsock-agent"}
	bins := map[string]map[string][]byte{}
	for _, v := range []string{"1.0.0", "1.1.0"} {
		bins[v] = map[string][]byte{}
		var es []entry
		for _, n := range names {
			// Padded scripts: large enough for the kill to land inside
			// the download, extraction, fsync and rename phases.
			b := append(script(n, v), []byte("# "+randomHex(128<<10)+"\n")...)
			bins[v][n] = b
			es = append(es, entry{name: n, body: b})
		}
		f.publish(v, f.artifactName(v), tarGz(t, es))
	}
	srv := f.serve()
	dir := t.TempDir()
	pub, err := verify.MarshalPublicKey(&f.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.config(srv.URL, dir)
	cfg.Binaries = names
	cfg.Now = nil
	// A child the killed helper was starting (the health check) shares its
	// descriptors until it execs; the flock frees itself a moment later.
	cfg.LockWait = 5 * time.Second
	in := f.installer(cfg)
	if _, err := in.Install(ctx, manifest.Query{Version: "1.0.0"}); err != nil {
		t.Fatal(err)
	}

	helper := func(version string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"=1", "CRASH_KEY="+string(pub), "CRASH_SOURCE="+srv.URL,
			"CRASH_DIR="+dir, "CRASH_BINARIES="+strings.Join(names, ","), "CRASH_VERSION="+version)
		return cmd
	}
	// How long an uninterrupted install takes, to spread the kills over.
	start := time.Now()
	if out, err := helper("1.1.0").CombinedOutput(); err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	full := time.Since(start)
	t.Logf("an uninterrupted install in a helper process takes %v", full)
	current := "1.1.0"

	versionOf := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for v, set := range bins {
			if string(set[name]) == string(b) {
				return v
			}
		}
		t.Fatalf("%s is neither version (%d bytes)", name, len(b))
		return ""
	}
	// Each kill comes within 1.1 x full; the rest is recovery. The bound
	// catches a hang, not slowness.
	deadline := time.Now().Add(max(3*time.Minute, 100*full))
	outcomes := map[string]int{}
	for i := 0; i < 50; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("crash loop exceeded its time bound after %d kills", i)
		}
		target := "1.0.0"
		if current == "1.0.0" {
			target = "1.1.0"
		}
		// Half the kills anywhere in the install, half in its last 40%
		// (extraction, fsync, backup, renames, health check, receipt).
		delay := time.Duration(rand.Int64N(int64(full) * 11 / 10))
		if i%2 == 1 {
			delay = full*6/10 + time.Duration(rand.Int64N(int64(full)*45/100))
		}
		cmd := helper(target)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		cmd.Process.Kill() // SIGKILL
		cmd.Wait()

		// Right after the kill: each binary is one version or the other,
		// and runs.
		seen := map[string]bool{}
		for _, n := range names {
			v := versionOf(n)
			seen[v] = true
			out, err := exec.Command(filepath.Join(dir, n), "version").CombinedOutput()
			if err != nil || !strings.Contains(string(out), v) {
				t.Fatalf("kill %d after %v: %s does not run: %v %q", i, delay, n, err, out)
			}
		}
		if _, err := os.Stat(journalPath(dir, names[0])); err == nil {
			outcomes["killed mid-swap (journal left)"]++
		}
		// The next run recovers: a consistent set that the receipt
		// describes, and no leftovers.
		unlock, _, err := in.begin(ctx)
		if err != nil {
			t.Fatalf("kill %d: recovery: %v", i, err)
		}
		unlock()
		after := versionOf(names[0])
		for _, n := range names[1:] {
			if v := versionOf(n); v != after {
				t.Fatalf("kill %d after %v: inconsistent set after recovery: %s is %s, %s is %s", i, delay, names[0], after, n, v)
			}
		}
		rec, err := ReadReceipt(dir, names[0])
		if err != nil || rec.Version != after {
			t.Fatalf("kill %d after %v: receipt %+v (%v) but binaries are %s", i, delay, rec, err, after)
		}
		if l := leftovers(t, dir); len(l) != 0 {
			t.Fatalf("kill %d after %v: leftovers after recovery: %v", i, delay, l)
		}
		if _, err := os.Stat(journalPath(dir, names[0])); err == nil {
			t.Fatalf("kill %d: journal survived recovery", i)
		}
		switch {
		case len(seen) == 2:
			outcomes["mixed set, recovered to "+after]++
		case after == target:
			outcomes["new"]++
		default:
			outcomes["old"]++
		}
		current = after
	}
	t.Logf("outcomes of 50 kills: %v", outcomes)
	// The installer still works after all of that.
	if _, err := in.Install(ctx, manifest.Query{Version: "1.0.0"}, AllowDowngrade()); err != nil {
		t.Fatal(err)
	}
}
