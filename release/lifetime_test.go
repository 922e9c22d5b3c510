package release

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relkit/relkit/internal/s3test"
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish"
	s3store "github.com/relkit/relkit/publish/s3"
	"github.com/relkit/relkit/sign"
	"github.com/relkit/relkit/verify"
)

// prepareVersion stages version (on channel) with fake binaries and
// returns the staged root. published is the base the staged manifest is
// built on (nil: none, as a CLI run without --current did).
func prepareVersion(t *testing.T, s sign.Signer, version, channel string, published *manifest.Manifest) string {
	t.Helper()
	dist := t.TempDir()
	_, err := Prepare(t.Context(), Config{
		Project: "hello", Dist: dist, Version: version, Channel: channel, Prebuilt: fakeBinaries(t),
		SourceDate: testDate, SourceURI: "git+https://example.com/hello",
		Signers: []sign.Signer{s}, Published: published, Logger: testLogger(t),
	})
	if err != nil {
		t.Fatalf("prepare %s: %v", version, err)
	}
	return filepath.Join(dist, "release")
}

type storeKind struct {
	name string
	new  func(t *testing.T) (publish.Store, verify.Location)
}

func dirStore(t *testing.T) (publish.Store, verify.Location) {
	s, err := publish.NewDirStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s, verify.Dir(s.Root())
}

var s3Prefixes atomic.Int64

func s3Kind(srv func() *s3test.Server) storeKind {
	return storeKind{"s3", func(t *testing.T) (publish.Store, verify.Location) {
		st, err := s3store.New(context.Background(), srv().Bucket, s3store.WithConfig(srv().Config()),
			s3store.WithEndpoint(srv().Endpoint), s3store.WithPathStyle(),
			s3store.WithPrefix(fmt.Sprintf("life%d", s3Prefixes.Add(1))))
		if err != nil {
			t.Fatal(err)
		}
		return st, st // an S3 store reads like a verify.Location
	}}
}

func storeKinds(t *testing.T) []storeKind {
	var (
		once sync.Once
		srv  *s3test.Server
	)
	get := func() *s3test.Server {
		once.Do(func() { srv = s3test.Start(t) })
		return srv
	}
	kinds := []storeKind{{"dir", dirStore}}
	if _, err := s3test.LookPath(); err == nil || os.Getenv("RELKIT_INTEROP") == "1" {
		kinds = append(kinds, s3Kind(get))
	}
	return kinds
}

func publishTo(t *testing.T, store publish.Store, root string, keys [][]byte, signers []sign.Signer) (*State, error) {
	t.Helper()
	p, err := publish.New(store, publish.WithRetry(publish.RetryPolicy{Attempts: 3, InitialDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	return Publish(t.Context(), PublishConfig{Root: root, Publisher: p, Keys: keys, Signers: signers, SummaryDir: t.TempDir(), Logger: testLogger(t)})
}

// checkRoot is the independent checker: it shares no code with the
// writer (no relkit package but for reading bytes from the location). It
// reads manifest.json with encoding/json, verifies the ECDSA signature of
// its exact bytes under sigs/ with crypto/ecdsa, checks that the legacy
// manifest.json.sig also verifies (the publish finished), and returns the
// versions listed.
func checkRoot(t *testing.T, loc verify.Location, pubPEM []byte) (serial int64, versions []string) {
	t.Helper()
	read := func(name string) []byte {
		rc, err := loc.Open(context.Background(), name)
		if err != nil {
			t.Fatalf("checker: %s: %v", name, err)
		}
		defer rc.Close()
		data, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	block, _ := pem.Decode(pubPEM)
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pub := k.(*ecdsa.PublicKey)
	data := read("manifest.json")
	h := sha256.Sum256(data)
	for _, name := range []string{"sigs/manifest.json." + hex.EncodeToString(h[:]) + ".sig", "manifest.json.sig"} {
		sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(read(name))))
		if err != nil || !ecdsa.VerifyASN1(pub, h[:], sig) {
			t.Errorf("checker: %s does not verify manifest.json (serial read below)", name)
		}
	}
	var m struct {
		Project  string `json:"project"`
		Serial   int64  `json:"serial"`
		Releases []struct {
			Version string `json:"version"`
		} `json:"releases"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("checker: manifest.json: %v", err)
	}
	if m.Project != "hello" {
		t.Errorf("checker: project %q", m.Project)
	}
	for _, r := range m.Releases {
		versions = append(versions, r.Version)
	}
	slices.Sort(versions)
	// The v2 index a publish with signers writes after the commit: same
	// serial, and with its shards the same releases.
	iserial, iversions := checkIndex(t, read, pub)
	if iserial != m.Serial || !slices.Equal(iversions, versions) {
		t.Errorf("checker: index.json has serial %d and %d releases, manifest.json serial %d and %d releases", iserial, len(iversions), m.Serial, len(versions))
	}
	return m.Serial, versions
}

// checkIndex is the independent checker of index.json: encoding/json and
// crypto/ecdsa only. It verifies the index's signature under sigs/, reads
// every shard it names, checks each shard's SHA-256 and size against the
// index, and returns the serial and every version listed, sorted.
func checkIndex(t *testing.T, read func(string) []byte, pub *ecdsa.PublicKey) (int64, []string) {
	t.Helper()
	data := read("index.json")
	h := sha256.Sum256(data)
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(read("sigs/index.json." + hex.EncodeToString(h[:]) + ".sig"))))
	if err != nil || !ecdsa.VerifyASN1(pub, h[:], sig) {
		t.Errorf("checker: the signature of index.json does not verify")
	}
	type rels []struct {
		Version string `json:"version"`
	}
	var ix struct {
		Schema   string `json:"schema"`
		Project  string `json:"project"`
		Serial   int64  `json:"serial"`
		Releases rels   `json:"releases"`
		Shards   []struct {
			Path   string `json:"path"`
			SHA256 string `json:"sha256"`
			Size   int    `json:"size"`
			Count  int    `json:"count"`
		} `json:"shards"`
	}
	if err := json.Unmarshal(data, &ix); err != nil {
		t.Fatalf("checker: index.json: %v", err)
	}
	if ix.Schema != "relkit.manifest/v2" || ix.Project != "hello" {
		t.Errorf("checker: index.json schema %q project %q", ix.Schema, ix.Project)
	}
	var versions []string
	for _, r := range ix.Releases {
		versions = append(versions, r.Version)
	}
	for _, ref := range ix.Shards {
		b := read(ref.Path)
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != ref.SHA256 || len(b) != ref.Size {
			t.Errorf("checker: %s does not match the index", ref.Path)
		}
		var sh struct {
			Releases rels `json:"releases"`
		}
		if err := json.Unmarshal(b, &sh); err != nil || len(sh.Releases) != ref.Count {
			t.Errorf("checker: %s: %v (%d releases, index says %d)", ref.Path, err, len(sh.Releases), ref.Count)
		}
		for _, r := range sh.Releases {
			versions = append(versions, r.Version)
		}
	}
	slices.Sort(versions)
	return ix.Serial, versions
}

// TestStaleBaseIsMerged: issue 12, failure 1. A release prepared without
// the published manifest (Config.Published nil, as the CLI without
// --current) used to replace it, dropping 1.0.0. Publish with Signers now
// merges it into what the destination holds; without Signers it is
// refused with a typed error and nothing is replaced.
func TestStaleBaseIsMerged(t *testing.T) {
	s, pub := newSigner(t)
	keys, signers := [][]byte{pub}, []sign.Signer{s}
	v100 := prepareVersion(t, s, "1.0.0", "", nil)
	v110 := prepareVersion(t, s, "1.1.0", "", nil) // stale: knows nothing of 1.0.0
	for _, k := range storeKinds(t) {
		t.Run(k.name, func(t *testing.T) {
			store, loc := k.new(t)
			if _, err := publishTo(t, store, v100, keys, signers); err != nil {
				t.Fatal(err)
			}
			// Without signers the staged manifest is published as is:
			// refused, nothing replaced.
			_, err := publishTo(t, store, v110, keys, nil)
			var he *manifest.HistoryError
			if !errors.As(err, &he) || !slices.Contains(he.Problems, "release 1.0.0 is missing") {
				t.Fatalf("stale staged manifest without signers: %v, want *manifest.HistoryError naming 1.0.0", err)
			}
			if serial, vs := checkRoot(t, loc, pub); serial != 1 || !slices.Equal(vs, []string{"1.0.0"}) {
				t.Fatalf("after the refusal: serial %d %v, want 1 [1.0.0]", serial, vs)
			}
			// With signers: merged at the commit point.
			st, err := publishTo(t, store, v110, keys, signers)
			if err != nil {
				t.Fatalf("stale base with signers: %v", err)
			}
			serial, vs := checkRoot(t, loc, pub)
			if serial != 2 || !slices.Equal(vs, []string{"1.0.0", "1.1.0"}) || st.Serial != 2 {
				t.Fatalf("after merge: serial %d (state %d) %v, want 2 [1.0.0 1.1.0]", serial, st.Serial, vs)
			}
			// A client that accepted serial 1 accepts the new manifest.
			ring, _ := verify.NewKeyRing(pub)
			v, _ := verify.NewVerifier(ring, verify.WithProject("hello"))
			m, err := v.FetchManifest(t.Context(), loc)
			if err != nil || m.Aliases["latest"] != "1.1.0" {
				t.Fatalf("client: %v %v", m, err)
			}
			// A re-run changes nothing.
			if _, err := publishTo(t, store, v110, keys, signers); err != nil {
				t.Fatal(err)
			}
			if serial, _ := checkRoot(t, loc, pub); serial != 2 {
				t.Errorf("re-run moved the serial to %d", serial)
			}
		})
	}
}

// TestRacingPublishers: issue 12, failure 2. Two publishers of 1.2.0 and
// 1.3.0 started together into one root: every trial ends with both
// releases listed, both processes successful, every signature valid.
func TestRacingPublishers(t *testing.T) {
	s, pub := newSigner(t)
	keys, signers := [][]byte{pub}, []sign.Signer{s}
	v100 := prepareVersion(t, s, "1.0.0", "", nil)
	v120 := prepareVersion(t, s, "1.2.0", "", nil)
	v130 := prepareVersion(t, s, "1.3.0", "", nil)
	const trials = 20
	for _, k := range storeKinds(t) {
		t.Run(k.name, func(t *testing.T) {
			for trial := range trials {
				store, loc := k.new(t)
				if _, err := publishTo(t, store, v100, keys, signers); err != nil {
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				errs := make([]error, 2)
				start := make(chan struct{})
				for i, root := range []string{v120, v130} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						// Each publisher has its own store client, as two CI
						// jobs would.
						own := store
						if ds, ok := store.(*publish.DirStore); ok {
							own, _ = publish.NewDirStore(ds.Root())
						}
						p, err := publish.New(own, publish.WithRetry(publish.RetryPolicy{Attempts: 3, InitialDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond}))
						if err != nil {
							errs[i] = err
							return
						}
						<-start
						_, errs[i] = Publish(context.Background(), PublishConfig{Root: root, Publisher: p, Keys: keys, Signers: signers, SummaryDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
					}()
				}
				close(start)
				wg.Wait()
				for i, err := range errs {
					if err != nil {
						t.Errorf("trial %d: publisher %d: %v", trial, i, err)
					}
				}
				serial, vs := checkRoot(t, loc, pub)
				if !slices.Equal(vs, []string{"1.0.0", "1.2.0", "1.3.0"}) || serial != 3 {
					t.Fatalf("trial %d: serial %d, releases %v; want 3 and all three", trial, serial, vs)
				}
			}
		})
	}
}

// failAfter is a Store that fails every Put once the named object has
// been put: a publish killed right after it.
type failAfter struct {
	publish.Store
	after string
	hit   atomic.Bool
}

var errKilledTest = errors.New("killed")

func (f *failAfter) Put(ctx context.Context, name string, r *publish.Body, info publish.PutInfo) error {
	if f.hit.Load() {
		return errKilledTest
	}
	err := f.Store.Put(ctx, name, r, info)
	if name == f.after {
		f.hit.Store(true)
	}
	return err
}

// TestKilledAfterSignatureConverges: issue 12, failure 3. A publish killed
// after the version's SHA256SUMS.sig (or its signatures.json) was uploaded,
// then a fresh Prepare (signing again) and a re-run, converges: the
// signatures are deterministic, so the re-signed files are the published
// bytes.
func TestKilledAfterSignatureConverges(t *testing.T) {
	s, pub := newSigner(t)
	keys, signers := [][]byte{pub}, []sign.Signer{s}
	for _, after := range []string{"1.1.0/SHA256SUMS.sig", "1.1.0/signatures.json", "1.1.0/sbom.spdx.json"} {
		t.Run(filepath.Base(after), func(t *testing.T) {
			store, loc := dirStore(t)
			if _, err := publishTo(t, store, prepareVersion(t, s, "1.0.0", "", nil), keys, signers); err != nil {
				t.Fatal(err)
			}
			killed := &failAfter{Store: store, after: after}
			if _, err := publishTo(t, killed, prepareVersion(t, s, "1.1.0", "", nil), keys, signers); !errors.Is(err, errKilledTest) {
				t.Fatalf("killed publish: %v", err)
			}
			if !killed.hit.Load() {
				t.Fatalf("%s was never uploaded", after)
			}
			// The CLI re-run: prepare afresh, publish again.
			if _, err := publishTo(t, store, prepareVersion(t, s, "1.1.0", "", nil), keys, signers); err != nil {
				t.Fatalf("re-run after a kill after %s: %v", after, err)
			}
			if serial, vs := checkRoot(t, loc, pub); serial != 2 || !slices.Equal(vs, []string{"1.0.0", "1.1.0"}) {
				t.Fatalf("after the re-run: serial %d %v", serial, vs)
			}
		})
	}
}

// TestReaderDuringPublishes: issue 12, failure 5. A reader polls the root
// while releases are published one after another: every manifest it reads
// verifies (its signatures are under sigs/ before it is visible), and the
// serial never goes back.
func TestReaderDuringPublishes(t *testing.T) {
	s, pub := newSigner(t)
	keys, signers := [][]byte{pub}, []sign.Signer{s}
	var roots []string
	for i := range 6 {
		roots = append(roots, prepareVersion(t, s, fmt.Sprintf("1.%d.0", i), "", nil))
	}
	store, loc := dirStore(t)
	if _, err := publishTo(t, store, roots[0], keys, signers); err != nil {
		t.Fatal(err)
	}
	ring, _ := verify.NewKeyRing(pub)
	done := make(chan struct{})
	var reads, failures atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		v, _ := verify.NewVerifier(ring, verify.WithProject("hello")) // keeps the serial: a rollback fails
		v2, _ := verify.NewVerifier(ring, verify.WithProject("hello"))
		for i := 0; i < 100000; i++ { // bounded
			select {
			case <-done:
				return
			default:
			}
			if _, err := v.FetchManifest(context.Background(), loc); err != nil {
				failures.Add(1)
				t.Errorf("read %d: %v", i, err)
				return
			}
			// A v2 client: the index (written after each commit) verifies
			// at every moment too, and never goes back.
			if _, err := v2.FetchIndex(context.Background(), loc); err != nil {
				failures.Add(1)
				t.Errorf("index read %d: %v", i, err)
				return
			}
			reads.Add(1)
		}
	}()
	for _, root := range roots[1:] {
		if _, err := publishTo(t, store, root, keys, signers); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	if reads.Load() == 0 {
		t.Fatal("the reader read nothing")
	}
	t.Logf("%d verified reads during %d publishes", reads.Load(), len(roots)-1)
	if serial, vs := checkRoot(t, loc, pub); serial != 6 || len(vs) != 6 {
		t.Fatalf("serial %d, %v", serial, vs)
	}
}

// TestLifetimeOperations: refresh, yank, deprecate and prune are signed
// root changes that keep everything else; bad input is typed and replaces
// nothing. Issue 12, failure 4.
func TestLifetimeOperations(t *testing.T) {
	s, pub := newSigner(t)
	keys, signers := [][]byte{pub}, []sign.Signer{s}
	store, loc := dirStore(t)
	for _, rv := range []struct{ v, ch string }{
		{"1.0.0", ""}, {"1.1.0", ""}, {"1.2.0-nightly.1", "nightly"}, {"1.2.0-nightly.2", "nightly"}, {"1.2.0-nightly.3", "nightly"},
	} {
		if _, err := publishTo(t, store, prepareVersion(t, s, rv.v, rv.ch, nil), keys, signers); err != nil {
			t.Fatal(err)
		}
	}
	p, _ := publish.New(store)
	now := time.Now().UTC().Truncate(time.Second)
	c := AmendConfig{Project: "hello", Publisher: p, Keys: keys, Signers: signers, Now: func() time.Time { return now.Add(80 * 24 * time.Hour) }}
	ctx := t.Context()
	fetch := func() *manifest.Manifest {
		t.Helper()
		ring, _ := verify.NewKeyRing(pub)
		v, _ := verify.NewVerifier(ring, verify.WithProject("hello"), verify.WithClock(func() time.Time { return now.Add(85 * 24 * time.Hour) }))
		m, err := v.FetchManifest(ctx, loc)
		if err != nil {
			t.Fatalf("client: %v", err)
		}
		return m
	}
	before, _ := checkRoot(t, loc, pub)

	// Refresh: serial+1, a new expiry, nothing else.
	res, err := Refresh(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if want := now.Add(170 * 24 * time.Hour); !res.Expires.Equal(want) || !res.Root.Changed {
		t.Errorf("refresh: expires %v changed %v, want %v", res.Expires, res.Root.Changed, want)
	}
	m := fetch() // 85 days on, past the old 90-day expiry of day 0... still fine after the refresh
	if m.Serial != before+1 || len(m.Releases) != 5 {
		t.Errorf("refresh: serial %d releases %d", m.Serial, len(m.Releases))
	}

	if _, err := Yank(ctx, c, "1.1.0", ""); err == nil {
		t.Error("yank without a reason accepted")
	}
	if _, err := Yank(ctx, c, "1.1.0", "corrupts the config file"); err != nil {
		t.Fatal(err)
	}
	if m := fetch(); m.Aliases["latest"] != "1.0.0" {
		t.Errorf("after yank: latest %s", m.Aliases["latest"])
	}
	if _, err := Deprecate(ctx, c, "1.0.0", "use 1.2"); err != nil {
		t.Fatal(err)
	}
	if _, err := Yank(ctx, c, "9.9.9", "nope"); !errors.Is(err, manifest.ErrNotFound) {
		t.Errorf("yank of an unknown version: %v", err)
	}
	pr, err := Prune(ctx, c, manifest.RetentionPolicy{Channels: []string{"nightly"}, Keep: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pr.Removed, []string{"1.2.0-nightly.2", "1.2.0-nightly.1"}) {
		t.Errorf("pruned %v", pr.Removed)
	}
	if _, err := Prune(ctx, c, manifest.RetentionPolicy{Channels: []string{"stable"}, Keep: 1}); err == nil {
		t.Error("pruning stable by count accepted")
	}
	serial, vs := checkRoot(t, loc, pub)
	if !slices.Equal(vs, []string{"1.0.0", "1.1.0", "1.2.0-nightly.3"}) || serial != before+4 {
		t.Errorf("after the operations: serial %d (want %d) %v", serial, before+4, vs)
	}

	// Bad input: a destination manifest that does not verify with the
	// keys, or of another project: typed, nothing replaced.
	other, _ := newSigner(t)
	bad := c
	bad.Keys, bad.Signers = [][]byte{mustPEM(t, other)}, []sign.Signer{other}
	if _, err := Refresh(ctx, bad); !isRootError(err) {
		t.Errorf("refresh with keys the published manifest is not signed by: %v, want *publish.RootError", err)
	}
	// A signer that is not among the trusted keys would commit a
	// manifest nobody accepts: refused before anything is read.
	bad = c
	bad.Signers = []sign.Signer{other}
	var ce *ConfigError
	if _, err := Refresh(ctx, bad); !errors.As(err, &ce) {
		t.Errorf("refresh signed by an untrusted key: %v, want *ConfigError", err)
	}
	bad = c
	bad.Project = "other"
	if _, err := Refresh(ctx, bad); !isRootError(err) || !strings.Contains(err.Error(), "project") {
		t.Errorf("refresh of another project's root: %v", err)
	}
	if s2, _ := checkRoot(t, loc, pub); s2 != serial {
		t.Errorf("a refused change moved the serial to %d", s2)
	}
}

func isRootError(err error) bool {
	var re *publish.RootError
	return errors.As(err, &re)
}

func mustPEM(t *testing.T, s sign.Signer) []byte {
	t.Helper()
	p, err := verify.MarshalPublicKey(s.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	return p
}
