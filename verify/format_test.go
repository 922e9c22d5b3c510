package verify

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestKeyRoundTrip(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	edpub, _, _ := ed25519.GenerateKey(rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	for _, pub := range []any{&ec.PublicKey, &ec384.PublicKey, edpub, &rk.PublicKey} {
		p, err := MarshalPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParsePublicKey(p)
		if err != nil {
			t.Fatalf("%T: %v", pub, err)
		}
		id1, _ := KeyID(pub)
		id2, _ := KeyID(got)
		if id1 != id2 || !isHex64(id1) {
			t.Fatalf("key id %q != %q", id1, id2)
		}
	}
}

func TestSignatureSetRoundTrip(t *testing.T) {
	s := &SignatureSet{}
	h := strings.Repeat("a", 64)
	for _, e := range []SignatureEntry{
		{KeyID: strings.Repeat("b", 64), Algorithm: AlgEd25519, File: "manifest.json", SHA256: h, Signature: []byte{1, 2}},
		{KeyID: strings.Repeat("1", 64), Algorithm: AlgECDSASHA256, File: "manifest.json", SHA256: h, Signature: []byte{3}},
		{KeyID: strings.Repeat("1", 64), Algorithm: AlgECDSASHA256, File: "1.0.0/SHA256SUMS", SHA256: h, Signature: []byte{4}},
	} {
		if err := s.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	b, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseSignatureSet(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Signatures[0].File != "1.0.0/SHA256SUMS" || got.Signatures[1].KeyID != strings.Repeat("1", 64) {
		t.Fatalf("not sorted: %+v", got.Signatures)
	}
	b2, _ := got.Marshal()
	if !bytes.Equal(b, b2) || !bytes.HasSuffix(b, []byte("}\n")) {
		t.Fatalf("not deterministic:\n%s\n%s", b, b2)
	}
	if n := len(got.For("manifest.json", h)); n != 2 {
		t.Fatalf("For = %d entries, want 2", n)
	}
}

func TestKeyBundleRoundTrip(t *testing.T) {
	edpub, _, _ := ed25519.GenerateKey(rand.Reader)
	p, _ := MarshalPublicKey(edpub)
	id, _ := KeyID(edpub)
	b := &KeyBundle{Serial: 3, Issued: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC), Expires: time.Date(2027, 11, 21, 0, 0, 0, 0, time.UTC),
		Keys:    []BundleKey{{KeyID: id, PublicKey: string(p)}},
		Revoked: []RevokedKey{{KeyID: strings.Repeat("c", 64), Reason: "stolen"}}}
	data, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseKeyBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.Serial != 3 || got.Keys[0].KeyID != id || !got.Expires.Equal(b.Expires) {
		t.Fatalf("got %+v", got)
	}
	// A key ID that does not match its key is refused.
	b.Keys[0].KeyID = strings.Repeat("d", 64)
	data, _ = b.Marshal()
	if _, err := ParseKeyBundle(data); !errors.Is(err, ErrMalformed) {
		t.Fatalf("mismatched keyid: %v", err)
	}
}

func TestDecodeSignatureForms(t *testing.T) {
	raw := []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0xff}
	enc := EncodeSignature(raw)
	for _, in := range [][]byte{raw, enc, append(enc, '\n'), append(enc, "\r\n"...)} {
		got, err := DecodeSignature(in)
		if err != nil || !bytes.Equal(got, raw) {
			t.Fatalf("DecodeSignature(%q) = %x, %v", in, got, err)
		}
	}
}
