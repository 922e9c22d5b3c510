//go:build !windows

package install_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/relkit/relkit/install"
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/verify"
)

// Going back to an older release takes AllowDowngrade, for the one call
// it is passed to.
func ExampleAllowDowngrade() {
	rel := newExampleRelease("1.3.0") // a signed release root on 127.0.0.1
	defer rel.Close()
	rel.Publish("1.4.0")
	dir, _ := os.MkdirTemp("", "bin")
	defer os.RemoveAll(dir)
	in, err := install.New(install.Config{Project: "hello", Source: rel.URL, Dir: dir, Trust: &verify.Trust{Keys: rel.Keys}})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if _, err := in.Install(ctx, manifest.Query{}); err != nil {
		log.Fatal(err)
	}

	_, err = in.Install(ctx, manifest.Query{Version: "1.3.0"})
	fmt.Println("without the option:", errors.Is(err, install.ErrDowngrade))
	u, err := in.Check(ctx, manifest.Query{Version: "1.3.0"}, install.AllowDowngrade())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("downgrade:", u.Downgrade, "available:", u.Available)
	res, err := in.Install(ctx, manifest.Query{Version: "1.3.0"}, install.AllowDowngrade())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("with it:", res.Previous, "->", res.Version)
	// Output:
	// without the option: true
	// downgrade: true available: true
	// with it: 1.4.0 -> 1.3.0
}

// Reinstall replaces the binaries of the version that is already
// installed, say after the user damaged them.
func ExampleReinstall() {
	rel := newExampleRelease("1.0.0")
	defer rel.Close()
	dir, _ := os.MkdirTemp("", "bin")
	defer os.RemoveAll(dir)
	in, err := install.New(install.Config{Project: "hello", Source: rel.URL, Dir: dir, Trust: &verify.Trust{Keys: rel.Keys}})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if _, err := in.Install(ctx, manifest.Query{}); err != nil {
		log.Fatal(err)
	}
	res, err := in.Install(ctx, manifest.Query{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("again:", res.Version, "changed:", res.Changed)
	res, err = in.Install(ctx, manifest.Query{}, install.Reinstall())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("with Reinstall:", res.Version, "changed:", res.Changed)
	// Output:
	// again: 1.0.0 changed: false
	// with Reinstall: 1.0.0 changed: true
}

// A binary in a Homebrew Cellar belongs to Homebrew: Install refuses to
// replace it and names the command that updates it, unless the call
// passes AllowManaged.
func ExampleAllowManaged() {
	rel := newExampleRelease("1.0.0")
	defer rel.Close()
	root, _ := os.MkdirTemp("", "brew")
	defer os.RemoveAll(root)
	dir := filepath.Join(root, "Cellar", "hello", "0.9.0", "bin")
	must(os.MkdirAll(dir, 0o755))
	must(os.WriteFile(filepath.Join(dir, "hello"), []byte("#!/bin/sh\necho hello 0.9.0\n"), 0o755))
	in, err := install.New(install.Config{Project: "hello", Source: rel.URL, Dir: dir, Trust: &verify.Trust{Keys: rel.Keys}})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	_, err = in.Install(ctx, manifest.Query{})
	var me *install.ManagedError
	if errors.As(err, &me) {
		fmt.Println("refused: run", me.Command)
	}
	res, err := in.Install(ctx, manifest.Query{}, install.AllowManaged())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("with AllowManaged:", res.Version)
	// Output:
	// refused: run brew upgrade hello
	// with AllowManaged: 1.0.0
}
