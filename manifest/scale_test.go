package manifest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"testing"
	"time"
)

// history returns a manifest with n releases, like a project with a long
// history: stable minors and patches, release candidates on edge and
// nightlies, each with six archives, checksums, a signature, an SBOM and
// provenance.
func history(tb testing.TB, n int) *Manifest {
	tb.Helper()
	m := New("hello")
	date := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; len(m.Releases) < n; i++ {
		major, minor, patch := 1+i/2000, (i/20)%100, i%20
		v := fmt.Sprintf("%d.%d.%d", major, minor, patch)
		ch := ChannelStable
		switch i % 5 {
		case 3:
			v += "-rc.1"
			ch = ChannelEdge
		case 4:
			v += fmt.Sprintf("-nightly.%d", i)
			ch = "nightly"
		}
		r := Release{Version: v, Tag: "v" + v, Date: date.Add(time.Duration(i) * time.Hour), Channel: ch, Status: StatusActive,
			Commit: fmt.Sprintf("%040x", i)}
		for j, p := range []string{"linux-amd64", "linux-arm64", "darwin-amd64", "darwin-arm64", "windows-amd64", "freebsd-amd64"} {
			name := fmt.Sprintf("hello-%s-%s.tar.gz", v, p)
			os, arch, _ := cutDash(p)
			r.Artifacts = append(r.Artifacts, Artifact{Name: name, Path: v + "/" + name, Kind: KindArchive, OS: os, Arch: arch,
				Size: int64(1 << 20), SHA256: digestOf(i*16 + j)})
		}
		for j, f := range []struct {
			name string
			kind Kind
		}{{"SHA256SUMS", KindChecksums}, {"SHA256SUMS.sig", KindSignature}, {"sbom.spdx.json", KindSBOM}, {"provenance.intoto.json", KindProvenance}} {
			r.Artifacts = append(r.Artifacts, Artifact{Name: f.name, Path: v + "/" + f.name, Kind: f.kind, Size: 512, SHA256: digestOf(i*16 + 8 + j)})
		}
		m.Releases = append(m.Releases, r)
	}
	m.Serial = int64(n)
	m.sortReleases()
	m.recompute()
	m.Touch(date.Add(time.Duration(n)*time.Hour), 90*24*time.Hour)
	if err := m.Validate(); err != nil {
		tb.Fatal(err)
	}
	return m
}

// digestOf is a SHA-256 as random as a real file's: a count in hex would
// compress far better than real manifests do.
func digestOf(i int) string {
	s := sha256.Sum256([]byte(strconv.Itoa(i)))
	return hex.EncodeToString(s[:])
}

func cutDash(s string) (string, string, bool) {
	for i := range s {
		if s[i] == '-' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// scaleSizes are the history sizes of the benchmarks. A v1 manifest of
// 10000 releases is past MaxManifestSize (what clients read), so Parse
// is measured through ParsePublished, the publisher's reader.
var scaleSizes = []int{10, 1000, 10000}

func BenchmarkParse(b *testing.B) {
	for _, n := range scaleSizes {
		data, err := history(b, n).Marshal()
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParsePublished(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkValidate(b *testing.B) {
	for _, n := range scaleSizes {
		m := history(b, n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := m.Validate(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/release")
		})
	}
}

func BenchmarkSelect(b *testing.B) {
	for _, n := range scaleSizes {
		m := history(b, n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Select(Query{Channel: "stable", Platform: Platform{OS: "linux", Arch: "amd64"}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestValidateIsLinear counts the allocations Validate and Parse make as
// the history doubles: linear work allocates about twice as much, and a
// quadratic term (a lookup per alias scanning every release) shows as a
// ratio well above 2. Counting is deterministic; no time is measured.
func TestValidateIsLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 4000-release manifest")
	}
	small, big := history(t, 2000), history(t, 4000)
	for name, fn := range map[string]func(m *Manifest) func(){
		"Validate": func(m *Manifest) func() { return func() { m.Validate() } },
		"Parse": func(m *Manifest) func() {
			data, err := m.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			return func() { Parse(data) }
		},
		"Select": func(m *Manifest) func() {
			return func() { m.Select(Query{Channel: "stable", Platform: Platform{OS: "linux", Arch: "amd64"}}) }
		},
	} {
		a := testing.AllocsPerRun(3, fn(small))
		b := testing.AllocsPerRun(3, fn(big))
		ratio := b / max(a, 1)
		t.Logf("%s: %.0f allocations at 2000 releases, %.0f at 4000 (x%.2f)", name, a, b, ratio)
		if ratio > 2.3 {
			t.Errorf("%s allocates x%.2f when the history doubles: not linear", name, ratio)
		}
	}
}

// BenchmarkIndexUpdateCheck is a v2 client's update check after the
// fetch: ParseIndex, Validate and Select of the stable channel, at each
// history size. The index holds the newest IndexHead releases and one
// shard reference per ShardReleases older ones, so the cost stays flat.
func BenchmarkIndexUpdateCheck(b *testing.B) {
	for _, n := range scaleSizes {
		ix, _, err := Split(history(b, n))
		if err != nil {
			b.Fatal(err)
		}
		data, err := ix.Marshal()
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				got, err := ParseIndex(data)
				if err != nil {
					b.Fatal(err)
				}
				if err := got.Validate(); err != nil {
					b.Fatal(err)
				}
				if _, err := got.Select(Query{Channel: "stable", Platform: Platform{OS: "linux", Arch: "amd64"}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAddShard is the work of reading one old release: a shard of
// ShardReleases releases checked and added to the index.
func BenchmarkAddShard(b *testing.B) {
	ix, shards, err := Split(history(b, 1000))
	if err != nil {
		b.Fatal(err)
	}
	data, err := ix.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	sh := shards[len(shards)-1]
	b.SetBytes(int64(len(sh.Data)))
	b.ReportAllocs()
	for b.Loop() {
		got, err := ParseIndex(data)
		if err != nil {
			b.Fatal(err)
		}
		if err := got.AddShard(sh.Path, sh.Data); err != nil {
			b.Fatal(err)
		}
	}
}
