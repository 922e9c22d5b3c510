// Package relkit is a library SDK for release engineering: cutting,
// signing, publishing, verifying and installing software releases from Go
// code instead of a folder of shell scripts.
//
// This package holds only documentation. Import the package for the job:
//
//	github.com/relkit/relkit/manifest   the release index (manifest.json): releases,
//	                                    artifacts, channels, rolling aliases, versions,
//	                                    tags, platforms and the SHA256SUMS format.
//	github.com/relkit/relkit/verify     checksums, signatures, signed manifests and a
//	                                    trust policy; stdlib only, for self-updaters.
//	github.com/relkit/relkit/sign       signers for cosign keys, PEM keys and Ed25519;
//	                                    key generation and rotation bundles.
//	github.com/relkit/relkit/publish    the publishing protocol and the directory
//	                                    provider; publish/s3, publish/github and
//	                                    publish/oci (multi-arch container images).
//	github.com/relkit/relkit/install    resolve, download, verify, extract and swap a
//	                                    binary with backup and rollback: `tool update`.
//	github.com/relkit/relkit/release    the release pipeline that wires them together.
//
// A self-updater imports only install (and through it manifest and verify),
// none of which pull in cosign, the AWS SDK or go-github; a test enforces it.
//
// The programs under examples/ show each package at work and run end to end
// in CI: quickstart (a local release-and-update tour), release, selfupdate,
// verify and keys. Start with
//
//	go run ./examples/quickstart
//
// # The published layout
//
// A release location (a directory, an S3 prefix, or flattened as GitHub
// release assets) holds:
//
//	manifest.json          every release, channels, aliases; signed
//	manifest.json.sig
//	<version>/<name>-<version>-<os>-<arch>.tar.gz   (.zip for windows)
//	<version>/SHA256SUMS   GNU format, sorted
//	<version>/SHA256SUMS.sig
//	<version>/sbom.spdx.json
//	<version>/provenance.intoto.json
//	<version>/release-notes.md
//
// manifest.json is written last: it is the commit point, so a client never
// sees a release whose files are not all in place.
package relkit
