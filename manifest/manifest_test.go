package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

var testDate = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func art(version, os, arch string, seed int) Artifact {
	ext := ".tar.gz"
	if os == "windows" {
		ext = ".zip"
	}
	name := fmt.Sprintf("hello-%s-%s-%s%s", version, os, arch, ext)
	return Artifact{Name: name, Path: version + "/" + name, Kind: KindArchive, OS: os, Arch: arch, Size: int64(1000 + seed), SHA256: fmt.Sprintf("%064x", seed)}
}

func rel(version, channel string, seed int) Release {
	version = strings.TrimPrefix(version, "v")
	return Release{
		Version: version, Tag: "v" + version, Date: testDate, Channel: channel,
		Commit: "4f9c2e0d1b2a39485766a5b4c3d2e1f001234567",
		Artifacts: []Artifact{
			art(version, "linux", "amd64", seed),
			art(version, "linux", "arm64", seed+1),
			art(version, "windows", "amd64", seed+2),
			{Name: "SHA256SUMS", Path: version + "/SHA256SUMS", Kind: KindChecksums, Size: 444, SHA256: fmt.Sprintf("%064x", seed+3)},
		},
	}
}

func mustAdd(t *testing.T, m *Manifest, r Release) {
	t.Helper()
	if _, err := m.Add(r); err != nil {
		t.Fatalf("Add(%s): %v", r.Version, err)
	}
}

func TestAddChannelsAndAliases(t *testing.T) {
	m := New("hello")
	mustAdd(t, m, rel("1.0.0", "", 10))
	mustAdd(t, m, rel("1.1.0", "", 20))
	mustAdd(t, m, rel("v1.2.0-rc.1", "", 30)) // pre-release: edge by default, moves no alias
	mustAdd(t, m, rel("1.0.4", "lts", 40))
	mustAdd(t, m, rel("2.0.0-beta.1", "nightly", 50))
	mustAdd(t, m, rel("0.9.0", "", 60)) // an old line: moves 0 and 0.9 only

	wantCh := map[string]string{"stable": "1.1.0", "edge": "1.2.0-rc.1", "lts": "1.0.4", "nightly": "2.0.0-beta.1"}
	wantAl := map[string]string{"latest": "1.1.0", "1": "1.1.0", "1.1": "1.1.0", "1.0": "1.0.4", "0": "0.9.0", "0.9": "0.9.0"}
	checkMap(t, "channels", m.Channels, wantCh)
	checkMap(t, "aliases", m.Aliases, wantAl)
	if m.Serial != 6 {
		t.Errorf("serial = %d, want 6", m.Serial)
	}
	var order []string
	for _, r := range m.Releases {
		order = append(order, r.Version)
	}
	if got := strings.Join(order, " "); got != "2.0.0-beta.1 1.2.0-rc.1 1.1.0 1.0.4 1.0.0 0.9.0" {
		t.Errorf("release order = %s", got)
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
}

func checkMap(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
		return
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s[%s] = %q, want %q (all: %v)", what, k, got[k], v, got)
		}
	}
}

func TestAddIdempotentAndNoReuse(t *testing.T) {
	m := New("hello")
	mustAdd(t, m, rel("1.0.0", "", 10))
	before, _ := m.Marshal()
	again := rel("1.0.0", "", 10)
	again.Version = "v1.0.0" // the same version, written with a v
	changed, err := m.Add(again)
	if err != nil || changed {
		t.Fatalf("re-adding the same release: changed=%v err=%v", changed, err)
	}
	after, _ := m.Marshal()
	if !bytes.Equal(before, after) {
		t.Error("re-adding the same release changed the manifest")
	}

	// Different bytes under the same name: refused, nothing changes.
	r := rel("1.0.0", "", 10)
	r.Artifacts[1].SHA256 = fmt.Sprintf("%064x", 999)
	_, err = m.Add(r)
	var vr *VersionReusedError
	if !errors.As(err, &vr) || vr.Version != "1.0.0" || vr.Artifact != "hello-1.0.0-linux-arm64.tar.gz" {
		t.Fatalf("Add with changed bytes: %v", err)
	}
	r = rel("1.0.0", "", 10)
	r.Artifacts[0].Size++
	if _, err = m.Add(r); !errors.As(err, &vr) {
		t.Fatalf("Add with changed size: %v", err)
	}
	r = rel("1.0.0", "", 10)
	r.Commit = "0000000000000000000000000000000000000000"
	if _, err = m.Add(r); !errors.As(err, &vr) || vr.Artifact != "" {
		t.Fatalf("Add with changed commit: %v", err)
	}
	after, _ = m.Marshal()
	if !bytes.Equal(before, after) {
		t.Error("a refused Add changed the manifest")
	}

	// New artifacts merge into the existing release.
	r = rel("1.0.0", "", 10)
	r.Artifacts = append(r.Artifacts, Artifact{Name: "sbom.spdx.json", Path: "1.0.0/sbom.spdx.json", Kind: KindSBOM, Size: 10, SHA256: h1})
	changed, err = m.Add(r)
	if err != nil || !changed || m.Serial != 2 {
		t.Fatalf("merging a new artifact: changed=%v err=%v serial=%d", changed, err, m.Serial)
	}
	if got, _ := m.Release("1.0.0"); len(got.Artifacts) != 5 {
		t.Errorf("merged release has %d artifacts, want 5", len(got.Artifacts))
	}
}

func TestAddRefusals(t *testing.T) {
	m := New("hello")
	if _, err := m.Add(rel("1.0.0-rc.1", "stable", 1)); !errors.Is(err, ErrPrereleaseOnStable) {
		t.Errorf("pre-release on stable: %v", err)
	}
	if _, err := m.Add(rel("1.0", "", 1)); err == nil {
		t.Error("bad version accepted")
	}
	if _, err := m.Add(rel("1.0.0", "Bad Channel", 1)); err == nil {
		t.Error("bad channel accepted")
	}
	r := rel("1.0.0", "", 1)
	r.Artifacts[0].Path = "../escape/" + r.Artifacts[0].Name
	_, err := m.Add(r)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Errorf("artifact path with ..: %v", err)
	}
	if m.Serial != 0 || len(m.Releases) != 0 {
		t.Errorf("refused adds changed the manifest: serial %d, %d releases", m.Serial, len(m.Releases))
	}
}

func TestDeprecateYank(t *testing.T) {
	m := New("hello")
	for i, v := range []string{"1.0.0", "1.1.0", "1.2.0", "2.0.0"} {
		mustAdd(t, m, rel(v, "", i*10))
	}
	if changed, err := m.Yank("2.0.0", "data loss on upgrade"); err != nil || !changed {
		t.Fatalf("Yank: %v %v", changed, err)
	}
	checkMap(t, "aliases after yank", m.Aliases, map[string]string{"latest": "1.2.0", "1": "1.2.0", "1.0": "1.0.0", "1.1": "1.1.0", "1.2": "1.2.0"})
	if m.Channels["stable"] != "1.2.0" {
		t.Errorf("stable = %s after yanking 2.0.0", m.Channels["stable"])
	}
	if changed, _ := m.Yank("2.0.0", "data loss on upgrade"); changed {
		t.Error("yanking twice with the same reason reported a change")
	}
	if _, err := m.Deprecate("1.2.0", "CVE-2026-0001"); err != nil {
		t.Fatal(err)
	}
	if m.Aliases["latest"] != "1.1.0" || m.Aliases["1.2"] != "" {
		t.Errorf("aliases after deprecating 1.2.0: %v", m.Aliases)
	}
	if _, err := m.Yank("3.0.0", "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("yanking a missing version: %v", err)
	}
	if _, err := m.Yank("1.0.0", " "); err == nil {
		t.Error("yank without a reason accepted")
	}
	if len(m.Releases) != 4 {
		t.Errorf("releases were deleted: %d left", len(m.Releases))
	}
	if m.Serial != 6 {
		t.Errorf("serial = %d, want 6", m.Serial)
	}
	if _, err := m.Reactivate("2.0.0"); err != nil || m.Aliases["latest"] != "2.0.0" {
		t.Errorf("reactivate: %v, latest=%s", err, m.Aliases["latest"])
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestRoundTripRandomSequences: after any sequence of Add/Deprecate/Yank,
// the saved manifest validates and parses back to the same bytes.
func TestRoundTripRandomSequences(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 200; iter++ {
		m := New("hello")
		m.Touch(testDate, 90*24*time.Hour)
		var versions []string
		for step := 0; step < 12; step++ {
			switch op := rng.IntN(4); {
			case op <= 1 || len(versions) == 0:
				v := fmt.Sprintf("%d.%d.%d", rng.IntN(3), rng.IntN(3), rng.IntN(3))
				ch := ""
				if rng.IntN(4) == 0 {
					v += fmt.Sprintf("-rc.%d", rng.IntN(3))
				} else if rng.IntN(5) == 0 {
					ch = "lts"
				}
				if _, err := m.Add(rel(v, ch, len(v)+rng.IntN(2))); err != nil {
					var vr *VersionReusedError
					if !errors.As(err, &vr) {
						t.Fatalf("Add(%s): %v", v, err)
					}
					continue
				}
				versions = append(versions, v)
			case op == 2:
				m.Deprecate(versions[rng.IntN(len(versions))], "old")
			default:
				m.Yank(versions[rng.IntN(len(versions))], "broken")
			}
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("iteration %d: %v", iter, err)
		}
		b1, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		m2, err := Parse(b1)
		if err != nil {
			t.Fatal(err)
		}
		b2, _ := m2.Marshal()
		if !bytes.Equal(b1, b2) {
			t.Fatalf("iteration %d: round trip changed bytes:\n%s\n---\n%s", iter, b1, b2)
		}
		if err := m2.Validate(); err != nil {
			t.Fatalf("iteration %d after parse: %v", iter, err)
		}
	}
}

func TestMarshalDeterministic(t *testing.T) {
	build := func() *Manifest {
		m := New("hello")
		m.Touch(testDate.In(time.FixedZone("X", 3600)), 24*time.Hour)
		mustAdd(t, m, rel("1.0.0", "", 1))
		mustAdd(t, m, rel("1.0.1", "lts", 2))
		mustAdd(t, m, rel("2.0.0-rc.1", "", 3))
		return m
	}
	a, _ := build().Marshal()
	b, _ := build().Marshal()
	if !bytes.Equal(a, b) {
		t.Fatal("two identical manifests encode differently")
	}
	if !bytes.HasSuffix(a, []byte("}\n")) || !bytes.Contains(a, []byte(`"updated": "2026-11-20T12:00:00Z"`)) {
		t.Errorf("encoding is not normalised to UTC with a final newline:\n%s", a)
	}
}

func TestParseSchema(t *testing.T) {
	for _, tc := range []struct {
		in     string
		schema bool // want a *SchemaError
		ok     bool
	}{
		{`{"schema":"relkit.manifest/v1","project":"x","releases":[]}`, false, true},
		{`{"schema":"relkit.manifest/v1.3","project":"x","releases":[],"future":1}`, false, true},
		{`{"schema":"relkit.manifest/v2","project":"x","releases":[]}`, true, false},
		{`{"schema":"something/v1"}`, true, false},
		{`{"project":"x"}`, true, false},
		{`{"schema":"relkit.manifest/v1","serial":"7"}`, false, false},
		{`not json`, false, false},
	} {
		_, err := Parse([]byte(tc.in))
		var se *SchemaError
		if (err == nil) != tc.ok || errors.As(err, &se) != tc.schema {
			t.Errorf("Parse(%s) = %v", tc.in, err)
		}
	}
	if _, err := Load(strings.NewReader(strings.Repeat(" ", MaxManifestSize+1))); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized manifest: %v", err)
	}
}

func TestValidateReportsEverything(t *testing.T) {
	m := &Manifest{
		Schema: "relkit.manifest/v1", Project: "", Serial: -1,
		Updated: testDate, Expires: testDate.Add(-time.Hour),
		Channels: map[string]string{"stable": "9.9.9"},
		Aliases:  map[string]string{"latest": "1.0.0", "nope": "1.0.0"},
		Releases: []Release{
			{Version: "1.0.0", Channel: "stable", Status: StatusActive, Date: testDate, Artifacts: []Artifact{
				{Name: "a/b", Path: "/abs", Kind: "Tar Ball", Size: -1, SHA256: "XYZ", OS: "macos"},
				{Name: "x", Path: "1.0.0/./x", Kind: KindOther, SHA256: h1},
				{Name: "y", Path: "1.0.0/y", Kind: KindBinary, OS: "linux", SHA256: h1},
			}},
			{Version: "v1.1.0", Channel: "stable", Status: "gone", Artifacts: []Artifact{}},
			{Version: "1.0.0", Channel: "stable", Status: StatusYanked, Date: testDate, Artifacts: []Artifact{}},
		},
	}
	err := m.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Validate = %v", err)
	}
	want := []string{
		"project", "serial", "expires",
		"releases[0].artifacts[0].name", "releases[0].artifacts[0].path", "releases[0].artifacts[0].kind",
		"releases[0].artifacts[0].size", "releases[0].artifacts[0].sha256", "releases[0].artifacts[0].os",
		"releases[0].artifacts[2]", "releases[0].artifacts[1].path",
		"releases[1].version", "releases[1].date", "releases[1].status",
		"releases[2].version", "releases[2].reason",
		"channels.stable", "aliases.nope",
	}
	have := map[string]bool{}
	for _, p := range ve.Problems {
		have[p.Field] = true
	}
	for _, f := range want {
		if !have[f] {
			t.Errorf("Validate did not report %s", f)
		}
	}
	if t.Failed() {
		t.Log(err)
	}
}

func TestSelect(t *testing.T) {
	m := New("hello")
	for i, v := range []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0-rc.1", "2.0.0"} {
		mustAdd(t, m, rel(v, "", i*10))
	}
	m.Yank("2.0.0", "broken")
	m.Deprecate("1.2.0", "CVE")
	linux := Platform{OS: "linux", Arch: "x86_64"}
	for _, tc := range []struct {
		q    Query
		want string // version, or "" for an error
	}{
		{Query{Platform: linux}, "1.1.0"},
		{Query{Channel: "edge", Platform: linux}, "1.3.0-rc.1"},
		{Query{Alias: "latest", Platform: linux}, "1.1.0"},
		{Query{Alias: "1.0", Platform: linux}, "1.0.0"},
		{Query{Version: "v1.0.0", Platform: linux}, "1.0.0"},
		{Query{Version: "1.2.0", Platform: linux}, "1.2.0"}, // deprecated: exact version only
		{Query{Version: "2.0.0", Platform: linux}, ""},      // yanked
		{Query{Version: "9.0.0", Platform: linux}, ""},
		{Query{Constraint: ">=1.0, <2", Platform: linux}, "1.1.0"},
		{Query{Constraint: ">=1.0, <2", Prerelease: true, Platform: linux}, "1.3.0-rc.1"},
		{Query{Constraint: ">=3", Platform: linux}, ""},
		{Query{Platform: Platform{OS: "darwin", Arch: "arm64"}}, ""},
		{Query{Alias: "7", Platform: linux}, ""},
		{Query{Channel: "nightly", Platform: linux}, ""},
		{Query{Version: "1.0.0", Alias: "latest"}, ""},
	} {
		sel, err := m.Select(tc.q)
		if tc.want == "" {
			if err == nil {
				t.Errorf("Select(%s) = %s, want an error", tc.q, sel.Release.Version)
			}
			continue
		}
		if err != nil {
			t.Errorf("Select(%s): %v", tc.q, err)
			continue
		}
		if sel.Release.Version != tc.want || sel.Artifact.OS != "linux" || sel.Artifact.Arch != "amd64" {
			t.Errorf("Select(%s) = %s %s", tc.q, sel.Release.Version, sel.Artifact.Name)
		}
	}
	_, err := m.Select(Query{Version: "2.0.0", Platform: linux})
	var nm *NoMatchError
	if !errors.As(err, &nm) || !strings.Contains(err.Error(), "yanked: broken") {
		t.Errorf("selecting a yanked version: %v", err)
	}
	_, err = m.Select(Query{Platform: Platform{OS: "darwin", Arch: "arm64"}})
	if !errors.As(err, &nm) || !strings.Contains(err.Error(), "has: linux/amd64, linux/arm64, windows/amd64") {
		t.Errorf("selecting a missing platform: %v", err)
	}
	sel, err := m.Select(Query{Version: "1.0.0", Kinds: []Kind{KindChecksums}})
	if err != nil || sel.Artifact.Name != "SHA256SUMS" {
		t.Errorf("selecting the checksums file: %v %+v", err, sel.Artifact)
	}
}

// TestSelectDanglingPointer: a hand-edited manifest whose alias or channel
// names a missing release gets a reason, not an empty error.
func TestSelectDanglingPointer(t *testing.T) {
	m := New("hello")
	mustAdd(t, m, rel("1.0.0", "", 1))
	m.Aliases["latest"] = "9.9.9"
	m.Channels["stable"] = "9.9.9"
	for _, q := range []Query{{Alias: "latest"}, {Channel: "stable"}} {
		_, err := m.Select(q)
		var nm *NoMatchError
		if !errors.As(err, &nm) || !strings.Contains(err.Error(), "9.9.9, which is not in the manifest") {
			t.Errorf("Select(%s) = %v", q, err)
		}
	}
}
