package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/relkit/relkit/manifest"
)

// The root files that carry the manifest's signatures. The Publisher writes
// them itself, derived from the manifest it commits (see [RootFiles]).
const (
	// ManifestSigName is the manifest's detached signature at the root:
	// the legacy location, kept for older clients and for "cosign
	// verify-blob --signature manifest.json.sig manifest.json". It is
	// written after manifest.json, so it can lag one publish behind;
	// clients read sigs/ first (see [manifest.SignaturePath]).
	ManifestSigName = manifest.File + ".sig"
)

// MaxMergeAttempts bounds how often a publish reads the destination's
// manifest, merges and tries to replace it when other publishers keep
// replacing it first. It then fails with a [*RaceError].
const MaxMergeAttempts = 8

// maxRootFile bounds the root files the Publisher reads back: the whole
// history in manifest.json may outgrow the clients' limit (v2 clients read
// index.json).
const maxRootFile = manifest.MaxHistorySize

// RootFiles is what a publish commits at the root: the manifest and its
// signatures. The signatures are first written under content-addressed
// names ([manifest.SignaturePath], [manifest.SignatureSetPath]), then
// manifest.json is replaced conditionally (the commit point), then the
// legacy manifest.json.sig and signatures.json are brought up to date.
// So a reader that got any manifest.json finds the signatures of exactly
// those bytes, and a stop anywhere leaves the old root or the new one,
// both verifiable.
type RootFiles struct {
	// Manifest is the manifest.json to publish.
	Manifest []byte
	// Signature is the detached signature of Manifest by the first signer
	// (base64, the .sig format); nil when Signatures carries them all.
	Signature []byte
	// Signatures is the root signatures.json to publish with Manifest:
	// its entries for "manifest.json" sign Manifest, and its other
	// entries (keys.json's) are published with it. It is stored as
	// sigs/manifest.json.<sha256>.signatures.json and copied to the root
	// signatures.json after the commit. Nil when Signature is enough.
	Signatures []byte
	// Removed names the releases the new manifest drops on purpose (a
	// retention policy); any other missing release is history loss (see
	// [manifest.CheckSuccessor]).
	Removed []string
	// Index is the v2 index split from Manifest (see [manifest.Split]),
	// published after the manifest.json commit; nil publishes none. With
	// Manifest nil, the manifest stays as it is and only the index is
	// brought up to date (a re-run after a stop between the two).
	Index *SignedIndex
}

// SignedIndex is a signed v2 index and the shards it names. The Publisher
// writes them after the manifest.json it was split from is committed:
// the shards (content-addressed, create-only), the index's
// content-addressed signatures under sigs/, then index.json, replaced
// conditionally and only by an index of a higher serial, so that racing
// publishers leave the newest one. A client reading index.json finds
// every file it names.
type SignedIndex struct {
	// Index is index.json.
	Index []byte
	// Signature and Signatures are its detached signature and signature
	// set, as for RootFiles.Manifest (at least one is set).
	Signature  []byte
	Signatures []byte
	// Shards are the shard files the index names.
	Shards []manifest.ShardFile
}

// MergeFunc computes the root files to commit from the manifest.json the
// destination holds now (current; nil when it has none, for a first
// release). dest reads the destination's other files, such as the
// signatures of current (see verify.FetchSignatures; a [Store] and a
// verify.Location have the same Open). The Publisher calls it again with
// the newer manifest each time another publisher replaced manifest.json
// first, up to [MaxMergeAttempts] times, so it must merge afresh from
// current every time. It returns nil RootFiles when nothing needs to
// change (the release is already published). The merge is expected to
// verify current's signatures before trusting it; the Publisher itself
// checks only that the result does not lose history.
type MergeFunc func(ctx context.Context, current []byte, dest Opener) (*RootFiles, error)

// Opener reads published files: what a [MergeFunc] gets to read the
// destination with.
type Opener interface {
	Open(ctx context.Context, name string) (io.ReadCloser, error)
}

// PublishMerge publishes the staged release directory dir as
// [Publisher.Publish] does, except that the manifest it commits is built
// by merge from the destination's current manifest.json instead of being
// the staged manifest.json as it is. release.Publish uses it to merge the
// staged release into whatever the destination lists when the commit
// happens, re-signing the result, so that a stale base or a racing
// publisher never loses a release.
func (p *Publisher) PublishMerge(ctx context.Context, dir string, merge MergeFunc) (*Result, error) {
	if merge == nil {
		return nil, errors.New("publish: PublishMerge: nil MergeFunc")
	}
	plan, err := p.plan(ctx, dir, merge)
	if err != nil {
		return nil, err
	}
	return p.Apply(ctx, plan)
}

// RaceError reports a publish that lost the race to replace manifest.json
// to other publishers: every time it merged, somebody else committed
// first. Nothing of the losing publish is visible to clients. Run it
// again; with [Publisher.PublishMerge] the next run merges into the newer manifest.
type RaceError struct {
	// Attempts is how many times the publish tried.
	Attempts int
	// Serial is the serial of the manifest published by the other
	// publisher, and Versions the releases it lists that the losing
	// publish did not have when it merged (newest first).
	Serial   int64
	Versions []string
	// Err is the last problem (an error wrapping ErrChanged, or the
	// *manifest.HistoryError of a staged manifest that the newer one
	// makes stale).
	Err error
}

// Error implements error.
func (e *RaceError) Error() string {
	s := fmt.Sprintf("publish: another publisher replaced %s first (serial %d", manifest.File, e.Serial)
	if len(e.Versions) > 0 {
		s += ", with " + strings.Join(e.Versions, ", ")
	}
	s += fmt.Sprintf(") after %d attempt(s); nothing of this publish is visible: re-run it to merge into the new manifest", e.Attempts)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the last problem.
func (e *RaceError) Unwrap() error { return e.Err }

// RootResult says what the root commit of a publish did.
type RootResult struct {
	// Changed is true when manifest.json was replaced (or created).
	Changed bool
	// Serial is the serial of the manifest now published.
	Serial int64
	// Attempts is how many merges it took (more than 1 after lost races).
	Attempts int
	// Previous is the serial that was replaced; 0 for a first release.
	Previous int64
}

// rootState is the destination's manifest.json as read for a merge.
type rootState struct {
	data []byte
	obj  *Object // nil when there is none
	m    *manifest.Manifest
}

// readRoot reads manifest.json: Stat first (the revision a conditional
// replace names), then the bytes. When the bytes do not hash to what Stat
// reported, the manifest changed in between and it reads again.
func (p *Publisher) readRoot(ctx context.Context) (*rootState, error) {
	for try := 0; try < 4; try++ {
		obj, err := p.remoteStat(ctx, manifest.File)
		if err != nil {
			return nil, rootReadError(err)
		}
		if obj == nil {
			return &rootState{}, nil
		}
		data, err := p.readAll(ctx, manifest.File, maxRootFile)
		if errors.Is(err, ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, rootReadError(err)
		}
		sum := sha256Hex(data)
		if obj.SHA256 != "" && obj.SHA256 != sum {
			continue // replaced between Stat and Open
		}
		obj.SHA256 = sum
		m, err := manifest.ParsePublished(data)
		if err != nil {
			return nil, &RootError{Reason: "the published manifest.json does not parse", Err: err}
		}
		return &rootState{data: data, obj: obj, m: m}, nil
	}
	return nil, fmt.Errorf("publish: %s keeps changing while it is read: %w", manifest.File, ErrChanged)
}

// rootReadError types a failure to read the published manifest that a
// retry will not cure (too large, not a file, refused) as a *RootError;
// a transient one stays as it is.
func rootReadError(err error) error {
	if IsRetryable(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &RootError{Reason: "the published manifest.json cannot be read (nothing was replaced)", Err: err}
}

// RootError reports a destination root that a publish cannot merge into:
// its manifest.json does not parse, does not verify, or belongs to
// another project. Nothing was replaced.
type RootError struct {
	// Reason says what is wrong and what to do.
	Reason string
	// Err is the cause.
	Err error
}

// Error implements error.
func (e *RootError) Error() string {
	if e.Err != nil {
		return "publish: " + e.Reason + ": " + e.Err.Error()
	}
	return "publish: " + e.Reason
}

// Unwrap returns the cause.
func (e *RootError) Unwrap() error { return e.Err }

// remoteStat is Stat with retries; nil when there is no object.
func (p *Publisher) remoteStat(ctx context.Context, name string) (*Object, error) {
	var obj Object
	err := p.retry(ctx, name, func(ctx context.Context) error {
		var err error
		obj, err = p.store.Stat(ctx, name)
		return err
	})
	if errors.Is(err, ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("publish: stat %s: %w", name, err)
	}
	obj.Name = name
	return &obj, nil
}

// readAll reads a whole object (at most limit bytes), with retries.
func (p *Publisher) readAll(ctx context.Context, name string, limit int64) ([]byte, error) {
	var data []byte
	err := p.retry(ctx, name, func(ctx context.Context) error {
		rc, err := p.store.Open(ctx, name)
		if err != nil {
			return err
		}
		defer rc.Close()
		data, err = io.ReadAll(io.LimitReader(rc, limit+1))
		if err != nil {
			return err
		}
		if int64(len(data)) > limit {
			return fmt.Errorf("%s: larger than %d bytes: %w", name, limit, manifest.ErrTooLarge)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("publish: read %s: %w", name, err)
	}
	return data, nil
}

// putBytes puts data under name with retries (create-only unless replace;
// conditional when ifMatch is set).
func (p *Publisher) putBytes(ctx context.Context, name string, data []byte, st Stage, replace bool, ifMatch string) error {
	sum := sha256Hex(data)
	return p.retry(ctx, name, func(ctx context.Context) error {
		body := NewBody(name, bytes.NewReader(data), int64(len(data)), sum)
		return p.store.Put(ctx, name, body, PutInfo{
			Size: int64(len(data)), SHA256: sum, ContentType: contentType(name),
			Stage: st, Replace: replace, IfMatch: ifMatch,
		})
	})
}

// putIfDifferent replaces name with data unless it already holds exactly
// these bytes.
func (p *Publisher) putIfDifferent(ctx context.Context, name string, data []byte, st Stage) error {
	obj, err := p.remote(ctx, name)
	if err != nil {
		return err
	}
	if obj != nil && obj.Size == int64(len(data)) && obj.SHA256 == sha256Hex(data) {
		return nil
	}
	if err := p.putBytes(ctx, name, data, st, true, ""); err != nil {
		return fmt.Errorf("publish: upload %s: %w", name, err)
	}
	return nil
}

// UpdateRoot commits a change to the destination's root without a staged
// release: fn computes the new root files from the current manifest.json
// (see [MergeFunc]), and the commit follows the same rules as a publish
// (content-addressed signatures first, a conditional replace of
// manifest.json, bounded retries after lost races, no history loss except
// RootFiles.Removed). Refreshing the expiry, yanking, deprecating and
// pruning are such changes (see package release). The store's
// [Committer] step runs afterwards.
func (p *Publisher) UpdateRoot(ctx context.Context, fn MergeFunc) (*RootResult, error) {
	if fn == nil {
		return nil, errors.New("publish: UpdateRoot: nil MergeFunc")
	}
	res, err := p.commitRoot(ctx, fn, nil)
	if err != nil {
		return nil, err
	}
	if c, ok := p.store.(Committer); ok {
		if err := p.retry(ctx, "", func(ctx context.Context) error { return c.Commit(ctx) }); err != nil {
			return nil, fmt.Errorf("publish: commit: %w", err)
		}
	}
	return res, nil
}

// mergeFunc is the plan's MergeFunc, or the staged manifest as it is.
func (plan *Plan) mergeFunc() MergeFunc {
	if plan.merge != nil {
		return plan.merge
	}
	return stagedMerge(plan.Dir)
}

// merged is a merge computed against one revision of the root.
type merged struct {
	cur   *rootState
	files *RootFiles
}

// preflight runs the merge once against the current root, writing
// nothing, so that a destination it cannot merge into (a manifest that
// does not verify, another project's, a merge that loses history) is
// refused before any root file changes. Its result is the commit's first
// attempt: if the root is still that revision, nothing is read or signed
// twice; if not, the conditional replace fails and the commit merges
// again.
func (p *Publisher) preflight(ctx context.Context, plan *Plan) (*merged, error) {
	cur, err := p.readRoot(ctx)
	if err != nil {
		return nil, err
	}
	files, err := plan.mergeFunc()(ctx, cur.data, retryOpener{p})
	if err != nil {
		return nil, err
	}
	if files != nil && files.Manifest != nil && (cur.data == nil || !bytes.Equal(files.Manifest, cur.data)) {
		next, err := manifest.ParsePublished(files.Manifest)
		if err != nil {
			return nil, &RootError{Reason: "the manifest to publish does not parse", Err: err}
		}
		if err := p.checkSuccessor(cur.m, next, files.Removed); err != nil {
			return nil, err
		}
		if err := p.refuseUnindexed(ctx, files); err != nil {
			return nil, err
		}
	}
	return &merged{cur: cur, files: files}, nil
}

// signRootFiles writes the content-addressed signatures of the staged
// root files other than the manifest (keys.json) before those files are
// replaced, as for the manifest: readers that fetch the new keys.json find
// the signatures of exactly its bytes. The staged root signatures.json is
// stored whole as their set (verifiers count only the entries for the
// bytes they hold).
func (p *Publisher) signRootFiles(ctx context.Context, plan *Plan) error {
	for _, s := range plan.Steps {
		if s.Stage != StageIndex || s.rank != 1 || (s.Action != ActionUpload && s.Action != ActionReplace) {
			continue
		}
		if s.Name != manifest.KeysFile {
			continue
		}
		for from, to := range map[string]string{
			s.Name + ".sig":         manifest.SignaturePath(s.Name, s.Local.SHA256),
			manifest.SignaturesFile: manifest.SignatureSetPath(s.Name, s.Local.SHA256),
		} {
			data, err := os.ReadFile(filepath.Join(plan.Dir, from))
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return &StagedFileError{Dir: plan.Dir, Name: from, Err: err}
			}
			if err := p.putIfDifferent(ctx, to, data, StageIndex); err != nil {
				return err
			}
		}
	}
	return nil
}

// retryOpener reads the destination with the Publisher's retries, for a
// MergeFunc.
type retryOpener struct{ p *Publisher }

func (r retryOpener) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	var rc io.ReadCloser
	err := r.p.retry(ctx, name, func(ctx context.Context) error {
		var err error
		rc, err = r.p.store.Open(ctx, name)
		return err
	})
	return rc, err
}

// commitRoot runs the root commit protocol with merge; first, when set,
// is a merge already computed (by the preflight) for its first attempt.
func (p *Publisher) commitRoot(ctx context.Context, merge MergeFunc, first *merged) (*RootResult, error) {
	var lastErr error
	var lost *rootState
	var mine *manifest.Manifest
	for attempt := 1; attempt <= MaxMergeAttempts; attempt++ {
		var cur *rootState
		var files *RootFiles
		var err error
		if attempt == 1 && first != nil {
			cur, files = first.cur, first.files
		} else if cur, err = p.readRoot(ctx); err != nil {
			return nil, err
		} else {
			files, err = merge(ctx, cur.data, retryOpener{p})
		}
		if err != nil {
			if lost != nil {
				return nil, &RaceError{Attempts: attempt, Serial: cur.serial(), Versions: newVersions(mine, cur.m), Err: err}
			}
			return nil, err
		}
		res := &RootResult{Attempts: attempt, Previous: cur.serial(), Serial: cur.serial()}
		if files == nil || files.Manifest == nil || (cur.data != nil && bytes.Equal(files.Manifest, cur.data)) {
			// Already published (a re-run, or our own earlier attempt
			// whose answer was lost).
			if err := p.repairLegacy(ctx, nil); err != nil {
				return nil, err
			}
			if files != nil && cur.m != nil {
				if err := p.writeIndex(ctx, files.Index, cur.m.Serial); err != nil {
					return nil, &IndexError{Serial: cur.m.Serial, Err: err}
				}
			}
			return res, nil
		}
		next, err := manifest.ParsePublished(files.Manifest)
		if err != nil {
			return nil, &RootError{Reason: "the manifest to publish does not parse", Err: err}
		}
		if err := p.checkSuccessor(cur.m, next, files.Removed); err != nil {
			if lost != nil {
				return nil, &RaceError{Attempts: attempt, Serial: cur.serial(), Versions: newVersions(next, cur.m), Err: err}
			}
			return nil, err
		}
		if err := p.refuseUnindexed(ctx, files); err != nil {
			return nil, err
		}
		sum := sha256Hex(files.Manifest)
		if len(files.Signature) > 0 {
			if err := p.putIfDifferent(ctx, manifest.SignaturePath(manifest.File, sum), files.Signature, StageIndex); err != nil {
				return nil, err
			}
		}
		if len(files.Signatures) > 0 {
			name := manifest.SignatureSetPath(manifest.File, sum)
			if err := p.putIfDifferent(ctx, name, files.Signatures, StageIndex); err != nil {
				return nil, err
			}
		}
		// The commit point.
		var ifMatch string
		replace := cur.obj != nil
		if replace {
			ifMatch = cur.obj.Version
			if ifMatch == "" {
				ifMatch = cur.obj.SHA256
			}
		}
		err = p.putBytes(ctx, manifest.File, files.Manifest, StageManifest, replace, ifMatch)
		if errors.Is(err, ErrChanged) || errors.Is(err, ErrExist) {
			lastErr, lost, mine = err, cur, next
			continue // somebody else committed: merge into theirs
		}
		if err != nil {
			return nil, fmt.Errorf("publish: upload %s: %w", manifest.File, err)
		}
		res.Changed, res.Serial = true, next.Serial
		if err := p.repairLegacy(ctx, &committed{sum: sum, sig: files.Signature, set: files.Signatures}); err != nil {
			return nil, err
		}
		if err := p.writeIndex(ctx, files.Index, next.Serial); err != nil {
			return nil, &IndexError{Serial: next.Serial, Err: err}
		}
		return res, nil
	}
	re := &RaceError{Attempts: MaxMergeAttempts, Err: lastErr}
	if cur, err := p.readRoot(ctx); err == nil {
		re.Serial, re.Versions = cur.serial(), newVersions(mine, cur.m)
	}
	return nil, re
}

// checkSuccessor is manifest.CheckSuccessor, which
// WithReplaceExistingUnsafe turns off.
func (p *Publisher) checkSuccessor(cur, next *manifest.Manifest, removed []string) error {
	if p.opts.replaceAll {
		return nil
	}
	return manifest.CheckSuccessor(cur, next, removed...)
}

func (r *rootState) serial() int64 {
	if r == nil || r.m == nil {
		return 0
	}
	return r.m.Serial
}

// newVersions lists the releases theirs has that mine lacks.
func newVersions(mine, theirs *manifest.Manifest) []string {
	if theirs == nil {
		return nil
	}
	var out []string
	for _, r := range theirs.Releases {
		if mine == nil {
			out = append(out, r.Version)
			continue
		}
		if _, ok := mine.Release(r.Version); !ok {
			out = append(out, r.Version)
		}
	}
	return out
}

// committed is what a publish just committed: the manifest's digest and
// its signatures, as written under sigs/.
type committed struct {
	sum      string
	sig, set []byte
}

// repairLegacy brings the legacy root signature files (manifest.json.sig,
// the root signatures.json) in line with the manifest.json published now,
// from its content-addressed signatures: those just committed (known) when
// the manifest is still that one, else read back from sigs/. A manifest
// published without sigs/ (by an older relkit) is left alone. It looks at
// manifest.json again afterwards and repeats (bounded) when another
// publisher committed in between, so the legacy files end up matching the
// newest manifest.
func (p *Publisher) repairLegacy(ctx context.Context, known *committed) error {
	for try := 0; try < 4; try++ {
		sum, err := p.manifestSum(ctx)
		if err != nil || sum == "" {
			return err
		}
		var sig, set []byte
		if known != nil && known.sum == sum {
			sig, set = known.sig, known.set
		} else {
			if sig, err = p.readOptional(ctx, manifest.SignaturePath(manifest.File, sum)); err != nil {
				return err
			}
			if set, err = p.readOptional(ctx, manifest.SignatureSetPath(manifest.File, sum)); err != nil {
				return err
			}
		}
		if sig != nil {
			if err := p.putIfDifferent(ctx, ManifestSigName, sig, StageIndex); err != nil {
				return err
			}
		}
		if set != nil {
			if err := p.putIfDifferent(ctx, manifest.SignaturesFile, set, StageIndex); err != nil {
				return err
			}
		}
		again, err := p.manifestSum(ctx)
		if err != nil || again == "" || again == sum {
			return err
		}
	}
	return nil // the newest publisher repairs after its own commit
}

// manifestSum returns the SHA-256 of the published manifest.json ("" when
// there is none): from Stat when the store reports it, else by reading it.
func (p *Publisher) manifestSum(ctx context.Context) (string, error) {
	obj, err := p.remoteStat(ctx, manifest.File)
	if err != nil || obj == nil {
		return "", err
	}
	if obj.SHA256 != "" {
		return obj.SHA256, nil
	}
	cur, err := p.readRoot(ctx)
	if err != nil || cur.obj == nil {
		return "", err
	}
	return cur.obj.SHA256, nil
}

// readOptional reads a small root file; nil when there is none.
func (p *Publisher) readOptional(ctx context.Context, name string) ([]byte, error) {
	data, err := p.readAll(ctx, name, maxRootFile)
	if errors.Is(err, ErrNotExist) {
		return nil, nil
	}
	return data, err
}

func sha256Hex(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// Delete removes objects from the destination, which must implement
// [Deleter]: the files of releases a retention policy removed from the
// manifest (release.Prune). It is never part of a publish. Each delete is
// retried like an upload; a missing object is not an error.
func (p *Publisher) Delete(ctx context.Context, names ...string) error {
	d, ok := p.store.(Deleter)
	if !ok {
		return fmt.Errorf("publish: %T cannot delete objects", p.store)
	}
	for _, name := range names {
		if err := CheckName(name); err != nil {
			return fmt.Errorf("publish: delete: %w", err)
		}
		if isRootManifestFile(name) || !strings.Contains(name, "/") {
			return fmt.Errorf("publish: delete %s: root files are never deleted", name)
		}
		if err := p.retry(ctx, name, func(ctx context.Context) error { return d.Delete(ctx, name) }); err != nil {
			return fmt.Errorf("publish: delete %s: %w", name, err)
		}
	}
	return nil
}

// refuseUnindexed refuses to commit a manifest without an index at a
// destination that has one: v2 clients read only index.json, so they
// would never see the new manifest.
func (p *Publisher) refuseUnindexed(ctx context.Context, files *RootFiles) error {
	if files == nil || files.Manifest == nil || files.Index != nil {
		return nil
	}
	return p.refuseIndexed(ctx)
}

// refuseIndexed is a *RootError when the destination has index.json.
func (p *Publisher) refuseIndexed(ctx context.Context) error {
	obj, err := p.remoteStat(ctx, manifest.IndexFile)
	if err != nil {
		return err
	}
	if obj != nil {
		return &RootError{Reason: "the destination has " + manifest.IndexFile + " (manifest v2), and this publish brings no index to keep it in step with " + manifest.File + ": publish with release.Publish and PublishConfig.Signers, which writes both (nothing was replaced)"}
	}
	return nil
}

// maxIndexAttempts bounds the conditional replaces of index.json.
const maxIndexAttempts = MaxMergeAttempts

// writeIndex publishes ix, the index of the manifest of the given serial
// that is now committed: the shards the destination's current index does
// not already name, the index's signatures, then index.json, replaced
// conditionally and only when the destination's is older. nil ix is a
// no-op.
func (p *Publisher) writeIndex(ctx context.Context, ix *SignedIndex, serial int64) error {
	if ix == nil {
		return nil
	}
	sum := sha256Hex(ix.Index)
	for try := 0; try < maxIndexAttempts; try++ {
		obj, err := p.remoteStat(ctx, manifest.IndexFile)
		if err != nil {
			return err
		}
		have := map[string]bool{}
		if obj != nil {
			if obj.SHA256 == sum {
				return nil
			}
			data, err := p.readAll(ctx, manifest.IndexFile, manifest.MaxIndexSize)
			switch {
			case errors.Is(err, ErrNotExist):
				continue
			case errors.Is(err, manifest.ErrTooLarge):
				data = nil // damaged: replaced below, at the revision Stat saw
			case err != nil:
				return err
			default:
				dsum := sha256Hex(data)
				if dsum == sum {
					return nil
				}
				if obj.SHA256 != "" && obj.SHA256 != dsum {
					continue // replaced between Stat and Open
				}
				obj.SHA256 = dsum
			}
			if cur, err := manifest.ParseIndex(data); data != nil && err == nil {
				if cur.Serial > serial {
					// A newer publisher's index stays, unless it is ahead of
					// the manifest now published (an index left from a
					// history the destination was rolled back from).
					ms, err := p.publishedSerial(ctx)
					if err != nil {
						return err
					}
					if ms >= cur.Serial {
						return nil
					}
				} else {
					for _, s := range cur.Shards {
						have[s.Path] = true
					}
				}
			}
		}
		for _, sh := range ix.Shards {
			if have[sh.Path] {
				continue // named by the published index: written before it
			}
			if err := p.putIfDifferent(ctx, sh.Path, sh.Data, StageIndex); err != nil {
				return err
			}
		}
		if len(ix.Signature) > 0 {
			if err := p.putIfDifferent(ctx, manifest.SignaturePath(manifest.IndexFile, sum), ix.Signature, StageIndex); err != nil {
				return err
			}
		}
		if len(ix.Signatures) > 0 {
			if err := p.putIfDifferent(ctx, manifest.SignatureSetPath(manifest.IndexFile, sum), ix.Signatures, StageIndex); err != nil {
				return err
			}
		}
		var ifMatch string
		if obj != nil {
			if ifMatch = obj.Version; ifMatch == "" {
				ifMatch = obj.SHA256
			}
		}
		err = p.putBytes(ctx, manifest.IndexFile, ix.Index, StageManifest, obj != nil, ifMatch)
		if errors.Is(err, ErrChanged) || errors.Is(err, ErrExist) {
			continue // another publisher's index: compare serials again
		}
		if err != nil {
			return fmt.Errorf("publish: upload %s: %w", manifest.IndexFile, err)
		}
		return nil
	}
	return fmt.Errorf("%s kept changing while it was replaced (%d attempts): %w", manifest.IndexFile, maxIndexAttempts, ErrChanged)
}

// publishedSerial reads the serial of the destination's manifest.json
// from the start of the file (the encoding puts it third), without
// decoding the whole history.
func (p *Publisher) publishedSerial(ctx context.Context) (int64, error) {
	var serial int64
	err := p.retry(ctx, manifest.File, func(ctx context.Context) error {
		rc, err := p.store.Open(ctx, manifest.File)
		if err != nil {
			return err
		}
		defer rc.Close()
		dec := json.NewDecoder(io.LimitReader(rc, maxRootFile))
		dec.UseNumber()
		if t, err := dec.Token(); err != nil || t != json.Delim('{') {
			return fmt.Errorf("%s: not a JSON object", manifest.File)
		}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return err
			}
			if k == "serial" {
				var n json.Number
				if err := dec.Decode(&n); err != nil {
					return err
				}
				serial, err = n.Int64()
				return err
			}
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return err
			}
		}
		return fmt.Errorf("%s has no serial", manifest.File)
	})
	if err != nil {
		return 0, fmt.Errorf("publish: read the serial of %s: %w", manifest.File, err)
	}
	return serial, nil
}

// IndexError reports a publish that committed manifest.json (Serial) but
// could not bring index.json up to date: clients that read manifest v2
// do not see the change yet, and nothing is lost. Publish again: a re-run
// of the same release, or the next publish, writes the index.
type IndexError struct {
	// Serial is the serial of the manifest that was committed.
	Serial int64
	// Err is the cause.
	Err error
}

// Error implements error.
func (e *IndexError) Error() string {
	return fmt.Sprintf("publish: manifest.json serial %d is committed, but %s could not be brought up to date (v2 clients do not see it yet; publish again): %v", e.Serial, manifest.IndexFile, e.Err)
}

// Unwrap returns the cause.
func (e *IndexError) Unwrap() error { return e.Err }
