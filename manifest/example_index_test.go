package manifest_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/relkit/relkit/manifest"
)

// A publisher splits its manifest into the v2 index and shards; a client
// answers an update check from the index alone, and reads the one shard
// an older version is in.
func ExampleSplit() {
	m := manifest.New("hello")
	for i := range 40 {
		v := fmt.Sprintf("1.%d.0", i)
		name := "hello-" + v + "-linux-amd64.tar.gz"
		if _, err := m.Add(manifest.Release{Version: v, Date: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Artifacts: []manifest.Artifact{{
			Name: name, Path: v + "/" + name, Kind: manifest.KindArchive, OS: "linux", Arch: "amd64",
			Size: 1, SHA256: "9b1f0c6d2a4e8f7b3c5d1e9a0b2c4d6e8f1a3b5c7d9e0f2a4b6c8d0e1f3a5b7c"}}}); err != nil {
			fmt.Println(err)
			return
		}
	}
	ix, shards, err := manifest.Split(m) // publish the shards, then index.json, signed
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("index lists", len(ix.Releases), "releases; shards:", len(shards))

	linux := manifest.Platform{OS: "linux", Arch: "amd64"}
	sel, err := ix.Select(manifest.Query{Platform: linux}) // the update check: no shard
	fmt.Println("stable:", sel.Release.Version, err)

	q := manifest.Query{Version: "1.2.0", Platform: linux}
	_, err = ix.Select(q)
	var need *manifest.ShardNeededError
	if errors.As(err, &need) {
		// Fetch need.Shard.Path; AddShard checks its size and SHA-256
		// against the signed index before using it.
		if err := ix.AddShard(need.Shard.Path, shards[0].Data); err != nil {
			fmt.Println(err)
			return
		}
	}
	sel, err = ix.Select(q)
	fmt.Println("old:", sel.Release.Version, err)
	// Output:
	// index lists 32 releases; shards: 1
	// stable: 1.39.0 <nil>
	// old: 1.2.0 <nil>
}
