package goreleaser_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/release/goreleaser"
)

// artifactsJSON is an artifacts.json as GoReleaser v2 writes it (trimmed).
const artifactsJSON = `[
  {"name": "hello_1.2.0_linux_amd64.tar.gz", "path": "dist/hello_1.2.0_linux_amd64.tar.gz", "goos": "linux", "goarch": "amd64", "goamd64": "v1", "internal_type": 1, "type": "Archive",
   "extra": {"Binaries": ["hello"], "Checksum": "sha256:ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789", "Format": "tar.gz", "ID": "default"}},
  {"name": "hello_1.2.0_windows_amd64.zip", "path": "dist/hello_1.2.0_windows_amd64.zip", "goos": "windows", "goarch": "amd64", "internal_type": 1, "type": "Archive", "extra": {"Format": "zip"}},
  {"name": "hello", "path": "dist/hello_linux_amd64_v1/hello", "goos": "linux", "goarch": "amd64", "internal_type": 4, "type": "Binary", "extra": {"Binary": "hello"}},
  {"name": "hello_1.2.0_source.tar.gz", "path": "dist/hello_1.2.0_source.tar.gz", "internal_type": 6, "type": "Source"},
  {"name": "hello_1.2.0_amd64.deb", "path": "dist/hello_1.2.0_amd64.deb", "goos": "linux", "goarch": "amd64", "type": "Linux Package"},
  {"name": "checksums.txt", "path": "dist/checksums.txt", "internal_type": 12, "type": "Checksum", "extra": {}},
  {"name": "ghcr.io/example/hello:1.2.0", "path": "ghcr.io/example/hello:1.2.0", "goos": "linux", "goarch": "amd64", "type": "Docker Image"}
]`

func TestParseArtifacts(t *testing.T) {
	arts, err := goreleaser.ParseArtifacts([]byte(artifactsJSON))
	if err != nil {
		t.Fatal(err)
	}
	linux := manifest.Platform{OS: "linux", Arch: "amd64"}
	want := []goreleaser.Artifact{
		{Name: "hello_1.2.0_linux_amd64.tar.gz", Path: "dist/hello_1.2.0_linux_amd64.tar.gz", Type: "Archive", Kind: manifest.KindArchive, Platform: linux,
			SHA256: "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"},
		{Name: "hello_1.2.0_windows_amd64.zip", Path: "dist/hello_1.2.0_windows_amd64.zip", Type: "Archive", Kind: manifest.KindArchive, Platform: manifest.Platform{OS: "windows", Arch: "amd64"}},
		{Name: "hello", Path: "dist/hello_linux_amd64_v1/hello", Type: "Binary", Kind: manifest.KindBinary, Platform: linux},
		{Name: "hello_1.2.0_source.tar.gz", Path: "dist/hello_1.2.0_source.tar.gz", Type: "Source", Kind: manifest.KindArchive},
		{Name: "hello_1.2.0_amd64.deb", Path: "dist/hello_1.2.0_amd64.deb", Type: "Linux Package", Kind: manifest.KindPackage, Platform: linux},
	}
	if len(arts) != len(want) {
		t.Fatalf("got %d artifacts, want %d: %+v", len(arts), len(want), arts)
	}
	for i := range want {
		if arts[i] != want[i] {
			t.Errorf("artifact %d:\n got %+v\nwant %+v", i, arts[i], want[i])
		}
	}
}

func TestParseArtifactsRefuses(t *testing.T) {
	for name, data := range map[string]string{
		"not JSON":         `{`,
		"an object":        `{"name": "x"}`,
		"unknown platform": `[{"name": "x.tar.gz", "path": "x.tar.gz", "goos": "plan10", "goarch": "amd64", "type": "Archive"}]`,
		"a directory":      `[{"name": "../x.tar.gz", "path": "x.tar.gz", "type": "Archive"}]`,
		"a backslash":      `[{"name": "a\\x.zip", "path": "x.zip", "type": "Archive"}]`,
		"no name":          `[{"path": "x.tar.gz", "type": "Source"}]`,
	} {
		if _, err := goreleaser.ParseArtifacts([]byte(data)); !errors.Is(err, goreleaser.ErrImport) {
			t.Errorf("%s: err = %v, want ErrImport", name, err)
		}
	}
	// An entry of a type relkit does not import is not checked.
	arts, err := goreleaser.ParseArtifacts([]byte(`[{"name": "../checksums.txt", "type": "Checksum", "goos": "plan10"}]`))
	if err != nil || len(arts) != 0 {
		t.Errorf("a skipped type: %v, %v", arts, err)
	}
}

func TestParseMetadata(t *testing.T) {
	md, err := goreleaser.ParseMetadata([]byte(`{"project_name": "hello", "tag": "v1.2.0", "previous_tag": "v1.1.0", "version": "1.2.0",
		"commit": "4f9c2e0000000000000000000000000000000001", "date": "2026-11-20T13:00:00+01:00", "runtime": {"goos": "linux", "goarch": "amd64"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if md.Project != "hello" || md.Version.String() != "1.2.0" || md.Tag != "v1.2.0" || md.Commit != "4f9c2e0000000000000000000000000000000001" ||
		!md.Date.Equal(time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)) || md.Date.Location() != time.UTC {
		t.Errorf("metadata %+v", md)
	}
	if md, err := goreleaser.ParseMetadata([]byte(`{"project_name": "hello"}`)); err != nil || !md.Version.IsZero() || !md.Date.IsZero() {
		t.Errorf("no version: %+v, %v", md, err)
	}
	for _, bad := range []string{`[`, `{"version": "one"}`, `{"date": "yesterday"}`} {
		if _, err := goreleaser.ParseMetadata([]byte(bad)); !errors.Is(err, goreleaser.ErrImport) {
			t.Errorf("%s: err = %v, want ErrImport", bad, err)
		}
	}
}

// ExampleParseArtifacts lists what relkit would import from a GoReleaser
// dist directory: archives, source archives, SBOMs, Linux packages and
// binaries, with the platform and the checksum GoReleaser recorded.
func ExampleParseArtifacts() {
	data := []byte(`[
	  {"name": "hello_1.2.0_darwin_arm64.tar.gz", "path": "dist/hello_1.2.0_darwin_arm64.tar.gz",
	   "goos": "darwin", "goarch": "arm64", "type": "Archive",
	   "extra": {"Checksum": "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}},
	  {"name": "checksums.txt", "path": "dist/checksums.txt", "type": "Checksum"}
	]`) // os.ReadFile("dist/artifacts.json")
	arts, err := goreleaser.ParseArtifacts(data)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range arts {
		fmt.Println(a.Name, a.Kind, a.Platform, a.SHA256[:12])
	}
	// Output:
	// hello_1.2.0_darwin_arm64.tar.gz archive darwin/arm64 9f86d081884c
}

// ExampleParseMetadata reads the release GoReleaser built.
func ExampleParseMetadata() {
	md, err := goreleaser.ParseMetadata([]byte(`{"project_name": "hello", "tag": "v1.2.0", "version": "1.2.0",
		"commit": "4f9c2e0", "date": "2026-11-20T12:00:00Z"}`)) // os.ReadFile("dist/metadata.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(md.Project, md.Version, md.Tag, md.Date.Format(time.DateOnly))
	// Output:
	// hello 1.2.0 v1.2.0 2026-11-20
}
