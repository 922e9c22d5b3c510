package install

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path"
	"strings"
	"time"

	"github.com/relkit/relkit/verify"
)

// Download defaults; see [Config].
const (
	// DefaultRetries is how many times a failed download is retried.
	DefaultRetries = 3
	// DefaultStallTimeout aborts a download that receives nothing for
	// this long.
	DefaultStallTimeout = 30 * time.Second
	// DefaultRetryBackoff is the wait before the first retry; it doubles
	// on each further retry.
	DefaultRetryBackoff = 500 * time.Millisecond
	// DefaultDownloadTimeout bounds the download of one file, retries
	// included: 4 GiB (DefaultMaxDownload) in an hour is about 1.2 MB/s.
	DefaultDownloadTimeout = time.Hour
	// DefaultMinThroughput is the slowest transfer accepted, in bytes per
	// second (1 KiB/s), measured over DefaultThroughputWindow.
	DefaultMinThroughput = 1 << 10
	// DefaultThroughputWindow is the interval over which the throughput
	// of a download is measured.
	DefaultThroughputWindow = 30 * time.Second
)

// SlowError reports a download attempt that received less than the
// minimum throughput (Network.MinThroughput) over one window.
type SlowError struct {
	// URL is what was being downloaded.
	URL string
	// Got is how many bytes arrived in the window.
	Got int64
	// Window is the measuring interval; Min the bytes per second wanted.
	Window time.Duration
	Min    int64
}

// Error implements the error interface.
func (e *SlowError) Error() string {
	return fmt.Sprintf("%s: too slow: %d bytes in %s, below the minimum of %d bytes/s", e.URL, e.Got, e.Window, e.Min)
}

// Timeout reports true: a download too slow to finish is a timeout.
func (e *SlowError) Timeout() bool { return true }

// StallError reports a download that received no bytes for Timeout.
type StallError struct {
	// URL is what was being downloaded.
	URL string
	// After is the stall timeout.
	After time.Duration
}

// Error implements the error interface.
func (e *StallError) Error() string {
	return fmt.Sprintf("%s: no data for %s", e.URL, e.After)
}

// Timeout reports true: a stall is a timeout.
func (e *StallError) Timeout() bool { return true }

// downloader streams files of a release, with retries, resume, size caps,
// a stall timeout and progress.
type downloader struct {
	src      fetcher
	log      *slog.Logger
	progress func(done, total int64)
	retries  int
	stall    time.Duration
	backoff  time.Duration
	timeout  time.Duration // whole-file timeout, 0 = none
	minRate  int64         // bytes per second, 0 = no throughput rule
	window   time.Duration // the throughput rule's measuring interval
}

// errShort marks a body that ended before the expected size: the
// connection was cut, so another attempt resumes.
var errShort = errors.New("connection closed before the end of the file")

// retryable reports whether another attempt could succeed.
func retryable(err error) bool {
	var fe *FileError
	var ue *UnsafePathError
	if errors.As(err, &fe) || errors.As(err, &ue) {
		return false // local: another request cannot help
	}
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Temporary() // never a refused redirect
	}
	var sm *verify.SizeMismatchError
	if errors.As(err, &sm) {
		return sm.Got < sm.Want // cut short: resume; too long: never
	}
	var se *SizeError
	if errors.As(err, &se) || errors.Is(err, ErrTooLarge) || errors.Is(err, verify.ErrChecksumMismatch) {
		return false
	}
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, errShort) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	var st *StallError
	var sl *SlowError
	if errors.As(err, &st) || errors.As(err, &sl) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// retry runs op until it succeeds, fails for good, or runs out of
// attempts, sleeping with exponential backoff in between. The whole of it
// is bounded by the download timeout; op gets that bounded context.
func (d *downloader) retry(ctx context.Context, name string, op func(ctx context.Context, attempt int) error) error {
	if d.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.timeout)
		defer cancel()
	}
	backoff := d.backoff
	var err error
	attempt := 0
	for attempt < d.retries+1 {
		attempt++
		if attempt > 1 {
			d.log.Warn("retrying download", "url", name, "attempt", attempt, "err", err)
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return &DownloadError{URL: name, Attempts: attempt - 1, Err: context.Cause(ctx)}
			case <-t.C:
			}
			backoff *= 2
		}
		if err = op(ctx, attempt); err == nil {
			return nil
		}
		if !retryable(err) || ctx.Err() != nil {
			break
		}
	}
	return &DownloadError{URL: name, Attempts: attempt, Err: err}
}

// withStall returns a context cancelled when kick is not called for the
// stall timeout, and that kick function.
func (d *downloader) withStall(ctx context.Context, name string) (context.Context, func(), func()) {
	actx, cancel := context.WithCancelCause(ctx)
	if d.stall <= 0 {
		return actx, func() {}, func() { cancel(nil) }
	}
	t := time.AfterFunc(d.stall, func() { cancel(&StallError{URL: name, After: d.stall}) })
	return actx, func() { t.Reset(d.stall) }, func() { t.Stop(); cancel(nil) }
}

// cause returns the stall error when ctx was cancelled by the stall timer.
func cause(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		if c := context.Cause(ctx); c != nil {
			return c
		}
	}
	return err
}

// fetchSmall reads a small file (manifest, signature) into memory, at most
// limit bytes. A missing file is an error wrapping fs.ErrNotExist.
func (d *downloader) fetchSmall(ctx context.Context, rel string, limit int64) ([]byte, error) {
	name := d.src.name(rel)
	var buf bytes.Buffer
	err := d.retry(ctx, name, func(ctx context.Context, _ int) error {
		buf.Reset()
		actx, kick, stop := d.withStall(ctx, name)
		defer stop()
		body, info, err := d.src.get(actx, rel, 0, "")
		if err != nil {
			return cause(actx, err) // a 404 *HTTPError wraps fs.ErrNotExist
		}
		defer body.Close()
		if info.total > limit {
			return &LimitError{Name: name, Limit: limit}
		}
		n, err := io.Copy(&buf, io.LimitReader(d.meter(body, kick, name), limit+1))
		if err != nil {
			return cause(actx, err)
		}
		if n > limit {
			return &LimitError{Name: name, Limit: limit}
		}
		if info.total >= 0 && n != info.total {
			return fmt.Errorf("%s: %w after %d of %d bytes", name, errShort, n, info.total)
		}
		return checkJSON(rel, buf.Bytes(), info.contentType)
	})
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// checkJSON refuses a body that cannot be the JSON document rel names
// (manifest.json, signatures.json, keys.json): an HTML page from a
// captive portal or a misconfigured server must say so, not fail later
// as a bad signature.
func checkJSON(rel string, body []byte, contentType string) error {
	if !strings.HasSuffix(rel, ".json") {
		return nil
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n\ufeff")
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		return nil
	}
	reason := "not JSON"
	if contentType != "" {
		reason += " (Content-Type " + contentType + ")"
	}
	start := trimmed[:min(len(trimmed), 40)]
	if len(start) == 0 {
		reason += ": empty"
	} else {
		reason += fmt.Sprintf(": starts with %q", start)
	}
	return &verify.FormatError{File: path.Base(rel), Reason: reason}
}

// fetchOptional is fetchSmall returning nil, nil for a missing file.
func (d *downloader) fetchOptional(ctx context.Context, rel string, limit int64) ([]byte, error) {
	b, err := d.fetchSmall(ctx, rel, limit)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// fetchVerified downloads rel into f (an empty temporary file), hashing
// the bytes as they arrive through a [verify.Reader] for want. A cut
// connection resumes with an HTTP Range request validated by If-Range;
// when the server cannot resume (or its file changed, so it answers with
// the whole file), the download restarts from zero, and so does, once, a
// resumed download that does not verify (a splice of two versions behind
// a validator too coarse to tell them apart). It returns only when f
// holds exactly the verified bytes.
//
// When tee is not nil it receives the downloaded bytes in stream order, as
// they are written (before the whole file is verified: the receiver must
// discard what it made from them unless fetchVerified returns nil).
func (d *downloader) fetchVerified(ctx context.Context, rel string, want verify.Expected, limit int64, f *os.File, tee streamTee) error {
	name := d.src.name(rel)
	var (
		done      int64 // verified-so-far prefix length on disk
		validator string
		restarted bool
	)
	return d.retry(ctx, name, func(ctx context.Context, attempt int) error {
		resumed, err := d.attemptVerified(ctx, rel, name, want, limit, f, tee, &done, &validator)
		var cm *verify.ChecksumMismatchError
		if errors.As(err, &cm) && resumed && !restarted {
			// A resumed download that does not verify may be a splice of
			// two versions of the file (a validator too coarse to tell
			// them apart): start over from zero, once, in this attempt.
			restarted = true
			done, validator = 0, ""
			d.log.Warn("resumed download does not verify; restarting from zero", "url", name)
			_, err = d.attemptVerified(ctx, rel, name, want, limit, f, tee, &done, &validator)
		}
		return err
	})
}

// attemptVerified makes one request for rel, resuming from *done with
// *validator when both are set. resumed reports that the body continued
// bytes already on disk (a 206 answer to a range request).
func (d *downloader) attemptVerified(ctx context.Context, rel, name string, want verify.Expected, limit int64, f *os.File, tee streamTee, done *int64, validator *string) (resumed bool, err error) {
	actx, kick, stop := d.withStall(ctx, name)
	defer stop()
	body, info, err := d.src.get(actx, rel, *done, *validator)
	if he := (*HTTPError)(nil); *done > 0 && errors.As(err, &he) && he.StatusCode == http.StatusRequestedRangeNotSatisfiable {
		// The file is shorter than what we have: start over, once.
		d.log.Info("server refused the resume (416); restarting the download from byte 0", "url", name)
		*done, *validator = 0, ""
		body, info, err = d.src.get(actx, rel, 0, "")
	}
	if err != nil {
		return false, cause(actx, err)
	}
	defer body.Close()
	if info.start != *done {
		if *done > 0 {
			d.log.Info("server cannot resume; restarting the download from byte 0", "url", name)
		}
		*done = 0
	}
	if *done == 0 {
		if err := f.Truncate(0); err != nil {
			return false, localErr("truncate", f.Name(), err)
		}
	}
	resumed = *done > 0
	*validator = info.validator
	if want.Size != verify.UnknownSize && info.total >= 0 && info.total != want.Size {
		return resumed, &SizeError{Name: path.Base(rel), Want: want.Size, Got: info.total}
	}
	if want.Size > limit || info.total > limit {
		return resumed, &LimitError{Name: name, Limit: limit}
	}
	// The verify.Reader sees the prefix already on disk, then the body;
	// only the body is written.
	prefix := io.NewSectionReader(f, 0, *done)
	pr := &progressReader{r: d.meter(body, kick, name), done: done, total: want.Size, progress: d.progress, limit: limit, name: name}
	vr, err := verify.NewReader(io.MultiReader(prefix, pr), want)
	if err != nil {
		return resumed, err
	}
	w := &skipWriter{f: f, skip: *done, tee: tee}
	_, err = copyBuffer(w, vr)
	if err != nil {
		return resumed, cause(actx, err)
	}
	if !vr.Verified() {
		return resumed, fmt.Errorf("%s: %w", name, errShort)
	}
	// No fsync here: an archive is a temporary file that is deleted
	// after extraction; a bare binary is synced by the caller before it
	// is renamed into place.
	return resumed, nil
}

// streamTee receives a download's bytes with their offsets in the file.
type streamTee interface {
	writeAt(p []byte, off int64)
}

// skipWriter writes a stream into f at the stream's offsets, discarding
// the first skip bytes (they are on disk already), and passes what it
// writes to tee.
type skipWriter struct {
	f    *os.File
	skip int64
	off  int64
	tee  streamTee
}

func (w *skipWriter) Write(p []byte) (int, error) {
	n := len(p)
	if w.off < w.skip {
		k := min(int64(len(p)), w.skip-w.off)
		w.off += k
		p = p[k:]
	}
	if len(p) > 0 {
		if err := fault("write", w.f.Name()); err != nil {
			return n - len(p), localErr("write", w.f.Name(), err)
		}
		m, err := w.f.WriteAt(p, w.off)
		if w.tee != nil && m > 0 {
			w.tee.writeAt(p[:m], w.off)
		}
		w.off += int64(m)
		if err != nil {
			return n - len(p) + m, localErr("write", w.f.Name(), err)
		}
	}
	return n, nil
}

// meter returns body wrapped in a meterReader with the downloader's
// throughput rule.
func (d *downloader) meter(body io.Reader, kick func(), name string) *meterReader {
	return &meterReader{r: body, kick: kick, name: name, min: d.minRate, window: d.window, start: time.Now()}
}

// meterReader calls kick after every read that returned bytes (resetting
// a stall timer) and enforces the minimum throughput: when a window has
// passed with fewer than min*window bytes, the read fails with a
// *SlowError.
type meterReader struct {
	r      io.Reader
	kick   func()
	name   string
	min    int64 // bytes per second; 0: no rule
	window time.Duration
	start  time.Time // of the current window
	n      int64     // bytes in the current window
}

func (m *meterReader) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	if n > 0 {
		m.kick()
	}
	if m.min > 0 && m.window > 0 {
		m.n += int64(n)
		if now := time.Now(); now.Sub(m.start) >= m.window {
			if want := int64(float64(m.min) * m.window.Seconds()); m.n < want {
				return n, &SlowError{URL: m.name, Got: m.n, Window: m.window, Min: m.min}
			}
			m.start, m.n = now, 0
		}
	}
	return n, err
}

// progressReader counts body bytes into *done and reports progress.
type progressReader struct {
	r        io.Reader
	done     *int64
	total    int64
	progress func(done, total int64)
	limit    int64
	name     string
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		*p.done += int64(n)
		if *p.done > p.limit {
			return n, &LimitError{Name: p.name, Limit: p.limit}
		}
		if p.progress != nil {
			p.progress(*p.done, p.total)
		}
	}
	return n, err
}
