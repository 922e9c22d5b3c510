package relkit_test

import (
	"bufio"
	"bytes"
	"fmt"
	"go/ast"
	"go/doc/comment"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
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

// exampleBody returns the lines of the function name declared in a
// _test.go file of dir, from its func keyword to its closing brace, so a
// sample may show a whole test function (publishtest's TestConformance)
// as well as statements of an Example's body.
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
			start, end := fset.Position(fn.Type.Func).Offset, fset.Position(fn.Body.Rbrace).Offset
			return strings.Split(string(src[start:end+1]), "\n"), nil
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

// docSamples maps each Go sample in a package doc (a code block of the
// package comment that parses as Go or declares with :=), keyed by the
// package's directory and the sample's first line, to the Example it is an
// excerpt of (or the test function, for a sample that shows one whole).
// Every sample names one: a sample missing from the map, or mapped to "",
// fails.
var docSamples = map[string]string{
	"install: ring, err := verify.NewKeyRing(pinnedPublicKeyPEM) // the key the release is signed with":                                                "Example_selfUpdate",
	"install: u, err := in.Check(ctx, manifest.Query{Version: \"1.3.0\"}, install.AllowDowngrade())":                                                   "ExampleAllowDowngrade",
	"publish: store, err := publish.NewDirStore(\"www/hello\") // a web server's root; or s3.New(ctx, bucket, ...), github.New(owner, repo, tag, ...)": "Example",
	"publish/gitea: tok, err := gitea.TokenFromEnv() // GITEA_TOKEN":                                                                                   "ExampleNew",
	"publish/github: tok, err := github.TokenFromEnv() // GITHUB_TOKEN, else GH_TOKEN":                                                                 "ExampleNew",
	"publish/oci: signer, err := sign.LoadSigner(keyFile, sign.EnvPassword) // cosign.key, its password from COSIGN_PASSWORD":                          "ExampleClient_Push",
	"publish/publishtest: func TestConformance(t *testing.T) {":                                                                                        "TestConformance",
	"publish/s3: store, err := s3.New(ctx, \"my-releases\", s3.WithPrefix(\"hello\"))":                                                                 "ExampleNew",
	"release: signer, err := sign.LoadSigner(keyFile, sign.EnvPassword) // cosign.key, its password from COSIGN_PASSWORD":                              "ExamplePrepare",
	"release: st, err := release.Publish(ctx, release.PublishConfig{":                                                                                  "ExamplePublish",
	"release: image := &release.ImageConfig{":                                                                                                          "ExampleImageConfig",
	"verify: v, err := verify.NewVerifier(keys, verify.WithProject(\"hello\"), verify.WithState(verify.NewFileState(statePath)))":                      "Example",
	"verify: trust := &verify.Trust{Roots: roots, Project: \"hello\", State: verify.NewFileState(statePath)}":                                          "ExampleTrust_Verifier",
	"verify/sigstore: tr, err := sigstore.LoadTrustedRoot(trustedRootJSON) // pinned or fetched out of band":                                           "ExampleLoadTrustedRoot",
}

// TestDocSamplesAreExamples does for the package docs what
// TestREADMESamplesAreExamples does for the README, through docSamples.
func TestDocSamplesAreExamples(t *testing.T) {
	seen := map[string]bool{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			// bench is another module; examples and internal are no
			// public package docs.
			if path != "." && (d.Name() == "testdata" || d.Name() == "bench" || d.Name() == "examples" || d.Name() == "internal" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.PackageClauseOnly|parser.ParseComments)
		if err != nil || f.Doc == nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		var p comment.Parser
		for _, b := range p.Parse(f.Doc.Text()).Content {
			code, ok := b.(*comment.Code)
			if !ok || !isGoSample(code.Text) {
				continue
			}
			lines := strings.Split(code.Text, "\n")
			key := dir + ": " + normalize(lines[0])
			seen[key] = true
			name, ok := docSamples[key]
			switch {
			case !ok:
				t.Errorf("%s: a Go sample in the package doc that docSamples does not list (key %q): put it in an Example and map it", path, key)
			case name == "":
				t.Errorf("%s: the sample %q names no Example in docSamples: back it by one", path, lines[0])
			default:
				body, err := exampleBody(dir, name)
				if err != nil {
					t.Errorf("%s: %v", path, err)
				} else if err := excerptOf(numbered(lines), body); err != nil {
					t.Errorf("%s: the sample %q is not an excerpt of %s.%s: %v", path, lines[0], dir, name, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range slices.Sorted(func(yield func(string) bool) {
		for k := range docSamples {
			if !yield(k) {
				return
			}
		}
	}) {
		if !seen[key] {
			t.Errorf("docSamples lists %q, which no package doc has any more", key)
		}
	}
}

// isGoSample reports whether a doc code block is Go: statements or
// declarations that parse, or a sample with elisions that declares with
// := (a layout, a table or a shell command is none). An import line alone
// is not a sample.
func isGoSample(text string) bool {
	if strings.HasPrefix(strings.TrimSpace(text), "import ") && !strings.Contains(strings.TrimSpace(text), "\n") {
		return false
	}
	if strings.Contains(text, ":=") {
		return true
	}
	if _, err := parser.ParseFile(token.NewFileSet(), "", "package p\nfunc _() {\n"+text+"\n}\n", 0); err == nil {
		return true
	}
	_, err := parser.ParseFile(token.NewFileSet(), "", "package p\n"+text, 0)
	return err == nil
}
