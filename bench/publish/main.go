// Command publish is the relkit side of the directory publish benchmark
// that run.sh drives: it stages a release of large random files and
// publishes it with the directory provider (publish.DirStore), which
// hashes every file, copies it to a temporary file, fsyncs and renames it.
//
//	publish stage -dir D -files 20 -size 20971520
//	publish publish -dir D -dest X
//
// publish prints one line: seconds=S uploaded=N skipped=N bytes_uploaded=B.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/relkit/relkit/bench/internal/benchstage"
	"github.com/relkit/relkit/publish"
)

func main() {
	log.SetFlags(0)
	if err := run(os.Args[1:]); err != nil {
		log.Fatalf("publish: %v", err)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: publish stage|publish [flags]")
	}
	switch args[0] {
	case "stage":
		return stage(args[1:])
	case "publish":
		return publishDir(args[1:])
	}
	return fmt.Errorf("unknown command %q", args[0])
}

func stage(args []string) error {
	fs := flag.NewFlagSet("stage", flag.ContinueOnError)
	dir := fs.String("dir", "", "staged release directory to create")
	files := fs.Int("files", 20, "number of artifacts")
	size := fs.Int64("size", 20<<20, "size of each artifact in bytes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("stage: -dir is required")
	}
	return benchstage.Stage(*dir, "bench", "1.0.0", *files, *size)
}

func publishDir(args []string) error {
	fs := flag.NewFlagSet("publish", flag.ContinueOnError)
	dir := fs.String("dir", "", "staged release directory")
	dest := fs.String("dest", "", "destination directory")
	conc := fs.Int("concurrency", publish.DefaultConcurrency, "files uploaded at once")
	rehash := fs.Bool("rehash", false, "hash every published file instead of trusting the digest sidecars")
	if err := fs.Parse(args); err != nil {
		return err
	}
	store, err := publish.NewDirStore(*dest)
	if err != nil {
		return err
	}
	store.Rehash = *rehash
	p, err := publish.New(store, publish.WithConcurrency(*conc))
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := p.Publish(context.Background(), *dir)
	if err != nil {
		return err
	}
	fmt.Printf("seconds=%.6f uploaded=%d skipped=%d bytes_uploaded=%d\n",
		time.Since(start).Seconds(), res.Uploaded, res.Skipped, res.BytesUploaded)
	return nil
}
