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
// constraint that matches nothing, or only the oldest releases) is
// quadratic in the history: each AddShard re-sorts and re-validates
// every release read so far (mergeNewestFirst and validate over the
// union, manifest/index.go AddShard), so reading k shards costs
// O(k * releases). A v1 client's manifest.Select over the same history
// is one linear pass. The test bounds the v2 cost at 4x the v1 parse,
// validate and select of the whole manifest.
func TestAttack17AllShardsQueryIsNotQuadratic(t *testing.T) {
	if testing.Short() {
		t.Skip("20,000 releases")
	}
	m := a17Big(t, 20000)
	ix, shards, err := Split(m)
	if err != nil {
		t.Fatal(err)
	}
	whole, _ := m.Marshal()
	byPath := map[string][]byte{}
	for _, s := range shards {
		byPath[s.Path] = s.Data
	}
	q := Query{Constraint: ">=99", Platform: Platform{OS: "linux", Arch: "amd64"}}
	t0 := time.Now()
	mv, err := Parse(whole)
	if err != nil {
		t.Fatal(err)
	}
	if err := mv.Validate(); err != nil {
		t.Fatal(err)
	}
	_, werr := mv.Select(q)
	v1 := time.Since(t0)

	data, _ := ix.Marshal()
	t0 = time.Now()
	ix, err = ParseIndex(data)
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
	v2 := time.Since(t0)
	if werr == nil || gerr == nil || werr.Error() != gerr.Error() {
		t.Fatalf("answers differ: %v / %v", werr, gerr)
	}
	t.Logf("%d shards: v1 parse+validate+select %v, v2 %v (%.1fx)", len(ix.Shards), v1, v2, float64(v2)/float64(v1))
	if v2 > 4*v1 { // a linear merge would do about the v1 work plus hashing
		t.Errorf("reading all %d shards took %v, %.0fx the %v of the whole manifest: quadratic", len(ix.Shards), v2, float64(v2)/float64(v1), v1)
	}
}
