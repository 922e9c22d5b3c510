package verify_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish/github/githubtest"
	"github.com/relkit/relkit/verify"
)

// A self-updater reads its releases from a GitHub repository: the
// current manifest from the index release, each version's files from
// the release tagged as the manifest says, through the public download
// URLs (no token, no API rate limit). Here the repository is the GitHub
// test server on 127.0.0.1; in real life it is "github:OWNER/REPO" or
// "https://github.com/OWNER/REPO".
func ExampleNewForge() {
	ctx := context.Background()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)

	// What the publisher did: a signed manifest for 1.2.0 (tag v1.2.0)
	// and the signature set of exactly its bytes, in the forge layout.
	body := []byte("the hello archive\n")
	sum := sha256.Sum256(body)
	m := manifest.New("hello")
	m.Add(manifest.Release{Version: "1.2.0", Tag: "v1.2.0", Date: time.Now(), Artifacts: []manifest.Artifact{{
		Name: "hello-1.2.0-linux-amd64.tar.gz", Path: "1.2.0/hello-1.2.0-linux-amd64.tar.gz", Kind: manifest.KindArchive,
		OS: "linux", Arch: "amd64", Size: int64(len(body)), SHA256: hex.EncodeToString(sum[:]),
	}}})
	m.Touch(time.Now(), 24*time.Hour)
	data, _ := m.Marshal()
	msum := sha256.Sum256(data)
	keys := &verify.KeyRing{}
	id, _ := keys.Add(pub)
	set := &verify.SignatureSet{Schema: verify.SignaturesSchema}
	set.Add(verify.SignatureEntry{KeyID: id, Algorithm: verify.AlgEd25519, File: "manifest.json", SHA256: hex.EncodeToString(msum[:]), Signature: ed25519.Sign(priv, data)})
	sigs, _ := set.Marshal()
	dir, _ := os.MkdirTemp("", "relkit-example")
	defer os.RemoveAll(dir)
	os.MkdirAll(filepath.Join(dir, "sigs"), 0o755)
	os.MkdirAll(filepath.Join(dir, "1.2.0"), 0o755)
	os.WriteFile(filepath.Join(dir, "manifest.json"), data, 0o644)
	os.WriteFile(filepath.Join(dir, manifest.SignatureSetPath("manifest.json", hex.EncodeToString(msum[:]))), sigs, 0o644)
	os.WriteFile(filepath.Join(dir, "1.2.0", "hello-1.2.0-linux-amd64.tar.gz"), body, 0o644)
	gh, _ := githubtest.Start()
	defer gh.Close()
	gh.PublishLayout("acme", "hello", dir)

	// What the client does.
	loc, err := verify.NewForge("github:"+gh.URL+"/acme/hello", verify.ForgeOptions{})
	if err != nil {
		panic(err)
	}
	v, _ := verify.NewVerifier(keys, verify.WithProject("hello"))
	got, err := v.FetchManifest(ctx, loc)
	if err != nil {
		fmt.Println("refused:", err)
		return
	}
	sel, _ := got.Select(manifest.Query{Platform: manifest.Platform{OS: "linux", Arch: "amd64"}})
	fmt.Println("manifest found in", len(gh.Requests()), "requests; selects", sel.Artifact.Name)
	fmt.Println("from", strings.TrimPrefix(loc.URL(sel.Artifact.Path), gh.URL))
	var disk strings.Builder
	n, err := verify.FetchArtifact(ctx, loc, sel.Artifact, &disk)
	fmt.Println("verified", n, "bytes:", err == nil)
	// Output:
	// manifest found in 2 requests; selects hello-1.2.0-linux-amd64.tar.gz
	// from /acme/hello/releases/download/v1.2.0/hello-1.2.0-linux-amd64.tar.gz
	// verified 18 bytes: true
}

// ParseForgeRepo tells a forge repository from a release root: only the
// github:, gitea: and forgejo: prefixes, and the github.com host, make a
// source a forge.
func ExampleParseForgeRepo() {
	for _, s := range []string{
		"github:acme/hello",
		"https://github.com/acme/hello",
		"github:ghe.example.com/acme/hello",
		"gitea:git.example.com/acme/hello",
		"https://releases.example.com/acme/hello",
	} {
		r, ok, err := verify.ParseForgeRepo(s)
		if !ok || err != nil {
			fmt.Printf("%-40s a release root\n", s)
			continue
		}
		fmt.Printf("%-40s %s %s (API %s)\n", s, r.Kind, r, r.API)
	}
	// Output:
	// github:acme/hello                        github https://github.com/acme/hello (API https://api.github.com)
	// https://github.com/acme/hello            github https://github.com/acme/hello (API https://api.github.com)
	// github:ghe.example.com/acme/hello        github https://ghe.example.com/acme/hello (API https://ghe.example.com/api/v3)
	// gitea:git.example.com/acme/hello         gitea https://git.example.com/acme/hello (API https://git.example.com/api/v1)
	// https://releases.example.com/acme/hello  a release root
}
