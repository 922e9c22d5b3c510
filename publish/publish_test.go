package publish_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/publish/publishtest"
)

func newDir(t *testing.T) *publish.DirStore {
	t.Helper()
	s, err := publish.NewDirStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newPub(t *testing.T, s publish.Store, opts ...publish.Option) *publish.Publisher {
	t.Helper()
	p, err := publish.New(s, append([]publish.Option{publish.WithRetry(publishtest.FastRetry)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNewOptions(t *testing.T) {
	s := newDir(t)
	for _, tc := range []struct {
		name string
		opt  publish.Option
	}{
		{"concurrency 0", publish.WithConcurrency(0)},
		{"concurrency too high", publish.WithConcurrency(publish.MaxConcurrency + 1)},
		{"no attempts", publish.WithRetry(publish.RetryPolicy{})},
		{"max below initial", publish.WithRetry(publish.RetryPolicy{Attempts: 2, InitialDelay: time.Second, MaxDelay: time.Millisecond})},
	} {
		if _, err := publish.New(s, tc.opt); err == nil {
			t.Errorf("%s: New succeeded", tc.name)
		}
	}
	if _, err := publish.New(nil); err == nil {
		t.Error("New(nil) succeeded")
	}
}

func TestIsRetryable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{&publish.StatusError{StatusCode: 500}, true},
		{&publish.StatusError{StatusCode: 503}, true},
		{&publish.StatusError{StatusCode: 429}, true},
		{&publish.StatusError{StatusCode: 400}, false},
		{&publish.StatusError{StatusCode: 403}, false},
		{&publish.StatusError{StatusCode: 404}, false},
		{&publish.StatusError{StatusCode: 412}, false},
		{fmt.Errorf("wrapped: %w", &publish.StatusError{StatusCode: 502}), true},
		{io.ErrUnexpectedEOF, true},
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true},
		{fmt.Errorf("x: %w", syscall.ECONNRESET), true},
		{context.Canceled, false},
		{fmt.Errorf("%w: %w", context.DeadlineExceeded, &publish.StatusError{StatusCode: 503}), false},
		{&publish.ChecksumError{Name: "x"}, false},
		{publish.ErrExist, false},
		{publish.ErrNotExist, false},
		{errors.New("some bug"), false},
		{&url.Error{Op: "Post", URL: "https://x", Err: io.EOF}, true},
		{&url.Error{Op: "Post", URL: "https://x", Err: x509.UnknownAuthorityError{}}, false},
		{&url.Error{Op: "Get", URL: "https://x", Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}, true},
		{&net.DNSError{Err: "no such host", IsNotFound: true}, false},
		{&net.DNSError{Err: "timeout", IsTimeout: true}, true},
	} {
		if got := publish.IsRetryable(tc.err); got != tc.want {
			t.Errorf("IsRetryable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestBody(t *testing.T) {
	data := []byte("0123456789abcdef")
	good := publishtest.SHA256(data)
	read := func(b *publish.Body) ([]byte, error) { return io.ReadAll(b) }

	b := publish.NewBody("x", bytes.NewReader(data), int64(len(data)), good)
	if got, err := read(b); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("good body: %q, %v", got, err)
	}
	// Rewind and read again: verified again.
	if _, err := b.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if got, err := read(b); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("rewound body: %q, %v", got, err)
	}
	if n, _ := b.Seek(0, io.SeekEnd); n != int64(len(data)) {
		t.Errorf("Seek(0, End) = %d", n)
	}

	// Wrong digest: the last Read fails, with the bytes delivered so far.
	b = publish.NewBody("x", bytes.NewReader(data), int64(len(data)), publishtest.SHA256([]byte("other")))
	got, err := read(b)
	var ce *publish.ChecksumError
	if !errors.As(err, &ce) || !errors.Is(err, publish.ErrChecksum) || ce.Name != "x" {
		t.Errorf("wrong digest: %v, want *ChecksumError for x", err)
	}
	if len(got) >= len(data) {
		t.Errorf("wrong digest: all %d bytes delivered; the last ones must be withheld", len(got))
	}
	if n, err := b.Read(make([]byte, 4)); n != 0 || !errors.Is(err, publish.ErrChecksum) {
		t.Errorf("Read after a verification failure = %d, %v", n, err)
	}

	// The source is shorter than announced.
	b = publish.NewBody("x", bytes.NewReader(data[:10]), int64(len(data)), good)
	if _, err := read(b); !errors.As(err, &ce) || ce.GotSize != 10 {
		t.Errorf("short source: %v, want size error", err)
	}

	// The source is longer: only Size bytes are delivered and verified.
	b = publish.NewBody("x", bytes.NewReader(append(bytes.Clone(data), "extra"...)), int64(len(data)), good)
	if got, err := read(b); err != nil || !bytes.Equal(got, data) {
		t.Errorf("long source: %q, %v", got, err)
	}

	// ReadAt stays within Size.
	b = publish.NewBody("x", bytes.NewReader(append(bytes.Clone(data), "extra"...)), int64(len(data)), good)
	buf := make([]byte, 8)
	if n, err := b.ReadAt(buf, 12); n != 4 || err != io.EOF || string(buf[:n]) != "cdef" {
		t.Errorf("ReadAt(12) = %d, %v, %q", n, err, buf[:n])
	}
}

func TestStagedErrors(t *testing.T) {
	ctx := context.Background()
	stage := func(t *testing.T) string {
		dir := t.TempDir()
		publishtest.StageRelease(t, dir, publishtest.Release{})
		return dir
	}
	t.Run("missing manifest", func(t *testing.T) {
		dir := stage(t)
		os.Remove(filepath.Join(dir, "manifest.json"))
		_, err := newPub(t, newDir(t)).Plan(ctx, dir)
		var se *publish.StagedFileError
		if !errors.As(err, &se) || se.Name != "manifest.json" || !errors.Is(err, publish.ErrNotExist) {
			t.Fatalf("Plan without manifest.json: %v", err)
		}
		// Unless the caller says so.
		if _, err := newPub(t, newDir(t), publish.WithoutManifestUnsafe()).Publish(ctx, dir); err != nil {
			t.Fatalf("Publish WithoutManifestUnsafe: %v", err)
		}
	})
	t.Run("file differs from manifest", func(t *testing.T) {
		dir := stage(t)
		name := "1.0.0/SHA256SUMS"
		if err := os.WriteFile(filepath.Join(dir, name), []byte("changed\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := newPub(t, newDir(t)).Plan(ctx, dir)
		var se *publish.StagedFileError
		if !errors.As(err, &se) || se.Name != name || !errors.Is(err, publish.ErrChecksum) {
			t.Fatalf("Plan with a file the manifest disagrees with: %v", err)
		}
	})
	t.Run("same size, other bytes", func(t *testing.T) {
		dir := stage(t)
		name := "1.0.0/hello-1.0.0-linux-amd64.tar.gz"
		p := filepath.Join(dir, filepath.FromSlash(name))
		data, _ := os.ReadFile(p)
		data[100] ^= 0x55
		os.WriteFile(p, data, 0o644)
		// WithHashStaged: Plan reports it.
		_, err := newPub(t, newDir(t), publish.WithHashStaged()).Plan(ctx, dir)
		var se *publish.StagedFileError
		if !errors.As(err, &se) || se.Name != name || !errors.Is(err, publish.ErrChecksum) {
			t.Fatalf("Plan WithHashStaged: %v", err)
		}
		// Default: the upload reports it, and nothing is visible.
		dst := newDir(t)
		_, err = newPub(t, dst).Publish(ctx, dir)
		var ce *publish.ChecksumError
		if !errors.As(err, &ce) || ce.Name != name {
			t.Fatalf("Publish: %v, want a *ChecksumError for %s", err, name)
		}
		for _, n := range []string{name, "manifest.json"} {
			if _, err := os.Stat(filepath.Join(dst.Root(), filepath.FromSlash(n))); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s published: %v", n, err)
			}
		}
	})
	t.Run("manifest lists a missing file", func(t *testing.T) {
		dir := stage(t)
		name := "1.0.0/release-notes.md"
		os.Remove(filepath.Join(dir, name))
		_, err := newPub(t, newDir(t)).Plan(ctx, dir)
		var me *publish.MissingError
		if !errors.As(err, &me) || len(me.Names) != 1 || me.Names[0] != name {
			t.Fatalf("Plan with a listed file missing: %v", err)
		}
		// Already published: fine.
		dst := newDir(t)
		full := stage(t)
		if _, err := newPub(t, dst).Publish(ctx, full); err != nil {
			t.Fatal(err)
		}
		if _, err := newPub(t, dst).Plan(ctx, dir); err != nil {
			t.Fatalf("Plan with a listed file already published: %v", err)
		}
	})
	t.Run("bad manifest", func(t *testing.T) {
		dir := stage(t)
		os.WriteFile(filepath.Join(dir, "manifest.json"), []byte("{not json"), 0o644)
		_, err := newPub(t, newDir(t)).Plan(ctx, dir)
		var se *publish.StagedFileError
		if !errors.As(err, &se) || se.Name != "manifest.json" {
			t.Fatalf("Plan with a bad manifest: %v", err)
		}
	})
	t.Run("not a regular file", func(t *testing.T) {
		dir := stage(t)
		if err := syscall.Mkfifo(filepath.Join(dir, "1.0.0", "fifo"), 0o644); err != nil {
			t.Skip("no fifo:", err)
		}
		_, err := newPub(t, newDir(t)).Plan(ctx, dir)
		var se *publish.StagedFileError
		if !errors.As(err, &se) || se.Name != "1.0.0/fifo" {
			t.Fatalf("Plan with a fifo: %v", err)
		}
	})
	t.Run("no such directory", func(t *testing.T) {
		_, err := newPub(t, newDir(t)).Plan(ctx, filepath.Join(t.TempDir(), "nope"))
		if !errors.Is(err, publish.ErrNotExist) {
			t.Fatalf("Plan of a missing directory: %v", err)
		}
	})
}

func TestCheckName(t *testing.T) {
	for _, ok := range []string{"manifest.json", "1.0.0/a.tar.gz", "a b/c"} {
		if err := publish.CheckName(ok); err != nil {
			t.Errorf("CheckName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "/abs", "a/../b", "a//b", "a/", "./a", `a\b`, "a\nb", ".."} {
		if err := publish.CheckName(bad); err == nil {
			t.Errorf("CheckName(%q) = nil", bad)
		}
	}
}

// gate counts concurrent Puts. The Puts of the artifact stage (the three
// archives) wait for each other until want of them are in flight, or all
// three have arrived, so that a bound of want is reached whatever the
// scheduling; the other stages pass through, still counted.
type gate struct {
	publish.Store
	want, total int // the bound under test; the archives in the stage

	mu            sync.Mutex
	cur, max, got int // Puts in flight, the most seen, archives arrived
	met           chan struct{}
}

func newGate(s publish.Store, want, total int) *gate {
	return &gate{Store: s, want: want, total: total, met: make(chan struct{})}
}

func (g *gate) Put(ctx context.Context, name string, r *publish.Body, info publish.PutInfo) error {
	archive := strings.HasSuffix(name, ".tar.gz") || strings.HasSuffix(name, ".zip")
	g.mu.Lock()
	g.cur++
	g.max = max(g.max, g.cur)
	if archive {
		g.got++
		if g.cur == g.want || g.got == g.total {
			select {
			case <-g.met:
			default:
				close(g.met)
			}
		}
	}
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.cur--
		g.mu.Unlock()
	}()
	if archive {
		select {
		case <-g.met:
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Second):
			return fmt.Errorf("%s: only %d of %d Puts ever ran at once", name, g.max, g.want)
		}
	}
	return g.Store.Put(ctx, name, r, info)
}

func TestConcurrencyBound(t *testing.T) {
	dir := t.TempDir()
	publishtest.StageRelease(t, dir, publishtest.Release{})
	for _, n := range []int{1, 2} {
		g := newGate(newDir(t), n, 3)
		if _, err := newPub(t, g, publish.WithConcurrency(n)).Publish(context.Background(), dir); err != nil {
			t.Fatal(err)
		}
		if int(g.max) != n {
			t.Errorf("WithConcurrency(%d): at most %d concurrent Puts, want exactly %d (3 artifacts)", n, g.max, n)
		}
	}
}

func TestContextCancelledBeforeStart(t *testing.T) {
	dir := t.TempDir()
	publishtest.StageRelease(t, dir, publishtest.Release{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := newDir(t)
	if _, err := newPub(t, s).Publish(ctx, dir); !errors.Is(err, context.Canceled) {
		t.Fatalf("Publish with a cancelled context: %v", err)
	}
	entries, _ := os.ReadDir(s.Root())
	if len(entries) != 0 {
		t.Errorf("cancelled publish wrote %d entries", len(entries))
	}
}

// flaky fails every Put with a 503.
type flaky struct {
	publish.Store
	mu    sync.Mutex
	calls int
}

func (f *flaky) Put(ctx context.Context, name string, r *publish.Body, info publish.PutInfo) error {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	return &publish.StatusError{Op: "put", Name: name, StatusCode: 503}
}

func TestRetryGivesUp(t *testing.T) {
	dir := t.TempDir()
	publishtest.StageRelease(t, dir, publishtest.Release{})
	f := &flaky{Store: newDir(t)}
	_, err := newPub(t, f, publish.WithConcurrency(1)).Publish(context.Background(), dir)
	var se *publish.StatusError
	if !errors.As(err, &se) || se.StatusCode != 503 {
		t.Fatalf("Publish against an always-503 store: %v", err)
	}
	if f.calls != publishtest.FastRetry.Attempts {
		t.Errorf("%d Put calls, want %d (one file, all attempts)", f.calls, publishtest.FastRetry.Attempts)
	}
}

func TestRetryWaitsAndCancels(t *testing.T) {
	dir := t.TempDir()
	publishtest.StageRelease(t, dir, publishtest.Release{})
	f := &flaky{Store: newDir(t)}
	p := newPub(t, f, publish.WithRetry(publish.RetryPolicy{Attempts: 10, InitialDelay: time.Hour, MaxDelay: time.Hour}))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := p.Publish(ctx, dir)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Publish cancelled while waiting to retry: %v", err)
	}
	if !strings.Contains(err.Error(), "503") {
		t.Errorf("error %q does not say what was being retried", err)
	}
}

func TestPromote(t *testing.T) {
	ctx := context.Background()
	staging, live := newDir(t), newDir(t)

	// 1.0.0 then 1.1.0 on staging.
	base := manifest.New("hello")
	dir1 := t.TempDir()
	publishtest.StageRelease(t, dir1, publishtest.Release{Version: "1.0.0", Base: base})
	if _, err := newPub(t, staging).Publish(ctx, dir1); err != nil {
		t.Fatal(err)
	}
	// Promote 1.0.0 alone.
	res, err := newPub(t, live).Promote(ctx, staging, publish.PromoteOptions{Versions: []string{"v1.0.0"}})
	if err != nil {
		t.Fatalf("Promote 1.0.0: %v", err)
	}
	if res.Uploaded != 11 {
		t.Errorf("Promote uploaded %d files, want 11", res.Uploaded)
	}
	dir2 := t.TempDir()
	names2 := publishtest.StageRelease(t, dir2, publishtest.Release{Version: "1.1.0", Base: base})
	if _, err := newPub(t, staging).Publish(ctx, dir2); err != nil {
		t.Fatal(err)
	}

	var verified string
	res, err = newPub(t, live).Promote(ctx, staging, publish.PromoteOptions{
		Versions: []string{"1.1.0"},
		Verify: func(ctx context.Context, dir string) error {
			verified = dir
			_, err := os.Stat(filepath.Join(dir, "1.1.0", "SHA256SUMS"))
			return err
		},
	})
	if err != nil {
		t.Fatalf("Promote 1.1.0: %v", err)
	}
	if verified == "" {
		t.Error("Verify hook not called")
	}
	// 8 new version files + 3 replaced root files; 1.0.0 untouched.
	if res.Uploaded != 8 || res.Replaced != 3 {
		t.Errorf("Promote 1.1.0: %d uploaded, %d replaced; want 8, 3", res.Uploaded, res.Replaced)
	}
	for _, n := range names2 {
		want, _ := os.ReadFile(filepath.Join(dir2, filepath.FromSlash(n)))
		got, err := os.ReadFile(filepath.Join(live.Root(), filepath.FromSlash(n)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("live %s differs from staging (%v)", n, err)
		}
	}

	// Again: nothing to do.
	res, err = newPub(t, live).Promote(ctx, staging, publish.PromoteOptions{})
	if err != nil {
		t.Fatalf("re-Promote: %v", err)
	}
	if res.BytesUploaded != 0 {
		t.Errorf("re-Promote uploaded %d bytes", res.BytesUploaded)
	}

	// A version that is not there.
	if _, err := newPub(t, live).Promote(ctx, staging, publish.PromoteOptions{Versions: []string{"9.9.9"}}); !errors.Is(err, manifest.ErrNotFound) {
		t.Errorf("Promote of a missing version: %v", err)
	}
	// Promoting 1.1.0 alone into an empty destination: 1.0.0's files are missing.
	_, err = newPub(t, newDir(t)).Promote(ctx, staging, publish.PromoteOptions{Versions: []string{"1.1.0"}})
	var me *publish.MissingError
	if !errors.As(err, &me) || len(me.Names) != 8 {
		t.Errorf("Promote without the earlier release: %v", err)
	}
}

func TestPromoteRefusesTamperedSource(t *testing.T) {
	ctx := context.Background()
	staging := newDir(t)
	dir := t.TempDir()
	publishtest.StageRelease(t, dir, publishtest.Release{})
	if _, err := newPub(t, staging).Publish(ctx, dir); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(staging.Root(), "1.0.0", "hello-1.0.0-linux-amd64.tar.gz")
	data, _ := os.ReadFile(victim)
	data[0] ^= 1
	os.WriteFile(victim, data, 0o644)

	live := newDir(t)
	_, err := newPub(t, live).Promote(ctx, staging, publish.PromoteOptions{})
	var ce *publish.ChecksumError
	if !errors.As(err, &ce) || ce.Name != "1.0.0/hello-1.0.0-linux-amd64.tar.gz" {
		t.Fatalf("Promote of a tampered source: %v, want *ChecksumError naming the file", err)
	}
	entries, _ := os.ReadDir(live.Root())
	if len(entries) != 0 {
		t.Errorf("tampered promote wrote to the destination: %v", entries)
	}
}

func TestDirStoreURL(t *testing.T) {
	s := newDir(t)
	if got := s.URL("1.0.0/a.tar.gz"); !strings.HasPrefix(got, "file:///") || !strings.HasSuffix(got, "/1.0.0/a.tar.gz") {
		t.Errorf("URL = %q", got)
	}
	s.BaseURL = "https://dl.example.com/hello/"
	if got := s.URL("1.0.0/a.tar.gz"); got != "https://dl.example.com/hello/1.0.0/a.tar.gz" {
		t.Errorf("URL with BaseURL = %q", got)
	}
	if got := s.URL(""); got != "https://dl.example.com/hello/" {
		t.Errorf("URL(\"\") = %q", got)
	}
}

func TestDirStoreLeavesNoTempFiles(t *testing.T) {
	dir := t.TempDir()
	publishtest.StageRelease(t, dir, publishtest.Release{})
	s := newDir(t)
	ctx := context.Background()
	p := newPub(t, s)
	plan, err := p.Plan(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	// Break one artifact so a Put fails halfway.
	os.WriteFile(filepath.Join(dir, "1.0.0", "hello-1.0.0-linux-amd64.tar.gz"), []byte("short"), 0o644)
	if _, err := p.Apply(ctx, plan); !errors.Is(err, publish.ErrChecksum) {
		t.Fatalf("Apply: %v", err)
	}
	filepath.WalkDir(s.Root(), func(path string, d os.DirEntry, err error) error {
		if strings.HasPrefix(d.Name(), ".relkit-tmp-") {
			t.Errorf("left a temporary file: %s", path)
		}
		return nil
	})
}

// order records the names of completed Puts.
type order struct {
	publish.Store
	mu    sync.Mutex
	names []string
}

func (o *order) Put(ctx context.Context, name string, r *publish.Body, info publish.PutInfo) error {
	if err := o.Store.Put(ctx, name, r, info); err != nil {
		return err
	}
	o.mu.Lock()
	o.names = append(o.names, name)
	o.mu.Unlock()
	return nil
}

func TestRootFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	publishtest.StageRelease(t, dir, publishtest.Release{})
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("keys.json", `{"serial":1}`)
	write("keys.json.sig", "sig1")
	write("install.sh", "#!/bin/sh\necho v1\n")
	s := newDir(t)
	o := &order{Store: s}
	if _, err := newPub(t, o, publish.WithConcurrency(8)).Publish(ctx, dir); err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, n := range o.names {
		pos[n] = i
	}
	// keys.json's signatures, detached and content-addressed, precede it.
	kdata, err := os.ReadFile(filepath.Join(dir, "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, sig := range []string{"keys.json.sig", manifest.SignaturePath("keys.json", publishtest.SHA256(kdata)), manifest.SignatureSetPath("keys.json", publishtest.SHA256(kdata))} {
		if p, ok := pos[sig]; !ok || p > pos["keys.json"] {
			t.Errorf("%s not uploaded before keys.json: %v", sig, o.names)
		}
	}
	// The commit point: manifest.json after every other file, except the
	// legacy manifest.json.sig and root signatures.json, which follow it;
	// the signature of the new manifest's bytes (sigs/) precedes it.
	mdata, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	cas := manifest.SignaturePath("manifest.json", publishtest.SHA256(mdata))
	for n, i := range pos {
		if n != "manifest.json" && n != "manifest.json.sig" && n != "signatures.json" && i > pos["manifest.json"] {
			t.Errorf("%s uploaded after manifest.json: %v", n, o.names)
		}
	}
	if _, ok := pos[cas]; !ok || pos["manifest.json.sig"] < pos["manifest.json"] || pos["signatures.json"] < pos["manifest.json"] {
		t.Errorf("want %s before manifest.json and the legacy signature files after it: %v", cas, o.names)
	}
	// Key rotation and a new installer: root files are replaced.
	write("keys.json", `{"serial":2}`)
	write("keys.json.sig", "sig2")
	write("install.sh", "#!/bin/sh\necho v2\n")
	res, err := newPub(t, s).Publish(ctx, dir)
	if err != nil {
		t.Fatalf("re-publish with new root files: %v", err)
	}
	if res.Replaced != 3 || res.Uploaded != 0 {
		t.Errorf("re-publish: %d replaced, %d uploaded; want 3, 0", res.Replaced, res.Uploaded)
	}
	if got, _ := os.ReadFile(filepath.Join(s.Root(), "install.sh")); string(got) != "#!/bin/sh\necho v2\n" {
		t.Errorf("install.sh = %q", got)
	}
	// Promote copies the known root files and the ones asked for.
	live := newDir(t)
	if _, err := newPub(t, live).Promote(ctx, s, publish.PromoteOptions{RootFiles: []string{"install.sh"}}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"keys.json", "keys.json.sig", "install.sh", "signatures.json"} {
		if _, err := os.Stat(filepath.Join(live.Root(), n)); err != nil {
			t.Errorf("Promote did not copy %s: %v", n, err)
		}
	}
}

func TestDirStoreRemoveStale(t *testing.T) {
	s := newDir(t)
	old := filepath.Join(s.Root(), "1.0.0", ".relkit-tmp-123")
	fresh := filepath.Join(s.Root(), ".relkit-tmp-456")
	keep := filepath.Join(s.Root(), "1.0.0", "a.tar.gz")
	os.MkdirAll(filepath.Dir(old), 0o755)
	for _, p := range []string{old, fresh, keep} {
		os.WriteFile(p, []byte("x"), 0o644)
	}
	past := time.Now().Add(-2 * time.Hour)
	os.Chtimes(old, past, past)
	os.Chtimes(keep, past, past)
	removed, err := s.RemoveStale(context.Background(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0] != old {
		t.Errorf("removed %v, want [%s]", removed, old)
	}
	for _, p := range []string{fresh, keep} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed: %v", p, err)
		}
	}
}
