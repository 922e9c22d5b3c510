package release

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/sign"
	"github.com/relkit/relkit/verify"
)

// rootFiles snapshots the root files of a directory store (not sigs/,
// which only grows), to show that a refused publish replaced nothing.
func rootFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
			out[e.Name()] = string(data)
		}
	}
	return out
}

// TestMergeKeepsTheClientsThreshold: clients need 2 of 2 keys. A manifest
// planted with one key (adding an attacker's 6.6.6) is refused by them,
// and must not be merged and re-signed by both keys into one they accept.
func TestMergeKeepsTheClientsThreshold(t *testing.T) {
	k1, pub1 := newSigner(t)
	k2, pub2 := newSigner(t)
	keys, both := [][]byte{pub1, pub2}, []sign.Signer{k1, k2}
	store, loc := dirStore(t)
	if _, err := publishTo(t, store, prepareVersion(t, k1, "1.0.0", "", nil), keys, both); err != nil {
		t.Fatal(err)
	}
	// The attacker, holding k1 only, plants a manifest with 6.6.6.
	p, _ := publish.New(store)
	_, err := Amend(t.Context(), AmendConfig{Project: "hello", Publisher: p, Keys: keys, Signers: []sign.Signer{k1}, Threshold: 1},
		func(m *manifest.Manifest) ([]string, error) {
			r := m.Releases[0]
			r.Version, r.Tag, r.Commit = "6.6.6", "v6.6.6", ""
			r.Artifacts = nil
			_, err := m.Add(r)
			return nil, err
		})
	if err != nil {
		t.Fatal(err)
	}
	before := rootFiles(t, store.(*publish.DirStore).Root())
	for name, run := range map[string]func() error{
		"publish": func() error {
			_, err := publishTo(t, store, prepareVersion(t, k1, "1.1.0", "", nil), keys, both)
			return err
		},
		"refresh": func() error {
			_, err := Refresh(t.Context(), AmendConfig{Project: "hello", Publisher: p, Keys: keys, Signers: both})
			return err
		},
	} {
		var re *publish.RootError
		if err := run(); !errors.As(err, &re) {
			t.Errorf("%s over a manifest below the clients' threshold: %v, want *publish.RootError", name, err)
		}
	}
	if after := rootFiles(t, store.(*publish.DirStore).Root()); !maps.Equal(before, after) {
		t.Error("a refused merge changed the root")
	}
	ring, _ := verify.NewKeyRing(keys...)
	v, _ := verify.NewVerifier(ring, verify.WithThreshold(2), verify.WithProject("hello"))
	if _, err := v.FetchManifest(t.Context(), loc); err == nil {
		t.Error("a 2-of-2 client accepts the planted manifest")
	}
}

// TestPublishKeepsKeysJSONSignatures: keys.json certified by two root keys
// lives on the destination; publishing a release (which stages no
// keys.json) keeps its entries in the root signatures.json, so 2-of-2
// root clients still trust the signing key.
func TestPublishKeepsKeysJSONSignatures(t *testing.T) {
	s, pub := newSigner(t)
	r1, _ := newSigner(t)
	r2, _ := newSigner(t)
	store, loc := dirStore(t)
	root := store.(*publish.DirStore).Root()
	if _, err := publishTo(t, store, prepareVersion(t, s, "1.0.0", "", nil), [][]byte{pub}, []sign.Signer{s}); err != nil {
		t.Fatal(err)
	}
	b := sign.NewProjectKeyBundle("hello", 1, time.Now(), 365*24*time.Hour)
	if _, err := sign.AddBundleKey(b, s.PublicKey(), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := sign.SignKeyBundle(t.Context(), root, b, r1, r2); err != nil {
		t.Fatal(err)
	}
	trust := func() error {
		roots, _ := verify.NewKeyRing(mustPEM(t, r1), mustPEM(t, r2))
		tr := &verify.Trust{Roots: roots, RootThreshold: 2, Project: "hello", State: verify.NewMemoryState()}
		_, err := tr.Verifier(t.Context(), loc)
		return err
	}
	if err := trust(); err != nil {
		t.Fatalf("before the publish: %v", err)
	}
	if _, err := publishTo(t, store, prepareVersion(t, s, "1.1.0", "", nil), [][]byte{pub}, []sign.Signer{s}); err != nil {
		t.Fatal(err)
	}
	if err := trust(); err != nil {
		t.Fatalf("after a publish, 2-of-2 root clients refuse keys.json: %v", err)
	}
	if _, err := Refresh(t.Context(), AmendConfig{Project: "hello", Publisher: mustPublisher(t, store), Keys: [][]byte{pub}, Signers: []sign.Signer{s}}); err != nil {
		t.Fatal(err)
	}
	if err := trust(); err != nil {
		t.Fatalf("after a refresh, 2-of-2 root clients refuse keys.json: %v", err)
	}
}

func mustPublisher(t *testing.T, s publish.Store) *publish.Publisher {
	p, err := publish.New(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestHostileDestinationReplacesNothing: a destination whose manifest does
// not verify, or is another project's, is refused with a typed error, and
// no root file changes (the root signatures.json included).
func TestHostileDestinationReplacesNothing(t *testing.T) {
	s, pub := newSigner(t)
	other, otherPub := newSigner(t)
	for name, setup := range map[string]func(t *testing.T, store publish.Store){
		"untrusted key": func(t *testing.T, store publish.Store) {
			if _, err := publishTo(t, store, prepareVersion(t, other, "1.0.0", "", nil), [][]byte{otherPub}, []sign.Signer{other}); err != nil {
				t.Fatal(err)
			}
		},
		"tampered manifest": func(t *testing.T, store publish.Store) {
			if _, err := publishTo(t, store, prepareVersion(t, s, "1.0.0", "", nil), [][]byte{pub}, []sign.Signer{s}); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(store.(*publish.DirStore).Root(), "manifest.json")
			data, _ := os.ReadFile(p)
			os.WriteFile(p, append(data, ' '), 0o644)
		},
	} {
		t.Run(name, func(t *testing.T) {
			store, _ := dirStore(t)
			setup(t, store)
			before := rootFiles(t, store.(*publish.DirStore).Root())
			_, err := publishTo(t, store, prepareVersion(t, s, "1.1.0", "", nil), [][]byte{pub}, []sign.Signer{s})
			var re *publish.RootError
			if !errors.As(err, &re) {
				t.Fatalf("publish: %v, want *publish.RootError", err)
			}
			if after := rootFiles(t, store.(*publish.DirStore).Root()); !maps.Equal(before, after) {
				t.Error("a refused publish changed the root files")
			}
		})
	}
}

// TestRolledBackDestination: a destination restored to an older manifest
// (whose signatures are still valid) is refused by a release prepared
// against the newer one, instead of losing the releases in between.
func TestRolledBackDestination(t *testing.T) {
	s, pub := newSigner(t)
	keys, signers := [][]byte{pub}, []sign.Signer{s}
	store, loc := dirStore(t)
	root := store.(*publish.DirStore).Root()
	if _, err := publishTo(t, store, prepareVersion(t, s, "1.0.0", "", nil), keys, signers); err != nil {
		t.Fatal(err)
	}
	old := rootFiles(t, root)
	if _, err := publishTo(t, store, prepareVersion(t, s, "1.1.0", "", nil), keys, signers); err != nil {
		t.Fatal(err)
	}
	current, err := CurrentManifest(t.Context(), loc, keys)
	if err != nil {
		t.Fatal(err)
	}
	staged := prepareVersion(t, s, "1.2.0", "", current) // prepared against serial 2
	for name, data := range old {                        // the backup restore
		os.WriteFile(filepath.Join(root, name), []byte(data), 0o644)
	}
	_, err = publishTo(t, store, staged, keys, signers)
	var re *publish.RootError
	if !errors.As(err, &re) {
		t.Fatalf("publish onto a rolled-back destination: %v, want *publish.RootError", err)
	}
	if serial, vs := checkRoot(t, loc, pub); serial != 1 || !slices.Equal(vs, []string{"1.0.0"}) {
		t.Fatalf("after the refusal: serial %d %v", serial, vs)
	}
}

// TestBadLifetimeOrClock: a TTL too short to be read, or a publisher
// clock behind the published manifest, is refused before anything
// changes.
func TestBadLifetimeOrClock(t *testing.T) {
	s, pub := newSigner(t)
	store, loc := dirStore(t)
	if _, err := publishTo(t, store, prepareVersion(t, s, "1.0.0", "", nil), [][]byte{pub}, []sign.Signer{s}); err != nil {
		t.Fatal(err)
	}
	c := AmendConfig{Project: "hello", Publisher: mustPublisher(t, store), Keys: [][]byte{pub}, Signers: []sign.Signer{s}}
	short := c
	short.TTL = time.Nanosecond
	var ce *ConfigError
	if _, err := Refresh(t.Context(), short); !errors.As(err, &ce) {
		t.Errorf("refresh with a 1ns TTL: %v, want *ConfigError", err)
	}
	behind := c
	behind.Now = func() time.Time { return time.Now().Add(-365 * 24 * time.Hour) }
	var re *publish.RootError
	if _, err := Refresh(t.Context(), behind); !errors.As(err, &re) {
		t.Errorf("refresh with a clock a year behind: %v, want *publish.RootError", err)
	}
	if serial, _ := checkRoot(t, loc, pub); serial != 1 {
		t.Errorf("a refused refresh moved the serial to %d", serial)
	}
}

// TestFirstPublishersRace: two publishers into an empty destination at
// once both land (the root files are replaced, not created exclusively).
func TestFirstPublishersRace(t *testing.T) {
	s, pub := newSigner(t)
	keys, signers := [][]byte{pub}, []sign.Signer{s}
	a, b := prepareVersion(t, s, "1.2.0", "", nil), prepareVersion(t, s, "1.3.0", "", nil)
	for trial := range 10 {
		store, loc := dirStore(t)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, r := range []string{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				own, _ := publish.NewDirStore(store.(*publish.DirStore).Root())
				_, errs[i] = publishTo(t, own, r, keys, signers)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		if _, vs := checkRoot(t, loc, pub); !slices.Equal(vs, []string{"1.2.0", "1.3.0"}) {
			t.Fatalf("trial %d: %v", trial, vs)
		}
	}
}

var _ = context.Background
