package release

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/internal/testenv"
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/sign"
)

// TestPackageFormats: Package.Formats writes one archive per format for
// every platform but windows (zip), each reproducible (two runs, the same
// bytes) and each unpacked by the real tar with xz and zstd.
func TestPackageFormats(t *testing.T) {
	tarBin := testenv.Tool(t, "tar")
	testenv.Tool(t, "xz")
	testenv.Tool(t, "zstd")
	formats := []string{FormatTarGz, FormatTarXz, FormatTarZst}
	var runs [2]*State
	for i := range runs {
		runs[i] = lightState(t)
		if err := (&Package{Formats: formats, Extra: writeExtras(t)}).Run(t.Context(), runs[i]); err != nil {
			t.Fatal(err)
		}
	}
	st := runs[0]
	want := 0
	for _, p := range allTargets {
		if p.OS == "windows" {
			want++
			if _, ok := st.Artifact(ArchiveName("hello", st.Version, p)); !ok {
				t.Errorf("no zip for %s", p)
			}
			continue
		}
		for _, f := range formats {
			want++
			name := ArchiveNameFormat("hello", st.Version, p, f)
			if !strings.HasSuffix(name, "."+f) {
				t.Errorf("ArchiveNameFormat(%s) = %s", f, name)
			}
			a, ok := st.Artifact(name)
			if !ok || a.Kind != manifest.KindArchive || a.OS != p.OS || a.Arch != p.Arch {
				t.Fatalf("%s: %+v %v", name, a, ok)
			}
			flag := map[string]string{FormatTarGz: "-z", FormatTarXz: "-J", FormatTarZst: "--zstd"}[f]
			out := t.TempDir()
			if b, err := exec.Command(tarBin, flag, "-xf", filepath.Join(st.Root, a.Path), "-C", out).CombinedOutput(); err != nil {
				t.Fatalf("tar %s %s: %v %s", flag, name, err, b)
			}
			fi, err := os.Stat(filepath.Join(out, "hello"))
			if err != nil || fi.Mode().Perm() != 0o755 || !fi.ModTime().Equal(testDate) {
				t.Errorf("%s: extracted hello: %v %v", name, fi, err)
			}
			if b, _ := os.ReadFile(filepath.Join(out, "completions", "hello.bash")); !strings.Contains(string(b), "complete") {
				t.Errorf("%s: completions/hello.bash: %q", name, b)
			}
		}
	}
	if len(st.Artifacts) != want {
		t.Errorf("%d artifacts, want %d: %v", len(st.Artifacts), want, st.Artifacts)
	}
	for i, a := range runs[0].Artifacts {
		b := runs[1].Artifacts[i]
		x, _ := os.ReadFile(filepath.Join(runs[0].Root, a.Path))
		y, _ := os.ReadFile(filepath.Join(runs[1].Root, b.Path))
		if a != b || !bytes.Equal(x, y) {
			t.Errorf("%s differs between runs", a.Name)
		}
	}
}

// TestPackageUnknownFormat: an unknown format is a *ConfigError from
// Config.Pipeline, before anything is built.
func TestPackageUnknownFormat(t *testing.T) {
	_, _, err := Config{Project: "hello", Prebuilt: fakeBinaries(t), Package: Package{Formats: []string{"tar.gz", "tar.bz2"}}}.Pipeline()
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Field != "Package.Formats" || !strings.Contains(err.Error(), "tar.bz2") {
		t.Fatalf("got %v, want a *ConfigError for Package.Formats naming tar.bz2", err)
	}
	if err := (&Package{Formats: []string{"rar"}}).Run(t.Context(), lightState(t)); !errors.As(err, &ce) {
		t.Fatalf("Run: got %v, want a *ConfigError", err)
	}
}

// TestPrepareArchiveFormats: a release in three formats lists every
// archive in SHA256SUMS, the manifest, the SBOM (each containing its
// platform's binary) and the provenance, and passes the staged
// verification.
func TestPrepareArchiveFormats(t *testing.T) {
	signer, _ := newSigner(t)
	r := releaseRepo(t, "v1.2.0")
	dist := t.TempDir()
	host := manifest.Platform{OS: "linux", Arch: "amd64"}
	cfg := Config{
		Project: "hello", Dist: dist, Repo: r.dir, Version: "1.2.0",
		Prebuilt:  onlyPlatform(sharedBinaries(t), host),
		Package:   Package{Formats: []string{FormatTarGz, FormatTarXz, FormatTarZst}},
		SourceURI: "git+https://github.com/example/hello",
		Signers:   []sign.Signer{signer},
		Logger:    testLogger(t),
	}
	st, err := Prepare(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(st.VersionDir(), name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	sums, sbom, prov := read(manifest.ChecksumsFile), read(manifest.SBOMFile), read(manifest.ProvenanceFile)
	m, err := manifest.LoadFile(filepath.Join(st.Root, manifest.File))
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := m.Release("1.2.0")
	for _, f := range []string{FormatTarGz, FormatTarXz, FormatTarZst} {
		name := ArchiveNameFormat("hello", st.Version, host, f)
		a, ok := st.Artifact(name)
		if !ok {
			t.Fatalf("no %s", name)
		}
		if !strings.Contains(sums, a.SHA256+"  "+name+"\n") {
			t.Errorf("SHA256SUMS lacks %s", name)
		}
		if !strings.Contains(prov, `"name": "`+name+`"`) {
			t.Errorf("provenance lacks %s", name)
		}
		if !strings.Contains(sbom, `"spdxElementId": "`+spdxID("Archive", name)+`",
      "relationshipType": "CONTAINS"`) {
			t.Errorf("SBOM: %s contains no binary", name)
		}
		found := false
		for _, ma := range rel.Artifacts {
			found = found || (ma.Name == name && ma.SHA256 == a.SHA256 && ma.Kind == manifest.KindArchive)
		}
		if !found {
			t.Errorf("manifest lacks %s", name)
		}
	}
}
