package verify

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/relkit/relkit/manifest"
)

func TestVerifyEveryAlgorithm(t *testing.T) {
	msg := []byte("payload\n")
	for _, kind := range []string{"p256", "p384", "ed25519", "rsa2048", "rsa-pss"} {
		t.Run(kind, func(t *testing.T) {
			k := newKey(t, kind)
			v := verifier(t, ring(t, k, newKey(t, "p256#other")))
			sig := k.sign(t, msg)
			// Detached: base64, base64 + newline, raw.
			for _, form := range [][]byte{EncodeSignature(sig), append(EncodeSignature(sig), '\n'), sig} {
				ids, err := v.VerifySignatures("f", msg, Signatures{Detached: form})
				if err != nil || !slices.Equal(ids, []string{k.id}) {
					t.Fatalf("detached %q: ids %v, err %v", form[:8], ids, err)
				}
			}
			// In a set.
			ids, err := v.VerifySignatures("f", msg, Signatures{Set: set(t, k.entry(t, "f", msg))})
			if err != nil || !slices.Equal(ids, []string{k.id}) {
				t.Fatalf("set: ids %v, err %v", ids, err)
			}
			// One flipped payload byte fails.
			bad := bytes.Clone(msg)
			bad[0] ^= 1
			if _, err := v.VerifySignatures("f", bad, Signatures{Detached: sig}); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("flipped payload: %v", err)
			}
		})
	}
}

func TestThreshold(t *testing.T) {
	a, b, c := newKey(t, "p256"), newKey(t, "ed25519"), newKey(t, "rsa2048")
	msg := []byte("manifest")
	v := verifier(t, ring(t, a, b, c), WithThreshold(2))
	s := set(t, a.entry(t, "manifest.json", msg))
	var te *ThresholdError
	if _, err := v.VerifySignatures("manifest.json", msg, Signatures{Set: s}); !errors.As(err, &te) || te.Got != 1 || te.Need != 2 {
		t.Fatalf("1 of 2: %v", err)
	}
	s.Add(b.entry(t, "manifest.json", msg))
	ids, err := v.VerifySignatures("manifest.json", msg, Signatures{Set: s})
	if err != nil || len(ids) != 2 {
		t.Fatalf("2 of 2: %v %v", ids, err)
	}
	// The detached signature counts as a third distinct key.
	ids, err = v.VerifySignatures("manifest.json", msg, Signatures{Set: s, Detached: EncodeSignature(c.sign(t, msg))})
	if err != nil || len(ids) != 3 {
		t.Fatalf("3 keys: %v %v", ids, err)
	}
}

// TestKeyRotation: roots certify signing keys through keys.json; revoked
// and expired keys are refused; an older bundle is a rollback.
func TestKeyRotation(t *testing.T) {
	root := newKey(t, "ed25519#root")
	s1, s2, s3 := newKey(t, "p256#s1"), newKey(t, "p256#s2"), newKey(t, "p384#s3")
	bundle := func(serial int64, expires time.Time, keys []*testKey, revoked ...*testKey) []byte {
		b := &KeyBundle{Serial: serial, Issued: testNow, Expires: expires}
		for _, k := range keys {
			b.Keys = append(b.Keys, BundleKey{KeyID: k.id, PublicKey: string(k.pem)})
		}
		for _, k := range revoked {
			b.Revoked = append(b.Revoked, RevokedKey{KeyID: k.id, Reason: "stolen"})
		}
		data, err := b.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	st := NewMemoryState()
	roots := verifier(t, ring(t, root), WithState(st))
	data := bundle(2, testNow.Add(time.Hour), []*testKey{s1, s2}, s3)
	signing, err := roots.VerifyKeyBundle(bg, data, Signatures{Set: set(t, root.entry(t, manifest.KeysFile, data))})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(signing.IDs(), ring(t, s1, s2).IDs()) {
		t.Fatalf("signing keys %v", signing.IDs())
	}
	// A revoked key pinned directly is still refused.
	if _, err := signing.Add(s3.pub); !errors.Is(err, ErrRevoked) {
		t.Fatalf("pinned revoked key: %v", err)
	}
	msg := []byte("SHA256SUMS")
	v := verifier(t, signing)
	if _, err := v.VerifySignatures("SHA256SUMS", msg, Signatures{Detached: s2.sign(t, msg)}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.VerifySignatures("SHA256SUMS", msg, Signatures{Detached: s3.sign(t, msg)}); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("revoked key signature: %v", err)
	}

	var rb *RollbackError
	old := bundle(1, testNow.Add(time.Hour), []*testKey{s3})
	if _, err := roots.VerifyKeyBundle(bg, old, Signatures{Detached: root.sign(t, old)}); !errors.As(err, &rb) {
		t.Fatalf("older bundle: %v", err)
	}
	expired := bundle(5, testNow.Add(-time.Minute), []*testKey{s1})
	if _, err := roots.VerifyKeyBundle(bg, expired, Signatures{Detached: root.sign(t, expired)}); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired bundle: %v", err)
	}
	// A bundle signed by a signing key (not a root) is refused.
	if _, err := roots.VerifyKeyBundle(bg, data, Signatures{Detached: s1.sign(t, data)}); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("bundle signed by a non-root: %v", err)
	}
	// A key whose own expiry passed is not trusted.
	b := &KeyBundle{Serial: 3, Issued: testNow, Expires: testNow.Add(time.Hour), Keys: []BundleKey{
		{KeyID: s1.id, PublicKey: string(s1.pem), Expires: testNow.Add(-time.Second)},
		{KeyID: s2.id, PublicKey: string(s2.pem)},
	}}
	data, _ = b.Marshal()
	signing, err = roots.VerifyKeyBundle(bg, data, Signatures{Detached: root.sign(t, data)})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := signing.Key(s1.id); ok || signing.Len() != 1 {
		t.Fatalf("expired key kept: %v", signing.IDs())
	}
	// A key trusted now but past its expiry later is refused then.
	b.Keys[0].Expires = testNow.Add(time.Minute)
	b.Serial = 4
	data, _ = b.Marshal()
	signing, err = roots.VerifyKeyBundle(bg, data, Signatures{Detached: root.sign(t, data)})
	if err != nil {
		t.Fatal(err)
	}
	later := verifier(t, signing, WithClock(func() time.Time { return testNow.Add(2 * time.Minute) }))
	if _, err := later.VerifySignatures("f", msg, Signatures{Detached: s1.sign(t, msg)}); !errors.Is(err, ErrExpired) {
		t.Fatalf("key past its expiry: %v", err)
	}
	if n, _ := st.Serial(bg, manifest.KeysFile); n != 4 {
		t.Fatalf("state serial %d, want 4", n)
	}
}

func TestVerifyManifestAndArtifact(t *testing.T) {
	k := newKey(t, "p256")
	data := testManifest(t, 7, testNow.Add(time.Hour))
	st := NewMemoryState()
	v := verifier(t, ring(t, k), WithState(st), WithProject("hello"))
	m, err := v.VerifyManifest(bg, data, Signatures{Detached: EncodeSignature(k.sign(t, data))})
	if err != nil {
		t.Fatal(err)
	}
	if m.Serial != 7 || m.Project != "hello" {
		t.Fatalf("manifest %+v", m)
	}
	if n, _ := st.Serial(bg, "manifest.json:hello"); n != 7 {
		t.Fatalf("state serial %d", n)
	}
	// The same serial again is accepted (re-fetch).
	if _, err := v.VerifyManifest(bg, data, Signatures{Detached: EncodeSignature(k.sign(t, data))}); err != nil {
		t.Fatal(err)
	}
	name, body := testArtifact("1.0.0", "linux", "arm64")
	a, err := CheckArtifact(m, ArtifactClaim{Version: "v1.0.0", Name: name, OS: "linux", Arch: "arm64", Size: int64(len(body)), SHA256: sha256hex(body)})
	if err != nil || a.Name != name {
		t.Fatalf("CheckArtifact: %v", err)
	}
	var buf bytes.Buffer
	n, err := Copy(bg, &buf, bytes.NewReader(body), ExpectArtifact(a))
	if err != nil || n != int64(len(body)) || !bytes.Equal(buf.Bytes(), body) {
		t.Fatalf("Copy: %d %v", n, err)
	}
}

func TestFetchManifestAndArtifact(t *testing.T) {
	k := newKey(t, "p256")
	f := newFixture(t, k)
	for _, loc := range []Location{Dir(f.write(t)), func() Location {
		srv := serveFixture(t, f, nil)
		l, err := NewHTTP(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}()} {
		v := verifier(t, ring(t, k))
		m, err := v.FetchManifest(bg, loc)
		if err != nil {
			t.Fatal(err)
		}
		sel, err := m.Select(manifest.Query{Channel: "stable", Platform: manifest.Platform{OS: "linux", Arch: "arm64"}})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := FetchArtifact(bg, loc, sel.Artifact, &buf); err != nil {
			t.Fatal(err)
		}
		if _, err := CheckArtifact(m, ArtifactClaim{Version: sel.Release.Version, Name: sel.Artifact.Name, OS: "linux", Arch: "arm64", Size: int64(buf.Len()), SHA256: sha256hex(buf.Bytes())}); err != nil {
			t.Fatal(err)
		}
		// A manifest entry pointing at another platform's bytes is caught
		// while streaming.
		a := sel.Artifact
		a.Path = "1.2.0/hello-1.2.0-linux-amd64.tar.gz"
		if _, err := FetchArtifact(bg, loc, a, io.Discard); !errors.Is(err, ErrMalformed) {
			t.Fatalf("path not ending in name: %v", err)
		}
	}
}
