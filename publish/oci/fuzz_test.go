package oci_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish/oci"
)

var ociTagRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// FuzzTags: for any version ParseVersion accepts and any channel, Tags
// either fails or returns distinct valid OCI tags, the version's own tag
// first and fixed unless it doubles as an alias, and "latest" only for a
// stable release.
func FuzzTags(f *testing.F) {
	for _, s := range []struct{ v, ch string }{
		{"1.2.0", ""}, {"v1.2.0-rc.1", ""}, {"2026.04", "stable"}, {"1.0.0+build.5", "lts"},
		{"0.0.1-dev.3", "edge"}, {"3.1.4", "nightly"}, {"1.2.3-alpha", "stable"}, {"9.9.9", "beta"},
	} {
		f.Add(s.v, s.ch, int64(1763640000))
	}
	f.Fuzz(func(t *testing.T, version, channel string, unix int64) {
		v, err := manifest.ParseVersion(version)
		if err != nil {
			return
		}
		tags, err := oci.Tags(v, channel, "4f9c2e1a0b3c4d5e6f708192a3b4c5d6e7f80912", time.Unix(unix%(1<<40), 0))
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for i, tg := range tags {
			if !ociTagRE.MatchString(tg.Name) {
				t.Fatalf("Tags(%q, %q): invalid tag %q", version, channel, tg.Name)
			}
			if seen[tg.Name] {
				t.Fatalf("Tags(%q, %q): %q twice", version, channel, tg.Name)
			}
			seen[tg.Name] = true
			if tg.Name == manifest.AliasLatest && (v.IsPrerelease() || i == 0) {
				t.Fatalf("Tags(%q, %q): latest for a pre-release or as the version tag", version, channel)
			}
		}
		if len(tags) == 0 || (tags[0].Rolling && !v.Calendar) {
			t.Fatalf("Tags(%q, %q) = %+v: want the fixed version tag first", version, channel, tags)
		}
	})
}
