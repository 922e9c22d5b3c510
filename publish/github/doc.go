// Package github publishes releases as GitHub Releases (github.com or
// GitHub Enterprise Server), through the protocol of package publish.
//
// Most callers want [New] and then publish.New with the returned [Store]:
//
//	tok, err := github.TokenFromEnv() // GITHUB_TOKEN, else GH_TOKEN
//	store, err := github.New("acme", "hello", "v1.0.0", github.WithToken(tok),
//		github.WithBaseURL(apiURL)) // GitHub Enterprise Server; without it, api.github.com
//	p, err := publish.New(store)
//	res, err := p.Publish(ctx, staged)
//	// res.URL is the release page; res.Assets the download URLs.
//
// staged is the directory release.Prepare staged (dist/release); the
// whole program, each err checked, is [New]'s example.
//
// # How the protocol maps to a GitHub release
//
// A GitHub release is one tag, and its assets are flat file names, so the
// staged names are flattened to their last element ("1.2.0/SHA256SUMS"
// becomes the asset "SHA256SUMS"); two staged files with the same last
// element are an error wrapping [ErrNameCollision]. The one exception is the
// root's signatures.json, published as [RootSignaturesAsset] because the
// version's own signatures.json (listed and checksummed by the manifest)
// takes the flat name; see [AssetName].
//
// The Store looks up the release for the tag (a published release by tag;
// else a draft with that tag, which GitHub only shows in the release
// list; else it creates a draft). The Publisher uploads the assets in the
// protocol's order, manifest.json last, to the draft, where no one without
// push access sees them. Then it calls [Store.Commit], which publishes the
// draft: that is the commit point. An interrupted publish leaves a draft;
// a re-run finds it, skips the assets already there (same size and
// SHA-256, from the asset's "digest" field or, where GitHub does not
// report one, by downloading the asset) and refuses different bytes under
// a published name (publish.ConflictError) unless the Publisher was built
// with publish.WithReplaceExistingUnsafe. Because nothing is uploaded to
// a published release, this works with immutable releases.
//
// # Authentication, Enterprise, limits
//
// The constructors take the repository (and, for New, the tag) as
// arguments and everything else as an [Option], each documenting its
// default. The token comes from [WithToken] (without it the requests are
// anonymous); the package reads no environment except in [TokenFromEnv],
// which returns GITHUB_TOKEN, else GH_TOKEN, for it. [WithBaseURL] points
// the Store at GitHub Enterprise Server. Lists are paginated through the
// Link header. A primary rate limit (403 with X-RateLimit-Remaining: 0) or a secondary one (403 with Retry-After) is
// waited out when it ends within [WithMaxRateLimitWait], else it is a
// [*RateLimitError]; 5xx and 429 answers are reported so that the
// Publisher retries them with back-off, other 4xx are final.
//
// Tests use package githubtest, an in-memory GitHub Enterprise server that
// implements the release endpoints.
package github
