//go:build attack12

package attack12

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/relkit/relkit/internal/attack12/check"
	"github.com/relkit/relkit/internal/attack12/harness"
	"github.com/relkit/relkit/publish"
)

func freeBytes(t *testing.T, dir string) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * st.Bsize
}

// fill leaves about free bytes available in dir (tmpfs: page granular).
func fill(t *testing.T, dir string, free int64) string {
	p := filepath.Join(dir, "filler")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for freeBytes(t, dir) > free {
		n := min(int64(len(buf)), freeBytes(t, dir)-free)
		if _, err := f.Write(buf[:n]); err != nil {
			break
		}
	}
	return p
}

// TestENOSPC publishes into a small tmpfs at every fill level (4 KiB
// steps) until the publish fits; after each failure the root must verify
// (old or new) and the re-run after freeing space must converge.
func TestENOSPC(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to mount tmpfs")
	}
	ctx := context.Background()
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("mount: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	s := newSigner(t)
	pub, _ := check.ParsePub(s.PublicKeyPEM())
	dest := filepath.Join(mnt, "dest")
	st, err := publish.NewDirStore(dest)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := harness.Prepare(ctx, s, t.TempDir(), "1.0.0", "", nil)
	if err := harness.Publish(ctx, st, base, s); err != nil {
		t.Fatal(err)
	}
	published := []string{"1.0.0"}
	fails, levels := 0, 0
	var v2 v2track
	defer func() { t.Logf("%s", v2.summary()) }()
	for i := 1; i <= 200; i++ {
		v := fmt.Sprintf("1.%d.0", i)
		staged, err := harness.Prepare(ctx, s, t.TempDir(), v, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		free := int64(i-1) * 4096
		filler := fill(t, mnt, free)
		levels++
		perr := harness.Publish(ctx, st, staged, s)
		res, cerr := check.Root(check.DirReader(dest), pub)
		if cerr != nil {
			t.Errorf("BUG level %d KiB free: after ENOSPC (%v) the root does not verify: %v", free/1024, perr, cerr)
			saveEvidence(t, fmt.Sprintf("level %d KiB", free/1024), dest, fmt.Sprintf("%v\npublish: %v", cerr, perr))
		} else if m := res.Missing(published); len(m) > 0 {
			t.Errorf("BUG level %d KiB: releases missing: %v", free/1024, m)
		} else if perr != nil {
			v2.kill(t, fmt.Sprintf("level %d KiB free (publish: %.300v)", free/1024, perr), dest, res, 1)
		} else {
			v2.conv(t, fmt.Sprintf("level %d KiB free (publish returned nil)", free/1024), dest, res)
		}
		os.Remove(filler)
		if perr == nil {
			published = append(published, v)
			t.Logf("publish fits with %d KiB free", free/1024)
			if !res.LegacySigOK || !res.LegacySetOK {
				t.Errorf("BUG: a publish that returned nil left legacy files unrepaired (sig %v set %v)", res.LegacySigOK, res.LegacySetOK)
			}
			break
		}
		fails++
		if i < 4 || i%10 == 0 {
			t.Logf("%d KiB free: %.200v", free/1024, perr)
		}
		if err := harness.Publish(ctx, st, staged, s); err != nil {
			t.Errorf("BUG level %d KiB: the re-run after freeing space fails: %v", free/1024, err)
			continue
		}
		published = append(published, v)
		res, cerr = check.Root(check.DirReader(dest), pub)
		if cerr != nil || len(res.Missing(published)) > 0 || !res.LegacySigOK || !res.LegacySetOK {
			t.Errorf("BUG level %d KiB: re-run did not converge: %v %+v", free/1024, cerr, res)
		} else {
			v2.conv(t, fmt.Sprintf("level %d KiB re-run", free/1024), dest, res)
		}
	}
	t.Logf("%d fill levels, %d publishes failed with ENOSPC, %d .relkit-tmp left", levels, fails, countTmp(dest))
}
