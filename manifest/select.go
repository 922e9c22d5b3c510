package manifest

import (
	"fmt"
	"strings"
)

// Query asks [Manifest.Select] for one artifact. Set at most one of
// Version, Channel, Alias and Constraint; with none set, Select uses the
// stable channel.
type Query struct {
	// Version selects one exact version ("1.2.0" or "v1.2.0").
	Version string
	// Channel selects the release a channel points at ("stable", "edge").
	Channel string
	// Alias selects the release a rolling alias points at ("latest", "1.2").
	Alias string
	// Constraint selects the newest active release in a range
	// (">=1.2, <2"); see [Constraint].
	Constraint string
	// Prerelease lets a Constraint select pre-releases.
	Prerelease bool
	// Platform is the platform the artifact must be for. Empty selects a
	// platform-independent artifact.
	Platform Platform
	// Kinds lists acceptable artifact kinds in order of preference; empty
	// means archive, then binary.
	Kinds []Kind
}

// Selection is the answer to a Query.
type Selection struct {
	Release  Release
	Artifact Artifact
}

// NoMatchError explains why Select found nothing. Reasons lists, for each
// candidate release considered, why it was passed over.
type NoMatchError struct {
	Query   string
	Reasons []string
}

// Error implements the error interface.
func (e *NoMatchError) Error() string {
	if len(e.Reasons) == 0 {
		return "no release matches " + e.Query
	}
	return "no release matches " + e.Query + ": " + strings.Join(e.Reasons, "; ")
}

// String describes the Query in words, as error messages show it.
func (q Query) String() string {
	var s string
	switch {
	case q.Version != "":
		s = "version " + q.Version
	case q.Alias != "":
		s = "alias " + q.Alias
	case q.Constraint != "":
		s = "constraint " + q.Constraint
	default:
		c := q.Channel
		if c == "" {
			c = ChannelStable
		}
		s = "channel " + c
	}
	if q.Platform.OS != "" || q.Platform.Arch != "" {
		s += " for " + q.Platform.String()
	}
	return s
}

// Select returns the one artifact that answers q. Yanked releases are
// never selected; a deprecated release is selected only by an exact
// Version (the caller should warn: check Selection.Release.Status). When
// nothing matches, the error is a *[NoMatchError] that says why.
func (m *Manifest) Select(q Query) (Selection, error) {
	set := 0
	for _, s := range []string{q.Version, q.Channel, q.Alias, q.Constraint} {
		if s != "" {
			set++
		}
	}
	if set > 1 {
		return Selection{}, fmt.Errorf("select: set only one of Version, Channel, Alias and Constraint (got %s)", q)
	}
	if q.Platform.OS != "" || q.Platform.Arch != "" {
		o, err := NormalizeOS(q.Platform.OS)
		if err != nil {
			return Selection{}, err
		}
		a, err := NormalizeArch(q.Platform.Arch)
		if err != nil {
			return Selection{}, err
		}
		q.Platform = Platform{OS: o, Arch: a}
	}
	nm := &NoMatchError{Query: q.String()}
	var candidates []*Release
	switch {
	case q.Version != "":
		r, ok := m.Release(q.Version)
		if !ok {
			nm.Reasons = append(nm.Reasons, "version "+strings.TrimPrefix(q.Version, "v")+" was never released")
			return Selection{}, nm
		}
		candidates = []*Release{r}
	case q.Alias != "":
		v, ok := m.Aliases[q.Alias]
		if !ok {
			nm.Reasons = append(nm.Reasons, fmt.Sprintf("alias %q does not exist (aliases: %s)", q.Alias, strings.Join(sortedKeys(m.Aliases), ", ")))
			return Selection{}, nm
		}
		r, ok := m.Release(v)
		if !ok {
			nm.Reasons = append(nm.Reasons, fmt.Sprintf("it points at %s, which is not in the manifest", v))
			return Selection{}, nm
		}
		candidates = []*Release{r}
	case q.Constraint != "":
		c, err := ParseConstraint(q.Constraint)
		if err != nil {
			return Selection{}, err
		}
		for i := range m.Releases {
			r := &m.Releases[i]
			v, err := ParseVersion(r.Version)
			if err != nil {
				continue
			}
			if v.IsPrerelease() && !q.Prerelease {
				continue
			}
			if !c.Check(v) && !(q.Prerelease && c.Check(releaseOf(v))) {
				continue
			}
			candidates = append(candidates, r)
		}
		if len(candidates) == 0 {
			nm.Reasons = append(nm.Reasons, "no released version is in range")
			return Selection{}, nm
		}
	default:
		ch := q.Channel
		if ch == "" {
			ch = ChannelStable
		}
		v, ok := m.Channels[ch]
		if !ok {
			nm.Reasons = append(nm.Reasons, fmt.Sprintf("channel %q has no active release (channels: %s)", ch, strings.Join(sortedKeys(m.Channels), ", ")))
			return Selection{}, nm
		}
		r, ok := m.Release(v)
		if !ok {
			nm.Reasons = append(nm.Reasons, fmt.Sprintf("it points at %s, which is not in the manifest", v))
			return Selection{}, nm
		}
		candidates = []*Release{r}
	}
	kinds := q.Kinds
	if len(kinds) == 0 {
		kinds = []Kind{KindArchive, KindBinary}
	}
	exact := q.Version != ""
	for _, r := range candidates {
		switch {
		case r.Status == StatusYanked:
			nm.Reasons = append(nm.Reasons, fmt.Sprintf("%s is yanked: %s", r.Version, r.Reason))
			continue
		case r.Status == StatusDeprecated && !exact:
			nm.Reasons = append(nm.Reasons, fmt.Sprintf("%s is deprecated: %s", r.Version, r.Reason))
			continue
		}
		if a, ok := pickArtifact(r, q.Platform, kinds); ok {
			return Selection{Release: *r, Artifact: a}, nil
		}
		nm.Reasons = append(nm.Reasons, fmt.Sprintf("%s has no %s artifact for %s (has: %s)", r.Version, kindList(kinds), platformName(q.Platform), platformsOf(r)))
	}
	return Selection{}, nm
}

func releaseOf(v Version) Version {
	v.Pre = nil
	return v
}

func pickArtifact(r *Release, p Platform, kinds []Kind) (Artifact, bool) {
	for _, k := range kinds {
		for _, a := range r.Artifacts {
			if a.Kind == k && a.OS == p.OS && a.Arch == p.Arch {
				return a, true
			}
		}
	}
	return Artifact{}, false
}

func kindList(ks []Kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, "/")
}

func platformName(p Platform) string {
	if p.OS == "" && p.Arch == "" {
		return "any platform"
	}
	return p.String()
}

func platformsOf(r *Release) string {
	var out []string
	seen := map[string]bool{}
	for _, a := range r.Artifacts {
		if a.OS == "" {
			continue
		}
		s := a.Platform().String()
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}
