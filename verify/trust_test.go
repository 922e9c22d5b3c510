package verify

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relkit/relkit/manifest"
)

// bundle returns keys.json bytes for project certifying keys.
func bundle(t testing.TB, project string, serial int64, keys ...*testKey) []byte {
	t.Helper()
	b := &KeyBundle{Project: project, Serial: serial, Issued: testNow.Add(-time.Hour), Expires: testNow.Add(24 * time.Hour)}
	for _, k := range keys {
		b.Keys = append(b.Keys, BundleKey{KeyID: k.id, PublicKey: string(k.pem)})
	}
	data, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// put writes data at dir/name.
func put(t testing.TB, dir, name string, data []byte) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// publishKeys writes keys.json and a signatures.json with an entry by
// each root for it (and, when manifest is not nil, manifest.json and an
// entry by each signer for it).
func publishKeys(t testing.TB, dir string, keysJSON []byte, roots []*testKey, manifestJSON []byte, signers ...*testKey) {
	t.Helper()
	s := &SignatureSet{}
	for _, r := range roots {
		s.Add(r.entry(t, manifest.KeysFile, keysJSON))
	}
	if manifestJSON != nil {
		put(t, dir, manifest.File, manifestJSON)
		for _, k := range signers {
			s.Add(k.entry(t, manifest.File, manifestJSON))
		}
	}
	data, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	put(t, dir, manifest.KeysFile, keysJSON)
	put(t, dir, manifest.SignaturesFile, data)
}

// TestTrustRootThreshold (issue 14 item 1) through verify.Trust: roots R1
// and R2, a keys.json signed by R1 alone that certifies two attacker keys
// is refused, by default (all roots) and with RootThreshold 2.
func TestTrustRootThreshold(t *testing.T) {
	r1, r2, a1, a2 := newKey(t, "p256#tr1"), newKey(t, "p256#tr2"), newKey(t, "p256#ta1"), newKey(t, "ed25519#ta2")
	dir := t.TempDir()
	m := testManifest(t, 1, testNow.Add(time.Hour))
	publishKeys(t, dir, bundle(t, "hello", 1, a1, a2), []*testKey{r1}, m, a1, a2)
	for _, rt := range []int{0, 2} {
		tr := &Trust{Roots: ring(t, r1, r2), RootThreshold: rt, Threshold: 2, Project: "hello", State: NewMemoryState(), Clock: clock}
		_, err := tr.Verifier(bg, Dir(dir))
		var te *ThresholdError
		if !errors.As(err, &te) || te.File != manifest.KeysFile || te.Need != 2 || te.Got != 1 {
			t.Fatalf("RootThreshold %d: keys.json by one of two roots: %v, want a keys.json *ThresholdError need 2 got 1", rt, err)
		}
	}
	tr := &Trust{Roots: ring(t, r1, r2), RootThreshold: 1, Threshold: 2, Project: "hello", State: NewMemoryState(), Clock: clock}
	v, err := tr.Verifier(bg, Dir(dir))
	if err != nil {
		t.Fatalf("RootThreshold 1: %v", err)
	}
	if _, err := v.FetchManifest(bg, Dir(dir)); err != nil {
		t.Fatalf("RootThreshold 1, manifest by both certified keys: %v", err)
	}
	for _, bad := range []Trust{
		{Roots: ring(t, r1, r2), RootThreshold: 3, Project: "hello", State: NewMemoryState()},
		{Roots: ring(t, r1), Project: "", State: NewMemoryState()},
		{Roots: ring(t, r1), Project: "hello"},
		{Keys: ring(t, a1), RootThreshold: 1, Project: "hello", State: NewMemoryState()},
		{Project: "hello", State: NewMemoryState()},
	} {
		var te *TrustError
		if _, err := bad.Verifier(bg, Dir(dir)); !errors.As(err, &te) {
			t.Errorf("Trust %+v: %v, want *TrustError", bad, err)
		}
	}
}

// TestKeyBundleProject (issue 14 item 3): projects sharing root keys
// cannot serve each other's keys.json. Project A's genuine bundle at B's
// location, with a manifest for B signed by A's key, is refused; so is a
// bundle naming no project, unless the client allows unbound bundles.
func TestKeyBundleProject(t *testing.T) {
	root, keyA := newKey(t, "p256#pr"), newKey(t, "p256#pa")
	dir := t.TempDir()
	m := testManifest(t, 1, testNow.Add(time.Hour)) // project "hello"
	trust := func() *Trust {
		return &Trust{Roots: ring(t, root), Project: "hello", State: NewMemoryState(), Clock: clock}
	}
	publishKeys(t, dir, bundle(t, "other", 1, keyA), []*testKey{root}, m, keyA)
	_, err := trust().Verifier(bg, Dir(dir))
	var pe *ProjectError
	if !errors.As(err, &pe) || !errors.Is(err, ErrWrongProject) || pe.File != manifest.KeysFile || pe.Want != "hello" || pe.Got != "other" {
		t.Fatalf("another project's keys.json: %v, want *ProjectError keys.json want hello got other", err)
	}

	publishKeys(t, dir, bundle(t, "", 1, keyA), []*testKey{root}, m, keyA)
	if _, err := trust().Verifier(bg, Dir(dir)); !errors.As(err, &pe) || pe.Got != "" {
		t.Fatalf("keys.json without a project: %v, want *ProjectError", err)
	}
	tr := trust()
	tr.UnsafeAllowUnboundKeys = true
	v, err := tr.Verifier(bg, Dir(dir))
	if err != nil {
		t.Fatalf("UnsafeAllowUnboundKeys: %v", err)
	}
	if _, err := v.FetchManifest(bg, Dir(dir)); err != nil {
		t.Fatal(err)
	}
	// A verifier without a project accepts any bundle, as before.
	if _, err := verifier(t, ring(t, root)).FetchKeyBundle(bg, Dir(dir)); err != nil {
		t.Fatalf("no project: %v", err)
	}
}

// TestKeyBundleSerialPerProject (issue 14 item 3): the keys.json serial
// is remembered per project, so one State serves several projects, and a
// project's first bundle still starts from the serial recorded before
// bundles were bound (the legacy "keys.json" key).
func TestKeyBundleSerialPerProject(t *testing.T) {
	root, key := newKey(t, "p256#sr"), newKey(t, "p256#sk")
	st := NewMemoryState()
	rv := func(project string) *Verifier { return verifier(t, ring(t, root), WithProject(project), WithState(st)) }
	verifyB := func(project string, serial int64) error {
		data := bundle(t, project, serial, key)
		_, err := rv(project).VerifyKeyBundle(bg, data, Signatures{Set: set(t, root.entry(t, manifest.KeysFile, data))})
		return err
	}
	if err := verifyB("a", 7); err != nil {
		t.Fatal(err)
	}
	if err := verifyB("b", 2); err != nil {
		t.Fatalf("project b's serial 2 after project a's 7: %v", err)
	}
	if got, _ := st.Serial(bg, "keys.json:a"); got != 7 {
		t.Errorf("keys.json:a = %d, want 7", got)
	}
	wantErr(t, verifyB("b", 1), ErrRollback)
	// Legacy state: one global serial.
	st2 := NewMemoryState()
	st2.SetSerial(bg, manifest.KeysFile, 5)
	data := bundle(t, "c", 4, key)
	_, err := verifier(t, ring(t, root), WithProject("c"), WithState(st2)).VerifyKeyBundle(bg, data, Signatures{Set: set(t, root.entry(t, manifest.KeysFile, data))})
	wantErr(t, err, ErrRollback)
}

// signedRoot returns root/<r.Version>.json bytes for r signed by signers.
func signedRoot(t testing.TB, r Root, signers ...*testKey) []byte {
	t.Helper()
	if r.Issued.IsZero() {
		r.Issued = testNow.Add(-time.Hour)
	}
	if r.Expires.IsZero() {
		r.Expires = testNow.Add(30 * 24 * time.Hour)
	}
	payload, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	s := &SignedRoot{Payload: payload}
	for _, k := range signers {
		s.Signatures = append(s.Signatures, RootSignature{KeyID: k.id, Algorithm: k.alg, Signature: k.sign(t, payload)})
	}
	data, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func rootKeys(keys ...*testKey) []BundleKey {
	var out []BundleKey
	for _, k := range keys {
		out = append(out, BundleKey{KeyID: k.id, PublicKey: string(k.pem)})
	}
	return out
}

// serialOnly hides a State's RootState methods.
type serialOnly struct{ State }

// TestRootRotation (issue 14 item 2): the pinned roots certify the next
// root set (root/2.json, signed by the threshold of the old AND of the new
// roots); a client follows it without a new binary, remembers it, and
// refuses the revoked root everywhere: for keys.json, for the next root
// version, and as a signing key even where it is pinned.
func TestRootRotation(t *testing.T) {
	r1, r2, r3 := newKey(t, "p256#rr1"), newKey(t, "ed25519#rr2"), newKey(t, "p384#rr3")
	sk := newKey(t, "p256#rsk")
	dir := t.TempDir()
	m := testManifest(t, 1, testNow.Add(time.Hour))
	keysJSON := bundle(t, "hello", 1, sk)
	statePath := filepath.Join(t.TempDir(), "state.json")
	trust := func(st State) *Trust {
		return &Trust{Roots: ring(t, r1, r2), RootThreshold: 2, Keys: ring(t, r1), Project: "hello", State: st, Clock: clock}
	}

	// Before the rotation: keys.json by R1+R2 is good.
	publishKeys(t, dir, keysJSON, []*testKey{r1, r2}, m, sk)
	if _, err := trust(NewFileState(statePath)).Verifier(bg, Dir(dir)); err != nil {
		t.Fatal(err)
	}
	// Rotate: R1 out (revoked), R3 in, threshold 2.
	v2 := Root{Project: "hello", Version: 2, Threshold: 2, Keys: rootKeys(r2, r3), Revoked: []RevokedKey{{KeyID: r1.id, Reason: "lost"}}}
	put(t, dir, RootFile(2), signedRoot(t, v2, r1, r2, r3))

	// keys.json still signed by R1+R2: R1 is revoked now.
	_, err := trust(NewFileState(statePath)).Verifier(bg, Dir(dir))
	var te *ThresholdError
	if !errors.As(err, &te) || te.File != manifest.KeysFile || !errors.Is(err, ErrRevoked) {
		t.Fatalf("keys.json by a revoked root after rotation: %v, want a keys.json *ThresholdError with ErrRevoked", err)
	}
	// Re-signed by the new roots: accepted, and R1, pinned as a signing
	// key too, is refused for the manifest.
	publishKeys(t, dir, keysJSON, []*testKey{r2, r3}, m, r1)
	v, err := trust(NewFileState(statePath)).Verifier(bg, Dir(dir))
	if err != nil {
		t.Fatalf("keys.json by the rotated roots: %v", err)
	}
	if _, err := v.FetchManifest(bg, Dir(dir)); !errors.Is(err, ErrRevoked) {
		t.Fatalf("manifest by the revoked root, pinned as a signing key: %v, want ErrRevoked", err)
	}
	publishKeys(t, dir, keysJSON, []*testKey{r2, r3}, m, sk)
	if v, err = trust(NewFileState(statePath)).Verifier(bg, Dir(dir)); err != nil {
		t.Fatal(err)
	}
	if _, err := v.FetchManifest(bg, Dir(dir)); err != nil {
		t.Fatalf("manifest by the certified key: %v", err)
	}

	// The rotated set is remembered: with root/2.json gone from the
	// server, the client still trusts R2+R3 and refuses R1.
	if err := os.Remove(filepath.Join(dir, filepath.FromSlash(RootFile(2)))); err != nil {
		t.Fatal(err)
	}
	if _, err := trust(NewFileState(statePath)).Verifier(bg, Dir(dir)); err != nil {
		t.Fatalf("remembered root set: %v", err)
	}
	// A State that keeps only serials walks the chain from the pinned
	// roots, and a chain shorter than the one accepted is a rollback.
	st := serialOnly{NewMemoryState()}
	put(t, dir, RootFile(2), signedRoot(t, v2, r1, r2, r3))
	if _, err := trust(st).Verifier(bg, Dir(dir)); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, filepath.FromSlash(RootFile(2))))
	if _, err := trust(st).Verifier(bg, Dir(dir)); !errors.Is(err, ErrRollback) {
		t.Fatalf("root/2.json withheld after it was accepted: %v, want ErrRollback", err)
	}
	put(t, dir, RootFile(2), signedRoot(t, v2, r1, r2, r3))

	// Bad next versions, each refused with a typed error naming it.
	r4, r5 := newKey(t, "p256#rr4"), newKey(t, "p256#rr5")
	v3 := Root{Project: "hello", Version: 3, Threshold: 2, Keys: rootKeys(r4, r5), Revoked: v2.Revoked}
	for _, tc := range []struct {
		name string
		data []byte
		want any
	}{
		{"signed by the old roots only", signedRoot(t, v3, r2, r3), &te},
		{"signed by the new roots only", signedRoot(t, v3, r4, r5), &te},
		{"signed by the revoked root and one old", signedRoot(t, v3, r1, r2, r4, r5), &te},
		{"drops a revocation", signedRoot(t, Root{Project: "hello", Version: 3, Threshold: 2, Keys: rootKeys(r4, r5)}, r2, r3, r4, r5), ErrMalformed},
		{"wrong version", signedRoot(t, Root{Project: "hello", Version: 4, Threshold: 2, Keys: rootKeys(r4, r5), Revoked: v2.Revoked}, r2, r3, r4, r5), ErrMalformed},
		{"another project", signedRoot(t, Root{Project: "other", Version: 3, Threshold: 2, Keys: rootKeys(r4, r5), Revoked: v2.Revoked}, r2, r3, r4, r5), ErrWrongProject},
		{"re-adds the revoked root", signedRoot(t, Root{Project: "hello", Version: 3, Threshold: 1, Keys: rootKeys(r1), Revoked: v2.Revoked}, r1, r2, r3), ErrMalformed},
		{"expired", signedRoot(t, Root{Project: "hello", Version: 3, Threshold: 2, Keys: rootKeys(r4, r5), Revoked: v2.Revoked, Issued: testNow.Add(-48 * time.Hour), Expires: testNow.Add(-time.Hour)}, r2, r3, r4, r5), ErrExpired},
	} {
		put(t, dir, RootFile(3), tc.data)
		_, err := trust(NewMemoryState()).Verifier(bg, Dir(dir))
		if err == nil {
			t.Errorf("%s: root/3.json accepted", tc.name)
			continue
		}
		if w, ok := tc.want.(error); ok && !errors.Is(err, w) || !ok && !errors.As(err, tc.want) {
			t.Errorf("%s: %v, want %T", tc.name, err, tc.want)
		}
		if !strings.Contains(err.Error(), RootFile(3)) {
			t.Errorf("%s: %v does not name %s", tc.name, err, RootFile(3))
		}
		if _, sentinel := tc.want.(error); !sentinel && te.File != RootFile(3) {
			t.Errorf("%s: threshold error for %s, want %s", tc.name, te.File, RootFile(3))
		}
	}
	// A good root/3.json: signed by R2+R3 (old) and R4+R5 (new).
	put(t, dir, RootFile(3), signedRoot(t, v3, r2, r3, r4, r5))
	publishKeys(t, dir, keysJSON, []*testKey{r4, r5}, m, sk)
	if _, err := trust(NewFileState(statePath)).Verifier(bg, Dir(dir)); err != nil {
		t.Fatalf("second rotation: %v", err)
	}
	// A client built after the rotations pins R4+R5 as version 3.
	late := &Trust{Roots: ring(t, r4, r5), RootVersion: 3, Project: "hello", State: NewMemoryState(), Clock: clock}
	if _, err := late.Verifier(bg, Dir(dir)); err != nil {
		t.Fatalf("client pinning version 3: %v", err)
	}
	// A corrupt stored root set fails closed.
	data, _ := os.ReadFile(statePath)
	if err := os.WriteFile(statePath, []byte(string(data[:len(data)/2])), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := trust(NewFileState(statePath)).Verifier(context.Background(), Dir(dir)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("corrupt state: %v, want ErrMalformed", err)
	}
}

// TestKeyBundleRevokesRoot (issue 14 item 2): a root key revoked in an
// accepted keys.json is refused from then on: the revoked root cannot
// sign the next keys.json (which omits the revocation), nor vouch for a
// bundle that revokes it, nor sign the next root set.
func TestKeyBundleRevokesRoot(t *testing.T) {
	r1, r2, sk := newKey(t, "p256#kr1"), newKey(t, "p256#kr2"), newKey(t, "p256#krs")
	dir := t.TempDir()
	st := NewMemoryState()
	trust := &Trust{Roots: ring(t, r1, r2), RootThreshold: 1, Project: "hello", State: st, Clock: clock}
	revoking := func(serial int64, revoked ...*testKey) []byte {
		b := &KeyBundle{Project: "hello", Serial: serial, Issued: testNow.Add(-time.Hour), Expires: testNow.Add(24 * time.Hour), Keys: rootKeys(sk)}
		for _, k := range revoked {
			b.Revoked = append(b.Revoked, RevokedKey{KeyID: k.id, Reason: "stolen"})
		}
		data, _ := b.Marshal()
		return data
	}
	// A bundle revoking R2 signed by R2 alone does not count.
	publishKeys(t, dir, revoking(1, r2), []*testKey{r2}, nil)
	if _, err := trust.Verifier(bg, Dir(dir)); !errors.Is(err, ErrRevoked) {
		t.Fatalf("bundle revoking R2, signed by R2: %v, want ErrRevoked", err)
	}
	publishKeys(t, dir, revoking(2, r2), []*testKey{r1}, nil)
	if _, err := trust.Verifier(bg, Dir(dir)); err != nil {
		t.Fatal(err)
	}
	// R2 signs the next bundle, which leaves the revocation out.
	publishKeys(t, dir, revoking(3), []*testKey{r2}, nil)
	if _, err := trust.Verifier(bg, Dir(dir)); !errors.Is(err, ErrRevoked) {
		t.Fatalf("next keys.json by the revoked root: %v, want ErrRevoked", err)
	}
	// R2 signs a root rotation to a set it holds.
	put(t, dir, RootFile(2), signedRoot(t, Root{Project: "hello", Version: 2, Threshold: 1, Keys: rootKeys(r2)}, r2))
	_, err := trust.Verifier(bg, Dir(dir))
	var te *ThresholdError
	if !errors.As(err, &te) || te.File != RootFile(2) || !errors.Is(err, ErrRevoked) {
		t.Fatalf("root/2.json by the revoked root: %v, want a root/2.json *ThresholdError with ErrRevoked", err)
	}
}
