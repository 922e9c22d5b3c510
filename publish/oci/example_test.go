package oci_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish/oci"
	"github.com/relkit/relkit/sign"
)

// A release pushes its linux binaries as one multi-platform image, signed
// with the release's cosign key. Here the registry is go-containerregistry's
// in-memory one on loopback; a real release pushes to
// "ghcr.io/<owner>/<project>" with the credentials of "docker login".
func ExampleClient_Push() {
	ctx := context.Background()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	registryHost := strings.TrimPrefix(srv.URL, "http://")
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	os.Setenv(sign.PasswordEnv, "example password") // COSIGN_PASSWORD, as the release job sets it
	defer os.Unsetenv(sign.PasswordEnv)
	kp, err := sign.GenerateCosignKeyPair(sign.EnvPassword) // "cosign generate-key-pair"
	if err != nil {
		log.Fatal(err)
	}
	keyFile := filepath.Join(dir, sign.CosignKeyFile)
	if err := kp.WriteFiles(keyFile, filepath.Join(dir, sign.CosignPubFile), false); err != nil {
		log.Fatal(err)
	}
	bin := func(goos, arch string) oci.Binary { // stand-ins for the release's binaries
		p := filepath.Join(dir, goos, arch, "hello")
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("a "+goos+"/"+arch+" binary"), 0o755)
		return oci.Binary{Path: p, Platform: manifest.Platform{OS: goos, Arch: arch}}
	}
	binaries := []oci.Binary{bin("linux", "amd64"), bin("linux", "arm64"), bin("darwin", "arm64")}
	commit, commitTime := "4f9c2e1a0b3c4d5e6f708192a3b4c5d6e7f80912", time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	rel := manifest.Release{Version: "1.2.0"} // the release's entry in manifest.json

	signer, err := sign.LoadSigner(keyFile, sign.EnvPassword) // cosign.key, its password from COSIGN_PASSWORD
	if err != nil {
		log.Fatal(err)
	}
	c, err := oci.New(oci.WithSigner(signer)) // registry credentials: ~/.docker/config.json and its helpers
	if err != nil {
		log.Fatal(err)
	}
	spec := oci.Spec{
		Repository: registryHost + "/example/hello", // "ghcr.io/example/hello"
		Project:    "hello",
		Version:    "1.2.0",
		Commit:     commit,     // full git commit
		Created:    commitTime, // so that images are reproducible
		Source:     "https://github.com/example/hello",
		Binaries:   binaries, // []oci.Binary{{Path, Platform}}; non-linux ones are skipped
	}
	res, err := c.Push(ctx, spec)
	if err != nil {
		log.Fatal(err)
	}
	rel.Artifacts = append(rel.Artifacts, res.Artifacts...) // kind "image", into manifest.json

	for _, p := range res.Platforms {
		fmt.Println("image for", p.Platform)
	}
	for _, b := range res.Skipped {
		fmt.Println("skipped", b.Platform)
	}
	for _, t := range res.Tags {
		fmt.Println("tag", t.Name, t.Action)
	}
	fmt.Println("signed:", res.Signed)
	for _, a := range rel.Artifacts {
		fmt.Println("artifact", a.Name, a.Kind)
	}

	// A release candidate later moves only its own tags.
	spec.Version = "1.3.0-rc.1"
	rc, err := c.Push(ctx, spec)
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range rc.Tags {
		fmt.Println("rc tag", t.Name, t.Action)
	}
	// Output:
	// image for linux/amd64
	// image for linux/arm64
	// skipped darwin/arm64
	// tag 1.2.0 created
	// tag 1.2 created
	// tag 1 created
	// tag latest created
	// tag sha-4f9c2e1 created
	// signed: true
	// artifact hello-1.2.0-image image
	// artifact hello-1.2.0-image-linux-amd64 image
	// artifact hello-1.2.0-image-linux-arm64 image
	// rc tag 1.3.0-rc.1 created
	// rc tag sha-4f9c2e1 moved
}

// Which tags a release moves depends on its version and channel.
func ExampleTags() {
	commit := "4f9c2e1a0b3c4d5e6f708192a3b4c5d6e7f80912"
	date := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	for _, r := range []struct{ version, channel string }{
		{"1.2.0", ""}, {"1.3.0-rc.1", ""}, {"1.3.0-dev.7", "edge"},
	} {
		tags, err := oci.Tags(manifest.MustParseVersion(r.version), r.channel, commit, date)
		if err != nil {
			log.Fatal(err)
		}
		var names []string
		for _, t := range tags {
			names = append(names, t.Name)
		}
		fmt.Printf("%s %q: %s\n", r.version, r.channel, strings.Join(names, " "))
	}
	// Output:
	// 1.2.0 "": 1.2.0 1.2 1 latest sha-4f9c2e1
	// 1.3.0-rc.1 "": 1.3.0-rc.1 sha-4f9c2e1
	// 1.3.0-dev.7 "edge": 1.3.0-dev.7 edge nightly-2026-11-22 sha-4f9c2e1
}
