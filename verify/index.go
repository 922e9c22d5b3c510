package verify

import (
	"context"
	"errors"
	"fmt"

	"github.com/relkit/relkit/manifest"
)

// ErrIndexNotPublished is returned (wrapped) by FetchIndex when the location has no
// index.json: a 404, or the 403 a public bucket without list permission
// answers for a missing key. It is the only FetchIndex error after which
// a client may read manifest.json instead.
var ErrIndexNotPublished = errors.New("the location has no " + manifest.IndexFile)

// VerifyIndex verifies index.json bytes as VerifyManifest verifies
// manifest.json: the size limit, the threshold of signatures over exactly
// these bytes, the parse and validation (manifest.ParseIndex and
// Index.Validate), the project, the expiry and the serial, which is
// recorded under the same State key as manifest.json's (an index carries
// its manifest's serial, so moving between the two is no rollback).
func (v *Verifier) VerifyIndex(ctx context.Context, data []byte, sigs Signatures) (*manifest.Index, error) {
	if len(data) > manifest.MaxIndexSize {
		return nil, &LimitError{What: manifest.IndexFile, Limit: manifest.MaxIndexSize}
	}
	if _, err := v.VerifySignatures(manifest.IndexFile, data, sigs); err != nil {
		return nil, err
	}
	ix, err := manifest.ParseIndex(data)
	if err != nil {
		return nil, &FormatError{File: manifest.IndexFile, Reason: "does not parse", Err: err}
	}
	if err := ix.Validate(); err != nil {
		return nil, &FormatError{File: manifest.IndexFile, Reason: "invalid", Err: err}
	}
	if v.project != "" && ix.Project != v.project {
		return nil, &ArtifactMismatchError{Name: manifest.IndexFile, Field: "project", Want: ix.Project, Got: v.project}
	}
	if err := v.checkFresh(ctx, manifest.IndexFile, ix.Expires, ix.Serial); err != nil {
		return nil, err
	}
	return ix, nil
}

// FetchIndex reads index.json from the root of loc with the signatures
// of exactly those bytes (sigs/index.json.<sha256>.signatures.json or
// .sig) and verifies it with VerifyIndex. A location without index.json
// (published before manifest v2, or by a publisher that writes none)
// gives an error wrapping ErrIndexNotPublished: read manifest.json with
// FetchManifest instead, which is as strongly checked. An index that is
// there but does not verify is an error like any other: never fall back
// to manifest.json then.
//
// The index holds the newest releases; use SelectRelease or
// FetchRelease to answer a query, which read the shards it needs.
func (v *Verifier) FetchIndex(ctx context.Context, loc Location) (*manifest.Index, error) {
	rv := &releaseRun{loc: loc}
	data, err := rv.open(ctx, manifest.IndexFile, manifest.MaxIndexSize)
	var he *HTTPError
	if errors.Is(err, ErrNotFound) || errors.As(err, &he) && he.StatusCode == 403 {
		return nil, fmt.Errorf("verify: %w: %w", ErrIndexNotPublished, err)
	}
	if err != nil {
		return nil, fileError(manifest.IndexFile, err)
	}
	sigs, err := rv.rootSigs(ctx, manifest.IndexFile, data)
	if err != nil {
		return nil, fmt.Errorf("verify: signatures of %s: %w", manifest.IndexFile, err)
	}
	ix, err := v.VerifyIndex(ctx, data, sigs)
	if err != nil {
		return nil, err
	}
	useIndex(loc, ix)
	return ix, nil
}

// useIndex hands the releases ix holds now to a ManifestUser loc.
func useIndex(loc Location, ix *manifest.Index) {
	if mu, ok := loc.(ManifestUser); ok {
		mu.UseManifest(ix.Manifest())
	}
}

// FetchShard reads the shard at path from loc and adds it to ix, which
// checks it against the index's commitment (size, SHA-256, content: see
// manifest.Index.AddShard). A shard that does not match is a
// *manifest.ShardError.
func FetchShard(ctx context.Context, loc Location, ix *manifest.Index, path string) error {
	rv := &releaseRun{loc: loc}
	data, err := rv.open(ctx, path, manifest.MaxShardSize)
	if err != nil {
		return fileError(path, err)
	}
	if err := ix.AddShard(path, data); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	useIndex(loc, ix)
	return nil
}

// SelectRelease answers q from the verified index ix (see FetchIndex),
// reading from loc and checking the shards the answer may be in: none for
// an update check whose channel or alias points into the index, one for
// an older version, at most every shard for a version range. It answers
// what Manifest.Select answers over the whole history.
func SelectRelease(ctx context.Context, loc Location, ix *manifest.Index, q manifest.Query) (manifest.Selection, error) {
	for range len(ix.Shards) + 1 {
		sel, err := ix.Select(q)
		var need *manifest.ShardNeededError
		if !errors.As(err, &need) {
			return sel, err
		}
		if err := FetchShard(ctx, loc, ix, need.Shard.Path); err != nil {
			return manifest.Selection{}, err
		}
	}
	return manifest.Selection{}, fmt.Errorf("verify: select %s: the index kept asking for shards", q)
}

// FetchRelease returns the release with the given version from the
// verified index ix, reading and checking the one shard that may hold it
// when the index itself does not; ok is false when the project never
// published that version.
func FetchRelease(ctx context.Context, loc Location, ix *manifest.Index, version string) (r *manifest.Release, ok bool, err error) {
	for range len(ix.Shards) + 1 {
		r, ok, err := ix.Release(version)
		var need *manifest.ShardNeededError
		if !errors.As(err, &need) {
			return r, ok, err
		}
		if err := FetchShard(ctx, loc, ix, need.Shard.Path); err != nil {
			return nil, false, err
		}
	}
	return nil, false, fmt.Errorf("verify: release %s: the index kept asking for shards", version)
}
