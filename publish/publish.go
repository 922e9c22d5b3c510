package publish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Store is a publish destination: a directory, an S3 bucket and prefix, a
// GitHub release. A provider implements Store and nothing else; the
// [Publisher] computes the [Plan], the upload order, the concurrency and
// the retries, so a provider only moves bytes and reports what is there.
//
// Names are slash-separated paths relative to the release root, exactly
// as in the staged directory: "manifest.json", "1.2.0/SHA256SUMS",
// "1.2.0/hello-1.2.0-linux-amd64.tar.gz". They never start with "/",
// never contain "." or ".." elements, and are already checked by the
// Publisher. A provider may map them (GitHub flattens them to the last
// element) but must do so consistently across Stat, Put and Open.
//
// Every method may be called concurrently from several goroutines.
//
// Errors: a missing object is reported by an error wrapping [ErrNotExist].
// A transient failure (network error, HTTP 5xx, HTTP 429) should be
// reported by an error for which [IsRetryable] is true, for example a
// [*StatusError] or an error with an HTTPStatusCode() int method (as the
// AWS SDK's response errors have); the Publisher retries those, and only
// those.
type Store interface {
	// Stat reports the object stored under name. It returns an error
	// wrapping ErrNotExist when there is none. Object.SHA256 is the
	// lowercase hex SHA-256 of the content when the store knows it
	// cheaply (a checksum header, metadata, an asset digest, a hashed
	// local file), and "" otherwise; the Publisher then reads the object
	// through Open and hashes it before deciding to skip it.
	Stat(ctx context.Context, name string) (Object, error)

	// Put stores exactly info.Size bytes read from body under name.
	//
	// When info.Replace is false, Put is "create only": if an object
	// already exists under name, Put must not change it and must return
	// an error wrapping ErrExist. Providers make this check atomic where
	// the store allows it (link(2) on a directory, If-None-Match: * on
	// S3, GitHub's 422 already_exists). When info.Replace is true the
	// object replaces any existing one; the Publisher sets it only for
	// the files at the root (see [IsMutable]).
	//
	// Put must never leave a partial object visible under name: a
	// reader sees either nothing (or the old object) or all the bytes.
	// body returns an error wrapping [ErrChecksum] instead of io.EOF when
	// the bytes it delivered do not hash to info.SHA256; Put must then
	// fail without publishing them. Providers that can have the server
	// check the digest (S3 x-amz-checksum-sha256) should send it too.
	//
	// body also implements io.Seeker and io.ReaderAt, for SDKs that need
	// to rewind or read parts in parallel. A failed Put is retried by the
	// Publisher with a fresh body; Put itself should not retry. Tests call
	// Put with [NewBody].
	Put(ctx context.Context, name string, body *Body, info PutInfo) error

	// Open returns the content stored under name, or an error wrapping
	// ErrNotExist. The caller closes it. It is used to hash objects whose
	// Stat has no SHA-256 and to copy a release in [Promote].
	Open(ctx context.Context, name string) (io.ReadCloser, error)
}

// Committer is implemented by stores whose content becomes visible in a
// separate step after all uploads, such as a GitHub draft release. The
// Publisher calls Commit once, after every file (manifest.json last) is
// in place, on every run, including a re-run that uploaded nothing;
// Commit must therefore be idempotent. Stores whose commit point is the
// replacement of manifest.json (a directory, S3) need not implement it.
type Committer interface {
	Commit(ctx context.Context) error
}

// Deleter is implemented by stores that can remove an object: a directory,
// S3, a GitHub repository. It is used only to remove the files of
// releases that a retention policy dropped from the manifest (see
// release.Prune), never by a publish. Delete of a missing object returns
// nil.
type Deleter interface {
	Delete(ctx context.Context, name string) error
}

// Locator is implemented by stores that know the public URL of an
// object. URL("") is the URL of the release itself (the release page, the
// root of the bucket prefix, the directory). The URLs go in [Result].
type Locator interface {
	URL(name string) string
}

// Object describes a stored object, as reported by [Store.Stat].
type Object struct {
	// Name is the object's name as passed to Stat.
	Name string
	// Size is the content length in bytes.
	Size int64
	// SHA256 is the lowercase hex SHA-256 of the content, or "" when the
	// store cannot report it without reading the content.
	SHA256 string
	// Version identifies this revision of the object for a conditional
	// replace ([PutInfo.IfMatch]): the ETag on S3, the asset ID on a
	// forge, the SHA-256 in a directory. "" when the store has none, and
	// then it cannot replace conditionally.
	Version string
}

// PutInfo describes the object a [Store.Put] call writes.
type PutInfo struct {
	// Size is the exact number of bytes r delivers.
	Size int64
	// SHA256 is the lowercase hex SHA-256 of those bytes.
	SHA256 string
	// ContentType is the MIME type to store with the object
	// ("application/gzip", "application/json", ...); never empty.
	ContentType string
	// Stage is the step of the upload order the object belongs to.
	// Providers may use it to choose caching: StageIndex and
	// StageManifest objects change on every release and should be served
	// with a short cache lifetime, everything else never changes.
	Stage Stage
	// Replace allows overwriting an existing object; when false, Put is
	// create-only and must fail with an error wrapping ErrExist.
	Replace bool
	// IfMatch, with Replace, makes the put conditional: it replaces the
	// object only while the stored revision is still the one whose
	// [Object.Version] is IfMatch, atomically where the store allows it
	// (If-Match on S3, a lock around compare-and-rename in a directory),
	// and otherwise fails with an error wrapping [ErrChanged] and changes
	// nothing. The Publisher sets it when it replaces manifest.json, so
	// that two publishers racing never lose a release. "" replaces
	// unconditionally.
	IfMatch string
}

// Stage is one step of the upload order. Files of a lower stage are all
// in place before any file of a higher stage is uploaded.
type Stage int

// The upload order. Artifacts first, the manifest last: until
// manifest.json is replaced no client sees the release.
const (
	// StageArtifact: archives, binaries, packages (uploaded concurrently).
	StageArtifact Stage = iota + 1
	// StageChecksums: SHA256SUMS.
	StageChecksums
	// StageSignature: SHA256SUMS.sig and other detached signatures,
	// certificates and bundles.
	StageSignature
	// StageMetadata: SBOM, provenance, release notes and other files.
	StageMetadata
	// StageIndex: the other root files, replaced with the manifest:
	// first the signatures (manifest.json.sig, keys.json.sig,
	// signatures.json), then the rest (keys.json, install.sh), so that a
	// new keys.json is never visible before the signatures that cover it.
	StageIndex
	// StageManifest: manifest.json, the commit point, always last.
	StageManifest
)

var stageNames = [...]string{"", "artifact", "checksums", "signature", "metadata", "index", "manifest"}

// String returns the stage's lowercase name ("artifact", "manifest", ...).
func (s Stage) String() string {
	if s > 0 && int(s) < len(stageNames) {
		return stageNames[s]
	}
	return fmt.Sprintf("Stage(%d)", int(s))
}

// IsMutable reports whether a publish replaces the object name when its
// bytes differ, instead of refusing it with a [*ConflictError]. Files at
// the root of the release (no "/" in the name: manifest.json, its
// signature, signatures.json, keys.json and its signature, an unversioned
// install.sh) are pointers that change with every release and are
// replaced; files under a version directory are published once and never
// change.
func IsMutable(name string) bool { return !strings.Contains(name, "/") }

// indexFiles are the root files published together with manifest.json,
// which [Publisher.Promote] copies along with it when the source has them.
var indexFiles = []string{"manifest.json.sig", "signatures.json", "keys.json", "keys.json.sig"}

// ErrNotExist is what a [Store] returns (wrapped) for a missing object. It
// is fs.ErrNotExist, so os errors match it too.
var ErrNotExist = fs.ErrNotExist

// ErrExist is what a create-only [Store.Put] returns (wrapped) when the
// name is already taken. It is fs.ErrExist, so os errors match it too.
var ErrExist = fs.ErrExist

// ErrChanged is what a conditional [Store.Put] returns (wrapped) when the
// object was replaced since its [Object.Version] was read: another
// publisher got there first. The Publisher then reads the new manifest
// and merges again.
var ErrChanged = errors.New("changed since it was read")

// ErrChecksum is wrapped by errors reporting bytes that do not match their
// expected SHA-256 or size: a staged file that changed after planning, a
// promoted object that does not match its checksum.
var ErrChecksum = errors.New("checksum mismatch")

// ChecksumError reports content that does not match its expected SHA-256
// or size. It wraps [ErrChecksum].
type ChecksumError struct {
	// Name is the object or file.
	Name string
	// WantSHA256 and WantSize are what was expected.
	WantSHA256 string
	WantSize   int64
	// GotSHA256 and GotSize are what was read; GotSHA256 is "" when the
	// size was already wrong.
	GotSHA256 string
	GotSize   int64
}

// Error implements error.
func (e *ChecksumError) Error() string {
	if e.GotSize != e.WantSize {
		return fmt.Sprintf("%s: size %d, want %d", e.Name, e.GotSize, e.WantSize)
	}
	return fmt.Sprintf("%s: sha256 %s, want %s", e.Name, e.GotSHA256, e.WantSHA256)
}

// Unwrap returns ErrChecksum.
func (e *ChecksumError) Unwrap() error { return ErrChecksum }

// Conflict is one published name whose content differs from the staged
// file.
type Conflict struct {
	// Name is the object's name.
	Name string
	// Local is the staged file; Remote what the destination holds.
	Local, Remote Object
}

// ConflictError reports every published name whose content differs from
// the staged file (a version is never reused). Nothing was uploaded.
type ConflictError struct {
	// Conflicts lists every differing name, in upload order.
	Conflicts []Conflict
}

// Error implements error; it names the first conflicts.
func (e *ConflictError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "publish: %d published file(s) differ from the staged ones", len(e.Conflicts))
	for i, c := range e.Conflicts {
		if i == 5 {
			fmt.Fprintf(&b, "; and %d more", len(e.Conflicts)-i)
			break
		}
		if c.Remote.Size != c.Local.Size {
			fmt.Fprintf(&b, "; %s: published size %d, staged %d", c.Name, c.Remote.Size, c.Local.Size)
		} else {
			fmt.Fprintf(&b, "; %s: published sha256 %s, staged %s", c.Name, c.Remote.SHA256, c.Local.SHA256)
		}
	}
	return b.String()
}

// Is reports whether target is ErrExist, so that errors.Is(err, ErrExist)
// holds for a conflict too.
func (e *ConflictError) Is(target error) bool { return target == ErrExist }

// StatusError is an error with an HTTP status code, for providers to
// report server answers. [IsRetryable] is true for 5xx and 429.
type StatusError struct {
	// Op is what failed ("put", "stat", ...), Name the object.
	Op, Name string
	// StatusCode is the HTTP status.
	StatusCode int
	// RetryAfter is the server's requested wait (Retry-After or a rate
	// limit reset), or 0.
	RetryAfter time.Duration
	// Err is the underlying error, if any.
	Err error
}

// Error implements error.
func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s %s: HTTP %d", e.Op, e.Name, e.StatusCode)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error.
func (e *StatusError) Unwrap() error { return e.Err }

// HTTPStatusCode returns the status code.
func (e *StatusError) HTTPStatusCode() int { return e.StatusCode }

// RetryAfterHint returns how long the server asked to wait.
func (e *StatusError) RetryAfterHint() time.Duration { return e.RetryAfter }

// IsRetryable reports whether err is transient and the operation may be
// retried: a network error (connection refused or reset, a failed dial,
// read or write, a timeout, a temporary DNS failure, a connection closed
// without an answer, an unexpected EOF), or an HTTP status 5xx or 429 reported through an error
// with an HTTPStatusCode() int method (such as [*StatusError] and the AWS
// SDK's response errors). Any other 4xx, [ErrExist], [ErrNotExist],
// [ErrChanged], [ErrChecksum], TLS certificate errors and context cancellation are
// final, and so are local I/O errors (a full disk, a permission).
func IsRetryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, ErrChecksum) || errors.Is(err, ErrExist) || errors.Is(err, ErrNotExist) || errors.Is(err, ErrChanged) {
		return false
	}
	var sc interface{ HTTPStatusCode() int }
	if errors.As(err, &sc) {
		code := sc.HTTPStatusCode()
		return code >= 500 || code == 429
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNABORTED) {
		return true
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return true // dial, read, write failures
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		return de.IsTemporary || de.IsTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		// The server closed the connection without an answer.
		return errors.Is(ue.Err, io.EOF)
	}
	return false
}

// retryAfter returns the wait a server asked for, if any.
func retryAfter(err error) time.Duration {
	var ra interface{ RetryAfterHint() time.Duration }
	if errors.As(err, &ra) {
		return ra.RetryAfterHint()
	}
	return 0
}
