package publish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/relkit/relkit/internal/atomicfile"
	"github.com/relkit/relkit/internal/ctxio"
)

// DirStore is the directory provider: a [Store] that publishes into a local
// directory, such as a local mirror, a web server's document root or an
// S3-mounted folder. Every file is written to a temporary file in the same
// directory, synced, and then moved into place, so a reader of the
// directory never sees a partial file; create-only puts use link(2), so a
// published file is never overwritten even by a concurrent publish.
//
// Durability: a file's bytes are fsynced before its name appears, so
// even after a power failure a published name never holds a partial or
// empty file. The directory entries of files under subdirectories (the
// version directories, sigs/, root/) are fsynced in one batch, once per
// directory, before the next file at the root (manifest.json above all)
// is written, and on Commit; a root file's directory entry is fsynced
// before its Put returns. So when the commit point (manifest.json) is
// durable, everything it refers to is, and a power failure before it
// loses at most names that no manifest lists yet, which a re-run puts
// back. That is one fsync per file instead of two; call
// [DirStore.Commit] after Puts of subdirectory files made outside a
// Publisher to make their names durable. The digest sidecars ([SumsDir])
// are not fsynced at all: one lost in a crash is missing or empty, and
// costs a hash.
//
// Stat hashes the file to report its SHA-256, so planning reads every
// file already published under a staged name once. A publish killed while
// writing may leave a ".relkit-tmp-*" file behind (never under a published
// name); [DirStore.RemoveStale] removes them.
type DirStore struct {
	root string
	// BaseURL, when set, is the URL the directory is served at; URL
	// returns BaseURL joined with the object name. When empty, URL
	// returns a file:// URL.
	BaseURL string
	// Rehash makes Stat hash every file instead of trusting the digest
	// sidecars under [SumsDir] (see there). Default false: a no-op re-run
	// reads no published byte.
	Rehash bool

	mu       sync.Mutex
	unsynced map[string]bool // directories whose new entries are not fsynced yet
}

// NewDirStore returns a DirStore publishing into root, creating it if
// needed.
func NewDirStore(root string) (*DirStore, error) {
	if root == "" {
		return nil, errors.New("publish: empty directory name")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	return &DirStore{root: abs}, nil
}

// Root returns the directory's absolute path.
func (d *DirStore) Root() string { return d.root }

// String returns the directory, as Root does, so that a DirStore used as
// a verify.Location prints as its path in messages.
func (d *DirStore) String() string { return d.root }

func (d *DirStore) path(name string) (string, error) {
	if err := CheckName(name); err != nil {
		return "", fmt.Errorf("publish: %w", err)
	}
	return filepath.Join(d.root, filepath.FromSlash(name)), nil
}

// Stat implements [Store]. It reports the SHA-256 from the file's digest
// sidecar while the file is unchanged since it was hashed (see
// [SumsDir]), and hashes the file otherwise (and with Rehash).
func (d *DirStore) Stat(ctx context.Context, name string) (Object, error) {
	p, err := d.path(name)
	if err != nil {
		return Object{}, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return Object{}, err
	}
	if !fi.Mode().IsRegular() {
		return Object{}, &RootError{Reason: fmt.Sprintf("%s is a %s, not a regular file: remove it (nothing was replaced)", p, fi.Mode().Type())}
	}
	if sum := d.cachedSum(name, fi); sum != "" {
		return Object{Name: name, Size: fi.Size(), SHA256: sum, Version: sum}, nil
	}
	sum, n, err := hashFile(ctx, p)
	if err != nil {
		return Object{}, err
	}
	if n == fi.Size() {
		d.remember(name, p, sum)
	}
	return Object{Name: name, Size: n, SHA256: sum, Version: sum}, nil
}

// Open implements [Store].
func (d *DirStore) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	p, err := d.path(name)
	if err != nil {
		return nil, err
	}
	return os.Open(p)
}

// Put implements [Store]: temp file, fsync, then link(2) (create-only) or
// rename (replace), then a directory fsync.
func (d *DirStore) Put(ctx context.Context, name string, r *Body, info PutInfo) (err error) {
	p, err := d.path(name)
	if err != nil {
		return err
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if dir == d.root {
		// A root file (manifest.json: the commit point) comes after
		// everything it refers to: make their names durable first.
		if err := d.syncDirs(); err != nil {
			return err
		}
	}
	if !info.Replace {
		if _, err := os.Lstat(p); err == nil {
			return &os.PathError{Op: "publish", Path: p, Err: ErrExist}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	check := &countingReader{r: ctxio.Reader(ctx, r)}
	if info.Replace && info.IfMatch != "" {
		return d.replaceIfMatch(ctx, p, name, sizeCheck{check, info.Size, name}, info.IfMatch, info.SHA256)
	}
	if info.Replace {
		d.forget(name)
		if _, err := atomicfile.WriteFile(p, sizeCheck{check, info.Size, name}, 0o644); err != nil {
			return err
		}
		d.remember(name, p, info.SHA256)
		return nil
	}
	f, err := os.CreateTemp(dir, atomicfile.TempPattern)
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if f != nil {
			f.Close()
		}
		os.Remove(tmp)
	}()
	if _, err := io.Copy(f, sizeCheck{check, info.Size, name}); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	err = f.Close()
	f = nil
	if err != nil {
		return err
	}
	if err := os.Link(tmp, p); err != nil {
		if errors.Is(err, os.ErrExist) {
			return err
		}
		if !linkUnsupported(err) {
			return err
		}
		// No hard links on this file system: check then rename (racy
		// against a concurrent publisher, but still never partial).
		if _, serr := os.Lstat(p); serr == nil {
			return &os.PathError{Op: "publish", Path: p, Err: ErrExist}
		}
		if err := os.Rename(tmp, p); err != nil {
			return err
		}
	}
	// Unlink the temporary name first: dropping a link changes the
	// file's change time, which the sidecar records.
	os.Remove(tmp)
	if dir == d.root {
		if err := atomicfile.SyncDir(dir); err != nil {
			return err
		}
	} else {
		d.mu.Lock()
		if d.unsynced == nil {
			d.unsynced = map[string]bool{}
		}
		d.unsynced[dir] = true
		d.mu.Unlock()
	}
	d.remember(name, p, info.SHA256)
	return nil
}

// syncDirs fsyncs every directory that got new entries since the last
// call, once each.
func (d *DirStore) syncDirs() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for dir := range d.unsynced {
		if err := atomicfile.SyncDir(dir); err != nil {
			return err
		}
		delete(d.unsynced, dir)
	}
	return nil
}

// Commit implements [Committer]: it makes the names of the files put so
// far durable (see the durability note on [DirStore]). The Publisher calls
// it after manifest.json; by then it has nothing left to do.
func (d *DirStore) Commit(ctx context.Context) error { return d.syncDirs() }

// LockFile is the file in the root of a [DirStore] that conditional
// replaces lock (flock(2) on Unix), so that two publishers replacing
// manifest.json at once never both succeed.
const LockFile = ".relkit-lock"

// MaxLockWait bounds how long a conditional replace in a [DirStore] waits
// for the root's lock ([LockFile]), which another publisher holds only for
// one compare-and-rename (the kernel drops the lock of a killed one).
const MaxLockWait = 2 * time.Minute

// LockError reports a [DirStore] root whose lock stayed held for
// [MaxLockWait]: a publisher stuck in the middle of a compare-and-rename
// (a hung NFS server?), or a lock file another tool holds.
type LockError struct {
	// Path is the lock file; Waited how long it was waited for.
	Path   string
	Waited time.Duration
}

// Error implements error.
func (e *LockError) Error() string {
	return fmt.Sprintf("publish: %s stayed locked for %v: another publisher is stuck replacing manifest.json (find the process holding it: fuser %s)", e.Path, e.Waited, e.Path)
}

// replaceIfMatch writes the new content to a synced temporary file, then,
// holding the root's lock, replaces name only if its content still hashes
// to ifMatch (the Version that Stat reported).
func (d *DirStore) replaceIfMatch(ctx context.Context, p, name string, r io.Reader, ifMatch, sum string) error {
	dir := filepath.Dir(p)
	f, err := os.CreateTemp(dir, atomicfile.TempPattern)
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", p, err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	unlock, err := lockRoot(ctx, filepath.Join(d.root, LockFile))
	if err != nil {
		return fmt.Errorf("publish: lock %s: %w", d.root, err)
	}
	defer unlock()
	// The compare of compare-and-rename hashes the file itself: a
	// sidecar could be stale for a moment here.
	cur, _, err := hashFile(ctx, p)
	if errors.Is(err, fs.ErrNotExist) {
		return &os.PathError{Op: "publish", Path: p, Err: fmt.Errorf("%s was removed: %w", name, ErrChanged)}
	}
	if err != nil {
		return err
	}
	if cur != ifMatch {
		return &os.PathError{Op: "publish", Path: p, Err: fmt.Errorf("%s is now sha256 %s, not %s: %w", name, short(cur), short(ifMatch), ErrChanged)}
	}
	if err := os.Rename(tmp, p); err != nil {
		return err
	}
	return atomicfile.SyncDir(dir)
}

// Delete implements [Deleter]: it removes the file, and its directory when
// that is left empty.
func (d *DirStore) Delete(ctx context.Context, name string) error {
	p, err := d.path(name)
	if err != nil {
		return err
	}
	d.forget(name)
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	dir := filepath.Dir(p)
	if dir != d.root && os.Remove(dir) == nil { // fails while not empty
		dir = filepath.Dir(dir)
	}
	return atomicfile.SyncDir(dir)
}

// RemoveStale removes the temporary files that publishes killed while
// writing left behind (".relkit-tmp-*") when they are older than
// olderThan, so that a live publish's files are left alone. It returns
// the removed paths.
func (d *DirStore) RemoveStale(ctx context.Context, olderThan time.Duration) ([]string, error) {
	var removed []string
	cutoff := time.Now().Add(-olderThan)
	err := filepath.WalkDir(d.root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.IsDir() || !strings.HasPrefix(e.Name(), ".relkit-tmp-") {
			return nil
		}
		fi, err := e.Info()
		if err != nil {
			return nil // gone already
		}
		if fi.ModTime().Before(cutoff) {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			removed = append(removed, p)
		}
		return nil
	})
	return removed, err
}

func linkUnsupported(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.ENOTSUP) ||
		errors.Is(err, syscall.EXDEV) || errors.Is(err, syscall.EMLINK) || errors.Is(err, syscall.EOPNOTSUPP) ||
		errors.Is(err, syscall.ENOSYS)
}

// URL implements [Locator].
func (d *DirStore) URL(name string) string {
	if d.BaseURL != "" {
		if name == "" {
			return d.BaseURL
		}
		return strings.TrimSuffix(d.BaseURL, "/") + "/" + name
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(d.root, filepath.FromSlash(name)))}
	if name == "" {
		u.Path += "/"
	}
	return u.String()
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// sizeCheck turns a reader that delivers a different number of bytes than
// announced into a ChecksumError at EOF.
type sizeCheck struct {
	c    *countingReader
	size int64
	name string
}

func (s sizeCheck) Read(p []byte) (int, error) {
	if s.c.n >= s.size {
		// Probe for extra bytes.
		var one [1]byte
		n, err := s.c.r.Read(one[:])
		if n > 0 {
			return 0, &ChecksumError{Name: s.name, WantSize: s.size, GotSize: s.size + 1}
		}
		if err == nil {
			return 0, nil
		}
		return 0, err
	}
	if rem := s.size - s.c.n; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := s.c.Read(p)
	if errors.Is(err, io.EOF) && s.c.n < s.size {
		return n, &ChecksumError{Name: s.name, WantSize: s.size, GotSize: s.c.n}
	}
	if err == io.EOF {
		err = nil // EOF is reported by the probe above
	}
	return n, err
}
