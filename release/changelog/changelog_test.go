package changelog_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/release/changelog"
)

var testDate = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func TestPromoteUnreleased(t *testing.T) {
	data, _ := os.ReadFile("testdata/CHANGELOG.md")
	v := manifest.MustParseVersion("1.3.0")
	out, err := changelog.PromoteUnreleased(data, v, "v1.3.0", testDate)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, want := range []string{
		"## [Unreleased]\n\n## [1.3.0] - 2026-11-20\n\n### Added\n\n- `hello --json`.",
		"[Unreleased]: https://github.com/example/hello/compare/v1.3.0...HEAD\n[1.3.0]: https://github.com/example/hello/compare/v1.2.0...v1.3.0\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("promoted changelog lacks %q:\n%s", want, s)
		}
	}
	sec, err := changelog.Section(out, v)
	if err != nil || string(sec) != "### Added\n\n- `hello --json`.\n" {
		t.Errorf("section after promote: %q %v", sec, err)
	}
	// The Unreleased section is now empty: promoting again fails.
	if _, err := changelog.PromoteUnreleased(out, manifest.MustParseVersion("1.4.0"), "v1.4.0", testDate); !errors.Is(err, changelog.ErrNoSection) {
		t.Errorf("second promote: err = %v", err)
	}
	if _, err := changelog.PromoteUnreleased(data, manifest.MustParseVersion("1.2.0"), "v1.2.0", testDate); err == nil {
		t.Error("promoted onto an existing version")
	}
}

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
		sec, err := changelog.Section([]byte(doc), v)
		if err == nil && (len(sec) == 0 || !strings.HasSuffix(string(sec), "\n") || strings.TrimSpace(string(sec)) == "") {
			t.Fatalf("section %q", sec)
		}
		out, err := changelog.PromoteUnreleased([]byte(doc), v, v.Tag(), time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC))
		if err != nil {
			return
		}
		if _, err := changelog.Section(out, v); err != nil {
			t.Fatalf("promoted changelog has no section for %s: %v\n%s", v, err, out)
		}
	})
}

// The section of a Keep a Changelog file for one version.
func ExampleSection() {
	doc := []byte(`# Changelog

## [Unreleased]

## [1.2.0] - 2026-11-20

### Fixed

- Exit status on a broken pipe.

## [1.1.0] - 2026-10-01

- First release.

[1.2.0]: https://github.com/example/hello/compare/v1.1.0...v1.2.0
`)
	notes, err := changelog.Section(doc, manifest.MustParseVersion("v1.2.0"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(string(notes))
	_, err = changelog.Section(doc, manifest.MustParseVersion("1.3.0"))
	fmt.Println(err)
	// Output:
	// ### Fixed
	//
	// - Exit status on a broken pipe.
	// no "## [1.3.0]" section: no changelog section
}

// Before tagging: the Unreleased notes become the version's section, and
// the compare links move on.
func ExamplePromoteUnreleased() {
	doc := []byte(`# Changelog

## [Unreleased]

- Exit status on a broken pipe.

## [1.1.0] - 2026-10-01

- First release.

[Unreleased]: https://github.com/example/hello/compare/v1.1.0...HEAD
`)
	out, err := changelog.PromoteUnreleased(doc, manifest.MustParseVersion("1.2.0"), "v1.2.0", time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(string(out))
	// Output:
	// # Changelog
	//
	// ## [Unreleased]
	//
	// ## [1.2.0] - 2026-11-20
	//
	// - Exit status on a broken pipe.
	//
	// ## [1.1.0] - 2026-10-01
	//
	// - First release.
	//
	// [Unreleased]: https://github.com/example/hello/compare/v1.2.0...HEAD
	// [1.2.0]: https://github.com/example/hello/compare/v1.1.0...v1.2.0
}
