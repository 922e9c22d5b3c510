package manifest_test

import (
	"errors"
	"fmt"
	"log"
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
