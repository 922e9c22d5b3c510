//go:build !windows

package install_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/relkit/relkit/install"
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/verify"
)

// Example_selfUpdate is the "hello update" command of a program that
// replaces itself: the signing key pinned in the program, the directory
// of the running executable (through the symbolic link it was started
// by), the version it was built as, and a progress report on standard
// error.
func Example_selfUpdate() {
	ctx := context.Background()
	rel := newExampleRelease("1.2.0") // a signed release root on 127.0.0.1
	defer rel.Close()
	rel.Publish("1.3.0")
	releaseURL, pinnedPublicKeyPEM := rel.URL, rel.PublicKeyPEM // constants of the program in real life
	version := "1.2.0"                                          // set with -ldflags "-X main.version=..."
	root, _ := os.MkdirTemp("", "opt")
	defer os.RemoveAll(root)
	must(os.MkdirAll(filepath.Join(root, "hello", "bin"), 0o755))
	must(os.WriteFile(filepath.Join(root, "hello", "bin", "hello"), []byte("#!/bin/sh\necho hello 1.2.0\n"), 0o755))
	must(os.Symlink(filepath.Join(root, "hello", "bin", "hello"), filepath.Join(root, "hello-link")))
	running := filepath.Join(root, "hello-link") // os.Executable() in real life: the path it was started by

	ring, err := verify.NewKeyRing(pinnedPublicKeyPEM) // the key the release is signed with
	if err != nil {
		log.Fatal(err)
	}
	exe, err := filepath.EvalSymlinks(running) // running is os.Executable(): replace the file, not a symlink to it
	if err != nil {
		log.Fatal(err)
	}
	in, err := install.New(install.Config{
		Project:        "hello",
		Source:         releaseURL, // "https://releases.example.com/hello/"
		Dir:            filepath.Dir(exe),
		Trust:          &verify.Trust{Keys: ring},
		CurrentVersion: version, // from -ldflags; else the receipt says
		Progress:       func(done, total int64) { fmt.Fprintf(os.Stderr, "\r%d/%d bytes", done, total) },
	})
	if err != nil {
		log.Fatal(err)
	}
	u, err := in.Check(ctx, manifest.Query{}) // is there an update, to what, and why
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("update available:", u.Available, "to", u.Latest.Release.Version)
	res, err := in.Install(ctx, manifest.Query{}) // the stable channel
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintln(os.Stderr)
	fmt.Println("updated", res.Previous, "->", res.Version)
	fi, err := os.Lstat(running)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("the link is still a link:", fi.Mode()&os.ModeSymlink != 0)
	// Output:
	// update available: true to 1.3.0
	// updated 1.2.0 -> 1.3.0
	// the link is still a link: true
}
