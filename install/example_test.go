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

// Example installs the stable release of a project from a release root
// served over HTTP, then upgrades it when a new release appears.
func Example() {
	rel := newExampleRelease("1.0.0") // a signed release root on 127.0.0.1
	defer rel.Close()
	dir, _ := os.MkdirTemp("", "bin")
	defer os.RemoveAll(dir)

	in, err := install.New(install.Config{
		Project: "hello",
		Source:  rel.URL,
		Dir:     dir,
		Trust:   &verify.Trust{Keys: rel.Keys}, // the pinned public key(s)
	})
	if err != nil {
		log.Fatal(err)
	}
	res, err := in.Install(context.Background(), manifest.Query{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("installed", res.Project, res.Version)

	rel.Publish("1.1.0")
	res, err = in.Install(context.Background(), manifest.Query{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("upgraded", res.Previous, "->", res.Version)

	res, err = in.Rollback(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("rolled back to", res.Version)
	// Output:
	// installed hello 1.0.0
	// upgraded 1.0.0 -> 1.1.0
	// rolled back to 1.0.0
}

// ExampleInstaller_Check answers "is there an update, to what, and why"
// without downloading any artifact.
func ExampleInstaller_Check() {
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
	rel.Publish("1.1.0")

	u, err := in.Check(ctx, manifest.Query{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("installed:", u.Installed, "from", u.InstalledFrom)
	fmt.Println("update available:", u.Available, "to", u.Latest.Release.Version)

	u, err = in.Check(ctx, manifest.Query{Version: "0.9.0"})
	fmt.Println("error:", err != nil)
	// Output:
	// installed: 1.0.0 from receipt
	// update available: true to 1.1.0
	// error: true
}

// ExampleInstaller_Install is the base of a "tool update" command: check,
// update, and go back to a named version for one call.
func ExampleInstaller_Install() {
	ctx := context.Background()
	rel := newExampleRelease("1.2.0") // a signed release root on 127.0.0.1
	defer rel.Close()
	rel.Publish("1.3.0")
	releaseURL, keys := rel.URL, rel.Keys // pinned in the program in real life
	dir, _ := os.MkdirTemp("", "bin")
	defer os.RemoveAll(dir)
	exe := filepath.Join(dir, "hello") // os.Executable() in real life
	version := "1.2.0"                 // the running program's version

	in, err := install.New(install.Config{Project: "hello", Source: releaseURL, // "https://releases.example.com/hello/"
		Dir: filepath.Dir(exe), Trust: &verify.Trust{Keys: keys}, CurrentVersion: version})
	if err != nil {
		log.Fatal(err)
	}
	u, err := in.Check(ctx, manifest.Query{}) // is there an update, to what, and why
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("update available:", u.Available, "to", u.Latest.Release.Version)
	res, err := in.Install(ctx, manifest.Query{}) // verified, swapped atomically, health-checked, rolled back on failure
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("installed", res.Version)
	res, err = in.Install(ctx, manifest.Query{Version: "1.2.0"}, install.AllowDowngrade()) // this call only
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("back to", res.Version)
	// Output:
	// update available: true to 1.3.0
	// installed 1.3.0
	// back to 1.2.0
}
