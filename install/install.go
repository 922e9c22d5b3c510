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
	"strings"
	"syscall"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/verify"
)

// Installer installs, updates and rolls back one project's binaries in
// one directory. Build it with [New]; its methods are safe to call from
// one goroutine at a time (the lock file serialises processes).
type Installer struct {
	cfg Config
	// devVersion is a CurrentVersion that is not a release version.
	devVersion string
	// verifier is the release verifier when no network is needed to
	// build it (Trust.Keys only).
	verifier *verify.Verifier
	// trust builds the release verifier from Trust.Roots at each resolve.
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
	unlock, err := acquireLock(ctx, lockPath(in.cfg.Dir, in.primary()), in.cfg.LockWait, in.now, in.log)
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
		if he := runHealth(ctx, in.health, in.cfg.Health.Timeout, filepath.Join(in.cfg.Dir, in.primary()), version); he != nil {
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
