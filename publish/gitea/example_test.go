package gitea_test

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
	"github.com/relkit/relkit/publish/gitea"
	"github.com/relkit/relkit/publish/gitea/giteatest"
)

// stageExample writes a tiny staged release: one archive and the manifest.
func stageExample(dir string) error {
	data := []byte("not really a tarball\n")
	s := sha256.Sum256(data)
	name := "1.0.0/hello-1.0.0-linux-amd64.tar.gz"
	m := manifest.New("hello")
	date := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	if _, err := m.Add(manifest.Release{Version: "1.0.0", Tag: "v1.0.0", Date: date, Artifacts: []manifest.Artifact{{
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

// Publish a staged release to a Gitea (or Forgejo) repository, with the
// token from the environment. The example runs against giteatest's
// in-memory server; against a real one, baseURL is its root URL.
func ExampleNew() {
	srv, err := giteatest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	srv.CreateRepo("acme", "hello", false)
	baseURL := srv.URL                  // the forge's root URL
	os.Setenv("GITEA_TOKEN", srv.Token) // set by the CI job or the user
	defer os.Unsetenv("GITEA_TOKEN")
	staged, _ := os.MkdirTemp("", "staged") // dist/release in a release tool
	defer os.RemoveAll(staged)
	if err := stageExample(staged); err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	tok, err := gitea.TokenFromEnv() // GITEA_TOKEN
	if err != nil {
		log.Fatal(err)
	}
	store, err := gitea.New(baseURL, "acme", "hello", gitea.WithToken(tok)) // baseURL: "https://codeberg.org"
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
	// res.Assets: the public download URLs, <base>/acme/hello/releases/download/<tag>/<name>.
	fmt.Println("uploaded", res.Uploaded, "files, manifest serial", res.Root.Serial)
	for _, r := range srv.Releases("acme", "hello") {
		fmt.Printf("release %s: draft=%v prerelease=%v assets=%v\n", r.Tag, r.Draft, r.Prerelease, r.Names())
	}
	// Output:
	// uploaded 2 files, manifest serial 1
	// release v1.0.0: draft=false prerelease=false assets=[hello-1.0.0-linux-amd64.tar.gz]
	// release relkit-index: draft=false prerelease=true assets=[manifest.json]
}

// A release tool takes the token from the environment explicitly; the
// library itself never reads it.
func ExampleTokenFromEnv() {
	os.Setenv("GITEA_TOKEN", "example-token") // set by the CI job or the user
	defer os.Unsetenv("GITEA_TOKEN")

	tok, err := gitea.TokenFromEnv()
	if err != nil {
		log.Fatal(err) // gitea: no token: set GITEA_TOKEN ...
	}
	store, err := gitea.New("https://gitea.example.com", "acme", "hello", gitea.WithToken(tok))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(store != nil)
	// Output: true
}

// Route shows where each object of a release root goes.
func ExampleStore_Route() {
	store, err := gitea.New("https://gitea.example.com", "acme", "hello", gitea.WithToken("t"))
	if err != nil {
		log.Fatal(err)
	}
	for _, name := range []string{"manifest.json", "signatures.json", "root/2.json", "1.2.0/SHA256SUMS"} {
		tag, asset, _, _ := store.Route(name)
		fmt.Printf("%s -> %s/%s\n", name, tag, asset)
	}
	fmt.Println(store.URL("1.2.0/SHA256SUMS"))
	// Output:
	// manifest.json -> relkit-index/manifest.json
	// signatures.json -> relkit-index/root.signatures.json
	// root/2.json -> relkit-index/root.2.json
	// 1.2.0/SHA256SUMS -> v1.2.0/SHA256SUMS
	// https://gitea.example.com/acme/hello/releases/download/v1.2.0/SHA256SUMS
}
