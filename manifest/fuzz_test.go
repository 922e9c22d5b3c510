package manifest

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The seed corpora live in testdata/fuzz/<FuzzName>/.

func FuzzParseVersion(f *testing.F) {
	for _, s := range append(slices.Clone(specOrder), "v1.2.3", "2026.04", "2026.04.1-rc.1", "1.0.0+build", "01.0.0", "") {
		f.Add(s)
	}
	ref := MustParseVersion("1.2.3-rc.1")
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVersion(s)
		if err != nil {
			return
		}
		// The canonical form parses to the same version.
		w, err := ParseVersion(v.String())
		if err != nil {
			t.Fatalf("ParseVersion(%q) ok but its String %q does not parse: %v", s, v.String(), err)
		}
		if Compare(v, w) != 0 || w.String() != v.String() || v.Calendar != w.Calendar {
			t.Fatalf("re-parse of %q changed it: %+v vs %+v", s, v, w)
		}
		if Compare(v, v) != 0 || Compare(v, ref) != -Compare(ref, v) {
			t.Fatalf("Compare is not antisymmetric for %q", s)
		}
	})
}

func FuzzParseTag(f *testing.F) {
	for _, s := range []string{"v1.2.3", "module-authority-v1.2.3", "suite-2026.04-nova", "hello/v1.0.0", "release-v2.0.0-rc.1", "x--v1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tag, err := ParseTag(s)
		if err != nil {
			return
		}
		if tag.Raw != s || tag.Version.IsZero() {
			t.Fatalf("ParseTag(%q) = %+v", s, tag)
		}
		if _, err := ParseVersion(tag.Version.String()); err != nil {
			t.Fatalf("tag %q has a version that does not re-parse: %v", s, err)
		}
	})
}

func FuzzParseConstraint(f *testing.F) {
	for _, s := range []string{">=1.2, <2", "~1.4 || ^2.0.1", "*", "!=1.0.0", ">= 2026.04"} {
		f.Add(s, "1.3.0")
	}
	f.Fuzz(func(t *testing.T, c, v string) {
		con, err := ParseConstraint(c)
		if err != nil {
			return
		}
		if ver, err := ParseVersion(v); err == nil {
			con.Check(ver) // must not panic
		}
	})
}

func FuzzParseChecksums(f *testing.F) {
	f.Add([]byte(h1 + "  a.tar.gz\n" + h2 + " *b.zip\n"))
	f.Add([]byte("SHA256 (x) = " + h1 + "\n"))
	f.Add([]byte("\\" + h1 + "  a\\nb\\\\c\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseChecksums(bytes.NewReader(data))
		if err != nil {
			return
		}
		out := c.Marshal()
		c2, err := ParseChecksums(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("our own output does not parse: %v\n%q", err, out)
		}
		if !equalEntries(c.Entries(), c2.Entries()) {
			t.Fatalf("round trip changed entries: %+v vs %+v", c.Entries(), c2.Entries())
		}
		if !bytes.Equal(out, c2.Marshal()) {
			t.Fatalf("encoding is not stable")
		}
	})
}

func FuzzParseManifest(f *testing.F) {
	m := New("hello")
	m.Add(rel("1.0.0", "", 1))
	m.Add(rel("1.1.0-rc.1", "", 2))
	m.Yank("1.0.0", "broken")
	b, _ := m.Marshal()
	f.Add(b)
	f.Add([]byte(`{"schema":"relkit.manifest/v1","project":"x","releases":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			return
		}
		m.Select(Query{Platform: Platform{OS: "linux", Arch: "amd64"}}) // must not panic
		if m.Validate() != nil {
			return
		}
		b1, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		m2, err := Parse(b1)
		if err != nil {
			t.Fatalf("valid manifest does not re-parse: %v", err)
		}
		if err := m2.Validate(); err != nil {
			t.Fatalf("valid manifest invalid after round trip: %v", err)
		}
		b2, _ := m2.Marshal()
		if !bytes.Equal(b1, b2) {
			t.Fatalf("round trip changed bytes")
		}
	})
}

// FuzzParseIndex feeds index.json and one shard to a v2 client's path:
// ParseIndex, Validate, Select, AddShard. Nothing may panic, a refused
// shard adds nothing, and an accepted one leaves an index whose releases
// still validate.
func FuzzParseIndex(f *testing.F) {
	m := New("hello")
	for i := range 40 {
		v := "1.0." + strconv.Itoa(i)
		name := "hello-" + v + "-linux-amd64.tar.gz"
		if _, err := m.Add(Release{Version: v, Date: time.Unix(1700000000, 0), Artifacts: []Artifact{{Name: name, Path: v + "/" + name, Kind: KindArchive, OS: "linux", Arch: "amd64", Size: 1, SHA256: digestOf(i)}}}); err != nil {
			f.Fatal(err)
		}
	}
	m.Touch(time.Unix(1700000000, 0), time.Hour)
	ix, shards, err := Split(m)
	if err != nil {
		f.Fatal(err)
	}
	data, err := ix.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data, shards[0].Path, shards[0].Data)
	f.Add([]byte(`{"schema":"relkit.manifest/v2","project":"x","releases":[],"shards":[{"path":"shards/`+strings.Repeat("a", 64)+`.json","sha256":"`+strings.Repeat("a", 64)+`","size":1,"count":1,"newest":"1.0.0","oldest":"1.0.0"}]}`), "shards/"+strings.Repeat("a", 64)+".json", []byte("{}"))
	f.Fuzz(func(t *testing.T, index []byte, path string, shard []byte) {
		ix, err := ParseIndex(index)
		if err != nil || ix.Validate() != nil {
			return
		}
		_, _ = ix.Select(Query{Platform: Platform{OS: "linux", Arch: "amd64"}})
		_, _ = ix.Select(Query{Constraint: "<1.0.5", Platform: Platform{OS: "linux", Arch: "amd64"}})
		before := len(ix.Releases)
		if err := ix.AddShard(path, shard); err != nil {
			if len(ix.Releases) != before {
				t.Fatalf("a refused shard changed the index: %d releases, then %d", before, len(ix.Releases))
			}
			return
		}
		view := ix.Manifest()
		var p problems
		view.validate(&p, func(Version) bool { return true })
		if len(p) > 0 {
			t.Fatalf("an accepted shard left an invalid view: %v", p)
		}
	})
}
