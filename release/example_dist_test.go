package release_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/release"
)

// Archives in several formats: Package.Formats applies to every platform
// but windows, which gets a zip.
func ExampleArchiveNameFormat() {
	v := manifest.MustParseVersion("1.2.0")
	for _, f := range []string{release.FormatTarGz, release.FormatTarXz, release.FormatTarZst} {
		fmt.Println(release.ArchiveNameFormat("hello", v, manifest.Platform{OS: "linux", Arch: "amd64"}, f))
	}
	// Output:
	// hello-1.2.0-linux-amd64.tar.gz
	// hello-1.2.0-linux-amd64.tar.xz
	// hello-1.2.0-linux-amd64.tar.zst
}

// Linux packages of the release's linux binaries, through nfpm. In a
// release, set Config.LinuxPackages instead of running the stage by hand.
func ExampleLinuxPackages() {
	dir, _ := os.MkdirTemp("", "relkit-example-")
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "hello")
	os.WriteFile(bin, []byte("#!/bin/sh\necho hello\n"), 0o755)
	st := &release.State{
		Project: "hello", Version: manifest.MustParseVersion("1.2.0"), Date: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC),
		Root: filepath.Join(dir, "release"), Work: dir, Log: slog.New(slog.DiscardHandler),
		Binaries: []release.Binary{{Name: "hello", Path: bin, Platform: manifest.Platform{OS: "linux", Arch: "amd64"}}},
	}
	pkgs := &release.LinuxPackages{
		Formats:    []string{release.PackageDeb, release.PackageRPM, release.PackageAPK},
		Maintainer: "Jane Doe <jane@example.com>", Description: "Says hello.", License: "MIT",
		Homepage: "https://example.com/hello",
	}
	if err := pkgs.Run(context.Background(), st); err != nil {
		panic(err)
	}
	for _, a := range st.Artifacts {
		fmt.Println(a.Kind, a.Name)
	}
	// Metadata missing a required field is refused before anything is built.
	_, _, err := release.Config{Project: "hello", Prebuilt: st.Binaries, LinuxPackages: &release.LinuxPackages{Formats: []string{"deb"}}}.Pipeline()
	var me *release.PackageMetadataError
	fmt.Println(errors.As(err, &me), me.Missing)
	// Output:
	// package hello-1.2.0-1.x86_64.rpm
	// package hello_1.2.0_amd64.deb
	// package hello_1.2.0_x86_64.apk
	// true [Maintainer Description License]
}
