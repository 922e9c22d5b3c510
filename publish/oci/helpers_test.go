package oci_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish/oci"
	"github.com/relkit/relkit/sign"
	"github.com/relkit/relkit/verify"
)

var (
	testCommit  = "4f9c2e1a0b3c4d5e6f708192a3b4c5d6e7f80912"
	testCreated = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
)

// fakeBinary writes n pseudo-random bytes (seeded by seed) to dir/name and
// returns the path.
func fakeBinary(t testing.TB, dir, name string, seed uint64, n int) string {
	t.Helper()
	r := mrand.New(mrand.NewPCG(seed, seed^0x5eed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// testSpec returns a spec for version with linux/amd64, linux/arm64 and
// darwin/arm64 binaries whose content depends on seed.
func testSpec(t testing.TB, repo, version string, seed uint64) oci.Spec {
	t.Helper()
	dir := t.TempDir()
	return oci.Spec{
		Repository: repo,
		Project:    "hello",
		Version:    version,
		Commit:     testCommit,
		Created:    testCreated,
		Source:     "https://github.com/example/hello",
		Binaries: []oci.Binary{
			{Name: "hello", Path: fakeBinary(t, dir, "linux-amd64/hello", seed, 4096), Platform: manifest.Platform{OS: "linux", Arch: "amd64"}},
			{Name: "hello", Path: fakeBinary(t, dir, "linux-arm64/hello", seed+1, 5000), Platform: manifest.Platform{OS: "linux", Arch: "arm64"}},
			{Name: "hello", Path: fakeBinary(t, dir, "darwin-arm64/hello", seed+2, 3000), Platform: manifest.Platform{OS: "darwin", Arch: "arm64"}},
		},
	}
}

// testKey returns an ECDSA P-256 signer and its public key PEM file.
func testKey(t testing.TB) (*sign.KeySigner, string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sign.NewSigner(k, verify.AlgECDSASHA256)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(t.TempDir(), "cosign.pub")
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return s, pub
}

// anonymous is a keychain with no credentials, so tests never read the
// machine's Docker config.
type anonymous struct{}

func (anonymous) Resolve(authn.Resource) (authn.Authenticator, error) { return authn.Anonymous, nil }

func newClient(t testing.TB, opts ...oci.Option) *oci.Client {
	t.Helper()
	c, err := oci.New(append([]oci.Option{oci.WithKeychain(anonymous{}), oci.WithTempDir(t.TempDir())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func push(t testing.TB, c *oci.Client, spec oci.Spec) *oci.Result {
	t.Helper()
	res, err := c.Push(context.Background(), spec)
	if err != nil {
		t.Fatalf("push %s: %v", spec.Version, err)
	}
	return res
}

// digestOf returns the digest tag points at, or "" when it does not exist.
func digestOf(t testing.TB, repo, tag string) string {
	t.Helper()
	ref, err := name.ParseReference(repo + ":" + tag)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Head(ref, remote.WithAuthFromKeychain(anonymous{}))
	if err != nil {
		var te *transport.Error
		if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
			return ""
		}
		t.Fatalf("HEAD %s: %v", ref, err)
	}
	return d.Digest.String()
}

func tagAction(t testing.TB, res *oci.Result, tag string) oci.TagAction {
	t.Helper()
	for _, tr := range res.Tags {
		if tr.Name == tag {
			return tr.Action
		}
	}
	return ""
}

func tagNames(res *oci.Result) []string {
	var out []string
	for _, tr := range res.Tags {
		out = append(out, tr.Name)
	}
	return out
}

// extractFile returns the content of the regular file name (no leading
// slash) in a gzip-compressed tar layer.
func extractFile(t testing.TB, gz io.Reader, name string) []byte {
	t.Helper()
	zr, err := gzip.NewReader(gz)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			t.Fatalf("%s not in layer", name)
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == name {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
}

func mustRead(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func platformString(p *v1.Platform) string {
	if p == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%s/%s", p.OS, p.Architecture)
}
