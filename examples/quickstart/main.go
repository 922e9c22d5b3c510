// Command quickstart is a tour of relkit on the local machine, with no
// setup and no network.
//
// For now it shows the release index: it builds a manifest with three
// releases, yanks one, selects what to install, and prints manifest.json.
// It grows into the full tour (keys, build, release, serve, install,
// update) as the other packages land.
package main

import (
	"fmt"
	"log"
	"os"
	"time"

	"github.com/relkit/relkit/manifest"
)

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	m := manifest.New("hello")
	date := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0-rc.1", "1.2.0"} {
		if _, err := m.Add(release(v, date)); err != nil {
			return err
		}
		fmt.Printf("added %-11s serial=%d latest=%s\n", v, m.Serial, m.Aliases["latest"])
	}
	if _, err := m.Yank("1.2.0", "corrupts the config file on upgrade"); err != nil {
		return err
	}
	fmt.Printf("yanked 1.2.0   serial=%d latest=%s\n", m.Serial, m.Aliases["latest"])

	sel, err := m.Select(manifest.Query{Platform: manifest.Platform{OS: "linux", Arch: "x86_64"}})
	if err != nil {
		return err
	}
	fmt.Printf("install: %s (%d bytes, sha256 %s)\n", sel.Artifact.Path, sel.Artifact.Size, sel.Artifact.SHA256[:16])

	if _, err := m.Select(manifest.Query{Version: "1.2.0"}); err != nil {
		fmt.Println("refused:", err)
	}
	if err := m.Validate(); err != nil {
		return err
	}
	fmt.Println("\nmanifest.json:")
	return m.Save(os.Stdout)
}

func release(v string, date time.Time) manifest.Release {
	name := fmt.Sprintf("hello-%s-linux-amd64.tar.gz", v)
	return manifest.Release{
		Version: v,
		Tag:     "v" + v,
		Date:    date,
		Artifacts: []manifest.Artifact{{
			Name: name, Path: v + "/" + name, Kind: manifest.KindArchive,
			OS: "linux", Arch: "amd64", Size: 2538720,
			SHA256: fmt.Sprintf("%064x", len(v)*7919),
		}},
	}
}
