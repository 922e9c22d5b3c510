package release

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/release/changelog"
)

func notesState(t *testing.T, version string) *State {
	return &State{Project: "hello", Version: manifest.MustParseVersion(version), Tag: "v" + version,
		Commit: testCommit, Date: testDate, Root: t.TempDir(), Log: testLogger(t)}
}

func TestChangelogNotes(t *testing.T) {
	tests := []struct{ version, want string }{
		{"1.2.0", "### Added\n\n- `hello version` prints the commit.\n\n### Fixed\n\n- Exit status on a broken pipe.\n\n```\n## not a heading: inside a code fence\n```\n"},
		{"v1.1.0", "### Notes\n\n- No functional changes. Verification release for 1.0.9.\n"},
		{"1.0.0", "- First stable release.\n"},
	}
	for _, tc := range tests {
		st := notesState(t, tc.version)
		if err := (&Notes{From: Changelog{Path: "testdata/CHANGELOG.md"}}).Run(t.Context(), st); err != nil {
			t.Fatalf("%s: %v", tc.version, err)
		}
		got, _ := os.ReadFile(filepath.Join(st.VersionDir(), manifest.NotesFile))
		if string(got) != tc.want {
			t.Errorf("%s: notes\n%q\nwant\n%q", tc.version, got, tc.want)
		}
		if a, ok := st.Artifact(manifest.NotesFile); !ok || a.Kind != manifest.KindNotes {
			t.Errorf("notes not recorded")
		}
	}
}

func TestChangelogMissingSection(t *testing.T) {
	for _, v := range []string{"1.3.0", "1.0.0-rc.1", "1.2.0-rc.1"} {
		st := notesState(t, v)
		err := (&Notes{From: Changelog{Path: "testdata/CHANGELOG.md"}}).Run(t.Context(), st)
		var ne *NotesError
		if !errors.Is(err, changelog.ErrNoSection) || !errors.As(err, &ne) || ne.Version != manifest.MustParseVersion(v).String() {
			t.Errorf("%s: err = %v, want NotesError wrapping changelog.ErrNoSection", v, err)
		}
		if len(st.Artifacts) != 0 {
			t.Errorf("%s: notes recorded", v)
		}
		t.Log(err)
	}
	err := (&Notes{From: Changelog{Path: "testdata/NO-CHANGELOG.md"}}).Run(t.Context(), notesState(t, "1.0.0"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
}

func TestTemplateNotes(t *testing.T) {
	st := notesState(t, "1.2.0")
	st.AddArtifact(manifest.Artifact{Name: "hello-1.2.0-linux-amd64.tar.gz", Path: "1.2.0/hello-1.2.0-linux-amd64.tar.gz", Kind: manifest.KindArchive, SHA256: strings.Repeat("a", 64)})
	tmpl := "# {{.Project}} {{.Version}} ({{.Tag}}, {{.Date.Format \"2006-01-02\"}})\n{{range .Artifacts}}- {{.Name}} {{.SHA256}}\n{{end}}{{.Extra.Note}}\n"
	src := NotesTemplate{Text: tmpl, Data: map[string]string{"Note": "Thanks!"}}
	got, err := src.Notes(t.Context(), st)
	if err != nil {
		t.Fatal(err)
	}
	want := "# hello 1.2.0 (v1.2.0, 2026-11-20)\n- hello-1.2.0-linux-amd64.tar.gz " + strings.Repeat("a", 64) + "\nThanks!\n"
	if string(got) != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	bad := NotesTemplate{Text: "{{.Extra.Missing}}", Data: map[string]string{}}
	var ne *NotesError
	if _, err := bad.Notes(t.Context(), st); !errors.As(err, &ne) {
		t.Errorf("missing key: err = %v", err)
	}
}

func TestFragmentNotes(t *testing.T) {
	st := notesState(t, "2.91.0")
	got, err := Fragments{Dir: "testdata/rl-next"}.Notes(t.Context(), st)
	if err != nil {
		t.Fatal(err)
	}
	want := "# hello 2.91.0\n\n- Faster startup\n\n  Startup no longer reads the config twice.\n" +
		"\n## Features\n\n- Add `hello --json`\n\n  Prints the greeting as JSON.\n\n  Useful for scripts.\n" +
		"\n## Fixes\n\n- Exit cleanly on a broken pipe\n\n  `hello | head -1` no longer prints an error.\n"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	_, err = Fragments{Dir: t.TempDir()}.Notes(t.Context(), st)
	if !errors.Is(err, ErrNoFragments) {
		t.Errorf("empty dir: err = %v", err)
	}
}
