// Package publish uploads a staged release to a destination (a directory,
// an S3 bucket, a GitHub release) through one protocol that every provider
// follows, so that an interrupted publish is invisible to clients and a
// re-run converges.
//
// Most callers want [New] with a provider's store and [Publisher.Publish]:
//
//	store, err := publish.NewDirStore("www/hello") // a web server's root; or s3.New(ctx, bucket, ...), github.New(owner, repo, tag, ...)
//	p, err := publish.New(store, publish.WithConcurrency(4))
//	res, err := p.Publish(ctx, "dist/release") // artifacts first, manifest.json last; a re-run uploads 0 bytes
//	// res.Assets: every file with its URL; res.BytesUploaded is 0 on a re-run.
//
// The providers are [DirStore] in this package, publish/s3, publish/github
// and publish/gitea; each implements the small [Store] interface and runs
// the conformance suite in publish/publishtest. publish/github/githubtest
// and publish/gitea/giteatest are the in-memory forge servers their tests
// run against, public test servers with a compatibility promise (see
// their package documentation).
//
// publish/oci is not a provider: it publishes the release's binaries as a
// container image to an OCI registry, with its own registry client
// (go-containerregistry), beside the file publish rather than through a
// [Store]. A registry holds content-addressed images and tags, not files
// under names, so the commit-point protocol does not apply; it lives here
// because it is one more destination a release is published to.
//
// # The staged directory
//
// Publish takes a directory in the published layout (the same on a
// directory and on S3; flattened to file names as GitHub release assets):
//
//	manifest.json                the release index, the commit point
//	manifest.json.sig            its signature
//	signatures.json, keys.json   optional, replaced with the manifest
//	install.sh, ...              any other root file, replaced likewise
//	<version>/<name>-<version>-<os>-<arch>.tar.gz (.zip)
//	<version>/SHA256SUMS, <version>/SHA256SUMS.sig
//	<version>/sbom.spdx.json, <version>/provenance.intoto.json
//	<version>/release-notes.md
//
// It may hold several versions, or only the new one: the manifest lists
// every release, and the files of releases that are not staged must
// already be published. manifest.json is required (see
// [WithoutManifestUnsafe]), must parse, and must agree with every staged
// file it lists; every file it lists for a staged version must be staged
// or already published ([*MissingError]).
//
// # The protocol
//
// [Publisher.Plan] takes each staged file's size and SHA-256 from the
// manifest (hashing the files it does not list; [WithHashStaged] hashes
// all of them) and asks the destination what it holds under the same
// name. Each file gets an [Action]: upload
// (nothing there), skip (the same SHA-256 and size already there), replace
// (a file at the root, [IsMutable]: manifest.json, manifest.json.sig,
// signatures.json, keys.json, install.sh) or refuse (different bytes under
// a published name in a version directory: a version is never reused). A plan with a refused file is a
// [*ConflictError] and nothing is uploaded. [Publisher.DryRun] prints the
// plan; [Publisher.Apply] carries out a plan computed earlier.
//
// Files are then uploaded stage by stage ([Stage]): artifacts, SHA256SUMS,
// signatures, SBOM/provenance/notes, then the root files (signatures
// first: manifest.json.sig, keys.json.sig, signatures.json; then
// keys.json and the others), and manifest.json alone and last. Files of one stage
// are uploaded concurrently ([WithConcurrency]); a stage starts only when
// the previous one is complete. Until manifest.json is replaced no client
// sees the new release, so a publish killed at any point is invisible, and
// a re-run uploads what is missing and skips the rest. Stores whose
// content becomes visible in a separate step (a GitHub draft release)
// implement [Committer]; the Publisher calls Commit after manifest.json.
//
// Every byte uploaded is verified on the way, so each staged file is read
// once: the reader a store gets ([Body]) fails with a [*ChecksumError],
// withholding the last bytes, if the staged file does not match the plan,
// and the store must then publish nothing.
//
// # Retries and progress
//
// Operations that fail with a transient error ([IsRetryable]: network
// errors, HTTP 5xx and 429, never another 4xx) are retried with
// exponential back-off and jitter ([RetryPolicy], [DefaultRetryPolicy]),
// honouring a server's Retry-After. A create-only upload that finds its
// name taken after a retry (the first attempt succeeded but the answer
// was lost) counts as done when the bytes are the same. Cancelling the
// context stops everything promptly. [WithProgress] reports files started,
// bytes sent, files done or skipped, retries and the commit.
//
// # Promote
//
// [Publisher.Promote] copies a release already published at one store to
// the Publisher's (staging to live): it fetches the source manifest and
// the files the destination lacks, checks each against the manifest while
// copying, lets the caller verify the signature, and publishes the same
// bytes through the protocol.
//
// # Writing a provider
//
// A provider implements [Store] (Stat, Put, Open) and, if it has one,
// [Committer] and [Locator]. It only moves bytes and reports what is
// there; the Publisher does the planning, the ordering and the retries.
// The error contract is in the [Store] documentation: ErrNotExist for a
// missing object, ErrExist for a create-only Put of a taken name, errors
// with an HTTP status (an HTTPStatusCode() int method, or [*StatusError])
// so that [IsRetryable] can classify them. A provider's tests call
// publishtest.Run.
package publish
