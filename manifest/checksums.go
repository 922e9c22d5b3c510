package manifest

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"
)

// ChecksumsFile is the conventional name of a release's checksums file.
const ChecksumsFile = "SHA256SUMS"

// MaxChecksumsSize is the largest checksums file ParseChecksums accepts
// (4 MiB: tens of thousands of entries).
const MaxChecksumsSize = 4 << 20

// ChecksumEntry is one line of a checksums file.
type ChecksumEntry struct {
	// Name is the file name as sha256sum printed it (unescaped).
	Name string
	// SHA256 is the lowercase hex digest.
	SHA256 string
	// Binary reports the GNU binary-mode marker ("hex *name"). It has no
	// effect on the digest on POSIX systems.
	Binary bool
}

// Checksums is a parsed SHA256SUMS file: a set of file names and their
// SHA-256 digests, kept sorted by name.
type Checksums struct {
	entries []ChecksumEntry
}

// ChecksumsError reports a malformed checksums file, with the 1-based line
// number of the first bad line.
type ChecksumsError struct {
	Line   int
	Reason string
}

// Error implements the error interface.
func (e *ChecksumsError) Error() string {
	if e.Line == 0 {
		return "checksums: " + e.Reason
	}
	return fmt.Sprintf("checksums: line %d: %s", e.Line, e.Reason)
}

// ParseChecksums reads a checksums file in the GNU coreutils format
// ("<hex>  <name>" text mode, "<hex> *<name>" binary mode, and a leading
// backslash for names with escaped "\\", "\n" or "\r") or the BSD format
// ("SHA256 (<name>) = <hex>", what sha256sum --tag writes, with the same
// leading backslash for escaped names), one entry per line, mixed freely.
// Blank lines are skipped. Digests may be upper or lower case and are stored in
// lower case. Duplicate names, bad hex and bad lines are errors
// (*[ChecksumsError]) naming the line.
func ParseChecksums(r io.Reader) (*Checksums, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxChecksumsSize+1))
	if err != nil {
		return nil, fmt.Errorf("checksums: read: %w", err)
	}
	if len(data) > MaxChecksumsSize {
		return nil, &ChecksumsError{Reason: fmt.Sprintf("larger than %d bytes", MaxChecksumsSize)}
	}
	c := &Checksums{}
	seen := map[string]int{}
	lineNo := 0
	for len(data) > 0 {
		lineNo++
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		e, err := parseChecksumLine(string(line))
		if err != nil {
			return nil, &ChecksumsError{Line: lineNo, Reason: err.Error()}
		}
		if prev, dup := seen[e.Name]; dup {
			return nil, &ChecksumsError{Line: lineNo, Reason: fmt.Sprintf("duplicate entry for %q (first on line %d)", e.Name, prev)}
		}
		seen[e.Name] = lineNo
		c.entries = append(c.entries, e)
	}
	c.sort()
	return c, nil
}

func parseChecksumLine(line string) (ChecksumEntry, error) {
	// A leading backslash marks an escaped name in both forms: GNU
	// sha256sum writes \<hex>  <name> and, with --tag,
	// \SHA256 (<name>) = <hex>.
	escaped := strings.HasPrefix(line, "\\")
	if escaped {
		line = line[1:]
	}
	if rest, ok := strings.CutPrefix(line, "SHA256 ("); ok {
		i := strings.LastIndex(rest, ") = ")
		if i < 0 {
			return ChecksumEntry{}, fmt.Errorf("BSD line without \") = \"")
		}
		name, sum := rest[:i], rest[i+4:]
		if err := checkHex(sum); err != nil {
			return ChecksumEntry{}, err
		}
		if escaped {
			var err error
			if name, err = unescapeName(name); err != nil {
				return ChecksumEntry{}, err
			}
		}
		if name == "" {
			return ChecksumEntry{}, fmt.Errorf("empty file name")
		}
		return ChecksumEntry{Name: name, SHA256: strings.ToLower(sum)}, nil
	}
	if len(line) < 64+2 {
		return ChecksumEntry{}, fmt.Errorf("want \"<64 hex digits>  <name>\" or \"SHA256 (<name>) = <hex>\"")
	}
	sum, sep, name := line[:64], line[64:66], line[66:]
	if err := checkHex(sum); err != nil {
		return ChecksumEntry{}, err
	}
	var e ChecksumEntry
	switch sep {
	case "  ":
	case " *":
		e.Binary = true
	default:
		return ChecksumEntry{}, fmt.Errorf("want two spaces or \" *\" after the digest, found %q", sep)
	}
	if escaped {
		var err error
		if name, err = unescapeName(name); err != nil {
			return ChecksumEntry{}, err
		}
	}
	if name == "" {
		return ChecksumEntry{}, fmt.Errorf("empty file name")
	}
	e.Name, e.SHA256 = name, strings.ToLower(sum)
	return e, nil
}

func checkHex(s string) error {
	if len(s) != 64 {
		return fmt.Errorf("digest %q is %d characters, want 64 hex digits", clip(s), len(s))
	}
	if _, err := hex.DecodeString(s); err != nil {
		return fmt.Errorf("digest %q is not hex", clip(s))
	}
	return nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

func unescapeName(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if i+1 == len(s) {
			return "", fmt.Errorf("file name ends in a lone backslash")
		}
		i++
		switch s[i] {
		case '\\':
			b.WriteByte('\\')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		default:
			return "", fmt.Errorf("unknown escape \\%c in file name", s[i])
		}
	}
	return b.String(), nil
}

func (c *Checksums) sort() {
	slices.SortFunc(c.entries, func(a, b ChecksumEntry) int { return strings.Compare(a.Name, b.Name) })
}

// Add records the digest of name, replacing nothing: adding a name twice
// with a different digest is an error, with the same digest a no-op.
func (c *Checksums) Add(name, sha256hex string) error {
	if name == "" || strings.ContainsRune(name, 0) {
		return fmt.Errorf("checksums: invalid file name %q", name)
	}
	if err := checkHex(sha256hex); err != nil {
		return fmt.Errorf("checksums: %s: %w", name, err)
	}
	sum := strings.ToLower(sha256hex)
	i, found := slices.BinarySearchFunc(c.entries, name, func(e ChecksumEntry, n string) int { return strings.Compare(e.Name, n) })
	if found {
		if c.entries[i].SHA256 != sum {
			return fmt.Errorf("checksums: %s already has digest %s, not %s", name, c.entries[i].SHA256, sum)
		}
		return nil
	}
	c.entries = slices.Insert(c.entries, i, ChecksumEntry{Name: name, SHA256: sum})
	return nil
}

// Lookup returns the entry for name.
func (c *Checksums) Lookup(name string) (ChecksumEntry, bool) {
	i, found := slices.BinarySearchFunc(c.entries, name, func(e ChecksumEntry, n string) int { return strings.Compare(e.Name, n) })
	if !found {
		return ChecksumEntry{}, false
	}
	return c.entries[i], true
}

// Entries returns the entries sorted by name.
func (c *Checksums) Entries() []ChecksumEntry { return slices.Clone(c.entries) }

// Len returns the number of entries.
func (c *Checksums) Len() int { return len(c.entries) }

// Marshal encodes the entries in the GNU text format, sorted by name, as
// "sha256sum" prints them, so that "sha256sum -c" accepts the result.
// Names containing a backslash, newline or carriage return are escaped
// the way GNU coreutils escapes them (a leading backslash on the line).
func (c *Checksums) Marshal() []byte {
	var b bytes.Buffer
	esc := strings.NewReplacer("\\", "\\\\", "\n", "\\n", "\r", "\\r")
	for _, e := range c.entries {
		name := e.Name
		if strings.ContainsAny(name, "\\\n\r") {
			b.WriteByte('\\')
			name = esc.Replace(name)
		}
		b.WriteString(e.SHA256)
		if e.Binary {
			b.WriteString(" *")
		} else {
			b.WriteString("  ")
		}
		b.WriteString(name)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// WriteTo writes the GNU text format (see [Checksums.Marshal]) to w.
func (c *Checksums) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(c.Marshal())
	return int64(n), err
}
