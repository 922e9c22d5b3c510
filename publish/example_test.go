package publish_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish"
)

// stageExample writes a tiny staged release, as package release would:
// one archive, SHA256SUMS and the manifest.
func stageExample(dir string) error {
	files := map[string][]byte{"1.0.0/hello-1.0.0-linux-amd64.tar.gz": []byte("not really a tarball\n")}
	sums := &manifest.Checksums{}
	rel := manifest.Release{Version: "1.0.0", Date: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)}
	add := func(name string, kind manifest.Kind, data []byte) {
		s := sha256.Sum256(data)
		files[name] = data
		rel.Artifacts = append(rel.Artifacts, manifest.Artifact{Name: filepath.Base(name), Path: name,
			Kind: kind, Size: int64(len(data)), SHA256: hex.EncodeToString(s[:])})
	}
	add("1.0.0/hello-1.0.0-linux-amd64.tar.gz", manifest.KindArchive, files["1.0.0/hello-1.0.0-linux-amd64.tar.gz"])
	sums.Add("hello-1.0.0-linux-amd64.tar.gz", rel.Artifacts[0].SHA256)
	add("1.0.0/SHA256SUMS", manifest.KindChecksums, sums.Marshal())
	m := manifest.New("hello")
	if _, err := m.Add(rel); err != nil {
		return err
	}
	m.Touch(rel.Date, 90*24*time.Hour)
	data, err := m.Marshal()
	if err != nil {
		return err
	}
	files["manifest.json"] = data
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Publish a staged release into a directory (a local mirror, a web
// server's document root), then publish it again: the re-run uploads
// nothing.
func ExamplePublisher() {
	staged, _ := os.MkdirTemp("", "staged")
	defer os.RemoveAll(staged)
	www, _ := os.MkdirTemp("", "www")
	defer os.RemoveAll(www)
	if err := stageExample(staged); err != nil {
		log.Fatal(err)
	}

	store, err := publish.NewDirStore(www)
	if err != nil {
		log.Fatal(err)
	}
	store.BaseURL = "https://dl.example.com/hello/"
	p, err := publish.New(store, publish.WithConcurrency(4))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	res, err := p.Publish(ctx, staged)
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range res.Assets {
		fmt.Println(a.Action, a.URL)
	}
	fmt.Println("uploaded bytes:", res.BytesUploaded)

	res, err = p.Publish(ctx, staged)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("re-run uploaded bytes:", res.BytesUploaded, "skipped:", res.Skipped)
	// Output:
	// upload https://dl.example.com/hello/1.0.0/hello-1.0.0-linux-amd64.tar.gz
	// upload https://dl.example.com/hello/1.0.0/SHA256SUMS
	// upload https://dl.example.com/hello/manifest.json
	// uploaded bytes: 1067
	// re-run uploaded bytes: 0 skipped: 3
}

// DryRun prints what a publish would do, in upload order, without
// uploading anything.
func ExamplePublisher_DryRun() {
	staged, _ := os.MkdirTemp("", "staged")
	defer os.RemoveAll(staged)
	www, _ := os.MkdirTemp("", "www")
	defer os.RemoveAll(www)
	if err := stageExample(staged); err != nil {
		log.Fatal(err)
	}
	store, _ := publish.NewDirStore(www)
	p, _ := publish.New(store)
	if _, err := p.DryRun(context.Background(), staged, os.Stdout); err != nil {
		log.Fatal(err)
	}
	// Output:
	// upload   artifact  1.0.0/hello-1.0.0-linux-amd64.tar.gz (21 bytes, sha256 029beaa519a0)
	// upload   checksums 1.0.0/SHA256SUMS (97 bytes, sha256 cb063ff14d0d)
	// upload   manifest  manifest.json (949 bytes, sha256 8bc8178009f5)
	// plan: 3 to upload (1067 bytes), 0 to replace, 0 to skip, 0 refused
}

// Promote copies a release from a staging destination to the live one,
// verifying every file against the manifest on the way, without
// rebuilding anything.
func ExamplePublisher_Promote() {
	staged, _ := os.MkdirTemp("", "staged")
	defer os.RemoveAll(staged)
	stagingDir, _ := os.MkdirTemp("", "staging")
	defer os.RemoveAll(stagingDir)
	liveDir, _ := os.MkdirTemp("", "live")
	defer os.RemoveAll(liveDir)
	if err := stageExample(staged); err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	staging, _ := publish.NewDirStore(stagingDir)
	ps, _ := publish.New(staging)
	if _, err := ps.Publish(ctx, staged); err != nil {
		log.Fatal(err)
	}

	live, _ := publish.NewDirStore(liveDir)
	pl, _ := publish.New(live)
	res, err := pl.Promote(ctx, staging, publish.PromoteOptions{Versions: []string{"1.0.0"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("promoted:", res.Names())
	// Output:
	// promoted: [1.0.0/hello-1.0.0-linux-amd64.tar.gz 1.0.0/SHA256SUMS manifest.json]
}

// Example publishes a staged release into a directory, and again: the
// protocol is the same for every Store.
func Example() {
	ctx := context.Background()
	defer inTempDir()() // a release tool runs in its work tree
	if err := stageExample("dist/release"); err != nil {
		log.Fatal(err)
	}

	store, err := publish.NewDirStore("www/hello") // a web server's root; or s3.New(ctx, bucket, ...), github.New(owner, repo, tag, ...)
	if err != nil {
		log.Fatal(err)
	}
	p, err := publish.New(store, publish.WithConcurrency(4))
	if err != nil {
		log.Fatal(err)
	}
	res, err := p.Publish(ctx, "dist/release") // artifacts first, manifest.json last; a re-run uploads 0 bytes
	// res.Assets: every file with its URL; res.BytesUploaded is 0 on a re-run.
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("uploaded:", res.Names(), res.BytesUploaded, "bytes")
	res, err = p.Publish(ctx, "dist/release")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("re-run:", res.BytesUploaded, "bytes")
	// Output:
	// uploaded: [1.0.0/hello-1.0.0-linux-amd64.tar.gz 1.0.0/SHA256SUMS manifest.json] 1067 bytes
	// re-run: 0 bytes
}

// inTempDir moves into a new temporary directory and returns the function
// that moves back and removes it.
func inTempDir() func() {
	dir, err := os.MkdirTemp("", "relkit-example")
	if err != nil {
		log.Fatal(err)
	}
	back, err := os.Getwd()
	if err != nil {
		log.Fatal(err)
	}
	if err := os.Chdir(dir); err != nil {
		log.Fatal(err)
	}
	return func() {
		os.Chdir(back)
		os.RemoveAll(dir)
	}
}
