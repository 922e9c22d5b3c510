//go:build attack12

// Package check is the independent checker of attack12: standard library
// only (encoding/json, crypto/ecdsa), no relkit code.
package check

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Reader reads a published file; os.ErrNotExist (wrapped) when missing.
type Reader func(name string) ([]byte, error)

// DirReader reads from a directory.
func DirReader(root string) Reader {
	return func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(root, filepath.FromSlash(name))) }
}

type Result struct {
	Serial        int64
	Project       string
	Versions      []string
	Status        map[string]string
	Channels      map[string]string
	LegacySigOK   bool // manifest.json.sig verifies manifest.json
	LegacySetOK   bool // signatures.json has a verifying entry for manifest.json
	NoManifest    bool
	SHA256        string
	Expires       string
	ArtifactCount int
	Updated       string
	Aliases       map[string]string
	Releases      map[string]any // decoded release objects by version
	// Index is the checked v2 index (nil: the root has no index.json).
	Index *IndexResult
}

func ParsePub(pubPEM []byte) (*ecdsa.PublicKey, error) {
	block, _ := pem.Decode(pubPEM)
	if block == nil {
		return nil, errors.New("check: no PEM")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok {
		return nil, errors.New("check: not ECDSA")
	}
	return pub, nil
}

func verifyB64(pub *ecdsa.PublicKey, h []byte, b64 []byte) bool {
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b64)))
	return err == nil && ecdsa.VerifyASN1(pub, h, sig)
}

type sigSet struct {
	Schema     string `json:"schema"`
	Signatures []struct {
		KeyID     string `json:"keyid"`
		Algorithm string `json:"algorithm"`
		File      string `json:"file"`
		SHA256    string `json:"sha256"`
		Signature []byte `json:"signature"`
	} `json:"signatures"`
}

func setVerifies(pub *ecdsa.PublicKey, file string, h []byte, data []byte) bool {
	var s sigSet
	if json.Unmarshal(data, &s) != nil {
		return false
	}
	for _, e := range s.Signatures {
		if e.File == file && e.SHA256 == hex.EncodeToString(h) && ecdsa.VerifyASN1(pub, h, e.Signature) {
			return true
		}
	}
	return false
}

// Root checks the root: manifest.json must verify with the content-
// addressed signatures under sigs/ (the set if present, as a reader
// does, else the .sig). An error means a reader would fail.
//
// When index.json exists it is checked too (see indexOf; read before
// manifest.json, so a publisher running meanwhile cannot make it look
// ahead): it must verify, be for the manifest's project, and carry a
// serial not above the manifest's (it may lag: Lag, Converged).
func Root(read Reader, pub *ecdsa.PublicKey) (*Result, error) {
	ix, ierr := indexOf(read, func(h, det, set []byte) (bool, bool) {
		if set != nil {
			return false, setVerifies(pub, "index.json", h, set)
		}
		return verifyB64(pub, h, det), false
	}, "")
	if ierr != nil {
		return &Result{Index: ix}, fmt.Errorf("v2 index: %w", ierr)
	}
	res, err := root(read, pub)
	if err != nil || res == nil {
		return res, err
	}
	res.Index = ix
	if ix != nil {
		if res.NoManifest {
			return res, fmt.Errorf("v2 index: index.json (serial %d) but no manifest.json", ix.Serial)
		}
		if ix.Project != res.Project {
			return res, fmt.Errorf("v2 index: project %q, manifest.json's is %q", ix.Project, res.Project)
		}
		if ix.Serial > res.Serial {
			return res, fmt.Errorf("v2 index: serial %d is ahead of manifest.json's %d", ix.Serial, res.Serial)
		}
	}
	return res, nil
}

func root(read Reader, pub *ecdsa.PublicKey) (*Result, error) {
	data, err := read("manifest.json")
	if errors.Is(err, os.ErrNotExist) {
		return &Result{NoManifest: true}, nil
	}
	if err != nil {
		return nil, err
	}
	hh := sha256.Sum256(data)
	h := hh[:]
	sum := hex.EncodeToString(h)
	res := &Result{SHA256: sum}
	set, serr := read("sigs/manifest.json." + sum + ".signatures.json")
	if serr == nil {
		if !setVerifies(pub, "manifest.json", h, set) {
			return res, fmt.Errorf("check: sigs/ set of manifest.json %s does not verify", sum[:12])
		}
	} else if errors.Is(serr, os.ErrNotExist) {
		det, derr := read("sigs/manifest.json." + sum + ".sig")
		if derr != nil {
			return res, fmt.Errorf("check: no sigs/ signature of manifest.json %s: %v", sum[:12], derr)
		}
		if !verifyB64(pub, h, det) {
			return res, fmt.Errorf("check: sigs/ .sig of manifest.json %s does not verify", sum[:12])
		}
	} else {
		return res, serr
	}
	if b, err := read("manifest.json.sig"); err == nil {
		res.LegacySigOK = verifyB64(pub, h, b)
	}
	if b, err := read("signatures.json"); err == nil {
		res.LegacySetOK = setVerifies(pub, "manifest.json", h, b)
	}
	var m struct {
		Project  string            `json:"project"`
		Serial   int64             `json:"serial"`
		Expires  string            `json:"expires"`
		Updated  string            `json:"updated"`
		Channels map[string]string `json:"channels"`
		Aliases  map[string]string `json:"aliases"`
		Releases []json.RawMessage `json:"releases"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return res, fmt.Errorf("check: manifest.json: %v", err)
	}
	res.Project, res.Serial, res.Expires, res.Channels = m.Project, m.Serial, m.Expires, m.Channels
	res.Updated, res.Aliases = m.Updated, m.Aliases
	res.Status = map[string]string{}
	res.Releases = map[string]any{}
	for _, raw := range m.Releases {
		var r struct {
			Version   string            `json:"version"`
			Status    string            `json:"status"`
			Artifacts []json.RawMessage `json:"artifacts"`
		}
		var full any
		if err := json.Unmarshal(raw, &r); err != nil {
			return res, fmt.Errorf("check: manifest.json release: %v", err)
		}
		json.Unmarshal(raw, &full)
		res.Releases[r.Version] = full
		res.Versions = append(res.Versions, r.Version)
		res.Status[r.Version] = r.Status
		res.ArtifactCount += len(r.Artifacts)
	}
	return res, nil
}

// Has reports whether every version in want is listed.
func (r *Result) Missing(want []string) []string {
	have := map[string]bool{}
	for _, v := range r.Versions {
		have[v] = true
	}
	var out []string
	for _, v := range want {
		if !have[v] {
			out = append(out, v)
		}
	}
	return out
}
