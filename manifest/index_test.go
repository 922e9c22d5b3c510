package manifest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// resolve answers q from the index the way a client does: Select, and
// for each ShardNeededError add the shard from files. It returns the
// selection, the error, and how many shards it read.
func resolve(t testing.TB, ix *Index, files map[string][]byte, q Query) (Selection, int, error) {
	t.Helper()
	read := 0
	for range len(ix.Shards) + 1 {
		sel, err := ix.Select(q)
		var need *ShardNeededError
		if !errors.As(err, &need) {
			return sel, read, err
		}
		data, ok := files[need.Shard.Path]
		if !ok {
			t.Fatalf("index names %s, which Split did not write", need.Shard.Path)
		}
		if err := ix.AddShard(need.Shard.Path, data); err != nil {
			t.Fatalf("AddShard(%s): %v", need.Shard.Path, err)
		}
		read++
	}
	t.Fatalf("Select(%v) asked for more shards than the index has", q)
	return Selection{}, 0, nil
}

func splitAndParse(t testing.TB, m *Manifest) (*Index, map[string][]byte) {
	t.Helper()
	ix, shards, err := Split(m)
	if err != nil {
		t.Fatal(err)
	}
	data, err := ix.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseIndex(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Validate(); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range shards {
		files[f.Path] = f.Data
	}
	return got, files
}

func TestSplitJoinsBackToTheManifest(t *testing.T) {
	for _, n := range []int{0, 1, IndexHead, IndexHead + 1, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			m := history(t, n)
			ix, files := splitAndParse(t, m)
			want := (max(n-IndexHead, 0) + ShardReleases - 1) / ShardReleases
			if len(ix.Shards) != want || len(files) != want {
				t.Fatalf("%d releases: %d shards (%d files), want %d", n, len(ix.Shards), len(files), want)
			}
			if len(ix.Releases) != min(n, IndexHead) {
				t.Fatalf("index holds %d releases, want %d", len(ix.Releases), min(n, IndexHead))
			}
			for _, s := range ix.Shards {
				if err := ix.AddShard(s.Path, files[s.Path]); err != nil {
					t.Fatal(err)
				}
			}
			got := ix.Manifest()
			if !reflect.DeepEqual(normalize(t, got.Releases), normalize(t, m.Releases)) {
				t.Fatal("index plus shards do not list the manifest's releases")
			}
			if !reflect.DeepEqual(got.Channels, m.Channels) || !reflect.DeepEqual(got.Aliases, m.Aliases) || got.Serial != m.Serial || !got.Expires.Equal(m.Expires) {
				t.Fatal("index does not carry the manifest's channels, aliases, serial and expiry")
			}
		})
	}
}

func normalize(t testing.TB, rs []Release) []byte {
	t.Helper()
	b, err := (&Manifest{Schema: Schema, Project: "x", Releases: rs}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// An update check reads the index only; other queries read at most the
// shards that can hold their answer, and answer what Manifest.Select
// answers over the whole history.
func TestIndexSelectAnswersAsTheWholeManifest(t *testing.T) {
	m := history(t, 1000)
	lin := Platform{OS: "linux", Arch: "amd64"}
	queries := []struct {
		q         Query
		maxShards int
	}{
		{Query{Platform: lin}, 0},
		{Query{Channel: ChannelEdge, Platform: lin}, 0},
		{Query{Channel: "nightly", Platform: lin}, 0},
		{Query{Alias: AliasLatest, Platform: lin}, 0},
		{Query{Alias: "1", Platform: lin}, 0},
		{Query{Version: m.Releases[3].Version, Platform: lin}, 0},
		{Query{Version: m.Releases[500].Version, Platform: lin}, 1},
		{Query{Version: m.Releases[999].Version, Platform: lin}, 1},
		{Query{Version: "0.0.1", Platform: lin}, 0},
		{Query{Version: "1.3.7", Platform: lin}, 1},
		{Query{Alias: "1.3", Platform: lin}, 1},
		{Query{Constraint: ">=1.0.0", Platform: lin}, 0},
		{Query{Constraint: "<1.10.0", Platform: lin}, 4},
		{Query{Constraint: ">=1.20.0, <1.21.0", Platform: lin}, 4},
		{Query{Constraint: ">=9.0.0", Platform: lin}, 4},
		{Query{Constraint: "<1.2.0", Prerelease: true, Platform: lin}, 4},
		{Query{Version: m.Releases[700].Version, Platform: Platform{OS: "plan9", Arch: "amd64"}}, 1},
	}
	for _, tc := range queries {
		want, wantErr := m.Select(tc.q)
		ix, files := splitAndParse(t, m)
		got, read, err := resolve(t, ix, files, tc.q)
		if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
			t.Errorf("%v: index says %v, manifest says %v", tc.q, err, wantErr)
			continue
		}
		if err == nil && (got.Release.Version != want.Release.Version || got.Artifact != want.Artifact) {
			t.Errorf("%v: index selects %s %s, manifest %s %s", tc.q, got.Release.Version, got.Artifact.Name, want.Release.Version, want.Artifact.Name)
		}
		if read > tc.maxShards {
			t.Errorf("%v: read %d shards, want at most %d", tc.q, read, tc.maxShards)
		}
	}
}

// A new release rewrites only the newest shard; the others keep their
// names (they are content-addressed and published once).
func TestSplitKeepsOlderShards(t *testing.T) {
	m := history(t, 1000)
	before, _, err := Split(m)
	if err != nil {
		t.Fatal(err)
	}
	r := m.Releases[0]
	r.Version, r.Tag, r.Commit = "9.0.0", "v9.0.0", strings.Repeat("9", 40)
	r.Channel, r.Date = ChannelStable, r.Date.Add(time.Hour)
	r.Artifacts = []Artifact{{Name: "hello-9.0.0-linux-amd64.tar.gz", Path: "9.0.0/hello-9.0.0-linux-amd64.tar.gz", Kind: KindArchive, OS: "linux", Arch: "amd64", Size: 1, SHA256: strings.Repeat("a", 64)}}
	if _, err := m.Add(r); err != nil {
		t.Fatal(err)
	}
	after, _, err := Split(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Shards) != len(before.Shards) {
		t.Fatalf("%d shards, then %d", len(before.Shards), len(after.Shards))
	}
	changed := 0
	for i := range after.Shards {
		if after.Shards[i].Path != before.Shards[i].Path {
			changed++
			if i != 0 {
				t.Errorf("shard %d (%s..%s) changed; only the newest may", i, after.Shards[i].Oldest, after.Shards[i].Newest)
			}
		}
	}
	if changed != 1 {
		t.Errorf("%d shards changed, want 1", changed)
	}
}

// The index a client fetches stays small however long the history: at
// most 64 KB compressed at 1,000 releases, and the same at 10,000.
func TestIndexSizeDoesNotGrowWithHistory(t *testing.T) {
	var sizes []int
	for _, n := range []int{100, 1000, 10000} {
		ix, _, err := Split(history(t, n))
		if err != nil {
			t.Fatal(err)
		}
		data, err := ix.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(data)
		zw.Close()
		if z.Len() > 64<<10 {
			t.Errorf("%d releases: index is %d bytes gzipped, more than 64 KB", n, z.Len())
		}
		sizes = append(sizes, len(data))
		t.Logf("%d releases: index %d bytes, %d gzipped, %d shards", n, len(data), z.Len(), len(ix.Shards))
	}
	// Only the shard list grows, by one reference (about 600 bytes) per
	// 256 releases: under 1% of the 2.7 KB a release adds to manifest.json.
	if grow := float64(sizes[2]-sizes[1]) / 9000; grow > 27 {
		t.Errorf("index grew %.1f bytes per release from 1,000 to 10,000 releases", grow)
	}
}

func TestAddShardRefusesWhatTheIndexDoesNotCommitTo(t *testing.T) {
	m := history(t, 600)
	ix, files := splitAndParse(t, m)
	ref := ix.Shards[0]
	good := files[ref.Path]
	other := ix.Shards[1]

	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 1
	cases := map[string]struct {
		path string
		data []byte
	}{
		"changed byte":      {ref.Path, flipped},
		"truncated":         {ref.Path, good[:len(good)-1]},
		"another shard":     {ref.Path, files[other.Path]},
		"unnamed shard":     {"shards/" + strings.Repeat("0", 64) + ".json", good},
		"empty":             {ref.Path, nil},
		"index bytes given": {ref.Path, []byte(`{"schema":"relkit.manifest/v2"}`)},
	}
	for name, c := range cases {
		ix, _ := splitAndParse(t, m)
		err := ix.AddShard(c.path, c.data)
		var se *ShardError
		if !errors.As(err, &se) {
			t.Errorf("%s: AddShard = %v, want a *ShardError", name, err)
		}
		if _, ok, _ := ix.Release(m.Releases[IndexHead].Version); ok {
			t.Errorf("%s: a refused shard's releases were added", name)
		}
	}
}

// A shard the signer committed to but that holds what its reference does
// not say (a publisher bug, or a key holder's attack) is refused too.
func TestAddShardChecksContentAgainstItsReference(t *testing.T) {
	m := history(t, 300)
	mk := func(edit func(sh *Shard)) (*Index, string, []byte) {
		ix, shards, err := Split(m)
		if err != nil {
			t.Fatal(err)
		}
		sh, err := ParseShard(shards[0].Data)
		if err != nil {
			t.Fatal(err)
		}
		edit(sh)
		data, err := marshalJSON(sh)
		if err != nil {
			t.Fatal(err)
		}
		ref := &ix.Shards[0]
		ref.SHA256, ref.Size, ref.Path = sha256Hex(data), int64(len(data)), ShardPath(sha256Hex(data))
		return ix, ref.Path, data
	}
	cases := map[string]func(sh *Shard){
		"other project":   func(sh *Shard) { sh.Project = "evil" },
		"other schema":    func(sh *Shard) { sh.Schema = "relkit.shard/v3" },
		"release dropped": func(sh *Shard) { sh.Releases = sh.Releases[1:] },
		"out of order": func(sh *Shard) {
			sh.Releases[1], sh.Releases[2] = sh.Releases[2], sh.Releases[1]
		},
		"newer than the index": func(sh *Shard) {
			sh.Releases[1].Version = "9.9.9"
		},
		"invalid artifact": func(sh *Shard) { sh.Releases[3].Artifacts[0].SHA256 = "nope" },
		"path reused": func(sh *Shard) {
			sh.Releases[3].Artifacts[0].Path = m.Releases[0].Artifacts[0].Path
			sh.Releases[3].Artifacts[0].Name = m.Releases[0].Artifacts[0].Name
		},
	}
	for name, edit := range cases {
		ix, p, data := mk(edit)
		if err := ix.AddShard(p, data); err == nil {
			t.Errorf("%s: AddShard accepted it", name)
		}
	}
}

func TestIndexValidateRefusesBadShardLists(t *testing.T) {
	m := history(t, 600)
	cases := map[string]func(ix *Index){
		"overlapping": func(ix *Index) { ix.Shards[1].Newest = ix.Shards[0].Oldest },
		"above head":  func(ix *Index) { ix.Shards[0].Newest = ix.Releases[0].Version },
		"path":        func(ix *Index) { ix.Shards[0].Path = "../etc/passwd" },
		"size":        func(ix *Index) { ix.Shards[0].Size = MaxShardSize + 1 },
		"count":       func(ix *Index) { ix.Shards[0].Count = 0 },
		"inverted":    func(ix *Index) { ix.Shards[0].Newest, ix.Shards[0].Oldest = ix.Shards[0].Oldest, ix.Shards[0].Newest },
		"channel nowhere": func(ix *Index) {
			ix.Channels = map[string]string{"lts": "99.0.0"}
		},
		"schema": func(ix *Index) { ix.Schema = Schema },
	}
	for name, edit := range cases {
		ix, _, err := Split(m)
		if err != nil {
			t.Fatal(err)
		}
		edit(ix)
		var ve *ValidationError
		if err := ix.Validate(); !errors.As(err, &ve) {
			t.Errorf("%s: Validate = %v, want a *ValidationError", name, err)
		}
	}
}

func TestParseIndexRefusesOtherFiles(t *testing.T) {
	m := history(t, 3)
	v1, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var se *SchemaError
	if _, err := ParseIndex(v1); !errors.As(err, &se) {
		t.Errorf("ParseIndex(manifest v1) = %v, want a *SchemaError", err)
	}
	if _, err := ParseIndex(bytes.Repeat([]byte(" "), MaxIndexSize+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("ParseIndex(huge) = %v, want ErrTooLarge", err)
	}
	if _, err := Parse([]byte(`{"schema":"relkit.manifest/v2","project":"x","releases":[]}`)); !errors.As(err, &se) {
		t.Errorf("Parse(index) = %v, want a *SchemaError (an old reader refuses v2)", err)
	}
}

// The client's work on an update check grows far slower than history:
// the index holds the same releases at 1,000 and 10,000, and one shard
// reference more per 256 releases.
func TestIndexWorkIsIndependentOfHistory(t *testing.T) {
	allocs := map[int]float64{}
	for _, n := range []int{1000, 10000} {
		ix, _, err := Split(history(t, n))
		if err != nil {
			t.Fatal(err)
		}
		data, err := ix.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		q := Query{Platform: Platform{OS: "linux", Arch: "amd64"}}
		allocs[n] = testing.AllocsPerRun(5, func() {
			got, err := ParseIndex(data)
			if err != nil {
				t.Fatal(err)
			}
			if err := got.Validate(); err != nil {
				t.Fatal(err)
			}
			if _, err := got.Select(q); err != nil {
				t.Fatal(err)
			}
		})
	}
	if allocs[10000] > allocs[1000]*3 {
		t.Errorf("update check allocations: %v at 1,000 releases, %v at 10,000", allocs[1000], allocs[10000])
	}
}
