package manifest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/internal/testenv"
)

const (
	h1 = "9b1f1c3b2a0d4e5f60718293a4b5c6d7e8f9001122334455667788990aabbccd"
	h2 = "0000000000000000000000000000000000000000000000000000000000000001"
)

func TestParseChecksumsForms(t *testing.T) {
	in := "" +
		h1 + "  hello-1.0.0-linux-amd64.tar.gz\n" +
		strings.ToUpper(h2) + " *hello-1.0.0-windows-amd64.zip\r\n" +
		"\n" +
		"SHA256 (notes.md) = " + h1 + "\n" +
		"\\SHA256 (back\\\\slash\\nx) = " + h2 + "\n" +
		"\\" + h2 + "  we\\\\ird\\nname\n" +
		h1 + "  with  two spaces\n"
	c, err := ParseChecksums(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []ChecksumEntry{
		{Name: "back\\slash\nx", SHA256: h2},
		{Name: "hello-1.0.0-linux-amd64.tar.gz", SHA256: h1},
		{Name: "hello-1.0.0-windows-amd64.zip", SHA256: h2, Binary: true},
		{Name: "notes.md", SHA256: h1},
		{Name: "we\\ird\nname", SHA256: h2},
		{Name: "with  two spaces", SHA256: h1},
	}
	got := c.Entries()
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if e, ok := c.Lookup("notes.md"); !ok || e.SHA256 != h1 {
		t.Errorf("Lookup(notes.md) = %+v, %v", e, ok)
	}
	if _, ok := c.Lookup("missing"); ok {
		t.Error("Lookup(missing) found something")
	}
	// Round trip: write, parse, same entries.
	c2, err := ParseChecksums(bytes.NewReader(c.Marshal()))
	if err != nil {
		t.Fatal(err)
	}
	if !equalEntries(c.Entries(), c2.Entries()) {
		t.Errorf("round trip changed entries:\n%q", c.Marshal())
	}
}

func equalEntries(a, b []ChecksumEntry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestParseChecksumsErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		line     int
	}{
		{"short line", "abc  file\n", 1},
		{"bad hex", strings.Repeat("g", 64) + "  file\n", 1},
		{"one space", h1 + " file\n", 1},
		{"duplicate", h1 + "  a\n" + h2 + "  b\n" + h1 + "  a\n", 3},
		{"duplicate across forms", h1 + "  a\nSHA256 (a) = " + h1 + "\n", 2},
		{"empty name", h1 + "  \n", 1},
		{"bsd bad", "SHA256 (a) " + h1 + "\n", 1},
		{"bsd short digest", "SHA256 (a) = abcd\n", 1},
		{"bad escape", "\\" + h1 + "  a\\tb\n", 1},
		{"lone backslash", "\\" + h1 + "  a\\\n", 1},
		{"bsd bad escape", "\\SHA256 (a\\tb) = " + h1 + "\n", 1},
		{"bsd unescaped name after backslash", "\\SHA256 (a\\) = " + h1 + "\n", 1},
		{"second line bad", h1 + "  ok\nnonsense\n", 2},
	} {
		_, err := ParseChecksums(strings.NewReader(tc.in))
		var ce *ChecksumsError
		if !errors.As(err, &ce) {
			t.Errorf("%s: err = %v, want *ChecksumsError", tc.name, err)
			continue
		}
		if ce.Line != tc.line {
			t.Errorf("%s: line %d, want %d (%v)", tc.name, ce.Line, tc.line, err)
		}
	}
	big := strings.Repeat(h1+"  x\n", MaxChecksumsSize/67+2)
	if _, err := ParseChecksums(strings.NewReader(big)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized input: err = %v", err)
	}
}

func TestChecksumsAdd(t *testing.T) {
	var c Checksums
	for _, n := range []string{"b", "a", "c"} {
		if err := c.Add(n, h1); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Add("a", strings.ToUpper(h1)); err != nil {
		t.Errorf("re-adding the same digest: %v", err)
	}
	if err := c.Add("a", h2); err == nil {
		t.Error("adding a different digest for a name succeeded")
	}
	if err := c.Add("d", "xyz"); err == nil {
		t.Error("adding a bad digest succeeded")
	}
	if err := c.Add("", h1); err == nil {
		t.Error("adding an empty name succeeded")
	}
	want := h1 + "  a\n" + h1 + "  b\n" + h1 + "  c\n"
	if got := string(c.Marshal()); got != want {
		t.Errorf("Marshal = %q, want %q", got, want)
	}
}

// TestChecksumsSha256sumInterop checks that the real sha256sum accepts a
// file this package wrote, including escaped names, and that this package
// reads what sha256sum wrote.
func TestChecksumsSha256sumInterop(t *testing.T) {
	tool := testenv.Tool(t, "sha256sum")
	dir := t.TempDir()
	files := map[string]string{
		"hello-1.0.0-linux-amd64.tar.gz": "archive bytes",
		"SBOM.json":                      "{}",
		"back\\slash":                    "odd name",
		"new\nline":                      "odder name",
		"space name.txt":                 "spaces",
	}
	var c Checksums
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(body))
		if err := c.Add(name, hex.EncodeToString(sum[:])); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, ChecksumsFile), c.Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tool, "-c", "--strict", ChecksumsFile)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c rejected our file: %v\n%s\nfile:\n%s", err, out, c.Marshal())
	}

	// A tampered file must make sha256sum fail: the check can fail.
	if err := os.WriteFile(filepath.Join(dir, "SBOM.json"), []byte("{ }"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(tool, "-c", "--strict", ChecksumsFile)
	cmd.Dir = dir
	if err := cmd.Run(); err == nil {
		t.Fatal("sha256sum -c accepted a tampered file")
	}

	// And we read what sha256sum writes, in text and binary mode and in
	// the BSD form (--tag), where names with a backslash or a newline come
	// escaped, as in \SHA256 (back\\slash) = <hex>.
	for _, mode := range []string{"--text", "--binary", "--tag"} {
		args := []string{mode}
		for name := range files {
			args = append(args, name)
		}
		cmd = exec.Command(tool, args...)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := ParseChecksums(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("parsing sha256sum %s output: %v\n%s", mode, err, out)
		}
		if parsed.Len() != len(files) {
			t.Fatalf("parsed %d entries from sha256sum %s, want %d", parsed.Len(), mode, len(files))
		}
		for name, body := range files {
			sum := sha256.Sum256([]byte(body))
			if name == "SBOM.json" {
				sum = sha256.Sum256([]byte("{ }"))
			}
			e, ok := parsed.Lookup(name)
			if !ok || e.SHA256 != hex.EncodeToString(sum[:]) || e.Binary != (mode == "--binary") {
				t.Errorf("sha256sum %s: entry for %q = %+v, %v", mode, name, e, ok)
			}
		}
	}
}
