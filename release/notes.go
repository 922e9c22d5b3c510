package release

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/relkit/relkit/manifest"
)

// NotesFile is the name of the release notes in a release directory.
const NotesFile = "release-notes.md"

// MaxNotesSize bounds a CHANGELOG, a template or one fragment file (4 MiB).
const MaxNotesSize = 4 << 20

var (
	// ErrNoChangelogSection: the CHANGELOG has no section for the version
	// (or, for PromoteUnreleased, no "Unreleased" section), or the section
	// is empty.
	ErrNoChangelogSection = errors.New("no changelog section")
	// ErrNoFragments: the release-notes fragment directory holds no
	// fragment.
	ErrNoFragments = errors.New("no release-note fragments")
)

// NotesError reports release notes that could not be made: the file and
// the version, wrapping ErrNoChangelogSection, ErrNoFragments, a template
// error or an I/O error.
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
	a, err := st.stageFile(NotesFile, manifest.KindNotes, manifest.Platform{}, func(w io.Writer) error {
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
// definitions. A missing or empty section is a *NotesError wrapping
// ErrNoChangelogSection.
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
	body, err := ChangelogSection(data, st.Version)
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

// changelog headings: "## [1.2.0] - 2026-11-20", "## 1.2.0", "## [Unreleased]".
var (
	headingRe = regexp.MustCompile(`^##\s+\[?([^\]\s]+)\]?`)
	linkDefRe = regexp.MustCompile(`^\[[^\]]+\]:\s*\S`)
)

type clLine struct {
	text    string
	heading int    // 1 or 2 for "# " and "## " outside code fences; 0 otherwise
	label   string // the heading's first word without brackets
}

func scanChangelog(data []byte) []clLine {
	var lines []clLine
	fence := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), MaxNotesSize)
	for sc.Scan() {
		l := clLine{text: strings.TrimRight(sc.Text(), "\r")}
		t := strings.TrimSpace(l.text)
		if strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~") {
			fence = !fence
		}
		if !fence {
			switch {
			case strings.HasPrefix(l.text, "## "):
				l.heading = 2
				if m := headingRe.FindStringSubmatch(l.text); m != nil {
					l.label = m[1]
				}
			case strings.HasPrefix(l.text, "# "):
				l.heading = 1
			}
		}
		lines = append(lines, l)
	}
	return lines
}

func sameVersion(label string, v manifest.Version) bool {
	lv, err := manifest.ParseVersion(label)
	return err == nil && lv.Compare(v) == 0 && slices.Equal(lv.Pre, v.Pre)
}

// ChangelogSection returns the body of version v's section of a Keep a
// Changelog document, trimmed, with a final newline. It fails with an
// error wrapping ErrNoChangelogSection when there is no such section or it
// is empty.
func ChangelogSection(data []byte, v manifest.Version) ([]byte, error) {
	lines := scanChangelog(data)
	start := -1
	for i, l := range lines {
		if l.heading == 2 && sameVersion(l.label, v) {
			start = i
			break
		}
	}
	if start < 0 {
		return nil, fmt.Errorf("no \"## [%s]\" section: %w", v, ErrNoChangelogSection)
	}
	end := len(lines)
	for i := start + 1; i < len(lines); i++ {
		if lines[i].heading > 0 {
			end = i
			break
		}
	}
	body := lines[start+1 : end]
	// Drop the link reference table and blank lines at the end.
	for len(body) > 0 && (strings.TrimSpace(body[len(body)-1].text) == "" || linkDefRe.MatchString(body[len(body)-1].text)) {
		body = body[:len(body)-1]
	}
	for len(body) > 0 && strings.TrimSpace(body[0].text) == "" {
		body = body[1:]
	}
	if len(body) == 0 {
		return nil, fmt.Errorf("the \"## [%s]\" section is empty: %w", v, ErrNoChangelogSection)
	}
	var b strings.Builder
	for _, l := range body {
		b.WriteString(l.text)
		b.WriteByte('\n')
	}
	return []byte(b.String()), nil
}

// PromoteUnreleased turns the "## [Unreleased]" section of a Keep a
// Changelog document into the section for version v dated date, leaving an
// empty Unreleased section above it, as the RustShare and banger checklists
// do by hand. When the document has an "[Unreleased]: <repo>/compare/<prev>...HEAD"
// link, it is moved to compare from tag, and a link for the new version
// ("[1.2.0]: <repo>/compare/<prev>...v1.2.0") is added below it; tag is
// the version's git tag ("v1.2.0").
//
// It fails with an error wrapping ErrNoChangelogSection when there is no
// Unreleased section or it is empty, and refuses a document that already
// has a section for v.
func PromoteUnreleased(data []byte, v manifest.Version, tag string, date time.Time) ([]byte, error) {
	lines := scanChangelog(data)
	at := -1
	for i, l := range lines {
		if l.heading == 2 && strings.EqualFold(l.label, "unreleased") {
			if at < 0 {
				at = i
			}
		}
		if l.heading == 2 && sameVersion(l.label, v) {
			return nil, fmt.Errorf("changelog already has a section for %s", v)
		}
	}
	if at < 0 {
		return nil, fmt.Errorf("no \"## [Unreleased]\" section: %w", ErrNoChangelogSection)
	}
	empty := true
	for i := at + 1; i < len(lines) && lines[i].heading == 0; i++ {
		if t := strings.TrimSpace(lines[i].text); t != "" && !linkDefRe.MatchString(t) {
			empty = false
			break
		}
	}
	if empty {
		return nil, fmt.Errorf("the Unreleased section is empty: %w", ErrNoChangelogSection)
	}
	var out []string
	for i, l := range lines {
		out = append(out, l.text)
		if i == at {
			out = append(out, "", fmt.Sprintf("## [%s] - %s", v, date.UTC().Format("2006-01-02")))
			continue
		}
		if l.heading == 0 && strings.HasPrefix(strings.ToLower(l.text), "[unreleased]:") {
			url := strings.TrimSpace(l.text[len("[unreleased]:"):])
			if base, prev, ok := splitCompare(url); ok {
				out[len(out)-1] = fmt.Sprintf("[Unreleased]: %s/compare/%s...HEAD", base, tag)
				out = append(out, fmt.Sprintf("[%s]: %s/compare/%s...%s", v, base, prev, tag))
			}
		}
	}
	return []byte(strings.Join(out, "\n") + "\n"), nil
}

// splitCompare splits "https://host/o/r/compare/v1.1.0...HEAD".
func splitCompare(url string) (base, prev string, ok bool) {
	i := strings.LastIndex(url, "/compare/")
	if i < 0 {
		return "", "", false
	}
	base, rng := url[:i], url[i+len("/compare/"):]
	prev, head, ok := strings.Cut(rng, "...")
	if !ok || head != "HEAD" || prev == "" {
		return "", "", false
	}
	return base, prev, true
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
