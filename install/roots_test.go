package install

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/verify"
)

// writeKeyBundle publishes keys.json (+ .sig by root) certifying keys and
// revoking revoked.
func (f *fixture) writeKeyBundle(root *ecdsa.PrivateKey, serial int64, keys []*ecdsa.PrivateKey, revoked ...*ecdsa.PrivateKey) {
	f.t.Helper()
	b := &verify.KeyBundle{Serial: serial, Issued: f.now, Expires: f.now.Add(365 * 24 * time.Hour)}
	for _, k := range keys {
		id, _ := verify.KeyID(&k.PublicKey)
		pem, _ := verify.MarshalPublicKey(&k.PublicKey)
		b.Keys = append(b.Keys, verify.BundleKey{KeyID: id, PublicKey: string(pem)})
	}
	for _, k := range revoked {
		id, _ := verify.KeyID(&k.PublicKey)
		b.Revoked = append(b.Revoked, verify.RevokedKey{KeyID: id, Reason: "rotated out"})
	}
	data, err := b.Marshal()
	if err != nil {
		f.t.Fatal(err)
	}
	f.write("keys.json", data)
	f.write("keys.json.sig", signBytes(f.t, root, data))
}

// TestRootsRotateSigningKeys: with only a root key pinned, the installer
// trusts the signing key that the root-signed keys.json certifies, follows
// a rotation to a new signing key, and refuses the revoked old key even
// when it is also pinned directly.
func TestRootsRotateSigningKeys(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "hello")
	root, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	roots := &verify.KeyRing{}
	roots.Add(&root.PublicKey)
	oldKey := f.key
	f.writeKeyBundle(root, 1, []*ecdsa.PrivateKey{oldKey})
	v1 := f.release("1.0.0")
	srv := f.serve()
	dir := t.TempDir()
	cfg := f.config(srv.URL, dir)
	cfg.Keys = nil
	cfg.Roots = roots
	res, err := f.installer(cfg).Install(ctx, manifest.Query{})
	if err != nil || readFile(t, dir+"/hello") != string(v1["hello"]) {
		t.Fatalf("install with roots: %+v %v", res, err)
	}

	// Rotate: a new signing key, the old one revoked.
	newKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f.writeKeyBundle(root, 2, []*ecdsa.PrivateKey{newKey}, oldKey)
	f.key = newKey
	v2 := f.release("1.1.0")
	cfg.Keys = f.ring // still pins the old key: the revocation wins
	if _, err := f.installer(cfg).Install(ctx, manifest.Query{}); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if readFile(t, dir+"/hello") != string(v2["hello"]) {
		t.Fatal("not upgraded after rotation")
	}

	// A manifest signed by the revoked key is refused.
	f.key = oldKey
	f.release("1.2.0")
	_, err = f.installer(cfg).Install(ctx, manifest.Query{})
	if !errors.Is(err, ErrVerification) || !errors.Is(err, verify.ErrBadSignature) {
		t.Fatalf("revoked key: %v", err)
	}

	// An older keys.json (serial 1, trusting the old key) is a rollback.
	f.writeKeyBundle(root, 1, []*ecdsa.PrivateKey{oldKey})
	_, err = f.installer(cfg).Install(ctx, manifest.Query{})
	if !errors.Is(err, verify.ErrRollback) {
		t.Fatalf("keys.json rollback: %v", err)
	}

	// keys.json signed by a non-root key is refused.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f.writeKeyBundle(other, 5, []*ecdsa.PrivateKey{oldKey})
	_, err = f.installer(cfg).Install(ctx, manifest.Query{})
	if !errors.Is(err, ErrVerification) || !errors.Is(err, verify.ErrBadSignature) {
		t.Fatalf("keys.json by another key: %v", err)
	}
	if readFile(t, dir+"/hello") != string(v2["hello"]) {
		t.Fatal("a refused install changed the binary")
	}
}

func TestPlatformOverride(t *testing.T) {
	f := newFixture(t, "hello")
	f.release("1.0.0")
	cfg := f.config(f.root, t.TempDir())
	cfg.Platform = manifest.Platform{OS: "macos", Arch: "aarch64"}
	in := f.installer(cfg)
	if in.Platform().String() != "darwin/arm64" {
		t.Fatalf("platform %v", in.Platform())
	}
	_, err := in.Check(context.Background(), manifest.Query{})
	var nm *manifest.NoMatchError
	if !errors.As(err, &nm) {
		t.Fatalf("want NoMatchError for darwin/arm64, got %v", err)
	}
	cfg.Platform = manifest.Platform{OS: "plan10", Arch: "amd64"}
	if _, err := New(cfg); err == nil {
		t.Fatal("unknown OS accepted")
	}
}
