package oci_test

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish/oci"
)

func build(t testing.TB, c *oci.Client, spec oci.Spec) *oci.Image {
	t.Helper()
	im, err := c.Build(context.Background(), spec)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	t.Cleanup(func() { im.Close() })
	return im
}

// TestBuildReproducible builds the same release twice, from copies of the
// binaries at other paths, with different clients and temp dirs: the
// digests are equal. Changing the commit time, a binary or the version
// changes them.
func TestBuildReproducible(t *testing.T) {
	spec := testSpec(t, "", "1.2.0", 7)
	a := build(t, newClient(t), spec)
	b := build(t, newClient(t), testSpec(t, "", "1.2.0", 7))
	if a.Digest != b.Digest {
		t.Fatalf("two builds of the same release: %s and %s", a.Digest, b.Digest)
	}
	for i := range a.Platforms {
		if a.Platforms[i] != b.Platforms[i] {
			t.Errorf("platform %d: %+v and %+v", i, a.Platforms[i], b.Platforms[i])
		}
	}

	later := spec
	later.Created = spec.Created.Add(time.Second)
	other := testSpec(t, "", "1.2.0", 8)
	newer := testSpec(t, "", "1.2.1", 7)
	for name, s := range map[string]oci.Spec{"created": later, "binaries": other, "version": newer} {
		if d := build(t, newClient(t), s).Digest; d == a.Digest {
			t.Errorf("changing the %s kept the digest %s", name, d)
		}
	}
}

// TestBuildLayer checks the image config and the layer: the binary at
// BinDir, extra files, parent directories, owner 0:0, fixed modes and
// mtimes, entries sorted.
func TestBuildLayer(t *testing.T) {
	dir := t.TempDir()
	spec := testSpec(t, "", "2.0.0", 3)
	spec.Files = []oci.File{
		{Src: fakeBinary(t, dir, "LICENSE", 10, 100), Dst: "/usr/share/doc/hello/LICENSE"},
		{Src: fakeBinary(t, dir, "hello.conf", 11, 50), Dst: "/etc/hello/hello.conf", Mode: 0o600},
	}
	spec.Labels = map[string]string{"com.example.team": "release"}
	spec.Annotations = map[string]string{"org.opencontainers.image.licenses": "Apache-2.0"}
	spec.Env = []string{"HELLO_MODE=container"}
	spec.User = "65532:65532"
	// The binary's mode and mtime on disk must not leak into the image.
	if err := os.Chmod(spec.Binaries[0].Path, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(spec.Binaries[0].Path, time.Now(), time.Now()); err != nil {
		t.Fatal(err)
	}
	im := build(t, newClient(t), spec)

	idx, err := im.Index.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if im.Annotations["org.opencontainers.image.licenses"] != "Apache-2.0" || idx.Annotations[oci.AnnotationVersion] != "2.0.0" {
		t.Errorf("index annotations = %v", idx.Annotations)
	}
	var plats []string
	for _, m := range idx.Manifests {
		plats = append(plats, platformString(m.Platform))
	}
	if !slices.Equal(plats, []string{"linux/amd64", "linux/arm64"}) {
		t.Fatalf("platforms = %v", plats)
	}
	img, err := im.Index.Image(idx.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cf.Config.Entrypoint, []string{"/usr/local/bin/hello"}) || cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("config: entrypoint %v, platform %s/%s", cf.Config.Entrypoint, cf.OS, cf.Architecture)
	}
	if !cf.Created.Time.Equal(testCreated) || cf.Config.User != "65532:65532" || !slices.Contains(cf.Config.Env, "HELLO_MODE=container") {
		t.Errorf("config: created %v, user %q, env %v", cf.Created, cf.Config.User, cf.Config.Env)
	}
	if cf.Config.Labels["com.example.team"] != "release" || cf.Config.Labels[oci.AnnotationRevision] != testCommit {
		t.Errorf("labels = %v", cf.Config.Labels)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.Annotations[oci.AnnotationCreated] != "2026-11-20T12:00:00Z" || m.MediaType != "application/vnd.oci.image.manifest.v1+json" {
		t.Errorf("image manifest: %s, annotations %v", m.MediaType, m.Annotations)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %v, %d", err, len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	type ent struct {
		name string
		mode int64
	}
	var got []ent
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" || !h.ModTime.Equal(testCreated) {
			t.Errorf("%s: owner %d:%d (%q:%q), mtime %v", h.Name, h.Uid, h.Gid, h.Uname, h.Gname, h.ModTime)
		}
		if h.Name == "usr/local/bin/hello" {
			b, _ := io.ReadAll(tr)
			if string(b) != string(mustRead(t, spec.Binaries[0].Path)) {
				t.Error("binary content differs")
			}
		}
		got = append(got, ent{h.Name, h.Mode})
	}
	want := []ent{
		{"etc/", 0o755}, {"etc/hello/", 0o755}, {"etc/hello/hello.conf", 0o600},
		{"usr/", 0o755}, {"usr/local/", 0o755}, {"usr/local/bin/", 0o755}, {"usr/local/bin/hello", 0o755},
		{"usr/share/", 0o755}, {"usr/share/doc/", 0o755}, {"usr/share/doc/hello/", 0o755}, {"usr/share/doc/hello/LICENSE", 0o644},
	}
	if !slices.Equal(got, want) {
		t.Errorf("layer entries:\n got %v\nwant %v", got, want)
	}
}

func TestBuildArtifacts(t *testing.T) {
	im := build(t, newClient(t), testSpec(t, "", "1.2.0", 1))
	arts := im.Artifacts()
	var names []string
	for _, a := range arts {
		names = append(names, a.Name)
		if a.Kind != manifest.KindImage || a.Path != "" || len(a.SHA256) != 64 || a.Size <= 0 {
			t.Errorf("artifact %+v", a)
		}
	}
	if want := []string{"hello-1.2.0-image", "hello-1.2.0-image-linux-amd64", "hello-1.2.0-image-linux-arm64"}; !slices.Equal(names, want) {
		t.Errorf("names = %v, want %v", names, want)
	}
	if "sha256:"+arts[0].SHA256 != im.Digest || arts[0].Size != im.Size {
		t.Errorf("index artifact %+v, image %s (%d bytes)", arts[0], im.Digest, im.Size)
	}
	raw, err := im.Index.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	if h, _, _ := v1.SHA256(strings.NewReader(string(raw))); h.Hex != arts[0].SHA256 || int64(len(raw)) != arts[0].Size {
		t.Errorf("index artifact does not describe the index bytes")
	}
	// Several images of one release get distinct names.
	spec := testSpec(t, "", "1.2.0", 1)
	spec.Name = "scanner"
	scanner := build(t, newClient(t), spec)
	if n := scanner.Artifacts()[1].Name; n != "hello-1.2.0-scanner-image-linux-amd64" {
		t.Errorf("named image artifact %q", n)
	}
	if scanner.Annotations[oci.AnnotationTitle] != "scanner" {
		t.Errorf("title = %q", scanner.Annotations[oci.AnnotationTitle])
	}
	arts = append(arts, scanner.Artifacts()...)

	// The records go into a manifest that validates.
	m := manifest.New("hello")
	if _, err := m.Add(manifest.Release{Version: "1.2.0", Commit: testCommit, Date: testCreated, Artifacts: arts}); err != nil {
		t.Fatal(err)
	}
	m.Touch(testCreated, 24*time.Hour)
	if err := m.Validate(); err != nil {
		t.Fatalf("manifest with image artifacts: %v", err)
	}
}

func TestBuildSpecErrors(t *testing.T) {
	c := newClient(t)
	for _, tc := range []struct {
		field  string
		mutate func(*oci.Spec)
	}{
		{"Project", func(s *oci.Spec) { s.Project = "" }},
		{"Version", func(s *oci.Spec) { s.Version = "one" }},
		{"Name", func(s *oci.Spec) { s.Name = "a/b" }},
		{"Annotations", func(s *oci.Spec) { s.Annotations = map[string]string{oci.AnnotationVersion: "9.9.9"} }},
		{"Labels", func(s *oci.Spec) { s.Labels = map[string]string{oci.AnnotationCreated: "yesterday"} }},
		{"Commit", func(s *oci.Spec) { s.Commit = "main" }},
		{"Created", func(s *oci.Spec) { s.Created = time.Time{} }},
		{"Channel", func(s *oci.Spec) { s.Channel = "Not A Channel" }},
		{"Binaries", func(s *oci.Spec) { s.Binaries = nil }},
		{"Binaries", func(s *oci.Spec) { s.Binaries = s.Binaries[2:] }}, // darwin only
		{"Binaries[0].Path", func(s *oci.Spec) { s.Binaries[0].Path = "" }},
		{"Binaries[0].Name", func(s *oci.Spec) { s.Binaries[0].Name = "../hello" }},
		{"Binaries[1].Platform", func(s *oci.Spec) { s.Binaries[1].Platform.Arch = "" }},
		{"BinDir", func(s *oci.Spec) { s.BinDir = "usr/bin" }},
		{"Files[0].Dst", func(s *oci.Spec) { s.Files = []oci.File{{Src: s.Binaries[0].Path, Dst: "/etc/../x"}} }},
		{"Files[0].Mode", func(s *oci.Spec) {
			s.Files = []oci.File{{Src: s.Binaries[0].Path, Dst: "/x", Mode: os.ModeSetuid | 0o755}}
		}},
		{"Files[0]", func(s *oci.Spec) { s.Files = []oci.File{{Src: s.Binaries[0].Path, Dst: "/usr/local/bin/hello"}} }},
		{"Entrypoint", func(s *oci.Spec) {
			s.Binaries = append(s.Binaries, oci.Binary{Name: "helper", Path: s.Binaries[0].Path, Platform: s.Binaries[0].Platform})
		}},
		{"Base", func(s *oci.Spec) { s.Base = "UPPER/case::x" }},
	} {
		spec := testSpec(t, "", "1.0.0", 1)
		tc.mutate(&spec)
		im, err := c.Build(context.Background(), spec)
		var se *oci.SpecError
		if !errors.As(err, &se) || se.Field != tc.field {
			t.Errorf("%s: err = %v, want a *SpecError for %s", tc.field, err, tc.field)
		}
		if im != nil {
			im.Close()
		}
	}

	// A binary that is not a regular file.
	spec := testSpec(t, "", "1.0.0", 1)
	spec.Binaries[0].Path = t.TempDir()
	if _, err := c.Build(context.Background(), spec); err == nil {
		t.Error("a directory as a binary was accepted")
	}
	// Temp files are removed after a failed build.
	tmp := t.TempDir()
	c2 := newClient(t, oci.WithTempDir(tmp))
	if _, err := c2.Build(context.Background(), spec); err == nil {
		t.Fatal("want an error")
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("failed build left %v", ents)
	}
	// And after Close.
	im, err := c2.Build(context.Background(), testSpec(t, "", "1.0.0", 1))
	if err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 1 {
		t.Errorf("build made %d temp entries", len(ents))
	}
	im.Close()
	if ents, _ := os.ReadDir(filepath.Clean(tmp)); len(ents) != 0 {
		t.Errorf("Close left %v", ents)
	}
}

func TestBuildExpectedDigest(t *testing.T) {
	c := newClient(t)
	spec := testSpec(t, "", "1.2.0", 1)
	im := build(t, c, spec)

	// The recorded digest, with or without "sha256:", builds.
	for _, d := range []string{im.Digest, im.Artifacts()[0].SHA256} {
		spec.Digest = d
		build(t, c, spec)
	}
	// A changed input does not.
	spec.Created = spec.Created.Add(time.Hour)
	_, err := c.Build(context.Background(), spec)
	var dm *oci.DigestMismatchError
	if !errors.As(err, &dm) || dm.Want != im.Digest || dm.Got == im.Digest {
		t.Errorf("err = %v, want *DigestMismatchError", err)
	}
	spec.Digest = "sha256:abc"
	var se *oci.SpecError
	if _, err := c.Build(context.Background(), spec); !errors.As(err, &se) || se.Field != "Digest" {
		t.Errorf("bad digest: err = %v", err)
	}
}

func TestBuildCanceled(t *testing.T) {
	tmp := t.TempDir()
	c := newClient(t, oci.WithTempDir(tmp))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Build(ctx, testSpec(t, "", "1.2.0", 1)); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("canceled build left %v", ents)
	}
}
