package s3_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/relkit/relkit/internal/s3test"
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/publish/publishtest"
	s3store "github.com/relkit/relkit/publish/s3"
)

var prefixes atomic.Int64

// newStore returns a store on srv under a prefix no other store uses.
func newStore(t testing.TB, srv *s3test.Server, opts ...s3store.Option) *s3store.Store {
	t.Helper()
	prefix := fmt.Sprintf("t%d/releases", prefixes.Add(1))
	all := append([]s3store.Option{
		s3store.WithConfig(srv.Config()),
		s3store.WithEndpoint(srv.Endpoint),
		s3store.WithPathStyle(),
		s3store.WithPrefix(prefix),
	}, opts...)
	s, err := s3store.New(context.Background(), srv.Bucket, all...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	srv := s3test.Start(t)
	publishtest.RunWith(t, func(t *testing.T) publish.Store { return newStore(t, srv) },
		publishtest.Options{Reopen: func(t *testing.T, s publish.Store) publish.Store {
			return newStoreAt(t, srv, s.(*s3store.Store).Prefix())
		}})
}

// TestConformanceOtherOptions runs the suite again with the options that
// change what requests are sent: an ACL, no Cache-Control, and no
// conditional headers (HEAD before create-only puts).
func TestConformanceOtherOptions(t *testing.T) {
	if testing.Short() {
		t.Skip("second conformance run")
	}
	srv := s3test.Start(t)
	publishtest.Run(t, func(t *testing.T) publish.Store {
		return newStore(t, srv, s3store.WithPublicRead(), s3store.WithCacheControl("", ""),
			s3store.WithoutConditionalWritesUnsafe())
	})
}

func TestWithoutConditionalWrites(t *testing.T) {
	srv := s3test.Start(t)
	rec := newRecordingProxy(t, srv.Endpoint)
	ctx := context.Background()
	s, err := s3store.New(ctx, srv.Bucket, s3store.WithConfig(srv.Config()), s3store.WithEndpoint(rec.URL),
		s3store.WithPathStyle(), s3store.WithoutConditionalWritesUnsafe())
	if err != nil {
		t.Fatal(err)
	}
	v1, v2 := []byte("one"), []byte("two")
	if err := s.Put(ctx, "1.0.0/a", body("a", v1, sum(v1)), putInfo(v1, publish.StageArtifact, false)); err != nil {
		t.Fatal(err)
	}
	err = s.Put(ctx, "1.0.0/a", body("a", v2, sum(v2)), putInfo(v2, publish.StageArtifact, false))
	if !errors.Is(err, publish.ErrExist) {
		t.Errorf("create-only Put over an existing key without conditional writes = %v, want ErrExist", err)
	}
	if err := s.Put(ctx, "1.0.0/a", body("a", v2, sum(v2)), putInfo(v2, publish.StageArtifact, true)); err != nil {
		t.Errorf("replacing Put: %v", err)
	}
	if obj, err := s.Stat(ctx, "1.0.0/a"); err != nil || obj.SHA256 != sum(v2) {
		t.Errorf("after replace: %+v, %v", obj, err)
	}
	for _, h := range rec.requests("PUT") {
		if h.Get("If-None-Match") != "" || h.Get("If-Match") != "" {
			t.Errorf("PUT sent If-None-Match=%q If-Match=%q", h.Get("If-None-Match"), h.Get("If-Match"))
		}
	}
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func body(name string, data []byte, sha string) *publish.Body {
	return publish.NewBody(name, bytes.NewReader(data), int64(len(data)), sha)
}

func putInfo(data []byte, stage publish.Stage, replace bool) publish.PutInfo {
	return publish.PutInfo{Size: int64(len(data)), SHA256: sum(data), ContentType: "application/gzip", Stage: stage, Replace: replace}
}

func head(t *testing.T, srv *s3test.Server, key string) *awss3.HeadObjectOutput {
	t.Helper()
	out, err := srv.Client().HeadObject(context.Background(), &awss3.HeadObjectInput{
		Bucket: aws.String(srv.Bucket), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatalf("HeadObject(%s): %v", key, err)
	}
	return out
}

func checkNoObject(t *testing.T, srv *s3test.Server, key string) {
	t.Helper()
	_, err := srv.Client().HeadObject(context.Background(), &awss3.HeadObjectInput{Bucket: aws.String(srv.Bucket), Key: aws.String(key)})
	if err == nil {
		t.Errorf("object %s exists, want none", key)
	}
}

func checkNoUploads(t *testing.T, srv *s3test.Server) {
	t.Helper()
	out, err := srv.Client().ListMultipartUploads(context.Background(), &awss3.ListMultipartUploadsInput{Bucket: aws.String(srv.Bucket)})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range out.Uploads {
		t.Errorf("multipart upload of %s (%s) left behind", aws.ToString(u.Key), aws.ToString(u.UploadId))
	}
}

func TestPutSendsSHA256AndHeaders(t *testing.T) {
	srv := s3test.Start(t)
	s := newStore(t, srv)
	ctx := context.Background()
	data := []byte("artifact bytes\n")

	if err := s.Put(ctx, "1.0.0/a.tar.gz", body("a", data, sum(data)), putInfo(data, publish.StageArtifact, false)); err != nil {
		t.Fatal(err)
	}
	out := head(t, srv, s.Key("1.0.0/a.tar.gz"))
	if got, want := aws.ToString(out.ChecksumSHA256), b64(sum(data)); got != want {
		t.Errorf("x-amz-checksum-sha256 = %q, want %q", got, want)
	}
	if got := out.Metadata[s3store.MetadataSHA256]; got != sum(data) {
		t.Errorf("x-amz-meta-sha256 = %q, want %s", got, sum(data))
	}
	if got := aws.ToString(out.ContentType); got != "application/gzip" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := aws.ToString(out.CacheControl); got != s3store.DefaultImmutableCacheControl {
		t.Errorf("Cache-Control of an artifact = %q, want %q", got, s3store.DefaultImmutableCacheControl)
	}

	man := []byte(`{"schema":"relkit.manifest/v1"}`)
	info := putInfo(man, publish.StageManifest, true)
	info.ContentType = "application/json"
	if err := s.Put(ctx, manifest.File, body("m", man, sum(man)), info); err != nil {
		t.Fatal(err)
	}
	out = head(t, srv, s.Key(manifest.File))
	if got := aws.ToString(out.CacheControl); got != s3store.DefaultMutableCacheControl {
		t.Errorf("Cache-Control of manifest.json = %q, want %q", got, s3store.DefaultMutableCacheControl)
	}
	if got := aws.ToString(out.ContentType); got != "application/json" {
		t.Errorf("Content-Type of manifest.json = %q", got)
	}

	obj, err := s.Stat(ctx, "1.0.0/a.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	if obj.SHA256 != sum(data) || obj.Size != int64(len(data)) {
		t.Errorf("Stat = %+v, want size %d sha256 %s", obj, len(data), sum(data))
	}
}

func b64(hexSum string) string {
	raw, _ := hex.DecodeString(hexSum)
	return strings.TrimSpace(base64Std(raw))
}

func TestPrefix(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	s, err := s3store.New(ctx, srv.Bucket, s3store.WithConfig(srv.Config()), s3store.WithEndpoint(srv.Endpoint),
		s3store.WithPathStyle(), s3store.WithPrefix("/hello/releases/"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Prefix() != "hello/releases" {
		t.Errorf("Prefix() = %q", s.Prefix())
	}
	data := []byte("x")
	if err := s.Put(ctx, "1.0.0/SHA256SUMS", body("x", data, sum(data)), putInfo(data, publish.StageChecksums, false)); err != nil {
		t.Fatal(err)
	}
	// The object is under the prefix, on disk too.
	got, err := os.ReadFile(srv.ObjectPath(srv.Bucket, "hello/releases/1.0.0/SHA256SUMS"))
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("object under prefix: %q, %v", got, err)
	}
	checkNoObject(t, srv, "1.0.0/SHA256SUMS")
	if want := srv.Endpoint + "/" + srv.Bucket + "/hello/releases/1.0.0/SHA256SUMS"; s.URL("1.0.0/SHA256SUMS") != want {
		t.Errorf("URL = %q, want %q", s.URL("1.0.0/SHA256SUMS"), want)
	}

	// A store without prefix sees the object under the full key only.
	root := newStoreAt(t, srv, "")
	if _, err := root.Stat(ctx, "1.0.0/SHA256SUMS"); !errors.Is(err, publish.ErrNotExist) {
		t.Errorf("Stat at bucket root = %v, want ErrNotExist", err)
	}
	if obj, err := root.Stat(ctx, "hello/releases/1.0.0/SHA256SUMS"); err != nil || obj.SHA256 != sum(data) {
		t.Errorf("Stat of the full key = %+v, %v", obj, err)
	}

	for _, bad := range []string{"a/../b", "a//b", "./a", "a\\b"} {
		if _, err := s3store.New(ctx, srv.Bucket, s3store.WithConfig(srv.Config()), s3store.WithPrefix(bad)); err == nil {
			t.Errorf("WithPrefix(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"../x", "/abs", "a/./b", ""} {
		if err := s.Put(ctx, bad, body("x", data, sum(data)), putInfo(data, publish.StageArtifact, false)); err == nil {
			t.Errorf("Put(%q) accepted", bad)
		}
		if _, err := s.Stat(ctx, bad); err == nil {
			t.Errorf("Stat(%q) accepted", bad)
		}
	}
}

func newStoreAt(t *testing.T, srv *s3test.Server, prefix string) *s3store.Store {
	t.Helper()
	s, err := s3store.New(context.Background(), srv.Bucket, s3store.WithConfig(srv.Config()), s3store.WithEndpoint(srv.Endpoint),
		s3store.WithPathStyle(), s3store.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestBadDigest: bytes whose SHA-256 is not the declared one. The server
// refuses them by itself (BadDigest) given the x-amz-checksum-sha256 that
// Store.Put sends, and Store.Put refuses them with a typed, final error;
// nothing is stored either way.
func TestBadDigest(t *testing.T) {
	srv := s3test.Start(t)
	s := newStore(t, srv)
	data := []byte("the real bytes")
	wrong := sum([]byte("declared bytes"))
	raw, _ := hex.DecodeString(wrong)
	// The server's own check, as Store.Put asks for it.
	_, err := srv.Client().PutObject(context.Background(), &awss3.PutObjectInput{Bucket: aws.String(srv.Bucket), Key: aws.String(s.Key("1.0.0/raw.bin")),
		Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256, ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(raw))})
	if err == nil || !(strings.Contains(err.Error(), "BadDigest") || strings.Contains(err.Error(), "XAmzContentSHA256Mismatch")) {
		t.Errorf("the server accepted bytes that do not match their x-amz-checksum-sha256: %v", err)
	}
	checkNoObject(t, srv, s.Key("1.0.0/raw.bin"))
	// Store.Put, with the Body checking what it delivers.
	err = s.Put(context.Background(), "1.0.0/x.bin", publish.NewBody("1.0.0/x.bin", bytes.NewReader(data), int64(len(data)), wrong), publish.PutInfo{
		Size: int64(len(data)), SHA256: wrong, ContentType: "application/octet-stream", Stage: publish.StageArtifact})
	if !errors.Is(err, publish.ErrChecksum) {
		t.Fatalf("Put with a wrong SHA-256 = %v, want an error wrapping ErrChecksum", err)
	}
	var se *s3store.Error
	if !errors.As(err, &se) {
		t.Errorf("error = %v, want an *s3.Error", err)
	}
	if publish.IsRetryable(err) {
		t.Errorf("IsRetryable(%v) = true", err)
	}
	checkNoObject(t, srv, s.Key("1.0.0/x.bin"))
}

// TestChangedFileNeverPublished: the staged file changes between planning
// and upload; the *publish.Body reports it and nothing is stored.
func TestChangedFileNeverPublished(t *testing.T) {
	srv := s3test.Start(t)
	s := newStore(t, srv)
	planned := []byte("planned bytes!")
	actual := []byte("changed bytes!")
	err := s.Put(context.Background(), "1.0.0/y.bin", body("y", actual, sum(planned)), putInfo(planned, publish.StageArtifact, false))
	if !errors.Is(err, publish.ErrChecksum) {
		t.Fatalf("Put = %v, want ErrChecksum", err)
	}
	checkNoObject(t, srv, s.Key("1.0.0/y.bin"))
}

func TestCreateOnlyRefusal(t *testing.T) {
	srv := s3test.Start(t)
	s := newStore(t, srv)
	other := newStoreAt(t, srv, s.Prefix()) // a concurrent publisher
	ctx := context.Background()
	first, second := []byte("first"), []byte("second")
	if err := s.Put(ctx, "1.0.0/a.zip", body("a", first, sum(first)), putInfo(first, publish.StageArtifact, false)); err != nil {
		t.Fatal(err)
	}
	err := other.Put(ctx, "1.0.0/a.zip", body("a", second, sum(second)), putInfo(second, publish.StageArtifact, false))
	if !errors.Is(err, publish.ErrExist) {
		t.Fatalf("create-only Put over an existing key = %v, want ErrExist", err)
	}
	var se *s3store.Error
	if !errors.As(err, &se) || se.StatusCode != 412 {
		t.Errorf("error = %v, want an *s3.Error with status 412", err)
	}
	obj, err := s.Stat(ctx, "1.0.0/a.zip")
	if err != nil || obj.SHA256 != sum(first) {
		t.Errorf("after refused Put: Stat = %+v, %v; want the first bytes", obj, err)
	}
}

// TestReplaceDetectsConcurrentPublisher: a conditional put sends If-Match
// with the ETag (Object.Version) its Stat saw; when another publisher
// replaced the manifest in between, the put is refused with ErrChanged
// instead of overwriting it.
func TestReplaceDetectsConcurrentPublisher(t *testing.T) {
	srv := s3test.Start(t)
	a := newStore(t, srv)
	b := newStoreAt(t, srv, a.Prefix())
	ctx := context.Background()
	v1, v2, v3 := []byte(`{"serial":1}`), []byte(`{"serial":2}`), []byte(`{"serial":3}`)
	m := manifest.File
	if err := a.Put(ctx, m, body(m, v1, sum(v1)), putInfo(v1, publish.StageManifest, true)); err != nil {
		t.Fatal(err)
	}
	sa, err := a.Stat(ctx, m) // a reads
	if err != nil {
		t.Fatal(err)
	}
	sb, err := b.Stat(ctx, m) // b reads
	if err != nil {
		t.Fatal(err)
	}
	if sa.Version == "" || sa.Version != sb.Version {
		t.Fatalf("Stat versions %q and %q, want the same ETag", sa.Version, sb.Version)
	}
	ib := putInfo(v2, publish.StageManifest, true)
	ib.IfMatch = sb.Version
	if err := b.Put(ctx, m, body(m, v2, sum(v2)), ib); err != nil {
		t.Fatalf("b replaces: %v", err)
	}
	ia := putInfo(v3, publish.StageManifest, true)
	ia.IfMatch = sa.Version
	err = a.Put(ctx, m, body(m, v3, sum(v3)), ia)
	if !errors.Is(err, publish.ErrChanged) {
		t.Fatalf("a replaces a manifest b changed since a's Stat: %v, want ErrChanged", err)
	}
	if obj, _ := a.Stat(ctx, m); obj.SHA256 != sum(v2) {
		t.Errorf("manifest after refused replace = %s, want b's %s", obj.SHA256, sum(v2))
	}
	// After a fresh Stat, a may replace it.
	if err := a.Put(ctx, m, body(m, v3, sum(v3)), putInfo(v3, publish.StageManifest, true)); err != nil {
		t.Errorf("replace after a fresh Stat: %v", err)
	}

	// Stat saw nothing, then somebody created it: a create-only put (what
	// the Publisher sends when nothing was there) is refused too.
	n := "keys.json"
	if _, err := a.Stat(ctx, n); !errors.Is(err, publish.ErrNotExist) {
		t.Fatal(err)
	}
	if err := b.Put(ctx, n, body(n, v1, sum(v1)), putInfo(v1, publish.StageIndex, true)); err != nil {
		t.Fatal(err)
	}
	if err := a.Put(ctx, n, body(n, v2, sum(v2)), putInfo(v2, publish.StageIndex, false)); !errors.Is(err, publish.ErrExist) {
		t.Errorf("replace of a file created since Stat saw none: %v, want ErrExist", err)
	}
}

// bigFile writes size random bytes to a file and returns it, open.
func bigFile(t testing.TB, size int) (*os.File, string) {
	t.Helper()
	data := make([]byte, size)
	rand.Read(data)
	p := filepath.Join(t.TempDir(), "big.tar.gz")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, sum(data)
}

func TestMultipart(t *testing.T) {
	srv := s3test.Start(t)
	s := newStore(t, srv, s3store.WithMultipart(s3store.MinPartSize, s3store.MinPartSize), s3store.WithPartConcurrency(2))
	ctx := context.Background()
	size := 2*s3store.MinPartSize + 12345 // three parts
	f, sha := bigFile(t, size)
	name := "2.0.0/big.tar.gz"
	info := publish.PutInfo{Size: int64(size), SHA256: sha, ContentType: "application/gzip", Stage: publish.StageArtifact}
	if err := s.Put(ctx, name, publish.NewBody(name, f, int64(size), sha), info); err != nil {
		t.Fatal(err)
	}
	out := head(t, srv, s.Key(name))
	// S3 reports a checksum of the parts' checksums for a multipart
	// object; the content's SHA-256 is in the metadata.
	if c := aws.ToString(out.ChecksumSHA256); !strings.HasSuffix(c, "-3") {
		t.Errorf("checksum = %q (type %s), want a composite checksum of 3 parts", c, out.ChecksumType)
	}
	if aws.ToString(out.ETag) == "" || !strings.HasSuffix(strings.Trim(aws.ToString(out.ETag), `"`), "-3") {
		t.Errorf("ETag = %s, want a multipart ETag of 3 parts", aws.ToString(out.ETag))
	}
	obj, err := s.Stat(ctx, name)
	if err != nil || obj.SHA256 != sha || obj.Size != int64(size) {
		t.Errorf("Stat = %+v, %v; want sha256 %s size %d", obj, err, sha, size)
	}
	rc, err := s.Open(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, rc)
	rc.Close()
	if err != nil || n != int64(size) || hex.EncodeToString(h.Sum(nil)) != sha {
		t.Errorf("downloaded %d bytes, %v, sha256 %x; want %d, %s", n, err, h.Sum(nil), size, sha)
	}

	// Create-only: refused at completion, upload aborted.
	f.Seek(0, io.SeekStart)
	err = s.Put(ctx, name, publish.NewBody(name, f, int64(size), sha), info)
	if !errors.Is(err, publish.ErrExist) {
		t.Errorf("second create-only multipart Put = %v, want ErrExist", err)
	}
	checkNoUploads(t, srv)

	// A file that does not match its planned SHA-256: aborted, nothing stored.
	name2 := "2.0.0/changed.tar.gz"
	wrong := sum([]byte("planned"))
	info.SHA256 = wrong
	err = s.Put(ctx, name2, publish.NewBody(name2, f, int64(size), wrong), info)
	if !errors.Is(err, publish.ErrChecksum) {
		t.Errorf("multipart Put of changed bytes = %v, want ErrChecksum", err)
	}
	checkNoObject(t, srv, s.Key(name2))
	checkNoUploads(t, srv)
}

// TestMultipartCancel: a multipart upload cancelled halfway leaves no
// object and no incomplete upload behind.
func TestMultipartCancel(t *testing.T) {
	srv := s3test.Start(t)
	s := newStore(t, srv, s3store.WithMultipart(s3store.MinPartSize, s3store.MinPartSize), s3store.WithPartConcurrency(1))
	size := 4 * s3store.MinPartSize
	f, sha := bigFile(t, size)
	ctx, cancel := context.WithCancel(context.Background())
	name := "3.0.0/big.zip"
	src := &cancelAfter{File: f, n: s3store.MinPartSize + 1, cancel: cancel}
	err := s.Put(ctx, name, publish.NewBody(name, src, int64(size), sha), publish.PutInfo{Size: int64(size), SHA256: sha, ContentType: "application/zip", Stage: publish.StageArtifact})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Put = %v, want context.Canceled", err)
	}
	if publish.IsRetryable(err) {
		t.Errorf("IsRetryable(cancelled) = true")
	}
	checkNoObject(t, srv, s.Key(name))
	checkNoUploads(t, srv)
}

// cancelAfter cancels a context once n bytes of the file were read (by
// Read or ReadAt): a publish cancelled halfway through an upload.
type cancelAfter struct {
	*os.File
	n      int64
	read   atomic.Int64
	cancel context.CancelFunc
}

func (c *cancelAfter) count(n int) {
	if c.read.Add(int64(n)) >= c.n {
		c.cancel()
	}
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.File.Read(p)
	c.count(n)
	return n, err
}

func (c *cancelAfter) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.File.ReadAt(p, off)
	c.count(n)
	return n, err
}

func TestMissingObjectAndBucket(t *testing.T) {
	srv := s3test.Start(t)
	s := newStore(t, srv)
	ctx := context.Background()
	if _, err := s.Stat(ctx, "nope"); !errors.Is(err, publish.ErrNotExist) {
		t.Errorf("Stat(missing) = %v, want ErrNotExist", err)
	}
	if _, err := s.Open(ctx, "nope"); !errors.Is(err, publish.ErrNotExist) {
		t.Errorf("Open(missing) = %v, want ErrNotExist", err)
	}
	nb, err := s3store.New(ctx, "no-such-bucket", s3store.WithConfig(srv.Config()), s3store.WithEndpoint(srv.Endpoint), s3store.WithPathStyle())
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("x")
	err = nb.Put(ctx, "a", body("a", data, sum(data)), putInfo(data, publish.StageArtifact, false))
	var se *s3store.Error
	if !errors.As(err, &se) || se.Code != "NoSuchBucket" {
		t.Errorf("Put into a missing bucket = %v, want code NoSuchBucket", err)
	}
	if errors.Is(err, publish.ErrNotExist) || publish.IsRetryable(err) {
		t.Errorf("Put into a missing bucket: ErrNotExist=%v retryable=%v, want neither", errors.Is(err, publish.ErrNotExist), publish.IsRetryable(err))
	}
}

func TestWrongCredentialsNotRetried(t *testing.T) {
	srv := s3test.Start(t)
	s, err := s3store.New(context.Background(), srv.Bucket, s3store.WithConfig(srv.Config()),
		s3store.WithStaticCredentials(srv.AccessKey, "not-the-secret", ""), s3store.WithEndpoint(srv.Endpoint), s3store.WithPathStyle())
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("x")
	err = s.Put(context.Background(), "a", body("a", data, sum(data)), putInfo(data, publish.StageArtifact, false))
	var se *s3store.Error
	if !errors.As(err, &se) || se.StatusCode != 403 {
		t.Fatalf("Put with a wrong secret = %v, want a 403 *s3.Error", err)
	}
	if publish.IsRetryable(err) {
		t.Errorf("IsRetryable(403) = true")
	}
}

// TestServerDownIsRetryable: a connection refused is transient.
func TestServerDownIsRetryable(t *testing.T) {
	srv := s3test.Start(t)
	s := newStore(t, srv)
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := s.Stat(context.Background(), "a")
	if err == nil || !publish.IsRetryable(err) {
		t.Errorf("Stat with the server down = %v, retryable=%v; want a retryable error", err, publish.IsRetryable(err))
	}
	if errors.Is(err, publish.ErrNotExist) {
		t.Errorf("Stat with the server down wraps ErrNotExist: %v", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	ctx := context.Background()
	cfg := aws.Config{Region: "us-east-1"}
	bad := map[string][]s3store.Option{
		"endpoint scheme":   {s3store.WithEndpoint("ftp://x")},
		"endpoint no host":  {s3store.WithEndpoint("http://")},
		"small part":        {s3store.WithMultipart(s3store.MinPartSize, s3store.MinPartSize-1)},
		"threshold < part":  {s3store.WithMultipart(s3store.MinPartSize, 2*s3store.MinPartSize)},
		"zero concurrency":  {s3store.WithPartConcurrency(0)},
		"empty creds":       {s3store.WithStaticCredentials("", "x", "")},
		"empty region":      {s3store.WithRegion(" ")},
		"cache-control CR":  {s3store.WithCacheControl("a\r\nb", "")},
		"public url scheme": {s3store.WithPublicURL("dl.example.com")},
	}
	for what, opts := range bad {
		if _, err := s3store.New(ctx, "bucket", append([]s3store.Option{s3store.WithConfig(cfg)}, opts...)...); err == nil {
			t.Errorf("%s: New accepted it", what)
		}
	}
	for _, b := range []string{"", "UPPER", "a", "has space", "x/y"} {
		if _, err := s3store.New(ctx, b, s3store.WithConfig(cfg)); err == nil {
			t.Errorf("bucket %q accepted", b)
		}
	}
	if _, err := s3store.New(ctx, "bucket", s3store.WithConfig(aws.Config{})); err == nil {
		t.Error("New without a region accepted")
	}
}

func TestURL(t *testing.T) {
	ctx := context.Background()
	cfg := aws.Config{Region: "eu-west-1"}
	cases := []struct {
		opts []s3store.Option
		want string
	}{
		{nil, "https://rel.s3.eu-west-1.amazonaws.com/1.0.0/a%20b.tar.gz"},
		{[]s3store.Option{s3store.WithPrefix("p/q")}, "https://rel.s3.eu-west-1.amazonaws.com/p/q/1.0.0/a%20b.tar.gz"},
		{[]s3store.Option{s3store.WithEndpoint("https://acct.r2.cloudflarestorage.com")}, "https://rel.acct.r2.cloudflarestorage.com/1.0.0/a%20b.tar.gz"},
		{[]s3store.Option{s3store.WithEndpoint("http://127.0.0.1:9000/"), s3store.WithPathStyle()}, "http://127.0.0.1:9000/rel/1.0.0/a%20b.tar.gz"},
		{[]s3store.Option{s3store.WithPublicURL("https://dl.example.com/hello/"), s3store.WithPrefix("x")}, "https://dl.example.com/hello/1.0.0/a%20b.tar.gz"},
	}
	for _, c := range cases {
		s, err := s3store.New(ctx, "rel", append([]s3store.Option{s3store.WithConfig(cfg)}, c.opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.URL("1.0.0/a b.tar.gz"); got != c.want {
			t.Errorf("URL = %q, want %q", got, c.want)
		}
	}
}

// TestStatusRetryable checks the error mapping for answers versitygw does
// not give on demand (5xx, 429), with an httptest server that answers
// every request with an S3 XML error. It is an extra: the behaviour of
// real answers is tested against versitygw above.
func TestStatusRetryable(t *testing.T) {
	cases := []struct {
		status    int
		code      string
		retryable bool
		exist     bool
	}{
		{503, "SlowDown", true, false},
		{500, "InternalError", true, false},
		{429, "TooManyRequests", true, false},
		{400, "InvalidRequest", false, false},
		{403, "AccessDenied", false, false},
		{409, "ConditionalRequestConflict", false, true},
	}
	for _, c := range cases {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(c.status)
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>test</Message></Error>`, c.code)
		}))
		s, err := s3store.New(context.Background(), "bucket", s3store.WithConfig(aws.Config{Region: "us-east-1"}),
			s3store.WithStaticCredentials("AK", "SK", ""), s3store.WithEndpoint(srv.URL), s3store.WithPathStyle())
		if err != nil {
			t.Fatal(err)
		}
		data := []byte("x")
		err = s.Put(context.Background(), "a", body("a", data, sum(data)), putInfo(data, publish.StageArtifact, false))
		srv.Close()
		var se *s3store.Error
		if !errors.As(err, &se) || se.StatusCode != c.status || se.Code != c.code {
			t.Errorf("%d %s: error = %v, want an *s3.Error with that status and code", c.status, c.code, err)
		}
		if got := publish.IsRetryable(err); got != c.retryable {
			t.Errorf("%d %s: IsRetryable = %v, want %v", c.status, c.code, got, c.retryable)
		}
		if got := errors.Is(err, publish.ErrExist); got != c.exist {
			t.Errorf("%d %s: errors.Is(ErrExist) = %v, want %v", c.status, c.code, got, c.exist)
		}
	}
}

// TestPublishRelease publishes a staged release through the Publisher
// and checks the result's URLs, the headers of what landed, that public
// objects download anonymously, and that a re-run uploads nothing.
func TestPublishRelease(t *testing.T) {
	srv := s3test.Start(t)
	rec := newRecordingProxy(t, srv.Endpoint)
	s, err := s3store.New(context.Background(), srv.Bucket, s3store.WithConfig(srv.Config()), s3store.WithEndpoint(rec.URL),
		s3store.WithPathStyle(), s3store.WithPrefix("rel"), s3store.WithPublicRead())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	names := publishtest.StageRelease(t, dir, publishtest.Release{Version: "1.4.0"})
	p, err := publish.New(s)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := p.Publish(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if res.Uploaded != len(names) || res.BytesUploaded == 0 {
		t.Errorf("first publish: uploaded %d files, %d bytes; want %d files", res.Uploaded, res.BytesUploaded, len(names))
	}
	if want := rec.URL + "/" + srv.Bucket + "/rel/"; res.URL != want {
		t.Errorf("Result.URL = %q, want %q", res.URL, want)
	}
	for _, a := range res.Assets {
		if a.URL != s.URL(a.Name) {
			t.Errorf("asset %s URL = %q, want %q", a.Name, a.URL, s.URL(a.Name))
		}
		out := head(t, srv, s.Key(a.Name))
		wantCC := s3store.DefaultImmutableCacheControl
		if publish.IsMutable(a.Name) {
			wantCC = s3store.DefaultMutableCacheControl
		}
		if got := aws.ToString(out.CacheControl); got != wantCC {
			t.Errorf("%s: Cache-Control %q, want %q", a.Name, got, wantCC)
		}
		if aws.ToString(out.ContentType) == "" {
			t.Errorf("%s: no Content-Type", a.Name)
		}
		if out.Metadata[s3store.MetadataSHA256] != a.SHA256 {
			t.Errorf("%s: x-amz-meta-sha256 %q, want %s", a.Name, out.Metadata[s3store.MetadataSHA256], a.SHA256)
		}
	}

	// Every object upload carried the ACL, the SHA-256 checksum and a
	// condition (versitygw accepts object ACLs but does not enforce
	// them, so the headers are checked on the wire).
	// Only the signature files the Publisher derives from the committed
	// manifest (sigs/, manifest.json.sig) are replaced unconditionally.
	puts := rec.requests("PUT")
	if len(puts) != len(names)+2 {
		t.Errorf("%d PUT requests, want %d (the staged files and 2 in sigs/)", len(puts), len(names)+2)
	}
	for _, h := range puts {
		key := h.Get("X-Test-Key")
		// Root files (no version directory) are replaced whatever is
		// there, last writer wins; manifest.json is the exception,
		// conditional on the revision merged into.
		root := !strings.Contains(strings.TrimPrefix(key, "/"+srv.Bucket+"/"+s.Prefix()+"/"), "/") || strings.Contains(key, "/sigs/")
		derived := root && !strings.HasSuffix(key, "/manifest.json")
		if h.Get("X-Amz-Acl") != "public-read" || h.Get("X-Amz-Checksum-Sha256") == "" ||
			(!derived && h.Get("If-None-Match") != "*" && h.Get("If-Match") == "") {
			t.Errorf("PUT headers: acl=%q checksum=%q if-none-match=%q if-match=%q",
				h.Get("X-Amz-Acl"), h.Get("X-Amz-Checksum-Sha256"), h.Get("If-None-Match"), h.Get("If-Match"))
		}
	}

	res, err = p.Publish(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if res.BytesUploaded != 0 || res.Uploaded != 0 || res.Skipped != len(names) {
		t.Errorf("re-run: uploaded %d files, %d bytes, skipped %d; want 0, 0, %d", res.Uploaded, res.BytesUploaded, res.Skipped, len(names))
	}
}

// recordingProxy forwards requests to an S3 server and records their
// headers.
type recordingProxy struct {
	URL string
	mu  sync.Mutex
	log []recorded
}

type recorded struct {
	method string
	header http.Header
}

func newRecordingProxy(t *testing.T, target string) *recordingProxy {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := &recordingProxy{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rp.mu.Lock()
		h := r.Header.Clone()
		h.Set("X-Test-Key", r.URL.Path)
		rp.log = append(rp.log, recorded{r.Method, h})
		rp.mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	rp.URL = srv.URL
	return rp
}

func (rp *recordingProxy) requests(method string) []http.Header {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	var hs []http.Header
	for _, r := range rp.log {
		if r.method == method {
			hs = append(hs, r.header)
		}
	}
	return hs
}

// TestMultipartReplace: a replacing multipart upload completes with
// If-Match on the ETag Stat saw, and is refused when the object changed.
func TestMultipartReplace(t *testing.T) {
	srv := s3test.Start(t)
	opts := []s3store.Option{s3store.WithMultipart(s3store.MinPartSize, s3store.MinPartSize)}
	a := newStore(t, srv, opts...)
	b := newStoreAt(t, srv, a.Prefix())
	ctx := context.Background()
	name := "keys.json" // a mutable root file, large enough for parts
	size := s3store.MinPartSize + 100
	putIf := func(s *s3store.Store, ifMatch string) error {
		f, sha := bigFile(t, size)
		return s.Put(ctx, name, publish.NewBody(name, f, int64(size), sha),
			publish.PutInfo{Size: int64(size), SHA256: sha, ContentType: "application/json", Stage: publish.StageIndex, Replace: true, IfMatch: ifMatch})
	}
	put := func(s *s3store.Store) error { return putIf(s, "") }
	if err := put(a); err != nil {
		t.Fatal(err)
	}
	first, err := a.Stat(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if err := putIf(a, first.Version); err != nil {
		t.Fatalf("multipart replace after Stat: %v", err)
	}
	seenA, err := a.Stat(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	seenB, err := b.Stat(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if err := putIf(b, seenB.Version); err != nil {
		t.Fatal(err)
	}
	if err := putIf(a, seenA.Version); !errors.Is(err, publish.ErrChanged) {
		t.Errorf("multipart replace of an object changed since Stat = %v, want ErrChanged", err)
	}
	checkNoUploads(t, srv)
}

// BenchmarkPut measures one Put of a 20 MiB file to the local versitygw,
// in one request and in 5 MiB parts.
func BenchmarkPut(b *testing.B) {
	srv := s3test.Start(b)
	const size = 20 << 20
	f, sha := bigFile(b, size)
	for _, bc := range []struct {
		name string
		opts []s3store.Option
	}{
		{"single", nil},
		{"multipart", []s3store.Option{s3store.WithMultipart(s3store.MinPartSize, s3store.MinPartSize)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := newStore(b, srv, bc.opts...)
			b.SetBytes(size)
			i := 0
			for b.Loop() {
				name := fmt.Sprintf("bench/%d.tar.gz", i)
				i++
				if _, err := f.Seek(0, io.SeekStart); err != nil {
					b.Fatal(err)
				}
				if err := s.Put(context.Background(), name, publish.NewBody(name, f, size, sha),
					publish.PutInfo{Size: size, SHA256: sha, ContentType: "application/gzip", Stage: publish.StageArtifact}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestStalledRequestIsRetried: a request that stalls past the store's own
// deadline fails with a retryable *TimeoutError, and the Publisher's
// retry completes the publish (issue 12: one stalled request used to fail
// the whole publish, or hang it without a deadline).
func TestStalledRequestIsRetried(t *testing.T) {
	srv := s3test.Start(t)
	u, err := url.Parse(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	release := make(chan struct{})
	var puts, stalled atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && puts.Add(1) == 3 {
			stalled.Add(1)
			select { // hold the request until the client gives up (bounded)
			case <-r.Context().Done():
			case <-release:
			case <-time.After(10 * time.Second):
			}
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	defer close(release) // before front.Close, which waits for the handler
	s, err := s3store.New(context.Background(), srv.Bucket, s3store.WithConfig(srv.Config()), s3store.WithEndpoint(front.URL),
		s3store.WithPathStyle(), s3store.WithPrefix(fmt.Sprintf("stall%d", prefixes.Add(1))), s3store.WithTimeout(300*time.Millisecond, 0))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	publishtest.StageRelease(t, dir, publishtest.Release{})
	p, err := publish.New(s, publish.WithRetry(publishtest.FastRetry), publish.WithConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Publish(context.Background(), dir); err != nil {
		t.Fatalf("publish with one stalled request: %v", err)
	}
	if stalled.Load() != 1 {
		t.Fatalf("%d requests stalled, want 1", stalled.Load())
	}
	// The error itself is typed and retryable.
	var te *s3store.TimeoutError
	_, err = s.Stat(context.Background(), "x") // not stalled: a plain 404
	if errors.As(err, &te) {
		t.Errorf("a 404 reported as a timeout: %v", err)
	}
	if !publish.IsRetryable(&s3store.TimeoutError{Err: errors.New("x")}) {
		t.Error("a TimeoutError is not retryable")
	}
}

// TestStoreString: a Store used as a verify.Location (release's remote
// verification) prints as its bucket and prefix in errors.
func TestStoreString(t *testing.T) {
	srv := s3test.Start(t)
	s := newStoreAt(t, srv, "releases/hello")
	if got, want := fmt.Sprint(s), "s3://"+srv.Bucket+"/releases/hello"; got != want {
		t.Errorf("fmt.Sprint(Store) = %q, want %q", got, want)
	}
	if got, want := fmt.Sprint(newStoreAt(t, srv, "")), "s3://"+srv.Bucket; got != want {
		t.Errorf("fmt.Sprint(Store without prefix) = %q, want %q", got, want)
	}
}
