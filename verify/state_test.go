package verify

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestFileState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "state.json")
	s := NewFileState(path)
	if n, err := s.Serial(bg, "manifest.json"); n != 0 || err != nil {
		t.Fatalf("empty state: %d %v", n, err)
	}
	for _, n := range []int64{5, 3, 9} {
		if err := s.SetSerial(bg, "manifest.json", n); err != nil {
			t.Fatal(err)
		}
	}
	// A second instance (a restarted client) sees the highest serial.
	if n, err := NewFileState(path).Serial(bg, "manifest.json"); n != 9 || err != nil {
		t.Fatalf("after restart: %d %v", n, err)
	}
	if n, _ := s.Serial(bg, "keys.json"); n != 0 {
		t.Fatalf("other key: %d", n)
	}
	// No temporary files are left behind.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries", len(entries))
	}
	// A corrupt state fails closed: it is an error, not an empty state.
	if err := os.WriteFile(path, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Serial(bg, "manifest.json"); !errors.Is(err, ErrMalformed) {
		t.Fatalf("corrupt state: %v", err)
	}
	k := newKey(t, "p256")
	data := testManifest(t, 7, testNow.Add(3600e9))
	_, err := verifier(t, ring(t, k), WithState(s)).VerifyManifest(bg, data, Signatures{Detached: k.sign(t, data)})
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("VerifyManifest with a corrupt state: %v", err)
	}
	if err := os.WriteFile(path, []byte(`{"schema":"relkit.state/v9","serials":{}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Serial(bg, "manifest.json"); !errors.Is(err, ErrMalformed) {
		t.Fatalf("unknown state schema: %v", err)
	}
}

func TestMemoryStateNeverLowers(t *testing.T) {
	s := NewMemoryState()
	s.SetSerial(bg, "k", 4)
	s.SetSerial(bg, "k", 2)
	if n, _ := s.Serial(bg, "k"); n != 4 {
		t.Fatalf("serial %d, want 4", n)
	}
}
