package release_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish/oci"
	"github.com/relkit/relkit/release"
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
