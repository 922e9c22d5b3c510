package oci

import (
	"fmt"
	"strings"
	"time"

	"github.com/relkit/relkit/manifest"
)

// ShortCommitLen is the number of commit hex digits in a sha-<commit> tag
// (the length "git rev-parse --short" and docker/metadata-action use).
const ShortCommitLen = 7

// Tag is one tag a push sets.
type Tag struct {
	// Name is the tag ("1.2.0", "1.2", "latest", "sha-4f9c2e1").
	Name string
	// Rolling reports a tag that moves from release to release ("latest",
	// "1", "1.2", "edge", "nightly-2026-11-22", and "sha-<commit>", since
	// a release candidate and its final release are often cut from one
	// commit). A rolling tag only moves forward: Push leaves it where it
	// is when it points at a newer version. The version tag is fixed: Push
	// refuses to point it at a different digest.
	Rolling bool
}

// Tags returns the tags a push of version v on channel sets, following the
// manifest's channel and alias rules:
//
//	release                                       tags
//	stable or lts channel (or none), not a pre-release  X.Y.Z, X.Y, X, latest, sha-<commit>
//	a pre-release (no channel or a custom one)    X.Y.Z-rc.N, sha-<commit>
//	edge or nightly channel                       <version>, edge, nightly-YYYY-MM-DD, sha-<commit>
//	any other channel                             <version>, sha-<commit>
//
// X.Y and X are written as the version writes them ("2026" and "2026.04"
// for a calendar version), like the manifest's aliases; the nightly date is
// created's UTC date. When the version tag is also an alias (calendar
// version "2026.04" is its own X.Y), it is rolling. A "+" of build metadata becomes "_" in the version
// tag, since tags cannot hold "+". A pre-release on the stable or lts
// channel is refused with an error wrapping manifest.ErrPrereleaseOnStable.
// Unlike manifest.Manifest.Add, an empty channel does not put a pre-release
// on edge: a release candidate moves only its own tags.
func Tags(v manifest.Version, channel, commit string, created time.Time) ([]Tag, error) {
	if v.IsZero() {
		return nil, &SpecError{Field: "Version", Reason: "empty"}
	}
	if len(commit) < ShortCommitLen || !isHex(commit) {
		return nil, &SpecError{Field: "Commit", Reason: fmt.Sprintf("%q is not a hex git commit", commit)}
	}
	stableCh := channel == "" || channel == manifest.ChannelStable || channel == manifest.ChannelLTS
	if v.IsPrerelease() && channel != "" && stableCh {
		return nil, fmt.Errorf("oci: version %s on channel %s: %w", v, channel, manifest.ErrPrereleaseOnStable)
	}
	var tags []Tag
	seen := map[string]bool{}
	add := func(name string, rolling bool) error {
		if !tagRE.MatchString(name) {
			return &SpecError{Field: "Version", Reason: fmt.Sprintf("tag %q is not a valid OCI tag", name)}
		}
		if seen[name] {
			// A calendar version "2026.04" is also its own X.Y alias: it
			// is then rolling, so that re-pushing it after 2026.04.1
			// keeps the alias instead of failing on a moved version tag.
			for i := range tags {
				if tags[i].Name == name {
					tags[i].Rolling = tags[i].Rolling || rolling
				}
			}
			return nil
		}
		seen[name] = true
		tags = append(tags, Tag{Name: name, Rolling: rolling})
		return nil
	}
	if err := add(versionTag(v), false); err != nil {
		return nil, err
	}
	switch {
	case stableCh && !v.IsPrerelease():
		for _, a := range v.Aliases() {
			if err := add(a, true); err != nil {
				return nil, err
			}
		}
	case channel == manifest.ChannelEdge || channel == manifest.ChannelNightly:
		if err := add(manifest.ChannelEdge, true); err != nil {
			return nil, err
		}
		if err := add("nightly-"+created.UTC().Format("2006-01-02"), true); err != nil {
			return nil, err
		}
	}
	if err := add("sha-"+commit[:ShortCommitLen], true); err != nil {
		return nil, err
	}
	return tags, nil
}

// versionTag is the tag of a version: its string form without a leading
// "v", "+" replaced by "_".
func versionTag(v manifest.Version) string {
	return strings.ReplaceAll(strings.TrimPrefix(v.String(), "v"), "+", "_")
}
