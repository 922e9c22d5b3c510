package release

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
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

// treeOf returns every file below root (but the DirStore's own hidden
// bookkeeping) with its SHA-256.
func treeOf(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if strings.HasPrefix(de.Name(), ".") && rel != "." {
			if de.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if de.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		h := sha256.Sum256(b)
		out[filepath.ToSlash(rel)] = hex.EncodeToString(h[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func treeDiff(a, b map[string]string) []string {
	var d []string
	for k, v := range b {
		if a[k] != v {
			d = append(d, k)
		}
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			d = append(d, "-"+k)
		}
	}
	slices.Sort(d)
	return d
}

// attack17: promise 3, "a publish without an index into a destination
// that has index.json is refused and changes nothing". It is refused,
// but only after the release's files were uploaded.
func TestAttack17RefusedUnindexedPublishChangesNothing(t *testing.T) {
	s, pub := newSigner(t)
	keys, signers := [][]byte{pub}, []sign.Signer{s}
	store, _ := dirStore(t)
	if _, err := publishTo(t, store, prepareVersion(t, s, "1.0.0", "", nil), keys, signers); err != nil {
		t.Fatal(err)
	}
	root := store.(*publish.DirStore).Root()
	m, err := manifest.LoadFile(filepath.Join(root, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	before := treeOf(t, root)
	_, err = publishTo(t, store, prepareVersion(t, s, "1.1.0", "", m), keys, nil)
	var re *publish.RootError
	if !errors.As(err, &re) {
		t.Fatalf("publish without an index into a v2 root: %v, want *publish.RootError", err)
	}
	if d := treeDiff(before, treeOf(t, root)); len(d) > 0 {
		t.Errorf("the refused publish changed the destination: %v", d)
	}
}

// attack17: a damaged index.json larger than manifest.MaxIndexSize (a
// truncated upload of something else, a botched manual copy) is never
// replaced: writeIndex reads it, gets ErrTooLarge, hashes nil and takes
// the mismatch for a concurrent replace, eight times, then fails the
// publish with a *publish.RaceError after manifest.json was committed.
// Every later publish fails the same way; v2 clients never see a release
// again. A small damaged index is replaced (the documented behaviour).
func TestAttack17OversizedDamagedIndexIsReplaced(t *testing.T) {
	s, pub := newSigner(t)
	keys, signers := [][]byte{pub}, []sign.Signer{s}
	for _, tc := range []struct {
		name string
		junk []byte
	}{
		{"small", []byte("{not json")},
		{"oversized", bytes.Repeat([]byte("x"), manifest.MaxIndexSize+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store, loc := dirStore(t)
			if _, err := publishTo(t, store, prepareVersion(t, s, "1.0.0", "", nil), keys, signers); err != nil {
				t.Fatal(err)
			}
			root := store.(*publish.DirStore).Root()
			if err := os.WriteFile(filepath.Join(root, "index.json"), tc.junk, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := publishTo(t, store, prepareVersion(t, s, "1.1.0", "", nil), keys, signers); err != nil {
				t.Fatalf("publish over a damaged %d-byte index.json: %v", len(tc.junk), err)
			}
			if serial, vs := checkRoot(t, loc, pub); serial != 2 || len(vs) != 2 {
				t.Fatalf("serial %d %v", serial, vs)
			}
		})
	}
}

// attack17: manifest.json restored from a backup (the rollback the
// merger's own message offers: "prepare again against this one if the
// rollback is wanted"), index.json left as it was. The next publish
// commits serial 2, but writeIndex keeps the unverified index.json of
// serial 3 because its serial is higher: the publish succeeds and
// index.json goes on listing a release manifest.json dropped and never
// lists the new one.
func TestAttack17IndexAheadOfManifestIsReplaced(t *testing.T) {
	s, pub := newSigner(t)
	keys, signers := [][]byte{pub}, []sign.Signer{s}
	store, loc := dirStore(t)
	root := store.(*publish.DirStore).Root()
	if _, err := publishTo(t, store, prepareVersion(t, s, "1.0.0", "", nil), keys, signers); err != nil {
		t.Fatal(err)
	}
	backup, _ := os.ReadFile(filepath.Join(root, "manifest.json"))
	for _, v := range []string{"1.1.0", "1.2.0"} {
		if _, err := publishTo(t, store, prepareVersion(t, s, v, "", nil), keys, signers); err != nil {
			t.Fatal(err)
		}
	}
	// 1.1.0 and 1.2.0 were bad: restore serial 1 (its signatures are
	// still under sigs/).
	if err := os.WriteFile(filepath.Join(root, "manifest.json"), backup, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Parse(backup)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := publishTo(t, store, prepareVersion(t, s, "1.0.1", "", m), keys, signers); err != nil {
		t.Fatal(err)
	}
	serial, vs := checkRoot(t, loc, pub) // fails when index.json is not manifest.json's
	if serial != 2 || !slices.Equal(vs, []string{"1.0.0", "1.0.1"}) {
		t.Errorf("manifest serial %d %v", serial, vs)
	}
}

// faultStore fails chosen calls on chosen names with a retryable-looking
// 503, a given number of times each.
type faultStore struct {
	publish.Store
	mu    sync.Mutex
	left  map[string]int // "op name" -> failures left
	fired atomic.Int64
}

type err503 struct{}

func (err503) Error() string       { return "503 Service Unavailable (injected)" }
func (err503) HTTPStatusCode() int { return 503 }

func (f *faultStore) hit(op, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for key, n := range f.left {
		pat, ok := strings.CutSuffix(key, "*")
		if n > 0 && (key == op+" "+name || ok && strings.HasPrefix(op+" "+name, pat)) {
			f.left[key] = n - 1
			f.fired.Add(1)
			return err503{}
		}
	}
	return nil
}

func (f *faultStore) Stat(ctx context.Context, name string) (publish.Object, error) {
	if err := f.hit("stat", name); err != nil {
		return publish.Object{}, err
	}
	return f.Store.Stat(ctx, name)
}

func (f *faultStore) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := f.hit("open", name); err != nil {
		return nil, err
	}
	return f.Store.Open(ctx, name)
}

func (f *faultStore) Put(ctx context.Context, name string, r *publish.Body, info publish.PutInfo) error {
	if err := f.hit("put", name); err != nil {
		return err
	}
	return f.Store.Put(ctx, name, r, info)
}

// attack17: errors on every store call the index protocol makes (Stat,
// Open and Put of index.json, the shards and the index's signatures),
// each persistent enough to fail the publish: after every one the index
// still verifies (one publish behind at most), and a re-run converges.
func TestAttack17InjectedErrorsAroundTheIndexConverge(t *testing.T) {
	s, pub := newSigner(t)
	keys, signers := [][]byte{pub}, []sign.Signer{s}
	ring, _ := verify.NewKeyRing(pub)
	const history = 300
	v110 := prepareVersion(t, s, "1.1.0", "", nil)
	for _, fault := range []string{"stat index.json", "open index.json", "put index.json", "put shards/*", "stat shards/*",
		"put sigs/index.json.*", "stat sigs/index.json.*", "put sigs/manifest.json.*", "open manifest.json", "stat manifest.json",
		"put manifest.json.sig", "put signatures.json"} {
		for _, times := range []int{2, 1 << 20} { // cured by the retries; persistent
			t.Run(fmt.Sprintf("%s/%d", fault, times), func(t *testing.T) {
				base, loc := dirStore(t)
				seedHistory(t, base, s, pub, history)
				fs := &faultStore{Store: base, left: map[string]int{fault: times}}
				_, err := publishTo(t, fs, v110, keys, signers)
				t.Logf("publish with %q failing %d times: %v", fault, times, err)
				if times == 2 && err != nil {
					t.Errorf("two transient failures of %q (the retry policy allows 3 attempts) failed the publish: %v", fault, err)
				}
				v, _ := verify.NewVerifier(ring, verify.WithProject("hello"))
				ix, ierr := v.FetchIndex(t.Context(), loc)
				if ierr != nil {
					t.Fatalf("after a publish with %q failing the index does not verify: %v", fault, ierr)
				}
				if _, ok, err := verify.FetchRelease(t.Context(), loc, ix, "0.1.0"); err != nil || !ok {
					t.Fatalf("the oldest release: %v %v", ok, err)
				}
				if err == nil {
					serial, _ := checkRoot(t, loc, pub)
					if serial != history+1 {
						t.Fatalf("a publish that reported success left serial %d", serial)
					}
					return
				}
				if _, err := publishTo(t, base, v110, keys, signers); err != nil {
					t.Fatalf("re-run: %v", err)
				}
				if serial, vs := checkRoot(t, loc, pub); serial != history+1 || len(vs) != history+1 {
					t.Fatalf("after the re-run: serial %d, %d releases", serial, len(vs))
				}
				if _, err := v.FetchIndex(t.Context(), loc); err != nil {
					t.Fatal(err)
				}
				if fs.fired.Load() == 0 {
					t.Errorf("%q never fired", fault)
				}
			})
		}
	}
}

// attack17: three publishers racing into a long history (shards), with a
// v2 reader polling the index and reading a shard throughout, then an
// amendment (yank of a release deep in a shard) racing a fourth
// publisher. Every reader sees a verifiable index that never goes back,
// and the end state lists everything under one serial.
func TestAttack17ThreeRacingPublishersIntoShards(t *testing.T) {
	s, pub := newSigner(t)
	keys, signers := [][]byte{pub}, []sign.Signer{s}
	ring, _ := verify.NewKeyRing(pub)
	const history = 300
	roots := []string{prepareVersion(t, s, "1.1.0", "", nil), prepareVersion(t, s, "1.2.0", "", nil), prepareVersion(t, s, "1.3.0", "", nil), prepareVersion(t, s, "1.4.0", "", nil)}
	for trial := range 3 {
		store, loc := dirStore(t)
		seedHistory(t, store, s, pub, history)
		done := make(chan struct{})
		var rwg sync.WaitGroup
		var reads atomic.Int64
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			v, _ := verify.NewVerifier(ring, verify.WithProject("hello"))
			for i := 0; i < 10000; i++ {
				select {
				case <-done:
					return
				default:
				}
				ix, err := v.FetchIndex(context.Background(), loc)
				if err != nil {
					t.Errorf("trial %d read %d: %v", trial, i, err)
					return
				}
				if _, ok, err := verify.FetchRelease(context.Background(), loc, ix, "0.1.3"); err != nil || !ok {
					t.Errorf("trial %d read %d: 0.1.3 from its shard: %v %v", trial, i, ok, err)
					return
				}
				reads.Add(1)
			}
		}()
		own := func() *publish.Publisher {
			ds, _ := publish.NewDirStore(store.(*publish.DirStore).Root())
			p, _ := publish.New(ds, publish.WithRetry(publish.RetryPolicy{Attempts: 3, InitialDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond}))
			return p
		}
		var wg sync.WaitGroup
		errs := make([]error, 5)
		start := make(chan struct{})
		for i, root := range roots[:3] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := own()
				<-start
				_, errs[i] = Publish(context.Background(), PublishConfig{Root: root, Publisher: p, Keys: keys, Signers: signers, SummaryDir: t.TempDir(), Logger: testLogger(t)})
			}()
		}
		close(start)
		wg.Wait()
		start = make(chan struct{})
		wg.Add(2)
		go func() {
			defer wg.Done()
			p := own()
			<-start
			_, errs[3] = Publish(context.Background(), PublishConfig{Root: roots[3], Publisher: p, Keys: keys, Signers: signers, SummaryDir: t.TempDir(), Logger: testLogger(t)})
		}()
		go func() {
			defer wg.Done()
			p := own()
			<-start
			_, errs[4] = Yank(context.Background(), AmendConfig{Project: "hello", Publisher: p, Keys: keys, Signers: signers}, "0.1.5", "bad")
		}()
		close(start)
		wg.Wait()
		close(done)
		rwg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("trial %d: writer %d: %v", trial, i, err)
			}
		}
		serial, vs := checkRoot(t, loc, pub)
		if serial != history+5 || len(vs) != history+4 {
			t.Fatalf("trial %d: serial %d, %d releases", trial, serial, len(vs))
		}
		v, _ := verify.NewVerifier(ring, verify.WithProject("hello"))
		ix, err := v.FetchIndex(t.Context(), loc)
		if err != nil {
			t.Fatal(err)
		}
		if r, ok, err := verify.FetchRelease(t.Context(), loc, ix, "0.1.5"); err != nil || !ok || r.Status != manifest.StatusYanked {
			t.Fatalf("trial %d: the yank deep in a shard: %+v %v %v", trial, r, ok, err)
		}
		t.Logf("trial %d: %d verified reads", trial, reads.Load())
	}
	_ = fmt.Sprint
}

// attack17 (held): a yank of a release deep in a shard (which rewrites
// that shard) killed after each of its writes: the index verifies and
// the release is found after each kill (yanked or not yet), and a re-run
// of the yank converges to an index that says yanked, in step with
// manifest.json.
func TestAttack17KilledYankConverges(t *testing.T) {
	s, pub := newSigner(t)
	keys, signers := [][]byte{pub}, []sign.Signer{s}
	ring, _ := verify.NewKeyRing(pub)
	const history = 300
	yank := func(store publish.Store) error {
		p, _ := publish.New(store, publish.WithRetry(publish.RetryPolicy{Attempts: 2, InitialDelay: time.Millisecond, MaxDelay: time.Millisecond}))
		_, err := Yank(t.Context(), AmendConfig{Project: "hello", Publisher: p, Keys: keys, Signers: signers}, "0.1.7", "bad")
		return err
	}
	probe, _ := dirStore(t)
	seedHistory(t, probe, s, pub, history)
	counter := &killAtPut{Store: probe, n: 1 << 30}
	if err := yank(counter); err != nil {
		t.Fatal(err)
	}
	total := counter.puts.Load()
	t.Logf("%d writes: %v", total, counter.names)
	for n := int64(0); n < total; n++ {
		store, loc := dirStore(t)
		seedHistory(t, store, s, pub, history)
		killed := &killAtPut{Store: store, n: n}
		if err := yank(killed); !errors.Is(err, errKilledTest) {
			t.Fatalf("kill after write %d: %v", n, err)
		}
		v, _ := verify.NewVerifier(ring, verify.WithProject("hello"))
		ix, err := v.FetchIndex(t.Context(), loc)
		if err != nil {
			t.Fatalf("kill after write %d (%s): %v", n, lastName(killed.names), err)
		}
		if _, ok, err := verify.FetchRelease(t.Context(), loc, ix, "0.1.7"); err != nil || !ok {
			t.Fatalf("kill after write %d: 0.1.7: %v %v", n, ok, err)
		}
		if err := yank(store); err != nil {
			t.Fatalf("re-run after a kill after write %d: %v", n, err)
		}
		checkRoot(t, loc, pub)
		ix, err = v.FetchIndex(t.Context(), loc)
		if err != nil {
			t.Fatal(err)
		}
		if r, ok, err := verify.FetchRelease(t.Context(), loc, ix, "0.1.7"); err != nil || !ok || r.Status != manifest.StatusYanked {
			t.Fatalf("after the re-run (kill after write %d): %+v %v %v", n, r, ok, err)
		}
	}
}
