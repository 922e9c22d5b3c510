package install

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/verify"
)

// writeKeyBundle publishes keys.json for f.project (+ .sig by root)
// certifying keys and revoking revoked.
func (f *fixture) writeKeyBundle(root *ecdsa.PrivateKey, serial int64, keys []*ecdsa.PrivateKey, revoked ...*ecdsa.PrivateKey) {
	f.t.Helper()
	b := &verify.KeyBundle{Project: f.project, Serial: serial, Issued: f.now, Expires: f.now.Add(365 * 24 * time.Hour)}
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
	cfg.Trust = &verify.Trust{Roots: roots}
	res, err := f.installer(cfg).Install(ctx, manifest.Query{})
	if err != nil || readFile(t, dir+"/hello") != string(v1["hello"]) {
		t.Fatalf("install with roots: %+v %v", res, err)
	}

	// Rotate: a new signing key, the old one revoked.
	newKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f.writeKeyBundle(root, 2, []*ecdsa.PrivateKey{newKey}, oldKey)
	f.key = newKey
	v2 := f.release("1.1.0")
	cfg.Trust = &verify.Trust{Keys: f.ring, Roots: roots} // still pins the old key: the revocation wins
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

// sigEntry signs data, known as file, with key for a signatures.json.
func sigEntry(t testing.TB, key *ecdsa.PrivateKey, file string, data []byte) verify.SignatureEntry {
	t.Helper()
	sig, err := verify.DecodeSignature(signBytes(t, key, data))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := verify.KeyID(&key.PublicKey)
	return verify.SignatureEntry{KeyID: id, Algorithm: verify.AlgECDSASHA256, File: file, SHA256: hexSum(data), Signature: sig}
}

// signRoot publishes keys.json certifying keys, signed (in
// signatures.json) by each of roots, and signs the current manifest.json
// with each of the signing keys; no detached signature is left, so
// everything counts through signatures.json. With manifestSigners, they
// sign the manifest instead of keys.
func (f *fixture) signRoot(project string, roots []*ecdsa.PrivateKey, keys []*ecdsa.PrivateKey, manifestSigners ...*ecdsa.PrivateKey) {
	f.t.Helper()
	b := &verify.KeyBundle{Project: project, Serial: 1, Issued: f.now, Expires: f.now.Add(365 * 24 * time.Hour)}
	for _, k := range keys {
		id, _ := verify.KeyID(&k.PublicKey)
		pem, _ := verify.MarshalPublicKey(&k.PublicKey)
		b.Keys = append(b.Keys, verify.BundleKey{KeyID: id, PublicKey: string(pem)})
	}
	data, err := b.Marshal()
	if err != nil {
		f.t.Fatal(err)
	}
	f.write("keys.json", data)
	set := &verify.SignatureSet{}
	for _, r := range roots {
		set.Add(sigEntry(f.t.(testing.TB), r, "keys.json", data))
	}
	m := readFile(f.t.(testing.TB), filepath.Join(f.root, "manifest.json"))
	if manifestSigners == nil {
		manifestSigners = keys
	}
	for _, k := range manifestSigners {
		set.Add(sigEntry(f.t.(testing.TB), k, "manifest.json", []byte(m)))
	}
	setData, err := set.Marshal()
	if err != nil {
		f.t.Fatal(err)
	}
	f.write("signatures.json", setData)
	os.Remove(filepath.Join(f.root, "manifest.json.sig"))
	os.Remove(filepath.Join(f.root, "keys.json.sig"))
}

// TestRootThreshold (issue 14 item 1): with roots R1 and R2 pinned and
// Threshold 2, a keys.json signed by R1 alone that certifies two attacker
// keys must not let the attacker's release in: the root threshold is all
// of Roots unless RootThreshold says less, whatever the signing
// Threshold.
func TestRootThreshold(t *testing.T) {
	ctx := context.Background()
	gen := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	r1, r2, a1, a2 := gen(), gen(), gen(), gen()
	roots := &verify.KeyRing{}
	roots.Add(&r1.PublicKey)
	roots.Add(&r2.PublicKey)

	f := newFixture(t, "hello")
	f.key = a1
	f.release("6.6.6")
	f.signRoot("hello", []*ecdsa.PrivateKey{r1}, []*ecdsa.PrivateKey{a1, a2})
	dir := t.TempDir()
	base := f.config(f.root, dir)

	refused := func(name string, cfg Config) {
		t.Helper()
		before := snapshot(t, dir)
		_, err := f.installer(cfg).Install(ctx, manifest.Query{})
		var te *verify.ThresholdError
		if !errors.Is(err, ErrVerification) || !errors.As(err, &te) || te.File != manifest.KeysFile || te.Need != 2 || te.Got != 1 {
			t.Fatalf("%s: keys.json signed by one of two roots: %v, want a keys.json *verify.ThresholdError (need 2, got 1)", name, err)
		}
		if after := snapshot(t, dir); len(after) != len(before) {
			t.Fatalf("%s: a refused install changed %s: %v", name, dir, after)
		}
	}
	with := func(tr verify.Trust) Config {
		cfg := base
		cfg.Trust = &tr
		return cfg
	}
	refused("Roots, Threshold 2, default root threshold", with(verify.Trust{Roots: roots, Threshold: 2}))
	refused("Roots, RootThreshold 2", with(verify.Trust{Roots: roots, Threshold: 2, RootThreshold: 2}))
	refused("Roots, RootThreshold 2, default threshold", with(verify.Trust{Roots: roots, RootThreshold: 2}))

	// Controls: the same files pass when one root is declared enough, and
	// when both roots sign.
	if _, err := f.installer(with(verify.Trust{Roots: roots, Threshold: 2, RootThreshold: 1})).Check(ctx, manifest.Query{}); err != nil {
		t.Fatalf("RootThreshold 1: %v", err)
	}
	var ce *ConfigError
	if _, err := New(with(verify.Trust{Roots: roots, Threshold: 2, RootThreshold: 3})); !errors.As(err, &ce) {
		t.Fatalf("RootThreshold 3 of 2 roots: %v, want *ConfigError", err)
	}
	cfg := with(verify.Trust{Roots: roots, Threshold: 2})
	f.signRoot("hello", []*ecdsa.PrivateKey{r1, r2}, []*ecdsa.PrivateKey{a1, a2})
	if _, err := f.installer(cfg).Install(ctx, manifest.Query{}); err != nil {
		t.Fatalf("keys.json signed by both roots: %v", err)
	}
}

// TestKeyBundleBoundToProject (issue 14 item 3): projects "other" and
// "hello" share a root key. The holder of other's signing key serves
// other's genuine keys.json at hello's location, with a hello manifest it
// signed: the installer refuses it, and a keys.json naming no project
// too, unless Trust.UnsafeAllowUnboundKeys.
func TestKeyBundleBoundToProject(t *testing.T) {
	ctx := context.Background()
	root, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	roots := &verify.KeyRing{}
	roots.Add(&root.PublicKey)
	f := newFixture(t, "hello")
	f.release("6.6.6")
	dir := t.TempDir()
	cfg := f.config(f.root, dir)
	cfg.Trust = &verify.Trust{Roots: roots}
	for _, project := range []string{"other", ""} {
		f.signRoot(project, []*ecdsa.PrivateKey{root}, []*ecdsa.PrivateKey{f.key})
		before := snapshot(t, dir)
		_, err := f.installer(cfg).Install(ctx, manifest.Query{})
		var pe *verify.ProjectError
		if !errors.Is(err, ErrVerification) || !errors.As(err, &pe) || pe.Got != project || pe.Want != "hello" {
			t.Fatalf("keys.json for project %q at hello's location: %v, want a *verify.ProjectError", project, err)
		}
		if after := snapshot(t, dir); len(after) != len(before) {
			t.Fatalf("a refused install changed %s: %v", dir, after)
		}
	}
	// Unbound bundles only with the Unsafe option.
	unsafe := cfg
	unsafe.Trust = &verify.Trust{Roots: roots, UnsafeAllowUnboundKeys: true}
	if _, err := f.installer(unsafe).Install(ctx, manifest.Query{}); err != nil {
		t.Fatalf("UnsafeAllowUnboundKeys: %v", err)
	}
}

// writeRoot publishes root/<version>.json: the root set keys (threshold
// th, revoking revoked) signed by each of signers.
func (f *fixture) writeRoot(version int64, th int, keys, revoked, signers []*ecdsa.PrivateKey) {
	f.t.Helper()
	r := verify.Root{Project: f.project, Version: version, Threshold: th, Issued: f.now, Expires: f.now.Add(365 * 24 * time.Hour)}
	for _, k := range keys {
		id, _ := verify.KeyID(&k.PublicKey)
		pem, _ := verify.MarshalPublicKey(&k.PublicKey)
		r.Keys = append(r.Keys, verify.BundleKey{KeyID: id, PublicKey: string(pem)})
	}
	for _, k := range revoked {
		id, _ := verify.KeyID(&k.PublicKey)
		r.Revoked = append(r.Revoked, verify.RevokedKey{KeyID: id, Reason: "retired"})
	}
	payload, err := r.Marshal()
	if err != nil {
		f.t.Fatal(err)
	}
	env := &verify.SignedRoot{Payload: payload}
	for _, k := range signers {
		e := sigEntry(f.t.(testing.TB), k, "", payload)
		env.Signatures = append(env.Signatures, verify.RootSignature{KeyID: e.KeyID, Algorithm: e.Algorithm, Signature: e.Signature})
	}
	data, err := env.Marshal()
	if err != nil {
		f.t.Fatal(err)
	}
	f.write(verify.RootFile(version), data)
}

// TestRootRotationInstall (issue 14 item 2), the whole path through the
// installer: pinned roots R1+R2 -> root/2.json (R1 revoked, R3 added) ->
// keys.json signed by R2+R3 -> a manifest by the certified key ->
// installed, by a program that pins only R1 and R2. R1 is refused from
// then on, for keys.json and as a signing key, and nothing installed is
// touched by the refusals.
func TestRootRotationInstall(t *testing.T) {
	ctx := context.Background()
	gen := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	r1, r2, r3 := gen(), gen(), gen()
	roots := &verify.KeyRing{}
	roots.Add(&r1.PublicKey)
	roots.Add(&r2.PublicKey)
	pinnedR1 := &verify.KeyRing{}
	pinnedR1.Add(&r1.PublicKey)
	f := newFixture(t, "hello")
	signing := f.key
	v1 := f.release("1.0.0")
	f.signRoot("hello", []*ecdsa.PrivateKey{r1, r2}, []*ecdsa.PrivateKey{signing})
	dir := t.TempDir()
	cfg := f.config(f.root, dir)
	cfg.Trust = &verify.Trust{Keys: pinnedR1, Roots: roots} // R1 pinned as a signing key too
	if _, err := f.installer(cfg).Install(ctx, manifest.Query{}); err != nil {
		t.Fatalf("before the rotation: %v", err)
	}

	f.writeRoot(2, 2, []*ecdsa.PrivateKey{r2, r3}, []*ecdsa.PrivateKey{r1}, []*ecdsa.PrivateKey{r1, r2, r3})
	f.key = signing
	f.release("1.1.0")
	refused := func(step string, want error) {
		t.Helper()
		before := snapshot(t, dir)
		_, err := f.installer(cfg).Install(ctx, manifest.Query{})
		if !errors.Is(err, ErrVerification) || !errors.Is(err, want) {
			t.Fatalf("%s: %v, want ErrVerification and %v", step, err, want)
		}
		if after := snapshot(t, dir); !maps.Equal(before, after) || readFile(t, dir+"/hello") != string(v1["hello"]) {
			t.Fatalf("%s: a refused install changed %s", step, dir)
		}
	}
	// keys.json still by R1+R2: R1 is revoked by the rotation.
	f.signRoot("hello", []*ecdsa.PrivateKey{r1, r2}, []*ecdsa.PrivateKey{signing})
	refused("keys.json by the revoked root", verify.ErrRevoked)
	// The manifest signed by R1, pinned as a signing key: refused.
	f.signRoot("hello", []*ecdsa.PrivateKey{r2, r3}, []*ecdsa.PrivateKey{signing}, r1)
	refused("manifest by the revoked root", verify.ErrRevoked)
	// keys.json by the new roots, the manifest by the certified key.
	f.signRoot("hello", []*ecdsa.PrivateKey{r2, r3}, []*ecdsa.PrivateKey{signing})
	res, err := f.installer(cfg).Install(ctx, manifest.Query{})
	if err != nil || res.Version != "1.1.0" {
		t.Fatalf("after the rotation: %+v, %v", res, err)
	}
	// The rotated root set is remembered in the state file: with
	// root/2.json gone, R1 is still refused.
	os.Remove(filepath.Join(f.root, "root", "2.json"))
	f.signRoot("hello", []*ecdsa.PrivateKey{r1, r2}, []*ecdsa.PrivateKey{signing})
	_, err = f.installer(cfg).Check(ctx, manifest.Query{})
	if !errors.Is(err, verify.ErrRevoked) {
		t.Fatalf("after root/2.json was removed, keys.json by R1+R2: %v, want ErrRevoked", err)
	}
}

// TestRootRevokedInKeysJSON (issue 14 item 2, as reported): keys.json
// revokes root R2; R2 then signs the next keys.json, certifying an
// attacker's key and leaving the revocation out. The installer refuses it
// and keeps the installed binary.
func TestRootRevokedInKeysJSON(t *testing.T) {
	ctx := context.Background()
	r1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	r2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	attacker, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	roots := &verify.KeyRing{}
	roots.Add(&r1.PublicKey)
	roots.Add(&r2.PublicKey)
	f := newFixture(t, "hello")
	v1 := f.release("1.0.0")
	f.writeKeyBundle(r1, 1, []*ecdsa.PrivateKey{f.key}, r2)
	dir := t.TempDir()
	cfg := f.config(f.root, dir)
	cfg.Trust = &verify.Trust{Roots: roots, RootThreshold: 1}
	if _, err := f.installer(cfg).Install(ctx, manifest.Query{}); err != nil {
		t.Fatal(err)
	}
	f.writeKeyBundle(r2, 2, []*ecdsa.PrivateKey{attacker})
	f.key = attacker
	f.release("6.6.6")
	_, err := f.installer(cfg).Install(ctx, manifest.Query{})
	var te *verify.ThresholdError
	if !errors.Is(err, ErrVerification) || !errors.As(err, &te) || te.File != manifest.KeysFile || !errors.Is(err, verify.ErrRevoked) {
		t.Fatalf("keys.json by the root a previous keys.json revoked: %v, want a keys.json *verify.ThresholdError with ErrRevoked", err)
	}
	if readFile(t, dir+"/hello") != string(v1["hello"]) {
		t.Fatal("the attacker's release was installed")
	}
}
