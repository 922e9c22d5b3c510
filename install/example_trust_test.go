//go:build !windows

package install_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/relkit/relkit/install"
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/verify"
)

// A program that pins two root keys, both required, rather than the
// signing key: the release's keys.json, signed by the roots, names the
// signing key. One root's signature is not enough.
func ExampleConfig_trust() {
	rel := newExampleRelease("1.0.0") // a signed release root on 127.0.0.1
	defer rel.Close()
	dir, _ := os.MkdirTemp("", "bin")
	defer os.RemoveAll(dir)
	r1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	r2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	roots := &verify.KeyRing{}
	roots.Add(&r1.PublicKey)
	roots.Add(&r2.PublicKey)

	// What the maintainer publishes (examples/keys rotate does this).
	publishKeys := func(signers ...*ecdsa.PrivateKey) {
		id, _ := verify.KeyID(&rel.key.PublicKey)
		pem, _ := verify.MarshalPublicKey(&rel.key.PublicKey)
		b := &verify.KeyBundle{Project: "hello", Serial: 1, Issued: time.Now(), Expires: time.Now().Add(time.Hour),
			Keys: []verify.BundleKey{{KeyID: id, PublicKey: string(pem)}}}
		data, _ := b.Marshal()
		set := &verify.SignatureSet{}
		for _, k := range signers {
			sum := sha256.Sum256(data)
			sig, _ := ecdsa.SignASN1(rand.Reader, k, sum[:])
			kid, _ := verify.KeyID(&k.PublicKey)
			set.Add(verify.SignatureEntry{KeyID: kid, Algorithm: verify.AlgECDSASHA256, File: manifest.KeysFile, SHA256: hex.EncodeToString(sum[:]), Signature: sig})
		}
		sigs, _ := set.Marshal()
		must(os.WriteFile(filepath.Join(rel.root, manifest.KeysFile), data, 0o644))
		must(os.WriteFile(filepath.Join(rel.root, manifest.SignaturesFile), sigs, 0o644))
	}
	cfg := install.Config{
		Project: "hello",
		Source:  rel.URL,
		Dir:     dir,
		Trust:   &verify.Trust{Roots: roots, RootThreshold: 2}, // project and state: the installer's
	}

	publishKeys(r1)
	in, err := install.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	_, err = in.Install(context.Background(), manifest.Query{})
	var te *verify.ThresholdError
	if errors.As(err, &te) {
		fmt.Printf("refused: %s signed by %d of the %d roots required\n", te.File, te.Got, te.Need)
	}

	publishKeys(r1, r2)
	res, err := in.Install(context.Background(), manifest.Query{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("installed", res.Project, res.Version)
	// Output:
	// refused: keys.json signed by 1 of the 2 roots required
	// installed hello 1.0.0
}
