package manifest

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// The precedence examples from the SemVer 2.0 spec, item 11, in order.
var specOrder = []string{
	"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
	"1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0",
	"2.0.0", "2.1.0", "2.1.1",
}

func TestCompareSpecOrder(t *testing.T) {
	for i := range specOrder {
		for j := range specOrder {
			a, b := MustParseVersion(specOrder[i]), MustParseVersion(specOrder[j])
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := Compare(a, b); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", a, b, got, want)
			}
		}
	}
}

func TestCompareMore(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1.0.0+build.1", "1.0.0+build.2", 0}, // build metadata is ignored
		{"v1.2.3", "1.2.3", 0},
		{"1.2.10", "1.2.9", 1}, // numeric, not string, comparison
		{"1.10.0", "1.9.0", 1},
		{"1.0.0-rc.10", "1.0.0-rc.9", 1},
		{"1.0.0-9", "1.0.0-a", -1},             // numeric identifiers sort before alphanumeric
		{"1.0.0-alpha-2", "1.0.0-alpha-10", 1}, // hyphenated identifiers compare as strings
		{"2026.04", "2026.04.0", 0},
		{"2026.04.1", "2026.04", 1},
		{"2026.10", "2026.9.0", 1},
		{"2026.04-rc.1", "2026.04", -1},
		{"18446744073709551615.0.0", "18446744073709551614.9.9", 1},
	} {
		if got := Compare(MustParseVersion(tc.a), MustParseVersion(tc.b)); got != tc.want {
			t.Errorf("Compare(%s, %s) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestSortBySpec(t *testing.T) {
	shuffled := []string{"2.1.1", "1.0.0", "1.0.0-beta.11", "1.0.0-alpha", "2.0.0", "1.0.0-rc.1", "1.0.0-alpha.beta", "2.1.0", "1.0.0-beta.2", "1.0.0-alpha.1", "1.0.0-beta"}
	vs := make([]Version, len(shuffled))
	for i, s := range shuffled {
		vs[i] = MustParseVersion(s)
	}
	slices.SortFunc(vs, Compare)
	for i, v := range vs {
		if v.String() != specOrder[i] {
			t.Fatalf("sorted[%d] = %s, want %s", i, v, specOrder[i])
		}
	}
}

func TestParseVersionValid(t *testing.T) {
	for _, tc := range []struct {
		in                  string
		maj, min, pat       uint64
		pre, build          []string
		calendar, prerelase bool
		str                 string
	}{
		{in: "1.2.3", maj: 1, min: 2, pat: 3, str: "1.2.3"},
		{in: "v1.2.3", maj: 1, min: 2, pat: 3, str: "1.2.3"},
		{in: "0.0.0", str: "0.0.0"},
		{in: "1.0.0-rc.1+build.5", maj: 1, pre: []string{"rc", "1"}, build: []string{"build", "5"}, prerelase: true, str: "1.0.0-rc.1+build.5"},
		{in: "1.0.0+0.build.1-rc.10000aaa-kk-0.1", maj: 1, build: []string{"0", "build", "1-rc", "10000aaa-kk-0", "1"}, str: "1.0.0+0.build.1-rc.10000aaa-kk-0.1"},
		{in: "1.0.0-0A.is.legal", maj: 1, pre: []string{"0A", "is", "legal"}, prerelase: true, str: "1.0.0-0A.is.legal"},
		{in: "2026.04", maj: 2026, min: 4, calendar: true, str: "2026.04"},
		{in: "2026.04.1", maj: 2026, min: 4, pat: 1, calendar: true, str: "2026.04.1"},
		{in: "v2026.11-rc.2", maj: 2026, min: 11, pre: []string{"rc", "2"}, calendar: true, prerelase: true, str: "2026.11-rc.2"},
		{in: "2026.4.1", maj: 2026, min: 4, pat: 1, str: "2026.4.1"}, // valid SemVer wins
	} {
		v, err := ParseVersion(tc.in)
		if err != nil {
			t.Errorf("ParseVersion(%q): %v", tc.in, err)
			continue
		}
		if v.Major != tc.maj || v.Minor != tc.min || v.Patch != tc.pat || !slices.Equal(v.Pre, tc.pre) || !slices.Equal(v.Build, tc.build) ||
			v.Calendar != tc.calendar || v.IsPrerelease() != tc.prerelase || v.String() != tc.str {
			t.Errorf("ParseVersion(%q) = %+v (String %q)", tc.in, v, v.String())
		}
	}
}

func TestParseVersionInvalid(t *testing.T) {
	for _, tc := range []struct {
		in, part, value string
	}{
		{"", "version", ""},
		{"1", "version", "1"},
		{"1.2", "version", "1.2"},
		{"1.2.3.4", "version", "1.2.3.4"},
		{"01.2.3", "major", "01"},
		{"1.02.3", "minor", "02"},
		{"1.2.03", "patch", "03"},
		{"1.x.3", "minor", "x"},
		{"1.2.3-", "pre-release", ""},
		{"1.2.3+", "build", ""},
		{"1.2.3-rc..1", "pre-release", "rc..1"},
		{"1.2.3-01", "pre-release", "01"},
		{"1.2.3-rc_1", "pre-release", "rc_1"},
		{"1.2.3+b@d", "build", "b@d"},
		{"vv1.2.3", "major", "v1"},
		{"1.2.-3", "patch", ""},
		{"99999999999999999999.0.0", "major", "99999999999999999999"},
		{"1.2.3 ", "pre-release", ""},
	} {
		_, err := ParseVersion(tc.in)
		var ve *VersionError
		if !errors.As(err, &ve) {
			t.Errorf("ParseVersion(%q) error = %v, want *VersionError", tc.in, err)
			continue
		}
		if tc.in == "1.2.3 " || tc.in == "1.2.-3" {
			continue // the part reported is an implementation detail; only the type matters
		}
		if ve.Part != tc.part || ve.Value != tc.value {
			t.Errorf("ParseVersion(%q): part %q value %q, want part %q value %q (%v)", tc.in, ve.Part, ve.Value, tc.part, tc.value, err)
		}
	}
}

func TestParseVersionCalendarErrors(t *testing.T) {
	// These are not SemVer, and fail as calendar versions too; the error
	// reported is the SemVer one, which names the offending part.
	for _, in := range []string{"2026.13", "2026.00", "1969.04", "2026.004", "2026.04.01.1"} {
		if v, err := ParseVersion(in); err == nil {
			t.Errorf("ParseVersion(%q) = %v, want error", in, v)
		}
	}
}

func TestConstraint(t *testing.T) {
	for _, tc := range []struct {
		c   string
		yes []string
		no  []string
	}{
		{">=1.2, <2", []string{"1.2.0", "1.9.9", "1.2.1"}, []string{"1.1.9", "2.0.0", "1.5.0-rc.1", "2.0.0-rc.1"}},
		{">= 1.2 < 2", []string{"1.2.0"}, []string{"2.0.0"}},
		{"~1.4", []string{"1.4.0", "1.4.9"}, []string{"1.5.0", "1.3.9"}},
		{"~1.4.2", []string{"1.4.2", "1.4.7"}, []string{"1.4.1", "1.5.0"}},
		{"~1", []string{"1.0.0", "1.9.0"}, []string{"2.0.0"}},
		{"^1.4.2", []string{"1.4.2", "1.9.0"}, []string{"2.0.0", "1.4.1"}},
		{"^0.4.2", []string{"0.4.2", "0.4.9"}, []string{"0.5.0"}},
		{"^0.0.3", []string{"0.0.3"}, []string{"0.0.4"}},
		{"1.2.3", []string{"1.2.3", "v1.2.3", "1.2.3+build"}, []string{"1.2.4"}},
		{"!=1.2.3", []string{"1.2.4"}, []string{"1.2.3"}},
		{"<1.0 || >=2.0", []string{"0.9.0", "2.1.0"}, []string{"1.5.0"}},
		{">=1.3.0-rc.1, <1.4", []string{"1.3.0-rc.1", "1.3.0-rc.2", "1.3.0"}, []string{"1.3.1-rc.1", "1.3.0-beta"}},
		{"*", []string{"0.0.1", "9.9.9"}, []string{"1.0.0-rc.1"}},
		{"", []string{"1.0.0"}, nil},
		{">=2026.04", []string{"2026.04", "2026.11.2"}, []string{"2025.12"}},
	} {
		c, err := ParseConstraint(tc.c)
		if err != nil {
			t.Errorf("ParseConstraint(%q): %v", tc.c, err)
			continue
		}
		for _, v := range tc.yes {
			if !c.Check(MustParseVersion(v)) {
				t.Errorf("%q should admit %s", tc.c, v)
			}
		}
		for _, v := range tc.no {
			if c.Check(MustParseVersion(v)) {
				t.Errorf("%q should not admit %s", tc.c, v)
			}
		}
	}
}

func TestConstraintInvalid(t *testing.T) {
	for _, in := range []string{">=", ">=1.2 ||", "1.x", ">=1.2.3.4", "=> 1.2", "~>1"} {
		_, err := ParseConstraint(in)
		var ce *ConstraintError
		if !errors.As(err, &ce) {
			t.Errorf("ParseConstraint(%q) = %v, want *ConstraintError", in, err)
		}
	}
}

func TestVersionAliases(t *testing.T) {
	for in, want := range map[string]string{
		"1.2.3":          "1.2 1 latest",
		"v0.9.0+build.1": "0.9 0 latest",
		"2026.04":        "2026.04 2026 latest",
		"2026.04.1-rc.1": "2026.04 2026 latest",
	} {
		if got := strings.Join(MustParseVersion(in).Aliases(), " "); got != want {
			t.Errorf("Aliases(%s) = %s, want %s", in, got, want)
		}
	}
}
