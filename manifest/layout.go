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
	// SignaturesFile is the signature set (one entry per key and signed
	// file) at the root and in each version directory.
	SignaturesFile = "signatures.json"
	// KeysFile is the root-signed set of signing keys at the root.
	KeysFile = "keys.json"
	// RootsDir is the root directory of the root chain (root/<n>.json).
	RootsDir = "root"
	// NotesFile is the release notes (Markdown) in a version directory.
	NotesFile = "release-notes.md"
	// SBOMFile is the SPDX SBOM in a version directory.
	SBOMFile = "sbom.spdx.json"
	// ProvenanceFile is the in-toto provenance statement in a version
	// directory.
	ProvenanceFile = "provenance.intoto.json"
	// ProvenanceDSSEFile is the signed provenance in a version
	// directory: the statement in DSSE envelopes, one per line, under the
	// name OpenSSF Scorecard counts as provenance (*.intoto.jsonl).
	ProvenanceDSSEFile = "provenance.intoto.jsonl"
	// IndexTag is the default tag of a forge's index release, which holds
	// the root on GitHub, Gitea and Forgejo (see [ForgeAsset]).
	IndexTag = "relkit-index"
)

// ForgeAsset returns where the forge layout keeps the file name (a path
// below the release root): whether it belongs to the index release (the
// root: no directory, or sigs/, shards/ and root/) and its asset name
// there or in its version's release: the last path element, except that
// the root signatures.json is "root.signatures.json" (the version's own
// signatures.json holds the name in its release), root/<n>.json is
// "root.<n>.json" and shards/<sha256>.json is "shard.<sha256>.json". For a version file, version is its directory.
func ForgeAsset(name string) (index bool, version, asset string) {
	dir, rest, nested := strings.Cut(name, "/")
	switch {
	case !nested && name == SignaturesFile:
		return true, "", "root." + SignaturesFile
	case !nested:
		return true, "", name
	case dir == SigsDir:
		return true, "", path.Base(rest)
	case dir == ShardsDir:
		return true, "", "shard." + path.Base(rest)
	case dir == RootsDir:
		return true, "", "root." + path.Base(rest)
	}
	return false, dir, path.Base(rest)
}

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
