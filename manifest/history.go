package manifest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrHistoryLoss is wrapped by a [*HistoryError]: a new manifest that
// would drop, rewrite or roll back what the published one lists.
var ErrHistoryLoss = errors.New("the new manifest would lose published history")

// HistoryError reports why a manifest may not replace the published one
// (see [CheckSuccessor]). Problems lists every reason, one per line.
type HistoryError struct {
	// Project is the published manifest's project.
	Project string
	// PublishedSerial and NewSerial are the two serials.
	PublishedSerial, NewSerial int64
	// Problems lists every problem found ("release 1.0.0 is missing", ...).
	Problems []string
}

// Error implements error.
func (e *HistoryError) Error() string {
	return fmt.Sprintf("manifest %s serial %d would replace serial %d but loses history: %s (read the published manifest again, merge into it and retry)",
		e.Project, e.NewSerial, e.PublishedSerial, strings.Join(e.Problems, "; "))
}

// Unwrap returns ErrHistoryLoss.
func (e *HistoryError) Unwrap() error { return ErrHistoryLoss }

// CheckSuccessor reports whether next may replace the published manifest
// prev without losing history: the same project, a higher serial, every
// release of prev still listed (except the versions in removed, which a
// retention policy or an operator named explicitly) with the same commit
// and with every artifact of prev unchanged in name, path, kind, size and
// SHA-256. Releases may gain artifacts and may change status (yank,
// deprecate, reactivate), channel pointers and aliases may move, and new
// releases may appear. prev nil (nothing published yet) accepts any next.
// It returns nil or a *[HistoryError] listing every problem.
func CheckSuccessor(prev, next *Manifest, removed ...string) error {
	if prev == nil {
		return nil
	}
	e := &HistoryError{Project: prev.Project, PublishedSerial: prev.Serial}
	if next == nil {
		e.Problems = append(e.Problems, "there is no new manifest")
		return e
	}
	e.NewSerial = next.Serial
	if next.Project != prev.Project {
		e.Problems = append(e.Problems, fmt.Sprintf("project %q, published %q", next.Project, prev.Project))
	}
	if next.Serial <= prev.Serial {
		e.Problems = append(e.Problems, fmt.Sprintf("serial %d is not above the published %d", next.Serial, prev.Serial))
	}
	gone := map[string]bool{}
	for _, v := range removed {
		if pv, err := ParseVersion(v); err == nil {
			gone[pv.String()] = true
		} else {
			gone[v] = true
		}
	}
	idx := make(map[string]*Release, len(next.Releases))
	for i := range next.Releases {
		idx[canonVersion(next.Releases[i].Version)] = &next.Releases[i]
	}
	for _, old := range prev.Releases {
		key := canonVersion(old.Version)
		nr, ok := idx[key]
		if !ok {
			if !gone[key] {
				e.Problems = append(e.Problems, fmt.Sprintf("release %s is missing", old.Version))
			}
			continue
		}
		if gone[key] {
			e.Problems = append(e.Problems, fmt.Sprintf("release %s was to be removed but is still listed", old.Version))
		}
		if old.Commit != "" && nr.Commit != old.Commit {
			e.Problems = append(e.Problems, fmt.Sprintf("release %s: commit %q, published %q", old.Version, nr.Commit, old.Commit))
		}
		for _, a := range old.Artifacts {
			na, ok := nr.Artifact(a.Name)
			switch {
			case !ok:
				e.Problems = append(e.Problems, fmt.Sprintf("release %s: artifact %s is missing", old.Version, a.Name))
			case na.Path != a.Path || na.Kind != a.Kind || na.OS != a.OS || na.Arch != a.Arch ||
				na.Size != a.Size || !strings.EqualFold(na.SHA256, a.SHA256):
				e.Problems = append(e.Problems, fmt.Sprintf("release %s: artifact %s changed (sha256 %s size %d, published sha256 %s size %d)",
					old.Version, a.Name, na.SHA256, na.Size, a.SHA256, a.Size))
			}
		}
	}
	if len(e.Problems) > 0 {
		return e
	}
	return nil
}

func canonVersion(s string) string {
	if v, err := ParseVersion(s); err == nil {
		return v.String()
	}
	return s
}

// Remove deletes version from the manifest's release list and reports
// whether it was there. Channels and aliases move back to the newest
// remaining active release, and the serial increases. Unlike [Manifest.Yank],
// which keeps a release listed so that clients can say why it is gone,
// Remove forgets it: it is meant for a retention policy ([Manifest.Prune])
// applied to nightly or edge builds. Publishing the result needs the
// removed versions named explicitly (see [CheckSuccessor]).
func (m *Manifest) Remove(version string) (bool, error) {
	r, ok := m.Release(version)
	if !ok {
		return false, fmt.Errorf("remove %s: %w", version, ErrNotFound)
	}
	target := r.Version
	m.Releases = slices.DeleteFunc(m.Releases, func(x Release) bool { return x.Version == target })
	m.changed()
	return true, nil
}

// RetentionPolicy says which releases [Manifest.Prune] removes.
type RetentionPolicy struct {
	// Channels are the channels the policy applies to ("nightly",
	// "edge"); required. A release on any other channel is kept. The
	// stable and lts channels are refused here: name such releases in
	// Versions instead.
	Channels []string
	// Keep is how many of the newest releases of each channel to keep
	// (at least 1 when Channels is set).
	Keep int
	// Versions are further releases to remove by name, whatever their
	// channel (the only way to remove a stable release).
	Versions []string
}

// Prune removes the releases the policy selects: on each of p.Channels,
// every release but the Keep newest (by version precedence), plus every
// release named in p.Versions. A channel's current target is always among
// the newest, so no channel is left empty by the count rule. It returns
// the removed versions, newest first. Nothing is removed when it returns
// an error.
func (m *Manifest) Prune(p RetentionPolicy) ([]string, error) {
	if len(p.Channels) > 0 && p.Keep < 1 {
		return nil, fmt.Errorf("prune: Keep must be at least 1, not %d", p.Keep)
	}
	if len(p.Channels) == 0 && len(p.Versions) == 0 {
		return nil, errors.New("prune: name the channels to prune (or versions)")
	}
	chans := map[string]bool{}
	for _, c := range p.Channels {
		if isStableChannel(c) {
			return nil, fmt.Errorf("prune: channel %q: stable releases are pruned only by name (RetentionPolicy.Versions)", c)
		}
		if !ValidChannel(c) {
			return nil, fmt.Errorf("prune: invalid channel name %q", c)
		}
		chans[c] = true
	}
	drop := map[string]bool{}
	for _, v := range p.Versions {
		r, ok := m.Release(v)
		if !ok {
			return nil, fmt.Errorf("prune %s: %w", v, ErrNotFound)
		}
		drop[r.Version] = true
	}
	seen := map[string]int{}
	for _, r := range m.Releases { // newest first
		if !chans[r.Channel] {
			continue
		}
		seen[r.Channel]++
		if seen[r.Channel] > p.Keep {
			drop[r.Version] = true
		}
	}
	var removed []string
	for _, r := range m.Releases {
		if drop[r.Version] {
			removed = append(removed, r.Version)
		}
	}
	if len(removed) == 0 {
		return nil, nil
	}
	m.Releases = slices.DeleteFunc(m.Releases, func(x Release) bool { return drop[x.Version] })
	m.changed()
	return removed, nil
}
