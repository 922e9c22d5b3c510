// Package s3test starts a real S3-compatible server (versitygw) on the
// loopback interface for tests, benchmarks and examples.
//
// [Start] is what most tests want: it finds the versitygw binary with
// [testenv.Tool] (skipping the test when it is missing, failing it under
// RELKIT_INTEROP=1), starts it on 127.0.0.1 with a random free port, random
// keys and a temporary directory, creates a bucket, waits until the server
// answers and stops it in t.Cleanup:
//
//	srv := s3test.Start(t)
//	client := srv.Client()
//	// ... use srv.Bucket, srv.Endpoint, srv.AccessKey, srv.SecretKey
//
// [Launch] does the same without a testing.TB, for programs (benchmarks,
// example mains) that manage the server's lifetime themselves; [LookPath]
// finds the binary for them.
//
// # What versitygw v1.8.0 checks (verified with aws-sdk-go-v2)
//
//   - SigV4 signatures (a wrong secret is 403), path-style addressing.
//   - x-amz-checksum-sha256 on PutObject and UploadPart: a wrong digest is
//     400 BadDigest. HeadObject with ChecksumMode ENABLED returns the
//     SHA-256 (type FULL_OBJECT) of a single-part object and a composite
//     "<base64>-N" for a multipart one; ChecksumType FULL_OBJECT with
//     SHA-256 is refused (400 InvalidRequest), as on AWS.
//   - If-None-Match: * and If-Match on PutObject and
//     CompleteMultipartUpload: 412 PreconditionFailed; If-Match on a
//     missing key is 404 NoSuchKey.
//   - User metadata (x-amz-meta-*), Content-Type and Cache-Control are
//     stored and returned by HeadObject.
//   - Object ACLs (x-amz-acl: public-read) are accepted but not enforced:
//     an anonymous GET is still 403. Test ACLs on the wire, not by
//     downloading.
package s3test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/relkit/relkit/internal/testenv"
)

// Region is the region the server is started with and the clients sign for.
const Region = "us-east-1"

// DefaultBucket is the bucket [Start] and [Launch] create unless told otherwise.
const DefaultBucket = "relkit-test"

// StartTimeout bounds how long [Launch] waits for the server to answer.
const StartTimeout = 15 * time.Second

// Config says how to launch a server. The zero value of every field but
// Binary picks a sensible default.
type Config struct {
	// Binary is the path of the versitygw executable. Required.
	Binary string
	// Dir is the directory the posix backend stores buckets in. Empty means
	// a new temporary directory, removed by [Server.Close].
	Dir string
	// Bucket is created after start. Empty means [DefaultBucket]; "-" means
	// create no bucket.
	Bucket string
	// AccessKey and SecretKey are the root credentials. Empty means random.
	AccessKey, SecretKey string
	// Log receives the server's stdout and stderr. Nil keeps the last
	// 64 KiB in memory, reported in start errors and by [Server.Log].
	Log *os.File
}

// Server is a running versitygw process.
type Server struct {
	// Endpoint is the base URL, e.g. "http://127.0.0.1:40123". Clients must
	// use path-style addressing.
	Endpoint string
	// Bucket is the bucket created at start ("" when none was).
	Bucket string
	// AccessKey and SecretKey are the root credentials.
	AccessKey, SecretKey string
	// Dir is the posix backend's directory: Dir/<bucket>/<key> is an object.
	Dir string

	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
	log     *tailBuffer
	tmpDir  string
	once    sync.Once
}

// LookPath returns the path of the versitygw binary: on PATH, else in
// $GOBIN or $(go env GOPATH)/bin, where .ci/tools.sh installs it.
func LookPath() (string, error) {
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	var dirs []string
	if d := os.Getenv("GOBIN"); d != "" {
		dirs = append(dirs, d)
	}
	if d := os.Getenv("GOPATH"); d != "" {
		for _, p := range filepath.SplitList(d) {
			dirs = append(dirs, filepath.Join(p, "bin"))
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "versitygw")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errors.New("versitygw not found on PATH or in GOPATH/bin; install it with .ci/tools.sh versitygw")
}

// Start launches versitygw for a test and stops it in t.Cleanup. It skips
// the test when versitygw is not installed (see [testenv.Tool]).
func Start(t testing.TB) *Server {
	t.Helper()
	bin := testenv.Tool(t, "versitygw")
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout+5*time.Second)
	defer cancel()
	s, err := Launch(ctx, Config{Binary: bin, Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("s3test: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("s3test: %v", err)
		}
	})
	return s
}

// Launch starts a server as described by cfg and waits until it answers
// signed requests and the bucket exists. The caller must call
// [Server.Close].
func Launch(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Binary == "" {
		return nil, errors.New("launch versitygw: Config.Binary is empty")
	}
	s := &Server{
		AccessKey: cfg.AccessKey,
		SecretKey: cfg.SecretKey,
		Dir:       cfg.Dir,
		Bucket:    cfg.Bucket,
	}
	if s.AccessKey == "" {
		s.AccessKey = "AK" + randomHex(9)
	}
	if s.SecretKey == "" {
		s.SecretKey = "SK" + randomHex(18)
	}
	switch s.Bucket {
	case "":
		s.Bucket = DefaultBucket
	case "-":
		s.Bucket = ""
	}
	if s.Dir == "" {
		d, err := os.MkdirTemp("", "relkit-s3test-")
		if err != nil {
			return nil, fmt.Errorf("launch versitygw: %w", err)
		}
		s.Dir, s.tmpDir = d, d
	}

	// A free port can be taken between our probe and versitygw's listen;
	// try a few times before giving up.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		if err := s.start(ctx, cfg); err != nil {
			lastErr = err
			if ctx.Err() != nil {
				break
			}
			continue
		}
		if s.Bucket != "" {
			if err := s.CreateBucket(ctx, s.Bucket); err != nil {
				_ = s.Close()
				return nil, err
			}
		}
		return s, nil
	}
	if s.tmpDir != "" {
		_ = os.RemoveAll(s.tmpDir)
	}
	return nil, lastErr
}

func (s *Server) start(ctx context.Context, cfg Config) error {
	port, err := freePort()
	if err != nil {
		return fmt.Errorf("launch versitygw: %w", err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	s.Endpoint = "http://" + addr
	s.log = &tailBuffer{max: 64 << 10}
	s.done = make(chan struct{})
	s.waitErr = nil

	cmd := exec.Command(cfg.Binary, "--port", addr, "--region", Region, "--quiet", "posix", s.Dir)
	cmd.Env = append(cleanEnv(),
		"ROOT_ACCESS_KEY="+s.AccessKey,
		"ROOT_SECRET_KEY="+s.SecretKey,
	)
	if cfg.Log != nil {
		cmd.Stdout, cmd.Stderr = cfg.Log, cfg.Log
	} else {
		cmd.Stdout, cmd.Stderr = s.log, s.log
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("launch versitygw: %w", err)
	}
	s.cmd = cmd
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()
	if err := s.waitReady(ctx); err != nil {
		s.stop()
		return fmt.Errorf("launch versitygw on %s: %w\n%s", addr, err, s.log.String())
	}
	return nil
}

// waitReady polls with a signed ListBuckets until it succeeds.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, StartTimeout)
	defer cancel()
	client := s.Client()
	var last error
	for {
		select {
		case <-s.done:
			return fmt.Errorf("exited before answering: %v", s.waitErr)
		default:
		}
		rctx, rcancel := context.WithTimeout(ctx, time.Second)
		_, err := client.ListBuckets(rctx, &s3.ListBucketsInput{})
		rcancel()
		if err == nil {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("not answering after %v: %v", StartTimeout, last)
		case <-s.done:
			return fmt.Errorf("exited before answering: %v", s.waitErr)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Config returns an aws.Config with the server's static credentials and
// region, and no retries beyond the SDK's defaults.
func (s *Server) Config() aws.Config {
	return aws.Config{
		Region:      Region,
		Credentials: credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
		HTTPClient:  &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
	}
}

// Client returns an S3 client for the server: base endpoint and path-style
// addressing set. optFns are applied after those.
func (s *Server) Client(optFns ...func(*s3.Options)) *s3.Client {
	opts := append([]func(*s3.Options){func(o *s3.Options) {
		o.BaseEndpoint = aws.String(s.Endpoint)
		o.UsePathStyle = true
	}}, optFns...)
	return s3.NewFromConfig(s.Config(), opts...)
}

// CreateBucket creates a bucket on the server.
func (s *Server) CreateBucket(ctx context.Context, name string) error {
	_, err := s.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
	if err != nil {
		return fmt.Errorf("create bucket %q on %s: %w", name, s.Endpoint, err)
	}
	return nil
}

// NewBucket creates a bucket with a unique name for a test and returns its name.
func (s *Server) NewBucket(t testing.TB) string {
	t.Helper()
	name := "b-" + randomHex(8)
	if err := s.CreateBucket(context.Background(), name); err != nil {
		t.Fatal(err)
	}
	return name
}

// Env returns environment variables that point AWS tools (the AWS CLI,
// rclone's env_auth) at the server's credentials and region.
func (s *Server) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + s.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + s.SecretKey,
		"AWS_REGION=" + Region,
		"AWS_ENDPOINT_URL=" + s.Endpoint,
	}
}

// Log returns the tail of the server's output (empty when Config.Log was set).
func (s *Server) Log() string { return s.log.String() }

// Close stops the server and removes the temporary directory Launch made.
// It is safe to call more than once.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		s.stop()
		if s.tmpDir != "" {
			err = os.RemoveAll(s.tmpDir)
		}
	})
	return err
}

func (s *Server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// ObjectPath returns where the posix backend keeps an object's bytes.
func (s *Server) ObjectPath(bucket, key string) string {
	return filepath.Join(s.Dir, bucket, filepath.FromSlash(key))
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// cleanEnv drops variables versitygw reads (VGW_*, ROOT_*) so the host's
// environment cannot change how the test server behaves.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "VGW_") || strings.HasPrefix(kv, "ROOT_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if extra := b.buf.Len() - b.max; extra > 0 {
		b.buf.Next(extra)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	if b == nil {
		return ""
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
