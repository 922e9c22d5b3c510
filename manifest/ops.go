package manifest

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// VersionReusedError reports an attempt to publish a version that already
// exists with different content. A version is never reused: cut a new one.
type VersionReusedError struct {
	Version string
	// Artifact names the first artifact whose bytes differ, or is empty
	// when another property (the commit) differs.
	Artifact string
	Detail   string
}

// Error implements the error interface.
func (e *VersionReusedError) Error() string {
	if e.Artifact != "" {
		return fmt.Sprintf("version %s is already published with different bytes for %s (%s); a version is never reused, cut a new one", e.Version, e.Artifact, e.Detail)
	}
	return fmt.Sprintf("version %s is already published with a different %s; a version is never reused, cut a new one", e.Version, e.Detail)
}

// ErrNotFound is returned (wrapped) when a named release does not exist.
var ErrNotFound = errors.New("release not found")

// ErrPrereleaseOnStable is returned (wrapped) by Add for a pre-release on
// the stable or lts channel.
var ErrPrereleaseOnStable = errors.New("a pre-release cannot be on a stable channel")

// Add merges rel into the manifest and reports whether anything changed.
//
// Add is idempotent by version: adding a release that is already present
// with the same artifacts changes nothing and returns false. Adding
// artifacts that the existing release lacks merges them (a release can grow
// an image digest after its archives). A release whose existing artifacts
// differ in size or SHA-256, or whose commit differs, is refused with a
// *[VersionReusedError].
//
// Add normalises rel: the version loses a leading "v"; an empty channel
// becomes "stable" (or "edge" for a pre-release); an empty status becomes
// active; times become UTC. It then re-sorts releases newest first,
// recomputes channels and aliases, and increments Serial when anything
// changed. Add does not touch Updated or Expires; see [Manifest.Touch].
func (m *Manifest) Add(rel Release) (bool, error) {
	v, err := ParseVersion(rel.Version)
	if err != nil {
		return false, err
	}
	rel.Version = v.String()
	if rel.Channel == "" {
		rel.Channel = ChannelStable
		if v.IsPrerelease() {
			rel.Channel = ChannelEdge
		}
	}
	if !ValidChannel(rel.Channel) {
		return false, fmt.Errorf("release %s: invalid channel name %q", rel.Version, rel.Channel)
	}
	if v.IsPrerelease() && isStableChannel(rel.Channel) {
		return false, fmt.Errorf("release %s on channel %q: %w", rel.Version, rel.Channel, ErrPrereleaseOnStable)
	}
	if rel.Status == "" {
		rel.Status = StatusActive
	}
	rel.Date = utc(rel.Date)
	rel.Artifacts = slices.Clone(rel.Artifacts)
	if rel.Artifacts == nil {
		rel.Artifacts = []Artifact{}
	}
	// Check the new release on its own before merging it.
	probe := Manifest{Schema: Schema, Project: cmp.Or(m.Project, "x"), Releases: []Release{rel}}
	if err := probe.Validate(); err != nil {
		return false, fmt.Errorf("release %s: %w", rel.Version, err)
	}

	if old, ok := m.Release(rel.Version); ok {
		if old.Commit != "" && rel.Commit != "" && old.Commit != rel.Commit {
			return false, &VersionReusedError{Version: rel.Version, Detail: fmt.Sprintf("commit (%s, published %s)", rel.Commit, old.Commit)}
		}
		var added []Artifact
		for _, a := range rel.Artifacts {
			have, ok := old.Artifact(a.Name)
			if !ok {
				added = append(added, a)
				continue
			}
			if have.SHA256 != a.SHA256 || have.Size != a.Size {
				return false, &VersionReusedError{Version: rel.Version, Artifact: a.Name,
					Detail: fmt.Sprintf("sha256 %s size %d, published sha256 %s size %d", a.SHA256, a.Size, have.SHA256, have.Size)}
			}
		}
		if len(added) == 0 {
			return false, nil
		}
		old.Artifacts = append(old.Artifacts, added...)
		if err := m.Validate(); err != nil {
			old.Artifacts = old.Artifacts[:len(old.Artifacts)-len(added)]
			return false, fmt.Errorf("release %s: %w", rel.Version, err)
		}
		m.changed()
		return true, nil
	}
	m.Releases = append(m.Releases, rel)
	m.changed()
	return true, nil
}

// Deprecate marks version deprecated with reason and reports whether that
// changed anything. A deprecated release stays listed and installable with
// a warning; channels and aliases move back to the newest active release.
func (m *Manifest) Deprecate(version, reason string) (bool, error) {
	return m.setStatus(version, StatusDeprecated, reason)
}

// Yank marks version yanked with reason and reports whether that changed
// anything. A yanked release is never deleted (clients must be able to say
// why it is gone) but is never selected or installed; channels and aliases
// move back to the newest active release.
func (m *Manifest) Yank(version, reason string) (bool, error) {
	return m.setStatus(version, StatusYanked, reason)
}

// Reactivate returns a deprecated or yanked release to active.
func (m *Manifest) Reactivate(version string) (bool, error) {
	return m.setStatus(version, StatusActive, "")
}

func (m *Manifest) setStatus(version string, s Status, reason string) (bool, error) {
	r, ok := m.Release(version)
	if !ok {
		return false, fmt.Errorf("%s %s: %w", s, version, ErrNotFound)
	}
	reason = strings.TrimSpace(reason)
	if s != StatusActive && reason == "" {
		return false, fmt.Errorf("%s %s: a reason is required", s, version)
	}
	if r.Status == s && r.Reason == reason {
		return false, nil
	}
	r.Status, r.Reason = s, reason
	m.changed()
	return true, nil
}

// Touch sets Updated to now and Expires to now+ttl (UTC, to the second).
// Call it before signing a changed manifest.
func (m *Manifest) Touch(now time.Time, ttl time.Duration) {
	now = now.UTC().Truncate(time.Second)
	m.Updated = now
	m.Expires = now.Add(ttl)
}

func (m *Manifest) changed() {
	m.Serial++
	m.sortReleases()
	m.recompute()
}

func (m *Manifest) sortReleases() {
	slices.SortStableFunc(m.Releases, func(a, b Release) int {
		va, ea := ParseVersion(a.Version)
		vb, eb := ParseVersion(b.Version)
		if ea != nil || eb != nil {
			return strings.Compare(a.Version, b.Version)
		}
		return Compare(vb, va)
	})
}

func isStableChannel(c string) bool { return c == ChannelStable || c == ChannelLTS }

// recompute derives Channels and Aliases from Releases: each channel points
// at its newest active release; latest, X and X.Y point at the newest
// active, non-pre-release release on the stable or lts channel.
func (m *Manifest) recompute() {
	channels := map[string]string{}
	aliases := map[string]string{}
	// Releases are sorted newest first, so the first hit wins.
	for _, r := range m.Releases {
		if r.Status != StatusActive {
			continue
		}
		v, err := ParseVersion(r.Version)
		if err != nil {
			continue
		}
		if _, ok := channels[r.Channel]; !ok {
			channels[r.Channel] = r.Version
		}
		if !isStableChannel(r.Channel) || v.IsPrerelease() {
			continue
		}
		for _, k := range v.Aliases() {
			if _, ok := aliases[k]; !ok {
				aliases[k] = r.Version
			}
		}
	}
	m.Channels, m.Aliases = channels, aliases
	if len(channels) == 0 {
		m.Channels = nil
	}
	if len(aliases) == 0 {
		m.Aliases = nil
	}
}

// Aliases returns the rolling aliases a stable release of v moves, most
// specific first: its major.minor and major as written ("1.2" and "1";
// "2026.04" and "2026" for a calendar version), then "latest". Only
// stable, non-pre-release releases move them; see [Manifest.Add].
func (v Version) Aliases() []string {
	core := v.String()
	if i := strings.IndexAny(core, "-+"); i >= 0 {
		core = core[:i]
	}
	parts := strings.Split(core, ".")
	return []string{parts[0] + "." + parts[1], parts[0], AliasLatest}
}

// ChannelNames returns the names of the channels that point at a release,
// sorted.
func (m *Manifest) ChannelNames() []string { return sortedKeys(m.Channels) }

func sortedKeys(mp map[string]string) []string {
	return slices.Sorted(maps.Keys(mp))
}
