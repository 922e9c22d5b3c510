package sigstore

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/testing/ca"
)

const (
	signer = "release@example.com"
	issuer = "https://issuer.example.com"
)

// TestKeyless signs with sigstore-go's VirtualSigstore (a Fulcio CA, a
// Rekor log and a TSA played in-process, no network) and verifies.
func TestKeyless(t *testing.T) {
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	artifact := []byte("abc  hello-1.2.0-linux-amd64.tar.gz\n")
	ent, err := vs.Sign(signer, issuer, artifact)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(vs, Identity{Issuer: issuer, SAN: signer})
	if err != nil {
		t.Fatal(err)
	}
	res, err := v.Verify(ent, bytes.NewReader(artifact))
	if err != nil {
		t.Fatal(err)
	}
	if res.SAN != signer || res.Issuer != issuer {
		t.Fatalf("identity %q %q", res.SAN, res.Issuer)
	}
	// A regexp identity matches too.
	vr, err := NewVerifier(vs, Identity{IssuerRegexp: `^https://issuer\.example\.com$`, SANRegexp: `@example\.com$`})
	if err != nil {
		t.Fatal(err)
	}
	rr, err := vr.Verify(ent, bytes.NewReader(artifact))
	if err != nil {
		t.Fatal(err)
	}
	// The result names the certificate's identity, not the pattern.
	if rr.SAN != signer || rr.Issuer != issuer {
		t.Fatalf("identity through regexps %q %q, want %q %q", rr.SAN, rr.Issuer, signer, issuer)
	}

	other, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Clone(artifact)
	tampered[0] ^= 1
	cases := []struct {
		name string
		run  func() error
	}{
		{"tampered artifact", func() error { _, err := v.Verify(ent, bytes.NewReader(tampered)); return err }},
		{"another signer", func() error {
			w, _ := NewVerifier(vs, Identity{Issuer: issuer, SAN: "mallory@example.com"})
			_, err := w.Verify(ent, bytes.NewReader(artifact))
			return err
		}},
		{"another issuer", func() error {
			w, _ := NewVerifier(vs, Identity{Issuer: "https://evil.example.com", SAN: signer})
			_, err := w.Verify(ent, bytes.NewReader(artifact))
			return err
		}},
		{"another trusted root", func() error {
			w, _ := NewVerifier(other, Identity{Issuer: issuer, SAN: signer})
			_, err := w.Verify(ent, bytes.NewReader(artifact))
			return err
		}},
		{"no identity", func() error { _, err := NewVerifier(vs, Identity{Issuer: issuer}); return err }},
		{"no trusted root", func() error { _, err := NewVerifier(nil, Identity{Issuer: issuer, SAN: signer}); return err }},
		{"bad identity regexp", func() error { _, err := NewVerifier(vs, Identity{Issuer: issuer, SANRegexp: "("}); return err }},
		{"garbage bundle", func() error { _, err := ParseBundle([]byte(`{"mediaType":"nope"}`)); return err }},
		{"oversized bundle", func() error { _, err := ParseBundle(make([]byte, MaxBundleSize+1)); return err }},
		{"garbage trusted root", func() error { _, err := LoadTrustedRoot([]byte(`{`)); return err }},
		{"missing artifact", func() error { _, err := v.Verify(ent, nil); return err }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.run()
			var se *Error
			if !errors.Is(err, ErrVerification) || !errors.As(err, &se) {
				t.Fatalf("got %v, want a *Error wrapping ErrVerification", err)
			}
			if strings.Contains(c.name, "oversized") && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("got %v, want ErrTooLarge", err)
			}
		})
	}
}
