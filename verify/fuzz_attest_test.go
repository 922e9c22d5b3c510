package verify

import (
	"errors"
	"testing"
)

// FuzzAttestations: the SBOM and provenance readers never panic, refuse
// with typed errors, and return only well-formed digests.
func FuzzAttestations(f *testing.F) {
	h := sha256hex([]byte("x"))
	f.Add([]byte(`{"spdxVersion":"SPDX-2.3","packages":[{"name":"a","packageFileName":"./a.tar.gz","checksums":[{"algorithm":"SHA256","checksumValue":"` + h + `"}]}],"files":[{"fileName":"./b","checksums":[{"algorithm":"SHA1","checksumValue":"00"}]}]}`))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a.tar.gz","digest":{"sha256":"` + h + `"}}]}`))
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, parse := range []func(string, []byte) ([]namedDigest, error){parseSPDX, parseProvenance} {
			out, err := parse("doc", data)
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("untyped error %v", err)
				}
				continue
			}
			for _, d := range out {
				if !isHex64(d.sha256) || d.name == "" {
					t.Fatalf("bad entry %+v", d)
				}
			}
		}
	})
}
