package release

import (
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/relkit/relkit/manifest"
)

// FuzzChangelog checks that the CHANGELOG parser never panics, that a
// section it returns is non-empty and ends with a newline, and that a
// promoted Unreleased section can be read back as the new version's.
func FuzzChangelog(f *testing.F) {
	f.Add("# Changelog\n\n## [Unreleased]\n\n- x\n\n## [1.2.0] - 2026-11-20\n\n- y\n\n[Unreleased]: https://e/compare/v1.2.0...HEAD\n", "1.2.0")
	f.Add("## 1.2.0\n```\n## [1.3.0]\n```\n- z\n", "1.3.0")
	f.Add("## [v2026.04.1] - 2026-04-02\r\n\r\n- calver\r\n", "2026.04.1")
	f.Add("## [Unreleased]\n[Unreleased]: x\n", "0.1.0")
	f.Fuzz(func(t *testing.T, doc, version string) {
		v, err := manifest.ParseVersion(version)
		if err != nil {
			return
		}
		sec, err := ChangelogSection([]byte(doc), v)
		if err == nil && (len(sec) == 0 || !strings.HasSuffix(string(sec), "\n") || strings.TrimSpace(string(sec)) == "") {
			t.Fatalf("section %q", sec)
		}
		out, err := PromoteUnreleased([]byte(doc), v, v.Tag(), time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC))
		if err != nil {
			return
		}
		if _, err := ChangelogSection(out, v); err != nil {
			t.Fatalf("promoted changelog has no section for %s: %v\n%s", v, err, out)
		}
	})
}

// FuzzFragment checks that fragment parsing never panics and keeps the
// content of a non-blank fragment.
func FuzzFragment(f *testing.F) {
	f.Add("---\nsynopsis: x\ncategory: Fixes\n---\n\nbody\n")
	f.Add("# Title\n\nbody")
	f.Add("---\n---\n")
	f.Fuzz(func(t *testing.T, s string) {
		fr := parseFragment(s)
		n := strings.ReplaceAll(s, "\r\n", "\n")
		if strings.TrimSpace(s) != "" && !strings.HasPrefix(n, "---\n") && fr.synopsis == "" && fr.body == "" &&
			strings.TrimFunc(s, func(r rune) bool { return r == '#' || unicode.IsSpace(r) }) != "" {
			t.Fatalf("content of %q lost: %+v", s, fr)
		}
	})
}
