package s3test_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/relkit/relkit/internal/s3test"
	"github.com/relkit/relkit/internal/testenv"
)

func TestStartServesBucket(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	c := srv.Client()

	if !strings.HasPrefix(srv.Endpoint, "http://127.0.0.1:") {
		t.Errorf("Endpoint = %q, want a loopback URL", srv.Endpoint)
	}
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(srv.Bucket)}); err != nil {
		t.Fatalf("HeadBucket(%s): %v", srv.Bucket, err)
	}
	body := []byte("round trip\n")
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(srv.Bucket), Key: aws.String("d/k.txt"), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(srv.Bucket), Key: aws.String("d/k.txt")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(got, body) {
		t.Errorf("GetObject = %q, want %q", got, body)
	}
	// The posix backend keeps the object as a plain file.
	onDisk, err := os.ReadFile(srv.ObjectPath(srv.Bucket, "d/k.txt"))
	if err != nil || !bytes.Equal(onDisk, body) {
		t.Errorf("ObjectPath content = %q, %v; want %q", onDisk, err, body)
	}

	b2 := srv.NewBucket(t)
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(b2)}); err != nil {
		t.Errorf("HeadBucket(%s) after NewBucket: %v", b2, err)
	}
}

func TestWrongSecretIsRejected(t *testing.T) {
	srv := s3test.Start(t)
	cfg := srv.Config()
	cfg.Credentials = credentials.NewStaticCredentialsProvider(srv.AccessKey, "wrong"+srv.SecretKey, "")
	bad := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(srv.Endpoint)
		o.UsePathStyle = true
	})
	_, err := bad.ListBuckets(context.Background(), &s3.ListBucketsInput{})
	if err == nil {
		t.Fatal("ListBuckets with a wrong secret succeeded; the server must check signatures")
	}
}

func TestCloseStopsServer(t *testing.T) {
	bin := testenv.Tool(t, "versitygw")
	ctx := context.Background()
	srv, err := s3test.Launch(ctx, s3test.Config{Binary: bin, Bucket: "-"})
	if err != nil {
		t.Fatal(err)
	}
	dir := srv.Dir
	addr := strings.TrimPrefix(srv.Endpoint, "http://")
	if srv.Bucket != "" {
		t.Errorf("Bucket = %q with Config.Bucket \"-\", want none", srv.Bucket)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Errorf("%s still accepts connections after Close", addr)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("temporary dir %s still there after Close (err=%v)", dir, err)
	}
}

func TestLaunchNeedsBinary(t *testing.T) {
	_, err := s3test.Launch(context.Background(), s3test.Config{})
	if err == nil {
		t.Fatal("Launch with no binary succeeded")
	}
	_, err = s3test.Launch(context.Background(), s3test.Config{Binary: "/nonexistent/versitygw"})
	if err == nil {
		t.Fatal("Launch with a missing binary succeeded")
	}
}

func TestLookPathFindsTheToolTestenvFinds(t *testing.T) {
	want := testenv.Tool(t, "versitygw")
	got, err := s3test.LookPath()
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("LookPath() = %q, testenv.Tool = %q", got, want)
	}
}
