package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/relkit/relkit/internal/ctxio"
	"github.com/relkit/relkit/manifest"
)

// Action is what a publish does with one staged file.
type Action int

// Actions, as decided by the [Plan].
const (
	// ActionUpload: nothing is published under the name yet.
	ActionUpload Action = iota + 1
	// ActionSkip: the same bytes (same SHA-256 and size) are already
	// published.
	ActionSkip
	// ActionReplace: a root file ([IsMutable]: manifest.json and its
	// companions) with other bytes is published; it is replaced.
	ActionReplace
	// ActionRefuse: different bytes are published under the name; the
	// publish is refused with a [*ConflictError].
	ActionRefuse
)

var actionNames = [...]string{"", "upload", "skip", "replace", "refuse"}

// String returns the action's lowercase name.
func (a Action) String() string {
	if a > 0 && int(a) < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// Step is one staged file in a [Plan].
type Step struct {
	// Name is the slash-separated name relative to the release root.
	Name string
	// Stage is the file's place in the upload order.
	Stage Stage
	// Action is what the publish does.
	Action Action
	// Local is the staged file (name, size, SHA-256).
	Local Object
	// Remote is what the destination holds under Name; nil when nothing.
	Remote *Object
	// ContentType is the MIME type the file is stored with.
	ContentType string

	path string // local file
	rank int    // order within the stage (see rank)
}

// Plan is what a publish would do: one [Step] per staged file, sorted in
// upload order (by stage, then by name, except that in StageIndex the
// signature files come before the others). It is computed from the staged
// directory and what the destination already holds.
type Plan struct {
	// Dir is the staged release directory.
	Dir string
	// Steps lists every staged file in upload order.
	Steps []Step

	hasManifest bool
	merge       MergeFunc // nil: the staged manifest as it is
}

// Conflicts returns the refused steps as conflicts.
func (p *Plan) Conflicts() []Conflict {
	var cs []Conflict
	for _, s := range p.Steps {
		if s.Action == ActionRefuse {
			cs = append(cs, Conflict{Name: s.Name, Local: s.Local, Remote: *s.Remote})
		}
	}
	return cs
}

// Err returns a [*ConflictError] listing every refused file, or nil when
// the plan can be carried out.
func (p *Plan) Err() error {
	if cs := p.Conflicts(); len(cs) > 0 {
		return &ConflictError{Conflicts: cs}
	}
	return nil
}

// UploadBytes returns the number of bytes the plan uploads (uploads and
// replacements).
func (p *Plan) UploadBytes() int64 {
	var n int64
	for _, s := range p.Steps {
		if s.Action == ActionUpload || s.Action == ActionReplace {
			n += s.Local.Size
		}
	}
	return n
}

// Count returns how many steps have action a.
func (p *Plan) Count(a Action) int {
	n := 0
	for _, s := range p.Steps {
		if s.Action == a {
			n++
		}
	}
	return n
}

// WriteTo writes the plan as text, one line per file in upload order
// ("action  stage  name  size  sha256-prefix"), then a summary line. It is
// what [Publisher.DryRun] prints.
func (p *Plan) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	for _, s := range p.Steps {
		fmt.Fprintf(&b, "%-8s %-9s %s (%d bytes, sha256 %s)", s.Action, s.Stage, s.Name, s.Local.Size, short(s.Local.SHA256))
		if s.Action == ActionRefuse || s.Action == ActionReplace {
			fmt.Fprintf(&b, " published: %d bytes, sha256 %s", s.Remote.Size, short(s.Remote.SHA256))
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "plan: %d to upload (%d bytes), %d to replace, %d to skip, %d refused\n",
		p.Count(ActionUpload), p.UploadBytes(), p.Count(ActionReplace), p.Count(ActionSkip), p.Count(ActionRefuse))
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// StagedFileError reports a staged directory that cannot be published: a
// file that is not a regular file, a bad name, a staged file that does not
// match the staged manifest, a missing manifest.
type StagedFileError struct {
	// Dir is the staged directory; Name the file ("" for the directory).
	Dir, Name string
	// Err is the cause.
	Err error
}

// Error implements error.
func (e *StagedFileError) Error() string {
	if e.Name == "" {
		return fmt.Sprintf("publish: staged directory %s: %v", e.Dir, e.Err)
	}
	return fmt.Sprintf("publish: staged file %s in %s: %v", e.Name, e.Dir, e.Err)
}

// Unwrap returns the cause.
func (e *StagedFileError) Unwrap() error { return e.Err }

// MissingError reports files the staged manifest lists for a staged
// version that are neither staged nor already published: publishing the
// manifest would point clients at files nobody can download.
type MissingError struct {
	// Names lists the missing files, sorted.
	Names []string
}

// Error implements error.
func (e *MissingError) Error() string {
	return fmt.Sprintf("publish: the manifest lists %d file(s) that are neither staged nor published: %s",
		len(e.Names), strings.Join(e.Names, ", "))
}

// Unwrap returns ErrNotExist.
func (e *MissingError) Unwrap() error { return ErrNotExist }

// MaxFiles is the largest number of files a staged directory may hold.
const MaxFiles = 100000

// scan lists the staged files (regular files only; names checked).
func scan(dir string) ([]Step, error) {
	var steps []Step
	root := os.DirFS(dir)
	err := fs.WalkDir(root, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return &StagedFileError{Dir: dir, Name: name, Err: err}
		}
		if d.IsDir() {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".relkit-tmp-") {
			return nil // a leftover of an interrupted atomic write
		}
		fi, err := fs.Stat(root, name) // follows symlinks
		if err != nil {
			return &StagedFileError{Dir: dir, Name: name, Err: err}
		}
		if !fi.Mode().IsRegular() {
			return &StagedFileError{Dir: dir, Name: name, Err: fmt.Errorf("not a regular file (%s)", fi.Mode().Type())}
		}
		if err := CheckName(name); err != nil {
			return &StagedFileError{Dir: dir, Name: name, Err: err}
		}
		if len(steps) >= MaxFiles {
			return &StagedFileError{Dir: dir, Err: fmt.Errorf("more than %d files", MaxFiles)}
		}
		steps = append(steps, Step{
			Name:        name,
			Local:       Object{Name: name, Size: fi.Size()},
			ContentType: contentType(name),
			path:        filepath.Join(dir, filepath.FromSlash(name)),
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return steps, nil
}

// CheckName reports whether name is a valid object name: a clean,
// relative, slash-separated path without "." or ".." elements, empty
// elements, backslashes or control characters.
func CheckName(name string) error {
	if name == "" || !fs.ValidPath(name) || name == "." {
		return fmt.Errorf("invalid name %q", name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return fmt.Errorf("invalid character %q in name %q", r, name)
		}
	}
	return nil
}

// rank orders files within a stage: in StageIndex, signatures first.
func rank(name string, st Stage) int {
	if st != StageIndex {
		return 0
	}
	lower := strings.ToLower(name)
	if name == "signatures.json" || hasAnySuffix(lower, ".sig", ".asc", ".pem", ".bundle", ".sigstore.json") {
		return 0
	}
	return 1
}

// classify returns the stage of a staged file. kinds maps manifest paths to
// their artifact kind.
func classify(name string, kinds map[string]manifest.Kind) Stage {
	if name == manifest.File {
		return StageManifest
	}
	if IsMutable(name) {
		return StageIndex
	}
	switch kinds[name] {
	case manifest.KindArchive, manifest.KindBinary, manifest.KindImage, manifest.KindPackage:
		return StageArtifact
	case manifest.KindChecksums:
		return StageChecksums
	case manifest.KindSignature:
		return StageSignature
	case manifest.KindSBOM, manifest.KindProvenance, manifest.KindNotes, manifest.KindOther:
		return StageMetadata
	}
	base := path.Base(name)
	lower := strings.ToLower(base)
	switch {
	case base == manifest.ChecksumsFile || strings.HasSuffix(lower, ".sha256sums") || lower == "checksums.txt":
		return StageChecksums
	case strings.HasPrefix(base, manifest.ChecksumsFile+"."),
		hasAnySuffix(lower, ".sig", ".asc", ".pem", ".crt", ".bundle", ".sigstore.json", ".sigstore"):
		return StageSignature
	case hasAnySuffix(lower, ".spdx.json", ".spdx", ".cdx.json", ".intoto.json", ".intoto.jsonl", ".md", ".txt"),
		strings.HasPrefix(lower, "sbom"), strings.HasPrefix(lower, "provenance"),
		strings.HasPrefix(lower, "release-notes"), !strings.Contains(name, "/"):
		return StageMetadata
	}
	return StageArtifact
}

func hasAnySuffix(s string, suffixes ...string) bool {
	for _, x := range suffixes {
		if strings.HasSuffix(s, x) {
			return true
		}
	}
	return false
}

// contentType guesses the MIME type from the name.
func contentType(name string) string {
	lower := strings.ToLower(name)
	switch {
	case strings.HasSuffix(lower, ".tar.gz"), strings.HasSuffix(lower, ".tgz"), strings.HasSuffix(lower, ".gz"):
		return "application/gzip"
	case strings.HasSuffix(lower, ".zip"):
		return "application/zip"
	case strings.HasSuffix(lower, ".json"), strings.HasSuffix(lower, ".jsonl"):
		return "application/json"
	case strings.HasSuffix(lower, ".md"):
		return "text/markdown; charset=utf-8"
	case path.Base(lower) == "sha256sums", strings.HasSuffix(lower, ".txt"), strings.HasSuffix(lower, ".sig"),
		strings.HasSuffix(lower, ".pem"), strings.HasSuffix(lower, ".asc"):
		return "text/plain; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(lower)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// hashFile returns the SHA-256 of the first size bytes of a file.
func hashFile(ctx context.Context, name string) (string, int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, ctxio.Reader(ctx, f))
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// Plan computes what publishing the staged directory dir would do. It
// reads the staged manifest.json (it must be present and parse), takes
// the size and SHA-256 of every staged file from it (checking the size
// now; the bytes are verified against the digest as they are uploaded, so
// each file is read once) and hashes the files it does not list, asks the
// store what it holds under each name (hashing remote objects whose Stat
// reports no SHA-256), and checks that every file the manifest lists for
// a staged version is staged or already published. A plan with refused
// steps is returned together with its [*ConflictError].
//
// With [WithHashStaged], every staged file is hashed here too, so a
// staged file whose bytes disagree with the manifest is reported by Plan
// (and DryRun) rather than by the upload.
func (p *Publisher) Plan(ctx context.Context, dir string) (*Plan, error) {
	return p.plan(ctx, dir, nil)
}

func (p *Publisher) plan(ctx context.Context, dir string, merge MergeFunc) (*Plan, error) {
	steps, err := scan(dir)
	if err != nil {
		return nil, err
	}
	byName := make(map[string]int, len(steps))
	for i, s := range steps {
		byName[s.Name] = i
	}
	if _, ok := byName[manifest.File]; !ok && !p.opts.noManifest {
		return nil, &StagedFileError{Dir: dir, Name: manifest.File, Err: fmt.Errorf("missing: the manifest is the commit point of a publish: %w", ErrNotExist)}
	}
	var m *manifest.Manifest
	kinds := map[string]manifest.Kind{}
	declared := map[string]manifest.Artifact{}
	if i, ok := byName[manifest.File]; ok {
		m, err = manifest.LoadFile(steps[i].path)
		if err != nil {
			return nil, &StagedFileError{Dir: dir, Name: manifest.File, Err: err}
		}
		for _, r := range m.Releases {
			for _, a := range r.Artifacts {
				kinds[a.Path] = a.Kind
				declared[a.Path] = a
			}
		}
	}
	for i := range steps {
		steps[i].Stage = classify(steps[i].Name, kinds)
		steps[i].rank = rank(steps[i].Name, steps[i].Stage)
	}

	// Hash the staged files and ask the destination, concurrently.
	err = p.forEach(ctx, len(steps), func(ctx context.Context, i int) error {
		s := &steps[i]
		if a, ok := declared[s.Name]; ok && !p.opts.hashStaged {
			// The manifest says what the bytes are; the upload verifies
			// it (Body), so the file is read once.
			if s.Local.Size != a.Size {
				return &StagedFileError{Dir: dir, Name: s.Name, Err: &ChecksumError{
					Name: s.Name, WantSHA256: strings.ToLower(a.SHA256), WantSize: a.Size, GotSize: s.Local.Size}}
			}
			s.Local.SHA256 = strings.ToLower(a.SHA256)
		} else {
			sum, n, err := hashFile(ctx, s.path)
			if err != nil {
				return &StagedFileError{Dir: dir, Name: s.Name, Err: err}
			}
			s.Local.SHA256, s.Local.Size = sum, n
		}
		remote, err := p.remote(ctx, s.Name)
		if err != nil {
			return err
		}
		s.Remote = remote
		switch {
		case remote == nil:
			s.Action = ActionUpload
		case remote.Size == s.Local.Size && remote.SHA256 == s.Local.SHA256:
			s.Action = ActionSkip
		case IsMutable(s.Name) || p.opts.replaceAll:
			s.Action = ActionReplace
		default:
			s.Action = ActionRefuse
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	if m != nil {
		if err := p.checkManifest(ctx, dir, m, steps, byName); err != nil {
			return nil, err
		}
	}

	slices.SortStableFunc(steps, func(a, b Step) int {
		if a.Stage != b.Stage {
			return int(a.Stage - b.Stage)
		}
		if a.rank != b.rank {
			return a.rank - b.rank
		}
		return strings.Compare(a.Name, b.Name)
	})
	plan := &Plan{Dir: dir, Steps: steps, hasManifest: m != nil, merge: merge}
	if err := plan.Err(); err != nil {
		return plan, err
	}
	if m != nil && !p.opts.noManifest && merge == nil && !p.opts.replaceAll {
		// Published as staged: refuse now, in the plan (and a dry run),
		// a staged manifest that would lose published history.
		cur, err := p.readRoot(ctx)
		if err != nil {
			return nil, err
		}
		if cur.m != nil && cur.obj.SHA256 != steps[byNameSorted(steps, manifest.File)].Local.SHA256 {
			if err := manifest.CheckSuccessor(cur.m, m); err != nil {
				return plan, err
			}
		}
	}
	return plan, plan.Err()
}

func byNameSorted(steps []Step, name string) int {
	for i := range steps {
		if steps[i].Name == name {
			return i
		}
	}
	return -1
}

// isRootManifestFile reports whether name is manifest.json or its legacy
// detached signature: the Publisher commits those itself (see
// [RootFiles]). The root signatures.json is uploaded with the other index
// files, before keys.json whose entries it carries, and brought in line
// with the committed manifest afterwards.
func isRootManifestFile(name string) bool {
	return name == manifest.File || name == ManifestSigName
}

// stagedMerge is the MergeFunc of [Publisher.Publish]: the staged
// manifest.json and its staged signatures, as they are.
func stagedMerge(dir string) MergeFunc {
	return func(ctx context.Context, current []byte, _ Opener) (*RootFiles, error) {
		read := func(name string) ([]byte, error) {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if errors.Is(err, fs.ErrNotExist) {
				return nil, nil
			}
			if err != nil {
				return nil, &StagedFileError{Dir: dir, Name: name, Err: err}
			}
			return data, nil
		}
		m, err := read(manifest.File)
		if err != nil {
			return nil, err
		}
		if m == nil {
			return nil, &StagedFileError{Dir: dir, Name: manifest.File, Err: ErrNotExist}
		}
		if bytes.Equal(m, current) {
			return nil, nil
		}
		files := &RootFiles{Manifest: m}
		if files.Signature, err = read(ManifestSigName); err != nil {
			return nil, err
		}
		if files.Signatures, err = read(manifest.SignaturesFile); err != nil {
			return nil, err
		}
		return files, nil
	}
}

// remote returns what the store holds under name, hashing it when Stat
// does not report a SHA-256; nil when nothing.
func (p *Publisher) remote(ctx context.Context, name string) (*Object, error) {
	o, err := p.remoteStat(ctx, name)
	if o == nil || err != nil {
		return nil, err
	}
	obj := *o
	if obj.SHA256 != "" {
		return &obj, nil
	}
	err = p.retry(ctx, name, func(ctx context.Context) error {
		rc, err := p.store.Open(ctx, name)
		if err != nil {
			return err
		}
		defer rc.Close()
		h := sha256.New()
		n, err := io.Copy(h, rc)
		if err != nil {
			return err
		}
		obj.Size = n
		obj.SHA256 = hex.EncodeToString(h.Sum(nil))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("publish: hash published %s: %w", name, err)
	}
	return &obj, nil
}

// checkManifest checks the staged manifest against the staged files and,
// for staged versions, against the destination.
func (p *Publisher) checkManifest(ctx context.Context, dir string, m *manifest.Manifest, steps []Step, byName map[string]int) error {
	stagedDirs := map[string]bool{}
	for _, s := range steps {
		if i := strings.IndexByte(s.Name, '/'); i > 0 {
			stagedDirs[s.Name[:i]] = true
		}
	}
	var unstaged []Step
	for _, r := range m.Releases {
		for _, a := range r.Artifacts {
			i, ok := byName[a.Path]
			if ok {
				s := steps[i]
				if s.Local.Size != a.Size || !strings.EqualFold(s.Local.SHA256, a.SHA256) {
					return &StagedFileError{Dir: dir, Name: a.Path, Err: &ChecksumError{
						Name: a.Path, WantSHA256: strings.ToLower(a.SHA256), GotSHA256: s.Local.SHA256,
						WantSize: a.Size, GotSize: s.Local.Size}}
				}
				continue
			}
			top, _, _ := strings.Cut(a.Path, "/")
			if stagedDirs[top] {
				unstaged = append(unstaged, Step{Name: a.Path, Local: Object{Name: a.Path, Size: a.Size, SHA256: strings.ToLower(a.SHA256)}})
			}
		}
	}
	if len(unstaged) == 0 {
		return nil
	}
	var (
		mu      sync.Mutex
		missing []string
	)
	err := p.forEach(ctx, len(unstaged), func(ctx context.Context, i int) error {
		name := unstaged[i].Name
		err := p.retry(ctx, name, func(ctx context.Context) error {
			_, err := p.store.Stat(ctx, name)
			return err
		})
		if errors.Is(err, ErrNotExist) {
			mu.Lock()
			missing = append(missing, name)
			mu.Unlock()
			return nil
		}
		if err != nil {
			return fmt.Errorf("publish: stat %s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return &MissingError{Names: missing}
	}
	return nil
}
