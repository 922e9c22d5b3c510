package sigstore

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"testing"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
)

// bundleJSON is encodeBundle failing t on an error.
func bundleJSON(t *testing.T, vs *ca.VirtualSigstore, ent *ca.TestEntity) []byte {
	t.Helper()
	data, err := encodeBundle(vs, ent)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// encodeBundle writes what VirtualSigstore signed as a sigstore bundle
// (media type v0.1: certificate, message signature, a Rekor entry with its
// signed entry timestamp), the JSON form a release would publish.
func encodeBundle(vs *ca.VirtualSigstore, ent *ca.TestEntity) ([]byte, error) {
	vc, err := ent.VerificationContent()
	if err != nil {
		return nil, err
	}
	sc, err := ent.SignatureContent()
	if err != nil {
		return nil, err
	}
	ms := sc.MessageSignatureContent()
	entries, err := ent.TlogEntries()
	if err != nil || len(entries) != 1 {
		return nil, fmt.Errorf("tlog entries: %d, %v", len(entries), err)
	}
	tle := entries[0].TransparencyLogEntry()
	logID, err := vs.RekorLogID()
	if err != nil {
		return nil, err
	}
	set, err := vs.RekorSignPayload(tlog.RekorPayload{Body: base64.StdEncoding.EncodeToString(tle.CanonicalizedBody), IntegratedTime: tle.IntegratedTime, LogIndex: tle.LogIndex, LogID: logID})
	if err != nil {
		return nil, err
	}
	tle.KindVersion = &protorekor.KindVersion{Kind: "hashedrekord", Version: "0.0.1"}
	tle.InclusionPromise = &protorekor.InclusionPromise{SignedEntryTimestamp: set}
	pb := &protobundle.Bundle{
		MediaType: "application/vnd.dev.sigstore.bundle+json;version=0.1",
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_X509CertificateChain{X509CertificateChain: &protocommon.X509CertificateChain{
				Certificates: []*protocommon.X509Certificate{{RawBytes: vc.Certificate().Raw}},
			}},
			TlogEntries: []*protorekor.TransparencyLogEntry{tle},
		},
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: ms.Digest()},
			Signature:     ms.Signature(),
		}},
	}
	b, err := bundle.NewBundle(pb)
	if err != nil {
		return nil, err
	}
	return b.MarshalJSON()
}

// TestBundleJSON verifies a bundle that went through its JSON encoding and
// ParseBundle, and refuses it once one byte of its signature is flipped.
func TestBundleJSON(t *testing.T) {
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	artifact := []byte("SHA256SUMS of hello 1.2.0\n")
	ent, err := vs.Sign(signer, issuer, artifact)
	if err != nil {
		t.Fatal(err)
	}
	data := bundleJSON(t, vs, ent)
	b, err := ParseBundle(data)
	if err != nil {
		t.Fatalf("ParseBundle: %v\n%s", err, data)
	}
	v, err := NewVerifier(vs, Identity{Issuer: issuer, SAN: signer})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(b, bytes.NewReader(artifact)); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if _, err := v.Verify(b, bytes.NewReader(append(bytes.Clone(artifact), '!'))); err == nil {
		t.Fatal("other artifact verified")
	}
	// Tamper with the signature inside the JSON.
	sc, _ := b.SignatureContent()
	sig := sc.MessageSignatureContent().Signature()
	enc := base64.StdEncoding.EncodeToString(sig)
	bad := bytes.Clone(sig)
	bad[len(bad)/2] ^= 1
	tampered := bytes.Replace(data, []byte(enc), []byte(base64.StdEncoding.EncodeToString(bad)), 1)
	if bytes.Equal(tampered, data) {
		t.Fatal("signature not found in bundle JSON")
	}
	tb, err := ParseBundle(tampered)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(tb, bytes.NewReader(artifact)); err == nil {
		t.Fatal("bundle with a flipped signature byte verified")
	}
}

// trustedRootJSON is encodeTrustedRoot failing t on an error.
func trustedRootJSON(t *testing.T, vs *ca.VirtualSigstore) []byte {
	t.Helper()
	data, err := encodeTrustedRoot(vs)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// encodeTrustedRoot writes VirtualSigstore's trust material as a
// trusted_root.json (log IDs hex-decoded, as the real file carries them).
func encodeTrustedRoot(vs *ca.VirtualSigstore) ([]byte, error) {
	decode := func(logs map[string]*root.TransparencyLog) (map[string]*root.TransparencyLog, error) {
		out := map[string]*root.TransparencyLog{}
		for id, l := range logs {
			c := *l
			raw, err := hex.DecodeString(id)
			if err != nil {
				return nil, err
			}
			c.ID = raw
			out[id] = &c
		}
		return out, nil
	}
	ctlogs, err := decode(vs.CTLogs())
	if err != nil {
		return nil, err
	}
	rekor, err := decode(vs.RekorLogs())
	if err != nil {
		return nil, err
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, vs.FulcioCertificateAuthorities(), ctlogs, vs.TimestampingAuthorities(), rekor)
	if err != nil {
		return nil, err
	}
	return tr.MarshalJSON()
}

// TestTrustedRootJSON: the whole offline path from files, a bundle and a
// trusted_root.json, and a trusted root of another instance refuses it.
func TestTrustedRootJSON(t *testing.T) {
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	artifact := []byte("SHA256SUMS\n")
	ent, err := vs.Sign(signer, issuer, artifact)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseBundle(bundleJSON(t, vs, ent))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		vs   *ca.VirtualSigstore
		ok   bool
	}{{"own root", vs, true}, {"other root", mustVirtual(t), false}} {
		tr, err := LoadTrustedRoot(trustedRootJSON(t, c.vs))
		if err != nil {
			t.Fatalf("%s: LoadTrustedRoot: %v", c.name, err)
		}
		v, err := NewVerifier(tr, Identity{Issuer: issuer, SAN: signer})
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.Verify(b, bytes.NewReader(artifact))
		if (err == nil) != c.ok {
			t.Fatalf("%s: Verify = %v, want ok=%v", c.name, err, c.ok)
		}
	}
}

func mustVirtual(t *testing.T) *ca.VirtualSigstore {
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	return vs
}
