package manifest

import (
	"path"
	"strings"
)

// The names of the published layout's root (see docs/wire-format.md).
const (
	// File is the name of the release index at the root of a release
	// location, the commit point of every publish.
	File = "manifest.json"
	// SigsDir is the root directory holding content-addressed
	// signatures of the root's mutable files (see [SignaturePath]). Files
	// in it are written before the file they sign is replaced and are
	// never changed afterwards, so a reader that fetched a manifest.json
	// always finds the signatures of exactly those bytes.
	SigsDir = "sigs"
)

// SignaturePath returns the path of the detached signature (the first
// signer's, base64 of the raw signature: what cosign verify-blob reads) of
// the root file name whose content has the lowercase hex SHA-256 sum:
// "sigs/manifest.json.<sum>.sig".
func SignaturePath(name, sum string) string {
	return path.Join(SigsDir, name+"."+strings.ToLower(sum)+".sig")
}

// SignatureSetPath returns the path of the signature set (signatures.json
// format, one entry per signing key) over the root file name whose content
// has the lowercase hex SHA-256 sum: "sigs/manifest.json.<sum>.signatures.json".
func SignatureSetPath(name, sum string) string {
	return path.Join(SigsDir, name+"."+strings.ToLower(sum)+".signatures.json")
}
