package manifest

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a parsed release version: SemVer 2.0 (with or without a leading
// "v") or a calendar version (YYYY.MM or YYYY.MM.N, optionally with a
// pre-release suffix).
//
// Versions compare by SemVer precedence ([Compare]); build metadata is kept
// but ignored for precedence. The zero Version is not valid.
type Version struct {
	Major, Minor, Patch uint64
	// Pre holds the dot-separated pre-release identifiers ("rc", "1").
	Pre []string
	// Build holds the dot-separated build metadata identifiers.
	Build []string
	// Calendar reports that the version was written as a calendar version
	// (year.month[.micro]); Major is the year and Minor the month.
	Calendar bool

	canon string // the version as written, without a leading "v"
}

// VersionError reports a version string that does not parse. Part names the
// piece of the string that is wrong ("major", "minor", "patch",
// "pre-release", "build", or "version" for the whole).
type VersionError struct {
	Input  string
	Part   string
	Value  string
	Reason string
}

// Error implements the error interface.
func (e *VersionError) Error() string {
	if e.Value != "" {
		return fmt.Sprintf("invalid version %q: %s %q: %s", e.Input, e.Part, e.Value, e.Reason)
	}
	return fmt.Sprintf("invalid version %q: %s: %s", e.Input, e.Part, e.Reason)
}

// MaxVersionLen is the longest version string ParseVersion accepts.
const MaxVersionLen = 256

// ParseVersion parses a SemVer 2.0 version ("1.2.3", "v1.2.3-rc.1+build.5")
// or a calendar version ("2026.04", "2026.04.1", "v2026.04-rc.1").
//
// A string that is valid SemVer is always read as SemVer. A string that is
// not, but has a four-digit year (1970-9999) first and one or two further
// numeric parts, is read as a calendar version; leading zeros are allowed
// in its month and micro parts ("2026.04"). The error is a *[VersionError]
// that names the part of the string that is wrong.
func ParseVersion(s string) (Version, error) {
	if s == "" {
		return Version{}, &VersionError{Input: s, Part: "version", Reason: "empty"}
	}
	if len(s) > MaxVersionLen {
		return Version{}, &VersionError{Input: s[:32] + "...", Part: "version", Reason: fmt.Sprintf("longer than %d bytes", MaxVersionLen)}
	}
	body := strings.TrimPrefix(s, "v")
	v, err := parseSemver(s, body)
	if err == nil {
		return v, nil
	}
	if cv, cerr := parseCalendar(s, body); cerr == nil {
		return cv, nil
	}
	return Version{}, err
}

// MustParseVersion is like [ParseVersion] but panics on error. It is meant
// for constants in tests and examples.
func MustParseVersion(s string) Version {
	v, err := ParseVersion(s)
	if err != nil {
		panic(err)
	}
	return v
}

func splitMeta(in, body string) (core, pre, build string, err error) {
	core = body
	if i := strings.IndexByte(core, '+'); i >= 0 {
		core, build = core[:i], core[i+1:]
		if build == "" {
			return "", "", "", &VersionError{Input: in, Part: "build", Reason: "empty after '+'"}
		}
	}
	if i := strings.IndexByte(core, '-'); i >= 0 {
		core, pre = core[:i], core[i+1:]
		if pre == "" {
			return "", "", "", &VersionError{Input: in, Part: "pre-release", Reason: "empty after '-'"}
		}
	}
	return core, pre, build, nil
}

func parseSemver(in, body string) (Version, error) {
	core, pre, build, err := splitMeta(in, body)
	if err != nil {
		return Version{}, err
	}
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return Version{}, &VersionError{Input: in, Part: "version", Value: core, Reason: fmt.Sprintf("want MAJOR.MINOR.PATCH, found %d part(s)", len(parts))}
	}
	var v Version
	names := [3]string{"major", "minor", "patch"}
	nums := [3]*uint64{&v.Major, &v.Minor, &v.Patch}
	for i, p := range parts {
		n, err := parseNumeric(in, names[i], p, false)
		if err != nil {
			return Version{}, err
		}
		*nums[i] = n
	}
	if v.Pre, err = parseIdents(in, "pre-release", pre, true); err != nil {
		return Version{}, err
	}
	if v.Build, err = parseIdents(in, "build", build, false); err != nil {
		return Version{}, err
	}
	v.canon = body
	return v, nil
}

func parseCalendar(in, body string) (Version, error) {
	core, pre, build, err := splitMeta(in, body)
	if err != nil {
		return Version{}, err
	}
	parts := strings.Split(core, ".")
	if len(parts) != 2 && len(parts) != 3 {
		return Version{}, &VersionError{Input: in, Part: "version", Value: core, Reason: "want YYYY.MM or YYYY.MM.N"}
	}
	if len(parts[0]) != 4 {
		return Version{}, &VersionError{Input: in, Part: "year", Value: parts[0], Reason: "want four digits"}
	}
	var v Version
	v.Calendar = true
	if v.Major, err = parseNumeric(in, "year", parts[0], false); err != nil {
		return Version{}, err
	}
	if v.Major < 1970 {
		return Version{}, &VersionError{Input: in, Part: "year", Value: parts[0], Reason: "before 1970"}
	}
	if v.Minor, err = parseNumeric(in, "month", parts[1], true); err != nil {
		return Version{}, err
	}
	if v.Minor < 1 || v.Minor > 12 || len(parts[1]) > 2 {
		return Version{}, &VersionError{Input: in, Part: "month", Value: parts[1], Reason: "want 1-12"}
	}
	if len(parts) == 3 {
		if v.Patch, err = parseNumeric(in, "micro", parts[2], true); err != nil {
			return Version{}, err
		}
	}
	if v.Pre, err = parseIdents(in, "pre-release", pre, true); err != nil {
		return Version{}, err
	}
	if v.Build, err = parseIdents(in, "build", build, false); err != nil {
		return Version{}, err
	}
	v.canon = body
	return v, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func parseNumeric(in, part, s string, allowLeadingZero bool) (uint64, error) {
	if s == "" {
		return 0, &VersionError{Input: in, Part: part, Reason: "empty"}
	}
	if !isDigits(s) {
		return 0, &VersionError{Input: in, Part: part, Value: s, Reason: "not a number"}
	}
	if !allowLeadingZero && len(s) > 1 && s[0] == '0' {
		return 0, &VersionError{Input: in, Part: part, Value: s, Reason: "leading zero"}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, &VersionError{Input: in, Part: part, Value: s, Reason: "number too large"}
	}
	return n, nil
}

func parseIdents(in, part, s string, numericNoLeadingZero bool) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	ids := strings.Split(s, ".")
	for _, id := range ids {
		if id == "" {
			return nil, &VersionError{Input: in, Part: part, Value: s, Reason: "empty identifier"}
		}
		for i := 0; i < len(id); i++ {
			c := id[i]
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
				return nil, &VersionError{Input: in, Part: part, Value: id, Reason: fmt.Sprintf("invalid character %q", c)}
			}
		}
		if numericNoLeadingZero && isDigits(id) && len(id) > 1 && id[0] == '0' {
			return nil, &VersionError{Input: in, Part: part, Value: id, Reason: "numeric identifier with leading zero"}
		}
	}
	return ids, nil
}

// String returns the version as written, without a leading "v".
func (v Version) String() string { return v.canon }

// IsZero reports whether v is the zero Version (not parsed from anything).
func (v Version) IsZero() bool { return v.canon == "" }

// IsPrerelease reports whether v has a pre-release part ("1.2.0-rc.1").
// Pre-releases never move stable channels or rolling aliases.
func (v Version) IsPrerelease() bool { return len(v.Pre) > 0 }

// Tag returns the conventional git tag for v: "v" + [Version.String].
func (v Version) Tag() string { return "v" + v.canon }

// Compare returns -1, 0 or +1 as a orders before, the same as, or after b
// by SemVer 2.0 precedence (build metadata is ignored). Calendar versions
// compare as MAJOR=year, MINOR=month, PATCH=micro.
func Compare(a, b Version) int {
	if c := cmpU(a.Major, b.Major); c != 0 {
		return c
	}
	if c := cmpU(a.Minor, b.Minor); c != 0 {
		return c
	}
	if c := cmpU(a.Patch, b.Patch); c != 0 {
		return c
	}
	return comparePre(a.Pre, b.Pre)
}

// Compare is the method form of the package function [Compare].
func (v Version) Compare(o Version) int { return Compare(v, o) }

// Less reports whether v orders before o by SemVer precedence.
func (v Version) Less(o Version) bool { return Compare(v, o) < 0 }

func cmpU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func comparePre(a, b []string) int {
	switch {
	case len(a) == 0 && len(b) == 0:
		return 0
	case len(a) == 0:
		return 1 // a release has higher precedence than its pre-releases
	case len(b) == 0:
		return -1
	}
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := a[i], b[i]
		xn, yn := isDigits(x), isDigits(y)
		switch {
		case xn && yn:
			if len(x) != len(y) {
				if len(x) < len(y) {
					return -1
				}
				return 1
			}
			if x != y {
				if x < y {
					return -1
				}
				return 1
			}
		case xn:
			return -1 // numeric identifiers have lower precedence
		case yn:
			return 1
		default:
			if x != y {
				if x < y {
					return -1
				}
				return 1
			}
		}
	}
	return cmpU(uint64(len(a)), uint64(len(b)))
}
