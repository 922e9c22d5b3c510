package publish_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/publish/publishtest"
)

// TestDirStoreSidecars: a no-op re-run trusts the digest sidecars (it
// reads no published byte), and a file changed behind the store's back is
// still caught, whatever its sidecar says.
func TestDirStoreSidecars(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("sidecars need a change time; Windows hashes every file")
	}
	ctx := context.Background()
	staged := t.TempDir()
	publishtest.StageRelease(t, staged, publishtest.Release{})
	s := newDir(t)
	if _, err := newPub(t, s).Publish(ctx, staged); err != nil {
		t.Fatal(err)
	}
	name := "1.0.0/hello-1.0.0-linux-amd64.tar.gz"
	sidecar := filepath.Join(s.Root(), publish.SumsDir, filepath.FromSlash(name)+".sha256")
	data, err := os.ReadFile(sidecar)
	if err != nil {
		t.Fatalf("no sidecar after the publish: %v", err)
	}
	// Trusted while the file is unchanged: a sidecar edited to claim other
	// bytes is believed (proof that Stat did not hash), so the re-run
	// reports a conflict...
	lie := strings.Repeat("0", 64) + string(data[64:])
	if err := os.WriteFile(sidecar, []byte(lie), 0o644); err != nil {
		t.Fatal(err)
	}
	var ce *publish.ConflictError
	if _, err := newPub(t, s).Publish(ctx, staged); !errors.As(err, &ce) {
		t.Fatalf("re-run over a lying sidecar: %v, want *ConflictError", err)
	}
	// ... and Rehash ignores sidecars.
	s.Rehash = true
	res, err := newPub(t, s).Publish(ctx, staged)
	if err != nil || res.BytesUploaded != 0 {
		t.Fatalf("re-run with Rehash: %v, %d bytes uploaded", err, res.BytesUploaded)
	}
	s.Rehash = false // and the sidecar was rewritten by that hash
	if _, err := newPub(t, s).Publish(ctx, staged); err != nil {
		t.Fatalf("re-run after Rehash: %v", err)
	}

	// A file changed in place, its size and modification time kept: the
	// change time moved, so the sidecar is not trusted and the change is
	// caught.
	p := filepath.Join(s.Root(), filepath.FromSlash(name))
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	content, _ := os.ReadFile(p)
	content[0] ^= 0xff
	time.Sleep(10 * time.Millisecond) // a different change time on coarse clocks
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if _, err := newPub(t, s).Publish(ctx, staged); !errors.As(err, &ce) || ce.Conflicts[0].Name != name {
		t.Fatalf("re-run over a file changed in place: %v, want a conflict on %s", err, name)
	}

	// A garbage sidecar is ignored.
	if err := os.WriteFile(sidecar, []byte("not a sidecar"), 0o644); err != nil {
		t.Fatal(err)
	}
	content[0] ^= 0xff // restore
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := newPub(t, s).Publish(ctx, staged); err != nil {
		t.Fatalf("re-run over a garbage sidecar: %v", err)
	}
}
