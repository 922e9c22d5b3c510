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
)

// A release pushes its linux binaries as one multi-platform image. Here
// the registry is go-containerregistry's in-memory one on loopback; a real
// release pushes to "ghcr.io/<owner>/<project>" with the credentials of
// "docker login", and signs with oci.WithSigner.
func ExampleClient_Push() {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	bin := func(arch string) string { // stand-ins for the release's binaries
		p := filepath.Join(dir, arch, "hello")
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("a "+arch+" binary"), 0o755)
		return p
	}

	c, err := oci.New() // credentials: ~/.docker/config.json and its helpers
	if err != nil {
		log.Fatal(err)
	}
	spec := oci.Spec{
		Repository: strings.TrimPrefix(srv.URL, "http://") + "/example/hello",
		Project:    "hello",
		Version:    "1.2.0",
		Commit:     "4f9c2e1a0b3c4d5e6f708192a3b4c5d6e7f80912",
		Created:    time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC), // the commit time
		Source:     "https://github.com/example/hello",
		Binaries: []oci.Binary{
			{Path: bin("amd64"), Platform: manifest.Platform{OS: "linux", Arch: "amd64"}},
			{Path: bin("arm64"), Platform: manifest.Platform{OS: "linux", Arch: "arm64"}},
		},
	}
	res, err := c.Push(context.Background(), spec)
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range res.Platforms {
		fmt.Println("image for", p.Platform)
	}
	for _, t := range res.Tags {
		fmt.Println("tag", t.Name, t.Action)
	}
	for _, a := range res.Artifacts { // for manifest.json, SBOM and provenance
		fmt.Println("artifact", a.Name, a.Kind)
	}

	// A release candidate later moves only its own tags.
	spec.Version = "1.3.0-rc.1"
	rc, err := c.Push(context.Background(), spec)
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range rc.Tags {
		fmt.Println("rc tag", t.Name, t.Action)
	}
	// Output:
	// image for linux/amd64
	// image for linux/arm64
	// tag 1.2.0 created
	// tag 1.2 created
	// tag 1 created
	// tag latest created
	// tag sha-4f9c2e1 created
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
