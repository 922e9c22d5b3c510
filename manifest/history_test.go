package manifest

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func clone(t *testing.T, m *Manifest) *Manifest {
	t.Helper()
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCheckSuccessor(t *testing.T) {
	prev := New("hello")
	mustAdd(t, prev, rel("1.0.0", "", 1))
	mustAdd(t, prev, rel("1.1.0", "", 2))

	if err := CheckSuccessor(nil, prev); err != nil {
		t.Fatalf("first manifest: %v", err)
	}
	good := clone(t, prev)
	mustAdd(t, good, rel("1.2.0", "", 3))
	if _, err := good.Yank("1.0.0", "broken"); err != nil {
		t.Fatal(err)
	}
	if err := CheckSuccessor(prev, good); err != nil {
		t.Fatalf("add + yank: %v", err)
	}

	// A stale base: only the new release, serial 1.
	stale := New("hello")
	mustAdd(t, stale, rel("1.2.0", "", 3))
	err := CheckSuccessor(prev, stale)
	var he *HistoryError
	if !errors.As(err, &he) || !errors.Is(err, ErrHistoryLoss) {
		t.Fatalf("stale base: %v, want *HistoryError", err)
	}
	for _, want := range []string{"serial 1 is not above the published 2", "release 1.1.0 is missing", "release 1.0.0 is missing"} {
		if !slices.Contains(he.Problems, want) {
			t.Errorf("problems %q lack %q", he.Problems, want)
		}
	}

	// A changed artifact.
	changed := clone(t, prev)
	r, _ := changed.Release("1.0.0")
	r.Artifacts[0].SHA256 = "ff" + r.Artifacts[0].SHA256[2:]
	changed.Serial++
	if err := CheckSuccessor(prev, changed); !errors.As(err, &he) || len(he.Problems) != 1 {
		t.Fatalf("changed artifact: %v", err)
	}

	// Another project.
	other := clone(t, good)
	other.Project = "other"
	if err := CheckSuccessor(prev, other); err == nil {
		t.Fatal("other project accepted")
	}

	// An explicit removal is allowed; an implicit one is not.
	pruned := clone(t, prev)
	if _, err := pruned.Remove("1.0.0"); err != nil {
		t.Fatal(err)
	}
	if err := CheckSuccessor(prev, pruned); err == nil {
		t.Fatal("implicit removal accepted")
	}
	if err := CheckSuccessor(prev, pruned, "v1.0.0"); err != nil {
		t.Fatalf("explicit removal: %v", err)
	}
}

func TestPrune(t *testing.T) {
	m := New("hello")
	mustAdd(t, m, rel("1.0.0", "", 1))
	for i, v := range []string{"1.1.0-nightly.1", "1.1.0-nightly.2", "1.1.0-nightly.3", "1.1.0-nightly.4"} {
		mustAdd(t, m, rel(v, "nightly", 10+i))
	}
	mustAdd(t, m, rel("1.1.0-rc.1", "", 20)) // edge
	before := clone(t, m)

	if _, err := m.Prune(RetentionPolicy{Channels: []string{"stable"}, Keep: 1}); err == nil {
		t.Fatal("pruning the stable channel by count was accepted")
	}
	if _, err := m.Prune(RetentionPolicy{Channels: []string{"nightly"}}); err == nil {
		t.Fatal("Keep 0 accepted")
	}
	removed, err := m.Prune(RetentionPolicy{Channels: []string{"nightly"}, Keep: 2})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"1.1.0-nightly.2", "1.1.0-nightly.1"}; !slices.Equal(removed, want) {
		t.Fatalf("removed %v, want %v", removed, want)
	}
	if m.Channels["nightly"] != "1.1.0-nightly.4" || m.Channels["stable"] != "1.0.0" || m.Channels["edge"] != "1.1.0-rc.1" {
		t.Fatalf("channels after prune: %v", m.Channels)
	}
	if err := CheckSuccessor(before, m, removed...); err != nil {
		t.Fatalf("pruned manifest with the removals named: %v", err)
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	// A stable release goes only by name.
	removed, err = m.Prune(RetentionPolicy{Keep: 1, Versions: []string{"1.0.0"}})
	if err != nil || !slices.Equal(removed, []string{"1.0.0"}) {
		t.Fatalf("prune by name: %v %v", removed, err)
	}
	if _, ok := m.Channels["stable"]; ok {
		t.Fatalf("stable still points somewhere: %v", m.Channels)
	}
	// Nothing to do.
	if removed, err := m.Prune(RetentionPolicy{Channels: []string{"nightly"}, Keep: 5}); err != nil || removed != nil {
		t.Fatalf("no-op prune: %v %v", removed, err)
	}
}

func TestForgeAsset(t *testing.T) {
	for _, c := range []struct {
		name, version, asset string
		index                bool
	}{
		{"manifest.json", "", "manifest.json", true},
		{"signatures.json", "", "root.signatures.json", true},
		{"keys.json", "", "keys.json", true},
		{"sigs/manifest.json.ab.sig", "", "manifest.json.ab.sig", true},
		{"root/3.json", "", "root.3.json", true},
		{"1.2.0/signatures.json", "1.2.0", "signatures.json", false},
		{"1.2.0/hello-1.2.0-linux-amd64.tar.gz", "1.2.0", "hello-1.2.0-linux-amd64.tar.gz", false},
	} {
		index, version, asset := ForgeAsset(c.name)
		if index != c.index || version != c.version || asset != c.asset {
			t.Errorf("ForgeAsset(%q) = %v %q %q, want %v %q %q", c.name, index, version, asset, c.index, c.version, c.asset)
		}
	}
}

// TestUnknownKindsAreTolerated: a manifest listing an artifact of a kind
// added after this version (a new package format) still validates, and
// selection ignores it, so older clients keep updating.
func TestUnknownKindsAreTolerated(t *testing.T) {
	m := New("hello")
	r := rel("1.0.0", "", 1)
	r.Artifacts = append(r.Artifacts, Artifact{Name: "hello.flatpak", Path: "1.0.0/hello.flatpak", Kind: "flatpak", OS: "linux", Arch: "amd64", Size: 10, SHA256: strings.Repeat("a", 64)})
	mustAdd(t, m, r)
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	sel, err := m.Select(Query{Platform: Platform{OS: "linux", Arch: "amd64"}})
	if err != nil || sel.Artifact.Kind != KindArchive {
		t.Fatalf("select: %v %+v", err, sel.Artifact)
	}
	bad := m.Releases[0]
	bad.Artifacts = append([]Artifact(nil), bad.Artifacts...)
	bad.Artifacts[len(bad.Artifacts)-1].Kind = "Not A Kind"
	m.Releases[0] = bad
	if err := m.Validate(); err == nil {
		t.Error("a malformed kind validates")
	}
}
