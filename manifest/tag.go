package manifest

import (
	"fmt"
	"strings"
)

// Tag is a parsed git release tag.
//
// Forms recognised:
//
//	v1.2.3, 1.2.3, v1.2.3-rc.1     a plain version tag
//	module-authority-v1.2.3        one module of a monorepo: Module "authority"
//	suite-2026.04-nova             a prefixed calendar release with a codename:
//	                               Prefix "suite", Codename "nova"
//	hello/v1.2.3                   a Go-style submodule tag: Module "hello"
//
// A codename is a final "-word" of letters only after a calendar version;
// SemVer versions never have one (their "-" starts the pre-release).
type Tag struct {
	// Raw is the tag as given.
	Raw string
	// Prefix is everything before the version, without the separator
	// ("module-authority", "suite", "hello"); empty for a plain tag.
	Prefix string
	// Module is the module a monorepo tag selects ("authority" in
	// "module-authority-v1.2.3", "hello" in "hello/v1.2.3").
	Module string
	// V reports whether the version was written with a leading "v".
	V bool
	// Version is the parsed version.
	Version Version
	// Codename is the trailing name of a calendar release ("nova").
	Codename string
}

// TagError reports a tag that does not parse.
type TagError struct {
	Input  string
	Part   string
	Reason string
	Err    error
}

// Error implements the error interface.
func (e *TagError) Error() string {
	return fmt.Sprintf("invalid tag %q: %s: %s", e.Input, e.Part, e.Reason)
}

// Unwrap returns the underlying error, for errors.Is and errors.As.
func (e *TagError) Unwrap() error { return e.Err }

// MaxTagLen is the longest tag ParseTag accepts.
const MaxTagLen = 256

// ParseTag parses a release tag; see [Tag] for the accepted forms. The error
// is a *[TagError], wrapping a *[VersionError] when the version part is bad.
func ParseTag(s string) (Tag, error) {
	if s == "" {
		return Tag{}, &TagError{Input: s, Part: "tag", Reason: "empty"}
	}
	if len(s) > MaxTagLen {
		return Tag{}, &TagError{Input: s[:32] + "...", Part: "tag", Reason: fmt.Sprintf("longer than %d bytes", MaxTagLen)}
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f || c == '~' || c == '^' || c == ':' || c == '?' || c == '*' || c == '[' || c == '\\' {
			return Tag{}, &TagError{Input: s, Part: "tag", Reason: fmt.Sprintf("character %q not allowed in a git tag", c)}
		}
	}
	t := Tag{Raw: s}
	rest := s
	// Go-style submodule tag: path/to/module/v1.2.3.
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		t.Prefix, t.Module, rest = s[:i], s[:i], s[i+1:]
		if t.Prefix == "" {
			return Tag{}, &TagError{Input: s, Part: "prefix", Reason: "empty before '/'"}
		}
	} else if start := versionStart(s); start > 0 {
		t.Prefix, rest = s[:start-1], s[start:]
		if name, ok := strings.CutPrefix(t.Prefix, "module-"); ok {
			if name == "" {
				return Tag{}, &TagError{Input: s, Part: "module", Reason: "empty module name"}
			}
			t.Module = name
		}
	} else if start < 0 {
		return Tag{}, &TagError{Input: s, Part: "version", Reason: "no version found (want v1.2.3, PREFIX-v1.2.3 or PREFIX-YYYY.MM[-CODENAME])"}
	}
	if strings.HasPrefix(rest, "v") {
		t.V = true
	}
	v, err := ParseVersion(rest)
	if err != nil {
		return Tag{}, &TagError{Input: s, Part: "version", Reason: err.Error(), Err: err}
	}
	if v.Calendar && len(v.Pre) == 1 && isLetters(v.Pre[0]) && !isPreKeyword(v.Pre[0]) {
		// "2026.04-nova": a single alphabetic word after a calendar version
		// is a codename, not a pre-release.
		t.Codename = v.Pre[0]
		v, _ = ParseVersion(strings.TrimSuffix(rest, "-"+v.Pre[0]))
	}
	t.Version = v
	return t, nil
}

// versionStart returns the index where the version begins in a prefixed
// tag ("module-x-v1.2.3" → index of "v"), 0 when s starts with the version,
// and -1 when no segment looks like a version.
func versionStart(s string) int {
	for i := 0; i < len(s); i++ {
		if i > 0 && s[i-1] != '-' {
			continue
		}
		j := i
		if j < len(s) && s[j] == 'v' {
			j++
		}
		if j < len(s) && s[j] >= '0' && s[j] <= '9' {
			return i
		}
	}
	return -1
}

func isLetters(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func isPreKeyword(s string) bool {
	switch strings.ToLower(s) {
	case "alpha", "beta", "rc", "pre", "preview", "dev", "snapshot", "nightly", "edge", "canary":
		return true
	}
	return false
}

// String returns the tag as given.
func (t Tag) String() string { return t.Raw }
