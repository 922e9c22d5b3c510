package install

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/verify"
)

// Config configures an [Installer]. Project, Source, Dir and trust
// material (Trust, or Keys and/or Roots, or Verifier) are required; every other field has a
// default, stated in its comment. [New] checks the whole Config and
// reports every problem at once.
type Config struct {
	// Project is the released project's name, as in manifest.json. A
	// signed manifest for another project is refused. Required.
	Project string
	// Source is where releases come from: the http:// or https:// URL of
	// a release root (manifest.json at its top), a forge repository, a
	// local release root directory (or its manifest.json), or a local
	// archive or bare binary (with SHA256SUMS and its signature beside
	// it), as an install script's --from accepts. Required.
	//
	// A forge repository is named explicitly, never guessed from a host
	// name other than github.com (see [verify.ParseForgeRepo]):
	// "github:OWNER/REPO" or "https://github.com/OWNER/REPO" for
	// github.com, "github:HOST/OWNER/REPO" or
	// "github:https://HOST/OWNER/REPO" for a GitHub Enterprise Server,
	// "gitea:HOST/OWNER/REPO" (or forgejo:, or with https://) for Gitea
	// and Forgejo. Releases are then read in the forge layout of
	// docs/wire-format.md (the root in the release tagged relkit-index,
	// each version in its own release) through the public download URLs,
	// with the same resume, limits, receipts and trust checks as a
	// release root URL; see [verify.Forge].
	Source string
	// ForgeToken reads a private forge repository (only with a forge
	// Source). It is sent to that forge alone: on GitHub through the
	// REST API (its asset endpoint), on Gitea and Forgejo with the
	// download URLs; never to the host a download redirects to. Default
	// "": the public download URLs, which need no token and spend no API
	// rate limit.
	ForgeToken string
	// Dir is the directory the binaries are installed into, usually
	// filepath.Dir of os.Executable. Required.
	Dir string
	// Binaries are the base names of the files to install from a
	// release archive; the first is the primary binary, which is
	// health-checked and names the installer's lock, receipt and backups.
	// Default: Project (plus ".exe" on Windows).
	Binaries []string
	// ArchiveDir is the directory inside an archive that holds the
	// binaries. Default "": bare names at the archive root, as banger's
	// archives have them.
	ArchiveDir string

	// Keys are the trusted signing keys. The installer builds a
	// [verify.Verifier] from them that checks the project name, uses
	// Now, and remembers the highest manifest serial seen in a state file
	// next to the binaries. Set Keys (and/or Roots), Trust or Verifier.
	Keys *verify.KeyRing
	// Threshold is how many distinct Keys must sign. Default 1.
	Threshold int
	// Verifier is a ready verifier, for callers that configure verify
	// themselves. Set Keys or Verifier. The installer uses a copy of it
	// (see [verify.Verifier.With]) bound to Project and recording serials
	// in the installer's state file as well as in the Verifier's own
	// State: a custom verifier drops neither protection unless
	// UnsafeSkipProjectCheck or UnsafeNoPersistentState says so. A
	// Verifier bound to another project is a *ConfigError.
	Verifier *verify.Verifier
	// Roots are root keys pinned in the program: the installer then
	// follows the root chain at the source (root/<n>.json, see
	// [verify.Verifier.FetchRoots]), reads keys.json (and its signatures),
	// verifies it with the newest trusted root set, and trusts the
	// signing keys it certifies (plus Keys, unless the bundle or the root
	// chain revokes them), so signing keys and root keys rotate without
	// a new program. Not with Verifier.
	Roots *verify.KeyRing
	// RootThreshold is how many distinct Roots must sign keys.json and
	// the first root rotation. Default: all of Roots (a rotated root set
	// carries its own threshold). Only with Roots.
	RootThreshold int
	// Trust is the whole trust material as one value (see
	// [verify.Trust]): keys or roots with their thresholds, the project
	// binding and state. Set Trust instead of Keys, Threshold, Roots,
	// RootThreshold and Verifier. Its Project must be empty or Project;
	// its State, when set, is used in addition to the installer's state
	// file; its Clock defaults to Now.
	Trust *verify.Trust

	// UnsafeSkipProjectCheck accepts a signed manifest whatever project
	// it names. Default false: the installer refuses a manifest whose
	// project is not Project, whatever Keys, Roots, Trust or Verifier
	// say (a validly signed release of a sibling project sharing the
	// key is not ours).
	UnsafeSkipProjectCheck bool
	// UnsafeNoPersistentState keeps accepted serials in memory only, so
	// rollback protection ends with the process. Default false: the
	// installer records the highest manifest (and keys.json and root)
	// serials in a state file next to the binaries, also when Verifier
	// is set (in addition to the Verifier's own State).
	UnsafeNoPersistentState bool

	// Platform is the platform to install for. Default: the running
	// binary's (runtime.GOOS/runtime.GOARCH).
	Platform manifest.Platform
	// CurrentVersion is the installed version as the running program
	// knows it (from its build info). Default: read from the receipt. A
	// value that is not a release version ("dev", "(devel)": a
	// development build) counts as unknown, with a warning in Check's and
	// Install's results.
	CurrentVersion string
	// CheckBuildVersion makes Install refuse an extracted Go binary
	// whose build information states a tagged version other than the
	// release's (a *BuildVersionError): relkit's release builds stamp it
	// (go version -m shows v1.2.3). Binaries without it, "(devel)",
	// dirty or pseudo-versions pass. Default false, for releases that
	// ship other programs' binaries.
	CheckBuildVersion bool

	// HTTPClient makes every request. Default: a client with proxies from
	// the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY) and a 30 s
	// response-header timeout. Redirects follow [verify.CheckRedirect]
	// (same scheme or http->https; never https->http or another scheme)
	// before the client's own CheckRedirect, if any.
	HTTPClient *http.Client
	// UserAgent is sent with every request. Default "relkit-install".
	UserAgent string
	// Logger receives progress and warnings. Default: discard.
	Logger *slog.Logger
	// Progress, when set, is called as download bytes arrive with the
	// bytes done and the total (-1 when unknown). It is called from the
	// installing goroutine; render it, do not block in it.
	Progress func(done, total int64)
	// Now is the clock, for manifest expiry and receipts. Default
	// time.Now.
	Now func() time.Time

	// Confirm, when set, is asked before anything is downloaded, with
	// the answer Check would give; returning false cancels the install
	// with [ErrDeclined]. Default: no question.
	Confirm func(ctx context.Context, u *Update) (bool, error)

	// HealthCheck checks the new primary binary before the install
	// commits. Default: VersionCommand("version"), which runs
	// "<binary> version" and wants the new version in its output.
	HealthCheck HealthCheck
	// HealthTimeout bounds the health check. Default
	// [DefaultHealthTimeout].
	HealthTimeout time.Duration
	// Mode is the permission of a binary installed where none was.
	// Replacing a binary keeps the old one's mode and owner. Default
	// 0755.
	Mode fs.FileMode

	// Limits caps download and extraction sizes. Zero fields take their
	// defaults.
	Limits Limits
	// Retries is how many times a failed download is retried (resuming
	// where the server allows). Default [DefaultRetries]; negative means
	// no retry.
	Retries int
	// RetryBackoff is the wait before the first retry, doubled each time.
	// Default [DefaultRetryBackoff].
	RetryBackoff time.Duration
	// StallTimeout aborts an attempt that receives nothing for this long.
	// Default [DefaultStallTimeout].
	StallTimeout time.Duration
	// DownloadTimeout bounds the download of one file (manifest.json, a
	// signature, keys.json or the artifact), retries and backoff included.
	// Default [DefaultDownloadTimeout]; negative means no bound beyond the
	// context's.
	DownloadTimeout time.Duration
	// MinThroughput is the slowest transfer accepted, in bytes per
	// second: an attempt that receives fewer than MinThroughput times
	// ThroughputWindow bytes in any ThroughputWindow of its body is cut
	// off with a *[SlowError] (a server trickling bytes just inside the
	// stall timeout, a slow-loris). Cut-off attempts are retried like
	// stalls, so a trickle costs at most (Retries+1) windows. Default
	// [DefaultMinThroughput]; negative turns the rule off.
	MinThroughput int64
	// ThroughputWindow is the interval over which MinThroughput is
	// measured. Default [DefaultThroughputWindow].
	ThroughputWindow time.Duration
	// LockWait is how long to wait for another install to finish.
	// Default 0: fail at once with a *LockedError.
	LockWait time.Duration
}

// Installer installs, updates and rolls back one project's binaries in
// one directory. Build it with [New]; its methods are safe to call from
// one goroutine at a time (the lock file serialises processes).
type Installer struct {
	cfg Config
	// devVersion is a CurrentVersion that is not a release version.
	devVersion string
	// verifier is the release verifier when no network is needed to
	// build it (Keys only, or Config.Verifier).
	verifier *verify.Verifier
	// trust builds the release verifier from Roots at each resolve.
	trust    *verify.Trust
	state    verify.State
	client   *http.Client
	log      *slog.Logger
	now      func() time.Time
	platform manifest.Platform
	health   HealthCheck
	lim      Limits
	sw       *swapper
}

// New checks cfg and returns an Installer. It fails with a *ConfigError
// listing every problem; when no trust material is set, that error wraps
// [ErrNoTrust]: the installer never installs unverified bytes.
func New(cfg Config) (*Installer, error) {
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	var trustErr error

	if cfg.Project == "" {
		bad("Project is required")
	}
	if cfg.Source == "" {
		bad("Source is required (a release root URL or directory, or an archive path)")
	}
	if _, isForge, err := verify.ParseForgeRepo(cfg.Source); err != nil {
		bad("Source: %v", err)
	} else if !isForge && cfg.ForgeToken != "" {
		bad("ForgeToken is only for a forge Source (github:OWNER/REPO, gitea:HOST/OWNER/REPO, ...), and Source %q is not one", cfg.Source)
	}
	if cfg.Dir == "" {
		bad("Dir is required (the directory to install into)")
	} else if abs, err := filepath.Abs(cfg.Dir); err != nil {
		bad("Dir %q: %v", cfg.Dir, err)
	} else {
		cfg.Dir = abs
	}
	switch {
	case cfg.Keys == nil && cfg.Verifier == nil && cfg.Roots == nil && cfg.Trust == nil:
		bad("no trusted keys: set Trust, Keys, Roots or Verifier (relkit never installs unverified releases)")
		trustErr = ErrNoTrust
	case cfg.Trust != nil && (cfg.Keys != nil || cfg.Roots != nil || cfg.Verifier != nil || cfg.Threshold != 0 || cfg.RootThreshold != 0):
		bad("set Trust, or Keys/Roots/Threshold/RootThreshold/Verifier, not both")
	case cfg.Trust != nil && cfg.Trust.Project != "" && cfg.Trust.Project != cfg.Project:
		bad("Trust is for project %q, Project is %q", cfg.Trust.Project, cfg.Project)
	case cfg.Verifier != nil && (cfg.Keys != nil || cfg.Roots != nil):
		bad("set Keys and/or Roots, or Verifier, not both")
	case cfg.Keys != nil && cfg.Keys.Len() == 0 && cfg.Roots == nil:
		bad("Keys is empty: add at least one trusted key")
		trustErr = ErrNoTrust
	case cfg.Roots != nil && cfg.Roots.Len() == 0:
		bad("Roots is empty: add at least one root key")
		trustErr = ErrNoTrust
	}
	if cfg.Threshold < 0 || cfg.Verifier != nil && cfg.Threshold != 0 {
		bad("Threshold %d: must be >= 0 and is only used with Keys", cfg.Threshold)
	}
	if cfg.RootThreshold < 0 || cfg.RootThreshold > 0 && cfg.Roots == nil || cfg.Roots != nil && cfg.RootThreshold > cfg.Roots.Len() {
		bad("RootThreshold %d: must be between 0 (all) and the %d Roots, and is only used with Roots", cfg.RootThreshold, cfg.Roots.Len())
	}

	platform := cfg.Platform
	if platform.OS == "" && platform.Arch == "" {
		platform = manifest.Platform{OS: runtime.GOOS, Arch: runtime.GOARCH}
	} else if p, err := manifest.ParsePlatform(platform.OS + "/" + platform.Arch); err != nil {
		bad("Platform: %v", err)
	} else {
		platform = p
	}
	if len(cfg.Binaries) == 0 && cfg.Project != "" {
		cfg.Binaries = []string{cfg.Project + platform.ExeSuffix()}
		if renamed := runningUnderOtherName(cfg.Dir, cfg.Binaries[0]); renamed != "" {
			// The program updating itself was renamed: installing the
			// project's name beside it would leave it at its version
			// forever while reporting success.
			bad("Binaries: the running program is %s, but Binaries defaults to %s (the project name), which %s does not hold: rename the program back to %s, or point Dir elsewhere",
				renamed, cfg.Binaries[0], cfg.Dir, cfg.Binaries[0])
		}
	}
	seen := map[string]bool{}
	for _, b := range cfg.Binaries {
		if b == "" || b == "." || b == ".." || strings.ContainsAny(b, `/\`) || strings.HasPrefix(b, ".") || strings.ContainsRune(b, 0) {
			bad("Binaries: %q is not a plain file name", b)
		}
		if seen[b] {
			bad("Binaries: %q listed twice", b)
		}
		seen[b] = true
	}
	if cfg.ArchiveDir != "" {
		c, reason := cleanEntryName(strings.TrimSuffix(cfg.ArchiveDir, "/"))
		if reason != "" || c == "." {
			bad("ArchiveDir %q: must be a relative path inside the archive", cfg.ArchiveDir)
		}
		cfg.ArchiveDir = c
	}
	var devVersion string
	if cfg.CurrentVersion != "" {
		if _, err := manifest.ParseVersion(cfg.CurrentVersion); err != nil {
			// A development build ("dev", "(devel)"): the installed
			// version is unknown, not an error.
			devVersion, cfg.CurrentVersion = cfg.CurrentVersion, ""
		}
	}
	for name, d := range map[string]time.Duration{"HealthTimeout": cfg.HealthTimeout, "RetryBackoff": cfg.RetryBackoff, "StallTimeout": cfg.StallTimeout, "ThroughputWindow": cfg.ThroughputWindow, "LockWait": cfg.LockWait} {
		if d < 0 {
			bad("%s %v: must not be negative", name, d)
		}
	}
	if cfg.Limits.MaxDownload < 0 || cfg.Limits.MaxEntrySize < 0 || cfg.Limits.MaxTotalSize < 0 || cfg.Limits.MaxRatio < 0 || cfg.Limits.MaxEntries < 0 {
		bad("Limits: must not be negative")
	}
	if cfg.Mode&^fs.ModePerm != 0 {
		bad("Mode %v: only permission bits", cfg.Mode)
	}
	if len(problems) > 0 {
		return nil, &ConfigError{Problems: problems, Err: trustErr}
	}

	in := &Installer{cfg: cfg, platform: platform, lim: cfg.Limits.withDefaults(), devVersion: devVersion}
	in.now = cfg.Now
	if in.now == nil {
		in.now = time.Now
	}
	in.log = cfg.Logger
	if in.log == nil {
		in.log = slog.New(slog.DiscardHandler)
	}
	in.client = cfg.HTTPClient
	if in.client == nil {
		in.client = defaultClient()
	}
	in.health = cfg.HealthCheck
	if in.health == nil {
		in.health = VersionCommand()
	}
	if in.cfg.HealthTimeout == 0 {
		in.cfg.HealthTimeout = DefaultHealthTimeout
	}
	if in.cfg.Mode == 0 {
		in.cfg.Mode = 0o755
	}
	switch {
	case in.cfg.Retries == 0:
		in.cfg.Retries = DefaultRetries
	case in.cfg.Retries < 0:
		in.cfg.Retries = 0
	}
	if in.cfg.RetryBackoff == 0 {
		in.cfg.RetryBackoff = DefaultRetryBackoff
	}
	if in.cfg.StallTimeout == 0 {
		in.cfg.StallTimeout = DefaultStallTimeout
	}
	switch {
	case in.cfg.DownloadTimeout == 0:
		in.cfg.DownloadTimeout = DefaultDownloadTimeout
	case in.cfg.DownloadTimeout < 0:
		in.cfg.DownloadTimeout = 0 // no bound beyond the context's
	}
	switch {
	case in.cfg.MinThroughput == 0:
		in.cfg.MinThroughput = DefaultMinThroughput
	case in.cfg.MinThroughput < 0:
		in.cfg.MinThroughput = 0 // off
	}
	if in.cfg.ThroughputWindow == 0 {
		in.cfg.ThroughputWindow = DefaultThroughputWindow
	}
	if in.cfg.UserAgent == "" {
		in.cfg.UserAgent = "relkit-install"
	}
	if cfg.UnsafeNoPersistentState {
		in.state = verify.NewMemoryState()
	} else {
		in.state = &lenientState{FileState: verify.NewFileState(statePath(cfg.Dir, in.primary())), dir: cfg.Dir, log: in.log}
	}
	if cfg.Verifier != nil {
		v, err := in.customVerifier(cfg.Verifier)
		if err != nil {
			return nil, err
		}
		in.verifier = v
	}
	if in.verifier == nil {
		t, v, err := in.buildTrust()
		if err != nil {
			return nil, err
		}
		in.trust, in.verifier = t, v
	}
	in.sw = &swapper{dir: cfg.Dir, primary: in.primary(), log: in.log, mode: in.cfg.Mode}
	return in, nil
}

// buildTrust turns Config.Trust, or Keys, Threshold, Roots and
// RootThreshold, into the installer's verify.Trust: bound to Project
// (unless UnsafeSkipProjectCheck), on the installer's clock, and
// recording serials and root sets in the state file next to the binaries
// (as well as in Trust.State, when set). Without Roots no fetch is needed,
// and the release verifier is returned at once.
func (in *Installer) buildTrust() (*verify.Trust, *verify.Verifier, error) {
	cfg := in.cfg
	var t verify.Trust
	if cfg.Trust != nil {
		t = *cfg.Trust
	} else {
		t = verify.Trust{Keys: cfg.Keys, Threshold: cfg.Threshold, Roots: cfg.Roots, RootThreshold: cfg.RootThreshold}
	}
	if cfg.UnsafeSkipProjectCheck {
		t.Project, t.UnsafeAnyProject = "", true
	} else {
		t.Project, t.UnsafeAnyProject = cfg.Project, false
	}
	switch {
	case t.State == nil:
		t.State = in.state
	case !cfg.UnsafeNoPersistentState:
		t.State = bothStates{t.State, in.state}
	}
	if t.Clock == nil {
		t.Clock = in.now
	}
	if err := t.Validate(); err != nil {
		ce := &ConfigError{Problems: []string{err.Error()}}
		if errors.Is(err, verify.ErrNoTrustedKeys) {
			ce.Err = ErrNoTrust
		}
		return nil, nil, ce
	}
	if t.Roots != nil {
		if _, err := t.RootVerifier(); err != nil {
			return nil, nil, &ConfigError{Problems: []string{err.Error()}}
		}
		return &t, nil, nil
	}
	v, err := t.Verifier(context.Background(), nil) // Keys only: reads nothing
	if err != nil {
		ce := &ConfigError{Problems: []string{err.Error()}}
		if errors.Is(err, verify.ErrNoTrustedKeys) {
			ce.Err = ErrNoTrust
		}
		return nil, nil, ce
	}
	return &t, v, nil
}

// customVerifier derives the installer's verifier from Config.Verifier:
// bound to Config.Project (unless UnsafeSkipProjectCheck) and recording
// serials in the installer's state file as well as in the verifier's own
// State (unless UnsafeNoPersistentState). A verifier bound to another
// project is a *ConfigError.
func (in *Installer) customVerifier(v *verify.Verifier) (*verify.Verifier, error) {
	var opts []verify.Option
	if !in.cfg.UnsafeSkipProjectCheck {
		if p := v.Project(); p != "" && p != in.cfg.Project {
			return nil, &ConfigError{Problems: []string{fmt.Sprintf("Verifier is for project %q, Project is %q", p, in.cfg.Project)}}
		}
		opts = append(opts, verify.WithProject(in.cfg.Project))
	}
	if !in.cfg.UnsafeNoPersistentState {
		opts = append(opts, verify.WithState(bothStates{v.State(), in.state}))
	}
	d, err := v.With(opts...)
	if err != nil {
		return nil, &ConfigError{Problems: []string{err.Error()}}
	}
	return d, nil
}

// bothStates is a verify.State that refuses what either state refuses
// (the higher recorded serial wins) and records in both. As a
// verify.RootState it reads the root set from the second (the
// installer's) first, and stores it in each that keeps root sets.
type bothStates [2]verify.State

// Root implements verify.RootState.
func (b bothStates) Root(ctx context.Context, key string) ([]byte, error) {
	for _, s := range []verify.State{b[1], b[0]} {
		if rs, ok := s.(verify.RootState); ok {
			if data, err := rs.Root(ctx, key); err != nil || data != nil {
				return data, err
			}
		}
	}
	return nil, nil
}

// SetRoot implements verify.RootState.
func (b bothStates) SetRoot(ctx context.Context, key string, data []byte) error {
	var errs []error
	for _, s := range b {
		if rs, ok := s.(verify.RootState); ok {
			errs = append(errs, rs.SetRoot(ctx, key, data))
		}
	}
	return errors.Join(errs...)
}

// Serial implements verify.State.
func (b bothStates) Serial(ctx context.Context, key string) (int64, error) {
	x, err := b[0].Serial(ctx, key)
	if err != nil {
		return 0, err
	}
	y, err := b[1].Serial(ctx, key)
	if err != nil {
		return 0, err
	}
	return max(x, y), nil
}

// SetSerial implements verify.State.
func (b bothStates) SetSerial(ctx context.Context, key string, serial int64) error {
	return errors.Join(b[0].SetSerial(ctx, key, serial), b[1].SetSerial(ctx, key, serial))
}

// lenientState is the installer's record of manifest serials. A user
// who cannot write the install directory can still Check for updates:
// the recorded serial is enforced, but a newer one cannot be recorded
// (an install, which needs write access anyway, records it).
type lenientState struct {
	*verify.FileState
	dir string // the install directory: never created by a Check
	log *slog.Logger
}

// SetSerial implements verify.State.
func (s *lenientState) SetSerial(ctx context.Context, key string, serial int64) error {
	return s.lenient(func() error { return s.FileState.SetSerial(ctx, key, serial) })
}

// SetRoot implements verify.RootState, as leniently as SetSerial.
func (s *lenientState) SetRoot(ctx context.Context, key string, data []byte) error {
	return s.lenient(func() error { return s.FileState.SetRoot(ctx, key, data) })
}

func (s *lenientState) lenient(write func() error) error {
	if _, err := os.Stat(s.dir); errors.Is(err, fs.ErrNotExist) {
		return nil // nothing installed here yet; Install fails on the missing directory
	}
	err := write()
	if err != nil && (errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS)) {
		s.log.Warn("cannot record what was verified (read-only install directory)", "err", err)
		return nil
	}
	return err
}

// defaultClient is the HTTP client used when Config.HTTPClient is nil.
func defaultClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone() // proxies from the environment
	t.ResponseHeaderTimeout = 30 * time.Second
	t.TLSHandshakeTimeout = 15 * time.Second
	return &http.Client{Transport: t}
}

func (in *Installer) primary() string { return in.cfg.Binaries[0] }

// Platform returns the platform the installer installs for.
func (in *Installer) Platform() manifest.Platform { return in.platform }

// Result describes what Install or Rollback did.
type Result struct {
	// Project is the project's name.
	Project string
	// Version is the version now installed; Previous the one before
	// ("" when nothing was installed or it is unknown).
	Version, Previous string
	// Changed is false when the version was already installed and
	// nothing was replaced.
	Changed bool
	// Artifact is the file that was downloaded (zero for Rollback).
	Artifact manifest.Artifact
	// Source is the URL or path the artifact came from.
	Source string
	// Paths are the installed files.
	Paths []string
	// Warnings are things the user should know (a deprecated release, a
	// recovered interrupted install).
	Warnings []string
}

// Update is the answer of [Installer.Check]: is there an update, to what,
// and why.
type Update struct {
	// Installed is the installed version, "" when none is known.
	Installed string
	// InstalledFrom says where Installed came from: "config"
	// (Config.CurrentVersion), "receipt", or "" when unknown.
	InstalledFrom string
	// Latest is the release and artifact the query selects.
	Latest manifest.Selection
	// Available reports that Install would install Latest: it is newer
	// than Installed, or nothing is installed.
	Available bool
	// Downgrade reports that Latest is older than Installed (Install
	// refuses it unless passed [AllowDowngrade]).
	Downgrade bool
	// Reason explains the answer in one sentence.
	Reason string
	// Warnings are things the user should know: the installed release
	// was yanked or deprecated, the selected one is deprecated.
	Warnings []string
}

// installed returns the installed version and where it came from.
func (in *Installer) installed() (string, string, *Receipt, []string) {
	var warnings []string
	r, err := ReadReceipt(in.cfg.Dir, in.primary())
	if err != nil && !errors.Is(err, ErrNotInstalled) {
		warnings = append(warnings, "ignoring unreadable receipt: "+err.Error())
		r = nil
	}
	if r != nil && len(r.Binaries) > 0 {
		// A receipt describes the binary only while it is the file that
		// was installed.
		b := r.Binaries[0]
		fi, err := os.Stat(filepath.Join(in.cfg.Dir, b.Name))
		if err != nil || fi.Size() != b.Size || !fi.ModTime().Equal(b.ModTime) {
			warnings = append(warnings, fmt.Sprintf("receipt says %s but %s was changed since; ignoring it", r.Version, b.Name))
			r = nil
		}
	}
	if in.devVersion != "" {
		warnings = append(warnings, fmt.Sprintf("the running program reports version %q, which is not a release version (a development build?): the installed version is taken as unknown", in.devVersion))
	}
	if in.cfg.CurrentVersion != "" {
		return strings.TrimPrefix(in.cfg.CurrentVersion, "v"), "config", r, warnings
	}
	if r != nil {
		return r.Version, "receipt", r, warnings
	}
	return "", "", nil, warnings
}

// Check answers "is there an update, to what, and why" for q (see
// manifest.Query; Platform defaults to the installer's). It fetches and
// verifies the signed manifest, and downloads no artifact. With the
// options an Install would get ([AllowDowngrade], [Reinstall],
// [AllowManaged]) it answers for that Install.
func (in *Installer) Check(ctx context.Context, q manifest.Query, opts ...CallOption) (*Update, error) {
	c := newCall(opts)
	// Check records serials in the state directory: never through a link.
	if err := checkRealDir(StateDir(in.cfg.Dir, in.primary())); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := in.sw.checkStateFiles(); err != nil {
		return nil, err
	}
	p, err := in.resolve(ctx, q)
	if err != nil {
		return nil, err
	}
	inst, from, _, warnings := in.installed()
	if err := in.checkManaged(ctx, c); err != nil {
		// Install would refuse: say so, and how to update instead.
		warnings = append(warnings, err.Error())
	}
	return in.update(p, inst, from, warnings, c), nil
}

// update builds the answer to Check for plan p and the call's policy c.
func (in *Installer) update(p *plan, inst, from string, warnings []string, c call) *Update {
	u := &Update{Installed: inst, InstalledFrom: from, Latest: p.sel, Warnings: append(warnings, p.warnings...)}
	if p.m != nil && inst != "" {
		if r, ok := p.m.Release(inst); ok && r.Status != manifest.StatusActive {
			u.Warnings = append(u.Warnings, fmt.Sprintf("installed %s is %s: %s", inst, r.Status, r.Reason))
		}
	}
	cand := p.sel.Release.Version
	switch cmp := in.compareInstalled(inst, cand); {
	case inst == "":
		u.Available = true
		u.Reason = fmt.Sprintf("%s is not installed in %s; %s is available (%s)", in.cfg.Project, in.cfg.Dir, cand, p.query)
	case cmp < 0:
		u.Available = true
		u.Reason = fmt.Sprintf("update available: %s -> %s (%s)", inst, cand, p.query)
	case cmp == 0 && c.reinstall:
		u.Available = true
		u.Reason = fmt.Sprintf("reinstall: %s is installed and is what %s selects", inst, p.query)
	case cmp == 0:
		u.Reason = fmt.Sprintf("up to date: %s is what %s selects", inst, p.query)
	default:
		u.Downgrade = true
		u.Available = c.allowDowngrade
		u.Reason = fmt.Sprintf("installed %s is newer than %s, which %s selects; installing it would be a downgrade", inst, cand, p.query)
	}
	return u
}

// compareInstalled compares versions by SemVer precedence; an installed
// version that does not parse counts as older.
func (in *Installer) compareInstalled(inst, cand string) int {
	if inst == "" {
		return -1
	}
	a, err1 := manifest.ParseVersion(inst)
	b, err2 := manifest.ParseVersion(cand)
	if err1 != nil || err2 != nil {
		return -1
	}
	return manifest.Compare(a, b)
}

// checkWritable fails with a *NotWritableError when dir cannot take new
// files.
func checkWritable(dir, primary string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return &NotWritableError{Dir: dir, Err: err}
	}
	if !fi.IsDir() {
		return &NotWritableError{Dir: dir, Err: errors.New("not a directory")}
	}
	f, err := createTemp(dir, primary, tempProbe)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return &NotWritableError{Dir: dir, Err: err}
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// begin checks the directory, takes the lock, finishes or undoes an
// interrupted swap and removes leftovers. It returns the unlock function
// and any warnings.
func (in *Installer) begin(ctx context.Context) (func(), []string, error) {
	if err := checkWritable(in.cfg.Dir, in.primary()); err != nil {
		return nil, nil, err
	}
	if err := in.sw.checkTargets(in.cfg.Binaries); err != nil {
		return nil, nil, err
	}
	if _, err := in.sw.stateDir(); err != nil {
		if errors.As(err, new(*UnsafePathError)) {
			return nil, nil, err
		}
		return nil, nil, &NotWritableError{Dir: StateDir(in.cfg.Dir, in.primary()), Err: err}
	}
	if err := in.sw.checkStateFiles(); err != nil {
		return nil, nil, err
	}
	unlock, err := acquireLock(ctx, lockPath(in.cfg.Dir, in.primary()), in.cfg.LockWait, in.now)
	if err != nil {
		return nil, nil, err
	}
	var warnings []string
	msg, err := in.sw.recoverSwap()
	if err != nil {
		unlock()
		return nil, nil, err
	}
	if msg != "" {
		in.log.Warn(msg)
		warnings = append(warnings, msg)
	}
	if _, err := in.sw.currentBackup(); errors.As(err, new(*UnsafePathError)) {
		unlock()
		return nil, nil, err // a tampered backup record: touch nothing
	}
	in.sw.cleanup(in.cfg.Binaries)
	return unlock, warnings, nil
}

// Install resolves q (see manifest.Query: Version, Channel, Alias or
// Constraint; none means the stable channel; Platform defaults to the
// installer's), verifies, downloads, extracts and swaps the binaries in,
// health-checks them and commits with a receipt. Any failure leaves the
// installed binaries as they were. The options ([AllowDowngrade],
// [Reinstall], [AllowManaged]) apply to this call only.
func (in *Installer) Install(ctx context.Context, q manifest.Query, opts ...CallOption) (*Result, error) {
	c := newCall(opts)
	if err := in.checkManaged(ctx, c); err != nil {
		return nil, err
	}
	unlock, warnings, err := in.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	p, err := in.resolve(ctx, q)
	if err != nil {
		return nil, err
	}
	warnings = append(warnings, p.warnings...)
	inst, from, rec, w := in.installed()
	warnings = append(warnings, w...)
	cand := p.sel.Release.Version
	res := &Result{Project: in.cfg.Project, Version: cand, Previous: inst, Artifact: p.sel.Artifact, Source: p.src.name(p.sel.Artifact.Path), Warnings: warnings}
	for _, b := range in.cfg.Binaries {
		res.Paths = append(res.Paths, filepath.Join(in.cfg.Dir, b))
	}
	switch cmp := in.compareInstalled(inst, cand); {
	case cmp > 0 && !c.allowDowngrade:
		return nil, &DowngradeError{Installed: inst, Candidate: cand}
	case cmp == 0 && !c.reinstall && rec != nil && rec.SHA256 == p.sel.Artifact.SHA256:
		in.log.Info("already installed", "version", cand)
		return res, nil
	}
	if p.sel.Release.Status == manifest.StatusDeprecated {
		in.log.Warn("installing a deprecated release", "version", cand, "reason", p.sel.Release.Reason)
	}
	if in.cfg.Confirm != nil {
		u := in.update(p, inst, from, warnings, c)
		ok, err := in.cfg.Confirm(ctx, u)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("install %s %s: %w", in.cfg.Project, cand, ErrDeclined)
		}
	}

	files, sum, err := in.fetchAndExtract(ctx, p)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, nf := range files {
			os.Remove(nf.Temp) // no-op after a successful rename
		}
	}()
	if err := in.checkBuildVersions(files, cand); err != nil {
		return nil, err
	}
	receipt := &Receipt{
		Schema: ReceiptSchema, Project: in.cfg.Project, Version: cand,
		Source: p.src.name(""), Artifact: p.sel.Artifact.Path, SHA256: sum,
		Platform: p.sel.Artifact.Platform().String(),
	}
	if p.sel.Artifact.OS == "" {
		receipt.Platform = ""
	}
	warning, err := in.commit(ctx, files, cand, rec, receipt)
	if err != nil {
		return nil, err
	}
	if warning != "" {
		res.Warnings = append(res.Warnings, warning)
	}
	res.Changed = true
	in.log.Info("installed", "project", in.cfg.Project, "version", cand, "previous", inst, "dir", in.cfg.Dir)
	return res, nil
}

// commit swaps files in as one set, health-checks them, and writes the
// receipt, restoring the previous set on any failure. rec is the current
// receipt (kept with the backups for Rollback). Once the receipt is
// written the install has committed: a failure of the bookkeeping after
// it (recording the backup set, removing the journal) is returned as a
// warning, and the next run completes it from the journal.
func (in *Installer) commit(ctx context.Context, files []newFile, version string, rec *Receipt, receipt *Receipt) (warning string, err error) {
	if err := in.sw.prepare(files); err != nil {
		return "", err
	}
	names := make([]string, len(files))
	for i, nf := range files {
		names[i] = nf.Name
	}
	backup, err := in.sw.backup(names, rec)
	if err != nil {
		return "", err
	}
	artifact := ""
	if receipt != nil {
		artifact = receipt.SHA256
	}
	j, err := in.sw.swapIn(files, version, artifact, backup)
	if err != nil {
		return "", err
	}
	in.log.Debug("swapped in", "version", version, "files", len(files))
	if version != "" {
		if he := runHealth(ctx, in.health, in.cfg.HealthTimeout, filepath.Join(in.cfg.Dir, in.primary()), version); he != nil {
			if rerr := in.sw.restore(j); rerr != nil {
				return "", errors.Join(he, fmt.Errorf("restoring the previous binaries failed: %w", rerr))
			}
			he.RolledBack = true
			in.log.Error("health check failed; previous binaries restored", "err", he)
			return "", he
		}
		in.log.Debug("health check passed", "version", version)
	}
	if receipt == nil {
		if err := removeDurably(ReceiptPath(in.cfg.Dir, in.primary())); err != nil {
			return "", err
		}
	} else {
		receipt.Installed = in.now().UTC().Truncate(time.Second)
		receipt.Binaries = nil
		for _, nf := range files {
			if nf.Temp == "" {
				continue // removed
			}
			fi, err := os.Stat(filepath.Join(in.cfg.Dir, nf.Name))
			if err != nil {
				if rerr := in.sw.restore(j); rerr != nil {
					return "", errors.Join(err, rerr)
				}
				return "", err
			}
			receipt.Binaries = append(receipt.Binaries, ReceiptBinary{Name: nf.Name, Size: fi.Size(), ModTime: fi.ModTime().UTC()})
		}
		if err := writeJSON(ReceiptPath(in.cfg.Dir, in.primary()), receipt); err != nil {
			if rerr := in.sw.restore(j); rerr != nil {
				return "", errors.Join(err, rerr)
			}
			return "", fmt.Errorf("write receipt: %w", err)
		}
	}
	if err := in.sw.finish(j); err != nil {
		in.log.Warn("installed, but recording the backup set failed; the next run completes it", "err", err)
		return "installed, but recording the backup set failed (the next run completes it): " + err.Error(), nil
	}
	return "", nil
}

// Rollback restores the binaries the last install replaced (and their
// receipt), health-checking them when their version is known. The
// replaced binaries become the new backup, so a second Rollback undoes
// the first. With no backup it fails with [ErrNoBackup]. Of the options,
// only [AllowManaged] concerns it; it applies to this call only.
func (in *Installer) Rollback(ctx context.Context, opts ...CallOption) (*Result, error) {
	if err := in.checkManaged(ctx, newCall(opts)); err != nil {
		return nil, err
	}
	unlock, warnings, err := in.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	info, err := in.sw.currentBackup()
	if err != nil {
		return nil, err
	}
	if info == nil {
		return nil, fmt.Errorf("rollback %s in %s: %w", in.cfg.Project, in.cfg.Dir, ErrNoBackup)
	}
	if len(info.Binaries) == 0 || !info.Binaries[0].Existed {
		return nil, fmt.Errorf("rollback %s in %s: %w (nothing was installed before)", in.cfg.Project, in.cfg.Dir, ErrNoBackup)
	}
	inst, _, rec, w := in.installed()
	warnings = append(warnings, w...)
	var files []newFile
	defer func() {
		for _, nf := range files {
			if nf.Temp != "" {
				os.Remove(nf.Temp)
			}
		}
	}()
	for _, e := range info.Binaries {
		nf := newFile{Name: e.Name}
		if e.Existed {
			tmp, err := in.sw.linkTemp(in.sw.backupFile(info, e.Name), e.Name)
			if err != nil {
				return nil, fmt.Errorf("rollback: %w", err)
			}
			nf.Temp = tmp
		}
		files = append(files, nf)
	}
	var receipt *Receipt
	if info.Receipt != nil {
		r := *info.Receipt
		receipt = &r
	}
	warning, err := in.commit(ctx, files, info.Version, rec, receipt)
	if err != nil {
		return nil, err
	}
	if warning != "" {
		warnings = append(warnings, warning)
	}
	res := &Result{Project: in.cfg.Project, Version: info.Version, Previous: inst, Changed: true, Warnings: warnings}
	for _, nf := range files {
		res.Paths = append(res.Paths, filepath.Join(in.cfg.Dir, nf.Name))
	}
	in.log.Info("rolled back", "project", in.cfg.Project, "version", info.Version, "from", inst)
	return res, nil
}

// executable is os.Executable (a test replaces it).
var executable = os.Executable

// runningUnderOtherName returns the running program's name when it lives
// in dir under a name other than primary and dir holds no primary: a
// self-updater that was renamed. Otherwise "".
func runningUnderOtherName(dir, primary string) string {
	exe, err := executable()
	if err != nil || dir == "" {
		return ""
	}
	if r, err := filepath.EvalSymlinks(exe); err == nil {
		exe = r
	}
	d, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	if r, err := filepath.EvalSymlinks(d); err == nil {
		d = r
	}
	if filepath.Dir(exe) != d || filepath.Base(exe) == primary {
		return ""
	}
	if _, err := os.Lstat(filepath.Join(d, primary)); err == nil {
		return ""
	}
	return filepath.Base(exe)
}
