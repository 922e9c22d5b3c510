package github_test

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
	"github.com/relkit/relkit/publish/github"
	"github.com/relkit/relkit/publish/github/githubtest"
)

// stageExample writes a tiny staged release: one archive and the manifest.
func stageExample(dir string) error {
	data := []byte("not really a tarball\n")
	s := sha256.Sum256(data)
	name := "1.0.0/hello-1.0.0-linux-amd64.tar.gz"
	m := manifest.New("hello")
	date := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	if _, err := m.Add(manifest.Release{Version: "1.0.0", Date: date, Artifacts: []manifest.Artifact{{
		Name: filepath.Base(name), Path: name, Kind: manifest.KindArchive, OS: "linux", Arch: "amd64",
		Size: int64(len(data)), SHA256: hex.EncodeToString(s[:])}}}); err != nil {
		return err
	}
	m.Touch(date, 90*24*time.Hour)
	mdata, err := m.Marshal()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "1.0.0"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(name)), data, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "manifest.json"), mdata, 0o644)
}

// Publish a staged release as a GitHub release, with the token from the
// environment as GitHub Actions sets it. The example runs against
// githubtest's in-memory GitHub Enterprise server; against github.com,
// leave out WithBaseURL.
func ExampleNew() {
	srv, err := githubtest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	apiURL := srv.URL                           // a GitHub Enterprise Server's API URL
	os.Setenv("GITHUB_TOKEN", githubtest.Token) // set by GitHub Actions or the user
	defer os.Unsetenv("GITHUB_TOKEN")
	staged, _ := os.MkdirTemp("", "staged") // dist/release in a release tool
	defer os.RemoveAll(staged)
	if err := stageExample(staged); err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	tok, err := github.TokenFromEnv() // GITHUB_TOKEN, else GH_TOKEN
	if err != nil {
		log.Fatal(err)
	}
	store, err := github.New("acme", "hello", "v1.0.0", github.WithToken(tok),
		github.WithBaseURL(apiURL)) // GitHub Enterprise Server; without it, api.github.com
	if err != nil {
		log.Fatal(err)
	}
	p, err := publish.New(store)
	if err != nil {
		log.Fatal(err)
	}
	res, err := p.Publish(ctx, staged)
	if err != nil {
		log.Fatal(err)
	}
	// res.URL is the release page; res.Assets the download URLs.
	rel := srv.Releases("acme", "hello")[0]
	fmt.Println("draft:", rel.Draft, "assets:", rel.Order)
	fmt.Println("uploaded:", res.Uploaded, "files")
	// Output:
	// draft: false assets: [hello-1.0.0-linux-amd64.tar.gz manifest.json]
	// uploaded: 2 files
}

// Publish a staged release in the forge layout: the root (manifest.json
// and its signatures) in the index release, the version's files in the
// release of its tag, described by the release options.
func ExampleNewRepo() {
	srv, err := githubtest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	staged, _ := os.MkdirTemp("", "staged")
	defer os.RemoveAll(staged)
	if err := stageExample(staged); err != nil {
		log.Fatal(err)
	}

	repo, err := github.NewRepo("acme", "hello",
		github.WithToken(githubtest.Token), // from github.TokenFromEnv() in a release tool
		github.WithBaseURL(srv.URL),
		github.WithTag("v1.0.0"), github.WithName("hello 1.0.0"), github.WithBody("The first release."),
	)
	if err != nil {
		log.Fatal(err)
	}
	p, err := publish.New(repo)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := p.Publish(context.Background(), staged); err != nil {
		log.Fatal(err)
	}
	for _, rel := range srv.Releases("acme", "hello") {
		fmt.Printf("%s %q: %v\n", rel.Tag, rel.Name, rel.Order)
	}
	// Output:
	// v1.0.0 "hello 1.0.0": [hello-1.0.0-linux-amd64.tar.gz]
	// relkit-index "Release index": [manifest.json]
}

// A release tool takes the token from the environment explicitly, as the
// GitHub CLI and GitHub Actions set it; the library itself never reads it.
func ExampleTokenFromEnv() {
	os.Setenv("GITHUB_TOKEN", "ghp_example") // set by GitHub Actions or the user
	defer os.Unsetenv("GITHUB_TOKEN")

	tok, err := github.TokenFromEnv()
	if err != nil {
		log.Fatal(err) // github: no token: set GITHUB_TOKEN or GH_TOKEN
	}
	store, err := github.New("acme", "hello", "v1.2.0", github.WithToken(tok))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(store != nil)
	// Output: true
}
