// Package manifest is relkit's release index: the machine-readable
// manifest.json published at the root of a release location, and the value
// types around it (versions, tags, platforms, checksums files).
//
// It is pure data and encoding, built on the standard library only, so any
// program can import it.
//
// # The manifest
//
// A [Manifest] lists every [Release] a project ever published, newest first,
// each with its [Artifact] files (name, relative path, kind, os/arch, size,
// SHA-256). Most callers want [LoadFile] or [Load] to read one,
// [Manifest.Add] to merge a new release, [Manifest.Select] to pick the
// artifact to install, and [Manifest.Marshal] to write it back.
//
// The encoding is deterministic: the same manifest always encodes to the
// same bytes, because signatures cover those bytes. Schema
// "relkit.manifest/v1" is a public wire format: minor revisions may add
// optional fields; readers refuse an unknown major version with a
// *[SchemaError].
//
// Releases are never deleted and versions are never reused: [Manifest.Add]
// is idempotent by version and refuses different bytes under a published
// version with a *[VersionReusedError]; [Manifest.Deprecate] and
// [Manifest.Yank] mark a release without removing it, and the channel
// pointers and rolling aliases ("latest", "1", "1.2") move back to the
// newest active release. Only stable, non-pre-release releases move the
// aliases. Every change increments [Manifest.Serial], which verifiers use
// to refuse rollbacks.
//
// # Versions and tags
//
// [ParseVersion] reads SemVer 2.0 (with or without "v") and calendar
// versions ("2026.04", "2026.04.1"); [Compare] orders them by SemVer
// precedence. [ParseConstraint] reads ranges such as ">=1.2, <2".
// [ParseTag] reads plain, module-prefixed ("module-authority-v1.2.3") and
// codename ("suite-2026.04-nova") tags. Errors name the part that is wrong.
//
// # Checksums files
//
// [ParseChecksums] reads the GNU sha256sum format (text and binary mode,
// escaped names) and the BSD "SHA256 (name) = hex" form;
// [Checksums.Marshal] writes the sorted GNU form that "sha256sum -c"
// accepts.
package manifest
