package oci_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/relkit/relkit/internal/registrytest"
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish/oci"
)

// benchSpec is a release of two 8 MiB binaries (pseudo-random bytes, which
// gzip cannot shrink: the worst case for the layer).
func benchSpec(b *testing.B, repo string) oci.Spec {
	spec := testSpec(b, repo, "1.0.0", 1)
	dir := b.TempDir()
	spec.Binaries = []oci.Binary{
		{Name: "hello", Path: fakeBinary(b, dir, "amd64/hello", 1, 8<<20), Platform: manifest.Platform{OS: "linux", Arch: "amd64"}},
		{Name: "hello", Path: fakeBinary(b, dir, "arm64/hello", 2, 8<<20), Platform: manifest.Platform{OS: "linux", Arch: "arm64"}},
	}
	return spec
}

// BenchmarkBuild measures building the two images and the index (layer
// tar + gzip + hashing), with no registry.
func BenchmarkBuild(b *testing.B) {
	c := newClient(b)
	spec := benchSpec(b, "")
	b.SetBytes(16 << 20)
	for b.Loop() {
		im, err := c.Build(context.Background(), spec)
		if err != nil {
			b.Fatal(err)
		}
		im.Close()
	}
}

// BenchmarkPush measures a first push of a signed release to a new
// repository of a real docker-registry on loopback.
func BenchmarkPush(b *testing.B) {
	reg := registrytest.Start(b)
	signer, _ := testKey(b)
	c := newClient(b, oci.WithSigner(signer))
	spec := benchSpec(b, "")
	b.SetBytes(16 << 20)
	i := 0
	var last oci.Stats
	for b.Loop() {
		i++
		spec.Repository = fmt.Sprintf("%s/bench%d/hello", reg.Host, i)
		res, err := c.Push(context.Background(), spec)
		if err != nil {
			b.Fatal(err)
		}
		last = res.Stats
	}
	b.ReportMetric(float64(last.Requests), "requests/op")
	b.ReportMetric(float64(last.BlobUploads), "uploads/op")
}

// BenchmarkRePush measures pushing a release that is already there: the
// whole cost of an idempotent re-run (build, HEAD checks, signature check,
// tag reads), with no upload.
func BenchmarkRePush(b *testing.B) {
	reg := registrytest.Start(b)
	signer, _ := testKey(b)
	c := newClient(b, oci.WithSigner(signer))
	spec := benchSpec(b, reg.Host+"/hello")
	if _, err := c.Push(context.Background(), spec); err != nil {
		b.Fatal(err)
	}
	var last oci.Stats
	for b.Loop() {
		res, err := c.Push(context.Background(), spec)
		if err != nil {
			b.Fatal(err)
		}
		if res.Stats.BlobUploads != 0 || res.Stats.ManifestPuts != 0 {
			b.Fatalf("re-push uploaded: %+v", res.Stats)
		}
		last = res.Stats
	}
	b.ReportMetric(float64(last.Requests), "requests/op")
	b.ReportMetric(float64(last.BlobUploads), "uploads/op")
}
