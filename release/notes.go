package release

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/release/changelog"
)

// MaxNotesSize bounds a CHANGELOG, a template or one fragment file (4 MiB).
const MaxNotesSize = 4 << 20

// ErrNoFragments: the release-notes fragment directory holds no
// fragment.
var ErrNoFragments = errors.New("no release-note fragments")

// NotesError reports release notes that could not be made: the file and
// the version, wrapping changelog.ErrNoSection, [ErrNoFragments], a
// template error or an I/O error.
type NotesError struct {
	Path    string
	Version string
	Detail  string
	Err     error
}

// Error implements the error interface.
func (e *NotesError) Error() string {
	msg := "release notes for " + e.Version + " from " + e.Path + ": "
	if e.Detail != "" {
		return msg + e.Detail
	}
	return msg + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *NotesError) Unwrap() error { return e.Err }

// NotesSource produces the release notes of the release in st, as
// Markdown. Implementations: [Changelog], [NotesTemplate], [Fragments].
type NotesSource interface {
	Notes(ctx context.Context, st *State) ([]byte, error)
}

// Notes is the notes stage ("notes"): it writes <version>/release-notes.md
// from its source. Put it right after the guard: a missing CHANGELOG
// section then stops the release before anything is built.
type Notes struct {
	From NotesSource
}

// Name returns "notes".
func (n *Notes) Name() string { return "notes" }

// Run writes the notes.
func (n *Notes) Run(ctx context.Context, st *State) error {
	if n.From == nil {
		return &ConfigError{Field: "Notes.From", Reason: "no notes source"}
	}
	if err := st.needVersion(); err != nil {
		return err
	}
	text, err := n.From.Notes(ctx, st)
	if err != nil {
		return err
	}
	a, err := st.stageFile(manifest.NotesFile, manifest.KindNotes, manifest.Platform{}, func(w io.Writer) error {
		_, err := w.Write(text)
		return err
	})
	if err != nil {
		return err
	}
	st.AddArtifact(a)
	st.logger().Info("notes", "bytes", a.Size)
	return nil
}

// Changelog takes the notes from the version's section of a Keep a
// Changelog file: the body under "## [1.2.0] - 2026-11-20" (also "## 1.2.0",
// "## [v1.2.0]") up to the next level-2 heading, without link reference
// definitions ([changelog.Section]). A missing or empty section is a
// *NotesError wrapping changelog.ErrNoSection.
type Changelog struct {
	// Path is the CHANGELOG file ("CHANGELOG.md"); Prepare resolves a
	// relative path against Config.Repo.
	Path string
}

// Notes returns the version's section.
func (c Changelog) Notes(ctx context.Context, st *State) ([]byte, error) {
	data, err := readLimited(c.Path)
	if err != nil {
		return nil, &NotesError{Path: c.Path, Version: st.Version.String(), Err: err}
	}
	body, err := changelog.Section(data, st.Version)
	if err != nil {
		return nil, &NotesError{Path: c.Path, Version: st.Version.String(), Detail: err.Error(), Err: err}
	}
	return body, nil
}

func readLimited(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxNotesSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxNotesSize {
		return nil, fmt.Errorf("%s: larger than %d bytes: %w", name, MaxNotesSize, manifest.ErrTooLarge)
	}
	return data, nil
}

// NotesData is what a [NotesTemplate] is executed with.
type NotesData struct {
	Project   string
	Version   string
	Tag       string
	Commit    string
	Date      time.Time
	Artifacts []manifest.Artifact
	// Extra is the template's own data (NotesTemplate.Data).
	Extra any
}

// NotesTemplate renders the notes from a text/template (LLStack's
// .github/release-notes.md) executed with [NotesData]. A missing map key is
// an error.
type NotesTemplate struct {
	// Text is the template; Path is read when Text is empty.
	Text string
	Path string
	// Data is passed as NotesData.Extra.
	Data any
}

// Notes renders the template.
func (n NotesTemplate) Notes(ctx context.Context, st *State) ([]byte, error) {
	src, name := n.Text, "notes"
	if src == "" {
		data, err := readLimited(n.Path)
		if err != nil {
			return nil, &NotesError{Path: n.Path, Version: st.Version.String(), Err: err}
		}
		src, name = string(data), n.Path
	}
	t, err := template.New(filepath.Base(name)).Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, &NotesError{Path: name, Version: st.Version.String(), Err: err}
	}
	var b bytes.Buffer
	err = t.Execute(&b, NotesData{
		Project: st.Project, Version: st.Version.String(), Tag: st.Tag, Commit: st.Commit,
		Date: st.Date, Artifacts: slices.Clone(st.Artifacts), Extra: n.Data,
	})
	if err != nil {
		return nil, &NotesError{Path: name, Version: st.Version.String(), Err: err}
	}
	return b.Bytes(), nil
}

// Fragments assembles the notes from one Markdown file per change in a
// directory, as Lix gathers doc/manual/rl-next/*.md: files are read in
// name order; an optional front matter block ("---" lines) may set
// "synopsis" (the bullet's text; else the first line of the body) and
// "category" (fragments are grouped under "## <category>" headings, sorted,
// uncategorised ones first). An empty directory is a *NotesError wrapping
// ErrNoFragments.
type Fragments struct {
	// Dir holds the fragments (*.md).
	Dir string
	// Title is the first heading; empty means "# <project> <version>".
	Title string
}

type fragment struct {
	synopsis, category, body string
}

// Notes assembles the fragments.
func (f Fragments) Notes(ctx context.Context, st *State) ([]byte, error) {
	names, err := filepath.Glob(filepath.Join(f.Dir, "*.md"))
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(f.Dir); err != nil {
		return nil, &NotesError{Path: f.Dir, Version: st.Version.String(), Err: err}
	}
	slices.Sort(names)
	groups := map[string][]fragment{}
	for _, name := range names {
		data, err := readLimited(name)
		if err != nil {
			return nil, &NotesError{Path: name, Version: st.Version.String(), Err: err}
		}
		fr := parseFragment(string(data))
		if fr.synopsis == "" && fr.body == "" {
			continue
		}
		groups[fr.category] = append(groups[fr.category], fr)
	}
	if len(groups) == 0 {
		return nil, &NotesError{Path: f.Dir, Version: st.Version.String(), Detail: "no *.md fragments with content", Err: ErrNoFragments}
	}
	var b strings.Builder
	title := f.Title
	if title == "" {
		title = "# " + strings.TrimSpace(st.Project+" "+st.Version.String())
	}
	b.WriteString(title + "\n")
	cats := make([]string, 0, len(groups))
	for c := range groups {
		cats = append(cats, c)
	}
	slices.Sort(cats)
	for _, c := range cats {
		if c != "" {
			b.WriteString("\n## " + c + "\n")
		}
		for _, fr := range groups[c] {
			b.WriteString("\n- " + fr.synopsis + "\n")
			if fr.body != "" {
				b.WriteString("\n")
				for _, l := range strings.Split(fr.body, "\n") {
					if l == "" {
						b.WriteString("\n")
					} else {
						b.WriteString("  " + l + "\n")
					}
				}
			}
		}
	}
	return []byte(b.String()), nil
}

func parseFragment(s string) fragment {
	var fr fragment
	s = strings.ReplaceAll(s, "\r\n", "\n")
	if rest, ok := strings.CutPrefix(s, "---\n"); ok {
		if front, body, ok := strings.Cut(rest, "\n---\n"); ok {
			for _, l := range strings.Split(front, "\n") {
				k, v, ok := strings.Cut(l, ":")
				if !ok {
					continue
				}
				v = strings.Trim(strings.TrimSpace(v), `"'`)
				switch strings.TrimSpace(k) {
				case "synopsis":
					fr.synopsis = v
				case "category":
					fr.category = v
				}
			}
			s = body
		}
	}
	fr.body = strings.TrimSpace(s)
	if fr.synopsis == "" && fr.body != "" {
		first, rest, _ := strings.Cut(fr.body, "\n")
		fr.synopsis = strings.TrimSpace(strings.TrimLeft(first, "#"))
		fr.body = strings.TrimSpace(rest)
	}
	return fr
}
