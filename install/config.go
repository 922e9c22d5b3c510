package install

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/verify"
)

// Config configures an [Installer]. Four fields are required: Project,
// Source, Dir and Trust. Every other field has a default, stated in its
// comment, and most programs leave them alone:
//
//	install.New(install.Config{
//		Project: "hello",
//		Source:  "https://releases.example.com/hello/",
//		Dir:     filepath.Dir(exe),
//		Trust:   &verify.Trust{Keys: ring},
//	})
//
// The optional settings are grouped by what they are about: the
// installed program (CurrentVersion, Binaries, ArchiveDir, Platform,
// Mode, LockWait), what the user sees (Logger, Progress, Confirm), the
// transfer ([Network]), the check of the new binaries ([Health]) and the
// size caps ([Limits]). What one call may do (downgrade, reinstall,
// replace a package manager's binary) is not configured here: it is a
// [CallOption] of that call. [New] checks the whole Config and reports
// every problem at once.
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
	// release root URL; see [verify.Forge] and Network.ForgeToken.
	Source string
	// Dir is the directory the binaries are installed into, usually
	// filepath.Dir of os.Executable. Required.
	Dir string
	// Trust is what releases must be signed by: pinned signing keys
	// (Keys, with Threshold, default 1), or pinned root keys (Roots, with
	// RootThreshold, default all of them) that certify the signing keys
	// in the release's keys.json and rotate through the root chain; see
	// [verify.Trust]. Required: without it (or with no key in it) New
	// fails with an error wrapping [ErrNoTrust].
	//
	// The installer binds Trust to Project: its Project must be "" or
	// Project, and another project's manifest, keys.json or root set is
	// refused unless Trust.UnsafeAnyProject. It records the highest
	// serials accepted (and the newest root set) in a state file next to
	// the binaries, in addition to Trust.State when that is set, so a
	// rollback is refused after a restart too; Trust.UnsafeMemoryState
	// leaves the state file out (Trust.State alone, or memory, then
	// remembers). Trust.Clock defaults to Now.
	Trust *verify.Trust

	// CurrentVersion is the installed version as the running program
	// knows it (from its build info). Default: read from the receipt. A
	// value that is not a release version ("dev", "(devel)": a
	// development build) counts as unknown, with a warning in Check's and
	// Install's results.
	CurrentVersion string
	// Binaries are the base names of the files to install from a
	// release archive; the first is the primary binary, which is
	// health-checked and names the installer's lock, receipt and backups.
	// Default: Project (plus ".exe" on Windows); New refuses the default
	// when the running program is in Dir under another name.
	Binaries []string
	// ArchiveDir is the directory inside an archive that holds the
	// binaries. Default "": bare names at the archive root, as banger's
	// archives have them.
	ArchiveDir string
	// Platform is the platform to install for. Default: the running
	// binary's (runtime.GOOS/runtime.GOARCH). A query's own Platform
	// overrides it for that query.
	Platform manifest.Platform
	// Mode is the permission of a binary installed where none was.
	// Replacing a binary keeps the old one's mode and owner. Default
	// 0755.
	Mode fs.FileMode
	// LockWait is how long Install and Rollback wait for another install
	// into Dir to finish; the wait is logged once ("waiting for the
	// install lock"). Default 0: fail at once with a *[LockedError].
	LockWait time.Duration

	// Logger receives progress and warnings. Default nil: nothing is
	// logged, as everywhere in relkit (a library writes to no logger it
	// was not given); every warning is also in Result.Warnings or
	// Update.Warnings. Pass slog.Default() to log where the program does.
	Logger *slog.Logger
	// Progress, when set, is called as download bytes arrive with the
	// bytes done and the total (-1 when unknown). It is called from the
	// installing goroutine; render it, do not block in it. Default: no
	// progress report.
	Progress func(done, total int64)
	// Confirm, when set, is asked before anything is downloaded, with
	// the answer Check would give; returning false cancels the install
	// with [ErrDeclined]. Default: no question.
	Confirm func(ctx context.Context, u *Update) (bool, error)
	// Now is the clock, for manifest expiry, receipts and LockWait.
	// Default time.Now.
	Now func() time.Time

	// Network is how releases are fetched: HTTP client, retries,
	// timeouts, a forge token. The zero value is the default of each
	// field.
	Network Network
	// Health is the check of the new binaries before an install commits.
	// The zero value runs "<binary> version".
	Health Health
	// Limits caps download and extraction sizes. Zero fields take their
	// defaults.
	Limits Limits
}

// Network is how an [Installer] fetches releases. Each zero field takes
// the default its comment states.
type Network struct {
	// HTTPClient makes every request. Default: a client with proxies from
	// the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY), a 30 s
	// response-header timeout and a 15 s TLS handshake timeout. Redirects
	// follow [verify.CheckRedirect] (same scheme or http->https; never
	// https->http or another scheme) before the client's own
	// CheckRedirect, if any.
	HTTPClient *http.Client
	// UserAgent is sent with every request. Default "relkit-install".
	UserAgent string
	// ForgeToken reads a private forge repository (only with a forge
	// Config.Source). It is sent to that forge alone: on GitHub through
	// the REST API (its asset endpoint), on Gitea and Forgejo with the
	// download URLs; never to the host a download redirects to. Default
	// "": the public download URLs, which need no token and spend no API
	// rate limit.
	ForgeToken string
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
}

// check appends n's problems to bad, naming each field in full.
func (n Network) check(bad func(string, ...any)) {
	for name, d := range map[string]time.Duration{"RetryBackoff": n.RetryBackoff, "StallTimeout": n.StallTimeout, "ThroughputWindow": n.ThroughputWindow} {
		if d < 0 {
			bad("Network.%s %v: must not be negative", name, d)
		}
	}
}

// withDefaults returns n with every zero field set to its default, and
// the "off" values (negative) turned into what the downloader reads.
func (n Network) withDefaults() Network {
	if n.HTTPClient == nil {
		n.HTTPClient = defaultClient()
	}
	if n.UserAgent == "" {
		n.UserAgent = "relkit-install"
	}
	switch {
	case n.Retries == 0:
		n.Retries = DefaultRetries
	case n.Retries < 0:
		n.Retries = 0
	}
	if n.RetryBackoff == 0 {
		n.RetryBackoff = DefaultRetryBackoff
	}
	if n.StallTimeout == 0 {
		n.StallTimeout = DefaultStallTimeout
	}
	switch {
	case n.DownloadTimeout == 0:
		n.DownloadTimeout = DefaultDownloadTimeout
	case n.DownloadTimeout < 0:
		n.DownloadTimeout = 0 // no bound beyond the context's
	}
	switch {
	case n.MinThroughput == 0:
		n.MinThroughput = DefaultMinThroughput
	case n.MinThroughput < 0:
		n.MinThroughput = 0 // off
	}
	if n.ThroughputWindow == 0 {
		n.ThroughputWindow = DefaultThroughputWindow
	}
	return n
}

// defaultClient is the HTTP client used when Network.HTTPClient is nil.
func defaultClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone() // proxies from the environment
	t.ResponseHeaderTimeout = 30 * time.Second
	t.TLSHandshakeTimeout = 15 * time.Second
	return &http.Client{Transport: t}
}

// Health is the check of the new binaries after they are swapped in and
// before the install commits: when it fails, the previous binaries are
// restored and Install returns a *[HealthCheckError]. Each zero field
// takes the default its comment states.
type Health struct {
	// Check checks the new primary binary. Default
	// [VersionCommand]("version"), which runs "<binary> version" and
	// wants the new version in its output.
	Check HealthCheck
	// Timeout bounds Check. Default [DefaultHealthTimeout].
	Timeout time.Duration
	// CheckBuildVersion makes Install refuse, before the swap, an
	// extracted Go binary whose build information states a tagged version
	// other than the release's (a *[BuildVersionError]): relkit's release
	// builds stamp it (go version -m shows v1.2.3). Binaries without it,
	// "(devel)", dirty or pseudo-versions pass. Default false, for
	// releases that ship other programs' binaries.
	CheckBuildVersion bool
}

// withDefaults returns h with every zero field set to its default.
func (h Health) withDefaults() Health {
	if h.Check == nil {
		h.Check = VersionCommand()
	}
	if h.Timeout == 0 {
		h.Timeout = DefaultHealthTimeout
	}
	return h
}

// New checks cfg and returns an Installer. It fails with a *ConfigError
// listing every problem; when no trust material is set, that error wraps
// [ErrNoTrust]: the installer never installs unverified bytes.
func New(cfg Config) (*Installer, error) {
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }

	if cfg.Project == "" {
		bad("Project is required")
	}
	if cfg.Source == "" {
		bad("Source is required (a release root URL or directory, or an archive path)")
	}
	if _, isForge, err := verify.ParseForgeRepo(cfg.Source); err != nil {
		bad("Source: %v", err)
	} else if !isForge && cfg.Network.ForgeToken != "" {
		bad("Network.ForgeToken is only for a forge Source (github:OWNER/REPO, gitea:HOST/OWNER/REPO, ...), and Source %q is not one", cfg.Source)
	}
	if cfg.Dir == "" {
		bad("Dir is required (the directory to install into)")
	} else if abs, err := filepath.Abs(cfg.Dir); err != nil {
		bad("Dir %q: %v", cfg.Dir, err)
	} else {
		cfg.Dir = abs
	}
	trustErr := checkTrust(&cfg, bad)

	platform := cfg.Platform
	if platform.OS == "" && platform.Arch == "" {
		platform = manifest.Platform{OS: runtime.GOOS, Arch: runtime.GOARCH}
	} else if p, err := manifest.ParsePlatform(platform.OS + "/" + platform.Arch); err != nil {
		bad("Platform: %v", err)
	} else {
		platform = p
	}
	checkBinaries(&cfg, platform, bad)
	var devVersion string
	if cfg.CurrentVersion != "" {
		if _, err := manifest.ParseVersion(cfg.CurrentVersion); err != nil {
			// A development build ("dev", "(devel)"): the installed
			// version is unknown, not an error.
			devVersion, cfg.CurrentVersion = cfg.CurrentVersion, ""
		}
	}
	if cfg.LockWait < 0 {
		bad("LockWait %v: must not be negative", cfg.LockWait)
	}
	if cfg.Mode&^fs.ModePerm != 0 {
		bad("Mode %v: only permission bits", cfg.Mode)
	}
	cfg.Network.check(bad)
	if cfg.Health.Timeout < 0 {
		bad("Health.Timeout %v: must not be negative", cfg.Health.Timeout)
	}
	if cfg.Limits.MaxDownload < 0 || cfg.Limits.MaxEntrySize < 0 || cfg.Limits.MaxTotalSize < 0 || cfg.Limits.MaxRatio < 0 || cfg.Limits.MaxEntries < 0 {
		bad("Limits: must not be negative")
	}
	if len(problems) > 0 {
		return nil, &ConfigError{Problems: problems, Err: trustErr}
	}

	cfg = cfg.withDefaults()
	in := &Installer{
		cfg: cfg, platform: platform, lim: cfg.Limits.withDefaults(), devVersion: devVersion,
		now: cfg.Now, log: cfg.Logger, client: cfg.Network.HTTPClient, health: cfg.Health.Check,
	}
	if cfg.Trust.UnsafeMemoryState {
		in.state = verify.NewMemoryState()
	} else {
		in.state = &lenientState{FileState: verify.NewFileState(statePath(cfg.Dir, in.primary())), dir: cfg.Dir, log: in.log}
	}
	t, v, err := in.buildTrust()
	if err != nil {
		return nil, err
	}
	in.trust, in.verifier = t, v
	in.sw = &swapper{dir: cfg.Dir, primary: in.primary(), log: in.log, mode: cfg.Mode}
	return in, nil
}

// checkTrust copies cfg.Trust (the Installer never writes to the
// caller's value) and reports its problems to bad,
// as the installer will use it: bound to cfg.Project. It returns
// [ErrNoTrust] when no key is given.
func checkTrust(cfg *Config, bad func(string, ...any)) error {
	if cfg.Trust == nil {
		bad("Trust is required: the keys releases must be signed by (relkit never installs unverified releases)")
		return ErrNoTrust
	}
	t := *cfg.Trust
	cfg.Trust = &t
	if t.Project != "" && t.Project != cfg.Project {
		bad("Trust is for project %q, Project is %q", t.Project, cfg.Project)
		return nil
	}
	err := boundTrust(t, cfg.Project, verify.NewMemoryState(), nil).Validate()
	if err == nil {
		return nil
	}
	var te *verify.TrustError
	if errors.As(err, &te) {
		for _, p := range te.Problems {
			bad("Trust: %s", p)
		}
	} else {
		bad("Trust: %v", err)
	}
	if errors.Is(err, verify.ErrNoTrustedKeys) {
		return ErrNoTrust
	}
	return nil
}

// withDefaults returns a checked cfg with every zero optional field set to
// its default.
func (cfg Config) withDefaults() Config {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler) // nothing logged unless asked
	}
	if cfg.Mode == 0 {
		cfg.Mode = 0o755
	}
	cfg.Network = cfg.Network.withDefaults()
	cfg.Health = cfg.Health.withDefaults()
	return cfg
}

// checkBinaries defaults cfg.Binaries to the project's name on platform
// and checks them and cfg.ArchiveDir, reporting problems to bad.
func checkBinaries(cfg *Config, platform manifest.Platform, bad func(string, ...any)) {
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
}

// boundTrust returns t bound to project (unless t.UnsafeAnyProject),
// remembering in state (as well as in t.State, when set, unless
// t.UnsafeMemoryState) and on clock when t has none.
func boundTrust(t verify.Trust, project string, state verify.State, clock func() time.Time) *verify.Trust {
	if !t.UnsafeAnyProject {
		t.Project = project
	}
	switch {
	case t.State == nil:
		t.State = state
	case !t.UnsafeMemoryState:
		t.State = bothStates{t.State, state}
	}
	if t.Clock == nil {
		t.Clock = clock
	}
	return &t
}

// buildTrust turns Config.Trust into the installer's verify.Trust: bound
// to Project (unless Trust.UnsafeAnyProject), on the installer's clock,
// and recording serials and root sets in the state file next to the
// binaries (as well as in Trust.State, when set). Without Roots no fetch
// is needed, and the release verifier is returned at once.
func (in *Installer) buildTrust() (*verify.Trust, *verify.Verifier, error) {
	t := boundTrust(*in.cfg.Trust, in.cfg.Project, in.state, in.now)
	if t.Roots != nil {
		if _, err := t.RootVerifier(); err != nil {
			return nil, nil, &ConfigError{Problems: []string{err.Error()}}
		}
		return t, nil, nil
	}
	v, err := t.Verifier(context.Background(), nil) // Keys only: reads nothing
	if err != nil {
		ce := &ConfigError{Problems: []string{err.Error()}}
		if errors.Is(err, verify.ErrNoTrustedKeys) {
			ce.Err = ErrNoTrust
		}
		return nil, nil, ce
	}
	return t, v, nil
}
