package release

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/release/goreleaser"
	"github.com/relkit/relkit/sign"
)

// fakeGoReleaserDist writes a dist/ directory as GoReleaser v2 leaves it
// (artifacts.json, metadata.json, archives, checksums.txt, a raw binary).
func fakeGoReleaserDist(t *testing.T, corrupt bool) string {
	proj := t.TempDir()
	dist := filepath.Join(proj, "dist")
	os.MkdirAll(filepath.Join(dist, "hello_linux_amd64_v1"), 0o755)
	files := map[string]string{
		"hello_1.2.0_linux_amd64.tar.gz":  "linux archive bytes",
		"hello_1.2.0_darwin_arm64.tar.gz": "darwin archive bytes",
		"hello_1.2.0_windows_amd64.zip":   "windows archive bytes",
		"checksums.txt":                   "ignored\n",
		"hello_linux_amd64_v1/hello":      "raw binary",
	}
	for name, content := range files {
		os.WriteFile(filepath.Join(dist, name), []byte(content), 0o644)
	}
	sum := func(name string) string {
		_, s, _ := hashFile(filepath.Join(dist, name))
		if corrupt && name == "hello_1.2.0_windows_amd64.zip" {
			s = "00" + s[2:]
		}
		return "sha256:" + s
	}
	arts := []map[string]any{
		{"name": "hello_1.2.0_linux_amd64.tar.gz", "path": "dist/hello_1.2.0_linux_amd64.tar.gz", "goos": "linux", "goarch": "amd64", "goamd64": "v1", "internal_type": 1, "type": "Archive",
			"extra": map[string]any{"Binaries": []string{"hello"}, "Checksum": sum("hello_1.2.0_linux_amd64.tar.gz"), "Format": "tar.gz", "ID": "default"}},
		{"name": "hello_1.2.0_darwin_arm64.tar.gz", "path": "dist/hello_1.2.0_darwin_arm64.tar.gz", "goos": "darwin", "goarch": "arm64", "internal_type": 1, "type": "Archive",
			"extra": map[string]any{"Checksum": sum("hello_1.2.0_darwin_arm64.tar.gz"), "Format": "tar.gz"}},
		{"name": "hello_1.2.0_windows_amd64.zip", "path": "dist/hello_1.2.0_windows_amd64.zip", "goos": "windows", "goarch": "amd64", "internal_type": 1, "type": "Archive",
			"extra": map[string]any{"Checksum": sum("hello_1.2.0_windows_amd64.zip"), "Format": "zip"}},
		{"name": "hello", "path": "dist/hello_linux_amd64_v1/hello", "goos": "linux", "goarch": "amd64", "internal_type": 4, "type": "Binary", "extra": map[string]any{"Binary": "hello"}},
		{"name": "checksums.txt", "path": "dist/checksums.txt", "internal_type": 12, "type": "Checksum", "extra": map[string]any{}},
	}
	data, _ := json.MarshalIndent(arts, "", "  ")
	os.WriteFile(filepath.Join(dist, "artifacts.json"), data, 0o644)
	md, _ := json.Marshal(map[string]any{"project_name": "hello", "tag": "v1.2.0", "previous_tag": "v1.1.0", "version": "1.2.0",
		"commit": testCommit, "date": "2026-11-20T12:00:00Z", "runtime": map[string]string{"goos": "linux", "goarch": "amd64"}})
	os.WriteFile(filepath.Join(dist, "metadata.json"), md, 0o644)
	return filepath.Join(dist, "artifacts.json")
}

func TestGoReleaserImport(t *testing.T) {
	signer, _ := newSigner(t)
	st := &State{Root: t.TempDir()}
	p := &Pipeline{Logger: testLogger(t), Stages: []Stage{
		&GoReleaserImport{ArtifactsFile: fakeGoReleaserDist(t, false)},
		Checksums{}, &Sign{Signers: []sign.Signer{signer}}, &UpdateManifest{},
		&SignManifest{Signers: []sign.Signer{signer}}, &VerifyStaged{Signers: []sign.Signer{signer}},
	}}
	if err := p.Run(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	if st.Project != "hello" || st.Version.String() != "1.2.0" || st.Tag != "v1.2.0" || st.Commit != testCommit || !st.Date.Equal(testDate) {
		t.Errorf("state from metadata.json: %+v", st)
	}
	m, err := manifest.LoadFile(filepath.Join(st.Root, manifest.File))
	if err != nil {
		t.Fatal(err)
	}
	sel, err := m.Select(manifest.Query{Platform: manifest.Platform{OS: "darwin", Arch: "arm64"}})
	if err != nil || sel.Artifact.Name != "hello_1.2.0_darwin_arm64.tar.gz" {
		t.Fatalf("select darwin/arm64: %+v %v", sel, err)
	}
	if _, ok := st.Artifact("hello"); ok {
		t.Error("imported a raw build binary")
	}
	if _, ok := st.Artifact("checksums.txt"); ok {
		t.Error("imported GoReleaser's checksums file")
	}
}

func TestGoReleaserImportChecksumMismatch(t *testing.T) {
	st := &State{Root: t.TempDir()}
	err := (&GoReleaserImport{ArtifactsFile: fakeGoReleaserDist(t, true)}).Run(t.Context(), st)
	if !errors.Is(err, goreleaser.ErrImport) {
		t.Fatalf("err = %v, want goreleaser.ErrImport", err)
	}
	if _, err := os.Stat(filepath.Join(st.VersionDir(), "hello_1.2.0_windows_amd64.zip")); err == nil {
		t.Error("the corrupt file stayed staged")
	}
	if err := (&GoReleaserImport{ArtifactsFile: filepath.Join(t.TempDir(), "artifacts.json")}).Run(t.Context(), &State{}); !errors.Is(err, goreleaser.ErrImport) {
		t.Errorf("missing file: err = %v", err)
	}
}
