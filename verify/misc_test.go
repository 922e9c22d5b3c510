package verify

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relkit/relkit/manifest"
)

func TestReaderAndVerifyFile(t *testing.T) {
	body := []byte("artifact bytes")
	want := Expected{Name: "a.tar.gz", SHA256: strings.ToUpper(sha256hex(body)), Size: int64(len(body))}
	vr, err := NewReader(bytes.NewReader(body), want)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := io.Copy(&out, vr); err != nil {
		t.Fatal(err)
	}
	if !vr.Verified() || vr.N() != int64(len(body)) || vr.Sum() != sha256hex(body) || !bytes.Equal(out.Bytes(), body) {
		t.Fatalf("verified=%v n=%d", vr.Verified(), vr.N())
	}
	// A failed stream is never Verified, and the error is sticky.
	vr, _ = NewReader(strings.NewReader("artifact bytez"), want)
	if _, err := io.Copy(io.Discard, vr); !errors.Is(err, ErrChecksumMismatch) || vr.Verified() {
		t.Fatalf("tampered: %v", err)
	}
	if _, err := vr.Read(make([]byte, 8)); !errors.Is(err, ErrChecksumMismatch) {
		t.Fatalf("second read: %v", err)
	}
	path := filepath.Join(t.TempDir(), "a.tar.gz")
	os.WriteFile(path, body, 0o644)
	if err := VerifyFile(bg, path, want); err != nil {
		t.Fatal(err)
	}
	want.Size++
	if err := VerifyFile(bg, path, want); !errors.Is(err, ErrSizeMismatch) {
		t.Fatalf("size: %v", err)
	}
	if err := VerifyFile(bg, path+".missing", want); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestFetchKeyBundleFromDir(t *testing.T) {
	root := newKey(t, "ed25519#fkb-root")
	sk := newKey(t, "p256#fkb-signing")
	b := &KeyBundle{Serial: 1, Issued: testNow, Expires: testNow.Add(time.Hour), Keys: []BundleKey{{KeyID: sk.id, PublicKey: string(sk.pem)}}}
	data, _ := b.Marshal()
	sigs, _ := set(t, root.entry(t, manifest.KeysFile, data)).Marshal()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, manifest.KeysFile), data, 0o644)
	os.WriteFile(filepath.Join(dir, manifest.SignaturesFile), sigs, 0o644)
	signing, err := verifier(t, ring(t, root)).FetchKeyBundle(bg, Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := signing.Key(sk.id); !ok {
		t.Fatalf("signing key missing: %v", signing.IDs())
	}
	// Without a signature it is refused.
	os.Remove(filepath.Join(dir, manifest.SignaturesFile))
	if _, err := verifier(t, ring(t, root)).FetchKeyBundle(bg, Dir(dir)); !errors.Is(err, ErrNoSignature) {
		t.Fatalf("unsigned bundle: %v", err)
	}
}

func TestMergeKeepsRevocations(t *testing.T) {
	a, b := newKey(t, "p256"), newKey(t, "ed25519")
	pinned := ring(t, a, b)
	bundle := ring(t, newKey(t, "p384"))
	bundle.Revoke(a.id, "leaked")
	pinned.Merge(bundle)
	if _, ok := pinned.Key(a.id); ok {
		t.Fatal("revoked pinned key still trusted")
	}
	if pinned.Len() != 2 {
		t.Fatalf("ring %v", pinned.IDs())
	}
	if _, err := pinned.Add(a.pub); !errors.Is(err, ErrRevoked) {
		t.Fatalf("re-adding revoked key: %v", err)
	}
}

// TestErrorMessages: every typed error names what failed.
func TestErrorMessages(t *testing.T) {
	for _, c := range []struct {
		err  error
		want []string
	}{
		{&LimitError{What: "manifest.json", Limit: 10}, []string{"manifest.json", "10"}},
		{&KeyError{KeyID: "abc", Reason: "RSA key of 1024 bits", Err: io.EOF}, []string{"abc", "1024", "EOF"}},
		{&FormatError{File: "keys.json", Reason: "no expiry"}, []string{"keys.json", "no expiry"}},
		{&SignatureError{File: "SHA256SUMS", KeyID: "k1", Algorithm: AlgEd25519, Err: ErrBadSignature}, []string{"SHA256SUMS", "k1", "ed25519"}},
		{&ThresholdError{File: "manifest.json", Need: 2, Got: 1, Failures: []error{ErrUnknownKey}}, []string{"manifest.json", "1 of 2", "untrusted key"}},
		{&ExpiredError{What: "manifest.json", Expires: "2026-01-01T00:00:00Z", Now: "2026-02-01T00:00:00Z"}, []string{"manifest.json", "2026-01-01"}},
		{&RollbackError{What: "manifest.json", Got: 3, Last: 7}, []string{"3", "7"}},
		{&ChecksumMismatchError{Name: "a.tgz", Want: "aa", Got: "bb"}, []string{"a.tgz", "aa", "bb"}},
		{&SizeMismatchError{Name: "a.tgz", Want: 10, Got: 9}, []string{"a.tgz", "9", "10"}},
		{&MissingEntryError{Name: "a.tgz", In: "SHA256SUMS"}, []string{"a.tgz", "SHA256SUMS"}},
		{&ArtifactMismatchError{Name: "a.tgz", Field: "arch", Want: "amd64", Got: "arm64"}, []string{"a.tgz", "arch", "amd64", "arm64"}},
		{&HTTPError{URL: "http://x/y", StatusCode: 503}, []string{"http://x/y", "503"}},
		{&HTTPError{URL: "http://x", Redirect: "file:///etc", Reason: "scheme"}, []string{"file:///etc"}},
		{&TimeoutError{URL: "http://x", Timeout: time.Second, Idle: true}, []string{"http://x", "1s"}},
		{&TimeoutError{URL: "http://x", Timeout: time.Minute}, []string{"http://x", "1m0s"}},
	} {
		msg := c.err.Error()
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%T: %q does not mention %q", c.err, msg, w)
			}
		}
	}
}

func TestHTTPOptions(t *testing.T) {
	for _, o := range []HTTPOption{WithHTTPClient(nil), WithFetchTimeout(0), WithIdleTimeout(-1), WithMaxFetchSize(0)} {
		if _, err := NewHTTP("https://example.com/", o); err == nil {
			t.Error("bad option accepted")
		}
	}
	for _, u := range []string{"ftp://example.com/", "/relative", "https://user:pw@example.com/", "https://example.com/?q=1"} {
		if _, err := NewHTTP(u); err == nil {
			t.Errorf("base %q accepted", u)
		}
	}
	c := &http.Client{Timeout: time.Second}
	h, err := NewHTTP("https://example.com/releases", WithHTTPClient(c))
	if err != nil {
		t.Fatal(err)
	}
	if c.CheckRedirect != nil {
		t.Error("the caller's client was modified")
	}
	if got := h.URL("1.2.0/SHA256SUMS"); got != "https://example.com/releases/1.2.0/SHA256SUMS" {
		t.Errorf("URL = %s", got)
	}
}

// TestExpectedSize: Size 0 means an empty file (a non-empty one fails),
// UnknownSize skips the size check (the digest still decides), the size of
// a SHA256SUMS entry is UnknownSize, and any other negative size is
// refused (issue 16 item 8: -1 for unknown beside 0 for empty misled).
func TestExpectedSize(t *testing.T) {
	if UnknownSize != -1 {
		t.Fatalf("UnknownSize = %d: the wire and every caller use -1", UnknownSize)
	}
	empty := Expected{Name: "empty", SHA256: sha256hex(nil), Size: 0}
	if err := Verify(bg, strings.NewReader(""), empty); err != nil {
		t.Errorf("empty file, Size 0: %v", err)
	}
	body := []byte("x")
	var se *SizeMismatchError
	if err := Verify(bg, bytes.NewReader(body), Expected{Name: "x", SHA256: sha256hex(body), Size: 0}); !errors.As(err, &se) || se.Want != 0 || se.Got != 1 {
		t.Errorf("one byte, Size 0: %v; want a *SizeMismatchError (want 0, got 1)", err)
	}
	if err := Verify(bg, bytes.NewReader(body), Expected{Name: "x", SHA256: sha256hex(body), Size: UnknownSize}); err != nil {
		t.Errorf("one byte, UnknownSize: %v", err)
	}
	if err := Verify(bg, strings.NewReader("y"), Expected{Name: "x", SHA256: sha256hex(body), Size: UnknownSize}); !errors.Is(err, ErrChecksumMismatch) {
		t.Errorf("wrong byte, UnknownSize: %v; want ErrChecksumMismatch", err)
	}
	var fe *FormatError
	if _, err := NewReader(bytes.NewReader(body), Expected{Name: "x", SHA256: sha256hex(body), Size: UnknownSize - 1}); !errors.As(err, &fe) {
		t.Errorf("Size %d: %v; want a *FormatError", UnknownSize-1, err)
	}
	sums, err := manifest.ParseChecksums(strings.NewReader(sha256hex(body) + "  x\n"))
	if err != nil {
		t.Fatal(err)
	}
	if e, err := ExpectChecksum(sums, "x"); err != nil || e.Size != UnknownSize {
		t.Errorf("ExpectChecksum: %+v, %v; want Size UnknownSize", e, err)
	}
}
