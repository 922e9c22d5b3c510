package publish_test

import (
	"context"
	"testing"

	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/publish/publishtest"
)

// BenchmarkPublishDir publishes a release of three 4 MiB archives plus
// metadata into a fresh directory per iteration: plan (hash every staged
// file), copy with verification, fsync and link.
func BenchmarkPublishDir(b *testing.B) {
	dir := b.TempDir()
	publishtest.StageRelease(b, dir, publishtest.Release{ArtifactSize: 4 << 20})
	ctx := context.Background()
	var size int64
	for b.Loop() {
		b.StopTimer()
		s, err := publish.NewDirStore(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		p, _ := publish.New(s)
		b.StartTimer()
		res, err := p.Publish(ctx, dir)
		if err != nil {
			b.Fatal(err)
		}
		size = res.BytesUploaded
	}
	b.SetBytes(size)
}

// BenchmarkRerunDir re-publishes a complete release: it hashes the staged
// files and the published ones and uploads nothing.
func BenchmarkRerunDir(b *testing.B) {
	dir := b.TempDir()
	publishtest.StageRelease(b, dir, publishtest.Release{ArtifactSize: 4 << 20})
	ctx := context.Background()
	s, err := publish.NewDirStore(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	p, _ := publish.New(s)
	res, err := p.Publish(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(res.BytesUploaded)
	for b.Loop() {
		res, err := p.Publish(ctx, dir)
		if err != nil {
			b.Fatal(err)
		}
		if res.BytesUploaded != 0 {
			b.Fatalf("re-run uploaded %d bytes", res.BytesUploaded)
		}
	}
}
