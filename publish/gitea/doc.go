// Package gitea publishes releases to a Gitea or Forgejo repository's
// releases, through the protocol of package publish, on the official SDK
// (code.gitea.io/sdk/gitea).
//
// Most callers want [New] and then publish.New with the returned [Store]:
//
//	tok, err := gitea.TokenFromEnv() // GITEA_TOKEN
//	store, err := gitea.New(baseURL, "acme", "hello", gitea.WithToken(tok)) // baseURL: "https://codeberg.org"
//	p, err := publish.New(store)
//	res, err := p.Publish(ctx, staged)
//	// res.Assets: the public download URLs, <base>/acme/hello/releases/download/<tag>/<name>.
//
// staged is the directory release.Prepare staged (dist/release); the
// whole program, each err checked, is [New]'s example.
//
// # The forge layout
//
// One Store holds a whole release root, mapped onto releases as
// docs/wire-format.md ("Forges") describes, the same on every forge:
//
//   - The index release (tag [manifest.IndexTag], see [WithIndexTag]),
//     published and flagged as a pre-release, holds the root:
//     manifest.json, the content-addressed signatures
//     (manifest.json.<sha256>.sig and .signatures.json, the names under
//     sigs/), manifest.json.sig, root.signatures.json (the root's
//     signatures.json), keys.json and keys.json.sig, install.sh, and
//     root.<n>.json for root/<n>.json. See [Route].
//   - Each version has its own release (tag [WithTagFor](version),
//     default "v"+version) holding "V/NAME" as the asset NAME. It is
//     created as a draft, which Gitea shows to no one without write
//     access, filled, and published before manifest.json is put into the
//     index release; so the commit point is, as everywhere, the
//     replacement of manifest.json. A pre-release version's release is
//     flagged as a pre-release. A release that exists already for the tag
//     (made by hand or by the forge's CI) is used as it is: its new files
//     are visible as they are uploaded, though no client is pointed at
//     them before manifest.json.
//
// The index release's assets are replaced on every publish, so it must not
// be an immutable release (a setting of recent Gitea versions): keep the
// index in a repository without it, or publish the root to a directory or
// S3 mirror.
//
// Clients read only the public download URLs
// (<base>/<owner>/<repo>/releases/download/<tag>/<asset>), never the API.
//
// # Conditional replace and racing publishers
//
// Object.Version is the asset's ID. Gitea has no atomic replace and
// accepts several assets with one name, so a conditional replace
// (publish.PutInfo.IfMatch) deletes the asset by the ID it read (a 404
// there means another publisher replaced it first: an error wrapping
// publish.ErrChanged) and then uploads create-only: when, after the
// upload, an older asset of the same name exists, another publisher won,
// the Store deletes its own upload and reports ErrChanged (ErrExist for a
// plain create-only Put). Of several assets with one name the one with the
// lowest ID counts, as it is the one Gitea's download path serves. An
// unconditional replace (the legacy manifest.json.sig and
// root.signatures.json, brought in line after a commit) uploads first and
// then deletes the older assets of the name, so the name is never missing
// and the last writer wins.
//
// Between the conditional delete and the upload, manifest.json is absent
// for a moment. A Stat of manifest.json then, when the index release shows
// that a manifest was committed before (it holds content-addressed
// signatures, and the legacy manifest.json.sig, which a publish writes only
// after a commit, or the mark the Store adds to the release's description
// after its first commit there), waits up to [WithReplaceWait] for the
// new one and otherwise fails with a retryable [*ReplacingError], never
// with ErrNotExist, so that a racing publisher never mistakes the root for
// empty and starts a new history. An index release without that evidence
// (a first publish that stopped before its commit) has no manifest:
// ErrNotExist. Before its delete, a conditional replace of manifest.json
// uploads the new bytes as a pending copy (manifest.json.<sha256>.pending,
// removed after the upload), so that a publisher killed between its delete
// and its upload does not leave the root without a manifest for good: when
// the wait is over, the Stat puts the newest pending copy in place (its
// bytes checked against the digest in its name; the commit had happened,
// the old manifest was deleted). Only when there is none does the
// ReplacingError remain, saying how to put the last manifest back.
//
// # Requests
//
// [New] takes the server and the repository as arguments and everything
// else as an [Option], each documenting its default. The token comes from
// [WithToken] (without it the requests are anonymous); the package reads
// no environment except in [TokenFromEnv], which returns GITEA_TOKEN for
// it. The token is sent only to the configured server.
// Every request has a deadline ([WithTimeout]: a fixed part, and for
// uploads and downloads the time to move the bytes at a minimum rate). Answers other than 2xx are
// an [*APIError] that names the request and says what to do; 5xx and 429
// are retryable (publish.IsRetryable), honouring Retry-After, and are
// retried by the Publisher, never by the Store.
//
// Files up to [WithStreamAbove] (32 MiB) are read, and so verified,
// before their upload request and go through the SDK, which holds the
// multipart body in memory; larger ones are streamed as multipart over
// plain HTTP with an exact Content-Length, so that memory stays flat, and
// a file that fails verification is cut short and never stored.
//
// Open downloads an asset from its browser_download_url with the token, so
// a draft's assets are readable too; Gitea accepts a token on that web
// route from 1.20.5 on (go-gitea/gitea#26430).
//
// Stat reports no SHA-256 for an asset it did not upload or read itself
// (Gitea stores none), so the Publisher downloads such an asset to hash it
// when planning a re-run.
//
// Tests use package giteatest, an in-memory Gitea server.
package gitea
