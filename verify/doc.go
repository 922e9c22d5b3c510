// Package verify decides whether the bytes of a release can be trusted: it
// checks checksums, signatures, signed manifests and whole published
// releases, and refuses everything else with an error that says what
// failed.
//
// It is built on the Go standard library only (a test enforces it), so a
// self-updater can import it without pulling in cosign, sigstore, cloud
// SDKs or GitHub clients. Keyless (sigstore bundle) verification lives in
// the optional subpackage verify/sigstore.
//
// # Which function do I want?
//
// A self-updater wants three calls, in this order:
//
//	v, err := verify.NewVerifier(keys, verify.WithState(verify.NewFileState(statePath)), verify.WithProject("hello"))
//	m, err := v.FetchManifest(ctx, loc)                     // signed, fresh, not rolled back
//	sel, err := m.Select(manifest.Query{Channel: "stable", Platform: here})
//	n, err := verify.FetchArtifact(ctx, loc, sel.Artifact, tmpFile) // size + SHA-256 while writing
//
// and renames tmpFile into place only when FetchArtifact returned nil. A
// release pipeline or an auditor wants [Verifier.VerifyRelease], which
// checks everything published for a version and returns a [Report] that
// renders as JSON and Markdown.
//
// # What is verified
//
//   - Signatures ([Verifier.VerifySignatures]): ECDSA P-256/P-384 over
//     SHA-256 (ASN.1 DER: what `cosign sign-blob` and `openssl dgst
//     -sha256 -sign` write), Ed25519 (`openssl pkeyutl -sign -rawin`), RSA
//     PKCS#1 v1.5 and PSS over SHA-256 with keys of 2048 to 8192 bits.
//     Signatures come as a detached ".sig" file (base64 with or without a
//     newline, or raw bytes; see [DecodeSignature]) and/or as entries in a
//     signatures.json ([SignatureSet]). A threshold policy requires k
//     distinct trusted keys ([WithThreshold]).
//   - Keys ([KeyRing]): PEM "PUBLIC KEY" (PKIX) keys, each known by its
//     [KeyID] (SHA-256 of the DER encoding). Keys rotate without a new
//     client binary: root keys pinned in the client sign a keys.json
//     ([KeyBundle]) listing the current signing keys, with expiries and
//     revocations ([Verifier.VerifyKeyBundle], [Verifier.FetchKeyBundle]).
//   - Manifests ([Verifier.VerifyManifest]): manifest.json is returned only
//     when it is signed, parses and validates, has not expired (freeze
//     attack), belongs to the expected project, and its serial is not lower
//     than the last one accepted (rollback attack, remembered by a
//     [State]).
//   - Artifacts ([Copy], [Reader], [FetchArtifact], [CheckArtifact]): the
//     size and SHA-256 are checked while the bytes stream to disk, in one
//     pass, never holding the artifact in memory; a longer stream is cut
//     off one byte past the expected size. [CheckArtifact] accepts an
//     artifact only when the signed manifest lists it with the same name,
//     version, os, arch, size and digest (mix-and-match attack).
//   - Releases ([Verifier.VerifyRelease]): the SHA256SUMS signature, every
//     file's checksum and size, and agreement between the manifest,
//     SHA256SUMS, the SPDX 2.3 SBOM and the in-toto provenance subjects.
//
// # What is refused
//
// Every refusal is an error that works with errors.Is against a sentinel
// ([ErrBadSignature], [ErrUnknownKey], [ErrRevoked], [ErrExpired],
// [ErrRollback], [ErrChecksumMismatch], [ErrSizeMismatch],
// [ErrMissingEntry], [ErrArtifactMismatch], [ErrBadKey],
// [ErrBadSignatureEncoding], [ErrMalformed], [ErrTooLarge], [ErrFetch],
// [ErrNotFound], [ErrNoTrustedKeys], ...) and with errors.As against a
// typed error carrying the details ([*ThresholdError] lists why each
// signature did not count; [*ChecksumMismatchError] has Name, Want and
// Got).
//
// verify fails closed: a Verifier with no keys cannot be built; a file
// with no signature fails; a manifest without an expiry fails; a key
// bundle without an expiry fails; an unknown schema major fails; a
// corrupt state file fails rather than forgetting what was accepted.
//
// Every input is bounded: [MaxSignatureSize], [MaxKeySize],
// [MaxSignaturesSize], [MaxKeysSize], manifest.MaxManifestSize,
// manifest.MaxChecksumsSize, [MaxSBOMSize], [MaxProvenanceSize]; HTTP
// fetches have a total and an idle timeout and a byte cap
// ([DefaultFetchTimeout], [DefaultIdleTimeout], [DefaultMaxFetchSize],
// each an [HTTPOption]), and turn every status but 200 into an
// [*HTTPError]. A [Dir] location opens files through os.Root, so
// ".." and symbolic links cannot escape it.
//
// # Redirects
//
// relkit has one redirect policy, [CheckRedirect], used by the [HTTP]
// location and by package install: a redirect may keep its scheme
// (http to http, https to https, any host) or upgrade from http to https.
// It may not go from https to http, anywhere in the chain (so an upgrade
// cannot be followed by a downgrade), nor to any scheme but http and
// https (file:, ftp:, data:), nor past [MaxRedirects]. A refused
// redirect is an [*HTTPError] with Redirect and Reason set, returned
// before the refused target is requested, and is never retried. The
// host may change: what is fetched is trusted for its signatures and
// digests, not for where it came from.
//
// # Trust model
//
// Trust starts from the keys the client binary pins. Either they are the
// signing keys themselves (simple, but rotating one needs a new binary),
// or they are root keys that only sign keys.json, and keys.json names the
// signing keys (a compromised signing key is revoked by publishing a new
// keys.json with a higher serial; a revoked key is refused even where it
// is also pinned). Root keys should be kept offline and used with a
// threshold.
//
// What a signature covers: manifest.json (every release, its artifacts'
// sizes and digests, the channels, a serial and an expiry) and each
// version's SHA256SUMS. Artifacts are trusted through the digests those
// signed files list; SBOM and provenance documents are compared with them
// but their own signatures (DSSE) are not checked here.
//
// What verify does not defend against: a client whose pinned keys or
// state file an attacker can write; a signing key that signs a malicious
// build (use provenance and keyless signing, verify/sigstore); an
// attacker who withholds updates for less than the manifest's lifetime
// (keep expiries short and re-sign). A [MemoryState] only protects one
// process: use a [FileState] for rollback protection across runs.
//
// # Wire formats
//
// signatures.json ([SignaturesSchema]) and keys.json ([KeysSchema]) are
// public formats shared with package sign, which writes them. Their
// encodings are deterministic ([SignatureSet.Marshal], [KeyBundle.Marshal]);
// readers accept minor revisions ("relkit.signatures/v1.1") and ignore
// unknown fields, and refuse another major version.
package verify
