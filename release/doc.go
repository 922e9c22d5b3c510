// Package release is relkit's release pipeline: the version guard, build,
// package, checksums, SBOM, provenance, notes, sign, verify, publish,
// remote verify and summary, as small named stages run in order.
package release
