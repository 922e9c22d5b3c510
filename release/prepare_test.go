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
	"github.com/relkit/relkit/release/installsh"
)

func TestPrepareSnapshot(t *testing.T) {
	r := newRepo(t)
	r.write("a.txt", "a")
	head := r.commit("untagged")
	r.write("dirty.txt", "uncommitted")
	dist := t.TempDir()
	st, err := Prepare(t.Context(), Config{
		Project: "hello", Dist: dist, Repo: r.dir, Snapshot: true,
		Guard:     Guard{RequireClean: true, RequireTag: true}, // ignored in snapshot mode
		Prebuilt:  fakeBinaries(t),
		SourceURI: "git+https://example.com/hello",
		Skip:      []string{"sign", "sign-manifest", "verify-staged"},
		Logger:    testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "0.0.0-snapshot.g" + head[:7]; st.Version.String() != want || !st.Snapshot {
		t.Errorf("version %s snapshot %v, want %s", st.Version, st.Snapshot, want)
	}
	m, err := manifest.LoadFile(filepath.Join(dist, "release", manifest.File))
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

// TestPrepareSourceDateEpoch: SOURCE_DATE_EPOCH, read by SourceDateFromEnv
// into Config.SourceDate, is the archive mtime.
func TestPrepareSourceDateEpoch(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	date, err := SourceDateFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	dist := t.TempDir()
	st, err := Prepare(t.Context(), Config{
		Project: "hello", Dist: dist, Version: "1.2.0", Prebuilt: fakeBinaries(t), SourceDate: date,
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

// TestPrepareIgnoresSourceDateEpoch: the library reads no environment.
// With SOURCE_DATE_EPOCH set, a Prepare whose Config.SourceDate is zero
// dates the release by its commit, and one with SourceDate set uses it.
func TestPrepareIgnoresSourceDateEpoch(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	env := time.Unix(1700000000, 0).UTC()
	cfg := Config{
		Project: "hello", Version: "1.2.0", Prebuilt: fakeBinaries(t),
		Skip: []string{"provenance", "sign", "sign-manifest", "verify-staged"}, Logger: testLogger(t),
	}
	cfg.Dist = t.TempDir()
	st, err := Prepare(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st.Date.Equal(env) || st.Date.IsZero() {
		t.Errorf("date %v with Config.SourceDate zero: want the commit time, not SOURCE_DATE_EPOCH", st.Date)
	}
	cfg.Dist = t.TempDir()
	cfg.SourceDate = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if st, err = Prepare(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	if !st.Date.Equal(cfg.SourceDate) {
		t.Errorf("date %v, want Config.SourceDate %v", st.Date, cfg.SourceDate)
	}
}

// TestSourceDateFromEnv: the explicit helper reads SOURCE_DATE_EPOCH as
// reproducible-builds.org defines it; unset or empty is the zero time (the
// commit time then dates the release), and anything but a non-negative
// decimal Unix time is a *ConfigError.
func TestSourceDateFromEnv(t *testing.T) {
	for _, c := range []struct {
		env  string
		want time.Time
		bad  bool
	}{
		{"", time.Time{}, false},
		{"1700000000", time.Unix(1700000000, 0).UTC(), false},
		{" 1700000000\n", time.Unix(1700000000, 0).UTC(), false},
		{"0", time.Unix(0, 0).UTC(), false},
		{"yesterday", time.Time{}, true},
		{"-1", time.Time{}, true},
		{"1.5", time.Time{}, true},
	} {
		t.Setenv("SOURCE_DATE_EPOCH", c.env)
		got, err := SourceDateFromEnv()
		var ce *ConfigError
		if c.bad != errors.As(err, &ce) || (err != nil && !c.bad) {
			t.Errorf("SOURCE_DATE_EPOCH=%q: err %v, want a *ConfigError: %v", c.env, err, c.bad)
		}
		if !got.Equal(c.want) || got.Location() != time.UTC {
			t.Errorf("SOURCE_DATE_EPOCH=%q: %v, want %v in UTC", c.env, got, c.want)
		}
	}
	os.Unsetenv("SOURCE_DATE_EPOCH")
	if got, err := SourceDateFromEnv(); err != nil || !got.IsZero() {
		t.Errorf("SOURCE_DATE_EPOCH unset: %v, %v", got, err)
	}
}

func TestPrepareConfigErrors(t *testing.T) {
	nonEmpty := t.TempDir()
	os.MkdirAll(filepath.Join(nonEmpty, "release"), 0o755)
	os.WriteFile(filepath.Join(nonEmpty, "release", "stale"), []byte("x"), 0o644)
	bins := fakeBinaries(t)
	for name, c := range map[string]Config{
		"no project":   {Prebuilt: bins},
		"no build":     {Project: "hello"},
		"stale dist":   {Project: "hello", Dist: nonEmpty, Version: "1.0.0", Prebuilt: bins},
		"unknown skip": {Project: "hello", Prebuilt: bins, Skip: []string{"bulid"}},
	} {
		t.Run(name, func(t *testing.T) {
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
		InstallScript: &installsh.Script{BaseURL: "https://x"}}.Pipeline()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(p.Names(), " ")
	want := "guard notes prebuilt package source sbom provenance checksums sign installer installer-key manifest sign-manifest verify-staged summary"
	if got != want {
		t.Errorf("stages\n%s\nwant\n%s", got, want)
	}
}
