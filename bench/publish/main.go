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
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/relkit/relkit/manifest"
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
	const v = "1.0.0"
	if err := os.MkdirAll(filepath.Join(*dir, v), 0o755); err != nil {
		return err
	}
	rel := manifest.Release{Version: v, Date: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)}
	rng := rand.NewChaCha8([32]byte{1}) // an io.Reader of pseudo-random bytes
	for i := range *files {
		name := fmt.Sprintf("bench-%s-linux-part%02d.tar.gz", v, i)
		f, err := os.Create(filepath.Join(*dir, v, name))
		if err != nil {
			return err
		}
		h := sha256.New()
		if _, err := io.CopyN(io.MultiWriter(f, h), rng, *size); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		rel.Artifacts = append(rel.Artifacts, manifest.Artifact{Name: name, Path: v + "/" + name,
			Kind: manifest.KindArchive, Size: *size, SHA256: hex.EncodeToString(h.Sum(nil))})
	}
	m := manifest.New("bench")
	if _, err := m.Add(rel); err != nil {
		return err
	}
	m.Touch(rel.Date, 24*time.Hour)
	data, err := m.Marshal()
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(*dir, publish.ManifestName), data, 0o644)
}

func publishDir(args []string) error {
	fs := flag.NewFlagSet("publish", flag.ContinueOnError)
	dir := fs.String("dir", "", "staged release directory")
	dest := fs.String("dest", "", "destination directory")
	conc := fs.Int("concurrency", publish.DefaultConcurrency, "files uploaded at once")
	if err := fs.Parse(args); err != nil {
		return err
	}
	store, err := publish.NewDirStore(*dest)
	if err != nil {
		return err
	}
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
