package publishtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish"
)

// ConcurrentTrials is how many times [Run]'s ConcurrentPublishers case
// starts two publishers together.
var ConcurrentTrials = 20

// MergeRelease is a [publish.MergeFunc] for the fixture's releases: it
// adds the release of version from the staged manifest at dir into the
// destination's current manifest (placeholder signatures, as the
// fixture's; package release does the same with real ones, verified).
func MergeRelease(tb testing.TB, dir, version string) publish.MergeFunc {
	staged := mustLoad(tb, dir)
	rel, ok := staged.Release(version)
	if !ok {
		tb.Fatalf("staged manifest lacks %s", version)
	}
	r := *rel
	return func(ctx context.Context, current []byte, dest publish.Opener) (*publish.RootFiles, error) {
		m := manifest.New(staged.Project)
		if current != nil {
			var err error
			if m, err = manifest.Parse(current); err != nil {
				return nil, err
			}
		}
		changed, err := m.Add(r)
		if err != nil || !changed {
			return nil, err
		}
		m.Touch(staged.Updated, staged.Expires.Sub(staged.Updated))
		data, err := m.Marshal()
		if err != nil {
			return nil, err
		}
		return &publish.RootFiles{Manifest: data, Signature: []byte("placeholder-signature-of-" + SHA256(data) + "\n")}, nil
	}
}

func mustLoad(tb testing.TB, dir string) *manifest.Manifest {
	tb.Helper()
	m, err := manifest.LoadFile(dir + "/" + manifest.File)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// published returns the versions the store's manifest.json lists, read
// with encoding/json (not package manifest), and checks that the
// content-addressed signature of its exact bytes is stored.
func published(t *testing.T, s publish.Store) (serial int64, versions []string) {
	t.Helper()
	rc, err := s.Open(context.Background(), manifest.File)
	if err != nil {
		t.Fatalf("open manifest.json: %v", err)
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	sig, err := s.Open(context.Background(), manifest.SignaturePath(manifest.File, SHA256(data)))
	if err != nil {
		t.Errorf("the signature of the published manifest.json is not stored: %v", err)
	} else {
		got, _ := io.ReadAll(sig)
		sig.Close()
		if !bytes.Equal(got, []byte("placeholder-signature-of-"+SHA256(data)+"\n")) {
			t.Errorf("the stored signature is not the one of the published manifest.json: %q", got)
		}
	}
	var m struct {
		Serial   int64 `json:"serial"`
		Releases []struct {
			Version string `json:"version"`
		} `json:"releases"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for _, r := range m.Releases {
		versions = append(versions, r.Version)
	}
	slices.Sort(versions)
	return m.Serial, versions
}

// multiVersion reports whether s can hold several versions at once; a
// store that flattens names (one GitHub release per version) cannot, and
// the cases that publish several versions into one store skip there.
func multiVersion(t *testing.T, s publish.Store) {
	if f, ok := s.(interface{ Flat() bool }); ok && f.Flat() {
		t.Skip("this store holds one version (one release per tag): several versions cannot share it")
	}
}

// testStaleBase: a staged manifest built without the published one (a
// stale base) is refused with a *manifest.HistoryError and replaces
// nothing; merged at the commit point it lands beside the published
// release.
func testStaleBase(t *testing.T, s publish.Store) {
	multiVersion(t, s)
	ctx := context.Background()
	first := t.TempDir()
	StageRelease(t, first, Release{Version: "1.0.0"})
	if _, err := newPublisher(t, s).Publish(ctx, first); err != nil {
		t.Fatal(err)
	}
	stale := t.TempDir()
	StageRelease(t, stale, Release{Version: "1.1.0"}) // serial 1, only 1.1.0
	_, err := newPublisher(t, s).Publish(ctx, stale)
	var he *manifest.HistoryError
	if !errors.As(err, &he) {
		t.Fatalf("Publish of a stale manifest: %v, want *manifest.HistoryError", err)
	}
	if serial, vs := published(t, s); serial != 1 || !slices.Equal(vs, []string{"1.0.0"}) {
		t.Fatalf("after the refusal: serial %d %v", serial, vs)
	}
	if _, err := newPublisher(t, s).PublishMerge(ctx, stale, MergeRelease(t, stale, "1.1.0")); err != nil {
		t.Fatalf("PublishMerge of the stale release: %v", err)
	}
	if serial, vs := published(t, s); serial != 2 || !slices.Equal(vs, []string{"1.0.0", "1.1.0"}) {
		t.Fatalf("after the merge: serial %d %v", serial, vs)
	}
}

// testConcurrentPublishers: two publishers of 1.2.0 and 1.3.0 started
// together, ConcurrentTrials times: both succeed and both are listed.
func testConcurrentPublishers(t *testing.T, newStore func(*testing.T) publish.Store, reopen func(*testing.T, publish.Store) publish.Store) {
	ctx := context.Background()
	base, a, b := t.TempDir(), t.TempDir(), t.TempDir()
	StageRelease(t, base, Release{Version: "1.0.0"})
	StageRelease(t, a, Release{Version: "1.2.0"})
	StageRelease(t, b, Release{Version: "1.3.0"})
	probe := newStore(t)
	multiVersion(t, probe)
	if c, ok := probe.(interface{ ConditionalWrites() bool }); ok && !c.ConditionalWrites() {
		t.Skip("the store replaces without conditions (an Unsafe option): racing publishers can lose a release")
	}
	for trial := range ConcurrentTrials {
		s := newStore(t)
		if _, err := newPublisher(t, s).Publish(ctx, base); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		start := make(chan struct{})
		for i, dir := range []string{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				own := s
				if reopen != nil {
					own = reopen(t, s) // each publisher its own client
				}
				p := newPublisher(t, own)
				v := map[int]string{0: "1.2.0", 1: "1.3.0"}[i]
				merge := MergeRelease(t, dir, v)
				<-start
				_, errs[i] = p.PublishMerge(ctx, dir, merge)
			}()
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("trial %d: publisher %d: %v", trial, i, err)
			}
		}
		if serial, vs := published(t, s); serial != 3 || !slices.Equal(vs, []string{"1.0.0", "1.2.0", "1.3.0"}) {
			t.Fatalf("trial %d: serial %d %v, want 3 and all three releases", trial, serial, vs)
		}
	}
}

// testKillThenMerge: a merging publish killed at every put (staged files,
// the content-addressed signatures, manifest.json, the legacy signature),
// then run again from a freshly staged copy, converges.
func testKillThenMerge(t *testing.T, newStore func(*testing.T) publish.Store) {
	multiVersion(t, newStore(t))
	ctx := context.Background()
	base := t.TempDir()
	StageRelease(t, base, Release{Version: "1.0.0"})
	names := StageRelease(t, t.TempDir(), Release{Version: "1.1.0"})
	// Count the puts of an uninterrupted merging publish.
	probe := newStore(t)
	if _, err := newPublisher(t, probe).Publish(ctx, base); err != nil {
		t.Fatal(err)
	}
	pdir := t.TempDir()
	StageRelease(t, pdir, Release{Version: "1.1.0"})
	counter := newRecorder(t, probe, names)
	if _, err := newPublisher(t, counter.wrap(), publish.WithConcurrency(1)).PublishMerge(ctx, pdir, MergeRelease(t, pdir, "1.1.0")); err != nil {
		t.Fatal(err)
	}
	total := counter.calls
	for n := range total {
		t.Run(fmt.Sprint("put-", n), func(t *testing.T) {
			s := newStore(t)
			if _, err := newPublisher(t, s).Publish(ctx, base); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			StageRelease(t, dir, Release{Version: "1.1.0"})
			rec := newRecorder(t, s, names)
			rec.putErr = func(call int, name string, attempt int) (before, after error) {
				if call == n {
					return nil, errKilled
				}
				return nil, nil
			}
			if _, err := newPublisher(t, rec.wrap(), publish.WithConcurrency(1)).PublishMerge(ctx, dir, MergeRelease(t, dir, "1.1.0")); !errors.Is(err, errKilled) {
				t.Fatalf("killed after put %d: %v", n, err)
			}
			if serial, vs := published(t, s); !slices.Equal(vs, []string{"1.0.0"}) && !slices.Equal(vs, []string{"1.0.0", "1.1.0"}) {
				t.Fatalf("after the kill: serial %d %v", serial, vs)
			}
			again := t.TempDir() // a fresh prepare
			StageRelease(t, again, Release{Version: "1.1.0"})
			if _, err := newPublisher(t, s).PublishMerge(ctx, again, MergeRelease(t, again, "1.1.0")); err != nil {
				t.Fatalf("re-run after a kill after put %d: %v", n, err)
			}
			if serial, vs := published(t, s); serial != 2 || !slices.Equal(vs, []string{"1.0.0", "1.1.0"}) {
				t.Fatalf("after the re-run: serial %d %v", serial, vs)
			}
		})
	}
}
