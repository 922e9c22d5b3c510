package release

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/sign"
	"github.com/relkit/relkit/verify"
)

// seedHistory commits a signed root listing n releases (without files)
// into store, through the same commit protocol as a publish: a project
// with a long history, whose index has shards.
func seedHistory(t *testing.T, store publish.Store, s sign.Signer, pub []byte, n int) {
	t.Helper()
	seedHistoryOf(t, store, s, pub, n, 1)
}

// seedHistoryOf is seedHistory with per releases' archives (one per
// platform) each.
func seedHistoryOf(t *testing.T, store publish.Store, s sign.Signer, pub []byte, n, per int) {
	t.Helper()
	m := manifest.New("hello")
	plats := [][2]string{{"linux", "amd64"}, {"linux", "arm64"}, {"darwin", "amd64"}, {"darwin", "arm64"}, {"windows", "amd64"},
		{"windows", "arm64"}, {"freebsd", "amd64"}, {"freebsd", "arm64"}, {"linux", "386"}, {"linux", "riscv64"}}
	// Newest first, as Add keeps them; Add of the newest derives the
	// channels and aliases.
	for i := n - 1; i >= 0; i-- {
		v := fmt.Sprintf("0.1.%d", i)
		r := manifest.Release{Version: v, Tag: "v" + v, Date: testDate, Commit: strings.Repeat("a", 40), Channel: manifest.ChannelStable, Status: manifest.StatusActive}
		for _, p := range plats[:per] {
			name := "hello-" + v + "-" + p[0] + "-" + p[1] + ".tar.gz"
			r.Artifacts = append(r.Artifacts, manifest.Artifact{Name: name, Path: v + "/" + name, Kind: manifest.KindArchive, OS: p[0], Arch: p[1], Size: 1 << 20, SHA256: fmt.Sprintf("%064x", i)})
		}
		if i == n-1 {
			continue
		}
		m.Releases = append(m.Releases, r)
	}
	last := fmt.Sprintf("0.1.%d", n-1)
	name := "hello-" + last + "-linux-amd64.tar.gz"
	if _, err := m.Add(manifest.Release{Version: last, Tag: "v" + last, Date: testDate, Commit: strings.Repeat("a", 40), Artifacts: []manifest.Artifact{{
		Name: name, Path: last + "/" + name, Kind: manifest.KindArchive, OS: "linux", Arch: "amd64", Size: 1, SHA256: strings.Repeat("0", 64)}}}); err != nil {
		t.Fatal(err)
	}
	m.Serial = int64(n)
	rp, err := newRootPolicy("hello", [][]byte{pub}, 1, []sign.Signer{s}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := publish.New(store)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpdateRoot(t.Context(), func(ctx context.Context, current []byte, _ publish.Opener) (*publish.RootFiles, error) {
		return rp.finish(ctx, m, time.Time{}, nil)
	}); err != nil {
		t.Fatal(err)
	}
}

// killAtPut fails every Put after the n-th: a publish killed there.
type killAtPut struct {
	publish.Store
	n     int64
	puts  atomic.Int64
	mu    sync.Mutex // guards names: the publisher puts concurrently
	names []string
}

func (k *killAtPut) Put(ctx context.Context, name string, r *publish.Body, info publish.PutInfo) error {
	if k.puts.Add(1) > k.n {
		return errKilledTest
	}
	k.mu.Lock()
	k.names = append(k.names, name)
	k.mu.Unlock()
	return k.Store.Put(ctx, name, r, info)
}

// TestKilledAroundTheIndexConverges: a publish into a long history
// killed after every one of its writes, including those between the
// manifest.json commit and index.json (the shards, the index's
// signatures). After each kill a v2 client still verifies the index and
// selects a release (the old one or the new one, never a broken root),
// and a fresh prepare and re-run converge: index.json lists exactly what
// manifest.json lists, under the same serial (checkRoot).
func TestKilledAroundTheIndexConverges(t *testing.T) {
	s, pub := newSigner(t)
	keys, signers := [][]byte{pub}, []sign.Signer{s}
	const history = 300
	// Count the writes of one whole publish.
	probe, _ := dirStore(t)
	seedHistory(t, probe, s, pub, history)
	counter := &killAtPut{Store: probe, n: 1 << 30}
	if _, err := publishTo(t, counter, prepareVersion(t, s, "1.1.0", "", nil), keys, signers); err != nil {
		t.Fatal(err)
	}
	total := counter.puts.Load()
	if !slices.Contains(counter.names, "index.json") || !slices.ContainsFunc(counter.names, func(n string) bool { return strings.HasPrefix(n, "shards/") }) {
		t.Fatalf("the publish wrote no index or no shard: %v", counter.names)
	}
	commit := slices.Index(counter.names, "manifest.json")
	t.Logf("%d writes; manifest.json is write %d, then %v", total, commit+1, counter.names[commit+1:])
	ring, _ := verify.NewKeyRing(pub)
	for n := int64(0); n < total; n++ {
		store, loc := dirStore(t)
		seedHistory(t, store, s, pub, history)
		killed := &killAtPut{Store: store, n: n}
		if _, err := publishTo(t, killed, prepareVersion(t, s, "1.1.0", "", nil), keys, signers); !errors.Is(err, errKilledTest) {
			t.Fatalf("kill after write %d: %v", n, err)
		}
		v, _ := verify.NewVerifier(ring, verify.WithProject("hello"))
		ix, err := v.FetchIndex(t.Context(), loc)
		if err != nil {
			t.Fatalf("kill after write %d (%s): a client cannot verify the index: %v", n, lastName(killed.names), err)
		}
		sel, err := verify.SelectRelease(t.Context(), loc, ix, manifest.Query{Platform: manifest.Platform{OS: "linux", Arch: "amd64"}})
		if err != nil || (sel.Release.Version != "0.1.299" && sel.Release.Version != "1.1.0") {
			t.Fatalf("kill after write %d: update check %v %v", n, sel.Release.Version, err)
		}
		if _, ok, err := verify.FetchRelease(t.Context(), loc, ix, "0.1.0"); err != nil || !ok {
			t.Fatalf("kill after write %d: the oldest release is gone from index and shards: %v %v", n, ok, err)
		}
		if _, err := publishTo(t, store, prepareVersion(t, s, "1.1.0", "", nil), keys, signers); err != nil {
			t.Fatalf("re-run after a kill after write %d: %v", n, err)
		}
		serial, vs := checkRoot(t, loc, pub)
		if serial != history+1 || len(vs) != history+1 || !slices.Contains(vs, "1.1.0") {
			t.Fatalf("after the re-run (kill after write %d): serial %d, %d releases", n, serial, len(vs))
		}
		// The client that saw the killed state accepts the converged one.
		if _, err := v.FetchIndex(t.Context(), loc); err != nil {
			t.Fatalf("kill after write %d: the client refuses the converged index: %v", n, err)
		}
	}
}

func lastName(names []string) string {
	if len(names) == 0 {
		return "nothing"
	}
	return names[len(names)-1]
}

// A publish without an index (a staged manifest, no signers) into a
// destination whose clients read index.json would leave them behind
// for good: refused with a *publish.RootError, nothing replaced.
func TestPublishWithoutIndexIntoV2IsRefused(t *testing.T) {
	s, pub := newSigner(t)
	keys, signers := [][]byte{pub}, []sign.Signer{s}
	store, loc := dirStore(t)
	v100 := prepareVersion(t, s, "1.0.0", "", nil)
	if _, err := publishTo(t, store, v100, keys, signers); err != nil {
		t.Fatal(err)
	}
	m, err := manifest.LoadFile(filepath.Join(store.(*publish.DirStore).Root(), "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(store.(*publish.DirStore).Root(), "manifest.json"))
	_, err = publishTo(t, store, prepareVersion(t, s, "1.1.0", "", m), keys, nil)
	var re *publish.RootError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "index.json") {
		t.Fatalf("publish without signers into a v2 root: %v, want a *publish.RootError naming index.json", err)
	}
	after, _ := os.ReadFile(filepath.Join(store.(*publish.DirStore).Root(), "manifest.json"))
	if string(before) != string(after) {
		t.Fatal("manifest.json was replaced")
	}
	if serial, vs := checkRoot(t, loc, pub); serial != 1 || len(vs) != 1 {
		t.Fatalf("serial %d %v", serial, vs)
	}
}

// A history past the clients' 16 MiB manifest.json limit (about 6,200
// releases) is still published: the publisher reads the whole history up
// to manifest.MaxHistorySize, and v2 clients read only the index. A v1
// client refuses the manifest with a typed error (it must upgrade).
func TestPublishPastTheClientManifestLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 19 MB manifest")
	}
	s, pub := newSigner(t)
	keys, signers := [][]byte{pub}, []sign.Signer{s}
	store, loc := dirStore(t)
	const history = 7000
	seedHistoryOf(t, store, s, pub, history, 10)
	fi, err := os.Stat(filepath.Join(store.(*publish.DirStore).Root(), "manifest.json"))
	if err != nil || fi.Size() <= manifest.MaxManifestSize {
		t.Fatalf("seeded manifest.json: %v bytes, %v; want more than %d", fi.Size(), err, manifest.MaxManifestSize)
	}
	if _, err := publishTo(t, store, prepareVersion(t, s, "1.1.0", "", nil), keys, signers); err != nil {
		t.Fatalf("publish into a %d-byte history: %v", fi.Size(), err)
	}
	ring, _ := verify.NewKeyRing(pub)
	v, _ := verify.NewVerifier(ring, verify.WithProject("hello"))
	ix, err := v.FetchIndex(t.Context(), loc)
	if err != nil {
		t.Fatal(err)
	}
	sel, err := verify.SelectRelease(t.Context(), loc, ix, manifest.Query{Platform: manifest.Platform{OS: runtime.GOOS, Arch: runtime.GOARCH}})
	if err != nil || sel.Release.Version != "1.1.0" {
		t.Fatalf("v2 update check: %s %v", sel.Release.Version, err)
	}
	if r, ok, err := verify.FetchRelease(t.Context(), loc, ix, "0.1.17"); err != nil || !ok || len(r.Artifacts) != 10 {
		t.Fatalf("an old release from its shard: %v %v %v", r, ok, err)
	}
	var le *verify.LimitError
	if _, err := v.FetchManifest(t.Context(), loc); !errors.As(err, &le) {
		t.Fatalf("v1 client on a %d-byte manifest.json: %v, want a *verify.LimitError", fi.Size(), err)
	}
	if serial, vs := checkRoot(t, loc, pub); serial != history+1 || len(vs) != history+1 {
		t.Fatalf("serial %d, %d releases", serial, len(vs))
	}
}
