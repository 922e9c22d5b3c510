package manifest_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/relkit/relkit/manifest"
)

const published = `{
  "schema": "relkit.manifest/v1",
  "project": "hello",
  "serial": 2,
  "releases": [
    {
      "version": "1.1.0", "tag": "v1.1.0", "date": "2026-11-20T12:00:00Z",
      "channel": "stable", "status": "active",
      "artifacts": [
        { "name": "hello-1.1.0-linux-amd64.tar.gz", "path": "1.1.0/hello-1.1.0-linux-amd64.tar.gz",
          "kind": "archive", "os": "linux", "arch": "amd64", "size": 2538720,
          "sha256": "9b1f1c3b2a0d4e5f60718293a4b5c6d7e8f9001122334455667788990aabbccd" }
      ]
    }
  ],
  "channels": { "stable": "1.1.0" },
  "aliases": { "latest": "1.1.0", "1": "1.1.0", "1.1": "1.1.0" }
}`

func ExampleLoad() {
	m, err := manifest.Load(strings.NewReader(published))
	if err != nil {
		log.Fatal(err)
	}
	if err := m.Validate(); err != nil {
		log.Fatal(err) // a *manifest.ValidationError lists every problem
	}
	fmt.Println(m.Project, m.Serial, m.Aliases["latest"], len(m.Releases))
	// Output: hello 2 1.1.0 1
}

func ExampleManifest_Add() {
	m := manifest.New("hello")
	date := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	add := func(version, sum string) error {
		name := "hello-" + version + "-linux-amd64.tar.gz"
		_, err := m.Add(manifest.Release{
			Version: version, Tag: "v" + version, Date: date,
			Artifacts: []manifest.Artifact{{
				Name: name, Path: version + "/" + name, Kind: manifest.KindArchive,
				OS: "linux", Arch: "amd64", Size: 100, SHA256: strings.Repeat(sum, 64),
			}},
		})
		return err
	}
	fmt.Println(add("1.0.0", "a"), add("1.1.0", "b"), add("1.2.0-rc.1", "c"))
	fmt.Println("latest:", m.Aliases["latest"], "edge:", m.Channels["edge"], "serial:", m.Serial)

	// Adding the same release again changes nothing; different bytes under a
	// published version are refused.
	fmt.Println(add("1.1.0", "b"), m.Serial)
	var reused *manifest.VersionReusedError
	fmt.Println(errors.As(add("1.1.0", "d"), &reused))

	// Yanking moves the aliases back; the release stays listed.
	m.Yank("1.1.0", "corrupts the config file")
	fmt.Println("latest:", m.Aliases["latest"], "releases:", len(m.Releases), "serial:", m.Serial)
	// Output:
	// <nil> <nil> <nil>
	// latest: 1.1.0 edge: 1.2.0-rc.1 serial: 3
	// <nil> 3
	// true
	// latest: 1.0.0 releases: 3 serial: 4
}

func ExampleManifest_Select() {
	m, err := manifest.Load(strings.NewReader(published))
	if err != nil {
		log.Fatal(err)
	}
	// Platform names users meet in the wild are normalised.
	sel, err := m.Select(manifest.Query{Channel: "stable", Platform: manifest.Platform{OS: "Linux", Arch: "x86_64"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sel.Release.Version, sel.Artifact.Path)

	_, err = m.Select(manifest.Query{Constraint: ">=2", Platform: manifest.Platform{OS: "linux", Arch: "amd64"}})
	fmt.Println(err)
	_, err = m.Select(manifest.Query{Alias: "latest", Platform: manifest.Platform{OS: "darwin", Arch: "arm64"}})
	fmt.Println(err)
	// Output:
	// 1.1.0 1.1.0/hello-1.1.0-linux-amd64.tar.gz
	// no release matches constraint >=2 for linux/amd64: no released version is in range
	// no release matches alias latest for darwin/arm64: 1.1.0 has no archive/binary artifact for darwin/arm64 (has: linux/amd64)
}

func ExampleParseVersion() {
	for _, s := range []string{"v1.2.3-rc.1", "2026.04", "1.02.3"} {
		v, err := manifest.ParseVersion(s)
		fmt.Println(v, v.IsPrerelease(), err)
	}
	// Output:
	// 1.2.3-rc.1 true <nil>
	// 2026.04 false <nil>
	//  false invalid version "1.02.3": minor "02": leading zero
}

func ExampleParseChecksums() {
	c, err := manifest.ParseChecksums(strings.NewReader(
		"9b1f1c3b2a0d4e5f60718293a4b5c6d7e8f9001122334455667788990aabbccd  hello.tar.gz\n"))
	if err != nil {
		log.Fatal(err)
	}
	e, ok := c.Lookup("hello.tar.gz")
	fmt.Println(ok, e.SHA256[:12])
	// Output: true 9b1f1c3b2a0d
}

// Example merges a new release into the published manifest.json, yanks
// an older one, and selects what a linux/amd64 client installs.
func Example() {
	defer inTempDir()()                               // a release tool runs in its work tree
	writePublished("manifest.json", "1.1.0", "1.2.0") // the destination's manifest
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	arts := exampleArtifacts("1.3.0")

	m, err := manifest.LoadFile("manifest.json")
	if err != nil {
		log.Fatal(err)
	}
	_, err = m.Add(manifest.Release{Version: "1.3.0", Tag: "v1.3.0", Date: now, Artifacts: arts}) // idempotent; refuses reused versions
	if err != nil {
		log.Fatal(err)
	}
	_, err = m.Yank("1.2.0", "corrupts the config file") // never deleted; latest/1/1.2 move back
	if err != nil {
		log.Fatal(err)
	}
	sel, err := m.Select(manifest.Query{Channel: "stable", Platform: manifest.Platform{OS: "linux", Arch: "x86_64"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sel.Release.Version, sel.Artifact.Path)
	fmt.Println("releases:", len(m.Releases), "aliases:", m.Aliases, "serial:", m.Serial)
	// Output:
	// 1.3.0 1.3.0/hello-1.3.0-linux-amd64.tar.gz
	// releases: 3 aliases: map[1:1.3.0 1.1:1.1.0 1.3:1.3.0 latest:1.3.0] serial: 4
}

// exampleArtifacts returns the linux/amd64 archive of version.
func exampleArtifacts(version string) []manifest.Artifact {
	name := "hello-" + version + "-linux-amd64.tar.gz"
	return []manifest.Artifact{{Name: name, Path: version + "/" + name, Kind: manifest.KindArchive,
		OS: "linux", Arch: "amd64", Size: 2538720, SHA256: strings.Repeat(version[2:3], 64)}}
}

// writePublished writes a manifest of project hello with the given
// versions to name.
func writePublished(name string, versions ...string) {
	m := manifest.New("hello")
	for i, v := range versions {
		date := time.Date(2026, 11, 1+i, 12, 0, 0, 0, time.UTC)
		if _, err := m.Add(manifest.Release{Version: v, Tag: "v" + v, Date: date, Artifacts: exampleArtifacts(v)}); err != nil {
			log.Fatal(err)
		}
	}
	data, err := m.Marshal()
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(name, data, 0o644); err != nil {
		log.Fatal(err)
	}
}

// inTempDir moves into a new temporary directory and returns the function
// that moves back and removes it.
func inTempDir() func() {
	dir, err := os.MkdirTemp("", "relkit-example")
	if err != nil {
		log.Fatal(err)
	}
	back, err := os.Getwd()
	if err != nil {
		log.Fatal(err)
	}
	if err := os.Chdir(dir); err != nil {
		log.Fatal(err)
	}
	return func() {
		os.Chdir(back)
		os.RemoveAll(dir)
	}
}
