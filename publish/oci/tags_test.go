package oci_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish/oci"
)

func TestTags(t *testing.T) {
	day := time.Date(2026, 11, 22, 23, 30, 0, 0, time.FixedZone("X", -3*3600)) // 2026-11-23 in UTC
	sha := "sha-" + testCommit[:7] + "*"
	for _, tc := range []struct {
		version, channel string
		want             []string // rolling tags marked with a trailing "*"
	}{
		{"1.2.0", "", []string{"1.2.0", "1.2*", "1*", "latest*", sha}},
		{"v1.2.0", "stable", []string{"1.2.0", "1.2*", "1*", "latest*", sha}},
		{"1.2.0", "lts", []string{"1.2.0", "1.2*", "1*", "latest*", sha}},
		{"0.4.0-rc.1", "", []string{"0.4.0-rc.1", sha}},
		{"0.4.0-rc.1", "beta", []string{"0.4.0-rc.1", sha}},
		{"1.3.0", "beta", []string{"1.3.0", sha}},
		{"1.3.0-dev.5", "edge", []string{"1.3.0-dev.5", "edge*", "nightly-2026-11-23*", sha}},
		{"1.3.0-dev.5", "nightly", []string{"1.3.0-dev.5", "edge*", "nightly-2026-11-23*", sha}},
		{"1.2.0+build.7", "", []string{"1.2.0_build.7", "1.2*", "1*", "latest*", sha}},
		{"2026.04", "", []string{"2026.04*", "2026*", "latest*", sha}}, // X.Y alias is the version tag itself
		{"2026.04.1", "", []string{"2026.04.1", "2026.04*", "2026*", "latest*", sha}},
	} {
		v := manifest.MustParseVersion(tc.version)
		tags, err := oci.Tags(v, tc.channel, testCommit, day)
		if err != nil {
			t.Errorf("Tags(%s, %q): %v", tc.version, tc.channel, err)
			continue
		}
		var got []string
		for _, tg := range tags {
			s := tg.Name
			if tg.Rolling {
				s += "*"
			}
			got = append(got, s)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("Tags(%s, %q) = %v, want %v", tc.version, tc.channel, got, tc.want)
		}
	}
}

func TestTagsErrors(t *testing.T) {
	v := manifest.MustParseVersion("1.0.0-rc.1")
	for _, ch := range []string{"stable", "lts"} {
		if _, err := oci.Tags(v, ch, testCommit, testCreated); !errors.Is(err, manifest.ErrPrereleaseOnStable) {
			t.Errorf("pre-release on %s: err = %v, want ErrPrereleaseOnStable", ch, err)
		}
	}
	for _, commit := range []string{"", "abc", "XYZ1234567", strings.Repeat("g", 40)} {
		var se *oci.SpecError
		if _, err := oci.Tags(manifest.MustParseVersion("1.0.0"), "", commit, testCreated); !errors.As(err, &se) || se.Field != "Commit" {
			t.Errorf("commit %q: err = %v, want a Commit *SpecError", commit, err)
		}
	}
	var se *oci.SpecError
	if _, err := oci.Tags(manifest.Version{}, "", testCommit, testCreated); !errors.As(err, &se) {
		t.Errorf("zero version: err = %v", err)
	}
}
