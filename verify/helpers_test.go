package verify

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/relkit/relkit/manifest"
)

// testNow is the fixed clock of the tests.
var testNow = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return testNow }

// testKey is a private key and what verify knows about its public half.
type testKey struct {
	priv crypto.Signer
	pub  crypto.PublicKey
	alg  string
	pem  []byte
	id   string
}

var (
	keyCacheMu sync.Mutex
	keyCache   = map[string]*testKey{}
)

// newKey returns a fresh key of kind "p256", "p384", "ed25519", "rsa2048",
// "rsa-pss"; kinds ending in a digit suffix ("p256#2") are distinct keys.
func newKey(t testing.TB, kind string) *testKey {
	t.Helper()
	keyCacheMu.Lock()
	defer keyCacheMu.Unlock()
	if k, ok := keyCache[kind]; ok {
		return k
	}
	base := kind
	for i := 0; i < len(kind); i++ {
		if kind[i] == '#' {
			base = kind[:i]
		}
	}
	var priv crypto.Signer
	var err error
	alg := ""
	switch base {
	case "p256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		alg = AlgECDSASHA256
	case "p384":
		priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		alg = AlgECDSASHA256
	case "ed25519":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
		alg = AlgEd25519
	case "rsa2048":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
		alg = AlgRSAPKCS1v15SHA256
	case "rsa-pss":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
		alg = AlgRSAPSSSHA256
	default:
		t.Fatalf("unknown key kind %q", kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	k := &testKey{priv: priv, pub: priv.Public(), alg: alg}
	if k.pem, err = MarshalPublicKey(k.pub); err != nil {
		t.Fatal(err)
	}
	if k.id, err = KeyID(k.pub); err != nil {
		t.Fatal(err)
	}
	keyCache[kind] = k
	return k
}

// sign signs msg with k's algorithm.
func (k *testKey) sign(t testing.TB, msg []byte) []byte {
	t.Helper()
	var sig []byte
	var err error
	h := sha256.Sum256(msg)
	switch k.alg {
	case AlgEd25519:
		sig, err = k.priv.Sign(rand.Reader, msg, crypto.Hash(0))
	case AlgRSAPSSSHA256:
		sig, err = k.priv.Sign(rand.Reader, h[:], &rsa.PSSOptions{SaltLength: 32, Hash: crypto.SHA256})
	default:
		sig, err = k.priv.Sign(rand.Reader, h[:], crypto.SHA256)
	}
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// entry returns a signatures.json entry by k over data named file.
func (k *testKey) entry(t testing.TB, file string, data []byte) SignatureEntry {
	return SignatureEntry{KeyID: k.id, Algorithm: k.alg, File: file, SHA256: sha256hex(data), Signature: k.sign(t, data)}
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func ring(t testing.TB, keys ...*testKey) *KeyRing {
	t.Helper()
	r := &KeyRing{}
	for _, k := range keys {
		if _, err := r.Add(k.pub); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func verifier(t testing.TB, r *KeyRing, opts ...Option) *Verifier {
	t.Helper()
	v, err := NewVerifier(r, append([]Option{WithClock(clock)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func set(t testing.TB, entries ...SignatureEntry) *SignatureSet {
	t.Helper()
	s := &SignatureSet{}
	for _, e := range entries {
		if err := s.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// testArtifact returns a deterministic artifact body for a platform.
func testArtifact(version, os, arch string) (string, []byte) {
	name := fmt.Sprintf("hello-%s-%s-%s.tar.gz", version, os, arch)
	return name, []byte(fmt.Sprintf("pretend archive of hello %s for %s/%s\n", version, os, arch))
}

// testManifest builds manifest.json bytes with the given serial and expiry,
// listing releases 1.0.0 and 1.1.0 for linux/amd64 and linux/arm64.
func testManifest(t testing.TB, serial int64, expires time.Time) []byte {
	t.Helper()
	m := manifest.New("hello")
	for _, v := range []string{"1.0.0", "1.1.0"} {
		rel := manifest.Release{Version: v, Tag: "v" + v, Date: testNow.Add(-time.Hour), Commit: "4f9c2e0d1b2a39485766a5b4c3d2e1f001234567"}
		for _, arch := range []string{"amd64", "arm64"} {
			name, body := testArtifact(v, "linux", arch)
			rel.Artifacts = append(rel.Artifacts, manifest.Artifact{Name: name, Path: v + "/" + name, Kind: manifest.KindArchive, OS: "linux", Arch: arch, Size: int64(len(body)), SHA256: sha256hex(body)})
		}
		if _, err := m.Add(rel); err != nil {
			t.Fatal(err)
		}
	}
	m.Serial = serial
	m.Updated = testNow.Add(-time.Hour)
	m.Expires = expires
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// wantErr fails t unless err matches want: a sentinel (errors.Is) or a
// pointer to a typed error (errors.As).
func wantErr(t testing.TB, err error, want any) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", want)
	}
	switch w := want.(type) {
	case error:
		if !errors.Is(err, w) {
			t.Fatalf("got %v (%T), want errors.Is %v", err, err, w)
		}
	default:
		if !errors.As(err, want) {
			t.Fatalf("got %v (%T), want errors.As %T", err, err, want)
		}
	}
}

var bg = context.Background()
