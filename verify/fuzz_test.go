package verify

import (
	"bytes"
	"errors"
	"testing"
)

// Fuzz targets: the parsers must never panic, must return typed errors,
// and what they accept must round-trip.

func FuzzParsePublicKey(f *testing.F) {
	for _, kind := range []string{"p256", "p384", "ed25519", "rsa2048"} {
		f.Add(newKey(f, kind).pem)
	}
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pub, err := ParsePublicKey(data)
		if err != nil {
			if !errors.Is(err, ErrBadKey) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		p, err := MarshalPublicKey(pub)
		if err != nil {
			t.Fatalf("accepted key does not marshal: %v", err)
		}
		pub2, err := ParsePublicKey(p)
		if err != nil {
			t.Fatal(err)
		}
		id1, _ := KeyID(pub)
		id2, _ := KeyID(pub2)
		if id1 != id2 {
			t.Fatalf("key ID changed: %s %s", id1, id2)
		}
	})
}

func FuzzDecodeSignature(f *testing.F) {
	k := newKey(f, "p256")
	sig := k.sign(f, []byte("x"))
	f.Add(sig)
	f.Add(EncodeSignature(sig))
	f.Add(append(EncodeSignature(sig), '\n'))
	f.Add(newKey(f, "ed25519").sign(f, []byte("x")))
	f.Add([]byte("not base64!"))
	f.Fuzz(func(t *testing.T, data []byte) {
		raw, err := DecodeSignature(data)
		if err != nil {
			if !errors.Is(err, ErrBadSignatureEncoding) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(raw) == 0 || len(raw) > MaxSignatureSize {
			t.Fatalf("accepted a signature of %d bytes", len(raw))
		}
		back, err := DecodeSignature(EncodeSignature(raw))
		if err != nil || !bytes.Equal(back, raw) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func FuzzParseSignatureSet(f *testing.F) {
	k := newKey(f, "p256")
	s, _ := (&SignatureSet{Signatures: []SignatureEntry{k.entry(f, "manifest.json", []byte("m"))}}).Marshal()
	f.Add(s)
	f.Add([]byte(`{"schema":"relkit.signatures/v1","signatures":[]}`))
	f.Add([]byte(`{"schema":"relkit.signatures/v1.3","signatures":[{"keyid":"x"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := ParseSignatureSet(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		out, err := set.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseSignatureSet(out)
		if err != nil {
			t.Fatalf("marshalled set does not parse: %v\n%s", err, out)
		}
		out2, _ := again.Marshal()
		if !bytes.Equal(out, out2) {
			t.Fatalf("not deterministic:\n%s\n%s", out, out2)
		}
	})
}

func FuzzParseKeyBundle(f *testing.F) {
	k := newKey(f, "ed25519")
	b, _ := (&KeyBundle{Serial: 1, Issued: testNow, Expires: testNow.Add(1e12),
		Keys: []BundleKey{{KeyID: k.id, PublicKey: string(k.pem)}}, Revoked: []RevokedKey{{KeyID: newKey(f, "p256").id}}}).Marshal()
	f.Add(b)
	f.Add([]byte(`{"schema":"relkit.keys/v1","serial":-1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseKeyBundle(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrBadKey) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		out, err := b.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseKeyBundle(out); err != nil {
			t.Fatalf("marshalled bundle does not parse: %v\n%s", err, out)
		}
	})
}
