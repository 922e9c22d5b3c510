package relkit_test

import (
	"bufio"
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// exampleMarker names the Example function a README code block is an
// excerpt of: <!-- example: publish/s3.ExampleNew --> (the package's
// directory, a dot, the function's name).
var exampleMarker = regexp.MustCompile(`^<!-- example: ([a-z0-9/]+)\.(Example\w*) -->$`)

// TestREADMESamplesAreExamples keeps the README's Go samples compiled: each
// ```go block sits right below a marker naming an Example function, and
// every non-blank line of the block (spaces trimmed and runs of blanks
// collapsed, so gofmt's alignment does not matter) appears, in order, in
// that function's body. The Example is compiled, and run when it has an
// Output comment, by the package's own tests, so a sample that stops
// compiling or drifts from the code fails here.
func TestREADMESamplesAreExamples(t *testing.T) {
	blocks, err := readmeGoBlocks("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) == 0 {
		t.Fatal("README.md has no ```go block")
	}
	for _, b := range blocks {
		if b.dir == "" {
			t.Errorf("README.md:%d: a ```go block without an <!-- example: DIR.ExampleName --> marker right above it", b.line)
			continue
		}
		body, err := exampleBody(b.dir, b.name)
		if err != nil {
			t.Errorf("README.md:%d: %v", b.line, err)
			continue
		}
		if err := excerptOf(b.lines, body); err != nil {
			t.Errorf("README.md:%d: the block is not an excerpt of %s.%s: %v", b.line, b.dir, b.name, err)
		}
	}
}

// TestExcerptOf checks the comparison itself: a changed, dropped-in or
// reordered line is caught.
func TestExcerptOf(t *testing.T) {
	body := []string{"a, err := f(1)", "if err != nil {", "\tlog.Fatal(err)", "}", "b, err := g(a)   // why"}
	for _, tc := range []struct {
		block []string
		ok    bool
	}{
		{[]string{"a, err := f(1)", "b, err := g(a) // why"}, true},
		{[]string{"  a, err := f(1)  ", "", "b, err := g(a)\t// why"}, true},
		{[]string{"a, err := f(2)"}, false},
		{[]string{"b, err := g(a) // why", "a, err := f(1)"}, false},
		{[]string{"a, err := f(1)", "c := h()"}, false},
	} {
		err := excerptOf(numbered(tc.block), body)
		if (err == nil) != tc.ok {
			t.Errorf("excerptOf(%q): %v, want ok %v", tc.block, err, tc.ok)
		}
	}
}

type readmeLine struct {
	n    int
	text string
}

func numbered(lines []string) []readmeLine {
	var out []readmeLine
	for i, l := range lines {
		out = append(out, readmeLine{i + 1, l})
	}
	return out
}

type goBlock struct {
	line      int    // of the opening fence
	dir, name string // from the marker
	lines     []readmeLine
}

// readmeGoBlocks returns the ```go blocks of a Markdown file with the
// marker found on the nearest non-blank line above each.
func readmeGoBlocks(name string) ([]goBlock, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var (
		blocks []goBlock
		cur    *goBlock
		last   string // the last non-blank line outside a block
		fenced bool   // inside a non-go block
	)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case cur != nil && trimmed == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.lines = append(cur.lines, readmeLine{n, line})
		case fenced:
			fenced = trimmed != "```"
		case trimmed == "```go":
			cur = &goBlock{line: n}
			if m := exampleMarker.FindStringSubmatch(last); m != nil {
				cur.dir, cur.name = m[1], m[2]
			}
		case strings.HasPrefix(trimmed, "```"):
			fenced = true
		case strings.HasPrefix(trimmed, "<!-- example:") && exampleMarker.FindStringSubmatch(trimmed) == nil:
			return nil, fmt.Errorf("%s:%d: malformed marker %q, want <!-- example: DIR.ExampleName -->", name, n, trimmed)
		}
		if cur == nil && !fenced && trimmed != "" && trimmed != "```" {
			last = trimmed
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("%s:%d: unterminated ```go block", name, cur.line)
	}
	return blocks, sc.Err()
}

// exampleBody returns the lines of the body of the function name declared
// in a _test.go file of dir.
func exampleBody(dir, name string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(filepath.FromSlash(dir), "*_test.go"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no _test.go file in %s", dir)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		file, err := parser.ParseFile(fset, f, src, parser.SkipObjectResolution|parser.ParseComments)
		if err != nil {
			return nil, err
		}
		for _, d := range file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || fn.Name.Name != name || fn.Body == nil {
				continue
			}
			start, end := fset.Position(fn.Body.Lbrace).Offset, fset.Position(fn.Body.Rbrace).Offset
			return strings.Split(string(src[start+1:end]), "\n"), nil
		}
	}
	return nil, fmt.Errorf("no function %s in %s/*_test.go", name, dir)
}

// excerptOf reports the first non-blank line of block that is not in body
// after the previous one's match.
func excerptOf(block []readmeLine, body []string) error {
	i := 0
	for _, l := range block {
		want := normalize(l.text)
		if want == "" {
			continue
		}
		for i < len(body) && normalize(body[i]) != want {
			i++
		}
		if i == len(body) {
			return fmt.Errorf("line %d %q is not in its body (after the lines before it)", l.n, want)
		}
		i++
	}
	return nil
}

func normalize(s string) string { return strings.Join(strings.Fields(s), " ") }
