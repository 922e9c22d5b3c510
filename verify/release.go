package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/relkit/relkit/manifest"
)

// Limits on release metadata read by VerifyRelease.
const (
	// MaxSBOMSize is the largest SBOM read.
	MaxSBOMSize = 64 << 20
	// MaxProvenanceSize is the largest provenance document read.
	MaxProvenanceSize = 16 << 20
)

// ReleaseOptions says which release VerifyRelease checks and where its
// files are.
type ReleaseOptions struct {
	// Version is the release to check. When empty, the signed manifest's
	// "latest" alias (else its newest release) is checked; a location
	// without a manifest then fails.
	Version string
	// Dir is the directory holding the version's files, relative to the
	// location: default Version (the relkit layout "<root>/<version>/").
	// Use "." for a flat layout such as GitHub release assets.
	Dir string
	// RequireManifest makes a missing manifest.json a failure instead of
	// a reported, skipped check.
	RequireManifest bool
	// SBOM and Provenance name the optional documents in Dir (defaults
	// manifest.SBOMFile and manifest.ProvenanceFile).
	SBOM, Provenance string
	// Parallelism is how many files are hashed at once (default
	// runtime.GOMAXPROCS(0)).
	Parallelism int
	// ExpiryWarning is how close to its expiry the signed manifest makes
	// the report warn (Report.Warnings): default DefaultExpiryWarning;
	// negative turns the warning off. An expired manifest fails.
	ExpiryWarning time.Duration
}

// DefaultExpiryWarning is the default of ReleaseOptions.ExpiryWarning: a
// manifest that expires within 14 days is reported, so that it is
// refreshed before clients refuse it.
const DefaultExpiryWarning = 14 * 24 * time.Hour

// CheckStatus is the outcome of one Check.
type CheckStatus string

// Check outcomes.
const (
	// Pass: the check ran and succeeded.
	Pass CheckStatus = "pass"
	// Fail: the check ran and failed, or could not run.
	Fail CheckStatus = "fail"
	// Missing: an optional file is absent; its checks were skipped.
	Missing CheckStatus = "missing"
)

// Check is one line of a Report.
type Check struct {
	// Name says what was checked ("signature SHA256SUMS",
	// "checksum hello-1.2.0-linux-amd64.tar.gz").
	Name string `json:"name"`
	// Status is pass, fail or missing.
	Status CheckStatus `json:"status"`
	// Detail explains a failure or what was compared.
	Detail string `json:"detail,omitempty"`
	// Err is the typed error of a failure (not encoded).
	Err error `json:"-"`
}

// Report lists every check VerifyRelease made, in a stable order.
type Report struct {
	// Location describes where the release was read from.
	Location string `json:"location"`
	// Project and Version identify the release checked (Project is empty
	// without a manifest).
	Project string `json:"project,omitempty"`
	Version string `json:"version"`
	// OK is true when no check failed.
	OK bool `json:"ok"`
	// Checks are the individual results.
	Checks []Check `json:"checks"`
	// Expires is the signed manifest's expiry (zero without one).
	Expires time.Time `json:"expires,omitzero"`
	// Warnings are problems that fail no check yet, such as a manifest
	// about to expire.
	Warnings []string `json:"warnings,omitempty"`
}

// Err returns nil when the report is OK, else the failed checks' errors
// joined (errors.Is/As see each).
func (r *Report) Err() error {
	var errs []error
	for _, c := range r.Checks {
		if c.Status == Fail {
			err := c.Err
			if err == nil {
				err = errors.New(c.Detail)
			}
			errs = append(errs, fmt.Errorf("%s: %w", c.Name, err))
		}
	}
	return errors.Join(errs...)
}

// JSON returns the report as indented JSON with a final newline.
func (r *Report) JSON() ([]byte, error) { return marshalIndent(r) }

// Markdown returns the report as a Markdown section with one table row per
// check.
func (r *Report) Markdown() string {
	var b strings.Builder
	title := r.Version
	if r.Project != "" {
		title = r.Project + " " + r.Version
	}
	verdict := "verified"
	if !r.OK {
		verdict = "FAILED"
	}
	fmt.Fprintf(&b, "## Release verification: %s — %s\n\n", mdEscape(title), verdict)
	fmt.Fprintf(&b, "Location: `%s`\n\n", strings.ReplaceAll(r.Location, "`", "'"))
	b.WriteString("| Check | Result | Detail |\n|---|---|---|\n")
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", mdEscape(c.Name), c.Status, mdEscape(c.Detail))
	}
	if !r.Expires.IsZero() {
		fmt.Fprintf(&b, "\nThe manifest expires at %s.\n", r.Expires.UTC().Format(time.RFC3339))
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(&b, "\n**Warning:** %s\n", mdEscape(w))
	}
	return b.String()
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ", "\r", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}

func (r *Report) add(name string, err error, detail string) {
	c := Check{Name: name, Status: Pass, Detail: detail}
	if err != nil {
		c.Status, c.Err, c.Detail = Fail, err, err.Error()
	}
	r.Checks = append(r.Checks, c)
}

func (r *Report) missing(name, detail string) {
	r.Checks = append(r.Checks, Check{Name: name, Status: Missing, Detail: detail})
}

// VerifyRelease checks a published release the way a careful user would,
// and reports every check:
//
//   - manifest.json at the location root, when present (or required):
//     signature, expiry, rollback (see VerifyManifest); it must list the
//     release;
//   - SHA256SUMS in the version directory: its signature (SHA256SUMS.sig
//     and/or signatures.json in that directory) by the trusted keys;
//   - every file SHA256SUMS lists: present, with that SHA-256 and, when the
//     manifest lists it, that size (hashed in one pass, in parallel);
//   - the manifest and SHA256SUMS agree: same files, same digests; files
//     the manifest lists outside SHA256SUMS are hashed against it;
//   - the SBOM (SPDX 2.3 JSON), when present: every package or file
//     checksum naming a release file agrees, and it names at least one;
//   - the provenance (in-toto Statement v1, or a DSSE envelope holding
//     one), when present: every subject is a release file with that digest,
//     and every archive or binary of the release is a subject. Both
//     manifest.ProvenanceFile and the signed manifest.ProvenanceDSSEFile (DSSE envelopes,
//     one per line, whose signatures must meet the verifier's threshold
//     of trusted keys) are checked when present.
//
// A missing SBOM or provenance is reported as Missing, not failed. The
// error is nil only when the report is OK; otherwise it is Report.Err (the
// report is returned either way, except for invalid arguments).
func (v *Verifier) VerifyRelease(ctx context.Context, loc Location, opts ReleaseOptions) (*Report, error) {
	if loc == nil {
		return nil, errors.New("verify: nil location")
	}
	rep := &Report{Location: describe(loc), Version: opts.Version}
	rv := &releaseRun{v: v, loc: loc, opts: opts, rep: rep}
	rv.run(ctx)
	rep.OK = true
	for _, c := range rep.Checks {
		if c.Status == Fail {
			rep.OK = false
		}
	}
	if !rep.OK {
		return rep, rep.Err()
	}
	return rep, nil
}

func describe(loc Location) string {
	switch l := loc.(type) {
	case Dir:
		return string(l)
	case fmt.Stringer:
		return l.String()
	}
	return fmt.Sprintf("%T", loc)
}

type releaseRun struct {
	v    *Verifier
	loc  Location
	opts ReleaseOptions
	rep  *Report

	man     *manifest.Manifest
	rel     *manifest.Release
	sums    *manifest.Checksums
	sumsRaw []byte
	dir     string
	// digests are the verified SHA-256 of release files by name.
	digests map[string]string
}

func (rv *releaseRun) open(ctx context.Context, name string, limit int64) ([]byte, error) {
	rc, err := rv.loc.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return readLimited(rc, name, limit)
}

// optional reads name; (nil, nil) when it does not exist.
func (rv *releaseRun) optional(ctx context.Context, name string, limit int64) ([]byte, error) {
	data, err := rv.open(ctx, name, limit)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return data, err
}

func (rv *releaseRun) run(ctx context.Context) {
	rep := rv.rep
	if !rv.manifest(ctx) {
		return
	}
	rv.dir = rv.opts.Dir
	if rv.dir == "" {
		rv.dir = rep.Version
	}
	if !rv.checksums(ctx) {
		return
	}
	rv.files(ctx)
	rv.sbom(ctx)
	rv.provenance(ctx)
}

// manifest verifies manifest.json and picks the release. It reports
// whether the run can go on.
func (rv *releaseRun) manifest(ctx context.Context) bool {
	rep := rv.rep
	data, err := rv.open(ctx, manifest.File, manifest.MaxManifestSize)
	var absent error // why manifest.json is missing
	if errors.Is(err, ErrNotFound) {
		data, absent, err = nil, err, nil
	}
	if err != nil {
		rep.add("manifest "+manifest.File, err, "")
		return false
	}
	if data == nil {
		if rv.opts.RequireManifest {
			var why error = &MissingEntryError{Name: manifest.File, In: rep.Location}
			if fe := (*ForgeError)(nil); errors.As(absent, &fe) {
				why = fe // names the repository and what to do
			}
			rep.add("manifest "+manifest.File, why, "")
			return false
		}
		rep.missing("manifest "+manifest.File, "not published; checking SHA256SUMS only")
		if rep.Version == "" {
			rep.add("release version", errors.New("no version given and no manifest to pick one"), "")
			return false
		}
		return true
	}
	sigs, err := rv.rootSigs(ctx, manifest.File, data)
	if err != nil {
		rep.add("signature "+manifest.File, err, "")
		return false
	}
	m, err := rv.v.VerifyManifest(ctx, data, sigs)
	rep.add("signature "+manifest.File, err, fmt.Sprintf("serial %d, signed, not expired, not rolled back", serialOf(m)))
	if err != nil {
		return false
	}
	rv.man, rep.Project, rep.Expires = m, m.Project, m.Expires
	if mu, ok := rv.loc.(ManifestUser); ok {
		mu.UseManifest(m)
	}
	warn := rv.opts.ExpiryWarning
	if warn == 0 {
		warn = DefaultExpiryWarning
	}
	if left := m.Expires.Sub(rv.v.now()); warn > 0 && left < warn {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s expires in %s (at %s): refresh it (re-sign with a new expiry) before clients refuse it",
			manifest.File, left.Round(time.Hour), m.Expires.UTC().Format(time.RFC3339)))
	}
	if rep.Version == "" {
		rep.Version = m.Aliases[manifest.AliasLatest]
		if rep.Version == "" && len(m.Releases) > 0 {
			rep.Version = m.Releases[0].Version
		}
	}
	rel, ok := m.Release(rep.Version)
	if !ok {
		rep.add("manifest lists release", &MissingEntryError{Name: "release " + rep.Version, In: manifest.File}, "")
		return false
	}
	rv.rel = rel
	rep.Version = rel.Version
	rep.add("manifest lists release", nil, fmt.Sprintf("%s, status %s, %d artifacts", rel.Version, rel.Status, len(rel.Artifacts)))
	rv.index(ctx, m, rel)
	return true
}

// index checks the v2 index.json, when there is one, the way a v2 client
// reads it: signed, fresh, and listing this release exactly as
// manifest.json does (from its shard when it is an older one). An index
// one serial behind the manifest is a warning (a publish stopped between
// the two; the next publish or a re-run writes it); any other difference
// fails.
func (rv *releaseRun) index(ctx context.Context, m *manifest.Manifest, rel *manifest.Release) {
	rep := rv.rep
	data, err := rv.optional(ctx, manifest.IndexFile, manifest.MaxIndexSize)
	if err != nil {
		rep.add("index "+manifest.IndexFile, err, "")
		return
	}
	if data == nil {
		rep.missing("index "+manifest.IndexFile, "not published: v2 clients read manifest.json (publish with relkit v2 to write it)")
		return
	}
	sigs, err := rv.rootSigs(ctx, manifest.IndexFile, data)
	if err != nil {
		rep.add("index "+manifest.IndexFile, err, "")
		return
	}
	// Its own state: the index may be one serial behind the manifest
	// just accepted, which is not a rollback.
	v := *rv.v
	v.state = NewMemoryState()
	ix, err := v.VerifyIndex(ctx, data, sigs)
	if err != nil {
		rep.add("index "+manifest.IndexFile, err, "")
		return
	}
	switch {
	case ix.Serial > m.Serial:
		rep.add("index "+manifest.IndexFile, fmt.Errorf("serial %d is above manifest.json's %d: the two were not published together", ix.Serial, m.Serial), "")
		return
	case ix.Serial < m.Serial:
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s has serial %d, %s %d: v2 clients do not see the newest changes yet; publish again (a re-run writes the index)", manifest.IndexFile, ix.Serial, manifest.File, m.Serial))
	}
	got, ok, err := FetchRelease(ctx, rv.loc, ix, rel.Version)
	switch {
	case err != nil:
		rep.add("index "+manifest.IndexFile, err, "")
	case !ok && ix.Serial == m.Serial:
		rep.add("index "+manifest.IndexFile, &MissingEntryError{Name: "release " + rel.Version, In: manifest.IndexFile}, "")
	case !ok:
		rep.add("index "+manifest.IndexFile, nil, fmt.Sprintf("serial %d, signed, not expired; %s not in it yet", ix.Serial, rel.Version))
	case !sameRelease(got, rel):
		rep.add("index "+manifest.IndexFile, fmt.Errorf("release %s differs from manifest.json's", rel.Version), "")
	default:
		rep.add("index "+manifest.IndexFile, nil, fmt.Sprintf("serial %d, signed, not expired; lists %s as manifest.json does", ix.Serial, rel.Version))
	}
}

// sameRelease reports whether a and b are the same release entry (an
// index can only lag: the entry of a published version never changes
// but for its status).
func sameRelease(a, b *manifest.Release) bool {
	if a.Version != b.Version || a.Commit != b.Commit || len(a.Artifacts) != len(b.Artifacts) {
		return false
	}
	for i := range a.Artifacts {
		if a.Artifacts[i] != b.Artifacts[i] {
			return false
		}
	}
	return true
}

func serialOf(m *manifest.Manifest) int64 {
	if m == nil {
		return 0
	}
	return m.Serial
}

// sigs gathers the detached signature of dir/name and the signatures.json
// of dir.
func (rv *releaseRun) sigs(ctx context.Context, name, dir string) (Signatures, error) {
	var s Signatures
	det, err := rv.optional(ctx, path.Join(dir, name)+SignatureSuffix, MaxSignatureSize)
	if err != nil {
		return s, err
	}
	s.Detached = det
	set, err := rv.optional(ctx, path.Join(dir, manifest.SignaturesFile), MaxSignaturesSize)
	if err != nil {
		return s, err
	}
	if set != nil {
		if s.Set, err = ParseSignatureSet(set); err != nil {
			return s, err
		}
	}
	return s, nil
}

// rootSigs reads the signatures of the root file name whose bytes are
// data: the content-addressed signature set (sigs/<name>.<sha256>.signatures.json)
// that a publisher writes before it replaces the file, else the
// content-addressed detached signature, else (a root published by an
// older relkit) the legacy <name>.sig and signatures.json, which can lag
// one publish behind. The normal case costs one request.
func (rv *releaseRun) rootSigs(ctx context.Context, name string, data []byte) (Signatures, error) {
	h := sha256.Sum256(data)
	sum := hex.EncodeToString(h[:])
	var s Signatures
	set, err := rv.probe(ctx, manifest.SignatureSetPath(name, sum), MaxSignaturesSize)
	if err != nil {
		return s, err
	}
	if set != nil {
		if s.Set, err = ParseSignatureSet(set); err != nil {
			return s, err
		}
		if s.Set.covers(name, sum) {
			return s, nil
		}
	}
	det, err := rv.probe(ctx, manifest.SignaturePath(name, sum), MaxSignatureSize)
	if err != nil {
		return s, err
	}
	if det != nil {
		s.Detached = det
		return s, nil
	}
	legacy, err := rv.legacyRootSigs(ctx, name)
	if s.Set != nil && legacy.Set == nil {
		legacy.Set = s.Set
	}
	return legacy, err
}

// legacyRootSigs reads the legacy root signatures of name (name.sig and
// the root signatures.json), a 403 counting as absent as for probe: a
// bucket without list permission must end in "no signature", not in a
// transport error a caller could take for a missing file.
func (rv *releaseRun) legacyRootSigs(ctx context.Context, name string) (Signatures, error) {
	var s Signatures
	det, err := rv.probe(ctx, name+SignatureSuffix, MaxSignatureSize)
	if err != nil {
		return s, err
	}
	s.Detached = det
	set, err := rv.probe(ctx, manifest.SignaturesFile, MaxSignaturesSize)
	if err != nil {
		return s, err
	}
	if set != nil {
		if s.Set, err = ParseSignatureSet(set); err != nil {
			return s, err
		}
	}
	return s, nil
}

// probe reads an optional content-addressed signature file. A 403 counts
// as absent: a public bucket without list permission answers 403 for a
// missing key, and the legacy files are read next.
func (rv *releaseRun) probe(ctx context.Context, name string, limit int64) ([]byte, error) {
	data, err := rv.optional(ctx, name, limit)
	var he *HTTPError
	if errors.As(err, &he) && he.StatusCode == 403 {
		return nil, nil
	}
	return data, err
}

// covers reports whether the set has an entry signing file with digest sum.
func (s *SignatureSet) covers(file, sum string) bool {
	for _, e := range s.Signatures {
		if e.File == file && strings.EqualFold(e.SHA256, sum) {
			return true
		}
	}
	return false
}

func (rv *releaseRun) checksums(ctx context.Context) bool {
	rep := rv.rep
	name := path.Join(rv.dir, manifest.ChecksumsFile)
	data, err := rv.open(ctx, name, manifest.MaxChecksumsSize)
	if err != nil {
		rep.add("signature "+manifest.ChecksumsFile, err, "")
		return false
	}
	sigs, err := rv.sigs(ctx, manifest.ChecksumsFile, rv.dir)
	if err == nil {
		var ids []string
		ids, err = rv.v.VerifySignatures(manifest.ChecksumsFile, data, sigs)
		rep.add("signature "+manifest.ChecksumsFile, err, "signed by "+strings.Join(shortIDs(ids), ", "))
	} else {
		rep.add("signature "+manifest.ChecksumsFile, err, "")
	}
	if err != nil {
		return false
	}
	sums, err := manifest.ParseChecksums(strings.NewReader(string(data)))
	if err != nil {
		rep.add("parse "+manifest.ChecksumsFile, err, "")
		return false
	}
	rv.sums, rv.sumsRaw = sums, data
	return true
}

func shortIDs(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = "key " + id[:16]
	}
	return out
}

// job is one file to hash.
type job struct {
	name string
	want Expected
	err  error
}

// files checks the manifest/SHA256SUMS agreement and hashes every file.
func (rv *releaseRun) files(ctx context.Context) {
	rep := rv.rep
	rv.digests = map[string]string{}
	inManifest := map[string]manifest.Artifact{}
	var jobs []*job
	if rv.rel != nil {
		for _, a := range rv.rel.Artifacts {
			inManifest[a.Name] = a
		}
	}
	for _, e := range rv.sums.Entries() {
		if e.Name != path.Base(e.Name) || !cleanRelPath(e.Name) {
			rep.add("checksum "+e.Name, &FormatError{File: manifest.ChecksumsFile, Reason: fmt.Sprintf("entry %q is not a plain file name", e.Name)}, "")
			continue
		}
		want := Expected{Name: e.Name, SHA256: e.SHA256, Size: UnknownSize}
		if rv.rel != nil {
			a, ok := inManifest[e.Name]
			switch {
			case !ok:
				rep.add("manifest agrees: "+e.Name, &MissingEntryError{Name: e.Name, In: manifest.File}, "")
			case strings.ToLower(a.SHA256) != e.SHA256:
				rep.add("manifest agrees: "+e.Name, &ArtifactMismatchError{Name: e.Name, Field: "sha256", Want: a.SHA256, Got: e.SHA256}, "")
			default:
				want.Size = a.Size
				rep.add("manifest agrees: "+e.Name, nil, "same sha256 in "+manifest.File+" and "+manifest.ChecksumsFile)
			}
		}
		jobs = append(jobs, &job{name: e.Name, want: want})
	}
	if rv.rel != nil {
		for _, a := range rv.rel.Artifacts {
			if _, ok := rv.sums.Lookup(a.Name); ok {
				continue
			}
			if a.Name == manifest.ChecksumsFile {
				sum := sha256.Sum256(rv.sumsRaw)
				var err error
				if got := hex.EncodeToString(sum[:]); got != strings.ToLower(a.SHA256) {
					err = &ChecksumMismatchError{Name: a.Name, Want: a.SHA256, Got: got}
				} else if int64(len(rv.sumsRaw)) != a.Size {
					err = &SizeMismatchError{Name: a.Name, Want: a.Size, Got: int64(len(rv.sumsRaw))}
				}
				rep.add("manifest agrees: "+a.Name, err, "the signed "+manifest.ChecksumsFile+" is the one the manifest lists")
				continue
			}
			// Listed by the manifest only (signatures, for instance):
			// hashed against the manifest's entry.
			jobs = append(jobs, &job{name: a.Name, want: ExpectArtifact(a)})
		}
	}
	rv.hashAll(ctx, jobs)
	for _, j := range jobs {
		detail := "sha256 " + strings.ToLower(j.want.SHA256)
		if j.want.Size != UnknownSize {
			detail += fmt.Sprintf(", %d bytes", j.want.Size)
		}
		rep.add("checksum "+j.name, j.err, detail)
		if j.err == nil {
			rv.digests[j.name] = strings.ToLower(j.want.SHA256)
		}
	}
}

func (rv *releaseRun) hashAll(ctx context.Context, jobs []*job) {
	n := rv.opts.Parallelism
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			rc, err := rv.loc.Open(ctx, path.Join(rv.dir, j.name))
			if err != nil {
				j.err = err
				return
			}
			defer rc.Close()
			j.err = Verify(ctx, rc, j.want)
		}()
	}
	wg.Wait()
}

// covered reports the release files that SBOM and provenance should
// describe: archives and binaries per the manifest, or without one the
// SHA256SUMS entries that look like archives.
func (rv *releaseRun) covered() []string {
	var out []string
	if rv.rel != nil {
		for _, a := range rv.rel.Artifacts {
			if a.Kind == manifest.KindArchive || a.Kind == manifest.KindBinary {
				out = append(out, a.Name)
			}
		}
		return out
	}
	for _, e := range rv.sums.Entries() {
		n := e.Name
		if strings.HasSuffix(n, ".tar.gz") || strings.HasSuffix(n, ".tgz") || strings.HasSuffix(n, ".zip") || strings.HasSuffix(n, ".tar.xz") || strings.HasSuffix(n, ".tar.zst") {
			out = append(out, n)
		}
	}
	return out
}

// releaseDigest returns the digest SHA256SUMS or the manifest gives name.
func (rv *releaseRun) releaseDigest(name string) (string, bool) {
	if e, ok := rv.sums.Lookup(name); ok {
		return e.SHA256, true
	}
	if rv.rel != nil {
		if a, ok := rv.rel.Artifact(name); ok {
			return strings.ToLower(a.SHA256), true
		}
	}
	return "", false
}

func (rv *releaseRun) sbom(ctx context.Context) {
	rep := rv.rep
	name := rv.opts.SBOM
	if name == "" {
		name = manifest.SBOMFile
	}
	data, err := rv.optional(ctx, path.Join(rv.dir, name), MaxSBOMSize)
	if err != nil {
		rep.add("sbom "+name, err, "")
		return
	}
	if data == nil {
		rep.missing("sbom "+name, "not published")
		return
	}
	entries, err := parseSPDX(name, data)
	if err != nil {
		rep.add("sbom "+name, err, "")
		return
	}
	rep.add("sbom "+name, nil, fmt.Sprintf("SPDX 2.3, %d checksummed entries", len(entries)))
	seen := map[string]bool{}
	for _, e := range entries {
		want, ok := rv.releaseDigest(e.name)
		if !ok {
			continue // a dependency, not a release file
		}
		seen[e.name] = true
		var err error
		if want != e.sha256 {
			err = &ChecksumMismatchError{Name: e.name, Want: want, Got: e.sha256}
			err = fmt.Errorf("%s says: %w", name, err)
		}
		rep.add("sbom agrees: "+e.name, err, "same sha256 in "+name)
	}
	if len(seen) == 0 && len(rv.covered()) > 0 {
		rep.add("sbom covers the release", &MissingEntryError{Name: strings.Join(rv.covered(), ", "), In: name}, "")
	}
}

func (rv *releaseRun) provenance(ctx context.Context) {
	rep := rv.rep
	names := []string{rv.opts.Provenance}
	if rv.opts.Provenance == "" {
		// The unsigned statement (relkit's first name for it) and the
		// signed DSSE envelopes; a release may publish either or both.
		names = []string{manifest.ProvenanceFile, manifest.ProvenanceDSSEFile}
	}
	found := false
	for _, name := range names {
		data, err := rv.optional(ctx, path.Join(rv.dir, name), MaxProvenanceSize)
		if err != nil {
			rep.add("provenance "+name, err, "")
			found = true
			continue
		}
		if data == nil {
			continue
		}
		found = true
		rv.checkProvenance(name, data)
	}
	if !found {
		rep.missing("provenance "+names[0], "not published")
	}
}

// checkProvenance checks one provenance file: its statements' subjects
// against the release, and the signatures of a .jsonl's DSSE envelopes.
func (rv *releaseRun) checkProvenance(name string, data []byte) {
	rep := rv.rep
	var subjects []namedDigest
	if strings.HasSuffix(name, ".jsonl") {
		envs, err := parseEnvelopes(name, data)
		if err != nil {
			rep.add("provenance "+name, err, "")
			return
		}
		for i, env := range envs {
			payload, ids, err := rv.v.verifyEnvelope(name, env)
			what := fmt.Sprintf("provenance signature %s#%d", name, i+1)
			if err != nil {
				rep.add(what, err, "")
				return
			}
			rep.add(what, nil, fmt.Sprintf("DSSE envelope signed by %d trusted key(s)", len(ids)))
			s, err := parseProvenance(name, payload)
			if err != nil {
				rep.add("provenance "+name, err, "")
				return
			}
			subjects = append(subjects, s...)
		}
	} else {
		s, err := parseProvenance(name, data)
		if err != nil {
			rep.add("provenance "+name, err, "")
			return
		}
		subjects = s
	}
	rep.add("provenance "+name, nil, fmt.Sprintf("in-toto Statement v1, %d subjects", len(subjects)))
	seen := map[string]bool{}
	for _, s := range subjects {
		if seen[s.name] {
			continue
		}
		seen[s.name] = true
		want, ok := rv.releaseDigest(s.name)
		var err error
		switch {
		case !ok:
			err = &MissingEntryError{Name: s.name, In: manifest.ChecksumsFile}
		case want != s.sha256:
			err = fmt.Errorf("%s says: %w", name, &ChecksumMismatchError{Name: s.name, Want: want, Got: s.sha256})
		}
		rep.add("provenance agrees: "+s.name, err, "subject with the release's sha256")
	}
	for _, n := range rv.covered() {
		if !seen[n] {
			rep.add("provenance covers: "+n, &MissingEntryError{Name: n, In: name}, "")
		}
	}
}

var _ io.Reader = (*Reader)(nil)
