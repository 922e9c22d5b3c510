package verify

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relkit/relkit/manifest"
)

// hostileCase is one refusal: run must fail with an error matching want (a
// sentinel for errors.Is or a pointer to a typed error for errors.As).
type hostileCase struct {
	name string
	run  func(t *testing.T) error
	want any
}

func pemOf(t *testing.T, typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// TestHostileKeysAndSignatures covers refusals of keys, signature
// encodings, signatures and signature sets.
func TestHostileKeysAndSignatures(t *testing.T) {
	p256 := newKey(t, "p256")
	other := newKey(t, "p256#other")
	ed := newKey(t, "ed25519")
	rsaKey := newKey(t, "rsa2048")
	msg := []byte("hello SHA256SUMS\n")
	good := p256.sign(t, msg)
	edSig := ed.sign(t, msg)

	detached := func(r *KeyRing, data, sig []byte) error {
		_, err := verifier(t, r).VerifySignatures("SHA256SUMS", data, Signatures{Detached: sig})
		return err
	}
	withSet := func(r *KeyRing, data []byte, s *SignatureSet, opts ...Option) error {
		_, err := verifier(t, r, opts...).VerifySignatures("SHA256SUMS", data, Signatures{Set: s})
		return err
	}
	var keyErr *KeyError
	var limitErr *LimitError
	var thErr *ThresholdError
	var fmtErr *FormatError

	cases := []hostileCase{
		{"signature by another key", func(t *testing.T) error { return detached(ring(t, other), msg, EncodeSignature(good)) }, &thErr},
		{"payload with one flipped byte", func(t *testing.T) error {
			m := bytes.Clone(msg)
			m[0] ^= 1
			return detached(ring(t, p256), m, EncodeSignature(good))
		}, ErrBadSignature},
		{"signature with one flipped byte", func(t *testing.T) error {
			s := bytes.Clone(good)
			s[len(s)-1] ^= 1
			return detached(ring(t, p256), msg, EncodeSignature(s))
		}, ErrBadSignature},
		{"truncated signature", func(t *testing.T) error { return detached(ring(t, p256), msg, EncodeSignature(good[:len(good)-1])) }, ErrBadSignature},
		{"DER signature with trailing bytes", func(t *testing.T) error {
			return detached(ring(t, p256), msg, EncodeSignature(append(bytes.Clone(good), 0)))
		}, ErrBadSignature},
		{"truncated ed25519 signature", func(t *testing.T) error { return detached(ring(t, ed), msg, edSig[:63]) }, ErrBadSignature},
		{"padded ed25519 signature", func(t *testing.T) error {
			return detached(ring(t, ed), msg, EncodeSignature(append(bytes.Clone(edSig), 0)))
		}, ErrBadSignature},
		{"bad base64", func(t *testing.T) error { return detached(ring(t, p256), msg, []byte("MEUCIQ!!notbase64")) }, ErrBadSignatureEncoding},
		{"base64 with bad padding", func(t *testing.T) error {
			return detached(ring(t, p256), msg, []byte(strings.TrimRight(base64.StdEncoding.EncodeToString(good), "=")+"==="))
		}, ErrBadSignatureEncoding},
		{"empty signature file", func(t *testing.T) error { return detached(ring(t, p256), msg, []byte{}) }, ErrBadSignatureEncoding},
		{"whitespace-only signature file", func(t *testing.T) error { return detached(ring(t, p256), msg, []byte(" \n")) }, ErrBadSignatureEncoding},
		{"oversized signature file", func(t *testing.T) error {
			return detached(ring(t, p256), msg, bytes.Repeat([]byte("A"), MaxSignatureSize+4))
		}, ErrTooLarge},
		{"no signature at all", func(t *testing.T) error { return detached(ring(t, p256), msg, nil) }, ErrNoSignature},
		{"no trusted keys", func(t *testing.T) error {
			_, err := NewVerifier(&KeyRing{})
			return err
		}, ErrNoTrustedKeys},
		{"nil key ring", func(t *testing.T) error {
			_, err := NewVerifier(nil)
			return err
		}, ErrNoTrustedKeys},
		{"threshold above the ring", func(t *testing.T) error {
			_, err := NewVerifier(ring(t, p256), WithThreshold(2))
			return err
		}, nil /* a configuration error, not a refusal */},
		{"ECDSA signature presented as ed25519", func(t *testing.T) error {
			e := p256.entry(t, "SHA256SUMS", msg)
			e.Algorithm = AlgEd25519
			return withSet(ring(t, p256), msg, set(t, e))
		}, ErrUnknownAlgorithm},
		{"RSA PKCS#1 signature labelled PSS", func(t *testing.T) error {
			e := rsaKey.entry(t, "SHA256SUMS", msg)
			e.Algorithm = AlgRSAPSSSHA256
			return withSet(ring(t, rsaKey), msg, set(t, e))
		}, ErrBadSignature},
		{"set entry by an unknown key", func(t *testing.T) error {
			return withSet(ring(t, p256), msg, set(t, other.entry(t, "SHA256SUMS", msg)))
		}, ErrUnknownKey},
		{"set entry for other bytes", func(t *testing.T) error {
			return withSet(ring(t, p256), msg, set(t, p256.entry(t, "SHA256SUMS", []byte("other"))))
		}, ErrNoSignature},
		{"set entry for another file", func(t *testing.T) error {
			return withSet(ring(t, p256), msg, set(t, p256.entry(t, "manifest.json", msg)))
		}, ErrNoSignature},
		{"set entry whose keyid lies", func(t *testing.T) error {
			e := other.entry(t, "SHA256SUMS", msg)
			e.KeyID = p256.id
			return withSet(ring(t, p256), msg, set(t, e))
		}, ErrBadSignature},
		{"threshold 2 with the same key twice", func(t *testing.T) error {
			s := set(t, p256.entry(t, "SHA256SUMS", msg))
			_, err := verifier(t, ring(t, p256, other), WithThreshold(2)).VerifySignatures("SHA256SUMS", msg, Signatures{Set: s, Detached: EncodeSignature(good)})
			return err
		}, &thErr},
		{"key revoked after being trusted", func(t *testing.T) error {
			r := ring(t, p256, other)
			r.Revoke(p256.id, "laptop stolen")
			return withSet(r, msg, set(t, p256.entry(t, "SHA256SUMS", msg)))
		}, ErrRevoked},
		{"revoked key added back", func(t *testing.T) error {
			r := ring(t, other)
			r.Revoke(p256.id, "laptop stolen")
			_, err := r.Add(p256.pub)
			return err
		}, ErrRevoked},
		{"PEM private key instead of public", func(t *testing.T) error {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			der, _ := x509.MarshalPKCS8PrivateKey(k)
			_, err := ParsePublicKey(pemOf(t, "PRIVATE KEY", der))
			return err
		}, &keyErr},
		{"RSA-1024 key", func(t *testing.T) error {
			k, err := rsa.GenerateKey(rand.Reader, 1024)
			if err != nil {
				t.Fatal(err)
			}
			der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
			_, err = ParsePublicKey(pemOf(t, "PUBLIC KEY", der))
			return err
		}, ErrBadKey},
		{"P-521 key", func(t *testing.T) error {
			k, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
			der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
			_, err := ParsePublicKey(pemOf(t, "PUBLIC KEY", der))
			return err
		}, ErrBadKey},
		{"PKCS#1 RSA PUBLIC KEY block", func(t *testing.T) error {
			k := rsaKey.pub.(*rsa.PublicKey)
			_, err := ParsePublicKey(pemOf(t, "RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(k)))
			return err
		}, ErrBadKey},
		{"garbage DER in PUBLIC KEY block", func(t *testing.T) error {
			_, err := ParsePublicKey(pemOf(t, "PUBLIC KEY", []byte("not der")))
			return err
		}, ErrBadKey},
		{"not PEM at all", func(t *testing.T) error { _, err := ParsePublicKey([]byte("ssh-ed25519 AAAA")); return err }, ErrBadKey},
		{"two PEM blocks", func(t *testing.T) error {
			_, err := ParsePublicKey(append(bytes.Clone(p256.pem), other.pem...))
			return err
		}, ErrBadKey},
		{"oversized key file", func(t *testing.T) error {
			_, err := ParsePublicKey(bytes.Repeat([]byte{'A'}, MaxKeySize+1))
			return err
		}, &limitErr},
		{"key with one flipped byte", func(t *testing.T) error {
			der, _ := x509.MarshalPKIXPublicKey(p256.pub)
			der[len(der)-5] ^= 1 // a coordinate byte: the point leaves the curve
			pub, err := ParsePublicKey(pemOf(t, "PUBLIC KEY", der))
			if err != nil {
				return err
			}
			r := &KeyRing{}
			if _, err := r.Add(pub); err != nil {
				return err
			}
			return detached(r, msg, EncodeSignature(good))
		}, ErrBadKey},
		{"signatures.json with unknown schema", func(t *testing.T) error {
			_, err := ParseSignatureSet([]byte(`{"schema":"relkit.signatures/v2","signatures":[]}`))
			return err
		}, &fmtErr},
		{"signatures.json with bad base64", func(t *testing.T) error {
			_, err := ParseSignatureSet([]byte(`{"schema":"relkit.signatures/v1","signatures":[{"keyid":"` + p256.id + `","algorithm":"ecdsa-sha256","file":"a","sha256":"` + sha256hex(msg) + `","signature":"%%%"}]}`))
			return err
		}, ErrMalformed},
		{"signatures.json with path escaping its directory", func(t *testing.T) error {
			_, err := ParseSignatureSet([]byte(`{"schema":"relkit.signatures/v1","signatures":[{"keyid":"` + p256.id + `","algorithm":"ecdsa-sha256","file":"../a","sha256":"` + sha256hex(msg) + `","signature":"AAAA"}]}`))
			return err
		}, ErrMalformed},
		{"signatures.json with unknown algorithm", func(t *testing.T) error {
			_, err := ParseSignatureSet([]byte(`{"schema":"relkit.signatures/v1","signatures":[{"keyid":"` + p256.id + `","algorithm":"md5","file":"a","sha256":"` + sha256hex(msg) + `","signature":"AAAA"}]}`))
			return err
		}, ErrMalformed},
		{"oversized signatures.json", func(t *testing.T) error {
			_, err := ParseSignatureSet(make([]byte, MaxSignaturesSize+1))
			return err
		}, ErrTooLarge},
	}
	runHostile(t, cases)
}

func runHostile(t *testing.T, cases []hostileCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.run(t)
			if c.want == nil {
				if err == nil {
					t.Fatal("got no error")
				}
				return
			}
			wantErr(t, err, c.want)
		})
	}
}

// TestHostileManifests covers refusals of signed manifests, key bundles
// and artifacts.
func TestHostileManifests(t *testing.T) {
	k := newKey(t, "p256")
	other := newKey(t, "ed25519")
	good := testManifest(t, 7, testNow.Add(24*time.Hour))
	sig := EncodeSignature(k.sign(t, good))
	verifyM := func(v *Verifier, data, sig []byte) error {
		_, err := v.VerifyManifest(bg, data, Signatures{Detached: sig})
		return err
	}
	var expErr *ExpiredError
	var rbErr *RollbackError
	var amErr *ArtifactMismatchError
	var missErr *MissingEntryError
	var sizeErr *SizeMismatchError
	var sumErr *ChecksumMismatchError

	m := func(t *testing.T) *manifest.Manifest {
		got, err := verifier(t, ring(t, k)).VerifyManifest(bg, good, Signatures{Detached: sig})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	name, body := testArtifact("1.1.0", "linux", "amd64")
	claim := ArtifactClaim{Version: "1.1.0", Name: name, OS: "linux", Arch: "amd64", Size: int64(len(body)), SHA256: sha256hex(body)}

	cases := []hostileCase{
		{"expired manifest", func(t *testing.T) error {
			data := testManifest(t, 7, testNow.Add(-time.Second))
			return verifyM(verifier(t, ring(t, k)), data, EncodeSignature(k.sign(t, data)))
		}, &expErr},
		{"manifest that never expires", func(t *testing.T) error {
			data := testManifest(t, 7, time.Time{})
			return verifyM(verifier(t, ring(t, k)), data, EncodeSignature(k.sign(t, data)))
		}, ErrExpired},
		{"rolled-back serial", func(t *testing.T) error {
			st := NewMemoryState()
			if err := verifyM(verifier(t, ring(t, k), WithState(st)), good, sig); err != nil {
				t.Fatal(err)
			}
			old := testManifest(t, 6, testNow.Add(24*time.Hour))
			return verifyM(verifier(t, ring(t, k), WithState(st)), old, EncodeSignature(k.sign(t, old)))
		}, &rbErr},
		{"rolled-back serial across restarts (FileState)", func(t *testing.T) error {
			path := filepath.Join(t.TempDir(), "state", "serials.json")
			if err := verifyM(verifier(t, ring(t, k), WithState(NewFileState(path))), good, sig); err != nil {
				t.Fatal(err)
			}
			old := testManifest(t, 3, testNow.Add(24*time.Hour))
			return verifyM(verifier(t, ring(t, k), WithState(NewFileState(path))), old, EncodeSignature(k.sign(t, old)))
		}, ErrRollback},
		{"older manifest of another project (same key, no WithProject)", func(t *testing.T) error {
			st := NewMemoryState()
			if err := verifyM(verifier(t, ring(t, k), WithState(st)), good, sig); err != nil {
				t.Fatal(err)
			}
			om, _ := manifest.Parse(testManifest(t, 2, testNow.Add(24*time.Hour)))
			om.Project = "other"
			d, _ := om.Marshal()
			return verifyM(verifier(t, ring(t, k), WithState(st)), d, EncodeSignature(k.sign(t, d)))
		}, ErrRollback},
		{"manifest signed by an untrusted key", func(t *testing.T) error {
			return verifyM(verifier(t, ring(t, k)), good, EncodeSignature(other.sign(t, good)))
		}, ErrBadSignature},
		{"manifest with one flipped byte", func(t *testing.T) error {
			d := bytes.Clone(good)
			d[len(d)/2] ^= 0x20
			return verifyM(verifier(t, ring(t, k)), d, sig)
		}, ErrBadSignature},
		{"signed manifest of another project", func(t *testing.T) error {
			return verifyM(verifier(t, ring(t, k), WithProject("other")), good, sig)
		}, &amErr},
		{"signed bytes that are not a manifest", func(t *testing.T) error {
			d := []byte(`{"schema":"relkit.manifest/v9"}`)
			return verifyM(verifier(t, ring(t, k)), d, EncodeSignature(k.sign(t, d)))
		}, ErrMalformed},
		{"oversized manifest", func(t *testing.T) error {
			return verifyM(verifier(t, ring(t, k)), make([]byte, manifest.MaxManifestSize+1), sig)
		}, ErrTooLarge},
		{"artifact for another platform", func(t *testing.T) error {
			c := claim
			c.Arch = "arm64"
			_, err := CheckArtifact(m(t), c)
			return err
		}, &amErr},
		{"artifact for another version", func(t *testing.T) error {
			c := claim
			c.Version = "1.0.0"
			_, err := CheckArtifact(m(t), c)
			return err
		}, ErrMissingEntry},
		{"artifact of a yanked release", func(t *testing.T) error {
			ym, _ := manifest.Parse(testManifest(t, 8, testNow.Add(24*time.Hour)))
			if _, err := ym.Yank("1.1.0", "CVE-2026-0001"); err != nil {
				t.Fatal(err)
			}
			d, _ := ym.Marshal()
			got, err := verifier(t, ring(t, k)).VerifyManifest(bg, d, Signatures{Detached: k.sign(t, d)})
			if err != nil {
				t.Fatal(err)
			}
			_, err = CheckArtifact(got, claim)
			return err
		}, ErrYanked},
		{"artifact from an unknown release", func(t *testing.T) error {
			c := claim
			c.Version = "9.9.9"
			_, err := CheckArtifact(m(t), c)
			return err
		}, &missErr},
		{"artifact of a different size", func(t *testing.T) error {
			c := claim
			c.Size++
			_, err := CheckArtifact(m(t), c)
			return err
		}, ErrArtifactMismatch},
		{"artifact with another digest", func(t *testing.T) error {
			c := claim
			c.SHA256 = sha256hex([]byte("evil"))
			_, err := CheckArtifact(m(t), c)
			return err
		}, ErrArtifactMismatch},
		{"stream one byte short", func(t *testing.T) error {
			return Verify(bg, bytes.NewReader(body[:len(body)-1]), Expected{Name: name, SHA256: sha256hex(body), Size: int64(len(body))})
		}, &sizeErr},
		{"stream one byte long", func(t *testing.T) error {
			return Verify(bg, bytes.NewReader(append(bytes.Clone(body), 'x')), Expected{Name: name, SHA256: sha256hex(body), Size: int64(len(body))})
		}, ErrSizeMismatch},
		{"stream that never ends", func(t *testing.T) error {
			return Verify(bg, endless{}, Expected{Name: name, SHA256: sha256hex(body), Size: int64(len(body))})
		}, ErrSizeMismatch},
		{"stream with one flipped byte", func(t *testing.T) error {
			b := bytes.Clone(body)
			b[3] ^= 1
			return Verify(bg, bytes.NewReader(b), Expected{Name: name, SHA256: sha256hex(body), Size: int64(len(body))})
		}, &sumErr},
		{"stream with unknown size and wrong bytes", func(t *testing.T) error {
			return Verify(bg, strings.NewReader("evil"), Expected{Name: name, SHA256: sha256hex(body), Size: -1})
		}, ErrChecksumMismatch},
		{"checksums file without the entry", func(t *testing.T) error {
			sums, err := ParseChecksums(strings.NewReader(sha256hex(body) + "  other.tar.gz\n"))
			if err != nil {
				t.Fatal(err)
			}
			_, err = ExpectChecksum(sums, name)
			return err
		}, &missErr},
		{"oversized checksums file", func(t *testing.T) error {
			_, err := ParseChecksums(io.LimitReader(endless{}, manifest.MaxChecksumsSize+10))
			return err
		}, ErrTooLarge},
		{"expected digest that is not hex", func(t *testing.T) error {
			return Verify(bg, bytes.NewReader(body), Expected{Name: name, SHA256: "xyz", Size: -1})
		}, ErrMalformed},
	}
	runHostile(t, cases)
}

// endless is a reader that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'A'
	}
	return len(p), nil
}
