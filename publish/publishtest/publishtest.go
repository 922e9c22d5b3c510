// Package publishtest is the conformance suite every [publish.Store]
// provider runs, in the manner of x/mod's sumdb/storage tests: a provider's
// test calls [Run] with a function returning a fresh, empty store, and the
// suite checks the Store contract and the commit-point protocol on top of
// it.
//
//	func TestConformance(t *testing.T) {
//		publishtest.Run(t, func(t *testing.T) publish.Store {
//			s, err := publish.NewDirStore(t.TempDir())
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// What it checks:
//
//   - the Store contract: Stat and Open of a missing name wrap
//     publish.ErrNotExist; a create-only Put of a taken name wraps
//     publish.ErrExist and changes nothing; Replace replaces; a body that
//     does not match its SHA-256, or a Put cancelled halfway, leaves
//     nothing under the name;
//   - the upload order: stages never go backwards and manifest.json is
//     uploaded last; when it is (or, for a [publish.Committer], when Commit
//     runs) every other file is already stored;
//   - idempotence: a re-run of a complete publish uploads zero bytes and
//     calls Put zero times;
//   - refusal: different bytes under a published name are a
//     *publish.ConflictError and nothing is uploaded; a staged file that
//     changes after planning is never published;
//   - replacement of the mutable root files (manifest.json and its
//     signatures) when only they change;
//   - kill and resume at every step: a failure injected before, and after,
//     the N-th Put for every N leaves manifest.json unpublished (or the
//     store uncommitted), and a re-run uploads exactly what is missing and
//     converges;
//   - retries: transient errors (HTTP 5xx, 429) on Put and Stat are
//     retried, a 4xx is not;
//   - promotion from the store: everything published reads back through
//     Open, byte for byte, into another store.
//
// [StageRelease] writes the staged release the suite publishes; provider
// tests and examples may use it too.
package publishtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish"
)

// FastRetry is the retry policy the suite uses: several attempts with
// millisecond waits.
var FastRetry = publish.RetryPolicy{Attempts: 4, InitialDelay: time.Millisecond, MaxDelay: 4 * time.Millisecond}

// Run runs the conformance suite against stores returned by newStore, which
// must return a new, empty store on every call (a fresh directory, bucket
// prefix or GitHub release).
func Run(t *testing.T, newStore func(t *testing.T) publish.Store) {
	RunWith(t, newStore, Options{})
}

// Options are the optional parts of a conformance run.
type Options struct {
	// Reopen returns another client for the destination of s (a new
	// DirStore on the same root, a new S3 client on the same prefix, a
	// new forge client on the same repository). The ConcurrentPublishers
	// case then gives each racing publisher its own, as two CI jobs have;
	// without it they share s.
	Reopen func(t *testing.T, s publish.Store) publish.Store
}

// RunWith is Run with options.
func RunWith(t *testing.T, newStore func(t *testing.T) publish.Store, o Options) {

	t.Run("Contract", func(t *testing.T) { testContract(t, newStore(t)) })
	t.Run("PublishOrder", func(t *testing.T) { testPublishOrder(t, newStore(t)) })
	t.Run("IdempotentRerun", func(t *testing.T) { testRerun(t, newStore(t)) })
	t.Run("RefuseChangedBytes", func(t *testing.T) { testRefuse(t, newStore(t)) })
	t.Run("ChangedAfterPlan", func(t *testing.T) { testChangedAfterPlan(t, newStore(t)) })
	t.Run("ReplaceManifest", func(t *testing.T) { testReplaceManifest(t, newStore(t)) })
	t.Run("KillAndResume", func(t *testing.T) { testKillAndResume(t, newStore) })
	t.Run("CancelMidUpload", func(t *testing.T) { testCancelMidUpload(t, newStore(t)) })
	t.Run("RetryTransient", func(t *testing.T) { testRetry(t, newStore(t)) })
	t.Run("NoRetryOn4xx", func(t *testing.T) { testNoRetry(t, newStore(t)) })
	t.Run("PromoteFrom", func(t *testing.T) { testPromoteFrom(t, newStore(t)) })
	t.Run("StaleBase", func(t *testing.T) { testStaleBase(t, newStore(t)) })
	t.Run("ConcurrentPublishers", func(t *testing.T) { testConcurrentPublishers(t, newStore, o.Reopen) })
	t.Run("KillThenMerge", func(t *testing.T) { testKillThenMerge(t, newStore) })
}

// testPromoteFrom publishes to the store, then promotes from it into a
// directory: every file comes back through Open with the same bytes.
func testPromoteFrom(t *testing.T, s publish.Store) {
	ctx := context.Background()
	dir := t.TempDir()
	names := StageRelease(t, dir, Release{})
	if _, err := newPublisher(t, s).Publish(ctx, dir); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	live, err := publish.NewDirStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	res, err := newPublisher(t, live).Promote(ctx, s, publish.PromoteOptions{})
	if err != nil {
		t.Fatalf("Promote from the store: %v", err)
	}
	if res.Uploaded != len(names) {
		t.Errorf("Promote uploaded %d files, want %d", res.Uploaded, len(names))
	}
	checkRelease(t, live, dir, names)
}

// SHA256 returns the lowercase hex SHA-256 of b.
func SHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func sum(b []byte) string { return SHA256(b) }

func put(ctx context.Context, s publish.Store, name string, data []byte, replace bool) error {
	return s.Put(ctx, name, publish.NewBody(name, bytes.NewReader(data), int64(len(data)), sum(data)),
		publish.PutInfo{Size: int64(len(data)), SHA256: sum(data), ContentType: "application/octet-stream",
			Stage: publish.StageArtifact, Replace: replace})
}

// checkObject fails unless s holds exactly want under name.
func checkObject(t *testing.T, s publish.Store, name string, want []byte) {
	t.Helper()
	ctx := context.Background()
	obj, err := s.Stat(ctx, name)
	if err != nil {
		t.Fatalf("Stat(%q): %v", name, err)
	}
	if obj.Size != int64(len(want)) {
		t.Errorf("Stat(%q).Size = %d, want %d", name, obj.Size, len(want))
	}
	if obj.SHA256 != "" && obj.SHA256 != sum(want) {
		t.Errorf("Stat(%q).SHA256 = %s, want %s", name, obj.SHA256, sum(want))
	}
	rc, err := s.Open(ctx, name)
	if err != nil {
		t.Fatalf("Open(%q): %v", name, err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Open(%q): read: %v", name, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Open(%q): %d bytes (sha256 %s), want %d bytes (sha256 %s)", name, len(got), sum(got), len(want), sum(want))
	}
}

func checkMissing(t *testing.T, s publish.Store, name string) {
	t.Helper()
	if obj, err := s.Stat(context.Background(), name); !errors.Is(err, publish.ErrNotExist) {
		t.Errorf("Stat(%q) = %+v, %v; want an error wrapping ErrNotExist", name, obj, err)
	}
}

func testContract(t *testing.T, s publish.Store) {
	ctx := context.Background()
	name := "0.0.1/contract.bin"
	checkMissing(t, s, name)
	if rc, err := s.Open(ctx, name); !errors.Is(err, publish.ErrNotExist) {
		if rc != nil {
			rc.Close()
		}
		t.Errorf("Open(missing) error = %v, want ErrNotExist", err)
	}
	first := bytes.Repeat([]byte("first "), 1000)
	if err := put(ctx, s, name, first, false); err != nil {
		t.Fatalf("Put: %v", err)
	}
	checkObject(t, s, name, first)

	second := bytes.Repeat([]byte("other "), 999)
	err := put(ctx, s, name, second, false)
	if !errors.Is(err, publish.ErrExist) {
		t.Errorf("create-only Put over an existing object: error = %v, want ErrExist", err)
	}
	if publish.IsRetryable(err) {
		t.Errorf("IsRetryable(%v) = true for a taken name", err)
	}
	checkObject(t, s, name, first)

	if err := put(ctx, s, name, second, true); err != nil {
		t.Fatalf("Put with Replace: %v", err)
	}
	checkObject(t, s, name, second)

	// A body whose bytes do not match the declared SHA-256.
	bad := "0.0.1/corrupt.bin"
	data := []byte("these are not the bytes you declared")
	wrong := sum([]byte("something else"))
	err = s.Put(ctx, bad, publish.NewBody(bad, bytes.NewReader(data), int64(len(data)), wrong),
		publish.PutInfo{Size: int64(len(data)), SHA256: wrong, ContentType: "application/octet-stream", Stage: publish.StageArtifact})
	if !errors.Is(err, publish.ErrChecksum) && err == nil {
		t.Errorf("Put of bytes not matching their SHA-256 succeeded")
	}
	checkMissing(t, s, bad)
}

// recorder wraps a store, records calls and injects failures.
type recorder struct {
	publish.Store
	t     *testing.T
	names []string // every staged name, for the commit-point check

	mu        sync.Mutex
	puts      []string // completed puts, in order
	stages    []publish.Stage
	attempts  map[string]int
	calls     int // Put calls
	commits   int
	putErr    func(call int, name string, attempt int) (before, after error)
	statErr   func(name string, attempt int) error
	statCalls map[string]int
	onPut     func(ctx context.Context, name string) context.Context
}

func newRecorder(t *testing.T, s publish.Store, names []string) *recorder {
	return &recorder{Store: s, t: t, names: names, attempts: map[string]int{}, statCalls: map[string]int{}}
}

// wrap returns the recorder as a Store that is a Committer exactly when the
// underlying store is one.
func (r *recorder) wrap() publish.Store {
	if _, ok := r.Store.(publish.Committer); ok {
		return committingRecorder{r}
	}
	return r
}

func (r *recorder) Stat(ctx context.Context, name string) (publish.Object, error) {
	r.mu.Lock()
	r.statCalls[name]++
	n := r.statCalls[name]
	fn := r.statErr
	r.mu.Unlock()
	if fn != nil {
		if err := fn(name, n); err != nil {
			return publish.Object{}, err
		}
	}
	return r.Store.Stat(ctx, name)
}

func (r *recorder) Put(ctx context.Context, name string, body *publish.Body, info publish.PutInfo) error {
	r.mu.Lock()
	call := r.calls
	r.calls++
	r.attempts[name]++
	attempt := r.attempts[name]
	fn := r.putErr
	r.mu.Unlock()
	var before, after error
	if fn != nil {
		before, after = fn(call, name, attempt)
	}
	if before != nil {
		return before
	}
	if name == manifest.File {
		if _, ok := r.Store.(publish.Committer); !ok {
			// The legacy root signature files follow the manifest; the
			// signatures of these manifest bytes must be in place.
			r.checkAllStored(manifest.File, publish.ManifestSigName, manifest.SignaturesFile)
			if slices.Contains(r.names, publish.ManifestSigName) {
				if _, err := r.Store.Stat(ctx, manifest.SignaturePath(manifest.File, info.SHA256)); err != nil {
					r.t.Errorf("commit point reached before the signature of the new manifest: %v", err)
				}
			}
		}
	}
	if r.onPut != nil {
		ctx = r.onPut(ctx, name)
	}
	if err := r.Store.Put(ctx, name, body, info); err != nil {
		return err
	}
	r.mu.Lock()
	r.puts = append(r.puts, name)
	r.stages = append(r.stages, info.Stage)
	r.mu.Unlock()
	return after
}

// checkAllStored fails the test unless every staged name except skip is
// stored: called when the commit point is about to be passed.
func (r *recorder) checkAllStored(skip ...string) {
	for _, n := range r.names {
		if slices.Contains(skip, n) {
			continue
		}
		if _, err := r.Store.Stat(context.Background(), n); err != nil {
			r.t.Errorf("commit point reached while %s is not stored: %v", n, err)
		}
	}
}

type committingRecorder struct{ *recorder }

func (c committingRecorder) Commit(ctx context.Context) error {
	c.checkAllStored()
	c.mu.Lock()
	c.commits++
	c.mu.Unlock()
	return c.Store.(publish.Committer).Commit(ctx)
}

func newPublisher(t *testing.T, s publish.Store, opts ...publish.Option) *publish.Publisher {
	t.Helper()
	p, err := publish.New(s, append([]publish.Option{publish.WithRetry(FastRetry), publish.WithConcurrency(3)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// checkRelease fails unless s holds every staged file of dir.
func checkRelease(t *testing.T, s publish.Store, dir string, names []string) {
	t.Helper()
	for _, n := range names {
		want, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(n)))
		if err != nil {
			t.Fatal(err)
		}
		checkObject(t, s, n, want)
	}
}

func testPublishOrder(t *testing.T, s publish.Store) {
	dir := t.TempDir()
	names := StageRelease(t, dir, Release{})
	rec := newRecorder(t, s, names)
	var events []publish.Progress
	p := newPublisher(t, rec.wrap(), publish.WithProgress(func(pr publish.Progress) { events = append(events, pr) }))
	res, err := p.Publish(context.Background(), dir)
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	// Every staged file, plus the signatures of the manifest's bytes
	// under their content-addressed names (sigs/).
	mdata, err := os.ReadFile(filepath.Join(dir, manifest.File))
	if err != nil {
		t.Fatal(err)
	}
	msum := sum(mdata)
	wantPuts := append(slices.Clone(names), manifest.SignaturePath(manifest.File, msum), manifest.SignatureSetPath(manifest.File, msum))
	slices.Sort(wantPuts)
	gotPuts := slices.Sorted(slices.Values(rec.puts))
	if !slices.Equal(gotPuts, wantPuts) {
		t.Errorf("Put %v, want %v", gotPuts, wantPuts)
	}
	// Stages never go back, except for the legacy manifest.json.sig and
	// root signatures.json, which are brought in line after the commit
	// point.
	var order []publish.Stage
	var orderNames []string
	for i, n := range rec.puts {
		if n != publish.ManifestSigName && n != manifest.SignaturesFile {
			order, orderNames = append(order, rec.stages[i]), append(orderNames, n)
		}
	}
	for i := 1; i < len(order); i++ {
		if order[i] < order[i-1] {
			t.Errorf("upload order went back from %s (%s) to %s (%s): %v", orderNames[i-1], order[i-1], orderNames[i], order[i], rec.puts)
		}
	}
	if len(orderNames) > 0 && orderNames[len(orderNames)-1] != manifest.File {
		t.Errorf("last upload = %s, want %s (then only the legacy %s and %s): %v", orderNames[len(orderNames)-1], manifest.File, publish.ManifestSigName, manifest.SignaturesFile, rec.puts)
	}
	wantStage := map[string]publish.Stage{
		"1.0.0/hello-1.0.0-linux-amd64.tar.gz": publish.StageArtifact,
		"1.0.0/SHA256SUMS":                     publish.StageChecksums,
		"1.0.0/SHA256SUMS.sig":                 publish.StageSignature,
		"1.0.0/sbom.spdx.json":                 publish.StageMetadata,
		"1.0.0/provenance.intoto.json":         publish.StageMetadata,
		"1.0.0/release-notes.md":               publish.StageMetadata,
		"manifest.json.sig":                    publish.StageIndex,
		"signatures.json":                      publish.StageIndex,
		"manifest.json":                        publish.StageManifest,
	}
	for i, n := range rec.puts {
		if w, ok := wantStage[n]; ok && rec.stages[i] != w {
			t.Errorf("%s uploaded as stage %s, want %s", n, rec.stages[i], w)
		}
	}
	if _, ok := s.(publish.Committer); ok && rec.commits != 1 {
		t.Errorf("Commit called %d times, want 1", rec.commits)
	}
	checkRelease(t, s, dir, names)

	if res.Uploaded != len(names) || res.Skipped != 0 || len(res.Assets) != len(names) {
		t.Errorf("Result: %d uploaded, %d skipped, %d assets; want %d, 0, %d", res.Uploaded, res.Skipped, len(res.Assets), len(names), len(names))
	}
	var total int64
	for _, n := range names {
		fi, _ := os.Stat(filepath.Join(dir, filepath.FromSlash(n)))
		total += fi.Size()
	}
	if res.BytesUploaded != total {
		t.Errorf("Result.BytesUploaded = %d, want %d", res.BytesUploaded, total)
	}
	got := res.Names()
	slices.Sort(got)
	if !slices.Equal(got, names) {
		t.Errorf("Result.Names() = %v, want %v", got, names)
	}
	if loc, ok := s.(publish.Locator); ok {
		for _, n := range names {
			if loc.URL(n) == "" {
				t.Errorf("URL(%q) is empty", n)
			}
		}
	}

	// Progress: every file done once, bytes add up.
	done := map[string]int{}
	var last publish.Progress
	for _, e := range events {
		if e.Event == publish.EventDone {
			done[e.Name]++
		}
		last = e
	}
	for _, n := range names {
		if done[n] != 1 {
			t.Errorf("progress: %d done events for %s, want 1", done[n], n)
		}
	}
	if last.Event != publish.EventCommit || last.Files != len(names) || last.Bytes != total || last.TotalBytes != total {
		t.Errorf("last progress = %+v, want commit with %d files and %d bytes", last, len(names), total)
	}
}

func testRerun(t *testing.T, s publish.Store) {
	dir := t.TempDir()
	names := StageRelease(t, dir, Release{})
	if _, err := newPublisher(t, s).Publish(context.Background(), dir); err != nil {
		t.Fatalf("first Publish: %v", err)
	}
	rec := newRecorder(t, s, names)
	res, err := newPublisher(t, rec.wrap()).Publish(context.Background(), dir)
	if err != nil {
		t.Fatalf("second Publish: %v", err)
	}
	if res.BytesUploaded != 0 || res.Uploaded != 0 || res.Replaced != 0 || res.Skipped != len(names) {
		t.Errorf("re-run: %d bytes, %d uploaded, %d replaced, %d skipped; want 0, 0, 0, %d",
			res.BytesUploaded, res.Uploaded, res.Replaced, res.Skipped, len(names))
	}
	if rec.calls != 0 {
		t.Errorf("re-run called Put %d times, want 0", rec.calls)
	}
	checkRelease(t, s, dir, names)
}

func testRefuse(t *testing.T, s publish.Store) {
	ctx := context.Background()
	dir := t.TempDir()
	names := StageRelease(t, dir, Release{})
	if _, err := newPublisher(t, s).Publish(ctx, dir); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	// Same version, other bytes: every archive conflicts.
	dir2 := t.TempDir()
	StageRelease(t, dir2, Release{Salt: "rebuilt"})
	rec := newRecorder(t, s, names)
	res, err := newPublisher(t, rec.wrap()).Publish(ctx, dir2)
	var ce *publish.ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("Publish of changed bytes: result %+v, error %v; want *ConflictError", res, err)
	}
	if !errors.Is(err, publish.ErrExist) {
		t.Errorf("errors.Is(%v, ErrExist) = false", err)
	}
	conflicted := map[string]bool{}
	for _, c := range ce.Conflicts {
		conflicted[c.Name] = true
		if c.Local.SHA256 == c.Remote.SHA256 && c.Local.Size == c.Remote.Size {
			t.Errorf("conflict %s has equal local and remote digests", c.Name)
		}
	}
	for _, n := range []string{"1.0.0/hello-1.0.0-linux-amd64.tar.gz", "1.0.0/SHA256SUMS"} {
		if !conflicted[n] {
			t.Errorf("%s not reported as a conflict in %v", n, err)
		}
	}
	for _, n := range []string{"manifest.json", "manifest.json.sig"} {
		if conflicted[n] {
			t.Errorf("mutable %s reported as a conflict", n)
		}
	}
	if rec.calls != 0 {
		t.Errorf("refused publish called Put %d times: %v", rec.calls, rec.puts)
	}
	checkRelease(t, s, dir, names) // the original is intact
}

func testChangedAfterPlan(t *testing.T, s publish.Store) {
	ctx := context.Background()
	dir := t.TempDir()
	names := StageRelease(t, dir, Release{})
	p := newPublisher(t, s)
	plan, err := p.Plan(ctx, dir)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	// Flip one byte of an archive: same size, other digest.
	victim := "1.0.0/hello-1.0.0-darwin-arm64.tar.gz"
	path := filepath.Join(dir, filepath.FromSlash(victim))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = p.Apply(ctx, plan)
	if !errors.Is(err, publish.ErrChecksum) {
		t.Fatalf("Apply after the staged file changed: %v, want ErrChecksum", err)
	}
	checkMissing(t, s, victim)
	checkMissing(t, s, manifest.File)
	_ = names
}

func testReplaceManifest(t *testing.T, s publish.Store) {
	ctx := context.Background()
	dir := t.TempDir()
	StageRelease(t, dir, Release{})
	if _, err := newPublisher(t, s).Publish(ctx, dir); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	// A re-signed manifest with the same serial would roll clients'
	// serial back: refused, nothing replaced.
	same := t.TempDir()
	StageRelease(t, same, Release{Updated: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)})
	if _, err := newPublisher(t, s).Publish(ctx, same); !errors.Is(err, manifest.ErrHistoryLoss) {
		t.Fatalf("Publish of a re-signed manifest with the same serial: %v, want an error wrapping manifest.ErrHistoryLoss", err)
	}
	// Re-signed manifest (new expiry, serial+1), same artifacts.
	dir2 := t.TempDir()
	names := StageRelease(t, dir2, Release{Updated: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), SerialBump: 1})
	rec := newRecorder(t, s, names)
	res, err := newPublisher(t, rec.wrap()).Publish(ctx, dir2)
	if err != nil {
		t.Fatalf("Publish of a re-signed manifest: %v", err)
	}
	m2, err := os.ReadFile(filepath.Join(dir2, manifest.File))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(rec.puts)
	want := []string{"manifest.json", "manifest.json.sig", "signatures.json",
		manifest.SignaturePath(manifest.File, sum(m2)), manifest.SignatureSetPath(manifest.File, sum(m2))}
	slices.Sort(want)
	if !slices.Equal(rec.puts, want) {
		t.Errorf("re-signed manifest: uploaded %v, want %v", rec.puts, want)
	}
	if res.Replaced != 3 || res.Uploaded != 0 {
		t.Errorf("Result: %d replaced, %d uploaded; want 3, 0", res.Replaced, res.Uploaded)
	}
	checkRelease(t, s, dir2, names)
}

var errKilled = errors.New("publishtest: killed")

func testKillAndResume(t *testing.T, newStore func(*testing.T) publish.Store) {
	dir := t.TempDir()
	names := StageRelease(t, dir, Release{})
	// Every staged file plus the two content-addressed signatures of the
	// manifest (sigs/); manifest.json is followed only by the legacy
	// manifest.json.sig and signatures.json.
	total := len(names) + 2
	for _, mode := range []string{"before", "after"} {
		for n := range total {
			t.Run(fmt.Sprintf("%s-put-%d", mode, n), func(t *testing.T) {
				ctx := context.Background()
				s := newStore(t)
				rec := newRecorder(t, s, names)
				rec.putErr = func(call int, name string, attempt int) (before, after error) {
					if call != n {
						return nil, nil
					}
					if mode == "before" {
						return errKilled, nil
					}
					return nil, errKilled
				}
				_, err := newPublisher(t, rec.wrap(), publish.WithConcurrency(1)).Publish(ctx, dir)
				if !errors.Is(err, errKilled) {
					t.Fatalf("Publish with a failure at put %d: %v, want errKilled", n, err)
				}
				stored := len(rec.puts)
				manifestStored := slices.Contains(rec.puts, manifest.File)
				if _, ok := s.(publish.Committer); ok {
					if rec.commits != 0 {
						t.Errorf("Commit ran although put %d failed", n)
					}
				} else if !manifestStored {
					checkMissing(t, s, manifest.File)
				}
				if manifestStored && n < total-3 {
					t.Errorf("manifest.json stored before the failure at put %d: %v", n, rec.puts)
				}

				rec2 := newRecorder(t, s, names)
				res, err := newPublisher(t, rec2.wrap(), publish.WithConcurrency(2)).Publish(ctx, dir)
				if err != nil {
					t.Fatalf("re-run after a failure at put %d: %v", n, err)
				}
				if rec2.calls != total-stored {
					t.Errorf("re-run made %d Put calls, want %d (%d of %d stored)", rec2.calls, total-stored, stored, total)
				}
				if res.Uploaded+res.Skipped+res.Replaced != len(names) {
					t.Errorf("re-run result: %d uploaded, %d skipped, %d replaced; want %d in all", res.Uploaded, res.Skipped, res.Replaced, len(names))
				}
				checkRelease(t, s, dir, names)
			})
		}
	}
}

func testCancelMidUpload(t *testing.T, s publish.Store) {
	dir := t.TempDir()
	names := StageRelease(t, dir, Release{ArtifactSize: 1 << 20})
	victim := "1.0.0/hello-1.0.0-linux-amd64.tar.gz"
	rec := newRecorder(t, s, names)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec.onPut = func(ctx context.Context, name string) context.Context {
		if name == victim {
			cancel()
		}
		return ctx
	}
	_, err := newPublisher(t, rec.wrap(), publish.WithConcurrency(1)).Publish(ctx, dir)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Publish cancelled during %s: %v, want context.Canceled", victim, err)
	}
	checkMissing(t, s, victim)
	checkMissing(t, s, manifest.File)
	if _, err := newPublisher(t, s).Publish(context.Background(), dir); err != nil {
		t.Fatalf("re-run: %v", err)
	}
	checkRelease(t, s, dir, names)
}

func testRetry(t *testing.T, s publish.Store) {
	dir := t.TempDir()
	names := StageRelease(t, dir, Release{})
	rec := newRecorder(t, s, names)
	flaky := "1.0.0/hello-1.0.0-windows-amd64.zip"
	rec.putErr = func(call int, name string, attempt int) (before, after error) {
		switch {
		case name == flaky && attempt <= 2:
			return &publish.StatusError{Op: "put", Name: name, StatusCode: 503}, nil
		case name == "1.0.0/SHA256SUMS" && attempt == 1:
			return &publish.StatusError{Op: "put", Name: name, StatusCode: 429, RetryAfter: time.Millisecond}, nil
		case name == manifest.File && attempt == 1:
			return nil, fmt.Errorf("response lost: %w", io.ErrUnexpectedEOF) // stored, but the client did not hear back
		}
		return nil, nil
	}
	rec.statErr = func(name string, attempt int) error {
		if name == "1.0.0/sbom.spdx.json" && attempt == 1 {
			return &publish.StatusError{Op: "stat", Name: name, StatusCode: 500}
		}
		return nil
	}
	var retries int
	p := newPublisher(t, rec.wrap(), publish.WithProgress(func(pr publish.Progress) {
		if pr.Event == publish.EventRetry {
			retries++
		}
	}))
	if _, err := p.Publish(context.Background(), dir); err != nil {
		t.Fatalf("Publish with transient errors: %v", err)
	}
	if rec.attempts[flaky] != 3 {
		t.Errorf("%s: %d attempts, want 3 (two 503s, then success)", flaky, rec.attempts[flaky])
	}
	if rec.attempts["1.0.0/SHA256SUMS"] != 2 {
		t.Errorf("SHA256SUMS: %d attempts, want 2 (one 429)", rec.attempts["1.0.0/SHA256SUMS"])
	}
	if retries < 5 {
		t.Errorf("%d retry progress events, want at least 5", retries)
	}
	checkRelease(t, s, dir, names)
}

func testNoRetry(t *testing.T, s publish.Store) {
	dir := t.TempDir()
	names := StageRelease(t, dir, Release{})
	rec := newRecorder(t, s, names)
	victim := "1.0.0/hello-1.0.0-darwin-arm64.tar.gz"
	rec.putErr = func(call int, name string, attempt int) (before, after error) {
		if name == victim {
			return &publish.StatusError{Op: "put", Name: name, StatusCode: 403}, nil
		}
		return nil, nil
	}
	_, err := newPublisher(t, rec.wrap()).Publish(context.Background(), dir)
	var se *publish.StatusError
	if !errors.As(err, &se) || se.StatusCode != 403 {
		t.Fatalf("Publish with a 403: %v, want the *StatusError", err)
	}
	if !strings.Contains(err.Error(), victim) {
		t.Errorf("error %q does not name %s", err, victim)
	}
	if rec.attempts[victim] != 1 {
		t.Errorf("%s: %d attempts after a 403, want 1", victim, rec.attempts[victim])
	}
	if _, ok := s.(publish.Committer); ok {
		if rec.commits != 0 {
			t.Errorf("committed after a failed upload")
		}
	} else {
		checkMissing(t, s, manifest.File)
	}
}
