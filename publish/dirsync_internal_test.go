package publish

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
)

// TestDirStoreBatchedDirSync: a file in a version directory leaves its
// directory to be fsynced in a batch; a root file (manifest.json, the
// commit point) is written only after that batch, and Commit runs it too.
func TestDirStoreBatchedDirSync(t *testing.T) {
	d, err := NewDirStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	put := func(name string) {
		t.Helper()
		data := "content of " + name
		sum := sha256.Sum256([]byte(data))
		info := PutInfo{Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]), Replace: !strings.Contains(name, "/")}
		if err := d.Put(t.Context(), name, NewBody(name, strings.NewReader(data), info.Size, info.SHA256), info); err != nil {
			t.Fatal(err)
		}
	}
	pending := func() int {
		d.mu.Lock()
		defer d.mu.Unlock()
		return len(d.unsynced)
	}
	put("1.0.0/a.tar.gz")
	put("1.0.0/b.tar.gz")
	put("sigs/x.sig")
	if n := pending(); n != 2 {
		t.Fatalf("%d directories pending, want 2 (1.0.0, sigs)", n)
	}
	if !d.unsynced[filepath.Join(d.root, "1.0.0")] {
		t.Error("1.0.0 not pending")
	}
	put("manifest.json")
	if n := pending(); n != 0 {
		t.Fatalf("%d directories still pending after the root file", n)
	}
	put("2.0.0/c.tar.gz")
	if err := d.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := pending(); n != 0 {
		t.Fatalf("%d directories still pending after Commit", n)
	}
}
