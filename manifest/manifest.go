package manifest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Schema is the schema identifier this package writes. Readers accept any
// "relkit.manifest/v1[.N]": minor revisions only add optional fields.
const Schema = "relkit.manifest/v1"

// MaxManifestSize is the largest manifest Load and Parse accept (16 MiB):
// the limit of every client that reads manifest.json, reached near 6,200
// releases. Clients of longer histories read the v2 index instead (see
// [Index]).
const MaxManifestSize = 16 << 20

// MaxHistorySize is the largest manifest.json [ParsePublished] accepts
// (256 MiB, near 90,000 releases): the publisher's own limit for the
// destination's full history, which it verifies by signature before it
// trusts it, and which may outgrow the clients' [MaxManifestSize].
const MaxHistorySize = 256 << 20

// Manifest is the machine-readable release index published at the root of
// a release location as manifest.json. See the package documentation for
// the wire format.
type Manifest struct {
	// Schema is the wire format identifier; Parse refuses unknown majors.
	Schema string `json:"schema"`
	// Project is the name of the released project.
	Project string `json:"project"`
	// Serial increases by one on every change. Verifiers refuse a manifest
	// whose serial is lower than one they have already accepted.
	Serial int64 `json:"serial"`
	// Updated is when the manifest was last changed (UTC).
	Updated time.Time `json:"updated,omitzero"`
	// Expires is when verifiers stop trusting this manifest (UTC); a
	// publisher re-signs before then.
	Expires time.Time `json:"expires,omitzero"`
	// Channels maps a channel name ("stable", "edge", "nightly", "lts", or
	// any custom name) to the newest active release on that channel. It is
	// derived from Releases by Add, Deprecate and Yank.
	Channels map[string]string `json:"channels,omitempty"`
	// Aliases maps rolling aliases ("latest", "1", "1.2") to the newest
	// active stable release they cover. Only stable, non-pre-release
	// releases move them. Derived from Releases.
	Aliases map[string]string `json:"aliases,omitempty"`
	// Releases lists every release ever published, newest first by version
	// precedence. Releases are deprecated or yanked, not deleted; only an
	// explicit retention policy ([Manifest.Prune], [Manifest.Remove])
	// removes one, and publishing that needs the removal named (see
	// [CheckSuccessor]).
	Releases []Release `json:"releases"`
}

// Status is the lifecycle state of a release.
type Status string

// Release statuses.
const (
	// StatusActive is a normal release.
	StatusActive Status = "active"
	// StatusDeprecated is still installable, with a warning, but no channel
	// or alias points at it.
	StatusDeprecated Status = "deprecated"
	// StatusYanked must not be installed; it stays listed so that clients
	// can explain why.
	StatusYanked Status = "yanked"
)

// Well-known channel names. Any other name matching [a-z0-9][a-z0-9._-]* is
// a valid custom channel.
const (
	ChannelStable  = "stable"
	ChannelEdge    = "edge"
	ChannelNightly = "nightly"
	ChannelLTS     = "lts"
)

// AliasLatest is the rolling alias for the newest stable release.
const AliasLatest = "latest"

// Release is one published version and its artifacts.
type Release struct {
	// Version is the release version without a leading "v" ("1.2.0").
	Version string `json:"version"`
	// Tag is the git tag the release was cut from ("v1.2.0").
	Tag string `json:"tag,omitempty"`
	// Date is when the release was cut (UTC).
	Date time.Time `json:"date,omitzero"`
	// Commit is the full git commit the release was built from.
	Commit string `json:"commit,omitempty"`
	// Channel is the channel the release was published to. Add defaults it
	// to "stable" for a release and "edge" for a pre-release.
	Channel string `json:"channel"`
	// Status is active, deprecated or yanked; Add defaults it to active.
	Status Status `json:"status"`
	// Reason says why a release was deprecated or yanked.
	Reason string `json:"reason,omitempty"`
	// Notes is the path of the release notes, relative to the root.
	Notes string `json:"notes,omitempty"`
	// Artifacts are the files of the release.
	Artifacts []Artifact `json:"artifacts"`
}

// Kind classifies an artifact.
type Kind string

// Artifact kinds.
const (
	KindArchive    Kind = "archive"
	KindBinary     Kind = "binary"
	KindChecksums  Kind = "checksums"
	KindSignature  Kind = "signature"
	KindSBOM       Kind = "sbom"
	KindProvenance Kind = "provenance"
	KindNotes      Kind = "notes"
	KindImage      Kind = "image"
	// KindPackage is a Linux package (.deb, .rpm, .apk) for the
	// platform's package manager; installers never select it. Clients
	// built before this kind existed refuse a manifest that lists one.
	KindPackage Kind = "package"
	KindOther   Kind = "other"
)

var validKinds = map[Kind]bool{
	KindArchive: true, KindBinary: true, KindChecksums: true, KindSignature: true,
	KindSBOM: true, KindProvenance: true, KindNotes: true, KindImage: true, KindPackage: true, KindOther: true,
}

// Artifact is one file of a release.
type Artifact struct {
	// Name is the file name ("hello-1.2.0-linux-amd64.tar.gz").
	Name string `json:"name"`
	// Path is the file's location relative to the release root
	// ("1.2.0/hello-1.2.0-linux-amd64.tar.gz"); never absolute, never "..".
	Path string `json:"path"`
	// Kind classifies the file.
	Kind Kind `json:"kind"`
	// OS and Arch are Go's names for the platform an archive or binary is
	// for; empty for platform-independent files.
	OS   string `json:"os,omitempty"`
	Arch string `json:"arch,omitempty"`
	// Size is the file size in bytes.
	Size int64 `json:"size"`
	// SHA256 is the lowercase hex SHA-256 of the file.
	SHA256 string `json:"sha256"`
}

// Platform returns the artifact's platform.
func (a Artifact) Platform() Platform { return Platform{OS: a.OS, Arch: a.Arch} }

// New returns an empty manifest for project.
func New(project string) *Manifest {
	return &Manifest{Schema: Schema, Project: project, Releases: []Release{}}
}

// SchemaError reports a manifest whose schema this package cannot read.
type SchemaError struct {
	Schema string
	want   string // the schema expected; "" for Schema
}

// Error implements the error interface.
func (e *SchemaError) Error() string {
	want := e.want
	if want == "" {
		want = Schema
	}
	return fmt.Sprintf("schema %q is not supported (this relkit reads %s; upgrade relkit to read newer files)", e.Schema, want)
}

// ErrTooLarge is returned (wrapped) when an input exceeds its size limit.
var ErrTooLarge = errors.New("input too large")

// Parse decodes a manifest from JSON. It refuses unknown schema majors with
// a *[SchemaError] and inputs over [MaxManifestSize]; it does not call
// Validate.
func Parse(data []byte) (*Manifest, error) {
	return parse(data, MaxManifestSize)
}

// ParsePublished is [Parse] with the publisher's limit, [MaxHistorySize]:
// for a publisher reading its destination's whole history.
func ParsePublished(data []byte) (*Manifest, error) {
	return parse(data, MaxHistorySize)
}

func parse(data []byte, limit int) (*Manifest, error) {
	if len(data) > limit {
		return nil, fmt.Errorf("manifest: %w: %d bytes, limit %d", ErrTooLarge, len(data), limit)
	}
	// One decoding pass; the schema is checked on the result. Only when
	// decoding fails is the schema probed on its own, so that a newer
	// major version is reported as such rather than as a type error.
	m := new(Manifest)
	if err := json.Unmarshal(data, m); err != nil {
		var probe struct {
			Schema *string `json:"schema"`
		}
		if perr := json.Unmarshal(data, &probe); perr == nil && probe.Schema != nil && !schemaSupported(*probe.Schema) {
			return nil, fmt.Errorf("manifest: %w", &SchemaError{Schema: *probe.Schema})
		}
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if !schemaSupported(m.Schema) {
		return nil, fmt.Errorf("manifest: %w", &SchemaError{Schema: m.Schema})
	}
	if m.Releases == nil {
		m.Releases = []Release{}
	}
	for i := range m.Releases {
		if m.Releases[i].Artifacts == nil {
			m.Releases[i].Artifacts = []Artifact{}
		}
	}
	return m, nil
}

var schemaRE = regexp.MustCompile(`^relkit\.manifest/v([0-9]+)(\.[0-9]+)?$`)

func schemaSupported(s string) bool {
	m := schemaRE.FindStringSubmatch(s)
	return m != nil && m[1] == "1"
}

// Load reads and decodes a manifest from r, reading at most
// [MaxManifestSize] bytes.
func Load(r io.Reader) (*Manifest, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("manifest: read: %w", err)
	}
	return Parse(data)
}

// LoadFile reads a manifest from a file.
func LoadFile(name string) (*Manifest, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Load(f)
}

// Marshal encodes m deterministically: the same manifest always encodes to
// the same bytes (fixed key order, sorted maps, two-space indent, UTC
// times, a final newline). Signatures cover these bytes.
func (m *Manifest) Marshal() ([]byte, error) {
	c := *m
	if c.Schema == "" {
		c.Schema = Schema
	}
	if c.Releases == nil {
		c.Releases = []Release{}
	}
	c.Updated, c.Expires = utc(c.Updated), utc(c.Expires)
	rels := make([]Release, len(c.Releases))
	for i, r := range c.Releases {
		r.Date = utc(r.Date)
		if r.Artifacts == nil {
			r.Artifacts = []Artifact{}
		}
		rels[i] = r
	}
	c.Releases = rels
	return marshalJSON(&c)
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

// Save writes the encoding of m (see [Manifest.Marshal]) to w.
func (m *Manifest) Save(w io.Writer) error {
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// Release returns the release with the given version (compared by SemVer
// precedence, so "v1.2.0" finds "1.2.0") and whether it exists.
func (m *Manifest) Release(version string) (*Release, bool) {
	v, err := ParseVersion(version)
	if err != nil {
		return nil, false
	}
	for i := range m.Releases {
		rv, err := ParseVersion(m.Releases[i].Version)
		if err == nil && Compare(rv, v) == 0 {
			return &m.Releases[i], true
		}
	}
	return nil, false
}

// Artifact returns the artifact with the given name and whether it exists.
func (r *Release) Artifact(name string) (*Artifact, bool) {
	for i := range r.Artifacts {
		if r.Artifacts[i].Name == name {
			return &r.Artifacts[i], true
		}
	}
	return nil, false
}

// ParsedVersion returns the parsed Version of r.
func (r *Release) ParsedVersion() (Version, error) { return ParseVersion(r.Version) }

// FieldError is one problem found by Validate, naming the field
// ("releases[2].artifacts[0].sha256").
type FieldError struct {
	Field   string
	Problem string
}

// Error implements the error interface.
func (e FieldError) Error() string { return e.Field + ": " + e.Problem }

// ValidationError lists every problem Validate found.
type ValidationError struct {
	Problems []FieldError
}

// Error implements the error interface.
func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "manifest is invalid (%d problem", len(e.Problems))
	if len(e.Problems) != 1 {
		b.WriteString("s")
	}
	b.WriteString(")")
	for _, p := range e.Problems {
		b.WriteString("\n\t")
		b.WriteString(p.Error())
	}
	return b.String()
}

type problems []FieldError

func (p *problems) add(field, format string, args ...any) {
	*p = append(*p, FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
}

var (
	channelRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
)

// ValidChannel reports whether name is a valid channel name.
func ValidChannel(name string) bool { return channelRE.MatchString(name) }

// Validate checks the whole manifest and returns a *[ValidationError]
// listing every problem found, or nil.
func (m *Manifest) Validate() error {
	var p problems
	if !schemaSupported(m.Schema) {
		p.add("schema", "unsupported schema %q (want %s)", m.Schema, Schema)
	}
	m.validate(&p, nil)
	if len(p) > 0 {
		return &ValidationError{Problems: p}
	}
	return nil
}

// validate checks everything but the schema. covered, when set, reports
// whether a version a channel or alias points at, absent from Releases,
// is in a shard the index names (checked when the shard is read).
func (m *Manifest) validate(p *problems, covered func(Version) bool) {
	if m.Project == "" {
		p.add("project", "empty")
	}
	if m.Serial < 0 {
		p.add("serial", "negative (%d)", m.Serial)
	}
	if !m.Expires.IsZero() && !m.Updated.IsZero() && !m.Expires.After(m.Updated) {
		p.add("expires", "%s is not after updated %s", m.Expires.UTC().Format(time.RFC3339), m.Updated.UTC().Format(time.RFC3339))
	}
	versions := make(map[string]int, len(m.Releases)) // precedence key -> index
	paths := make(map[string]string, 10*len(m.Releases))
	var prev Version
	for i, r := range m.Releases {
		// Field names are formatted only for a problem: Validate runs
		// on every client's update check, over the whole history.
		f := func() string { return "releases[" + strconv.Itoa(i) + "]" }
		v, err := ParseVersion(r.Version)
		switch {
		case err != nil:
			p.add(f()+".version", "%v", err)
		case v.String() != r.Version:
			p.add(f()+".version", "%q must be written without a leading 'v'", r.Version)
		default:
			key := precedenceKey(v)
			if j, dup := versions[key]; dup {
				p.add(f()+".version", "%q duplicates releases[%d]", r.Version, j)
			}
			versions[key] = i
			if !prev.IsZero() && Compare(prev, v) <= 0 {
				p.add(f()+".version", "releases are not sorted newest first (%s after %s)", r.Version, prev)
			}
			prev = v
			if v.IsPrerelease() && isStableChannel(r.Channel) {
				p.add(f()+".channel", "pre-release %s cannot be on channel %q", r.Version, r.Channel)
			}
		}
		if r.Tag != "" {
			if _, err := ParseTag(r.Tag); err != nil {
				p.add(f()+".tag", "%v", err)
			}
		}
		if r.Commit != "" && !isCommit(r.Commit) {
			p.add(f()+".commit", "%q is not a lowercase hex commit id", r.Commit)
		}
		if r.Date.IsZero() {
			p.add(f()+".date", "missing")
		}
		if !ValidChannel(r.Channel) {
			p.add(f()+".channel", "invalid channel name %q", r.Channel)
		}
		switch r.Status {
		case StatusActive:
		case StatusDeprecated, StatusYanked:
			if strings.TrimSpace(r.Reason) == "" {
				p.add(f()+".reason", "a %s release needs a reason", r.Status)
			}
		default:
			p.add(f()+".status", "%q is not active, deprecated or yanked", r.Status)
		}
		if r.Notes != "" {
			if why := badRelPath(r.Notes); why != "" {
				p.add(f()+".notes", "%s", why)
			}
		}
		for j, a := range r.Artifacts {
			af := func() string { return f() + ".artifacts[" + strconv.Itoa(j) + "]" }
			validateArtifact(p, af, a)
			for k := range j { // a release has a handful of artifacts
				if r.Artifacts[k].Name == a.Name {
					p.add(af()+".name", "duplicate name %q in release %s", a.Name, r.Version)
					break
				}
			}
			if a.Path != "" {
				if other, dup := paths[a.Path]; dup {
					p.add(af()+".path", "%q is also used by release %s", a.Path, other)
				}
				paths[a.Path] = r.Version
			}
		}
	}
	pointer := func(field, version string) *Release {
		v, err := ParseVersion(version)
		i, ok := versions[precedenceKey(v)]
		if err == nil && !ok && covered != nil && covered(v) {
			return nil // in a shard
		}
		if err != nil || !ok {
			p.add(field, "points at %q, which is not a release", version)
			return nil
		}
		r := &m.Releases[i]
		if r.Status == StatusYanked {
			p.add(field, "points at yanked release %s", version)
		}
		return r
	}
	for _, name := range sortedKeys(m.Channels) {
		f := "channels." + name
		if !ValidChannel(name) {
			p.add(f, "invalid channel name")
		}
		pointer(f, m.Channels[name])
	}
	for _, name := range sortedKeys(m.Aliases) {
		f := "aliases." + name
		if !validAlias(name) {
			p.add(f, "invalid alias name (want latest, X or X.Y)")
		}
		if r := pointer(f, m.Aliases[name]); r != nil {
			if v, err := ParseVersion(r.Version); err == nil && v.IsPrerelease() {
				p.add(f, "points at pre-release %s", r.Version)
			}
		}
	}
}

func validAlias(name string) bool {
	if name == AliasLatest {
		return true
	}
	parts := strings.Split(name, ".")
	if len(parts) > 2 {
		return false
	}
	for _, s := range parts {
		if !isDigits(s) {
			return false
		}
	}
	return true
}

func validateArtifact(p *problems, field func() string, a Artifact) {
	var f string
	if !artifactOK(a) {
		f = field()
	} else {
		return
	}
	switch {
	case a.Name == "":
		p.add(f+".name", "empty")
	case strings.ContainsAny(a.Name, "/\\\x00\n\r") || a.Name == "." || a.Name == "..":
		p.add(f+".name", "%q must be a plain file name", a.Name)
	}
	if a.Kind != KindImage {
		if a.Path == "" {
			p.add(f+".path", "empty")
		} else if why := badRelPath(a.Path); why != "" {
			p.add(f+".path", "%s", why)
		} else if path.Base(a.Path) != a.Name {
			p.add(f+".path", "%q does not end in the artifact name %q", a.Path, a.Name)
		}
	}
	if !validKind(a.Kind) {
		p.add(f+".kind", "%q is not a kind (a lowercase word)", a.Kind)
	}
	if a.Size < 0 {
		p.add(f+".size", "negative (%d)", a.Size)
	}
	if !isLowerHex(a.SHA256, 64) {
		p.add(f+".sha256", "%q is not 64 lowercase hex digits", a.SHA256)
	}
	if a.OS != "" {
		if o, err := NormalizeOS(a.OS); err != nil || o != a.OS {
			p.add(f+".os", "%q is not a canonical GOOS name", a.OS)
		}
	}
	if a.Arch != "" {
		if ar, err := NormalizeArch(a.Arch); err != nil || ar != a.Arch {
			p.add(f+".arch", "%q is not a canonical GOARCH name", a.Arch)
		}
	}
	if (a.Kind == KindArchive || a.Kind == KindBinary) && (a.OS == "") != (a.Arch == "") {
		p.add(f, "os and arch must both be set or both be empty")
	}
}

// validKind reports whether k is a known kind or a well-formed one this
// version does not know: readers accept artifacts of kinds added later
// (a release that ships a new format must not stop older clients from
// reading the manifest) and ignore them when they select what to install.
func validKind(k Kind) bool {
	if validKinds[k] {
		return true
	}
	if len(k) == 0 || len(k) > 32 || k[0] < 'a' || k[0] > 'z' {
		return false
	}
	for i := 1; i < len(k); i++ {
		if c := k[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// artifactOK is the fast path of validateArtifact: true when no check
// can fail.
func artifactOK(a Artifact) bool {
	if a.Name == "" || a.Name == "." || a.Name == ".." || strings.ContainsAny(a.Name, "/\\\x00\n\r") {
		return false
	}
	if a.Kind != KindImage && (a.Path == "" || badRelPath(a.Path) != "" || path.Base(a.Path) != a.Name) {
		return false
	}
	if !validKind(a.Kind) || a.Size < 0 || !isLowerHex(a.SHA256, 64) {
		return false
	}
	if a.OS != "" {
		if o, err := NormalizeOS(a.OS); err != nil || o != a.OS {
			return false
		}
	}
	if a.Arch != "" {
		if ar, err := NormalizeArch(a.Arch); err != nil || ar != a.Arch {
			return false
		}
	}
	return !((a.Kind == KindArchive || a.Kind == KindBinary) && (a.OS == "") != (a.Arch == ""))
}

// isLowerHex reports whether s is n lowercase hex digits.
func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// isCommit reports whether s is a lowercase hex commit ID of 7 to 64
// digits.
func isCommit(s string) bool { return len(s) >= 7 && len(s) <= 64 && isLowerHex(s, len(s)) }

// badRelPath explains why p is not a clean relative slash path, or
// returns "".
func badRelPath(p string) string {
	switch {
	case strings.HasPrefix(p, "/") || strings.Contains(p, "\\") || (len(p) > 1 && p[1] == ':'):
		return fmt.Sprintf("%q must be a relative slash-separated path", p)
	case strings.ContainsAny(p, "\x00\n\r"):
		return fmt.Sprintf("%q contains a control character", p)
	case path.Clean(p) != p:
		return fmt.Sprintf("%q is not clean (want %q)", p, path.Clean(p))
	case p == ".." || strings.HasPrefix(p, "../"):
		return fmt.Sprintf("%q leaves the release root", p)
	}
	return ""
}

// precedenceKey identifies a version up to precedence (build metadata
// stripped).
func precedenceKey(v Version) string {
	k := strconv.FormatUint(v.Major, 10) + "." + strconv.FormatUint(v.Minor, 10) + "." + strconv.FormatUint(v.Patch, 10)
	if len(v.Pre) > 0 {
		k += "-" + strings.Join(v.Pre, ".")
	}
	return k
}
