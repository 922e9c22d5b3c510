// Package tap writes the Homebrew cask and the Scoop app manifest of a
// published release into a tap and a bucket: git repositories, or GitHub
// repositories written through the contents API (a [Writer] such as
// publish/github's Contents).
//
// Both files are generated from the signed manifest as clients read it
// (Config.Remote, verified with Config.Keys), never from a staged
// directory, so only a release that was published (past the commit
// point) can reach a tap. Running [Update] again changes nothing: the
// files come out byte-identical and no commit is made.
//
// Package release runs [Config.Check] before the build when
// release.Config.Taps is set (stage "tap-check"), and its TapStage runs
// [Update] after the publish stage.
//
// # Files
//
// Casks/<token>.rb is a Homebrew cask (Homebrew's documented form for
// prebuilt binaries; formulae are built from source): version, per-OS and
// per-CPU url and sha256 (darwin and linux, amd64 and arm64), name, desc,
// homepage and a binary stanza per executable, the stanzas Homebrew's
// Cask Cookbook requires. bucket/<token>.json is a Scoop app manifest
// with the fields Scoop's app manifest reference requires (version, and
// url/hash per architecture: windows amd64, arm64 and 386 .zip archives)
// and the recommended ones (description, homepage, license, bin). It has
// no checkver/autoupdate: the bucket is updated by Update on every
// release.
package tap

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
	"time"

	"github.com/relkit/relkit/internal/gitcmd"
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/verify"
)

// Config describes the Homebrew tap and the Scoop bucket a release
// updates once it is published: a Homebrew cask and a Scoop app manifest,
// each with the released archives' URLs and SHA-256 digests, committed
// and pushed to a git repository (or written by a [Writer]). [Update]
// writes them; [Config.Check] refuses a repository that cannot be read or
// written, before the release is built.
type Config struct {
	// Project is the project; the manifest must be its. Required.
	Project string
	// BaseURL is where the release root is served; archive URLs are
	// BaseURL + "/" + the artifact's path. Required, https:// (or
	// http:// to loopback, for tests).
	BaseURL string
	// URL, when set, gives an archive's download URL instead of BaseURL
	// + "/" + its path (a forge: "https://github.com/OWNER/REPO/releases/
	// download/<tag>/<name>"); it must return https URLs.
	URL func(rel manifest.Release, a manifest.Artifact) string
	// Remote is where the published manifest is read; nil reads
	// BaseURL over HTTP.
	Remote verify.Location
	// Keys are the trusted public keys (PEM) the manifest must verify
	// with. Required.
	Keys [][]byte
	// Version is the release to describe; empty means the newest stable
	// release (what the stable channel selects).
	Version string
	// Homebrew is the tap receiving Casks/<token>.rb; nil writes none.
	Homebrew *Repo
	// Scoop is the bucket receiving bucket/<token>.json; nil writes none.
	Scoop *Repo
	// Description, Homepage and License describe the project (Homebrew
	// needs desc and homepage; Scoop wants all three). Description and
	// Homepage are required.
	Description, Homepage, License string
	// Binaries are the executables in the archives to link onto PATH;
	// empty means the project name.
	Binaries []string
	// Author is the commit author, "Name <email>"; empty means
	// "relkit <relkit@localhost>".
	Author string
	// Now is the clock for the manifest's expiry; nil is time.Now.
	Now func() time.Time
	// Env is added to git's environment (GIT_SSH_COMMAND, a credential
	// helper's variables).
	Env []string
}

// Repo is a git repository holding a tap or bucket.
type Repo struct {
	// URL is the repository as git takes it (a local path in tests,
	// https://github.com/example/homebrew-tap.git, git@host:repo.git).
	// Required.
	URL string
	// Branch is the branch to push; empty means "main".
	Branch string
	// Dir is the directory inside the repository; empty means "Casks"
	// for Homebrew and "bucket" for Scoop.
	Dir string
	// Token is the cask or app name (the file's base name); empty means
	// the project.
	Token string
	// Writer, when set, writes the file instead of a git clone and push:
	// for a repository on GitHub, github.NewContents (the contents API,
	// one commit per changed file, no git client needed). URL then only
	// names the repository in messages.
	Writer Writer
}

// Writer writes one file into a tap or bucket repository, committing only
// when its content changes (see [Repo.Writer]). publish/github's
// Contents is one. A Writer that also has a Check(ctx) error method is
// checked by [Config.Check].
type Writer interface {
	// WriteFile writes data to path with the commit message, and
	// reports whether it made a commit and the branch head after it.
	WriteFile(ctx context.Context, path string, data []byte, message string) (changed bool, commit string, err error)
}

// ConfigError reports a [Config] field that is missing or wrong, found
// without network or git. Package release reports it as a
// *release.ConfigError for "Taps." + Field.
type ConfigError struct {
	// Field is the Config field ("Description", "Homebrew.Token", ...).
	Field string
	// Reason says what is wrong with it.
	Reason string
}

// Error implements the error interface.
func (e *ConfigError) Error() string { return "tap: config: " + e.Field + ": " + e.Reason }

// Error reports a tap or bucket repository that could not be read,
// written or pushed. It says which repository and what git said.
type Error struct {
	// Repo is the repository URL.
	Repo string
	// Op is what failed ("clone", "push", "commit", "write", "check").
	Op string
	// Err is the cause: often git's failure (a *release.GitError, with
	// git's arguments and standard error), or the Writer's error.
	Err error
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("tap %s: %s: %v (check that the repository exists and this machine may push to it)", e.Repo, e.Op, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Result says what [Update] did.
type Result struct {
	// Version is the release described.
	Version string
	// Updates are the files written, Homebrew first.
	Updates []FileUpdate
}

// FileUpdate is one tap or bucket file that [Update] wrote (or found up
// to date).
type FileUpdate struct {
	// Repo and File (path inside the repository) name it.
	Repo, File string
	// Changed reports a new commit; false when the file was already
	// up to date.
	Changed bool
	// Commit is the branch head after the update.
	Commit string
}

var tapToken = regexp.MustCompile(`^[a-z0-9][a-z0-9._+-]*$`)

// Validate checks the configuration without network or git: the
// required fields, the URLs, the token, directory and binary names. It
// returns a *[ConfigError].
func (c Config) Validate() error {
	switch {
	case c.Project == "":
		return &ConfigError{Field: "Project", Reason: "required"}
	case c.Homebrew == nil && c.Scoop == nil:
		return &ConfigError{Field: "Homebrew, Scoop", Reason: "set Homebrew and/or Scoop"}
	case len(c.Keys) == 0:
		return &ConfigError{Field: "Keys", Reason: "required: the published manifest is verified before a tap is written"}
	case strings.TrimSpace(c.Description) == "":
		return &ConfigError{Field: "Description", Reason: "required (Homebrew's desc, Scoop's description)"}
	case c.Homepage == "":
		return &ConfigError{Field: "Homepage", Reason: "required (Homebrew's homepage, Scoop's homepage)"}
	}
	if c.URL == nil || c.BaseURL != "" {
		if err := checkTapURL(c.BaseURL); err != nil {
			return &ConfigError{Field: "BaseURL", Reason: err.Error()}
		}
	}
	if c.URL == nil && c.Remote == nil && c.BaseURL == "" {
		return &ConfigError{Field: "BaseURL", Reason: "required"}
	}
	for _, nr := range []struct {
		name string
		r    *Repo
	}{{"Homebrew", c.Homebrew}, {"Scoop", c.Scoop}} {
		r := nr.r
		if r == nil {
			continue
		}
		if r.URL == "" {
			return &ConfigError{Field: nr.name + ".URL", Reason: "required"}
		}
		if tok := c.token(r); !tapToken.MatchString(tok) {
			return &ConfigError{Field: nr.name + ".Token", Reason: fmt.Sprintf("%q is not a cask or app name (lower case letters, digits, . _ + -)", tok)}
		}
		if r.Dir != "" && (path.IsAbs(r.Dir) || path.Clean(r.Dir) != r.Dir || strings.HasPrefix(r.Dir, "..")) {
			return &ConfigError{Field: nr.name + ".Dir", Reason: fmt.Sprintf("%q is not a clean relative path", r.Dir)}
		}
	}
	for _, b := range c.binaries() {
		if b == "" || strings.ContainsAny(b, `/\"'`) {
			return &ConfigError{Field: "Binaries", Reason: fmt.Sprintf("%q is not a plain file name", b)}
		}
	}
	return nil
}

func checkTapURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && loopbackHost(u.Hostname()))) {
		return fmt.Errorf("%q is not an https:// URL (http:// only to loopback)", s)
	}
	return nil
}

func loopbackHost(h string) bool {
	return h == "localhost" || h == "::1" || strings.HasPrefix(h, "127.")
}

func (c *Config) token(r *Repo) string {
	if r.Token != "" {
		return r.Token
	}
	return strings.ToLower(c.Project)
}

func (c *Config) binaries() []string {
	if len(c.Binaries) > 0 {
		return c.Binaries
	}
	return []string{c.Project}
}

// Check validates the configuration ([Config.Validate]) and that each
// repository can be cloned and pushed to (git push --dry-run of a probe
// commit), without changing it. It returns a *[ConfigError] or an
// *[Error].
func (c Config) Check(ctx context.Context) error {
	if err := c.Validate(); err != nil {
		return err
	}
	for _, r := range []*Repo{c.Homebrew, c.Scoop} {
		if r == nil {
			continue
		}
		if r.Writer != nil {
			// A writer checks itself when it can (a checker's
			// Check(ctx) error); the contents API has no dry run.
			if ck, ok := r.Writer.(interface{ Check(context.Context) error }); ok {
				if err := ck.Check(ctx); err != nil {
					return &Error{Repo: r.URL, Op: "check", Err: err}
				}
			}
			continue
		}
		err := c.withClone(ctx, r, func(g gitcmd.Git, dir string) error {
			if err := os.WriteFile(filepath.Join(dir, ".relkit-probe"), []byte("probe\n"), 0o644); err != nil {
				return err
			}
			if _, err := g.Run(ctx, "add", ".relkit-probe"); err != nil {
				return err
			}
			if _, err := g.Run(ctx, "commit", "-q", "-m", "relkit probe (never pushed)"); err != nil {
				return err
			}
			_, err := g.Run(ctx, "push", "--dry-run", "-q", "origin", "HEAD:refs/heads/"+branchOf(r))
			return err
		})
		if err != nil {
			var te *Error
			if errors.As(err, &te) {
				return err
			}
			return &Error{Repo: r.URL, Op: "check", Err: err}
		}
	}
	return nil
}

func branchOf(r *Repo) string {
	if r.Branch != "" {
		return r.Branch
	}
	return "main"
}

// withClone clones r's branch (or an empty repository) into a temporary
// directory and runs f there.
func (c *Config) withClone(ctx context.Context, r *Repo, f func(g gitcmd.Git, dir string) error) error {
	tmp, err := os.MkdirTemp("", "relkit-tap-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	author := c.Author
	if author == "" {
		author = "relkit <relkit@localhost>"
	}
	name, email, _ := strings.Cut(author, "<")
	env := append([]string{
		"GIT_AUTHOR_NAME=" + strings.TrimSpace(name), "GIT_AUTHOR_EMAIL=" + strings.TrimSuffix(strings.TrimSpace(email), ">"),
		"GIT_COMMITTER_NAME=" + strings.TrimSpace(name), "GIT_COMMITTER_EMAIL=" + strings.TrimSuffix(strings.TrimSpace(email), ">"),
		"GIT_TERMINAL_PROMPT=0",
	}, c.Env...)
	dir := filepath.Join(tmp, "repo")
	top := gitcmd.Git{Dir: tmp, Env: env}
	if _, err := top.Run(ctx, "ls-remote", "--exit-code", "-q", r.URL); err != nil && !emptyRepo(err) {
		return &Error{Repo: r.URL, Op: "clone", Err: err}
	}
	if _, err := top.Run(ctx, "clone", "-q", "--no-tags", "--single-branch", "--branch", branchOf(r), r.URL, dir); err != nil {
		// An empty repository, or one without the branch yet.
		if _, err2 := top.Run(ctx, "clone", "-q", "--no-tags", r.URL, dir); err2 != nil {
			return &Error{Repo: r.URL, Op: "clone", Err: err}
		}
		g := gitcmd.Git{Dir: dir, Env: env}
		if _, err := g.Run(ctx, "checkout", "-q", "-B", branchOf(r)); err != nil {
			return &Error{Repo: r.URL, Op: "clone", Err: err}
		}
	}
	return f(gitcmd.Git{Dir: dir, Env: env}, dir)
}

// emptyRepo reports ls-remote's "no refs" exit status (2), which an empty
// repository gives.
func emptyRepo(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee) && ee.ExitCode() == 2
}

// tapRelease is what the generated files describe.
type tapRelease struct {
	Token, Version, Description, Homepage, License string
	Binaries                                       []string
	// By platform ("darwin/arm64"): the archive's URL and SHA-256.
	Archives map[string]tapArchive
}

type tapArchive struct{ URL, SHA256 string }

// tapPlatforms are the platforms the files can describe.
var tapPlatforms = []manifest.Platform{
	{OS: "darwin", Arch: "arm64"}, {OS: "darwin", Arch: "amd64"},
	{OS: "linux", Arch: "arm64"}, {OS: "linux", Arch: "amd64"},
	{OS: "windows", Arch: "amd64"}, {OS: "windows", Arch: "arm64"}, {OS: "windows", Arch: "386"},
}

// Update reads the published, signed manifest, generates the Homebrew
// cask and the Scoop manifest of the release (Config.Version, or the
// newest stable release), and commits and pushes each that changed. See
// [Config]. A version the published manifest lacks is an error wrapping
// manifest.ErrNotFound, and reaches no tap.
func Update(ctx context.Context, c Config) (*Result, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	rel, err := c.published(ctx)
	if err != nil {
		return nil, err
	}
	res := &Result{Version: rel.Version}
	type job struct {
		repo *Repo
		dir  string
		ext  string
		gen  func(tapRelease) ([]byte, error)
	}
	var jobs []job
	if c.Homebrew != nil {
		jobs = append(jobs, job{c.Homebrew, "Casks", ".rb", homebrewCask})
	}
	if c.Scoop != nil {
		jobs = append(jobs, job{c.Scoop, "bucket", ".json", scoopManifest})
	}
	for _, j := range jobs {
		tr := rel
		tr.Token = c.token(j.repo)
		data, err := j.gen(tr)
		if err != nil {
			return res, err
		}
		dir := j.repo.Dir
		if dir == "" {
			dir = j.dir
		}
		file := path.Join(dir, tr.Token+j.ext)
		u, err := c.commit(ctx, j.repo, file, data, fmt.Sprintf("%s %s", tr.Token, tr.Version))
		if err != nil {
			return res, err
		}
		res.Updates = append(res.Updates, *u)
	}
	return res, nil
}

// published reads and verifies the published manifest and picks the
// release's archives.
func (c *Config) published(ctx context.Context) (tapRelease, error) {
	loc := c.Remote
	if loc == nil && c.BaseURL == "" {
		return tapRelease{}, &ConfigError{Field: "Remote", Reason: "set Remote or BaseURL: where the published manifest is read"}
	}
	if loc == nil {
		h, err := verify.NewHTTP(c.BaseURL)
		if err != nil {
			return tapRelease{}, err
		}
		loc = h
	}
	ring, err := verify.NewKeyRing(c.Keys...)
	if err != nil {
		return tapRelease{}, err
	}
	opts := []verify.Option{verify.WithProject(c.Project)}
	if c.Now != nil {
		opts = append(opts, verify.WithClock(c.Now))
	}
	v, err := verify.NewVerifier(ring, opts...)
	if err != nil {
		return tapRelease{}, err
	}
	m, err := v.FetchManifest(ctx, loc)
	if err != nil {
		return tapRelease{}, fmt.Errorf("taps: the published manifest: %w", err)
	}
	out := tapRelease{Description: strings.TrimSpace(c.Description), Homepage: c.Homepage, License: c.License,
		Binaries: c.binaries(), Archives: map[string]tapArchive{}}
	base := strings.TrimRight(c.BaseURL, "/")
	for _, p := range tapPlatforms {
		sel, err := m.Select(manifest.Query{Version: c.Version, Platform: p, Kinds: []manifest.Kind{manifest.KindArchive}})
		if err != nil {
			continue // not released for p
		}
		if out.Version == "" {
			out.Version = sel.Release.Version
		} else if out.Version != sel.Release.Version {
			continue // the newest release lacks p: do not mix versions
		}
		name := strings.ToLower(sel.Artifact.Name)
		if p.OS == "windows" && !strings.HasSuffix(name, ".zip") {
			continue
		}
		if p.OS != "windows" && !strings.HasSuffix(name, ".tar.gz") && !strings.HasSuffix(name, ".zip") {
			continue
		}
		u := base + "/" + sel.Artifact.Path
		if c.URL != nil {
			u = c.URL(sel.Release, sel.Artifact)
			if err := checkTapURL(u); err != nil {
				return tapRelease{}, &ConfigError{Field: "URL", Reason: err.Error()}
			}
		}
		out.Archives[p.String()] = tapArchive{URL: u, SHA256: sel.Artifact.SHA256}
	}
	if out.Version == "" {
		what := "the stable channel's release"
		if c.Version != "" {
			what = "release " + c.Version
		}
		return tapRelease{}, fmt.Errorf("taps: the published manifest has no archive of %s: %w", what, manifest.ErrNotFound)
	}
	return out, nil
}

// commit writes data to file in the repository and pushes it when it
// changed.
func (c *Config) commit(ctx context.Context, r *Repo, file string, data []byte, msg string) (*FileUpdate, error) {
	u := &FileUpdate{Repo: r.URL, File: file}
	if r.Writer != nil {
		changed, commit, err := r.Writer.WriteFile(ctx, file, data, msg)
		if err != nil {
			return nil, &Error{Repo: r.URL, Op: "write", Err: err}
		}
		u.Changed, u.Commit = changed, commit
		return u, nil
	}
	err := c.withClone(ctx, r, func(g gitcmd.Git, dir string) error {
		p := filepath.Join(dir, filepath.FromSlash(file))
		if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, data) {
			head, err := g.Run(ctx, "rev-parse", "HEAD")
			u.Commit = head
			return err
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
		if _, err := g.Run(ctx, "add", "--", file); err != nil {
			return err
		}
		if _, err := g.Run(ctx, "commit", "-q", "-m", msg); err != nil {
			return err
		}
		if _, err := g.Run(ctx, "push", "-q", "origin", "HEAD:refs/heads/"+branchOf(r)); err != nil {
			return &Error{Repo: r.URL, Op: "push", Err: err}
		}
		head, err := g.Run(ctx, "rev-parse", "HEAD")
		u.Commit, u.Changed = head, true
		return err
	})
	if err != nil {
		var te *Error
		if !errors.As(err, &te) {
			err = &Error{Repo: r.URL, Op: "commit", Err: err}
		}
		return nil, err
	}
	return u, nil
}

// rubyString quotes s for a Ruby double-quoted string literal.
func rubyString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "#", `\#`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

var caskTemplate = template.Must(template.New("cask").Funcs(template.FuncMap{"q": rubyString}).Parse(
	`# Generated by relkit from the signed release manifest; do not edit.
cask {{q .Token}} do
  version {{q .Version}}
{{- range $os := .OSes}}

  on_{{$os.Block}} do
{{- range $os.Arches}}
    on_{{.Block}} do
      sha256 {{q .SHA256}}
      url {{q .URL}}
    end
{{- end}}
  end
{{- end}}

  name {{q .Token}}
  desc {{q .Description}}
  homepage {{q .Homepage}}
{{- range .Binaries}}

  binary {{q .}}
{{- end}}
end
`))

// homebrewCask renders Casks/<token>.rb: version, per-OS and per-CPU url
// and sha256, name, desc, homepage and a binary stanza per executable
// (the stanzas Homebrew's Cask Cookbook requires).
func homebrewCask(r tapRelease) ([]byte, error) {
	type arch struct{ Block, URL, SHA256 string }
	type osBlock struct {
		Block  string
		Arches []arch
	}
	var oses []osBlock
	for _, os := range []struct{ goos, block string }{{"darwin", "macos"}, {"linux", "linux"}} {
		b := osBlock{Block: os.block}
		for _, a := range []struct{ goarch, block string }{{"arm64", "arm"}, {"amd64", "intel"}} {
			if ar, ok := r.Archives[os.goos+"/"+a.goarch]; ok {
				b.Arches = append(b.Arches, arch{Block: a.block, URL: ar.URL, SHA256: ar.SHA256})
			}
		}
		if len(b.Arches) > 0 {
			oses = append(oses, b)
		}
	}
	if len(oses) == 0 {
		return nil, fmt.Errorf("homebrew cask: release %s has no darwin or linux archive (amd64, arm64): %w", r.Version, manifest.ErrNotFound)
	}
	var buf bytes.Buffer
	err := caskTemplate.Execute(&buf, struct {
		tapRelease
		OSes []osBlock
	}{r, oses})
	return buf.Bytes(), err
}

// scoopManifest renders bucket/<token>.json with the fields Scoop's app
// manifest reference requires (version, and url/hash per architecture)
// and the recommended ones (description, homepage, license, bin). It
// writes no checkver/autoupdate: the bucket is updated by Update on
// every release.
func scoopManifest(r tapRelease) ([]byte, error) {
	type arch struct {
		URL  string `json:"url"`
		Hash string `json:"hash"`
	}
	archs := map[string]arch{}
	for goarch, key := range map[string]string{"amd64": "64bit", "arm64": "arm64", "386": "32bit"} {
		if a, ok := r.Archives["windows/"+goarch]; ok {
			archs[key] = arch{URL: a.URL, Hash: a.SHA256}
		}
	}
	if len(archs) == 0 {
		return nil, fmt.Errorf("scoop manifest: release %s has no windows .zip archive: %w", r.Version, manifest.ErrNotFound)
	}
	var bins []string
	for _, b := range r.Binaries {
		if !strings.HasSuffix(strings.ToLower(b), ".exe") {
			b += ".exe"
		}
		bins = append(bins, b)
	}
	doc := struct {
		Version      string          `json:"version"`
		Description  string          `json:"description"`
		Homepage     string          `json:"homepage"`
		License      string          `json:"license,omitempty"`
		Architecture map[string]arch `json:"architecture"`
		Bin          any             `json:"bin"`
	}{r.Version, r.Description, r.Homepage, r.License, archs, bins}
	if len(bins) == 1 {
		doc.Bin = bins[0]
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "    ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil { // map keys are sorted: stable bytes
		return nil, err
	}
	return buf.Bytes(), nil
}
