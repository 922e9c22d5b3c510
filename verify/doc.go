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
// A self-updater builds a [Verifier] once, then makes three calls, in
// this order:
//
//	v, err := verify.NewVerifier(keys, verify.WithProject("hello"), verify.WithState(verify.NewFileState(statePath)))
//	m, err := v.FetchManifest(ctx, loc) // signed, unexpired, serial not rolled back
//	sel, err := m.Select(manifest.Query{Platform: manifest.Platform{OS: "linux", Arch: "amd64"}})
//	n, err := verify.FetchArtifact(ctx, loc, sel.Artifact, tmp) // size and SHA-256 checked while writing
//
// and renames tmp into place only when FetchArtifact returned nil.
// loc is a [Dir], an [HTTP] release root ([NewHTTP]), or a [Forge]: a
// GitHub, GitHub Enterprise or Gitea/Forgejo repository in relkit's forge
// layout ([NewForge]("github:OWNER/REPO", ...)), read through its public
// download URLs, with the tags of version releases taken from the
// verified manifest.
// A client that pins root keys rather than signing keys gets its Verifier
// from a [Trust], the whole trust material as one value:
//
//	trust := &verify.Trust{Roots: roots, Project: "hello", State: verify.NewFileState(statePath)}
//	v, err := trust.Verifier(ctx, loc) // root chain, then keys.json, then the signing keys
//
// A release pipeline or an auditor wants [Verifier.VerifyRelease], which
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
//     client binary: root keys pinned in the client sign, by their
//     threshold, a keys.json ([KeyBundle]) bound to the project and
//     listing the current signing keys, with expiries and revocations
//     ([Verifier.VerifyKeyBundle], [Verifier.FetchKeyBundle]); the root
//     keys themselves rotate through the root chain ([Root],
//     [Verifier.FetchRoots]). [Trust] puts it all in one value.
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
// [ErrNotFound], [ErrNoTrustedKeys], [ErrWrongProject], ...) and with errors.As against a
// typed error carrying the details ([*ThresholdError] lists why each
// signature did not count; [*ChecksumMismatchError] has Name, Want and
// Got).
//
// verify fails closed: a Verifier with no keys cannot be built; a file
// with no signature fails; a manifest without an expiry fails; a key
// bundle without an expiry fails; an unknown schema major fails; a
// corrupt state file fails rather than forgetting what was accepted; a
// [Trust] without a project or a State is refused unless a field named
// Unsafe* says so.
//
// Every input is bounded: [MaxSignatureSize], [MaxKeySize],
// [MaxSignaturesSize], [MaxKeysSize], [MaxRootSize] (and
// [MaxRootRotations] root versions per walk), manifest.MaxManifestSize,
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
// Trust starts from the keys the client binary pins, as one [Trust]
// value. Either they are the signing keys themselves (Trust.Keys with
// Trust.Threshold: simple, but rotating one needs a new binary), or they
// are root keys (Trust.Roots with Trust.RootThreshold, default all of
// them) that sign only two things: keys.json, which names the signing
// keys, and the next root set.
//
// Signing-key rotation: a compromised signing key is revoked by
// publishing a keys.json with a higher serial that lists it under
// "revoked"; a revoked key is refused even where it is also pinned.
// keys.json names its project ("project"): a client with a project
// refuses another project's bundle and, unless
// Trust.UnsafeAllowUnboundKeys, one naming no project (bundles written
// before the field existed), so projects that share root keys cannot
// serve each other's bundles. Its serial is kept per project
// ("keys.json:<project>" in the State).
//
// Root rotation works as TUF's root chain does. The pinned roots are
// version 1 of the chain (Trust.RootVersion says otherwise for a client
// built later). Version n+1 is root/<n+1>.json at the release root: a
// [Root] (keys, threshold, revoked keys, project, expiry) in a
// [SignedRoot] envelope, signed by the threshold of version n AND by its
// own threshold of the new keys. [Verifier.FetchRoots] (called by
// [Verifier.FetchKeyBundle] and [Trust.Verifier]) walks the chain from
// the newest root set the client trusts, one version at a time and at
// most [MaxRootRotations] per call, and remembers each accepted set in
// its State (a [RootState]: [FileState] and [MemoryState] are), so the
// next run starts there even if older versions are gone from the server.
// It refuses a version signed by too few old or new roots, a wrong
// version number, another project, a set that drops a revocation of the
// one before (revocations are permanent), an expired newest set, and a
// chain shorter than one already accepted. A revoked root is refused
// everywhere: for keys.json, for later root sets, and as a signing key.
// A root key listed under "revoked" in an accepted keys.json is refused
// the same way from then on (the client records it), and never counts
// for the bundle that revokes it; retiring a root through the chain is
// the durable way, since the root set replaces it.
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
// (keep expiries short and re-sign); root keys at or above their
// threshold in an attacker's hands (they can sign any keys.json and the
// next root set: keep them offline, use a threshold above 1); an attacker
// who hides a root rotation from a client that has never seen it (the
// pinned set has no expiry: rotate away from a compromised root before
// its holder can race you, and ship new binaries pinning the newest set).
// A [MemoryState] only protects one process: use a [FileState] for
// rollback protection across runs.
//
// # Wire formats
//
// signatures.json ([SignaturesSchema]), keys.json ([KeysSchema]) and the
// root chain's root/<n>.json ([SignedSchema] around [RootSchema]) are
// public formats shared with package sign, which writes them, and
// described in docs/wire-format.md. Their encodings are deterministic
// ([SignatureSet.Marshal], [KeyBundle.Marshal], [Root.Marshal],
// [SignedRoot.Marshal]); readers accept minor revisions
// ("relkit.signatures/v1.1") and ignore unknown fields, and refuse another
// major version.
package verify
