package verify

import (
	"errors"
	"testing"
	"time"
)

// FuzzParseSignedRoot: root/<n>.json parsing never panics, fails only
// with typed errors, and what it accepts round-trips through Marshal.
// A successor check against a fixed root set never panics either.
func FuzzParseSignedRoot(f *testing.F) {
	k, k2 := newKey(f, "ed25519"), newKey(f, "p256")
	r := Root{Project: "hello", Version: 2, Threshold: 1, Issued: testNow, Expires: testNow.Add(time.Hour),
		Keys: []BundleKey{{KeyID: k.id, PublicKey: string(k.pem)}}, Revoked: []RevokedKey{{KeyID: k2.id}}}
	f.Add(signedRoot(f, r, k, k2))
	f.Add([]byte(`{"schema":"relkit.signed/v1","payload":"e30=","signatures":[]}`))
	cur := verifier(f, ring(f, k, k2))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, root, err := ParseSignedRoot(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrBadKey) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		out, err := s.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, again, err := ParseSignedRoot(out); err != nil || again.Version != root.Version {
			t.Fatalf("marshalled envelope does not parse back: %v\n%s", err, out)
		}
		p, err := root.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseRoot(p); err != nil {
			t.Fatalf("marshalled root does not parse: %v\n%s", err, p)
		}
		_, _ = cur.verifyRoot(bg, RootFile(2), data)
	})
}
