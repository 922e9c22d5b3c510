package release

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/relkit/relkit/manifest"
)

// DefaultParallel is how many builds or archives run at once when a stage
// does not say: 2, the core count of the machines relkit's CI runs on.
// Set Parallel to runtime.NumCPU() on a larger builder.
const DefaultParallel = 2

// Main is one Go main package to build.
type Main struct {
	// Name is the binary's base name ("hello"; ".exe" is added for
	// windows). Empty uses State.Project.
	Name string
	// Package is the package to build, as go build takes it ("." or
	// "./cmd/hello").
	Package string
}

// LinkVars names the package variables the build sets with -ldflags -X,
// as fully qualified names ("main.version",
// "example.com/hello/internal/buildinfo.Commit"). Empty names are not set.
type LinkVars struct {
	Version string
	Commit  string
	Date    string
}

// BuildError reports a go build that failed, with the tail of its output.
type BuildError struct {
	Main     string
	Platform manifest.Platform
	Output   string
	Err      error
}

// Error implements the error interface.
func (e *BuildError) Error() string {
	return fmt.Sprintf("build %s for %s: %v\n%s", e.Main, e.Platform, e.Err, strings.TrimSpace(e.Output))
}

// Unwrap returns the underlying error.
func (e *BuildError) Unwrap() error { return e.Err }

// Build is the build stage ("build"): it cross-compiles Go main packages
// for every target and appends the binaries to State.Binaries (built in
// State.Work/<os>_<arch>/).
//
// Every build uses -trimpath, an empty build ID and CGO_ENABLED=0 unless
// CGO is set, so that the same commit and toolchain make the same bytes;
// version, commit and date are injected with -X into the variables Vars
// names. Up to Parallel builds run at once.
//
// Binaries state their own version: when Dir is in the release's git
// repository checked out at the release commit (HEAD is State.Commit), the
// build runs with -buildvcs=true, so the Go toolchain stamps the module
// version from the tag ("v1.2.3", not "(devel)") and vcs.revision,
// vcs.time and vcs.modified into the build information (`go version -m
// BIN`, debug/buildinfo, the SBOM). These derive from the commit, so the
// bytes stay reproducible. Otherwise (another checkout, no git, NoVCS) it
// runs with -buildvcs=false as before. A stamped version other than the
// release's (an uncommitted change gives "+dirty", a monorepo tag Go does
// not map to the module gives a pseudo-version) is logged as a warning.
type Build struct {
	// Dir is the directory go build runs in (the module); "" is the
	// current directory.
	Dir string
	// Mains are the main packages to build; empty builds "." named after
	// State.Project.
	Mains []Main
	// Targets are the platforms to build for; required.
	Targets []manifest.Platform
	// Vars names the variables to inject.
	Vars LinkVars
	// CGO enables cgo (off by default: static, cross-compilable binaries).
	CGO bool
	// Parallel limits concurrent builds; 0 means [DefaultParallel].
	Parallel int
	// Flags are extra go build flags ("-tags=netgo").
	Flags []string
	// LDFlags are extra linker flags ("-s", "-w").
	LDFlags []string
	// Env is added to the environment of every build (GOFLAGS, GOAMD64).
	Env []string
	// Go is the go command; "" finds "go" on PATH.
	Go string
	// NoVCS turns the VCS stamping off: -buildvcs=false always.
	NoVCS bool

	// pack, when set (by [Config.Pipeline], when the package stage
	// follows), is written a platform's archives as soon as that
	// platform is built (see overlap.go).
	pack *Package
}

// Name returns "build".
func (b *Build) Name() string { return "build" }

type buildJob struct {
	main Main
	p    manifest.Platform
	out  string
}

// Run builds every main for every target.
func (b *Build) Run(ctx context.Context, st *State) error {
	if len(b.Targets) == 0 {
		return &ConfigError{Field: "Build.Targets", Reason: "no targets"}
	}
	if st.Work == "" {
		return &ConfigError{Field: "State.Work", Reason: "not set"}
	}
	// go build runs in b.Dir: give it an absolute output path.
	work, err := filepath.Abs(st.Work)
	if err != nil {
		return err
	}
	mains := b.Mains
	if len(mains) == 0 {
		mains = []Main{{Package: "."}}
	}
	var jobs []buildJob
	for _, p := range b.Targets {
		// Accept what manifest.Platform accepts (x86_64, macos, ...):
		// go build takes only Go's names.
		p, err := manifest.ParsePlatform(p.String())
		if err != nil {
			return &ConfigError{Field: "Build.Targets", Reason: err.Error()}
		}
		for _, m := range mains {
			if m.Name == "" {
				m.Name = st.Project
			}
			if m.Name == "" || strings.ContainsAny(m.Name, `/\`) {
				return &ConfigError{Field: "Build.Mains", Reason: fmt.Sprintf("bad binary name %q", m.Name)}
			}
			out := filepath.Join(work, p.OS+"_"+p.Arch, m.Name+p.ExeSuffix())
			jobs = append(jobs, buildJob{main: m, p: p, out: out})
		}
	}
	ldflags := b.ldflags(st)
	vcs := b.stampVCS(ctx, st)
	var early *earlyArchives
	if b.pack != nil {
		b.pack.early = nil
		early = b.pack.startEarly(st)
	}
	ectx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	left := map[manifest.Platform]int{}
	for _, j := range jobs {
		left[j.p]++
	}
	errs := runLimited(ctx, b.Parallel, len(jobs), func(ctx context.Context, i int) error {
		if err := b.build(ctx, st, jobs[i], ldflags, vcs); err != nil {
			return err
		}
		if early != nil {
			mu.Lock()
			left[jobs[i].p]--
			last := left[jobs[i].p] == 0
			mu.Unlock()
			if last {
				var bins []Binary
				for _, j := range jobs {
					if j.p == jobs[i].p {
						bins = append(bins, Binary{Name: filepath.Base(j.out), Path: j.out, Platform: j.p})
					}
				}
				early.platformBuilt(ectx, st, bins)
			}
		}
		return nil
	})
	if early != nil {
		if len(errs) > 0 {
			cancel()
		}
		early.wait(len(errs) > 0)
		if len(errs) == 0 {
			b.pack.early = early
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, j := range jobs {
		st.Binaries = append(st.Binaries, Binary{Name: filepath.Base(j.out), Path: j.out, Platform: j.p})
		if vcs {
			b.checkStamp(st, j.out)
		}
	}
	return nil
}

// stampVCS reports whether the builds stamp VCS information: Dir's git
// HEAD is the release commit.
func (b *Build) stampVCS(ctx context.Context, st *State) bool {
	if b.NoVCS || st.Commit == "" {
		return false
	}
	head, err := (git{dir: b.Dir, env: b.Env}).head(ctx)
	if err != nil || head != st.Commit {
		st.logger().Debug("build: no VCS stamping (the build directory is not the release commit's checkout)", "dir", b.Dir, "head", head)
		return false
	}
	return true
}

// checkStamp warns when a stamped binary states another version than the
// release's.
func (b *Build) checkStamp(st *State, bin string) {
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		st.logger().Warn("build: no build information", "binary", bin, "err", err)
		return
	}
	if want := "v" + st.Version.String(); info.Main.Version != want {
		st.logger().Warn("build: the binary's build information states another version than the release's",
			"binary", filepath.Base(bin), "module", info.Main.Path, "stamped", info.Main.Version, "release", want)
	}
}

func (b *Build) ldflags(st *State) string {
	flags := []string{"-buildid="}
	x := func(name, value string) {
		if name != "" {
			flags = append(flags, quoteFlag("-X="+name+"="+value))
		}
	}
	x(b.Vars.Version, st.Version.String())
	x(b.Vars.Commit, st.Commit)
	if !st.Date.IsZero() {
		x(b.Vars.Date, st.Date.UTC().Format(time.RFC3339))
	}
	flags = append(flags, b.LDFlags...)
	return strings.Join(flags, " ")
}

// quoteFlag quotes s for the go command's flag splitting when needed.
func quoteFlag(s string) string {
	if !strings.ContainsAny(s, " \t'\"") {
		return s
	}
	if !strings.Contains(s, "'") {
		return "'" + s + "'"
	}
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}

func (b *Build) build(ctx context.Context, st *State, j buildJob, ldflags string, vcs bool) error {
	if err := os.MkdirAll(filepath.Dir(j.out), 0o755); err != nil {
		return err
	}
	goCmd := b.Go
	if goCmd == "" {
		goCmd = "go"
	}
	args := []string{"build", "-trimpath", "-buildvcs=" + strconv.FormatBool(vcs), "-ldflags=" + ldflags, "-o", j.out}
	args = append(args, b.Flags...)
	args = append(args, j.main.Package)
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Dir = b.Dir
	cgo := "0"
	if b.CGO {
		cgo = "1"
	}
	cmd.Env = append(cmd.Environ(), "GOOS="+j.p.OS, "GOARCH="+j.p.Arch, "CGO_ENABLED="+cgo)
	cmd.Env = append(cmd.Env, b.Env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &BuildError{Main: j.main.Package, Platform: j.p, Output: lastBytes(out.String(), 4096), Err: err}
	}
	st.logger().Info("built", "binary", j.main.Name, "platform", j.p.String(), "elapsed", time.Since(start).Round(time.Millisecond))
	return nil
}

// Prebuilt is the stage ("prebuilt") that hands in binaries built
// elsewhere instead of [Build]: it checks that each file exists and is a
// regular file and appends them to State.Binaries.
type Prebuilt struct {
	Binaries []Binary
}

// Name returns "prebuilt".
func (p *Prebuilt) Name() string { return "prebuilt" }

// Run checks and records the binaries.
func (p *Prebuilt) Run(ctx context.Context, st *State) error {
	if len(p.Binaries) == 0 {
		return &ConfigError{Field: "Prebuilt.Binaries", Reason: "none given"}
	}
	for _, bin := range p.Binaries {
		fi, err := os.Stat(bin.Path)
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("prebuilt %s: not a regular file", bin.Path)
		}
		if bin.Name == "" {
			bin.Name = filepath.Base(bin.Path)
		}
		if _, err := manifest.ParsePlatform(bin.Platform.String()); err != nil {
			return &ConfigError{Field: "Prebuilt.Binaries", Reason: fmt.Sprintf("%s: %v", bin.Path, err)}
		}
		st.Binaries = append(st.Binaries, bin)
	}
	return nil
}

// runLimited runs f(0..n-1) with at most limit at once (0 means
// DefaultParallel). After the first failure it cancels the others' ctx and
// starts no more. It returns the errors in index order, leaving out the
// cancellations it caused itself.
func runLimited(ctx context.Context, limit, n int, f func(ctx context.Context, i int) error) []error {
	if limit <= 0 {
		limit = DefaultParallel
	}
	errs := make([]error, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(limit)
	for i := 0; i < n && gctx.Err() == nil; i++ {
		g.Go(func() error {
			errs[i] = f(gctx, i)
			return errs[i]
		})
	}
	g.Wait()
	var out []error
	for _, e := range errs {
		if e != nil && !(errors.Is(e, context.Canceled) && ctx.Err() == nil) {
			out = append(out, e)
		}
	}
	if len(out) == 0 && ctx.Err() != nil {
		out = append(out, ctx.Err())
	}
	return out
}

// DefaultTargets returns the platforms most Go CLIs ship for:
// linux/amd64, linux/arm64, darwin/arm64 and windows/amd64.
func DefaultTargets() []manifest.Platform {
	return []manifest.Platform{
		{OS: "linux", Arch: "amd64"}, {OS: "linux", Arch: "arm64"},
		{OS: "darwin", Arch: "arm64"}, {OS: "windows", Arch: "amd64"},
	}
}

// ParseTargets parses a list of platforms separated by commas or spaces
// ("linux/amd64,darwin/arm64"), as a -targets flag takes them; names are
// normalised (see [manifest.ParsePlatform]) and duplicates dropped. An
// empty list is an error.
func ParseTargets(s string) ([]manifest.Platform, error) {
	var out []manifest.Platform
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		p, err := manifest.ParsePlatform(f)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, &ConfigError{Field: "targets", Reason: fmt.Sprintf("no platform in %q", s)}
	}
	return out, nil
}
