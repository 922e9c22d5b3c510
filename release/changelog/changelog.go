// Package changelog reads and updates a Keep a Changelog document
// (https://keepachangelog.com): [Section] returns one version's notes, and
// [PromoteUnreleased] turns the "Unreleased" section into a version's
// section before tagging. It takes and returns bytes and knows nothing of
// the release pipeline, whose Changelog notes source uses it.
//
// # Format
//
// A section starts at a level-2 heading whose first word, brackets
// removed, is the version ("## [1.2.0] - 2026-11-20", "## 1.2.0",
// "## [v1.2.0]"; a "v" prefix and calendar versions are accepted, compared
// as versions, pre-release included), and ends at the next level-1 or
// level-2 heading. Headings inside fenced code blocks do not count. The
// link reference definitions at a section's end ("[1.2.0]: https://...")
// are not part of its notes. Line endings may be CRLF.
package changelog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/relkit/relkit/manifest"
)

// maxLine is the longest line the parser reads; the release package
// reads at most 4 MiB of a CHANGELOG.
const maxLine = 4 << 20

// ErrNoSection is wrapped by the error of [Section] when the document has
// no section for the version, or it is empty, and of [PromoteUnreleased]
// when it has no "Unreleased" section, or it is empty.
var ErrNoSection = errors.New("no changelog section")

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
	sc.Buffer(make([]byte, 64<<10), maxLine)
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

// Section returns the body of version v's section of a Keep a
// Changelog document, trimmed, with a final newline. It fails with an
// error wrapping [ErrNoSection] when there is no such section or it
// is empty.
func Section(data []byte, v manifest.Version) ([]byte, error) {
	lines := scanChangelog(data)
	start := -1
	for i, l := range lines {
		if l.heading == 2 && sameVersion(l.label, v) {
			start = i
			break
		}
	}
	if start < 0 {
		return nil, fmt.Errorf("no \"## [%s]\" section: %w", v, ErrNoSection)
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
		return nil, fmt.Errorf("the \"## [%s]\" section is empty: %w", v, ErrNoSection)
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
// It fails with an error wrapping [ErrNoSection] when there is no
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
		return nil, fmt.Errorf("no \"## [Unreleased]\" section: %w", ErrNoSection)
	}
	empty := true
	for i := at + 1; i < len(lines) && lines[i].heading == 0; i++ {
		if t := strings.TrimSpace(lines[i].text); t != "" && !linkDefRe.MatchString(t) {
			empty = false
			break
		}
	}
	if empty {
		return nil, fmt.Errorf("the Unreleased section is empty: %w", ErrNoSection)
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
