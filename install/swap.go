package install

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// The installer keeps its files for primary binary p in a hidden
// directory next to the binaries, on the same filesystem (so renames
// between them are atomic):
//
//	.p.relkit/lock           the install lock
//	.p.relkit/receipt.json   what is installed (the commit point)
//	.p.relkit/journal.json   a swap in progress (recovered on the next run)
//	.p.relkit/backup.json    which backup directory Rollback restores
//	.p.relkit/backup-*/<b>   the previous version of binary b
//	.p.relkit/state.json     manifest serials seen (rollback protection)
//
// Temporary files are ".relkit-<kind>-<b>-*" next to the binaries, and
// anything starting with ".relkit-" inside the state directory; the next
// run removes them.
const (
	journalSchema = "relkit.journal/v1"
	backupSchema  = "relkit.backup/v1"
)

// StateDir returns the directory where the installer keeps its lock,
// receipt, journal and backups for the primary binary name in dir.
func StateDir(dir, name string) string { return filepath.Join(dir, "."+name+".relkit") }

func lockPath(dir, primary string) string { return filepath.Join(StateDir(dir, primary), "lock") }
func journalPath(dir, primary string) string {
	return filepath.Join(StateDir(dir, primary), "journal.json")
}
func backupInfoPath(dir, primary string) string {
	return filepath.Join(StateDir(dir, primary), "backup.json")
}
func statePath(dir, primary string) string {
	return filepath.Join(StateDir(dir, primary), "state.json")
}

// setEntry is one binary of a swapped set.
type setEntry struct {
	Name    string `json:"name"`
	Existed bool   `json:"existed"` // a previous file was backed up
}

// journal records a swap in progress. It is written (durably) after the
// backups and before the first rename; while it exists, the set may be
// half swapped, and the next run restores the backups unless the receipt
// shows the swap committed.
type journal struct {
	Schema  string `json:"schema"`
	Version string `json:"version"`
	// Artifact is the SHA-256 of the artifact being installed (the one
	// its receipt will name).
	Artifact string     `json:"artifact_sha256"`
	Binaries []setEntry `json:"binaries"`
	// Backup is this swap's backup set; it becomes backup.json when the
	// swap commits, and is removed when the swap is undone.
	Backup backupInfo `json:"backup"`
}

// backupInfo describes a backup set: the files a swap replaced, kept in
// their own directory, and the receipt they had.
type backupInfo struct {
	Schema   string     `json:"schema"`
	Dir      string     `json:"dir"` // base name of the directory in the state directory
	Version  string     `json:"version,omitempty"`
	Receipt  *Receipt   `json:"receipt,omitempty"`
	Binaries []setEntry `json:"binaries"`
}

// swapper replaces a set of binaries in dir as one unit.
type swapper struct {
	dir     string
	primary string
	log     *slog.Logger
	mode    fs.FileMode
}

func (s *swapper) target(name string) string { return filepath.Join(s.dir, name) }

// backupFile returns where binary name is kept in backup set info.
func (s *swapper) backupFile(info *backupInfo, name string) string {
	return filepath.Join(StateDir(s.dir, s.primary), info.Dir, name)
}

// stateDir returns the state directory, creating it when needed. It
// must be a real directory: a symbolic link there would send the lock,
// the receipt and the backups elsewhere.
func (s *swapper) stateDir() (string, error) {
	d := StateDir(s.dir, s.primary)
	err := checkRealDir(d)
	if !errors.Is(err, fs.ErrNotExist) {
		return d, err
	}
	if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", localErr("mkdir", d, err)
	}
	return d, checkRealDir(d)
}

// checkRealDir fails with an *UnsafePathError unless d is a directory
// (not a symbolic link to one); a missing d is fs.ErrNotExist.
func checkRealDir(d string) error {
	fi, err := os.Lstat(d)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return err
	case err != nil:
		return localErr("lstat", d, err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return &UnsafePathError{Path: d, Reason: "is a symbolic link; the installer keeps its files only in a real directory"}
	case !fi.IsDir():
		return &UnsafePathError{Path: d, Reason: "is " + kindOf(fi.Mode()) + ", not a directory"}
	}
	return nil
}

// stateFiles are the installer's own files in the state directory.
var stateFiles = []string{"lock", "receipt.json", "journal.json", "backup.json", "state.json"}

// checkStateFiles refuses a state directory whose files are symbolic
// links or not regular files.
func (s *swapper) checkStateFiles() error {
	for _, name := range stateFiles {
		if err := checkRegular(filepath.Join(StateDir(s.dir, s.primary), name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// checkRegular fails with an *UnsafePathError unless p is a regular file
// (not a symbolic link to one); a missing p is fs.ErrNotExist.
func checkRegular(p string) error {
	fi, err := os.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return err
	case err != nil:
		return localErr("lstat", p, err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return &UnsafePathError{Path: p, Reason: "is a symbolic link"}
	case !fi.Mode().IsRegular():
		return &UnsafePathError{Path: p, Reason: "is " + kindOf(fi.Mode()) + ", not a regular file"}
	}
	return nil
}

// kindOf names the kind of file mode m describes, for messages.
func kindOf(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return fmt.Sprintf("of type %v", m.Type())
}

// plainName reports whether a name from the installer's records is a
// plain file name: not empty, not "." or "..", no separator, no NUL.
func plainName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\\\x00") && filepath.Base(name) == name
}

// checkSet validates the names of a recorded set: the binaries must be
// plain names, the backup directory a plain "backup-" name inside the
// state directory and a real directory there (when it holds files).
func (s *swapper) checkSet(what string, info *backupInfo, entries []setEntry) error {
	bad := func(reason string) error {
		return &UnsafePathError{Path: filepath.Join(StateDir(s.dir, s.primary), what), Reason: reason}
	}
	if !plainName(info.Dir) || !strings.HasPrefix(info.Dir, "backup-") {
		return bad(fmt.Sprintf("names the backup directory %q, not a plain backup-* name inside the state directory", info.Dir))
	}
	for _, set := range [][]setEntry{info.Binaries, entries} {
		for _, e := range set {
			if !plainName(e.Name) || strings.HasPrefix(e.Name, ".") {
				return bad(fmt.Sprintf("names the binary %q, not a plain file name", e.Name))
			}
		}
	}
	for _, e := range append(append([]setEntry(nil), info.Binaries...), entries...) {
		if e.Existed {
			return checkRealDir(filepath.Join(StateDir(s.dir, s.primary), info.Dir))
		}
	}
	return nil
}

// currentBackup reads backup.json; nil when there is none.
func (s *swapper) currentBackup() (*backupInfo, error) {
	var info backupInfo
	err := readJSON(backupInfoPath(s.dir, s.primary), &info)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if info.Schema != backupSchema {
		return nil, &UnsafePathError{Path: backupInfoPath(s.dir, s.primary), Reason: fmt.Sprintf("not a backup description (schema %q)", info.Schema)}
	}
	if err := s.checkSet("backup.json", &info, nil); err != nil {
		return nil, err
	}
	return &info, nil
}

// checkTargets refuses, before anything is downloaded, binaries that
// exist but are not regular files: a symbolic link (replacing it would
// replace the link, not the program it points to, and backing it up
// would follow it), a directory, a device.
func (s *swapper) checkTargets(names []string) error {
	for _, name := range names {
		p := s.target(name)
		fi, err := os.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return localErr("lstat", p, err)
		case fi.Mode()&fs.ModeSymlink != 0:
			return &UnsafePathError{Path: p, Reason: "is a symbolic link; install into the directory of the file it points to (resolve it with filepath.EvalSymlinks)"}
		case !fi.Mode().IsRegular():
			return &UnsafePathError{Path: p, Reason: fmt.Sprintf("is not a regular file (%v)", fi.Mode().Type())}
		}
	}
	return nil
}

// prepare gives each new file the mode and owner of the file it replaces
// (or s.mode for a new file).
func (s *swapper) prepare(files []newFile) error {
	for _, nf := range files {
		if nf.Temp == "" {
			continue
		}
		if err := copyMeta(nf.Temp, s.target(nf.Name), s.mode, s.log); err != nil {
			return fmt.Errorf("set mode/owner of new %s: %w", nf.Name, err)
		}
	}
	return nil
}

// backup copies the current files of names (hard links where possible)
// into a new backup directory and describes it, with the current receipt
// prev. The set becomes the one Rollback restores only when the swap
// commits.
func (s *swapper) backup(names []string, prev *Receipt) (*backupInfo, error) {
	sd, err := s.stateDir()
	if err != nil {
		return nil, err
	}
	bdir, err := mkdirTemp(sd, "backup-")
	if err != nil {
		return nil, err
	}
	info := &backupInfo{Schema: backupSchema, Dir: filepath.Base(bdir), Receipt: prev}
	if prev != nil {
		info.Version = prev.Version
	}
	fail := func(err error) (*backupInfo, error) {
		removeAll(bdir)
		return nil, err
	}
	for _, name := range names {
		cur := s.target(name)
		e := setEntry{Name: name}
		fi, err := os.Lstat(cur)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return fail(err)
		case !fi.Mode().IsRegular():
			return fail(&UnsafePathError{Path: cur, Reason: fmt.Sprintf("is not a regular file (%v)", fi.Mode().Type())})
		default:
			if err := s.snapshot(cur, s.backupFile(info, name)); err != nil {
				return fail(fmt.Errorf("back up %s: %w", cur, err))
			}
			e.Existed = true
		}
		info.Binaries = append(info.Binaries, e)
	}
	if err := syncDir(bdir); err != nil {
		return fail(err)
	}
	if err := syncDir(sd); err != nil {
		return fail(err)
	}
	return info, nil
}

// snapshot makes dst (replaced atomically) a copy of src: a hard link when
// the filesystem allows, else a byte copy.
func (s *swapper) snapshot(src, dst string) error {
	tmp, err := s.linkTemp(src, filepath.Base(dst))
	if err != nil {
		return err
	}
	if err := rename(tmp, dst); err != nil {
		remove(tmp)
		return err
	}
	return nil
}

// linkTemp makes a temporary file in dir with the contents of src.
func (s *swapper) linkTemp(src, name string) (string, error) {
	f, err := createTemp(s.dir, name, tempLink)
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	f.Close()
	if err := remove(tmp); err != nil {
		return "", err
	}
	if err := link(src, tmp); err == nil {
		return tmp, nil
	}
	if err := copyFile(src, tmp); err != nil {
		remove(tmp)
		return "", err
	}
	return tmp, nil
}

// copyFile copies src to a new file dst with src's mode, fsynced.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return localErr("open", src, err)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return localErr("stat", src, err)
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return localErr("create", dst, err)
	}
	if _, err := copyBuffer(faultWriter{out}, in); err != nil {
		out.Close()
		return localErr("copy", dst, err)
	}
	if err := syncFile(out); err != nil {
		out.Close()
		return localErr("sync", dst, err)
	}
	return localErr("close", dst, out.Close())
}

// swapIn renames the new files into place under a journal (a file with
// no Temp is removed instead); backup is the set backup made of the
// current files. On error the previous files are restored. It returns the
// journal, which the caller commits or undoes (restore).
func (s *swapper) swapIn(files []newFile, version, artifact string, backup *backupInfo) (*journal, error) {
	existed := map[string]bool{}
	for _, e := range backup.Binaries {
		existed[e.Name] = e.Existed
	}
	j := journal{Schema: journalSchema, Version: version, Artifact: artifact, Backup: *backup}
	for _, nf := range files {
		j.Binaries = append(j.Binaries, setEntry{Name: nf.Name, Existed: existed[nf.Name]})
	}
	if err := writeJSON(journalPath(s.dir, s.primary), j); err != nil {
		// The journal may be in place even so (the rename worked, the
		// directory sync did not): remove it before its backup set, or
		// keep both, so that no journal ever names a missing backup.
		if rerr := removeDurably(journalPath(s.dir, s.primary)); rerr != nil {
			return nil, fmt.Errorf("write journal: %w (kept with its backup set for the next run: %v)", err, rerr)
		}
		removeAll(filepath.Join(StateDir(s.dir, s.primary), backup.Dir))
		return nil, fmt.Errorf("write journal: %w", err)
	}
	for _, nf := range files {
		var err error
		if nf.Temp == "" {
			if err = remove(s.target(nf.Name)); errors.Is(err, fs.ErrNotExist) {
				err = nil
			}
		} else {
			err = replaceFile(nf.Temp, s.target(nf.Name), s.dir)
		}
		if err != nil {
			err = fmt.Errorf("move new %s into place: %w", nf.Name, err)
			if rerr := s.restore(&j); rerr != nil {
				return nil, errors.Join(err, fmt.Errorf("restore previous files: %w", rerr))
			}
			return nil, err
		}
	}
	if err := syncDir(s.dir); err != nil {
		if rerr := s.restore(&j); rerr != nil {
			return nil, errors.Join(err, rerr)
		}
		return nil, err
	}
	return &j, nil
}

// restore puts the backups of a journal's set back (and removes files
// that did not exist before), then removes the journal.
func (s *swapper) restore(j *journal) error {
	// First the receipt: if it already names this swap (its write got as
	// far as the rename), put the previous one back, so that it never
	// names a version the binaries are not. If that fails, nothing else
	// is undone and the journal stays: the next run sees the swap as
	// committed, which the binaries then are.
	if r, err := ReadReceipt(s.dir, s.primary); err == nil && committed(r, j) {
		var err error
		if j.Backup.Receipt != nil {
			err = writeJSON(ReceiptPath(s.dir, s.primary), j.Backup.Receipt)
		} else {
			err = removeDurably(ReceiptPath(s.dir, s.primary))
		}
		if err != nil {
			return fmt.Errorf("restore the previous receipt: %w", err)
		}
	}
	var errs []error
	for _, e := range j.Binaries {
		target := s.target(e.Name)
		if !e.Existed {
			if err := remove(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		tmp, err := s.linkTemp(s.backupFile(&j.Backup, e.Name), e.Name)
		if err != nil {
			errs = append(errs, fmt.Errorf("restore %s: %w", target, err))
			continue
		}
		if err := replaceFile(tmp, target, s.dir); err != nil {
			remove(tmp)
			errs = append(errs, fmt.Errorf("restore %s: %w", target, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err // keep the journal: the next run tries again
	}
	if err := syncDir(s.dir); err != nil {
		return err
	}
	if err := removeDurably(journalPath(s.dir, s.primary)); err != nil {
		return err
	}
	// This swap's backup set is not needed any more; the previous one
	// (backup.json) still is.
	return removeAll(filepath.Join(StateDir(s.dir, s.primary), j.Backup.Dir))
}

// finish completes a swap once the receipt is written: its backup set
// becomes the one Rollback restores, the older set is removed, and so is
// the journal.
func (s *swapper) finish(j *journal) error {
	if err := writeJSON(backupInfoPath(s.dir, s.primary), j.Backup); err != nil {
		return err
	}
	if err := removeDurably(journalPath(s.dir, s.primary)); err != nil {
		return err
	}
	s.removeStaleBackups(j.Backup.Dir)
	return nil
}

// removeStaleBackups removes every backup directory but keep.
func (s *swapper) removeStaleBackups(keep string) {
	sd := StateDir(s.dir, s.primary)
	des, _ := os.ReadDir(sd)
	for _, de := range des {
		if de.IsDir() && strings.HasPrefix(de.Name(), "backup-") && de.Name() != keep {
			if err := removeAll(filepath.Join(sd, de.Name())); err == nil {
				s.log.Debug("removed old backup set", "dir", de.Name())
			}
		}
	}
}

// recoverSwap completes or undoes a swap a previous run left half done.
// It reports what it did ("" when there was nothing to do). It always
// makes progress or says why it cannot: a journal that cannot be
// replayed (unreadable, or its backup set is gone) is discarded when the
// binaries are still the ones the receipt describes (the swap never
// began, or it committed), and is otherwise a *JournalError whose way
// out is [Installer.DiscardJournal]. A journal that names files outside
// the installer's directories is always a *JournalError.
func (s *swapper) recoverSwap() (string, error) {
	jp := journalPath(s.dir, s.primary)
	var j journal
	err := readJSON(jp, &j)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	var ue *UnsafePathError
	if errors.As(err, &ue) {
		return "", &JournalError{Path: jp, Reason: "it is not a regular file", Err: err}
	}
	if err != nil {
		return s.unreplayable(&JournalError{Path: jp, Reason: "unreadable", Err: err})
	}
	if j.Schema != journalSchema {
		return s.unreplayable(&JournalError{Path: jp, Reason: fmt.Sprintf("unknown schema %q", j.Schema)})
	}
	if err := s.checkSet("journal.json", &j.Backup, j.Binaries); errors.Is(err, fs.ErrNotExist) {
		if r, rerr := ReadReceipt(s.dir, s.primary); rerr == nil && committed(r, &j) {
			// Committed: the backup set is only needed for Rollback.
			return "interrupted install of " + j.Version + " had committed (its backup set is missing); journal removed", removeDurably(jp)
		}
		return s.unreplayable(&JournalError{Path: jp, Reason: "its backup set " + j.Backup.Dir + " is missing", Err: err})
	} else if err != nil {
		return "", &JournalError{Path: jp, Reason: "it names files outside the installer's directories", Err: err}
	}
	if r, err := ReadReceipt(s.dir, s.primary); err == nil && committed(r, &j) {
		return "interrupted install of " + j.Version + " had committed; journal removed", s.finish(&j)
	}
	if err := s.restore(&j); err != nil {
		return "", fmt.Errorf("undo interrupted install of %s: %w", j.Version, err)
	}
	return "interrupted install of " + j.Version + " undone; previous files restored", nil
}

// unreplayable handles a journal that cannot be replayed: when the
// binaries are the ones the receipt describes (or, with no receipt, the
// primary binary does not exist), nothing was half swapped and the
// journal is moved aside; otherwise je is returned.
func (s *swapper) unreplayable(je *JournalError) (string, error) {
	if !s.matchesReceipt() {
		return "", je
	}
	moved, err := s.discardJournal()
	if err != nil {
		return "", errors.Join(je, err)
	}
	return fmt.Sprintf("discarded the interrupted install's journal (%s: %s), kept as %s: the binaries are the ones the receipt describes", je.Reason, errString(je.Err), filepath.Base(moved)), nil
}

func errString(err error) string {
	if err == nil {
		return "no detail"
	}
	return err.Error()
}

// matchesReceipt reports whether every binary the receipt lists is the
// file it describes (size and modification time), or, with no receipt,
// whether the primary binary is absent.
func (s *swapper) matchesReceipt() bool {
	r, err := ReadReceipt(s.dir, s.primary)
	if errors.Is(err, ErrNotInstalled) {
		_, err := os.Lstat(s.target(s.primary))
		return errors.Is(err, fs.ErrNotExist)
	}
	if err != nil || len(r.Binaries) == 0 {
		return false
	}
	for _, b := range r.Binaries {
		if !plainName(b.Name) {
			return false
		}
		fi, err := os.Lstat(s.target(b.Name))
		if err != nil || !fi.Mode().IsRegular() || fi.Size() != b.Size || !fi.ModTime().Equal(b.ModTime) {
			return false
		}
	}
	return true
}

// discardJournal moves the journal aside as journal-discarded-<n>.json
// in the state directory and returns the new path.
func (s *swapper) discardJournal() (string, error) {
	sd := StateDir(s.dir, s.primary)
	f, err := os.CreateTemp(sd, "journal-discarded-*.json")
	if err != nil {
		return "", localErr("create", sd, err)
	}
	moved := f.Name()
	f.Close()
	if err := rename(journalPath(s.dir, s.primary), moved); err != nil {
		os.Remove(moved)
		return "", localErr("rename", journalPath(s.dir, s.primary), err)
	}
	return moved, localErr("sync", sd, syncDir(sd))
}

// DiscardJournal is the way out of a *[JournalError]: it moves the
// journal of an interrupted install aside (as journal-discarded-*.json in
// the [StateDir], for inspection) without replaying it, and returns its
// new path. Check first that the installed binaries run: they are left as
// they are. When the primary binary is no longer the file the receipt
// describes, the receipt is moved aside too (receipt-discarded-*.json),
// so that it never names a version the binary is not; the next Install
// then installs afresh. With no journal it fails with an error wrapping
// fs.ErrNotExist.
func (in *Installer) DiscardJournal(ctx context.Context) (string, error) {
	if _, err := in.sw.stateDir(); err != nil {
		return "", err
	}
	unlock, err := acquireLock(ctx, lockPath(in.cfg.Dir, in.primary()), in.cfg.LockWait, in.now, in.log)
	if err != nil {
		return "", err
	}
	defer unlock()
	jp := journalPath(in.cfg.Dir, in.primary())
	if err := checkRegular(jp); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("no interrupted install journal %s to discard: %w", jp, err)
		}
		return "", err
	}
	if !in.sw.matchesReceipt() {
		rp := ReceiptPath(in.cfg.Dir, in.primary())
		if err := checkRegular(rp); err == nil {
			f, err := os.CreateTemp(filepath.Dir(rp), "receipt-discarded-*.json")
			if err != nil {
				return "", localErr("create", rp, err)
			}
			aside := f.Name()
			f.Close()
			if err := rename(rp, aside); err != nil {
				os.Remove(aside)
				return "", localErr("rename", rp, err)
			}
		}
	}
	moved, err := in.sw.discardJournal()
	if err != nil {
		return "", err
	}
	in.log.Warn("discarded the interrupted install's journal", "journal", moved)
	return moved, nil
}

// committed reports whether receipt r records the swap of journal j: the
// receipt is written only once the whole set is in place and healthy.
func committed(r *Receipt, j *journal) bool {
	return j.Artifact != "" && r.Version == j.Version && r.SHA256 == j.Artifact
}

// cleanup removes temporary files a killed install left: those named
// for the binaries in names next to them, and every temporary file in
// the state directory. It never touches other programs' files.
func (s *swapper) cleanup(names []string) {
	keep := ""
	if info, err := s.currentBackup(); err == nil && info != nil {
		keep = info.Dir
	}
	s.removeStaleBackups(keep)
	for _, d := range []string{StateDir(s.dir, s.primary)} {
		des, _ := os.ReadDir(d)
		for _, de := range des {
			if strings.HasPrefix(de.Name(), tempPrefix) {
				p := filepath.Join(d, de.Name())
				if remove(p) == nil {
					s.log.Debug("removed leftover file", "path", p)
				}
			}
		}
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return
	}
	for _, de := range entries {
		n := de.Name()
		if !strings.HasPrefix(n, tempPrefix) {
			continue
		}
		mine := false
		for _, kind := range []string{tempNew, tempDownload, tempLink, tempOld, tempProbe} {
			for _, b := range names {
				// ".relkit-<kind>-<b>-<digits>", exactly: binary "hello"
				// must not claim "hello-x"'s files.
				rest, ok := strings.CutPrefix(n, tempPrefix+kind+"-"+b+"-")
				if ok && rest != "" && strings.Trim(rest, "0123456789") == "" {
					mine = true
				}
			}
		}
		if !mine {
			continue
		}
		p := filepath.Join(s.dir, n)
		if err := remove(p); err == nil {
			s.log.Debug("removed leftover file", "path", p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			// A ".old" executable still running on Windows: next time.
			s.log.Debug("cannot remove leftover file yet", "path", p, "err", err)
		}
	}
}

// removeDurably removes path (if present) and syncs its directory.
func removeDurably(path string) error {
	if err := remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return syncDir(filepath.Dir(path))
}
