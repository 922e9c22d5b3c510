package manifest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// a17Big is a valid manifest of n releases (one artifact each).
func a17Big(t testing.TB, n int) *Manifest {
	t.Helper()
	m := New("hello")
	date := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := n - 1; i >= 0; i-- {
		v := fmt.Sprintf("%d.%d.%d", i/10000, (i/100)%100, i%100)
		name := "hello-" + v + "-linux-amd64.tar.gz"
		m.Releases = append(m.Releases, Release{Version: v, Tag: "v" + v, Date: date, Channel: ChannelStable, Status: StatusActive,
			Artifacts: []Artifact{{Name: name, Path: v + "/" + name, Kind: KindArchive, OS: "linux", Arch: "amd64", Size: 1, SHA256: strings.Repeat("0", 64)}}})
	}
	m.Channels = map[string]string{ChannelStable: m.Releases[0].Version}
	m.Serial = 1
	m.Touch(date, 24*time.Hour)
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	return m
}

// attack17: the work of a v2 client whose query needs every shard (a
// constraint that matches nothing, or only the oldest releases) used to
// be quadratic in the history: each AddShard re-sorted and re-validated
// every release read so far. It must be linear: the allocations of
// reading every shard (a deterministic count, not a time) at most about
// double when the history doubles; the quadratic version made 3.9x.
func TestAttack17AllShardsQueryIsNotQuadratic(t *testing.T) {
	if testing.Short() {
		t.Skip("20,000 releases")
	}
	q := Query{Constraint: ">=99", Platform: Platform{OS: "linux", Arch: "amd64"}}
	allocs := map[int]float64{}
	for _, n := range []int{10000, 20000} {
		m := a17Big(t, n)
		ix, shards, err := Split(m)
		if err != nil {
			t.Fatal(err)
		}
		byPath := map[string][]byte{}
		for _, s := range shards {
			byPath[s.Path] = s.Data
		}
		data, _ := ix.Marshal()
		_, werr := m.Select(q)
		allocs[n] = testing.AllocsPerRun(1, func() {
			ix, err := ParseIndex(data)
			if err != nil {
				t.Fatal(err)
			}
			if err := ix.Validate(); err != nil {
				t.Fatal(err)
			}
			var gerr error
			for range len(ix.Shards) + 1 {
				_, gerr = ix.Select(q)
				var need *ShardNeededError
				if !errors.As(gerr, &need) {
					break
				}
				if err := ix.AddShard(need.Shard.Path, byPath[need.Shard.Path]); err != nil {
					t.Fatal(err)
				}
			}
			if werr == nil || gerr == nil || werr.Error() != gerr.Error() {
				t.Fatalf("answers differ: %v / %v", werr, gerr)
			}
		})
	}
	ratio := allocs[20000] / allocs[10000]
	t.Logf("reading every shard: %.0f allocations at 10,000 releases, %.0f at 20,000 (%.2fx)", allocs[10000], allocs[20000], ratio)
	if ratio > 2.5 {
		t.Errorf("reading every shard allocates %.2fx as much when the history doubles: quadratic", ratio)
	}
}
