package install

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/verify"
)

// injectFaults makes the installer's file operations fail as fn says
// for the rest of the test (fault injection through the unexported
// hook; every assertion goes through the public API).
func injectFaults(t *testing.T, fn func(op, path string) error) {
	t.Helper()
	faultHook.Store(&fn)
	t.Cleanup(func() { faultHook.Store(nil) })
}

// installed10 installs 1.0.0 of hello into a new directory from src and
// returns the directory, the binary's bytes and the receipt's.
func installed10(t *testing.T, f *fixture, src string) (dir, bin, receipt string) {
	t.Helper()
	dir = t.TempDir()
	if _, err := f.installer(f.config(src, dir)).Install(context.Background(), manifest.Query{Version: "1.0.0"}); err != nil {
		t.Fatal(err)
	}
	return dir, readFile(t, filepath.Join(dir, "hello")), readFile(t, ReceiptPath(dir, "hello"))
}

func untouched(t *testing.T, dir, bin, receipt string) {
	t.Helper()
	if got := readFile(t, filepath.Join(dir, "hello")); got != bin {
		t.Fatalf("installed binary changed to %q", got)
	}
	if got := readFile(t, ReceiptPath(dir, "hello")); got != receipt {
		t.Fatalf("receipt changed to %s", got)
	}
	if l := leftovers(t, dir); len(l) != 0 {
		t.Fatalf("leftover files: %v", l)
	}
}

// TestLocalIOErrorsAreFinalAndSaySo: a full disk or a permission error
// while writing the download or an extracted binary is not retried, is
// not reported as a checksum, size or archive problem, and says "disk
// full" or "permission denied".
func TestLocalIOErrorsAreFinalAndSaySo(t *testing.T) {
	for _, tc := range []struct {
		name, kind string
		errno      syscall.Errno
		says       string
	}{
		{"disk full writing the download", tempDownload, syscall.ENOSPC, "disk full"},
		{"quota writing the download", tempDownload, syscall.EDQUOT, "disk full"},
		{"permission writing an extracted binary", tempNew, syscall.EACCES, "permission denied"},
	} {
		for _, source := range []string{"http", "dir"} {
			t.Run(tc.name+" from "+source, func(t *testing.T) {
				ctx := guarded(t)
				f := newFixture(t, "hello")
				f.release("1.0.0")
				srv := f.serve()
				src := srv.URL
				if source == "dir" {
					src = f.root
				}
				dir, bin, receipt := installed10(t, f, src)
				f.release("1.1.0")
				var writes atomic.Int64
				injectFaults(t, func(op, path string) error {
					if op == "write" && strings.HasPrefix(filepath.Base(path), tempPrefix+tc.kind+"-") {
						writes.Add(1)
						return tc.errno
					}
					return nil
				})
				cfg := f.config(src, dir)
				cfg.Network.Retries = 3
				before := len(srv.requests(".tar.gz"))
				_, err := f.installer(cfg).Install(ctx, manifest.Query{Version: "1.1.0"})
				notHangGuard(t, ctx, err)
				if err == nil {
					t.Fatal("install succeeded on a failing disk")
				}
				t.Log(err)
				var fe *FileError
				if !errors.As(err, &fe) || !errors.Is(err, ErrLocalIO) || !errors.Is(err, tc.errno) {
					t.Fatalf("want a *FileError wrapping ErrLocalIO and %v, got %v", tc.errno, err)
				}
				if !strings.Contains(err.Error(), tc.says) || !strings.Contains(fe.Path, tc.kind) {
					t.Fatalf("error does not say %q about the file: %v", tc.says, err)
				}
				for _, wrong := range []error{ErrVerification, verify.ErrChecksumMismatch, ErrSizeMismatch, ErrUnsafeArchive} {
					if errors.Is(err, wrong) {
						t.Fatalf("local I/O error reported as %v: %v", wrong, err)
					}
				}
				if source == "http" {
					if n := len(srv.requests(".tar.gz")) - before; n != 1 {
						t.Fatalf("%d artifact requests, want 1 (no retry of a local error)", n)
					}
				}
				if n := writes.Load(); n != 1 {
					t.Fatalf("%d failing writes, want 1 (no retry of a local error)", n)
				}
				faultHook.Store(nil)
				untouched(t, dir, bin, receipt)
			})
		}
	}
}

// TestHTMLManifestSaysNotJSON: an HTML page served as manifest.json (a
// captive portal, a misconfigured server) is reported as not JSON, not
// as a bad signature, and is not retried.
func TestHTMLManifestSaysNotJSON(t *testing.T) {
	ctx := guarded(t)
	f := newFixture(t, "hello")
	f.release("1.0.0")
	srv := f.serve()
	srv.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/manifest.json" {
			return false
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte("<!DOCTYPE html>\n<html><body>Please log in to the hotel Wi-Fi</body></html>\n"))
		return true
	})
	cfg := f.config(srv.URL, t.TempDir())
	cfg.Network.Retries = 3
	_, err := f.installer(cfg).Check(ctx, manifest.Query{})
	if err == nil {
		t.Fatal("an HTML manifest was accepted")
	}
	t.Log(err)
	if errors.Is(err, verify.ErrBadSignature) {
		t.Fatalf("reported as a bad signature: %v", err)
	}
	var fe *verify.FormatError
	if !errors.As(err, &fe) || !errors.Is(err, verify.ErrMalformed) || !strings.Contains(err.Error(), "not JSON") || !strings.Contains(err.Error(), "text/html") {
		t.Fatalf("want a *verify.FormatError saying not JSON (text/html), got %v", err)
	}
	if n := len(srv.requests("/manifest.json")); n != 1 {
		t.Fatalf("%d manifest requests, want 1", n)
	}
}

// TestSymlinkedTargetRefusedBeforeDownload: a binary that is a symlink
// is refused with a typed error before anything is downloaded, and
// neither the link nor what it points to is touched.
func TestSymlinkedTargetRefusedBeforeDownload(t *testing.T) {
	ctx := guarded(t)
	f := newFixture(t, "hello")
	f.release("1.0.0")
	srv := f.serve()
	dir := t.TempDir()
	elsewhere := filepath.Join(t.TempDir(), "real-hello")
	os.WriteFile(elsewhere, []byte("#!/bin/sh\necho other\n"), 0o755)
	if err := os.Symlink(elsewhere, filepath.Join(dir, "hello")); err != nil {
		t.Skip(err)
	}
	_, err := f.installer(f.config(srv.URL, dir)).Install(ctx, manifest.Query{})
	var ue *UnsafePathError
	if !errors.As(err, &ue) || !errors.Is(err, ErrUnsafePath) || ue.Path != filepath.Join(dir, "hello") {
		t.Fatalf("want an *UnsafePathError naming the link, got %v", err)
	}
	if n := len(srv.requests(".tar.gz")); n != 0 {
		t.Fatalf("downloaded before refusing: %d artifact requests", n)
	}
	if l, err := os.Readlink(filepath.Join(dir, "hello")); err != nil || l != elsewhere {
		t.Fatalf("the link changed: %q %v", l, err)
	}
	if got := readFile(t, elsewhere); got != "#!/bin/sh\necho other\n" {
		t.Fatalf("the link's target changed: %q", got)
	}
}

// TestBadJournalIsTyped: a journal that does not parse, while the binary
// is not the one the receipt describes (so the installer cannot tell
// what was swapped; see TestUnreadableJournal for the case it can), is a
// *JournalError naming the file and the way out, for Install and
// Rollback alike.
func TestBadJournalIsTyped(t *testing.T) {
	ctx := guarded(t)
	f := newFixture(t, "hello")
	f.release("1.0.0")
	dir, _, receipt := installed10(t, f, f.root)
	os.Remove(filepath.Join(dir, "hello"))
	os.WriteFile(filepath.Join(dir, "hello"), script("hello", "0.9.0"), 0o755)
	bin := readFile(t, filepath.Join(dir, "hello"))
	jp := filepath.Join(StateDir(dir, "hello"), "journal.json")
	os.WriteFile(jp, []byte("{\"schema\": \"relkit.journal/v1\", \"vers"), 0o644)
	in := f.installer(f.config(f.root, dir))
	for name, op := range map[string]func() error{
		"install":  func() error { _, err := in.Install(ctx, manifest.Query{}); return err },
		"rollback": func() error { _, err := in.Rollback(ctx); return err },
	} {
		err := op()
		var je *JournalError
		if !errors.As(err, &je) || !errors.Is(err, ErrBadJournal) || je.Path != jp {
			t.Fatalf("%s: want a *JournalError for %s, got %v", name, jp, err)
		}
		if !strings.Contains(err.Error(), jp) {
			t.Fatalf("%s: error does not name the journal: %v", name, err)
		}
	}
	untouched(t, dir, bin, receipt)
}

// TestLockPathNotAFileIsTyped: a lock path that is not a regular file is
// refused with an *UnsafePathError naming it.
func TestLockPathNotAFileIsTyped(t *testing.T) {
	ctx := guarded(t)
	f := newFixture(t, "hello")
	f.release("1.0.0")
	dir, bin, receipt := installed10(t, f, f.root)
	lp := filepath.Join(StateDir(dir, "hello"), "lock")
	os.Remove(lp)
	os.Mkdir(lp, 0o755)
	_, err := f.installer(f.config(f.root, dir)).Install(ctx, manifest.Query{})
	var ue *UnsafePathError
	if !errors.As(err, &ue) || !errors.Is(err, ErrUnsafePath) || ue.Path != lp {
		t.Fatalf("want an *UnsafePathError for %s, got %v", lp, err)
	}
	untouched(t, dir, bin, receipt)
}
