package install

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relkit/relkit/manifest"
)

func TestParseContentRange(t *testing.T) {
	for _, tc := range []struct {
		in           string
		start, total int64
		ok           bool
	}{
		{"bytes 100-199/200", 100, 200, true},
		{"bytes 0-0/1", 0, 1, true},
		{"bytes 5-9/*", 5, -1, true},
		{"bytes 5-9/9", 0, 0, false}, // end beyond total
		{"bytes 9-5/20", 0, 0, false},
		{"bytes -1-5/20", 0, 0, false},
		{"bits 0-1/2", 0, 0, false},
		{"bytes 0-1", 0, 0, false},
		{"", 0, 0, false},
	} {
		start, total, ok := parseContentRange(tc.in)
		if ok != tc.ok || ok && (start != tc.start || total != tc.total) {
			t.Errorf("%q: got %d %d %v", tc.in, start, total, ok)
		}
	}
}

func TestMentionsVersion(t *testing.T) {
	for _, tc := range []struct {
		out, v string
		want   bool
	}{
		{"hello 1.2.0\n", "1.2.0", true},
		{"hello version v1.2.0 (commit abc)", "1.2.0", true},
		{"banger v0.1.3, built 2026-11-21", "v0.1.3", true},
		{"hello 1.2.0-rc.1", "1.2.0", false},
		{"hello 1.2.0", "1.2.0-rc.1", false},
		{"hello 11.2.0", "1.2.0", false},
		{"hello 1.2.01", "1.2.0", false},
		{"hello 1.2.0.", "1.2.0", true},
		{"calver 2026.04.1", "2026.04.1", true},
		{"", "1.0.0", false},
	} {
		if got := mentionsVersion(tc.out, tc.v); got != tc.want {
			t.Errorf("mentionsVersion(%q, %q) = %v", tc.out, tc.v, got)
		}
	}
}

func TestParseArtifactName(t *testing.T) {
	for _, tc := range []struct {
		in, name, version, plat string
		ok                      bool
	}{
		{"hello-1.2.0-linux-amd64.tar.gz", "hello", "1.2.0", "linux/amd64", true},
		{"my-tool-v1.2.0-rc.1-darwin-arm64.zip", "my-tool", "1.2.0-rc.1", "darwin/arm64", true},
		{"banger-0.1.3-linux-x86_64.tgz", "banger", "0.1.3", "linux/amd64", true},
		{"hello-1.2.0-windows-amd64.exe", "hello", "1.2.0", "windows/amd64", true},
		{"hello-linux-amd64.tar.gz", "", "", "", false},
		{"hello.tar.gz", "", "", "", false},
		{"hello-1.2.0-plan10-amd64.tar.gz", "", "", "", false},
	} {
		name, v, p, ok := parseArtifactName(tc.in)
		if ok != tc.ok || ok && (name != tc.name || v != tc.version || p.String() != tc.plat) {
			t.Errorf("%q: got %q %q %v %v", tc.in, name, v, p, ok)
		}
	}
}

func TestCleanEntryName(t *testing.T) {
	for name, unsafe := range map[string]bool{
		"hello": false, "./hello": false, "dir/hello": false, "dir/": false, "a/./b": false,
		"/hello": true, "../hello": true, "a/../../b": true, "a/..": true, `a\b`: true,
		"C:/x": true, "c:x": true, "": true, "a\x00b": true,
	} {
		_, reason := cleanEntryName(name)
		if (reason != "") != unsafe {
			t.Errorf("%q: reason %q, want unsafe=%v", name, reason, unsafe)
		}
	}
	for _, tc := range []struct {
		entry, target string
		escapes       bool
	}{
		{"lib", "real", false}, {"a/lib", "../real", false}, {"a/lib", "../../x", true},
		{"lib", "/etc", true}, {"lib", "..", true}, {"lib", "", true}, {"a/b/c", "../../d", false},
	} {
		if got := linkEscapes(tc.entry, tc.target); got != tc.escapes {
			t.Errorf("linkEscapes(%q, %q) = %v", tc.entry, tc.target, got)
		}
	}
}

// TestServerWithoutRanges: a cut download from a server that ignores
// Range restarts from zero and still verifies.
func TestServerWithoutRanges(t *testing.T) {
	f := newFixture(t, "hello")
	body := append(script("hello", "1.0.0"), []byte("# "+randomHex(1<<20)+"\n")...)
	f.publish("1.0.0", f.artifactName("1.0.0"), tarGz(t, []entry{{name: "hello", body: body}}))
	srv := f.serve()
	calls := 0
	srv.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, ".tar.gz") {
			return false
		}
		calls++
		data, _ := os.ReadFile(filepath.Join(f.root, filepath.FromSlash(r.URL.Path)))
		w.Header().Set("Content-Length", itoa(int64(len(data))))
		w.WriteHeader(200) // Range ignored
		if calls == 1 {
			w.Write(data[:len(data)/3])
			w.(http.Flusher).Flush()
			if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
				c.Close()
			}
			return true
		}
		w.Write(data)
		return true
	})
	dir := t.TempDir()
	if _, err := f.installer(f.config(srv.URL, dir)).Install(context.Background(), manifest.Query{}); err != nil {
		t.Fatal(err)
	}
	if readFile(t, filepath.Join(dir, "hello")) != string(body) || calls != 2 {
		t.Fatalf("calls %d", calls)
	}
}

// TestFileChangedDuringResume: when the file changes between the cut and
// the resume, If-Range makes the server send the whole new file; the
// result must not be a splice (here the new file does not match the
// signed manifest, so the install is refused).
func TestFileChangedDuringResume(t *testing.T) {
	f := newFixture(t, "hello")
	body := append(script("hello", "1.0.0"), []byte("# "+randomHex(1<<20)+"\n")...)
	f.publish("1.0.0", f.artifactName("1.0.0"), tarGz(t, []entry{{name: "hello", body: body}}))
	srv := f.serve()
	p := filepath.Join(f.root, "1.0.0", f.artifactName("1.0.0"))
	orig, _ := os.ReadFile(p)
	calls := 0
	srv.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, ".tar.gz") {
			return false
		}
		calls++
		if calls == 1 {
			w.Header().Set("Content-Length", itoa(int64(len(orig))))
			w.Header().Set("ETag", `"v1"`)
			w.WriteHeader(200)
			w.Write(orig[:len(orig)/2])
			w.(http.Flusher).Flush()
			if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
				c.Close()
			}
			return true
		}
		if got := r.Header.Get("If-Range"); got != `"v1"` && calls == 2 {
			t.Errorf("resume without If-Range: %q", got)
		}
		// The file changed: its ETag no longer matches, so the whole new
		// file comes back with 200.
		changed := append([]byte(nil), orig...)
		changed[len(changed)-10] ^= 1
		w.Header().Set("ETag", `"v2"`)
		http.ServeContent(w, r, "x.tar.gz", f.now, strings.NewReader(string(changed)))
		return true
	})
	dir := t.TempDir()
	_, err := f.installer(f.config(srv.URL, dir)).Install(context.Background(), manifest.Query{})
	if !errors.Is(err, ErrVerification) {
		t.Fatalf("want a verification error, got %v", err)
	}
	reqs := srv.requests(".tar.gz")
	if len(reqs) < 2 || !strings.Contains(reqs[1], "bytes=") {
		t.Fatalf("no resume attempted: %v", reqs)
	}
}

// TestConcurrentInstallsDoNotRace: while one install is downloading, a
// second one into the same directory fails with ErrLocked (or, with a
// lock wait, runs after it).
func TestConcurrentInstallsDoNotRace(t *testing.T) {
	f := newFixture(t, "hello")
	f.release("1.0.0")
	srv := f.serve()
	hold := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(hold) }) }
	t.Cleanup(release) // before the server's Close (cleanups run last-in first-out)
	downloading := make(chan struct{})
	var started sync.Once
	srv.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, ".tar.gz") {
			started.Do(func() { close(downloading) })
			<-hold // the first install sits in its download
		}
		return false
	})
	dir := t.TempDir()
	install := func(wait time.Duration, log *slog.Logger, errs chan<- error) {
		cfg := f.config(srv.URL, dir)
		cfg.LockWait = wait
		cfg.Logger = log
		_, err := f.installer(cfg).Install(context.Background(), manifest.Query{}, Reinstall())
		errs <- err
	}
	bound := func(ch <-chan struct{}, what string) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(30 * time.Second):
			t.Fatal(what)
		}
	}
	first := make(chan error, 1)
	go install(0, nil, first)
	bound(downloading, "the first install never started its download") // it holds the lock now
	second := make(chan error, 1)
	install(0, nil, second)
	if err := <-second; !errors.Is(err, ErrLocked) {
		t.Fatalf("second install: %v", err)
	}
	// The third waits for the lock: released only once it says so, so a
	// LockWait that does not wait fails here rather than running late.
	waitingForLock := make(chan struct{})
	waiting := make(chan error, 1)
	go install(30*time.Second, slog.New(&onMessage{msg: "waiting for the install lock", seen: waitingForLock}), waiting)
	select {
	case <-waitingForLock:
	case err := <-waiting:
		t.Fatalf("install with LockWait did not wait for the held lock: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("install with LockWait never said it was waiting for the lock")
	}
	release()
	if err := <-first; err != nil {
		t.Fatalf("first install: %v", err)
	}
	if err := <-waiting; err != nil {
		t.Fatalf("waiting install: %v", err)
	}
}

// TestRedirectFromHTTPSToHTTPRefused: an https release root whose
// artifact redirects to plain http is refused.
func TestRedirectFromHTTPSToHTTPRefused(t *testing.T) {
	f := newFixture(t, "hello")
	f.release("1.0.0")
	plain := f.serve()
	files := http.FileServer(http.Dir(f.root))
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".tar.gz") {
			http.Redirect(w, r, plain.URL+r.URL.Path, http.StatusFound)
			return
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(tlsSrv.Close)
	cfg := f.config(tlsSrv.URL, t.TempDir())
	cfg.Network.HTTPClient = tlsSrv.Client()
	_, err := f.installer(cfg).Install(context.Background(), manifest.Query{})
	if err == nil || !strings.Contains(err.Error(), "redirect from https") {
		t.Fatalf("want a refused downgrade redirect, got %v", err)
	}
	if got := plain.requests(".tar.gz"); len(got) != 0 {
		t.Fatalf("followed the redirect: %v", got)
	}
}

// TestCheckWarnsAboutAYankedInstall: Check says why to update when the
// installed release was yanked.
func TestCheckWarnsAboutAYankedInstall(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "hello")
	f.release("1.0.0")
	f.release("1.1.0")
	dir := t.TempDir()
	in := f.installer(f.config(f.root, dir))
	if _, err := in.Install(ctx, manifest.Query{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.m.Yank("1.1.0", "corrupts the config file"); err != nil {
		t.Fatal(err)
	}
	f.sign()
	u, err := in.Check(ctx, manifest.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if !u.Downgrade || u.Latest.Release.Version != "1.0.0" || !strings.Contains(strings.Join(u.Warnings, ";"), "installed 1.1.0 is yanked: corrupts the config file") {
		t.Fatalf("%+v", u)
	}
}

// onMessage is a slog.Handler that closes seen at the first record with
// the message msg.
type onMessage struct {
	msg  string
	seen chan struct{}
	once sync.Once
}

func (h *onMessage) Enabled(context.Context, slog.Level) bool { return true }
func (h *onMessage) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.once.Do(func() { close(h.seen) })
	}
	return nil
}
func (h *onMessage) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *onMessage) WithGroup(string) slog.Handler      { return h }
