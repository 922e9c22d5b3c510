package install

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"

	"github.com/relkit/relkit/verify"
)

// Sentinel errors. Every refusal is also a typed error (below) that wraps
// one of these, so callers can branch with [errors.Is] and read details
// with [errors.As].
var (
	// ErrNoTrust is returned by [New] when no trust material (keys) is
	// configured: relkit never installs unverified bytes.
	ErrNoTrust = errors.New("no trust material configured")
	// ErrUnsafeArchive is wrapped by an [*ArchiveError] for an archive
	// entry that could write outside the target or is not what a release
	// contains: an absolute path, "..", a link leaving the archive, a
	// device file, a duplicate, or a wanted entry that is not a regular
	// file.
	ErrUnsafeArchive = errors.New("unsafe archive")
	// ErrTooLarge is wrapped when a download or an archive entry exceeds
	// its limit, or when an archive decompresses beyond its ratio limit
	// (a size bomb). It is the same value as verify.ErrTooLarge and
	// manifest.ErrTooLarge.
	ErrTooLarge = verify.ErrTooLarge
	// ErrMissingEntry is wrapped by an [*ArchiveError] when the archive
	// lacks a binary the installer was told to install.
	ErrMissingEntry = errors.New("missing entry")
	// ErrSizeMismatch is wrapped by a [*SizeError] when a file's length is
	// not the one the signed manifest promises. It is the same value as
	// verify.ErrSizeMismatch.
	ErrSizeMismatch = verify.ErrSizeMismatch
	// ErrDowngrade is wrapped by a [*DowngradeError].
	ErrDowngrade = errors.New("downgrade refused")
	// ErrHealthCheck is wrapped by a [*HealthCheckError].
	ErrHealthCheck = errors.New("health check failed")
	// ErrLocked is wrapped by a [*LockedError] when another install holds
	// the lock.
	ErrLocked = errors.New("another install is running")
	// ErrNotWritable is wrapped by a [*NotWritableError].
	ErrNotWritable = errors.New("directory not writable")
	// ErrNoBackup is returned by [Installer.Rollback] when there is no
	// backup to restore.
	ErrNoBackup = errors.New("no backup to roll back to")
	// ErrVerification is wrapped by a [*VerificationError].
	ErrVerification = errors.New("verification failed")
	// ErrDeclined is returned when Config.Confirm answers no.
	ErrDeclined = errors.New("install declined")
	// ErrNotInstalled is returned when an operation needs an installed
	// release and none is found.
	ErrNotInstalled = errors.New("not installed")
	// ErrLocalIO is wrapped by a [*FileError]: a file operation on this
	// machine failed (disk full, permission denied, read-only file
	// system). It is never retried.
	ErrLocalIO = errors.New("local file operation failed")
	// ErrUnsafePath is wrapped by an [*UnsafePathError]: a binary, the
	// state directory or one of the installer's files is a symbolic link
	// or not the kind of file it must be, or a record names a file outside
	// the state directory.
	ErrUnsafePath = errors.New("unsafe path")
	// ErrBadJournal is wrapped by a [*JournalError]: an interrupted
	// install's journal cannot be replayed.
	ErrBadJournal = errors.New("interrupted install cannot be recovered automatically")
)

// FileError reports a local file operation that failed: the disk is full,
// permission is denied, the file system is read-only, or another I/O
// error. It is final: a download is not retried after one.
type FileError struct {
	// Op is the operation ("write", "create", "sync", "rename", ...).
	Op string
	// Path is the file.
	Path string
	// Err is the underlying error (a syscall.Errno such as ENOSPC).
	Err error
}

// Error implements the error interface.
func (e *FileError) Error() string {
	return fmt.Sprintf("%s %s: %s", e.Op, e.Path, describeIOError(e.Err))
}

// Unwrap returns [ErrLocalIO] and the underlying error.
func (e *FileError) Unwrap() []error { return []error{ErrLocalIO, e.Err} }

// UnsafePathError reports a path the installer refuses to use: a binary,
// the state directory or one of its files that is a symbolic link or the
// wrong kind of file, or a name in the installer's records that is not a
// plain name inside the state directory. Nothing is changed when it is
// returned.
type UnsafePathError struct {
	// Path is the offending path.
	Path string
	// Reason says what is wrong with it.
	Reason string
}

// Error implements the error interface.
func (e *UnsafePathError) Error() string {
	return fmt.Sprintf("refusing to use %s: %s", e.Path, e.Reason)
}

// Unwrap returns [ErrUnsafePath].
func (e *UnsafePathError) Unwrap() error { return ErrUnsafePath }

// JournalError reports a journal of an interrupted install that cannot be
// replayed (it does not parse, names a backup set that is missing, or
// names files outside the installer's directories) while the binaries
// are not the ones the receipt describes, so that the installer cannot
// tell which version each one is. The binaries are left as they are. The
// way out: check that the binaries run, then call
// [Installer.DiscardJournal] (or move the journal at Path aside); the
// next Install installs afresh.
type JournalError struct {
	// Path is the journal file.
	Path string
	// Reason says why it cannot be replayed.
	Reason string
	// Err is the underlying error, if any.
	Err error
}

// Error implements the error interface.
func (e *JournalError) Error() string {
	s := fmt.Sprintf("interrupted install journal %s cannot be replayed: %s", e.Path, e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s + "; check that the installed binaries run, then call Installer.DiscardJournal (or move the journal aside) and install again"
}

// Unwrap returns [ErrBadJournal] and the underlying error.
func (e *JournalError) Unwrap() []error { return []error{ErrBadJournal, e.Err} }

// ArchiveError reports an archive that was refused. Err is
// [ErrUnsafeArchive], [ErrTooLarge] or [ErrMissingEntry].
type ArchiveError struct {
	// Archive is the archive's file name.
	Archive string
	// Entry is the offending entry's name as stored in the archive.
	Entry string
	// Reason says what is wrong with it.
	Reason string
	// Err is the category sentinel.
	Err error
}

// Error implements the error interface.
func (e *ArchiveError) Error() string {
	if e.Entry == "" {
		return fmt.Sprintf("archive %s: %s", e.Archive, e.Reason)
	}
	return fmt.Sprintf("archive %s: entry %q: %s", e.Archive, e.Entry, e.Reason)
}

// Unwrap returns the category sentinel.
func (e *ArchiveError) Unwrap() error { return e.Err }

// SizeError reports a file whose length differs from the expected one.
type SizeError struct {
	// Name is the file (URL or path) that was read.
	Name string
	// Want is the expected size; Got is the size seen, or -1 when the
	// body went past Want (it was cut off there).
	Want, Got int64
}

// Error implements the error interface.
func (e *SizeError) Error() string {
	if e.Got < 0 {
		return fmt.Sprintf("%s: longer than the expected %d bytes", e.Name, e.Want)
	}
	return fmt.Sprintf("%s: got %d bytes, expected %d", e.Name, e.Got, e.Want)
}

// Unwrap returns [ErrSizeMismatch].
func (e *SizeError) Unwrap() error { return ErrSizeMismatch }

// LimitError reports a download larger than a configured cap.
type LimitError struct {
	// Name is what was being read.
	Name string
	// Limit is the cap in bytes.
	Limit int64
}

// Error implements the error interface.
func (e *LimitError) Error() string {
	return fmt.Sprintf("%s: larger than the limit of %d bytes", e.Name, e.Limit)
}

// Unwrap returns [ErrTooLarge].
func (e *LimitError) Unwrap() error { return ErrTooLarge }

// HTTPError is verify's one HTTP error type: a response with an
// unexpected status (StatusCode set; Temporary for 5xx, 408 and 429), or
// a redirect refused by [verify.CheckRedirect] (Redirect and Reason set;
// never retried). It wraps verify.ErrFetch, and fs.ErrNotExist for 404
// and 410.
type HTTPError = verify.HTTPError

// DownloadError reports a download that failed after its retries. It
// wraps the last error seen ([*HTTPError], [*SizeError], [*LimitError],
// a timeout, or a network error).
type DownloadError struct {
	// URL is what was being downloaded.
	URL string
	// Attempts is how many requests were made.
	Attempts int
	// Err is the last error.
	Err error
}

// Error implements the error interface. It names the URL once: "GET
// URL: 503 Service Unavailable (3 attempts)" when the last error names it
// already, else "download URL (3 attempts): dial tcp …". A *url.Error is
// printed as its cause, since it restates the URL ("Get \"URL\": …").
func (e *DownloadError) Error() string {
	cause := e.Err
	if ue, ok := cause.(*url.Error); ok {
		cause = ue.Err
	}
	if cause == nil {
		return fmt.Sprintf("download %s (%s)", e.URL, attempts(e.Attempts))
	}
	msg := cause.Error()
	if strings.Contains(msg, e.URL) {
		return fmt.Sprintf("%s (%s)", msg, attempts(e.Attempts))
	}
	return fmt.Sprintf("download %s (%s): %s", e.URL, attempts(e.Attempts), msg)
}

func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}

// Unwrap returns the last error.
func (e *DownloadError) Unwrap() error { return e.Err }

// VerificationError reports a manifest, checksums file or artifact that
// failed verification. Err is the error from package verify (or from the
// digest check), so errors.Is works with verify's sentinels too.
type VerificationError struct {
	// Subject names what failed ("manifest.json", "1.2.0/hello.tar.gz").
	Subject string
	// Err is the underlying verification error.
	Err error
}

// Error implements the error interface.
func (e *VerificationError) Error() string {
	var de *DownloadError
	if errors.As(e.Err, &de) && de.URL == e.Subject {
		// Say the URL once.
		return fmt.Sprintf("verify %s: %v (%s)", e.Subject, de.Err, attempts(de.Attempts))
	}
	return fmt.Sprintf("verify %s: %v", e.Subject, e.Err)
}

// Unwrap returns both [ErrVerification] and the underlying error.
func (e *VerificationError) Unwrap() []error { return []error{ErrVerification, e.Err} }

// DowngradeError reports that the selected release is older than the one
// installed, and the Install was not passed [AllowDowngrade].
type DowngradeError struct {
	// Installed and Candidate are the two versions.
	Installed, Candidate string
}

// Error implements the error interface.
func (e *DowngradeError) Error() string {
	return fmt.Sprintf("refusing to downgrade from %s to %s (allow it explicitly to go back)", e.Installed, e.Candidate)
}

// Unwrap returns [ErrDowngrade].
func (e *DowngradeError) Unwrap() error { return ErrDowngrade }

// HealthCheckError reports that the new binary failed its health check.
// The previous binaries were restored when RolledBack is true.
type HealthCheckError struct {
	// Binary is the path that was checked.
	Binary string
	// Version is the version that was expected.
	Version string
	// Output is (the start of) what the binary printed, if it ran.
	Output string
	// RolledBack reports whether the previous binaries were restored.
	RolledBack bool
	// Err is why the check failed.
	Err error
}

// Error implements the error interface.
func (e *HealthCheckError) Error() string {
	s := fmt.Sprintf("health check of %s (want version %s): %v", e.Binary, e.Version, e.Err)
	if o := strings.TrimSpace(e.Output); o != "" {
		s += fmt.Sprintf(" (output: %q)", o)
	}
	if e.RolledBack {
		s += "; previous version restored"
	}
	return s
}

// Unwrap returns [ErrHealthCheck] and the cause.
func (e *HealthCheckError) Unwrap() []error { return []error{ErrHealthCheck, e.Err} }

// LockedError reports that another install holds the lock.
type LockedError struct {
	// Path is the lock file.
	Path string
	// Holder describes the holder as recorded in the lock file ("pid
	// 4242 on host since 2026-11-21T00:00:00Z"), if known.
	Holder string
}

// Error implements the error interface.
func (e *LockedError) Error() string {
	s := "another install is running: " + e.Path + " is locked"
	if e.Holder != "" {
		s += " by " + e.Holder
	}
	return s
}

// Unwrap returns [ErrLocked].
func (e *LockedError) Unwrap() error { return ErrLocked }

// NotWritableError reports a target directory the installer cannot write,
// found before anything is downloaded.
type NotWritableError struct {
	// Dir is the directory.
	Dir string
	// Err is the error from the write attempt.
	Err error
}

// Error implements the error interface.
func (e *NotWritableError) Error() string {
	if errors.Is(e.Err, fs.ErrNotExist) {
		return fmt.Sprintf("cannot install into %s: it does not exist; create it (mkdir -p %s) or install into an existing directory", e.Dir, e.Dir)
	}
	return fmt.Sprintf("cannot write to %s: %v; re-run with permission to write there (for example with sudo), or install into a directory you own (for example ~/.local/bin)", e.Dir, e.Err)
}

// Unwrap returns [ErrNotWritable] and the cause.
func (e *NotWritableError) Unwrap() []error { return []error{ErrNotWritable, e.Err} }

// ConfigError reports an invalid [Config], listing every problem.
type ConfigError struct {
	// Problems lists what is wrong, one entry per field.
	Problems []string
	// Err is [ErrNoTrust] when trust material is missing, else nil.
	Err error
}

// Error implements the error interface.
func (e *ConfigError) Error() string {
	return "install: invalid config: " + strings.Join(e.Problems, "; ")
}

// Unwrap returns [ErrNoTrust] when that is one of the problems.
func (e *ConfigError) Unwrap() error { return e.Err }
