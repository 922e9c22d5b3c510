//go:build !windows

package install_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/verify"
)

// exampleRelease is a release root for project "hello", signed like a
// relkit release (ECDSA P-256, cosign sign-blob format) and served on
// 127.0.0.1. Its binaries are shell scripts that print their version.
type exampleRelease struct {
	URL          string
	Keys         *verify.KeyRing
	PublicKeyPEM []byte // the key of Keys, as a program pins it
	srv          *httptest.Server
	root         string
	key          *ecdsa.PrivateKey
	m            *manifest.Manifest
}

func newExampleRelease(version string) *exampleRelease {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	root, err := os.MkdirTemp("", "release")
	must(err)
	ring := &verify.KeyRing{}
	_, err = ring.Add(&key.PublicKey)
	must(err)
	pemKey, err := verify.MarshalPublicKey(&key.PublicKey)
	must(err)
	r := &exampleRelease{Keys: ring, PublicKeyPEM: pemKey, root: root, key: key, m: manifest.New("hello")}
	r.srv = httptest.NewServer(http.FileServer(http.Dir(root)))
	r.URL = r.srv.URL + "/"
	r.Publish(version)
	return r
}

// Publish adds a release and re-signs manifest.json.
func (r *exampleRelease) Publish(version string) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	body := []byte("#!/bin/sh\necho hello " + version + "\n")
	must(tw.WriteHeader(&tar.Header{Name: "hello", Mode: 0o755, Size: int64(len(body)), Typeflag: tar.TypeReg}))
	tw.Write(body)
	must(tw.Close())
	must(zw.Close())
	name := fmt.Sprintf("hello-%s-%s-%s.tar.gz", version, runtime.GOOS, runtime.GOARCH)
	must(os.MkdirAll(filepath.Join(r.root, version), 0o755))
	must(os.WriteFile(filepath.Join(r.root, version, name), buf.Bytes(), 0o644))
	sum := sha256.Sum256(buf.Bytes())
	_, err := r.m.Add(manifest.Release{Version: version, Date: time.Now().UTC().Truncate(time.Second), Artifacts: []manifest.Artifact{{
		Name: name, Path: version + "/" + name, Kind: manifest.KindArchive,
		OS: runtime.GOOS, Arch: runtime.GOARCH, Size: int64(buf.Len()), SHA256: hex.EncodeToString(sum[:]),
	}}})
	must(err)
	r.m.Touch(time.Now(), 30*24*time.Hour)
	data, err := r.m.Marshal()
	must(err)
	must(os.WriteFile(filepath.Join(r.root, "manifest.json"), data, 0o644))
	digest := sha256.Sum256(data)
	sig, err := ecdsa.SignASN1(rand.Reader, r.key, digest[:])
	must(err)
	must(os.WriteFile(filepath.Join(r.root, "manifest.json.sig"), verify.EncodeSignature(sig), 0o644))
}

func (r *exampleRelease) Close() {
	r.srv.Close()
	os.RemoveAll(r.root)
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
