// Command publish-s3 is the relkit side of the S3 publish benchmark that
// run.sh drives: it stages a release of large random files and publishes
// it to an S3-compatible endpoint with the publish/s3 provider.
//
//	publish-s3 stage -dir D -files 20 -size 20971520
//	publish-s3 publish -dir D -endpoint http://127.0.0.1:PORT -bucket B -prefix P
//	publish-s3 freeport
//
// publish reads credentials from the standard AWS chain (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY) and prints one line of key=value results.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"runtime/pprof"
	"time"

	"github.com/relkit/relkit/bench/internal/benchstage"
	"github.com/relkit/relkit/publish"
	s3store "github.com/relkit/relkit/publish/s3"
)

func main() {
	log.SetFlags(0)
	if err := run(os.Args[1:]); err != nil {
		log.Fatalf("publish-s3: %v", err)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: publish-s3 stage|publish|freeport [flags]")
	}
	switch args[0] {
	case "stage":
		return stage(args[1:])
	case "publish":
		return publishDir(args[1:])
	case "freeport":
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer l.Close()
		fmt.Println(l.Addr().(*net.TCPAddr).Port)
		return nil
	}
	return fmt.Errorf("unknown command %q", args[0])
}

// stage writes D/<version>/hello-<version>-NN.tar.gz files of pseudo-random
// bytes and a manifest.json listing them.
func stage(args []string) error {
	fs := flag.NewFlagSet("stage", flag.ContinueOnError)
	dir := fs.String("dir", "", "directory to stage into")
	files := fs.Int("files", 20, "number of artifacts")
	size := fs.Int64("size", 20<<20, "size of each artifact in bytes")
	version := fs.String("version", "1.0.0", "release version")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("stage: -dir is required")
	}
	return benchstage.Stage(*dir, "hello", *version, *files, *size)
}

func publishDir(args []string) error {
	fs := flag.NewFlagSet("publish", flag.ContinueOnError)
	dir := fs.String("dir", "", "staged release directory")
	endpoint := fs.String("endpoint", "", "S3 endpoint URL (path-style); empty for AWS")
	bucket := fs.String("bucket", "", "bucket")
	prefix := fs.String("prefix", "", "key prefix")
	region := fs.String("region", "us-east-1", "region")
	conc := fs.Int("concurrency", publish.DefaultConcurrency, "files uploaded at once")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx := context.Background()
	opts := []s3store.Option{s3store.WithRegion(*region), s3store.WithPrefix(*prefix)}
	if *endpoint != "" {
		opts = append(opts, s3store.WithEndpoint(*endpoint), s3store.WithPathStyle())
	}
	store, err := s3store.New(ctx, *bucket, opts...)
	if err != nil {
		return err
	}
	p, err := publish.New(store, publish.WithConcurrency(*conc))
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := p.Publish(ctx, *dir)
	if err != nil {
		return err
	}
	fmt.Printf("seconds=%.3f files=%d uploaded=%d skipped=%d bytes_uploaded=%d\n",
		time.Since(start).Seconds(), len(res.Assets), res.Uploaded+res.Replaced, res.Skipped, res.BytesUploaded)
	return nil
}
