//go:build !windows

package install

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/relkit/relkit/manifest"
)

func ownerOf(t *testing.T, path string) (uid, gid uint32, mode fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return st.Uid, st.Gid, fi.Mode().Perm()
}

// TestUpgradeKeepsOwner: the new binary gets the old one's owner and
// group (needs root to chown).
func TestUpgradeKeepsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the old binary another owner")
	}
	ctx := context.Background()
	f := newFixture(t, "hello")
	f.release("1.0.0")
	dir := t.TempDir()
	in := f.installer(f.config(f.root, dir))
	if _, err := in.Install(ctx, manifest.Query{}); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "hello")
	if err := os.Chown(bin, 4242, 4343); err != nil {
		t.Fatal(err)
	}
	os.Chmod(bin, 0o711)
	f.release("1.1.0")
	if _, err := in.Install(ctx, manifest.Query{}); err != nil {
		t.Fatal(err)
	}
	uid, gid, mode := ownerOf(t, bin)
	if uid != 4242 || gid != 4343 || mode != 0o711 {
		t.Fatalf("new binary: uid %d gid %d mode %v", uid, gid, mode)
	}
}
