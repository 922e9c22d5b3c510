package release

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/release/installsh"
	"github.com/relkit/relkit/release/tap"
	"github.com/relkit/relkit/sign"
	"github.com/relkit/relkit/verify"
)

// Config describes a release for [Prepare]: the stages' settings in one
// place. Zero values are the defaults each field documents.
type Config struct {
	// Project is the project name (archive names, manifest); required.
	Project string
	// Dist is the output directory; "" means "dist". The staged release
	// (the published layout) goes to Dist/release, binaries to
	// Dist/build, the summary to Dist.
	Dist string
	// Clean removes Dist/release and Dist/build first. Without it a
	// non-empty Dist/release is an error: stale files would be published.
	Clean bool
	// Repo is the git work tree; "" is the current directory.
	Repo string
	// Version, when set, is the version to release; otherwise the tag at
	// HEAD decides (see [Guard]).
	Version string
	// Guard holds the version checks; its Dir and Version default to Repo
	// and Version.
	Guard Guard
	// SourceDate fixes the archive mtimes and the SBOM time; zero is the
	// commit time. The environment is not read: [SourceDateFromEnv]
	// returns SOURCE_DATE_EPOCH for this field.
	SourceDate time.Time
	// Build compiles the binaries; its Dir defaults to Repo. Nil with
	// Prebuilt set packages those instead.
	Build    *Build
	Prebuilt []Binary
	// Package holds the archive settings (extra files).
	Package Package
	// LinuxPackages, when set, builds .deb, .rpm and/or .apk packages of
	// the linux binaries (stage "linux-packages", [LinuxPackages]); their
	// metadata is checked before anything is built.
	LinuxPackages *LinuxPackages
	// Source adds a `git archive` source tarball.
	Source bool
	// Taps, when set, is checked before the build (stage "tap-check":
	// the configuration, and that each tap or bucket repository can be
	// cloned and pushed to), so that a release whose taps cannot be
	// updated fails before anything is built. Its Project defaults to
	// Project. Prepare writes no tap: run tap.Update (package
	// release/tap) or append a [TapStage] after [Publish].
	Taps *tap.Config
	// Image, when set, builds a container image of the linux binaries and
	// records its digests in the release (stage "image", [ImageBuild]);
	// give the same ImageConfig to [PublishConfig.Image] to push it. Nil
	// builds no image and contacts no registry.
	Image *ImageConfig
	// Notes is where the release notes come from; nil writes none.
	Notes NotesSource
	// SBOM holds the SBOM settings; nil uses the defaults.
	SBOM *SBOM
	// SourceURI is the source repository URI for the provenance
	// ("git+https://github.com/example/hello"); required unless the
	// "provenance" stage is skipped.
	SourceURI string
	// BuilderID identifies the builder in the provenance.
	BuilderID string
	// InstallScript, when set, renders install.sh at the root (stage
	// "installer", [InstallScriptStage]) for Project (its Project, when
	// empty) with the first signer's public key (its Key, when nil), and
	// checks it for drift ("installer-key"). Validate checks it before
	// the build.
	InstallScript *installsh.Script
	// Signers sign SHA256SUMS and manifest.json; the first one's
	// signature is the .sig file. Required unless "sign" and
	// "sign-manifest" are skipped.
	Signers []sign.Signer
	// ClientKeys, when set, are the public keys (PEM) the project's
	// self-updaters and install.sh pin: Validate refuses a signer they do
	// not contain, so a rotated signing key cannot ship a release every
	// client refuses. Default: not checked.
	ClientKeys [][]byte
	// Published is the destination's current manifest (nil for a first
	// release): the guard refuses a version it has, and the new
	// manifest.json extends it.
	Published *manifest.Manifest
	// Channel is the release channel; empty means stable (edge for a
	// pre-release).
	Channel string
	// ManifestTTL is the manifest's lifetime; 0 means [DefaultManifestTTL].
	ManifestTTL time.Duration
	// Now is the clock for the manifest's updated/expires; nil is time.Now.
	Now func() time.Time
	// Skip names stages not to run.
	Skip []string
	// Snapshot releases an untagged tree for testing: the guard checks
	// nothing but the version's syntax, the version defaults to
	// "0.0.0-snapshot.<short commit>" (a pre-release, so it never moves
	// "latest"), and publishing stages are skipped.
	Snapshot bool
	// Logger receives progress, one record per stage start and end.
	// Default (nil): discard it; pass slog.Default() to log where the
	// program logs.
	Logger *slog.Logger
}

// SourceDateFromEnv returns the time in SOURCE_DATE_EPOCH (seconds since
// the Unix epoch, as reproducible-builds.org defines it), in UTC, for
// [Config.SourceDate]. Unset or empty, it returns the zero time, which
// dates the release by its commit. A value that is not a non-negative
// decimal integer is a *[ConfigError]. It is the only place package
// release reads the environment:
//
//	date, err := release.SourceDateFromEnv()
//	if err != nil {
//		return err
//	}
//	st, err := release.Prepare(ctx, release.Config{Project: "hello", SourceDate: date /* ... */})
func SourceDateFromEnv() (time.Time, error) {
	env := os.Getenv("SOURCE_DATE_EPOCH")
	if env == "" {
		return time.Time{}, nil
	}
	sec, err := strconv.ParseInt(strings.TrimSpace(env), 10, 64)
	if err != nil || sec < 0 {
		return time.Time{}, &ConfigError{Field: "SOURCE_DATE_EPOCH", Reason: fmt.Sprintf("%q is not a Unix time", env)}
	}
	return time.Unix(sec, 0).UTC(), nil
}

// Validate reports every problem of the configuration at once, each a
// *ConfigError naming the Config field to fix (joined with errors.Join),
// before anything is built: a required field missing for a stage that
// will run, a bad version or channel, a tap configuration Homebrew or
// Scoop cannot take (Taps.Description, ...), an install script that
// cannot be rendered (InstallScript.BaseURL, ...), a signer that the self-updaters'
// pinned keys do not trust (ClientKeys). Prepare calls it first;
// Pipeline, which only lays the stages out, checks less.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &ConfigError{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	skipped := func(names ...string) bool {
		for _, n := range names {
			if !slices.Contains(c.Skip, n) {
				return false
			}
		}
		return true
	}
	if c.Project == "" {
		bad("Project", "required")
	}
	switch {
	case c.Build == nil && len(c.Prebuilt) == 0:
		bad("Build", "set Build or Prebuilt")
	case c.Build != nil && len(c.Prebuilt) > 0:
		bad("Prebuilt", "set Build or Prebuilt, not both")
	case c.Build != nil && len(c.Build.Targets) == 0:
		bad("Build.Targets", "no targets")
	}
	if c.Build != nil {
		for _, p := range c.Build.Targets {
			if _, err := manifest.ParsePlatform(p.String()); err != nil {
				bad("Build.Targets", "%v", err)
			}
		}
	}
	if c.Version != "" {
		if _, err := manifest.ParseVersion(c.Version); err != nil {
			bad("Version", "%v", err)
		}
	}
	if c.Channel != "" && !manifest.ValidChannel(c.Channel) {
		bad("Channel", "%q is not a channel name", c.Channel)
	}
	if c.ManifestTTL != 0 && c.ManifestTTL < MinManifestTTL {
		bad("ManifestTTL", "%v is shorter than %v: clients would refuse the manifest as expired", c.ManifestTTL, MinManifestTTL)
	}
	if c.SourceURI == "" && !skipped("provenance") && !c.Snapshot {
		bad("SourceURI", `required for the provenance ("git+https://github.com/OWNER/REPO"), or skip the "provenance" stage`)
	}
	if len(c.Signers) == 0 && !skipped("sign", "sign-manifest") {
		bad("Signers", "no signing key (load one with sign.LoadSigner), or skip the \"sign\" and \"sign-manifest\" stages")
	}
	if c.Taps != nil {
		tc := *c.Taps
		if tc.Project == "" {
			tc.Project = c.Project
		}
		if err := tc.Validate(); err != nil {
			errs = append(errs, tapConfigError(err))
		}
	}
	if c.InstallScript != nil && !skipped("installer") {
		// Rendered now, so that a base URL or a name the script cannot
		// take fails before the build. A missing key is the Signers
		// problem above.
		if s := c.installScript(); s.Key != nil {
			if _, err := s.Render(); err != nil {
				var ce *installsh.ConfigError
				if errors.As(err, &ce) {
					bad("InstallScript."+ce.Field, "%s", ce.Reason)
				} else {
					bad("InstallScript", "%v", err)
				}
			}
		}
	}
	if len(c.ClientKeys) > 0 {
		pinned, err := verify.NewKeyRing(c.ClientKeys...)
		if err != nil {
			bad("ClientKeys", "%v", err)
		} else {
			for _, s := range c.Signers {
				if _, ok := pinned.Key(s.KeyID()); !ok {
					bad("Signers", "key %s is not among ClientKeys, the keys the self-updaters pin: they would refuse this release (sign with a pinned key, or ship clients that pin this one first)", s.KeyID())
				}
			}
		}
	}
	return errors.Join(errs...)
}

// installScript is Config.InstallScript with the release's project and
// the first signer's key filled in.
func (c Config) installScript() installsh.Script {
	s := *c.InstallScript
	if s.Project == "" {
		s.Project = c.Project
	}
	if s.Key == nil {
		s.Key = signingKey(c.Signers)
	}
	return s
}

// notesInRepo resolves a notes source's relative paths against the
// repository (Config.Repo), as Build.Dir and Guard.Dir are.
func notesInRepo(n NotesSource, repo string) NotesSource {
	in := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(repo, p)
	}
	switch s := n.(type) {
	case Changelog:
		s.Path = in(s.Path)
		return s
	case *Changelog:
		c := *s
		c.Path = in(c.Path)
		return &c
	case NotesTemplate:
		s.Path = in(s.Path)
		return s
	case *NotesTemplate:
		c := *s
		c.Path = in(c.Path)
		return &c
	case Fragments:
		s.Dir = in(s.Dir)
		return s
	case *Fragments:
		c := *s
		c.Dir = in(c.Dir)
		return &c
	}
	return n
}

// PrepareStageNames returns the order of the stages [Prepare] runs. "prebuilt"
// replaces "build" when Config.Prebuilt is used; "notes", "tap-check",
// "linux-packages", "source", "image", "installer" and "installer-key"
// run only when configured.
func PrepareStageNames() []string {
	return []string{
		"guard", "notes", "tap-check", "build", "package", "linux-packages", "source", "image", "sbom", "provenance", "checksums",
		"sign", "installer", "installer-key", "manifest", "sign-manifest", "verify-staged", "summary",
	}
}

// Pipeline returns the stages and the initial state [Prepare] runs, for
// callers that want to add, reorder or inspect stages before running
// them with [Pipeline.Run].
func (c Config) Pipeline() (*Pipeline, *State, error) {
	if c.Project == "" {
		return nil, nil, &ConfigError{Field: "Project", Reason: "required"}
	}
	dist := c.Dist
	if dist == "" {
		dist = "dist"
	}
	repo := c.Repo
	if repo == "" {
		repo = "."
	}
	dist, err := filepath.Abs(dist)
	if err != nil {
		return nil, nil, err
	}
	st := &State{Project: c.Project, Root: filepath.Join(dist, "release"), Work: filepath.Join(dist, "build"), Date: c.SourceDate.UTC()}

	g := c.Guard
	if c.Snapshot {
		g = Guard{Env: c.Guard.Env}
	}
	if g.Dir == "" {
		g.Dir = repo
	}
	if g.Version == "" {
		g.Version = c.Version
	}
	if c.Snapshot && g.Version == "" {
		g.Version = "0.0.0-snapshot"
		if head, err := (git{dir: repo, env: g.Env}).head(context.Background()); err == nil {
			g.Version += ".g" + head[:7]
		}
	}
	if g.Published == nil && !c.Snapshot {
		g.Published = c.Published
	}
	stages := []Stage{&g}
	if c.Notes != nil {
		stages = append(stages, &Notes{From: notesInRepo(c.Notes, repo)})
	}
	if c.Taps != nil {
		tc := *c.Taps
		if tc.Project == "" {
			tc.Project = c.Project
		}
		if err := tc.Validate(); err != nil {
			return nil, nil, tapConfigError(err)
		}
		stages = append(stages, &tapCheck{c: tc})
	}
	switch {
	case c.Build != nil:
		b := *c.Build
		if b.Dir == "" {
			b.Dir = repo
		}
		stages = append(stages, &b)
	case len(c.Prebuilt) > 0:
		stages = append(stages, &Prebuilt{Binaries: c.Prebuilt})
	default:
		return nil, nil, &ConfigError{Field: "Build", Reason: "set Build or Prebuilt"}
	}
	pkg := c.Package
	if err := pkg.check(); err != nil {
		return nil, nil, err
	}
	if c.Image != nil && len(pkg.Formats) > 0 && !slices.Contains(pkg.Formats, FormatTarGz) {
		return nil, nil, &ConfigError{Field: "Package.Formats", Reason: "the image is built from the linux .tar.gz archives: add " + FormatTarGz}
	}
	stages = append(stages, &pkg)
	if b, ok := stages[len(stages)-2].(*Build); ok && !slices.Contains(c.Skip, pkg.Name()) {
		b.pack = &pkg // package each target while the others build
	}
	if c.LinuxPackages != nil {
		lp := *c.LinuxPackages
		if err := lp.check(); err != nil {
			return nil, nil, err
		}
		stages = append(stages, &lp)
	}
	if c.Source {
		stages = append(stages, &Source{Dir: repo, Env: g.Env})
	}
	if c.Image != nil {
		stages = append(stages, &ImageBuild{Image: c.Image, Channel: c.Channel})
	}
	sb := c.SBOM
	if sb == nil {
		sb = &SBOM{}
	}
	stages = append(stages, sb,
		&Provenance{SourceURI: c.SourceURI, BuilderID: c.BuilderID, Signers: c.Signers},
		Checksums{},
		&Sign{Signers: c.Signers},
	)
	if c.InstallScript != nil {
		stages = append(stages, &InstallScriptStage{Script: c.installScript()}, &InstallerKeyCheck{Key: signingKey(c.Signers)})
	}
	stages = append(stages,
		&UpdateManifest{Published: c.Published, Channel: c.Channel, TTL: c.ManifestTTL, Now: c.Now},
		&SignManifest{Signers: c.Signers},
		&VerifyStaged{Signers: c.Signers},
		&Summary{Dir: dist},
	)
	p := &Pipeline{Stages: stages, Skip: c.Skip, Snapshot: c.Snapshot, Logger: c.Logger}
	return p, st, p.Check()
}

// Prepare stages and signs a release, publishing nothing: guard, notes,
// build, package, source archive, SBOM, provenance, checksums, sign,
// installer and its drift check, manifest, manifest signature, verification
// of the staged directory and a summary (see [PrepareStageNames]). The result
// is Dist/release, laid out as it will be published; hand it to [Publish]
// (now, or later on another machine) so that what was verified is what
// ships.
func Prepare(ctx context.Context, c Config) (*State, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	p, st, err := c.Pipeline()
	if err != nil {
		return nil, err
	}
	if c.Clean {
		for _, d := range []string{st.Root, st.Work} {
			if err := os.RemoveAll(d); err != nil {
				return nil, err
			}
		}
	} else if entries, err := os.ReadDir(st.Root); err == nil && len(entries) > 0 {
		return nil, &ConfigError{Field: "Dist", Reason: st.Root + " is not empty (set Clean to remove it)"}
	}
	for _, d := range []string{st.Root, st.Work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	return st, p.Run(ctx, st)
}

// PublishConfig describes the publishing of an already staged release
// for [Publish].
type PublishConfig struct {
	// Root is the staged release (Config.Dist + "/release"); required.
	Root string
	// Version selects the staged version; empty means the only version
	// directory under Root.
	Version string
	// Publisher uploads the release; required.
	Publisher Publisher
	// Keys are the trusted public keys (PEM) the staged and the remote
	// release are verified with, and the installer's embedded key is
	// compared with (the first); required.
	Keys [][]byte
	// Remote is where clients read the release (verify.NewHTTP or
	// verify.Dir); nil skips the remote verification.
	Remote verify.Location
	// Image, when set, pushes the image the release recorded (stage
	// "push-image", [ImagePush]) before anything is published; give it
	// the ImageConfig [Config.Image] had. Nil pushes nothing.
	Image *ImageConfig
	// Flat says Remote serves files under their base names (GitHub
	// release assets); see [RemoteVerify].
	Flat bool
	// Signers, when set, sign the manifest committed at publish time: the
	// destination's current manifest (verified with Keys) with the staged
	// release merged into it, so that a stale base or a racing publisher
	// never loses a release (see [PublishStage]). Without Signers the
	// staged manifest is published as it is, and a destination that moved
	// on since Prepare is refused (a *manifest.HistoryError or a
	// *publish.RaceError): prepare again.
	Signers []sign.Signer
	// Threshold is how many of Keys must have signed the destination's
	// manifest for the release to be merged into it: the clients'
	// threshold, so that a manifest they refuse is never re-signed into
	// one they accept. Default: the number of Signers.
	Threshold int
	// ManifestTTL is the merged manifest's lifetime; 0 means
	// [DefaultManifestTTL].
	ManifestTTL time.Duration
	// Now is the clock for the merged manifest; nil is time.Now.
	Now func() time.Time
	// SummaryDir receives release-summary.md/.json; empty means the
	// parent of Root.
	SummaryDir string
	// Skip names stages not to run.
	Skip []string
	// Logger receives progress, one record per stage start and end.
	// Default (nil): discard it; pass slog.Default() to log where the
	// program logs.
	Logger *slog.Logger
}

// PublishStageNames returns the order of the stages [Publish] runs.
// "push-image" runs only with PublishConfig.Image.
func PublishStageNames() []string {
	return []string{"installer-key", "verify-staged", "push-image", "publish", "remote-verify", "summary"}
}

// Publish publishes a release that [Prepare] staged, without rebuilding:
// it re-checks the installer's key and the staged files against the
// trusted keys, pushes the recorded container image (with
// PublishConfig.Image), publishes (manifest.json last), verifies the release at
// its public location, and writes the summary. It fails when an expected
// file is missing remotely (*MissingAssetsError) or any check fails.
func Publish(ctx context.Context, c PublishConfig) (*State, error) {
	if c.Root == "" {
		return nil, &ConfigError{Field: "Root", Reason: "required"}
	}
	if len(c.Keys) == 0 {
		return nil, fmt.Errorf("publish: %w", ErrNoSigningKey)
	}
	st, err := LoadStaged(c.Root, c.Version)
	if err != nil {
		return nil, err
	}
	st.Work = c.SummaryDir
	if st.Work == "" {
		st.Work = filepath.Dir(filepath.Clean(c.Root))
	}
	var stages []Stage
	if _, err := os.Stat(filepath.Join(c.Root, installsh.File)); err == nil {
		key, err := verify.ParsePublicKey(c.Keys[0])
		if err != nil {
			return nil, err
		}
		stages = append(stages, &InstallerKeyCheck{Key: key})
	}
	stages = append(stages, &VerifyStaged{Keys: c.Keys})
	if c.Image != nil {
		stages = append(stages, &ImagePush{Image: c.Image})
	}
	stages = append(stages, &PublishStage{Publisher: c.Publisher, Signers: c.Signers, Keys: c.Keys, Threshold: c.Threshold, TTL: c.ManifestTTL, Now: c.Now})
	if c.Remote != nil {
		stages = append(stages, &RemoteVerify{Location: c.Remote, Keys: c.Keys, Flat: c.Flat})
	}
	stages = append(stages, &Summary{})
	p := &Pipeline{Stages: stages, Skip: c.Skip, Logger: c.Logger}
	return st, p.Run(ctx, st)
}

// LoadStaged reads the state of a staged release back from its
// manifest.json: project, version, tag, commit, date and the artifacts of
// version (empty: the only version directory under root).
func LoadStaged(root, version string) (*State, error) {
	m, err := manifest.LoadFile(filepath.Join(root, manifest.File))
	if err != nil {
		return nil, fmt.Errorf("staged release %s: %w", root, err)
	}
	if version == "" {
		entries, err := os.ReadDir(root)
		if err != nil {
			return nil, err
		}
		var dirs []string
		for _, e := range entries {
			if e.IsDir() {
				dirs = append(dirs, e.Name())
			}
		}
		if len(dirs) != 1 {
			return nil, &ConfigError{Field: "Version", Reason: fmt.Sprintf("%s holds %d version directories %v: name one", root, len(dirs), dirs)}
		}
		version = dirs[0]
	}
	rel, ok := m.Release(version)
	if !ok {
		return nil, fmt.Errorf("staged release %s: version %s: %w", root, version, manifest.ErrNotFound)
	}
	v, err := rel.ParsedVersion()
	if err != nil {
		return nil, err
	}
	st := &State{Project: m.Project, Version: v, Tag: rel.Tag, Commit: rel.Commit, Date: rel.Date, Root: root}
	for _, a := range rel.Artifacts {
		st.AddArtifact(a)
	}
	return st, nil
}
