package release

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relkit/relkit/manifest"
)

func TestPrepareSnapshot(t *testing.T) {
	r := newRepo(t)
	r.write("a.txt", "a")
	head := r.commit("untagged")
	r.write("dirty.txt", "uncommitted")
	dist := t.TempDir()
	st, err := Prepare(t.Context(), Config{
		Project: "hello", Dist: dist, Repo: r.dir, Snapshot: true,
		Guard:      Guard{RequireClean: true, RequireTag: true}, // ignored in snapshot mode
		Prebuilt:   fakeBinaries(t),
		Repository: "git+https://example.com/hello",
		Skip:       []string{"sign", "sign-manifest", "verify-staged"},
		Logger:     testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "0.0.0-snapshot.g" + head[:7]; st.Version.String() != want || !st.Snapshot {
		t.Errorf("version %s snapshot %v, want %s", st.Version, st.Snapshot, want)
	}
	m, err := manifest.LoadFile(filepath.Join(dist, "release", ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if m.Channels["edge"] != st.Version.String() || m.Aliases["latest"] != "" {
		t.Errorf("snapshot moved stable pointers: %v %v", m.Channels, m.Aliases)
	}
	if _, err := os.Stat(filepath.Join(dist, "release-summary.md")); err != nil {
		t.Error("no summary")
	}
}

func TestPrepareSourceDateEpoch(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	dist := t.TempDir()
	st, err := Prepare(t.Context(), Config{
		Project: "hello", Dist: dist, Version: "1.2.0", Prebuilt: fakeBinaries(t),
		Skip: []string{"provenance", "sign", "sign-manifest", "verify-staged"}, Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := time.Unix(1700000000, 0).UTC()
	if !st.Date.Equal(want) {
		t.Fatalf("date %v, want %v", st.Date, want)
	}
	f, err := os.Open(filepath.Join(st.VersionDir(), "hello-1.2.0-linux-amd64.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, _ := gzip.NewReader(f)
	h, err := tar.NewReader(gz).Next()
	if err != nil || !h.ModTime.Equal(want) {
		t.Fatalf("entry mtime %v (%v), want SOURCE_DATE_EPOCH", h.ModTime, err)
	}
}

func TestPrepareConfigErrors(t *testing.T) {
	nonEmpty := t.TempDir()
	os.MkdirAll(filepath.Join(nonEmpty, "release"), 0o755)
	os.WriteFile(filepath.Join(nonEmpty, "release", "stale"), []byte("x"), 0o644)
	bins := fakeBinaries(t)
	for name, c := range map[string]Config{
		"no project":      {Prebuilt: bins},
		"no build":        {Project: "hello"},
		"stale dist":      {Project: "hello", Dist: nonEmpty, Version: "1.0.0", Prebuilt: bins},
		"unknown skip":    {Project: "hello", Prebuilt: bins, Skip: []string{"bulid"}},
		"bad source date": {Project: "hello", Prebuilt: bins, Dist: "SOURCE_DATE_EPOCH"},
	} {
		t.Run(name, func(t *testing.T) {
			if name == "bad source date" {
				t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
				c.Dist = t.TempDir()
			}
			_, err := Prepare(t.Context(), c)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want *ConfigError", err)
			}
			t.Log(err)
		})
	}
	// Clean removes the stale files instead.
	_, err := Prepare(t.Context(), Config{Project: "hello", Dist: nonEmpty, Clean: true, Version: "1.0.0", Prebuilt: bins,
		Skip: []string{"provenance", "sign", "sign-manifest", "verify-staged"}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(nonEmpty, "release", "stale")); err == nil {
		t.Error("Clean left a stale file")
	}
}

func TestPrepareStageOrder(t *testing.T) {
	p, _, err := Config{Project: "hello", Prebuilt: fakeBinaries(t), Notes: Changelog{Path: "x"}, Source: true,
		Installer: &Installer{BaseURL: "https://x"}}.Pipeline()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(p.Names(), " ")
	want := "guard notes prebuilt package source sbom provenance checksums sign installer installer-key manifest sign-manifest verify-staged summary"
	if got != want {
		t.Errorf("stages\n%s\nwant\n%s", got, want)
	}
}
