package publish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/relkit/relkit/manifest"
)

// Defaults of the [Publisher] options.
const (
	// DefaultConcurrency is how many files are uploaded (and hashed) at
	// once unless [WithConcurrency] says otherwise.
	DefaultConcurrency = 4
	// MaxConcurrency is the largest value [WithConcurrency] accepts.
	MaxConcurrency = 256
)

// DefaultRetryPolicy returns the retry policy unless [WithRetry] says
// otherwise: 5 attempts, waits starting at 500ms and doubling up to 30s,
// with jitter.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{Attempts: 5, InitialDelay: 500 * time.Millisecond, MaxDelay: 30 * time.Second}
}

// RetryPolicy says how often and how patiently the [Publisher] retries an
// operation that failed with a transient error (see [IsRetryable]).
type RetryPolicy struct {
	// Attempts is the total number of tries, at least 1 (no retry).
	Attempts int
	// InitialDelay is the wait before the first retry; each further
	// retry doubles it, up to MaxDelay. The actual wait is drawn at
	// random between half of it and all of it (jitter), so that parallel
	// uploads do not retry in lockstep. A server's Retry-After hint
	// longer than that is honoured, up to MaxDelay.
	InitialDelay time.Duration
	// MaxDelay caps a single wait.
	MaxDelay time.Duration
}

func (r RetryPolicy) delay(attempt int, err error) time.Duration {
	d := r.InitialDelay
	for i := 1; i < attempt && d < r.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, r.MaxDelay)
	if d > 1 {
		d = d/2 + rand.N(d/2+1)
	}
	if ra := retryAfter(err); ra > d {
		d = min(ra, r.MaxDelay)
	}
	return d
}

// Option configures a [Publisher].
type Option func(*options) error

type options struct {
	concurrency int
	retry       RetryPolicy
	progress    func(Progress)
	noManifest  bool
	replaceAll  bool
	hashStaged  bool
}

// WithConcurrency sets how many files of one stage are uploaded at once
// (default [DefaultConcurrency]; 1 uploads one file at a time). The order
// of stages is kept whatever n is.
func WithConcurrency(n int) Option {
	return func(o *options) error {
		if n < 1 || n > MaxConcurrency {
			return fmt.Errorf("publish: concurrency %d out of range [1, %d]", n, MaxConcurrency)
		}
		o.concurrency = n
		return nil
	}
}

// WithRetry sets the retry policy (default [DefaultRetryPolicy]).
func WithRetry(p RetryPolicy) Option {
	return func(o *options) error {
		if p.Attempts < 1 || p.InitialDelay < 0 || p.MaxDelay < p.InitialDelay {
			return fmt.Errorf("publish: invalid retry policy %+v", p)
		}
		o.retry = p
		return nil
	}
}

// WithProgress sets a function called as files are uploaded, skipped and
// retried. Calls are serialized; the function should return quickly.
// Default: none.
func WithProgress(fn func(Progress)) Option {
	return func(o *options) error {
		o.progress = fn
		return nil
	}
}

// WithoutManifestUnsafe allows publishing a staged directory that has no
// manifest.json at its root, for destinations that are plain file drops.
// Nothing then marks the commit point: a reader may see a partially
// published release. Default: a missing manifest is an error.
func WithoutManifestUnsafe() Option {
	return func(o *options) error {
		o.noManifest = true
		return nil
	}
}

// WithReplaceExistingUnsafe makes the plan replace published files whose
// bytes differ from the staged ones instead of refusing them with a
// [*ConflictError]. It breaks the promise that a published version never
// changes (clients that cached a checksum will refuse the new bytes), so
// use it only to repair a release nobody has installed yet. It also turns
// off the refusal of a staged manifest that loses published history
// ([manifest.CheckSuccessor]). Default: refuse.
func WithReplaceExistingUnsafe() Option {
	return func(o *options) error {
		o.replaceAll = true
		return nil
	}
}

// WithHashStaged makes [Publisher.Plan] hash every staged file, including
// those the manifest lists, so that a file whose bytes disagree with the
// manifest is reported while planning (a [*StagedFileError] wrapping a
// [*ChecksumError]) instead of when it is uploaded. It costs one more read
// of every staged file. Default: files listed in the manifest are
// size-checked while planning and hashed once, as they are uploaded.
func WithHashStaged() Option {
	return func(o *options) error {
		o.hashStaged = true
		return nil
	}
}

// Publisher publishes staged release directories to one [Store], following
// the commit-point protocol described in the package documentation.
type Publisher struct {
	store Store
	opts  options

	mu sync.Mutex // serializes progress calls
}

// New returns a Publisher for store.
func New(store Store, opts ...Option) (*Publisher, error) {
	if store == nil {
		return nil, errors.New("publish: nil Store")
	}
	p := &Publisher{store: store, opts: options{concurrency: DefaultConcurrency, retry: DefaultRetryPolicy()}}
	for _, o := range opts {
		if err := o(&p.opts); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Event says what a [Progress] report is about.
type Event int

// Progress events.
const (
	// EventStart: an upload attempt of Name begins.
	EventStart Event = iota + 1
	// EventBytes: more bytes of Name were read by the store.
	EventBytes
	// EventDone: Name is in place (uploaded or replaced).
	EventDone
	// EventSkip: Name was already published with the same bytes.
	EventSkip
	// EventRetry: an operation on Name failed with Err and is retried
	// after Wait.
	EventRetry
	// EventCommit: every file is in place and the store's commit step
	// (if any) has run.
	EventCommit
)

var eventNames = [...]string{"", "start", "bytes", "done", "skip", "retry", "commit"}

// String returns the event's lowercase name.
func (e Event) String() string {
	if e > 0 && int(e) < len(eventNames) {
		return eventNames[e]
	}
	return fmt.Sprintf("Event(%d)", int(e))
}

// Progress is one progress report.
type Progress struct {
	// Event says what happened.
	Event Event
	// Name and Stage identify the file ("" for EventCommit).
	Name  string
	Stage Stage
	// FileBytes is how many bytes of Name the store has read in the
	// current attempt; FileSize its size.
	FileBytes, FileSize int64
	// Bytes is how many bytes of the whole publish have been read by the
	// store (finished files plus current attempts); TotalBytes how many
	// the plan uploads.
	Bytes, TotalBytes int64
	// Files is how many files are done (uploaded, replaced or skipped);
	// TotalFiles how many the release has.
	Files, TotalFiles int
	// Attempt counts from 1.
	Attempt int
	// Err is the error being retried and Wait how long until the next
	// attempt (EventRetry only).
	Err  error
	Wait time.Duration
}

// Asset is one published file in a [Result].
type Asset struct {
	// Name is the object name ("1.2.0/SHA256SUMS").
	Name string
	// URL is where clients download it ("" when the store is not a
	// [Locator]).
	URL string
	// Size and SHA256 (lowercase hex) describe the content.
	Size   int64
	SHA256 string
	// Stage is the file's place in the upload order.
	Stage Stage
	// Action is what this publish did: ActionUpload, ActionReplace or
	// ActionSkip.
	Action Action
}

// Result is what [Publisher.Publish] did.
type Result struct {
	// URL is the release location (the store's URL(""), e.g. a GitHub
	// release page), or "".
	URL string
	// Assets lists every file of the release in upload order.
	Assets []Asset
	// Uploaded, Replaced and Skipped count the files by action.
	Uploaded, Replaced, Skipped int
	// BytesUploaded is the size of the uploaded and replaced files; 0 on
	// a re-run of a complete publish.
	BytesUploaded int64
	// Root says what the commit of manifest.json did; nil with
	// [WithoutManifestUnsafe].
	Root *RootResult
}

// Names returns the asset names in upload order, one per file (what
// release-assets.txt lists).
func (r *Result) Names() []string {
	names := make([]string, len(r.Assets))
	for i, a := range r.Assets {
		names[i] = a.Name
	}
	return names
}

// DryRun computes the plan for dir, writes it to w (see [Plan.WriteTo]) and
// returns it, uploading nothing. Like [Publisher.Plan] it returns a
// [*ConflictError] along with the plan when files would be refused.
func (p *Publisher) DryRun(ctx context.Context, dir string, w io.Writer) (*Plan, error) {
	plan, err := p.Plan(ctx, dir)
	if plan == nil {
		return nil, err
	}
	if _, werr := plan.WriteTo(w); werr != nil && err == nil {
		err = werr
	}
	return plan, err
}

// Publish publishes the staged release directory dir: it computes the
// [Plan], refuses with a [*ConflictError] if any published name holds
// different bytes, then uploads stage by stage (artifacts concurrently,
// manifest.json alone and last), retrying transient failures, and finally
// runs the store's [Committer] step if it has one.
//
// Publish is safe to re-run: a re-run after an interruption uploads what
// is missing and converges; a re-run of a complete publish uploads zero
// bytes. On error, the destination may hold some new files but, unless
// the error happened during the last stage, not the new manifest, so no
// client sees the partial release.
func (p *Publisher) Publish(ctx context.Context, dir string) (*Result, error) {
	plan, err := p.Plan(ctx, dir)
	if err != nil {
		return nil, err
	}
	return p.Apply(ctx, plan)
}

// Apply carries out a plan computed by [Publisher.Plan] (typically shown
// to a user first with [Plan.WriteTo]). It refuses a plan with conflicts.
// Files are re-verified against the plan as they are uploaded.
func (p *Publisher) Apply(ctx context.Context, plan *Plan) (*Result, error) {
	if err := plan.Err(); err != nil {
		return nil, err
	}
	st := &runState{totalBytes: plan.UploadBytes(), totalFiles: len(plan.Steps)}
	res := &Result{}
	rootCommit := plan.hasManifest && !p.opts.noManifest
	if rootCommit && plan.merge == nil {
		// A staged manifest brings no index: refuse it at a v2
		// destination before anything is uploaded.
		if err := p.refuseIndexed(ctx); err != nil {
			return nil, err
		}
	}
	preflown := false
	var first *merged // the preflight's merge, the commit's first attempt
	var stage []int
	flush := func() error {
		if len(stage) == 0 {
			return nil
		}
		idx := stage
		stage = nil
		return p.forEach(ctx, len(idx), func(ctx context.Context, k int) error {
			return p.upload(ctx, st, &plan.Steps[idx[k]])
		})
	}
	for i := range plan.Steps {
		s := &plan.Steps[i]
		if i > 0 && (plan.Steps[i-1].Stage != s.Stage || plan.Steps[i-1].rank != s.rank) {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		if rootCommit && (isRootManifestFile(s.Name) || s.Name == manifest.SignaturesFile) {
			continue // committed below, derived from the manifest
		}
		if rootCommit && s.Stage == StageIndex && s.rank == 1 && !preflown {
			// Before the first root file changes, make sure the root can
			// be merged into: a destination that does not verify, or a
			// merge that would lose history, replaces nothing.
			if err := flush(); err != nil {
				return nil, err
			}
			var err error
			if first, err = p.preflight(ctx, plan); err != nil {
				return nil, err
			}
			preflown = true
			if err := p.signRootFiles(ctx, plan); err != nil {
				return nil, err
			}
		}
		switch s.Action {
		case ActionSkip:
			st.files.Add(1)
			p.report(st, Progress{Event: EventSkip, Name: s.Name, Stage: s.Stage, FileSize: s.Local.Size})
		case ActionUpload, ActionReplace:
			stage = append(stage, i)
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if rootCommit {
		if !preflown {
			var err error
			if first, err = p.preflight(ctx, plan); err != nil {
				return nil, err
			}
		}
		root, err := p.commitRoot(ctx, plan.mergeFunc(), first)
		if err != nil {
			return nil, err
		}
		res.Root = root
		for i := range plan.Steps {
			s := &plan.Steps[i]
			if !isRootManifestFile(s.Name) && s.Name != manifest.SignaturesFile {
				continue
			}
			st.files.Add(1)
			if !root.Changed {
				s.Action = ActionSkip
				p.report(st, Progress{Event: EventSkip, Name: s.Name, Stage: s.Stage, FileSize: s.Local.Size})
				continue
			}
			if s.Action == ActionSkip {
				s.Action = ActionReplace
			}
			st.bytes.Add(s.Local.Size)
			p.report(st, Progress{Event: EventDone, Name: s.Name, Stage: s.Stage, FileBytes: s.Local.Size, FileSize: s.Local.Size, Attempt: root.Attempts})
		}
	}
	if c, ok := p.store.(Committer); ok {
		if err := p.retry(ctx, "", func(ctx context.Context) error { return c.Commit(ctx) }); err != nil {
			return nil, fmt.Errorf("publish: commit: %w", err)
		}
	}
	p.report(st, Progress{Event: EventCommit})

	loc, _ := p.store.(Locator)
	if loc != nil {
		res.URL = loc.URL("")
	}
	for _, s := range plan.Steps {
		a := Asset{Name: s.Name, Size: s.Local.Size, SHA256: s.Local.SHA256, Stage: s.Stage, Action: s.Action}
		if loc != nil {
			a.URL = loc.URL(s.Name)
		}
		switch s.Action {
		case ActionUpload:
			res.Uploaded++
			res.BytesUploaded += s.Local.Size
		case ActionReplace:
			res.Replaced++
			res.BytesUploaded += s.Local.Size
		case ActionSkip:
			res.Skipped++
		}
		res.Assets = append(res.Assets, a)
	}
	return res, nil
}

type runState struct {
	totalBytes int64
	totalFiles int
	bytes      atomic.Int64
	files      atomic.Int64
}

// upload puts one file, with retries.
func (p *Publisher) upload(ctx context.Context, st *runState, s *Step) error {
	attempt := 0
	err := p.retryReport(ctx, st, Progress{Name: s.Name, Stage: s.Stage, FileSize: s.Local.Size}, func(ctx context.Context) error {
		attempt++
		f, err := os.Open(s.path)
		if err != nil {
			return &StagedFileError{Dir: "", Name: s.Name, Err: err}
		}
		defer f.Close()
		body := NewBody(s.Name, f, s.Local.Size, s.Local.SHA256)
		var sent int64
		body.onRead = func(n int64) {
			sent += n
			b := st.bytes.Add(n)
			if p.opts.progress != nil {
				p.report(st, Progress{Event: EventBytes, Name: s.Name, Stage: s.Stage, FileBytes: sent, FileSize: s.Local.Size, Bytes: b, Attempt: attempt})
			}
		}
		p.report(st, Progress{Event: EventStart, Name: s.Name, Stage: s.Stage, FileSize: s.Local.Size, Attempt: attempt})
		err = p.store.Put(ctx, s.Name, body, PutInfo{
			Size: s.Local.Size, SHA256: s.Local.SHA256, ContentType: s.ContentType,
			// A root file is replaced whatever is there (last writer
			// wins): two first publishes must not collide on it.
			Stage: s.Stage, Replace: s.Action == ActionReplace || IsMutable(s.Name),
		})
		if err != nil {
			st.bytes.Add(-sent) // the next attempt reads them again
		}
		if err != nil && errors.Is(err, ErrExist) && !errors.Is(err, ErrChecksum) {
			// A create-only put found the name taken: an earlier attempt
			// may have succeeded without us hearing back, or a
			// concurrent publish got there first. Same bytes: done.
			obj, serr := p.remote(ctx, s.Name)
			if serr == nil && obj != nil && obj.Size == s.Local.Size && obj.SHA256 == s.Local.SHA256 {
				st.bytes.Add(s.Local.Size)
				return nil
			}
			if serr == nil && obj != nil {
				return &ConflictError{Conflicts: []Conflict{{Name: s.Name, Local: s.Local, Remote: *obj}}}
			}
		}
		return err
	})
	if err != nil {
		var ce *ConflictError
		if errors.As(err, &ce) {
			return err
		}
		return fmt.Errorf("publish: upload %s: %w", s.Name, err)
	}
	st.files.Add(1)
	p.report(st, Progress{Event: EventDone, Name: s.Name, Stage: s.Stage, FileBytes: s.Local.Size, FileSize: s.Local.Size, Attempt: attempt})
	return nil
}

func (p *Publisher) report(st *runState, pr Progress) {
	if p.opts.progress == nil {
		return
	}
	if st != nil {
		pr.TotalBytes, pr.TotalFiles = st.totalBytes, st.totalFiles
		if pr.Bytes == 0 {
			pr.Bytes = st.bytes.Load()
		}
		pr.Files = int(st.files.Load())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.opts.progress(pr)
}

// retry runs op until it succeeds, fails with a final error, or the policy
// is exhausted.
func (p *Publisher) retry(ctx context.Context, name string, op func(context.Context) error) error {
	return p.retryReport(ctx, nil, Progress{Name: name}, op)
}

// retryReport is retry with EventRetry reports based on pr (and the
// totals of st, when not nil).
func (p *Publisher) retryReport(ctx context.Context, st *runState, pr Progress, op func(context.Context) error) error {
	pol := p.opts.retry
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := op(ctx)
		if err == nil || attempt >= pol.Attempts || !IsRetryable(err) || ctx.Err() != nil {
			if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
				return fmt.Errorf("%w (%w)", ctx.Err(), err)
			}
			return err
		}
		wait := pol.delay(attempt, err)
		if p.opts.progress != nil {
			r := pr
			r.Event, r.Attempt, r.Err, r.Wait = EventRetry, attempt, err, wait
			p.report(st, r)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (retrying after: %w)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

// forEach runs fn(0..n-1) with bounded concurrency and returns the first
// error, cancelling the others.
func (p *Publisher) forEach(ctx context.Context, n int, fn func(context.Context, int) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.opts.concurrency)
	for i := 0; i < n && gctx.Err() == nil; i++ {
		g.Go(func() error { return fn(gctx, i) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}
