package release

import (
	"strings"
	"testing"
	"unicode"
)

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
