package verify

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path"
	"strings"
)

// namedDigest is a file name and its lowercase hex SHA-256, as an SBOM or
// provenance document states it.
type namedDigest struct {
	name   string
	sha256 string
}

// spdxDoc is the part of an SPDX 2.x JSON document verify reads.
type spdxDoc struct {
	SPDXVersion string `json:"spdxVersion"`
	Packages    []struct {
		Name            string         `json:"name"`
		PackageFileName string         `json:"packageFileName"`
		Checksums       []spdxChecksum `json:"checksums"`
	} `json:"packages"`
	Files []struct {
		FileName  string         `json:"fileName"`
		Checksums []spdxChecksum `json:"checksums"`
	} `json:"files"`
}

type spdxChecksum struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"checksumValue"`
}

// parseSPDX returns the SHA-256 checksums an SPDX 2.3 JSON document gives
// packages (by packageFileName, else name) and files (by base name).
func parseSPDX(file string, data []byte) ([]namedDigest, error) {
	var doc spdxDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, &FormatError{File: file, Reason: "invalid SPDX JSON", Err: err}
	}
	if doc.SPDXVersion != "SPDX-2.3" {
		return nil, &FormatError{File: file, Reason: fmt.Sprintf("spdxVersion %q, want \"SPDX-2.3\"", doc.SPDXVersion)}
	}
	var out []namedDigest
	add := func(name string, sums []spdxChecksum) error {
		for _, c := range sums {
			if c.Algorithm != "SHA256" {
				continue
			}
			v := strings.ToLower(c.Value)
			if !isHex64(v) {
				return &FormatError{File: file, Reason: fmt.Sprintf("%s: SHA256 %q is not 64 hex digits", name, c.Value)}
			}
			out = append(out, namedDigest{name: path.Base(name), sha256: v})
		}
		return nil
	}
	for _, p := range doc.Packages {
		n := p.PackageFileName
		if n == "" {
			n = p.Name
		}
		if err := add(n, p.Checksums); err != nil {
			return nil, err
		}
	}
	for _, f := range doc.Files {
		if err := add(f.FileName, f.Checksums); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// StatementType is the in-toto Statement v1 type URI.
const StatementType = "https://in-toto.io/Statement/v1"

type statement struct {
	Type    string `json:"_type"`
	Subject []struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	PredicateType string `json:"predicateType"`
}

type dsseEnvelope struct {
	PayloadType string `json:"payloadType"`
	Payload     string `json:"payload"`
}

// parseProvenance returns the subjects of an in-toto Statement v1, given
// plainly or as the payload of a DSSE envelope (whose signatures are not
// checked here: the statement's subjects are compared with the signed
// SHA256SUMS instead). Every subject must carry a sha256 digest.
func parseProvenance(file string, data []byte) ([]namedDigest, error) {
	var env dsseEnvelope
	if err := json.Unmarshal(data, &env); err == nil && env.PayloadType != "" {
		if env.PayloadType != "application/vnd.in-toto+json" {
			return nil, &FormatError{File: file, Reason: fmt.Sprintf("DSSE payloadType %q", env.PayloadType)}
		}
		p, err := base64.StdEncoding.DecodeString(env.Payload)
		if err != nil {
			return nil, &FormatError{File: file, Reason: "DSSE payload is not base64", Err: err}
		}
		data = p
	}
	var st statement
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, &FormatError{File: file, Reason: "invalid in-toto JSON", Err: err}
	}
	if st.Type != StatementType {
		return nil, &FormatError{File: file, Reason: fmt.Sprintf("_type %q, want %q", st.Type, StatementType)}
	}
	if len(st.Subject) == 0 {
		return nil, &FormatError{File: file, Reason: "no subjects"}
	}
	var out []namedDigest
	for i, s := range st.Subject {
		d := strings.ToLower(s.Digest["sha256"])
		if s.Name == "" || !isHex64(d) {
			return nil, &FormatError{File: file, Reason: fmt.Sprintf("subject[%d] %q: needs a name and a 64-hex sha256 digest", i, s.Name)}
		}
		out = append(out, namedDigest{name: path.Base(s.Name), sha256: d})
	}
	return out, nil
}
