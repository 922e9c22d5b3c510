package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relkit/relkit/manifest"
)

// memLoc is an in-memory release root that counts reads.
type memLoc struct {
	mu    sync.Mutex
	files map[string][]byte
	reads map[string]int
}

func (l *memLoc) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.reads == nil {
		l.reads = map[string]int{}
	}
	l.reads[name]++
	b, ok := l.files[name]
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, fs.ErrNotExist)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// a17History is a long, messy history: pre-releases on "beta", some
// yanked and deprecated releases, platforms that come and go, and
// channels and aliases that point deep into the shards.
func a17History(t testing.TB, n int, seed uint64) *manifest.Manifest {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 17))
	m := manifest.New("hello")
	date := testNow.Add(-365 * 24 * time.Hour)
	for i := range n {
		maj, min, pat := i/200, (i/20)%10, i%20
		v := fmt.Sprintf("%d.%d.%d", maj, min, pat)
		ch := ""
		if r.IntN(6) == 0 {
			v += fmt.Sprintf("-rc.%d", r.IntN(3)+1)
			ch = "beta"
		}
		rel := manifest.Release{Version: v, Tag: "v" + v, Date: date.Add(time.Duration(i) * time.Hour), Channel: ch}
		plats := [][2]string{{"linux", "amd64"}, {"darwin", "arm64"}, {"windows", "amd64"}}
		for j, p := range plats {
			if j > 0 && r.IntN(3) == 0 {
				continue
			}
			name := fmt.Sprintf("hello-%s-%s-%s.tar.gz", v, p[0], p[1])
			rel.Artifacts = append(rel.Artifacts, manifest.Artifact{Name: name, Path: v + "/" + name, Kind: manifest.KindArchive,
				OS: p[0], Arch: p[1], Size: int64(100 + i), SHA256: fmt.Sprintf("%064x", i*8+j)})
			if r.IntN(4) == 0 {
				bn := fmt.Sprintf("hello-%s-%s-%s", v, p[0], p[1])
				rel.Artifacts = append(rel.Artifacts, manifest.Artifact{Name: bn, Path: v + "/" + bn, Kind: manifest.KindBinary,
					OS: p[0], Arch: p[1], Size: int64(50 + i), SHA256: fmt.Sprintf("%064x", 1<<40+i*8+j)})
			}
		}
		if _, err := m.Add(rel); err != nil {
			t.Fatal(err)
		}
	}
	for _, rel := range m.Releases {
		switch r.IntN(9) {
		case 0:
			if _, err := m.Yank(rel.Version, "broken"); err != nil {
				t.Fatal(err)
			}
		case 1:
			if _, err := m.Deprecate(rel.Version, "old"); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A long-term channel pinned deep in the history (a shard), if active.
	for i := len(m.Releases) - 40; i >= 0; i-- {
		if rel := m.Releases[i]; rel.Status != manifest.StatusYanked {
			if m.Channels == nil {
				m.Channels = map[string]string{}
			}
			m.Channels["lts"] = rel.Version
			break
		}
	}
	m.Touch(testNow.Add(-time.Hour), 30*24*time.Hour)
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	return m
}

// a17Publish splits m into index.json and shards, signs the index with
// k (content-addressed signature set) and returns the root.
func a17Publish(t testing.TB, k *testKey, m *manifest.Manifest, into *memLoc) *memLoc {
	t.Helper()
	ix, shards, err := manifest.Split(m)
	if err != nil {
		t.Fatal(err)
	}
	data, err := ix.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if into == nil {
		into = &memLoc{files: map[string][]byte{}}
	}
	for _, s := range shards {
		into.files[s.Path] = s.Data
	}
	b, err := set(t, k.entry(t, manifest.IndexFile, data)).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	into.files[manifest.SignatureSetPath(manifest.IndexFile, sha256hex(data))] = b
	into.files[manifest.IndexFile] = data
	return into
}

func a17Queries(m *manifest.Manifest) []manifest.Query {
	var qs []manifest.Query
	var base []manifest.Query
	for i, rel := range m.Releases {
		if i < 40 || i%9 == 0 || i == len(m.Releases)-1 {
			base = append(base, manifest.Query{Version: rel.Version})
		}
	}
	base = append(base, manifest.Query{Version: "v0.0.0"}, manifest.Query{Version: "0.3.7+build.5"}, manifest.Query{Version: "0.3.25"},
		manifest.Query{Version: "99.0.0"}, manifest.Query{Version: "not-a-version"}, manifest.Query{}, manifest.Query{Channel: "nope"}, manifest.Query{Alias: "9.9"})
	for ch := range m.Channels {
		base = append(base, manifest.Query{Channel: ch})
	}
	for a := range m.Aliases {
		base = append(base, manifest.Query{Alias: a})
	}
	for _, c := range []string{"*", ">=0.1.0, <0.2", "~0.3.0", "^0.1", ">=5", "=0.0.3", "<0.0.5", "0.2.3-rc.1 <= x", ">=0.4.0-rc.1, <0.4.1",
		"<0.1 || >=1.3", "!=1.4.19", ">0.9.19", "^1", "~1.0.0-rc.2", "=1.2.0-rc.1", ">=", "x"} {
		for _, pre := range []bool{false, true} {
			base = append(base, manifest.Query{Constraint: c, Prerelease: pre})
		}
	}
	base = append(base, manifest.Query{Version: "1.0.0", Channel: "stable"})
	plats := []manifest.Platform{{OS: "linux", Arch: "amd64"}, {OS: "darwin", Arch: "arm64"}, {OS: "windows", Arch: "x86_64"}, {}, {OS: "plan9", Arch: "amd64"}}
	kinds := [][]manifest.Kind{nil, {manifest.KindBinary}}
	for _, q := range base {
		for _, p := range plats {
			for _, k := range kinds {
				q := q
				q.Platform, q.Kinds = p, k
				qs = append(qs, q)
			}
		}
	}
	return qs
}

func a17Same(t *testing.T, q manifest.Query, want manifest.Selection, werr error, got manifest.Selection, gerr error) {
	t.Helper()
	if (werr == nil) != (gerr == nil) {
		t.Errorf("%+v: whole manifest %v / %v, index %v / %v", q, want.Release.Version, werr, got.Release.Version, gerr)
		return
	}
	if werr != nil {
		var wn, gn *manifest.NoMatchError
		if errors.As(werr, &wn) != errors.As(gerr, &gn) || werr.Error() != gerr.Error() {
			t.Errorf("%+v: errors differ:\n whole: %v\n index: %v", q, werr, gerr)
		}
		return
	}
	if want.Release.Version != got.Release.Version || want.Release.Status != got.Release.Status || want.Artifact != got.Artifact {
		t.Errorf("%+v: whole manifest %s %s, index %s %s", q, want.Release.Version, want.Artifact.Name, got.Release.Version, got.Artifact.Name)
	}
}

// attack17 (held): SelectRelease over a fresh index answers every query
// exactly as Manifest.Select over the whole history does: exact
// versions (in the head, in a shard, between shards, never released),
// channels and aliases into shards, constraints with and without
// Prerelease, yanked and deprecated releases, platforms and kinds. Then
// the same with one index reused across every query.
func TestAttack17SelectReleaseMatchesWholeManifest(t *testing.T) {
	k := newKey(t, "p256")
	for _, seed := range []uint64{1, 2} {
		m := a17History(t, 700, seed)
		loc := a17Publish(t, k, m, nil)
		v := verifier(t, ring(t, k), WithProject("hello"))
		shared, err := v.FetchIndex(t.Context(), loc)
		if err != nil {
			t.Fatal(err)
		}
		if len(shared.Shards) < 2 {
			t.Fatalf("only %d shards", len(shared.Shards))
		}
		qs := a17Queries(m)
		r := rand.New(rand.NewPCG(seed, 99))
		for i, q := range qs {
			want, werr := m.Select(q)
			got, gerr := SelectRelease(t.Context(), loc, shared, q)
			a17Same(t, q, want, werr, got, gerr)
			if r.IntN(8) != 0 && i > 0 {
				continue
			}
			fresh, err := v.FetchIndex(t.Context(), loc)
			if err != nil {
				t.Fatal(err)
			}
			got, gerr = SelectRelease(t.Context(), loc, fresh, q)
			a17Same(t, q, want, werr, got, gerr)
		}
		for i, rel := range m.Releases {
			if i%23 != 0 {
				continue
			}
			fresh, _ := v.FetchIndex(t.Context(), loc)
			got, ok, err := FetchRelease(t.Context(), loc, fresh, "v"+rel.Version)
			if err != nil || !ok || got.Version != rel.Version || got.Status != rel.Status {
				t.Fatalf("FetchRelease %s: %v %v %v", rel.Version, got, ok, err)
			}
		}
	}
}

// attack17 (held): rollback, freeze and mix-and-match through the index.
func TestAttack17IndexRollbackFreezeMixAndMatch(t *testing.T) {
	k := newKey(t, "p256")
	m := a17History(t, 700, 7)
	old := a17Publish(t, k, m, nil)
	oldIndex := bytes.Clone(old.files[manifest.IndexFile])
	// The next publish: a yank deep in a shard and a new release.
	m2 := a17History(t, 700, 7)
	var deep string
	for i := len(m2.Releases) - 1; i >= 0; i-- {
		if m2.Releases[i].Status == manifest.StatusActive && !strings.Contains(m2.Releases[i].Version, "-") {
			deep = m2.Releases[i].Version
			break
		}
	}
	if _, err := m2.Yank(deep, "security"); err != nil {
		t.Fatal(err)
	}
	m2.Serial++
	m2.Touch(testNow.Add(-time.Minute), 30*24*time.Hour)
	cur := a17Publish(t, k, m2, &memLoc{files: map[string][]byte{}})
	for name, b := range old.files { // the old shards stay in the store
		if _, ok := cur.files[name]; !ok {
			cur.files[name] = b
		}
	}
	state := NewMemoryState()
	v := verifier(t, ring(t, k), WithProject("hello"), WithState(state))
	ix, err := v.FetchIndex(t.Context(), cur)
	if err != nil {
		t.Fatal(err)
	}
	// Rollback: the previous index (validly signed, lower serial).
	rolled := &memLoc{files: map[string][]byte{}}
	for n, b := range cur.files {
		rolled.files[n] = b
	}
	rolled.files[manifest.IndexFile] = oldIndex
	var rb *RollbackError
	if _, err := v.FetchIndex(t.Context(), rolled); !errors.As(err, &rb) {
		t.Errorf("old index after a newer one: %v, want *RollbackError", err)
	}
	// And the manifest.json of the older serial, after the index: the
	// serials are shared.
	mdata, _ := m.Marshal()
	msig, _ := set(t, k.entry(t, manifest.File, mdata)).Marshal()
	mloc := &memLoc{files: map[string][]byte{manifest.File: mdata, manifest.SignatureSetPath(manifest.File, sha256hex(mdata)): msig}}
	if _, err := v.FetchManifest(t.Context(), mloc); !errors.As(err, &rb) {
		t.Errorf("older manifest.json after a newer index: %v, want *RollbackError", err)
	}
	// Mix-and-match: serve the old shard (where the release is not yet
	// yanked) in place of the new one holding it.
	ref, ok := func() (manifest.ShardRef, bool) {
		dv, _ := manifest.ParseVersion(deep)
		for _, s := range ix.Shards {
			ov, _ := manifest.ParseVersion(s.Oldest)
			nv, _ := manifest.ParseVersion(s.Newest)
			if manifest.Compare(dv, ov) >= 0 && manifest.Compare(dv, nv) <= 0 {
				return s, true
			}
		}
		return manifest.ShardRef{}, false
	}()
	if !ok {
		t.Fatalf("%s is not in a shard", deep)
	}
	oix, _ := manifest.ParseIndex(oldIndex)
	swapped := 0
	for _, os := range oix.Shards {
		if os.Newest == ref.Newest && os.Path != ref.Path {
			mixed := &memLoc{files: map[string][]byte{}}
			for n, b := range cur.files {
				mixed.files[n] = b
			}
			mixed.files[ref.Path] = old.files[os.Path]
			fresh, err := v.FetchIndex(t.Context(), mixed)
			if err != nil {
				t.Fatal(err)
			}
			var se *manifest.ShardError
			if _, err := SelectRelease(t.Context(), mixed, fresh, manifest.Query{Version: deep, Platform: manifest.Platform{OS: "linux", Arch: "amd64"}}); !errors.As(err, &se) {
				t.Errorf("the old shard served for %s: %v, want *manifest.ShardError", ref.Path, err)
			}
			swapped++
		}
	}
	if swapped == 0 {
		t.Fatal("no shard to swap")
	}
	sel, err := SelectRelease(t.Context(), cur, ix, manifest.Query{Version: deep, Platform: manifest.Platform{OS: "linux", Arch: "amd64"}})
	var nm *manifest.NoMatchError
	if !errors.As(err, &nm) || !strings.Contains(err.Error(), "yanked") {
		t.Errorf("the yanked %s deep in a shard: %v %v, want a NoMatchError saying yanked", deep, sel.Release.Version, err)
	}
	// Another project's index signed by the same key.
	other := a17History(t, 40, 7)
	other.Project = "other"
	other.Serial = 1 << 40
	oloc := a17Publish(t, k, other, nil)
	var am *ArtifactMismatchError
	if _, err := v.FetchIndex(t.Context(), oloc); !errors.As(err, &am) {
		t.Errorf("another project's index: %v, want *ArtifactMismatchError", err)
	}
	// Freeze: the clock past the index's expiry.
	late := verifier(t, ring(t, k), WithProject("hello"), WithClock(func() time.Time { return testNow.Add(31 * 24 * time.Hour) }))
	var ee *ExpiredError
	if _, err := late.FetchIndex(t.Context(), cur); !errors.As(err, &ee) {
		t.Errorf("expired index: %v, want *ExpiredError", err)
	}
}
