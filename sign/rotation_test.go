package sign

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/relkit/relkit/verify"
)

// fetchBundle verifies dir/keys.json as a client pinning roots does, with
// the given verifier (whose State remembers serials).
func fetchBundle(t testing.TB, v *verify.Verifier, dir string) (*verify.KeyRing, error) {
	t.Helper()
	return v.FetchKeyBundle(context.Background(), verify.Dir(dir))
}

// TestKeyRotation walks a rotation: roots certify two signing keys; a
// release signed by one verifies through the bundle; the next bundle
// revokes that key and adds a new one; clients then refuse the revoked key
// and accept the new one, and refuse the old bundle as a rollback.
func TestKeyRotation(t *testing.T) {
	ctx := context.Background()
	root1 := loadCase(t, caseFor("ec-p384-pkcs8.pem"))
	root2 := loadCase(t, caseFor("rsa2048-pkcs8.pem"))
	signA := loadCase(t, caseFor("cosign-relkit.key"))
	signB := loadCase(t, caseFor("ed25519-pkcs8.pem"))
	signC := loadCase(t, caseFor("ec-p256-pkcs8.pem"))

	dir := t.TempDir()
	now := time.Now()
	b1 := NewKeyBundle(1, now, 365*24*time.Hour)
	for _, s := range []Signer{signA, signB} {
		if _, err := AddBundleKey(b1, s.PublicKey(), time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := SignKeyBundle(ctx, dir, b1, root1, root2)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Signed) != 2 || res.File != verify.KeysFile {
		t.Errorf("Result = %+v", res)
	}
	bundle1 := readFile(t, filepath.Join(dir, verify.KeysFile))

	// A client pinning both roots with threshold 2 (one Verifier, so one
	// State remembering serials across the steps below).
	client := verifierOf(t, 2, root1, root2)
	ring, err := fetchBundle(t, client, dir)
	if err != nil {
		t.Fatalf("client refuses bundle 1: %v", err)
	}
	if ids := ring.IDs(); !slices.Contains(ids, signA.KeyID()) || !slices.Contains(ids, signB.KeyID()) || len(ids) != 2 {
		t.Fatalf("bundle 1 ring = %v", ids)
	}
	// A release signed by A verifies with the bundle's ring.
	rel := t.TempDir()
	makeRelease(t, rel, "1.0.0")
	if _, err := SignRelease(ctx, rel, signA); err != nil {
		t.Fatal(err)
	}
	relVerifier, err := verify.NewVerifier(ring)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := relVerifier.VerifyRelease(ctx, verify.Dir(rel), verify.ReleaseOptions{Version: "1.0.0", RequireManifest: true}); err != nil {
		t.Fatalf("release signed by A: %v", err)
	}
	// One root alone is not enough for this client.
	dir1 := t.TempDir()
	if _, err := SignKeyBundle(ctx, dir1, b1, root1); err != nil {
		t.Fatal(err)
	}
	if _, err := fetchBundle(t, verifierOf(t, 2, root1, root2), dir1); !errors.Is(err, verify.ErrBadSignature) {
		t.Errorf("bundle signed by one of two required roots: %v, want ErrBadSignature", err)
	}

	// Rotate: revoke A (laptop stolen), add C with its own expiry.
	b2 := NextKeyBundle(b1, now.Add(time.Hour), 365*24*time.Hour)
	if err := RevokeBundleKey(b2, signA.KeyID(), "laptop stolen"); err != nil {
		t.Fatal(err)
	}
	if _, err := AddBundleKey(b2, signC.PublicKey(), now.Add(30*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := AddBundleKey(b2, signA.PublicKey(), time.Time{}); !errors.Is(err, ErrBadBundle) {
		t.Errorf("adding a revoked key back: %v, want ErrBadBundle", err)
	}
	if b2.Serial != 2 {
		t.Errorf("next serial = %d, want 2", b2.Serial)
	}
	if _, err := SignKeyBundle(ctx, dir, b2, root1, root2); err != nil {
		t.Fatal(err)
	}
	ring, err = fetchBundle(t, client, dir)
	if err != nil {
		t.Fatalf("client refuses bundle 2: %v", err)
	}
	if ids := ring.IDs(); slices.Contains(ids, signA.KeyID()) || !slices.Contains(ids, signB.KeyID()) || !slices.Contains(ids, signC.KeyID()) {
		t.Fatalf("bundle 2 ring = %v", ids)
	}
	relVerifier, err = verify.NewVerifier(ring)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := relVerifier.VerifyRelease(ctx, verify.Dir(rel), verify.ReleaseOptions{Version: "1.0.0", RequireManifest: true}); err == nil {
		t.Error("release signed only by the revoked key A still verifies")
	}
	if _, err := SignRelease(ctx, rel, signC); err != nil {
		t.Fatal(err)
	}
	if _, err := relVerifier.VerifyRelease(ctx, verify.Dir(rel), verify.ReleaseOptions{Version: "1.0.0", RequireManifest: true}); err != nil {
		t.Fatalf("release re-signed by C: %v", err)
	}
	// Even pinned directly next to the bundle's keys, A is refused.
	pinnedA, err := verify.MarshalPublicKey(signA.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ring.AddPEM(pinnedA); err == nil {
		t.Error("revoked key A could be added to the bundle's ring")
	}

	// The old bundle, replayed, is a rollback for this client.
	replay := t.TempDir()
	writeFile(t, filepath.Join(replay, verify.KeysFile), bundle1)
	if _, err := SignKeyBundle(ctx, replay, b1, root1, root2); err != nil {
		t.Fatal(err)
	}
	if _, err := fetchBundle(t, client, replay); !errors.Is(err, verify.ErrRollback) {
		t.Errorf("replayed bundle 1: %v, want ErrRollback", err)
	}

	// Signing the same bundle again rewrites nothing.
	before := snapshot(t, dir)
	if res, err := SignKeyBundle(ctx, dir, b2, root1, root2); err != nil || res.Changed() {
		t.Errorf("re-signing bundle 2: %+v, %v", res, err)
	}
	if after := snapshot(t, dir); !mapsEqual(before, after) {
		t.Error("re-signing bundle 2 changed files")
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestSignKeyBundleRefuses(t *testing.T) {
	ctx := context.Background()
	root := loadCase(t, caseFor("ec-p384-pkcs8.pem"))
	signer := loadCase(t, caseFor("ed25519-pkcs8.pem"))
	now := time.Now()

	good := func() *verify.KeyBundle {
		b := NewKeyBundle(5, now, 24*time.Hour)
		if _, err := AddBundleKey(b, signer.PublicKey(), time.Time{}); err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := map[string]func(b *verify.KeyBundle){
		"no expiry":            func(b *verify.KeyBundle) { b.Expires = time.Time{} },
		"expires before issue": func(b *verify.KeyBundle) { b.Expires = b.Issued.Add(-time.Second) },
		"already expired":      func(b *verify.KeyBundle) { b.Issued = now.Add(-48 * time.Hour); b.Expires = now.Add(-time.Hour) },
		"listed and revoked":   func(b *verify.KeyBundle) { b.Revoked = append(b.Revoked, verify.RevokedKey{KeyID: signer.KeyID()}) },
		"key ID mismatch":      func(b *verify.KeyBundle) { b.Keys[0].KeyID = root.KeyID() },
		"negative serial":      func(b *verify.KeyBundle) { b.Serial = -1 },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			b := good()
			mutate(b)
			if _, err := SignKeyBundle(ctx, dir, b, root); !errors.Is(err, ErrBadBundle) {
				t.Fatalf("%v, want ErrBadBundle", err)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("files written for a refused bundle: %v", ents)
			}
		})
	}

	// A serial not above the bundle already in place is refused, and the
	// existing bundle stays.
	dir := t.TempDir()
	if _, err := SignKeyBundle(ctx, dir, good(), root); err != nil {
		t.Fatal(err)
	}
	existing := readFile(t, filepath.Join(dir, verify.KeysFile))
	same := good()
	same.Issued = same.Issued.Add(time.Minute) // different bytes, same serial
	if _, err := SignKeyBundle(ctx, dir, same, root); !errors.Is(err, ErrBadBundle) {
		t.Errorf("same serial, different bundle: %v, want ErrBadBundle", err)
	}
	if !bytes.Equal(readFile(t, filepath.Join(dir, verify.KeysFile)), existing) {
		t.Error("existing keys.json was replaced")
	}
	if err := RevokeBundleKey(same, "short", "x"); !errors.Is(err, ErrBadBundle) {
		t.Errorf("revoking a malformed key ID: %v, want ErrBadBundle", err)
	}
}
