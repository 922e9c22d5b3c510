package verify_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/verify"
)

// A self-updater at a release root with the manifest v2 index reads
// index.json (a few KB whatever the history) and, only when the answer
// is older than the index lists, the one shard it is in, checked against
// the signed index.
func ExampleVerifier_FetchIndex() {
	ctx := context.Background()
	www, _ := os.MkdirTemp("", "relkit-example-index")
	defer os.RemoveAll(www)
	pub := writeExampleIndex(www, 40) // what a publish with signers wrote

	keys, err := verify.NewKeyRing(pub)
	if err != nil {
		log.Fatal(err)
	}
	v, err := verify.NewVerifier(keys, verify.WithProject("hello"))
	if err != nil {
		log.Fatal(err)
	}
	loc := verify.Dir(www)
	ix, err := v.FetchIndex(ctx, loc) // signed, unexpired, serial not rolled back
	if err != nil {
		log.Fatal(err) // errors.Is(err, verify.ErrIndexNotPublished): use FetchManifest
	}
	linux := manifest.Platform{OS: "linux", Arch: "amd64"}
	sel, err := verify.SelectRelease(ctx, loc, ix, manifest.Query{Platform: linux}) // the update check
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("stable:", sel.Release.Version)
	old, err := verify.SelectRelease(ctx, loc, ix, manifest.Query{Version: "1.2.0", Platform: linux}) // reads one shard
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("old:", old.Release.Version, old.Artifact.Name)
	r, ok, err := verify.FetchRelease(ctx, loc, ix, "1.3.0")
	fmt.Println("1.3.0 listed:", ok, r.Status, err)
	// Output:
	// stable: 1.39.0
	// old: 1.2.0 hello-1.2.0-linux-amd64.tar.gz
	// 1.3.0 listed: true active <nil>
}

// writeExampleIndex writes the v2 index and shards of n releases of
// hello into www, the index signed by a new Ed25519 key, and returns the
// public key (PEM).
func writeExampleIndex(www string, n int) []byte {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	m := manifest.New("hello")
	for i := range n {
		v := fmt.Sprintf("1.%d.0", i)
		name := "hello-" + v + "-linux-amd64.tar.gz"
		if _, err := m.Add(manifest.Release{Version: v, Date: time.Now(), Artifacts: []manifest.Artifact{{
			Name: name, Path: v + "/" + name, Kind: manifest.KindArchive, OS: "linux", Arch: "amd64",
			Size: 1, SHA256: "9b1f0c6d2a4e8f7b3c5d1e9a0b2c4d6e8f1a3b5c7d9e0f2a4b6c8d0e1f3a5b7c"}}}); err != nil {
			log.Fatal(err)
		}
	}
	m.Touch(time.Now(), 24*time.Hour)
	ix, shards, err := manifest.Split(m)
	if err != nil {
		log.Fatal(err)
	}
	data, _ := ix.Marshal()
	sum := sha256.Sum256(data)
	files := map[string][]byte{
		manifest.IndexFile: data,
		manifest.SignaturePath(manifest.IndexFile, hex.EncodeToString(sum[:])): verify.EncodeSignature(ed25519.Sign(priv, data)),
	}
	for _, s := range shards {
		files[s.Path] = s.Data
	}
	for name, b := range files {
		p := filepath.Join(www, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	pubPEM, err := verify.MarshalPublicKey(pub)
	if err != nil {
		log.Fatal(err)
	}
	return pubPEM
}
