package manifest

import (
	"fmt"
	"strings"
)

// Constraint is a parsed version range such as ">=1.2, <2" or "~1.4 || ^2.0.1".
//
// Syntax: alternatives separated by "||"; each alternative is a list of
// comparisons separated by commas or spaces, all of which must hold. A
// comparison is an operator (=, !=, >, >=, <, <=, ~, ^; none means =)
// followed by a version, where a missing minor or patch reads as 0 ("1.2"
// is 1.2.0). "~1.4.2" means >=1.4.2, <1.5.0; "^1.4.2" means >=1.4.2, <2.0.0
// (and "^0.4.2" means >=0.4.2, <0.5.0). "*" or "" matches every version.
//
// Pre-release versions match only when the constraint names a pre-release
// of the same MAJOR.MINOR.PATCH ("1.3.0-rc.1 <= x" admits 1.3.0-rc.2 but not
// 1.4.0-rc.1), as npm and Cargo do, so that a constraint never silently
// selects a pre-release.
type Constraint struct {
	raw  string
	alts [][]comparison
}

type comparison struct {
	op string
	v  Version
}

// ConstraintError reports a constraint string that does not parse.
type ConstraintError struct {
	Input  string
	Term   string
	Reason string
	Err    error
}

// Error implements the error interface.
func (e *ConstraintError) Error() string {
	if e.Term != "" {
		return fmt.Sprintf("invalid constraint %q: term %q: %s", e.Input, e.Term, e.Reason)
	}
	return fmt.Sprintf("invalid constraint %q: %s", e.Input, e.Reason)
}

// Unwrap returns the underlying error, for errors.Is and errors.As.
func (e *ConstraintError) Unwrap() error { return e.Err }

// ParseConstraint parses a version constraint; see [Constraint] for the
// syntax. The error is a *[ConstraintError].
func ParseConstraint(s string) (Constraint, error) {
	c := Constraint{raw: s}
	if len(s) > 1024 {
		return Constraint{}, &ConstraintError{Input: s[:32] + "...", Reason: "longer than 1024 bytes"}
	}
	trimmed := strings.TrimSpace(s)
	if trimmed == "" || trimmed == "*" {
		return c, nil
	}
	for _, alt := range strings.Split(trimmed, "||") {
		fields := strings.FieldsFunc(alt, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
		// Join an operator written apart from its version (">= 1.2").
		var terms []string
		for i := 0; i < len(fields); i++ {
			f := fields[i]
			if strings.Trim(f, "=<>!~^") == "" && i+1 < len(fields) {
				f += fields[i+1]
				i++
			}
			terms = append(terms, f)
		}
		if len(terms) == 0 {
			return Constraint{}, &ConstraintError{Input: s, Reason: "empty alternative around '||'"}
		}
		var cmps []comparison
		for _, t := range terms {
			cs, err := parseTerm(s, t)
			if err != nil {
				return Constraint{}, err
			}
			cmps = append(cmps, cs...)
		}
		c.alts = append(c.alts, cmps)
	}
	return c, nil
}

// MustParseConstraint is like [ParseConstraint] but panics on error.
func MustParseConstraint(s string) Constraint {
	c, err := ParseConstraint(s)
	if err != nil {
		panic(err)
	}
	return c
}

func parseTerm(input, t string) ([]comparison, error) {
	op := ""
	for _, o := range []string{">=", "<=", "!=", "==", ">", "<", "=", "~", "^"} {
		if strings.HasPrefix(t, o) {
			op = o
			break
		}
	}
	vs := t[len(op):]
	if op == "" || op == "==" {
		op = "="
	}
	if vs == "" {
		return nil, &ConstraintError{Input: input, Term: t, Reason: "operator without a version"}
	}
	v, nparts, err := parsePartial(vs)
	if err != nil {
		return nil, &ConstraintError{Input: input, Term: t, Reason: err.Error(), Err: err}
	}
	switch op {
	case "~":
		up := Version{Major: v.Major, Minor: v.Minor + 1, canon: "~"}
		if nparts == 1 {
			up = Version{Major: v.Major + 1, canon: "~"}
		}
		return []comparison{{">=", v}, {"<", up}}, nil
	case "^":
		var up Version
		switch {
		case v.Major > 0 || nparts == 1:
			up = Version{Major: v.Major + 1}
		case v.Minor > 0 || nparts == 2:
			up = Version{Minor: v.Minor + 1}
		default:
			up = Version{Patch: v.Patch + 1}
		}
		up.canon = "^"
		return []comparison{{">=", v}, {"<", up}}, nil
	}
	return []comparison{{op, v}}, nil
}

// parsePartial parses a full or partial version ("1", "1.2", "1.2.3-rc.1")
// and reports how many numeric parts were written.
func parsePartial(s string) (Version, int, error) {
	v, err := ParseVersion(s)
	if err == nil {
		n := 3
		if v.Calendar && strings.Count(strings.SplitN(strings.SplitN(v.canon, "-", 2)[0], "+", 2)[0], ".") == 1 {
			n = 2
		}
		return v, n, nil
	}
	core := strings.TrimPrefix(s, "v")
	n := strings.Count(core, ".") + 1
	if (n == 1 || n == 2) && !strings.ContainsAny(core, "-+") {
		padded := core + strings.Repeat(".0", 3-n)
		if pv, perr := ParseVersion(padded); perr == nil {
			return pv, n, nil
		}
	}
	return Version{}, 0, err
}

// String returns the constraint as it was written.
func (c Constraint) String() string { return c.raw }

// Check reports whether v satisfies the constraint.
func (c Constraint) Check(v Version) bool {
	if len(c.alts) == 0 {
		return !v.IsPrerelease()
	}
	for _, alt := range c.alts {
		if matchAll(alt, v) {
			return true
		}
	}
	return false
}

func matchAll(cmps []comparison, v Version) bool {
	preOK := !v.IsPrerelease()
	for _, c := range cmps {
		if v.IsPrerelease() && c.v.IsPrerelease() && c.v.Major == v.Major && c.v.Minor == v.Minor && c.v.Patch == v.Patch {
			preOK = true
		}
		r := Compare(v, c.v)
		ok := false
		switch c.op {
		case "=":
			ok = r == 0
		case "!=":
			ok = r != 0
		case ">":
			ok = r > 0
		case ">=":
			ok = r >= 0
		case "<":
			ok = r < 0
		case "<=":
			ok = r <= 0
		}
		if !ok {
			return false
		}
	}
	return preOK
}
