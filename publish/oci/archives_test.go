package oci_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish/oci"
)

type tarEntry struct {
	name, body string
	typ        byte
}

// writeArchive writes root/1.0.0/<name> as a tar.gz of entries and returns
// its manifest record.
func writeArchive(t *testing.T, root, name string, p manifest.Platform, entries ...tarEntry) manifest.Artifact {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		h := &tar.Header{Name: e.name, Typeflag: typ, Mode: 0o755, Size: int64(len(e.body))}
		if typ == tar.TypeSymlink {
			h.Size, h.Linkname = 0, "/etc/passwd"
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	zw.Close()
	p1 := filepath.Join(root, "1.0.0", name)
	os.MkdirAll(filepath.Dir(p1), 0o755)
	if err := os.WriteFile(p1, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return manifest.Artifact{Name: name, Path: "1.0.0/" + name, Kind: manifest.KindArchive, OS: p.OS, Arch: p.Arch,
		Size: int64(buf.Len()), SHA256: hex.EncodeToString(sum[:])}
}

func TestFromArchives(t *testing.T) {
	root := t.TempDir()
	amd := manifest.Platform{OS: "linux", Arch: "amd64"}
	arm := manifest.Platform{OS: "linux", Arch: "arm64"}
	rel := manifest.Release{Version: "1.0.0", Artifacts: []manifest.Artifact{
		writeArchive(t, root, "hello-1.0.0-linux-amd64.tar.gz", amd,
			tarEntry{name: "hello-1.0.0-linux-amd64/README.md", body: "readme"},
			tarEntry{name: "hello-1.0.0-linux-amd64/hello", body: "amd64 binary"}),
		writeArchive(t, root, "hello-1.0.0-linux-arm64.tar.gz", arm, tarEntry{name: "hello", body: "arm64 binary"}),
		writeArchive(t, root, "hello-1.0.0-darwin-arm64.tar.gz", manifest.Platform{OS: "darwin", Arch: "arm64"}, tarEntry{name: "hello", body: "mac"}),
	}}
	dir := t.TempDir()
	bins, err := oci.FromArchives(context.Background(), root, rel, "hello", dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(bins) != 2 || bins[0].Platform != amd || bins[1].Platform != arm {
		t.Fatalf("binaries = %+v", bins)
	}
	for i, want := range []string{"amd64 binary", "arm64 binary"} {
		if got := string(mustRead(t, bins[i].Path)); got != want {
			t.Errorf("%s: %q, want %q", bins[i].Platform, got, want)
		}
	}
	// They build an image.
	spec := testSpec(t, "", "1.0.0", 1)
	spec.Binaries = bins
	build(t, newClient(t), spec)

	bad := func(name string, rel manifest.Release, check func(error) bool) {
		t.Helper()
		dir := t.TempDir()
		_, err := oci.FromArchives(context.Background(), root, rel, "hello", dir)
		var ae *oci.ArchiveError
		if !errors.As(err, &ae) || !check(err) {
			t.Errorf("%s: err = %v", name, err)
		}
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				t.Errorf("%s: left %s", name, p)
			}
			return nil
		})
	}
	any := func(error) bool { return true }

	tampered := rel
	tampered.Artifacts = append([]manifest.Artifact(nil), rel.Artifacts...)
	tampered.Artifacts[1].SHA256 = tampered.Artifacts[0].SHA256
	bad("checksum", tampered, func(err error) bool { return errors.Is(err, oci.ErrChecksum) })

	bad("missing", manifest.Release{Version: "1.0.0", Artifacts: []manifest.Artifact{
		writeArchive(t, root, "a.tar.gz", amd, tarEntry{name: "other", body: "x"})}}, any)
	bad("twice", manifest.Release{Version: "1.0.0", Artifacts: []manifest.Artifact{
		writeArchive(t, root, "b.tar.gz", amd, tarEntry{name: "a/hello", body: "x"}, tarEntry{name: "b/hello", body: "y"})}}, any)
	bad("symlink", manifest.Release{Version: "1.0.0", Artifacts: []manifest.Artifact{
		writeArchive(t, root, "c.tar.gz", amd, tarEntry{name: "hello", typ: tar.TypeSymlink})}}, any)

	var se *oci.SpecError
	if _, err := oci.FromArchives(context.Background(), root, manifest.Release{Version: "1.0.0", Artifacts: rel.Artifacts[2:]}, "hello", t.TempDir()); !errors.As(err, &se) {
		t.Errorf("no linux archive: err = %v", err)
	}
	if _, err := oci.FromArchives(context.Background(), root, rel, "../hello", t.TempDir()); !errors.As(err, &se) {
		t.Errorf("bad binary name: err = %v", err)
	}
}
