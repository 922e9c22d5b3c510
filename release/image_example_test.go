package release_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish/oci"
	"github.com/relkit/relkit/release"
	"github.com/relkit/relkit/sign"
)

// The image stage records a release's container image without pushing it:
// the index and per-platform image manifests are staged as release files
// whose SHA-256 is the image digest. Publish's push-image stage pushes
// exactly that index later (release.ImagePush).
func ExampleImageBuild() {
	dir, _ := os.MkdirTemp("", "relkit-example-")
	defer os.RemoveAll(dir)
	var bins []release.Binary
	for _, arch := range []string{"amd64", "arm64"} {
		p := filepath.Join(dir, "build", arch, "hello")
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("#!/bin/sh\necho hello "+arch+"\n"), 0o755)
		bins = append(bins, release.Binary{Name: "hello", Path: p, Platform: manifest.Platform{OS: "linux", Arch: arch}})
	}
	st := &release.State{
		Project: "hello", Version: manifest.MustParseVersion("1.2.0"),
		Commit: "4f9c2e0000000000000000000000000000000001", Date: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC),
		Root: filepath.Join(dir, "release"), Binaries: bins, Log: slog.New(slog.DiscardHandler),
	}
	stage := &release.ImageBuild{Image: &release.ImageConfig{Spec: oci.Spec{Repository: "ghcr.io/example/hello"}}}
	if err := stage.Run(context.Background(), st); err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range st.Artifacts {
		fmt.Println(a.Kind, a.Path, len(a.SHA256))
	}
	// Output:
	// image 1.2.0/hello-1.2.0-image 64
	// image 1.2.0/hello-1.2.0-image-linux-amd64 64
	// image 1.2.0/hello-1.2.0-image-linux-arm64 64
}

// A release that ships a container image too: Prepare builds and records
// it (its manifests are staged, checksummed and signed like any artifact),
// Publish pushes exactly that image before the files. The registry is
// go-containerregistry's in-memory one on 127.0.0.1.
func ExampleImageConfig() {
	ctx := context.Background()
	defer exampleProject()() // a git work tree: a main package and CHANGELOG.md
	signer, pubPEM := exampleSigner()
	publisher, remote, _, stop := exampleDestination("www")
	defer stop()
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	registryHost := strings.TrimPrefix(reg.URL, "http://")
	cfg := release.Config{Project: "hello", Version: "1.3.0", SourceURI: "git+https://github.com/example/hello",
		Build:   &release.Build{Targets: []manifest.Platform{{OS: "linux", Arch: "amd64"}, {OS: "linux", Arch: "arm64"}}},
		Notes:   release.Changelog{Path: "CHANGELOG.md"},
		Signers: []sign.Signer{signer}}
	pcfg := release.PublishConfig{Root: "dist/release", Publisher: publisher, Keys: [][]byte{pubPEM}, Remote: remote}

	image := &release.ImageConfig{
		Spec: oci.Spec{
			Repository: registryHost + "/example/hello", // "ghcr.io/example/hello"
			Source:     "https://github.com/example/hello",
		},
		Signer: signer, // ECDSA (cosign keys) or RSA
	}
	cfg.Image, pcfg.Image = image, image // cfg and pcfg: the Config and PublishConfig of Prepare and Publish
	st, err := release.Prepare(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range st.Artifacts {
		if a.Kind == manifest.KindImage {
			fmt.Println("staged", a.Path)
		}
	}
	st, err = release.Publish(ctx, pcfg)
	if err != nil {
		log.Fatal(err)
	}
	for _, res := range st.Pushed {
		for _, t := range res.Tags {
			if strings.HasPrefix(t.Name, "sha-") {
				t.Name = "sha-<commit>" // the commit's short hash
			}
			fmt.Println("tag", t.Name, t.Action)
		}
		fmt.Println("signed:", res.Signed)
	}
	// Output:
	// staged 1.3.0/hello-1.3.0-image
	// staged 1.3.0/hello-1.3.0-image-linux-amd64
	// staged 1.3.0/hello-1.3.0-image-linux-arm64
	// tag 1.3.0 created
	// tag 1.3 created
	// tag 1 created
	// tag latest created
	// tag sha-<commit> created
	// signed: true
}
