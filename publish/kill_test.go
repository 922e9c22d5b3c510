package publish_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/publish/publishtest"
)

// TestKilledProcessConverges publishes from a child process, kills it with
// SIGKILL halfway, and checks that the directory holds no manifest.json
// and no partial file under a published name, and that a re-run converges.
func TestKilledProcessConverges(t *testing.T) {
	if dir, dst := os.Getenv("RELKIT_KILL_STAGED"), os.Getenv("RELKIT_KILL_DEST"); dir != "" {
		// The child: publish slowly, one file at a time.
		s, err := publish.NewDirStore(dst)
		if err != nil {
			os.Exit(2)
		}
		p, _ := publish.New(s, publish.WithConcurrency(1), publish.WithProgress(func(pr publish.Progress) {
			if pr.Event == publish.EventDone {
				time.Sleep(150 * time.Millisecond)
			}
		}))
		if _, err := p.Publish(context.Background(), dir); err != nil {
			os.Exit(3)
		}
		os.Exit(0)
	}
	if testing.Short() {
		t.Skip("spawns a process")
	}
	staged, dst := t.TempDir(), t.TempDir()
	names := publishtest.StageRelease(t, staged, publishtest.Release{ArtifactSize: 1 << 20})
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledProcessConverges$")
	cmd.Env = append(os.Environ(), "RELKIT_KILL_STAGED="+staged, "RELKIT_KILL_DEST="+dst)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until a few files are in place, then kill.
	deadline := time.Now().Add(30 * time.Second)
	for {
		n := 0
		for _, name := range names {
			if _, err := os.Stat(filepath.Join(dst, filepath.FromSlash(name))); err == nil {
				n++
			}
		}
		if n >= 4 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the child published nothing")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()

	if _, err := os.Stat(filepath.Join(dst, "manifest.json")); err == nil {
		t.Fatal("manifest.json visible after a publish killed halfway")
	}
	s, err := publish.NewDirStore(dst)
	if err != nil {
		t.Fatal(err)
	}
	// Every file already under its final name is complete.
	for _, name := range names {
		want, _ := os.ReadFile(filepath.Join(staged, filepath.FromSlash(name)))
		got, err := os.ReadFile(filepath.Join(dst, filepath.FromSlash(name)))
		if err == nil && string(got) != string(want) {
			t.Errorf("%s is partial or wrong after the kill (%d of %d bytes)", name, len(got), len(want))
		}
	}
	// Leftover temporary files go with RemoveStale (none is younger than
	// 0s once the child is dead).
	if _, err := s.RemoveStale(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	filepath.WalkDir(dst, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".relkit-tmp-") {
			t.Errorf("RemoveStale left %s", p)
		}
		return nil
	})
	res, err := newPub(t, s).Publish(context.Background(), staged)
	if err != nil {
		t.Fatalf("re-run after the kill: %v", err)
	}
	if res.Skipped < 4 || res.Uploaded+res.Skipped != len(names) {
		t.Errorf("re-run: %d skipped, %d uploaded of %d", res.Skipped, res.Uploaded, len(names))
	}
	for _, name := range names {
		want, _ := os.ReadFile(filepath.Join(staged, filepath.FromSlash(name)))
		got, err := os.ReadFile(filepath.Join(dst, filepath.FromSlash(name)))
		if err != nil || string(got) != string(want) {
			t.Errorf("%s wrong after the re-run: %v", name, err)
		}
	}
}
