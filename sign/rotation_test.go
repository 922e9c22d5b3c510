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

	"github.com/relkit/relkit/manifest"
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
	if len(res.Signed) != 2 || res.File != manifest.KeysFile {
		t.Errorf("Result = %+v", res)
	}
	bundle1 := readFile(t, filepath.Join(dir, manifest.KeysFile))

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
	writeFile(t, filepath.Join(replay, manifest.KeysFile), bundle1)
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
	existing := readFile(t, filepath.Join(dir, manifest.KeysFile))
	same := good()
	same.Issued = same.Issued.Add(time.Minute) // different bytes, same serial
	if _, err := SignKeyBundle(ctx, dir, same, root); !errors.Is(err, ErrBadBundle) {
		t.Errorf("same serial, different bundle: %v, want ErrBadBundle", err)
	}
	if !bytes.Equal(readFile(t, filepath.Join(dir, manifest.KeysFile)), existing) {
		t.Error("existing keys.json was replaced")
	}
	if err := RevokeBundleKey(same, "short", "x"); !errors.Is(err, ErrBadBundle) {
		t.Errorf("revoking a malformed key ID: %v, want ErrBadBundle", err)
	}
}

// TestRootRotationEndToEnd (issue 14 item 2) walks the whole path with
// the writers a maintainer uses: pinned roots (root/1.json) -> a rotated
// root set (root/2.json, R1 revoked, R3 added) -> keys.json signed by the
// new roots -> a release signed by the certified key, verified by a
// client that pins only R1 and R2 and follows the rotation; R1 is refused
// from then on.
func TestRootRotationEndToEnd(t *testing.T) {
	ctx := context.Background()
	root1 := loadCase(t, caseFor("ec-p256-pkcs8.pem"))
	root2 := loadCase(t, caseFor("ec-p384-pkcs8.pem"))
	root3 := loadCase(t, caseFor("rsa3072-pkcs1.pem"))
	signing := loadCase(t, caseFor("ed25519-pkcs8.pem"))
	now := time.Now()
	dir := t.TempDir()
	makeRelease(t, dir, "1.0.0")
	if _, err := SignRelease(ctx, dir, signing); err != nil {
		t.Fatal(err)
	}

	v1 := NewRoot("hello", 2, now, 365*24*time.Hour)
	for _, s := range []Signer{root1, root2} {
		if _, err := AddRootKey(v1, s.PublicKey()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := SignRoot(ctx, dir, v1, root1); !errors.Is(err, ErrBadBundle) {
		t.Fatalf("version 1 signed by one of its two: %v, want ErrBadBundle", err)
	}
	if _, err := SignRoot(ctx, dir, v1, root1, root2); err != nil {
		t.Fatal(err)
	}
	b := NewProjectKeyBundle("hello", 1, now, 30*24*time.Hour)
	if _, err := AddBundleKey(b, signing.PublicKey(), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := SignKeyBundle(ctx, dir, b, root1, root2); err != nil {
		t.Fatal(err)
	}

	// The client pins R1 and R2 (version 1); its state survives runs.
	pinned := &verify.KeyRing{}
	for _, s := range []Signer{root1, root2} {
		if _, err := pinned.Add(s.PublicKey()); err != nil {
			t.Fatal(err)
		}
	}
	statePath := filepath.Join(t.TempDir(), "state.json")
	client := func() (*verify.Verifier, error) {
		tr := &verify.Trust{Roots: pinned, Project: "hello", State: verify.NewFileState(statePath)}
		return tr.Verifier(ctx, verify.Dir(dir))
	}
	check := func(step string) {
		t.Helper()
		v, err := client()
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if _, err := v.FetchManifest(ctx, verify.Dir(dir)); err != nil {
			t.Fatalf("%s: manifest: %v", step, err)
		}
		if _, err := v.VerifyRelease(ctx, verify.Dir(dir), verify.ReleaseOptions{Version: "1.0.0", RequireManifest: true}); err != nil {
			t.Fatalf("%s: release: %v", step, err)
		}
	}
	check("before the rotation")

	// Rotate the roots: R1 retired, R3 in, still 2 of 2.
	v2 := NextRoot(v1, now, 365*24*time.Hour)
	if err := RevokeRootKey(v2, root1.KeyID(), "retired"); err != nil {
		t.Fatal(err)
	}
	if _, err := AddRootKey(v2, root3.PublicKey()); err != nil {
		t.Fatal(err)
	}
	if _, err := AddRootKey(v2, root1.PublicKey()); !errors.Is(err, ErrBadBundle) {
		t.Errorf("re-adding the revoked root: %v, want ErrBadBundle", err)
	}
	if v2.Version != 2 || v2.Project != "hello" {
		t.Fatalf("NextRoot = version %d, project %q", v2.Version, v2.Project)
	}
	// The old set's threshold is R1 and R2: without R1 it is refused,
	// and nothing is written.
	if _, err := SignRoot(ctx, dir, v2, root2, root3); !errors.Is(err, ErrBadBundle) {
		t.Fatalf("root set 2 without the old threshold: %v, want ErrBadBundle", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "root", "2.json")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused root set was written: %v", err)
	}
	if _, err := SignRoot(ctx, dir, v2, root1, root2); !errors.Is(err, ErrBadBundle) {
		t.Fatalf("root set 2 without its own threshold: %v, want ErrBadBundle", err)
	}
	path, err := SignRoot(ctx, dir, v2, root1, root2, root3)
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(dir, "root", "2.json") {
		t.Errorf("SignRoot wrote %s", path)
	}
	// Version 2 is published: another version 2 is refused.
	other := NextRoot(v1, now.Add(time.Hour), 24*time.Hour)
	if _, err := SignRoot(ctx, dir, other, root1, root2); !errors.Is(err, ErrBadBundle) {
		t.Errorf("rewriting published version 2: %v, want ErrBadBundle", err)
	}

	// keys.json still signed by R1 and R2: the client follows the
	// rotation and refuses it.
	if _, err := client(); !errors.Is(err, verify.ErrRevoked) {
		t.Fatalf("keys.json by the retired root after the rotation: %v, want ErrRevoked", err)
	}
	b2 := NextKeyBundle(b, now, 30*24*time.Hour)
	if b2.Project != "hello" {
		t.Fatalf("NextKeyBundle dropped the project: %q", b2.Project)
	}
	if _, err := SignKeyBundle(ctx, dir, b2, root2, root3); err != nil {
		t.Fatal(err)
	}
	check("after the rotation")
}
