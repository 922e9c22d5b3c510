package install

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/verify"
)

// gzipBomb is a tar.gz whose one entry, the wanted binary, is n zero
// bytes: it compresses about 1000:1.
func gzipBomb(t testing.TB, name string, n int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(tarBomb(t, name, n))
	zw.Close()
	return buf.Bytes()
}

// tarBomb is an uncompressed tar whose one entry is n zero bytes.
func tarBomb(t testing.TB, name string, n int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o755, Size: n}); err != nil {
		t.Fatal(err)
	}
	zero := make([]byte, 1<<20)
	for left := n; left > 0; left -= int64(len(zero)) {
		tw.Write(zero[:min(left, int64(len(zero)))])
	}
	tw.Close()
	return buf.Bytes()
}

// tarCodec is a compression of tar archives the installer reads: the
// hostile table runs over each one.
type tarCodec struct {
	// ext is the archive name ending (".tar.gz").
	ext string
	// compress compresses an uncompressed tar.
	compress func(t testing.TB, raw []byte) []byte
	// bomb is a compressed tar of one n-byte entry of zeros; nil
	// compresses tarBomb.
	bomb func(t testing.TB, name string, n int64) []byte
}

// gzipCodec is the built-in tar.gz.
var gzipCodec = tarCodec{
	ext:      ".tar.gz",
	compress: func(t testing.TB, raw []byte) []byte { return gzBytes(t, raw) },
	bomb:     gzipBomb,
}

// TestHostileArchivesAndServers installs a good release, then tries each
// hostile case against it: every one must fail with the expected typed
// error and leave the installed binary, the receipt and the directory's
// neighbours untouched, with no temporary file left behind.
func TestHostileArchivesAndServers(t *testing.T) { testHostile(t, gzipCodec) }

// testHostile runs the hostile table with the archives in codec's format
// (the server cases serve the fixture's tar.gz whatever the codec).
func testHostile(t *testing.T, codec tarCodec) {
	ctx := context.Background()
	f := newFixture(t, "hello")
	f.release("1.0.0")
	srv := f.serve()
	parent := t.TempDir()
	dir := filepath.Join(parent, "bin")
	os.Mkdir(dir, 0o755)
	base := f.config(srv.URL, dir)
	base.Network.Retries = 2
	if _, err := f.installer(base).Install(ctx, manifest.Query{}); err != nil {
		t.Fatal(err)
	}
	good := script("hello", "9.9.9")
	n := 0
	nextVersion := func() string { n++; return fmt.Sprintf("1.1.%d", n) }
	zipName := func(v string) string { return fmt.Sprintf("hello-%s-%s-%s.zip", v, f.plat.OS, f.plat.Arch) }

	type hostile struct {
		name  string
		setup func(v string) Config // publishes v; returns the config to use
		want  []error               // errors.Is targets
		as    any                   // errors.As target (pointer to a typed error pointer)
	}
	tarName := func(v string) string { return fmt.Sprintf("hello-%s-%s-%s%s", v, f.plat.OS, f.plat.Arch, codec.ext) }
	packed := func(raw []byte) []byte { return codec.compress(t, raw) }
	bomb := codec.bomb
	if bomb == nil {
		bomb = func(t testing.TB, name string, n int64) []byte { return codec.compress(t, tarBomb(t, name, n)) }
	}
	archive := func(es ...entry) func(string) Config {
		return func(v string) Config {
			f.publish(v, tarName(v), packed(tarRaw(t, es)))
			return base
		}
	}
	zipped := func(es ...entry) func(string) Config {
		return func(v string) Config {
			f.publish(v, zipName(v), zipArchive(t, es))
			return base
		}
	}
	serverFault := func(fault func(v string) func(w http.ResponseWriter, r *http.Request) bool) func(string) Config {
		return func(v string) Config {
			f.release(v)
			srv.setFault(fault(v))
			return base
		}
	}
	var ae *ArchiveError
	var ve *VerificationError
	var de *DownloadError
	cases := []hostile{
		{name: "tar zip-slip", setup: archive(entry{name: "hello", body: good}, entry{name: "../evil", body: []byte("x")}), want: []error{ErrUnsafeArchive}, as: &ae},
		{name: "tar nested zip-slip", setup: archive(entry{name: "a/../../evil", body: []byte("x")}, entry{name: "hello", body: good}), want: []error{ErrUnsafeArchive}, as: &ae},
		{name: "zip zip-slip", setup: zipped(entry{name: "hello", body: good}, entry{name: "../../evil", body: []byte("x")}), want: []error{ErrUnsafeArchive}, as: &ae},
		{name: "tar absolute path", setup: archive(entry{name: "/tmp/evil", body: []byte("x")}, entry{name: "hello", body: good}), want: []error{ErrUnsafeArchive}, as: &ae},
		{name: "zip absolute path", setup: zipped(entry{name: "/evil", body: []byte("x")}, entry{name: "hello", body: good}), want: []error{ErrUnsafeArchive}, as: &ae},
		{name: "zip drive letter", setup: zipped(entry{name: "C:/evil", body: []byte("x")}, entry{name: "hello", body: good}), want: []error{ErrUnsafeArchive}, as: &ae},
		{name: "backslash path", setup: zipped(entry{name: `..\evil`, body: []byte("x")}, entry{name: "hello", body: good}), want: []error{ErrUnsafeArchive}, as: &ae},
		{name: "tar symlink escape", setup: archive(entry{name: "lib", typ: tar.TypeSymlink, link: "../../etc"}, entry{name: "hello", body: good}), want: []error{ErrUnsafeArchive}, as: &ae},
		{name: "tar absolute symlink", setup: archive(entry{name: "lib", typ: tar.TypeSymlink, link: "/etc/passwd"}, entry{name: "hello", body: good}), want: []error{ErrUnsafeArchive}, as: &ae},
		{name: "zip symlink escape", setup: zipped(entry{name: "lib", typ: tar.TypeSymlink, link: "../../../etc/passwd"}, entry{name: "hello", body: good}), want: []error{ErrUnsafeArchive}, as: &ae},
		{name: "tar hardlink escape", setup: archive(entry{name: "hello", body: good}, entry{name: "x", typ: tar.TypeLink, link: "../../etc/shadow"}), want: []error{ErrUnsafeArchive}, as: &ae},
		{name: "binary is a symlink inside", setup: archive(entry{name: "real", body: good}, entry{name: "hello", typ: tar.TypeSymlink, link: "real"}), want: []error{ErrUnsafeArchive}, as: &ae},
		{name: "binary is a hardlink", setup: archive(entry{name: "real", body: good}, entry{name: "hello", typ: tar.TypeLink, link: "real"}), want: []error{ErrUnsafeArchive}, as: &ae},
		{name: "tar char device", setup: archive(entry{name: "hello", body: good}, entry{name: "null", typ: tar.TypeChar}), want: []error{ErrUnsafeArchive}, as: &ae},
		{name: "tar block device as binary", setup: archive(entry{name: "hello", typ: tar.TypeBlock}), want: []error{ErrUnsafeArchive}, as: &ae},
		{name: "tar fifo", setup: archive(entry{name: "hello", body: good}, entry{name: "pipe", typ: tar.TypeFifo}), want: []error{ErrUnsafeArchive}, as: &ae},
		{name: "zip device", setup: zipped(entry{name: "hello", body: good}, entry{name: "null", typ: tar.TypeChar}), want: []error{ErrUnsafeArchive}, as: &ae},
		{name: "duplicate binary", setup: archive(entry{name: "hello", body: good}, entry{name: "./hello", body: []byte("#!/bin/sh\necho pwned\n")}), want: []error{ErrUnsafeArchive}, as: &ae},
		{name: "binary in a subdirectory", setup: archive(entry{name: "hello-1/hello", body: good}), want: []error{ErrMissingEntry}, as: &ae},
		{name: "binary is a directory", setup: archive(entry{name: "hello/", typ: tar.TypeDir}), want: []error{ErrUnsafeArchive}, as: &ae},
		{name: "compression bomb (ratio)", setup: func(v string) Config {
			f.publish(v, tarName(v), bomb(t, "hello", 8<<20))
			return base
		}, want: []error{ErrTooLarge}, as: &ae},
		{name: "size bomb (total cap)", setup: func(v string) Config {
			body := []byte(randomHex(2 << 20))
			f.publish(v, tarName(v), packed(tarRaw(t, []entry{{name: "hello", body: good}, {name: "big", body: body}})))
			c := base
			c.Limits.MaxTotalSize = 1 << 20
			return c
		}, want: []error{ErrTooLarge}, as: &ae},
		{name: "sparse binary (200 MiB of holes in a tiny archive)", setup: func(v string) Config {
			f.publish(v, tarName(v), packed(sparseTar([]sparseEntry{{name: "hello", data: good, realSize: 200 << 20}}, nil)))
			return base
		}, want: []error{ErrUnsafeArchive}, as: &ae},
		{name: "skipped sparse entries past the total cap", setup: func(v string) Config {
			f.publish(v, tarName(v), packed(sparseTar([]sparseEntry{
				{name: "pad1", data: []byte("x"), realSize: 60 << 20},
				{name: "pad2", data: []byte("x"), realSize: 60 << 20},
			}, []entry{{name: "hello", body: good}})))
			c := base
			c.Limits.MaxTotalSize = 64 << 20
			return c
		}, want: []error{ErrUnsafeArchive}, as: &ae},
		{name: "entry over the per-file cap", setup: func(v string) Config {
			f.publish(v, tarName(v), packed(tarRaw(t, []entry{{name: "hello", body: []byte(randomHex(1 << 20))}})))
			c := base
			c.Limits.MaxEntrySize = 1000
			return c
		}, want: []error{ErrTooLarge}, as: &ae},
		{name: "download over the cap", setup: func(v string) Config {
			f.release(v)
			c := base
			c.Limits.MaxDownload = 10
			return c
		}, want: []error{ErrTooLarge}, as: new(*LimitError)},
		{name: "archive in an unknown format", setup: func(v string) Config {
			f.publish(v, fmt.Sprintf("hello-%s-%s-%s.tar.xz", v, f.plat.OS, f.plat.Arch), []byte("\xfd7zXZ\x00 not really"), func(r *manifest.Release) {
				r.Artifacts[0].Kind = manifest.KindArchive
			})
			return base
		}, want: []error{ErrUnsafeArchive}, as: &ae},
		{name: "not a gzip stream", setup: func(v string) Config {
			f.publish(v, tarName(v), []byte("this is not gzip at all"))
			return base
		}, want: []error{ErrUnsafeArchive}, as: &ae},

		{name: "tampered artifact", setup: func(v string) Config {
			f.release(v)
			p := filepath.Join(f.root, v, f.artifactName(v))
			b, _ := os.ReadFile(p)
			b[len(b)/2] ^= 0xff
			os.WriteFile(p, b, 0o644)
			return base
		}, want: []error{ErrVerification, verify.ErrChecksumMismatch}, as: &ve},
		{name: "artifact of another version served (mix-and-match)", setup: func(v string) Config {
			f.release(v)
			src, _ := os.ReadFile(filepath.Join(f.root, "1.0.0", f.artifactName("1.0.0")))
			dst := filepath.Join(f.root, v, f.artifactName(v))
			os.WriteFile(dst, src, 0o644)
			return base
		}, want: []error{ErrVerification}, as: &ve},
		{name: "manifest signed by another key", setup: func(v string) Config {
			f.release(v)
			other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			data, _ := os.ReadFile(filepath.Join(f.root, "manifest.json"))
			os.WriteFile(filepath.Join(f.root, "manifest.json.sig"), signBytes(t, other, data), 0o644)
			return base
		}, want: []error{ErrVerification, verify.ErrBadSignature}, as: &ve},
		{name: "manifest tampered after signing", setup: func(v string) Config {
			f.release(v)
			p := filepath.Join(f.root, "manifest.json")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, bytes.Replace(b, []byte(`"hello"`), []byte(`"hellp"`), 1), 0o644)
			return base
		}, want: []error{ErrVerification, verify.ErrBadSignature}, as: &ve},
		{name: "manifest unsigned", setup: func(v string) Config {
			f.release(v)
			os.Remove(filepath.Join(f.root, "manifest.json.sig"))
			return base
		}, want: []error{ErrVerification, verify.ErrBadSignature}, as: &ve},
		{name: "expired manifest (freeze)", setup: func(v string) Config {
			f.release(v)
			c := base
			c.Now = func() time.Time { return f.now.Add(365 * 24 * time.Hour) }
			return c
		}, want: []error{ErrVerification, verify.ErrExpired}, as: &ve},
		{name: "older manifest replayed (rollback)", setup: func(v string) Config {
			old, _ := os.ReadFile(filepath.Join(f.root, "manifest.json"))
			oldSig, _ := os.ReadFile(filepath.Join(f.root, "manifest.json.sig"))
			f.release(v)
			// The client sees the new manifest once...
			if _, err := f.installer(base).Check(ctx, manifest.Query{}); err != nil {
				t.Fatal(err)
			}
			// ...then an attacker replays the old one.
			os.WriteFile(filepath.Join(f.root, "manifest.json"), old, 0o644)
			os.WriteFile(filepath.Join(f.root, "manifest.json.sig"), oldSig, 0o644)
			return base
		}, want: []error{ErrVerification, verify.ErrRollback}, as: &ve},
		{name: "wrong size (longer body)", setup: serverFault(func(v string) func(http.ResponseWriter, *http.Request) bool {
			return func(w http.ResponseWriter, r *http.Request) bool {
				if !strings.HasSuffix(r.URL.Path, ".tar.gz") {
					return false
				}
				b, _ := os.ReadFile(filepath.Join(f.root, filepath.FromSlash(r.URL.Path)))
				w.Write(append(b, "trailing junk"...))
				return true
			}
		}), want: []error{ErrVerification, ErrSizeMismatch}, as: &de},
		{name: "body that never ends", setup: serverFault(func(v string) func(http.ResponseWriter, *http.Request) bool {
			return func(w http.ResponseWriter, r *http.Request) bool {
				if !strings.HasSuffix(r.URL.Path, ".tar.gz") {
					return false
				}
				chunk := bytes.Repeat([]byte{0x1f}, 32<<10)
				for i := 0; i < 1<<16; i++ { // 2 GiB unless the client hangs up
					if _, err := w.Write(chunk); err != nil {
						return true
					}
				}
				return true
			}
		}), want: []error{ErrVerification, verify.ErrSizeMismatch}, as: &de},
		{name: "short body, every time", setup: serverFault(func(v string) func(http.ResponseWriter, *http.Request) bool {
			return func(w http.ResponseWriter, r *http.Request) bool {
				if !strings.HasSuffix(r.URL.Path, ".tar.gz") {
					return false
				}
				b, _ := os.ReadFile(filepath.Join(f.root, filepath.FromSlash(r.URL.Path)))
				w.Write(b[:len(b)/2]) // chunked, ends cleanly: no Range support either
				w.(http.Flusher).Flush()
				return true
			}
		}), want: []error{ErrVerification, verify.ErrSizeMismatch}, as: &de},
		{name: "500 on the artifact", setup: serverFault(func(v string) func(http.ResponseWriter, *http.Request) bool {
			return func(w http.ResponseWriter, r *http.Request) bool {
				if !strings.HasSuffix(r.URL.Path, ".tar.gz") {
					return false
				}
				http.Error(w, "boom", 500)
				return true
			}
		}), as: &de},
		{name: "500 on the manifest", setup: serverFault(func(v string) func(http.ResponseWriter, *http.Request) bool {
			return func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != "/manifest.json" {
					return false
				}
				http.Error(w, "boom", http.StatusServiceUnavailable)
				return true
			}
		}), as: &de},
		{name: "manifest missing", setup: serverFault(func(v string) func(http.ResponseWriter, *http.Request) bool {
			return func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != "/manifest.json" {
					return false
				}
				http.NotFound(w, r)
				return true
			}
		}), want: []error{fs.ErrNotExist}, as: &de},
		{name: "stalled body", setup: func(v string) Config {
			f.release(v)
			srv.setFault(func(w http.ResponseWriter, r *http.Request) bool {
				if !strings.HasSuffix(r.URL.Path, ".tar.gz") {
					return false
				}
				w.Header().Set("Content-Length", fmt.Sprint(fileSize(t, filepath.Join(f.root, filepath.FromSlash(r.URL.Path)))))
				w.Write([]byte("partial"))
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
				case <-time.After(10 * time.Second):
				}
				return true
			})
			c := base
			c.Network.StallTimeout = 150 * time.Millisecond
			c.Network.Retries = -1
			return c
		}, as: new(*StallError)},
		{name: "slow body (trickle under the download timeout)", setup: func(v string) Config {
			f.release(v)
			srv.setFault(func(w http.ResponseWriter, r *http.Request) bool {
				if !strings.HasSuffix(r.URL.Path, ".tar.gz") {
					return false
				}
				data, _ := os.ReadFile(filepath.Join(f.root, filepath.FromSlash(r.URL.Path)))
				w.Header().Set("Content-Length", fmt.Sprint(len(data)))
				for _, b := range data {
					if _, err := w.Write([]byte{b}); err != nil {
						return true
					}
					w.(http.Flusher).Flush()
					select {
					case <-r.Context().Done():
						return true
					case <-time.After(20 * time.Millisecond):
					}
				}
				return true
			})
			c := base
			c.Network.DownloadTimeout = 300 * time.Millisecond
			return c
		}, want: []error{context.DeadlineExceeded}, as: &de},
		{name: "redirect to file://", setup: serverFault(func(v string) func(http.ResponseWriter, *http.Request) bool {
			return func(w http.ResponseWriter, r *http.Request) bool {
				if !strings.HasSuffix(r.URL.Path, ".tar.gz") {
					return false
				}
				http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
				return true
			}
		}), as: &de},
	}
	bin := filepath.Join(dir, "hello")
	want := readFile(t, bin)
	wantReceipt := readFile(t, ReceiptPath(dir, "hello"))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv.setFault(nil)
			defer srv.setFault(nil)
			v := nextVersion()
			cfg := tc.setup(v)
			start := time.Now()
			_, err := f.installer(cfg).Install(ctx, manifest.Query{Version: v})
			if err == nil {
				t.Fatal("hostile install succeeded")
			}
			t.Logf("refused in %v: %v", time.Since(start).Round(time.Millisecond), err)
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Errorf("error does not wrap %v", w)
				}
			}
			if tc.as != nil && !errors.As(err, tc.as) {
				t.Errorf("error is not a %T", tc.as)
			}
			if got := readFile(t, bin); got != want {
				t.Fatalf("installed binary changed to %q", got)
			}
			if got := readFile(t, ReceiptPath(dir, "hello")); got != wantReceipt {
				t.Fatal("receipt changed")
			}
			if l := leftovers(t, dir); len(l) != 0 {
				t.Fatalf("leftover files: %v", l)
			}
			for _, p := range []string{filepath.Join(parent, "evil"), filepath.Join(dir, "evil"), "/tmp/evil"} {
				if _, err := os.Lstat(p); err == nil {
					t.Fatalf("%s was written", p)
				}
			}
		})
	}
	// Restore a clean state for the rollback case's FileState and check the
	// good path still works after all of that.
	srv.setFault(nil)
	f.release("2.0.0")
	if _, err := f.installer(base).Install(ctx, manifest.Query{Version: "2.0.0"}); err != nil {
		t.Fatalf("a good install after the hostile cases: %v", err)
	}
	// And a good archive in the codec's format installs.
	body := script("hello", "2.1.0")
	f.publish("2.1.0", tarName("2.1.0"), packed(tarRaw(t, []entry{{name: "README", body: []byte("x")}, {name: "hello", body: body}})))
	if _, err := f.installer(base).Install(ctx, manifest.Query{Version: "2.1.0"}); err != nil {
		t.Fatalf("a good %s install: %v", codec.ext, err)
	}
	if got := readFile(t, bin); got != string(body) {
		t.Fatalf("installed %q from the %s archive", got, codec.ext)
	}
}

// TestHostileStateDirectory: a state directory an attacker (another user
// sharing the install directory, or a bug) has tampered with must never
// make the installer follow a link or a recorded name out of it. Each
// case starts from a good install of 1.0.0, tampers, runs Install (of
// 1.1.0) and Rollback, and wants each to fail with the typed error,
// leaving the victim file outside, the binary and the receipt as they
// were.
func TestHostileStateDirectory(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "hello")
	f.release("1.0.0")
	f.release("1.1.0")
	var ue *UnsafePathError
	var je *JournalError
	type tamper func(t *testing.T, dir, sd, victim string)
	writeRecord := func(t *testing.T, p string, v any) {
		t.Helper()
		if err := writeJSON(p, v); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name     string
		upgraded bool // start from 1.1.0 over 1.0.0 (a backup set exists)
		tamper   tamper
		want     error
		as       any
	}{
		{name: "lock file is a symlink to a victim", tamper: func(t *testing.T, dir, sd, victim string) {
			os.Remove(filepath.Join(sd, "lock"))
			os.Symlink(victim, filepath.Join(sd, "lock"))
		}, want: ErrUnsafePath, as: &ue},
		{name: "state directory is a symlink", tamper: func(t *testing.T, dir, sd, victim string) {
			elsewhere := filepath.Dir(victim)
			os.RemoveAll(sd)
			os.Symlink(elsewhere, sd)
		}, want: ErrUnsafePath, as: &ue},
		{name: "state directory is a file", tamper: func(t *testing.T, dir, sd, victim string) {
			os.RemoveAll(sd)
			os.WriteFile(sd, []byte("x"), 0o644)
		}, want: ErrUnsafePath, as: &ue},
		{name: "receipt is a symlink", tamper: func(t *testing.T, dir, sd, victim string) {
			os.Rename(filepath.Join(sd, "receipt.json"), filepath.Join(filepath.Dir(victim), "receipt.json"))
			os.Symlink(filepath.Join(filepath.Dir(victim), "receipt.json"), filepath.Join(sd, "receipt.json"))
		}, want: ErrUnsafePath, as: &ue},
		{name: "journal names ../victim", upgraded: true, tamper: func(t *testing.T, dir, sd, victim string) {
			info := readBackupInfo(t, sd)
			rel, _ := filepath.Rel(dir, victim)
			writeRecord(t, filepath.Join(sd, "journal.json"), journal{Schema: journalSchema, Version: "9.9.9", Artifact: "ab",
				Binaries: []setEntry{{Name: "hello", Existed: true}, {Name: filepath.ToSlash(rel), Existed: false}}, Backup: *info})
		}, want: ErrBadJournal, as: &je},
		{name: "journal backup dir leaves the state directory", upgraded: true, tamper: func(t *testing.T, dir, sd, victim string) {
			info := readBackupInfo(t, sd)
			info.Dir = "../.."
			writeRecord(t, filepath.Join(sd, "journal.json"), journal{Schema: journalSchema, Version: "9.9.9", Artifact: "ab",
				Binaries: []setEntry{{Name: "hello", Existed: true}}, Backup: *info})
		}, want: ErrBadJournal, as: &je},
		{name: "backup record names ../victim", upgraded: true, tamper: func(t *testing.T, dir, sd, victim string) {
			info := readBackupInfo(t, sd)
			rel, _ := filepath.Rel(dir, victim)
			info.Binaries = append(info.Binaries, setEntry{Name: filepath.ToSlash(rel), Existed: false})
			writeRecord(t, filepath.Join(sd, "backup.json"), info)
		}, want: ErrUnsafePath, as: &ue},
		{name: "backup directory is a symlink", upgraded: true, tamper: func(t *testing.T, dir, sd, victim string) {
			info := readBackupInfo(t, sd)
			bd := filepath.Join(sd, info.Dir)
			os.RemoveAll(bd)
			os.Symlink(filepath.Dir(victim), bd)
		}, want: ErrUnsafePath, as: &ue},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			outside := t.TempDir()
			victim := filepath.Join(outside, "victim")
			os.WriteFile(victim, []byte("precious"), 0o644)
			in := f.installer(f.config(f.root, dir))
			if _, err := in.Install(ctx, manifest.Query{Version: "1.0.0"}); err != nil {
				t.Fatal(err)
			}
			if tc.upgraded {
				if _, err := in.Install(ctx, manifest.Query{Version: "1.1.0"}); err != nil {
					t.Fatal(err)
				}
			}
			sd := StateDir(dir, "hello")
			bin := readFile(t, filepath.Join(dir, "hello"))
			tc.tamper(t, dir, sd, victim)
			outsideBefore := listDir(t, outside)
			for _, op := range []string{"install", "rollback"} {
				var err error
				if op == "install" {
					_, err = f.installer(f.config(f.root, dir)).Install(ctx, manifest.Query{Version: "1.1.0"}, Reinstall())
				} else {
					_, err = f.installer(f.config(f.root, dir)).Rollback(ctx)
				}
				if err == nil {
					t.Fatalf("%s succeeded with a tampered state directory", op)
				}
				t.Logf("%s: %v", op, err)
				if !errors.Is(err, tc.want) || !errors.As(err, tc.as) {
					t.Fatalf("%s: want %v (%T), got %v", op, tc.want, tc.as, err)
				}
				if got := readFile(t, victim); got != "precious" {
					t.Fatalf("%s: the victim outside was changed to %q", op, got)
				}
				if got := listDir(t, outside); got != outsideBefore {
					t.Fatalf("%s: files appeared outside: %s (was %s)", op, got, outsideBefore)
				}
				if got := readFile(t, filepath.Join(dir, "hello")); got != bin {
					t.Fatalf("%s: the binary changed to %q", op, got)
				}
			}
		})
	}
}

func readBackupInfo(t *testing.T, sd string) *backupInfo {
	t.Helper()
	var info backupInfo
	if err := readJSON(filepath.Join(sd, "backup.json"), &info); err != nil {
		t.Fatal(err)
	}
	return &info
}

// listDir names dir's entries, for comparing.
func listDir(t *testing.T, dir string) string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return strings.Join(names, ",")
}

// TestCheckRefusesASymlinkedStateDirectory: Check records the manifest
// serials it sees in the state directory, so a symbolic link there must
// stop it too, before anything is written through the link.
func TestCheckRefusesASymlinkedStateDirectory(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "hello")
	f.release("1.0.0")
	dir := t.TempDir()
	outside := t.TempDir()
	if err := os.Symlink(outside, StateDir(dir, "hello")); err != nil {
		t.Skip(err)
	}
	_, err := f.installer(f.config(f.root, dir)).Check(ctx, manifest.Query{})
	var ue *UnsafePathError
	if !errors.As(err, &ue) || ue.Path != StateDir(dir, "hello") {
		t.Fatalf("want an *UnsafePathError for the state directory, got %v", err)
	}
	if got := listDir(t, outside); got != "" {
		t.Fatalf("Check wrote through the link: %s", got)
	}
}
