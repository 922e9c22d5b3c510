package release

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/relkit/relkit/manifest"
)

// Errors the [Guard] stage reports, each inside a *[GuardError]. Branch
// on them with errors.Is.
var (
	// ErrBadVersion: the version or tag does not parse, or lacks the
	// required "v" prefix.
	ErrBadVersion = errors.New("bad version")
	// ErrTagMissing: the tag does not exist, or HEAD carries no release tag.
	ErrTagMissing = errors.New("tag missing")
	// ErrTagMismatch: the version differs from the tag's, the tag is for
	// another module, or the tag does not point at HEAD.
	ErrTagMismatch = errors.New("tag does not match")
	// ErrTagNotAnnotated: the tag is lightweight where an annotated tag
	// is required.
	ErrTagNotAnnotated = errors.New("tag not annotated")
	// ErrTagNotSigned: the tag carries no signature, or its signature
	// does not verify.
	ErrTagNotSigned = errors.New("tag not signed")
	// ErrPolicyUnmet: a policy cannot be checked on this machine (no gpg
	// to verify a signed tag). It is a failure, not a pass.
	ErrPolicyUnmet = errors.New("policy cannot be checked")
	// ErrDirtyTree: the working tree has uncommitted changes.
	ErrDirtyTree = errors.New("working tree not clean")
	// ErrVersionReused: the destination manifest already has the version.
	ErrVersionReused = errors.New("version already released")
	// ErrNotRepo: a git check was asked for outside a git work tree.
	ErrNotRepo = errors.New("not a git repository")
)

// GuardProblem is one failed check of the [Guard] stage.
type GuardProblem struct {
	// Check names the check ("tag", "clean", "reuse", ...).
	Check string
	// Detail says what was found.
	Detail string
	// Err is one of the Err* sentinels above.
	Err error
}

// Error implements the error interface.
func (p *GuardProblem) Error() string { return p.Check + ": " + p.Detail }

// Unwrap returns the sentinel.
func (p *GuardProblem) Unwrap() error { return p.Err }

// GuardError lists every check the [Guard] stage failed, not only the
// first. errors.Is(err, ErrDirtyTree) reports whether that check failed.
type GuardError struct {
	Problems []*GuardProblem
}

// Error implements the error interface.
func (e *GuardError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Error()
	}
	return "version guard: " + strings.Join(parts, "; ")
}

// Unwrap returns the problems, so errors.Is and errors.As see each.
func (e *GuardError) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}

// Guard is the version guard stage ("guard"): it decides the version and
// tag of the release and refuses to go on when the repository or the
// destination is not fit for it. It sets State.Version, Tag, Commit and,
// when zero, Date (the commit time).
//
// The version comes from Version when set, else from the tag (Tag, or the
// release tag at HEAD). Every check is opt-in; [Guard.Strict] turns them
// all on. All failing checks are reported together in a *[GuardError].
type Guard struct {
	// Dir is the git work tree; "" means the current directory.
	Dir string
	// Version is the version to release ("1.2.0" or "v1.2.0"). Empty
	// takes it from the tag.
	Version string
	// Tag is the release tag. Empty looks for a release tag at HEAD
	// (selected by Module in a monorepo).
	Tag string
	// Module selects one module of a monorepo: only tags whose module
	// (manifest.Tag.Module, or Prefix) equals it are release tags
	// ("module-authority-v1.2.3" with Module "authority").
	Module string
	// RequireV requires the tag to be written with a leading "v".
	RequireV bool
	// RequireTag requires the tag to exist in the repository.
	RequireTag bool
	// MatchHEAD requires the tag to point at HEAD.
	MatchHEAD bool
	// RequireAnnotated requires an annotated tag (not a lightweight one).
	RequireAnnotated bool
	// RequireSigned requires a signed tag whose signature verifies with
	// `git tag -v` (gpg, or ssh-keygen for SSH signatures, must be on
	// PATH; when it is not, the check fails with ErrPolicyUnmet).
	RequireSigned bool
	// RequireClean requires a working tree without uncommitted changes
	// (untracked files count).
	RequireClean bool
	// Published is the destination's current manifest; a version already
	// in it is refused (a version is never reused). Nil skips the check.
	Published *manifest.Manifest
	// Env is added to git's environment (GNUPGHOME, for example).
	Env []string
}

// Strict returns g with every check turned on: tag required, annotated,
// at HEAD, clean tree. Signing stays as set (it needs gpg).
func (g Guard) Strict() Guard {
	g.RequireTag, g.RequireAnnotated, g.MatchHEAD, g.RequireClean = true, true, true, true
	return g
}

// Name returns "guard".
func (g *Guard) Name() string { return "guard" }

// Run performs the checks and fills the state.
func (g *Guard) Run(ctx context.Context, st *State) error {
	var probs []*GuardProblem
	fail := func(check string, sentinel error, format string, args ...any) {
		probs = append(probs, &GuardProblem{Check: check, Detail: fmt.Sprintf(format, args...), Err: sentinel})
	}
	repo := git{dir: g.Dir, env: g.Env}
	if repo.dir == "" {
		repo.dir = "."
	}
	needGit := g.Version == "" || g.Tag != "" || g.RequireTag || g.MatchHEAD || g.RequireAnnotated || g.RequireSigned || g.RequireClean
	isRepo := repo.isRepo(ctx)
	if needGit && !isRepo {
		return &GuardError{Problems: []*GuardProblem{{Check: "repo", Detail: fmt.Sprintf("%s is not inside a git work tree", repo.dir), Err: ErrNotRepo}}}
	}
	var head string
	if isRepo {
		var err error
		if head, err = repo.head(ctx); err != nil {
			return err
		}
	}

	// The version asked for.
	var want manifest.Version
	if g.Version != "" {
		v, err := manifest.ParseVersion(g.Version)
		if err != nil {
			fail("version", ErrBadVersion, "%v", err)
		} else {
			want = v
		}
	}

	// The tag.
	tagName := g.Tag
	if tagName == "" && isRepo && (g.Version == "" || g.RequireTag || g.MatchHEAD || g.RequireAnnotated || g.RequireSigned) {
		t, err := g.tagAtHEAD(ctx, repo, want)
		if err != nil {
			return err
		}
		if t == "" {
			what := "release tag"
			if g.Module != "" {
				what = "release tag for module " + g.Module
			}
			if !want.IsZero() {
				what += " for version " + want.String()
			}
			fail("tag", ErrTagMissing, "HEAD (%s) carries no %s", short(head), what)
		}
		tagName = t
	}
	var tag manifest.Tag
	if tagName != "" {
		t, err := manifest.ParseTag(tagName)
		switch {
		case err != nil:
			fail("tag", ErrBadVersion, "%v", err)
		default:
			tag = t
			if g.RequireV && !t.V {
				fail("tag", ErrBadVersion, "tag %q must be written with a leading \"v\"", tagName)
			}
			if g.Module != "" && tagModule(t) != g.Module {
				fail("tag", ErrTagMismatch, "tag %q is not for module %q", tagName, g.Module)
			}
			if !want.IsZero() && want.Compare(t.Version) != 0 {
				fail("tag", ErrTagMismatch, "version %s does not match tag %q (%s)", want, tagName, t.Version)
			}
		}
	}
	if g.RequireV && g.Version != "" && tagName == "" && !strings.HasPrefix(g.Version, "v") {
		fail("version", ErrBadVersion, "version %q must be written with a leading \"v\"", g.Version)
	}

	// The tag object.
	if tagName != "" && isRepo && (g.RequireTag || g.MatchHEAD || g.RequireAnnotated || g.RequireSigned) {
		g.checkTagObject(ctx, repo, tagName, head, fail)
	}

	if g.RequireClean {
		out, err := repo.run(ctx, "status", "--porcelain", "--untracked-files=normal")
		if err != nil {
			return err
		}
		if out != "" {
			lines := strings.Split(out, "\n")
			more := ""
			if len(lines) > 5 {
				more = fmt.Sprintf(" and %d more", len(lines)-5)
				lines = lines[:5]
			}
			fail("clean", ErrDirtyTree, "uncommitted changes: %s%s", strings.Join(lines, ", "), more)
		}
	}

	version := want
	if version.IsZero() {
		version = tag.Version
	}
	if g.Published != nil && !version.IsZero() {
		if r, ok := g.Published.Release(version.String()); ok {
			fail("reuse", ErrVersionReused, "version %s is already in the %s manifest (status %s, commit %s); cut a new version", version, g.Published.Project, r.Status, short(r.Commit))
		}
	}
	if version.IsZero() && len(probs) == 0 {
		fail("version", ErrBadVersion, "no version given and no release tag found")
	}
	if len(probs) > 0 {
		return &GuardError{Problems: probs}
	}

	st.Version = version
	st.Tag = tagName
	if isRepo {
		st.Commit = head
		if st.Date.IsZero() {
			t, err := repo.commitTime(ctx, "HEAD")
			if err != nil {
				return err
			}
			st.Date = t
		}
	}
	st.logger().Info("version", "version", version.String(), "tag", tagName, "commit", short(head))
	return nil
}

func tagModule(t manifest.Tag) string {
	if t.Module != "" {
		return t.Module
	}
	return t.Prefix
}

// tagAtHEAD returns the release tag at HEAD for g.Module (and version want,
// when set), or "".
func (g *Guard) tagAtHEAD(ctx context.Context, repo git, want manifest.Version) (string, error) {
	out, err := repo.run(ctx, "tag", "--points-at", "HEAD")
	if err != nil {
		return "", err
	}
	var best string
	var bestV manifest.Version
	for _, name := range strings.Fields(out) {
		t, err := manifest.ParseTag(name)
		if err != nil || tagModule(t) != g.Module {
			continue
		}
		if !want.IsZero() && want.Compare(t.Version) != 0 {
			continue
		}
		if best == "" || bestV.Less(t.Version) {
			best, bestV = name, t.Version
		}
	}
	return best, nil
}

func (g *Guard) checkTagObject(ctx context.Context, repo git, tagName, head string, fail func(string, error, string, ...any)) {
	ref := "refs/tags/" + tagName
	typ, err := repo.run(ctx, "cat-file", "-t", ref)
	if err != nil {
		fail("tag", ErrTagMissing, "tag %q does not exist", tagName)
		return
	}
	if g.MatchHEAD {
		c, err := repo.run(ctx, "rev-parse", "--verify", ref+"^{commit}")
		if err != nil || c != head {
			fail("tag", ErrTagMismatch, "tag %q points at %s, not at HEAD (%s)", tagName, short(c), short(head))
		}
	}
	annotated := typ == "tag"
	if (g.RequireAnnotated || g.RequireSigned) && !annotated {
		fail("annotated", ErrTagNotAnnotated, "tag %q is a lightweight tag; create it with git tag -a (or -s)", tagName)
		return
	}
	if !g.RequireSigned {
		return
	}
	body, err := repo.run(ctx, "cat-file", "-p", ref)
	if err != nil {
		fail("signed", ErrTagNotSigned, "read tag %q: %v", tagName, err)
		return
	}
	tool := ""
	switch {
	case strings.Contains(body, "-----BEGIN PGP SIGNATURE-----"):
		tool = "gpg"
	case strings.Contains(body, "-----BEGIN SSH SIGNATURE-----"):
		tool = "ssh-keygen"
	default:
		fail("signed", ErrTagNotSigned, "tag %q carries no signature; create it with git tag -s", tagName)
		return
	}
	if _, err := exec.LookPath(tool); err != nil {
		fail("signed", ErrPolicyUnmet, "tag %q is signed but %s is not on PATH to verify it", tagName, tool)
		return
	}
	if _, err := repo.run(ctx, "tag", "-v", tagName); err != nil {
		fail("signed", ErrTagNotSigned, "signature of tag %q does not verify: %v", tagName, err)
	}
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}
