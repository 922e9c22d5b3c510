package release

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/sign"
	"github.com/relkit/relkit/verify"
)

// DefaultExpiryWarning is how close to its expiry a published manifest
// makes [RemoteVerify] (and examples/verify) warn: 14 days. Refresh it
// before then (see [Refresh]).
const DefaultExpiryWarning = 14 * 24 * time.Hour

// MinManifestTTL is the shortest manifest lifetime a publish or an
// amendment accepts: a shorter one would be refused by clients before they
// could read it.
const MinManifestTTL = time.Hour

// rootPolicy is what every change of a published root checks and signs
// with: the trusted keys and the threshold the current manifest must meet
// (the clients' own rule, so that a manifest they refuse is never merged
// and re-signed into one they accept), the signers, which must be among
// the trusted keys, the new manifest's lifetime and the clock.
type rootPolicy struct {
	project   string
	keys      [][]byte
	threshold int
	signers   []sign.Signer
	ttl       time.Duration
	now       func() time.Time
}

func newRootPolicy(project string, keys [][]byte, threshold int, signers []sign.Signer, ttl time.Duration, now func() time.Time) (*rootPolicy, error) {
	if ttl == 0 {
		ttl = DefaultManifestTTL
	}
	if ttl < MinManifestTTL {
		return nil, &ConfigError{Field: "ManifestTTL", Reason: fmt.Sprintf("%v is shorter than %v: clients would refuse the manifest as expired", ttl, MinManifestTTL)}
	}
	if now == nil {
		now = time.Now
	}
	if threshold == 0 {
		threshold = max(1, min(len(signers), len(keys)))
	}
	if threshold < 1 || threshold > len(keys) {
		return nil, &ConfigError{Field: "Threshold", Reason: fmt.Sprintf("%d, with %d trusted keys", threshold, len(keys))}
	}
	rp := &rootPolicy{project: project, keys: keys, threshold: threshold, signers: signers, ttl: ttl, now: now}
	if _, err := rp.verifier(); err != nil {
		return nil, err
	}
	// The signers must be trusted, or the manifest they sign would be
	// refused by every client (and by the next publish).
	ring, _ := verify.NewKeyRing(keys...)
	for _, sg := range signers {
		if _, ok := ring.Key(sg.KeyID()); !ok {
			return nil, &ConfigError{Field: "Signers", Reason: fmt.Sprintf("key %s is not among the trusted Keys: clients would refuse what it signs (add its public key to Keys, and to the clients' keys or keys.json, first)", sg.KeyID())}
		}
	}
	if len(signers) > 0 && len(signers) < threshold {
		return nil, &ConfigError{Field: "Signers", Reason: fmt.Sprintf("%d signer(s) cannot meet the threshold of %d", len(signers), threshold)}
	}
	return rp, nil
}

func (rp *rootPolicy) verifier() (*verify.Verifier, error) {
	ring, err := verify.NewKeyRing(rp.keys...)
	if err != nil {
		return nil, err
	}
	return verify.NewVerifier(ring, verify.WithThreshold(rp.threshold))
}

// readCurrent verifies the destination's current manifest (data, read from
// dest) with the policy's keys and threshold and returns it parsed; an
// expired manifest is accepted (the change re-signs it with a fresh
// expiry). A manifest that does not verify, does not parse, or belongs to
// another project is a *publish.RootError: nothing is replaced.
func (rp *rootPolicy) readCurrent(ctx context.Context, data []byte, dest publish.Opener) (*manifest.Manifest, error) {
	sigs, err := verify.FetchSignatures(ctx, dest, manifest.File, data)
	if err != nil {
		return nil, &publish.RootError{Reason: "reading the signatures of the published manifest.json", Err: err}
	}
	v, err := rp.verifier()
	if err != nil {
		return nil, err
	}
	if _, err := v.VerifySignatures(manifest.File, data, sigs); err != nil {
		return nil, &publish.RootError{Reason: fmt.Sprintf("the published manifest.json does not verify with %d of the trusted keys; fix the destination or the keys before publishing (nothing was replaced)", rp.threshold), Err: err}
	}
	m, err := manifest.ParsePublished(data)
	if err == nil {
		err = m.Validate()
	}
	if err != nil {
		return nil, &publish.RootError{Reason: "the published manifest.json is invalid (nothing was replaced)", Err: err}
	}
	if m.Project != rp.project {
		return nil, &publish.RootError{Reason: fmt.Sprintf("the destination's manifest.json is for project %q, not %q: wrong destination? (nothing was replaced)", m.Project, rp.project)}
	}
	return m, nil
}

// finish stamps m with a fresh expiry, checks the clock against the
// manifest it replaces, signs it, and checks that the result verifies
// with the policy (what the next publish and every client will check).
func (rp *rootPolicy) finish(ctx context.Context, m *manifest.Manifest, prevUpdated time.Time, carry []byte) (*publish.RootFiles, error) {
	now := rp.now()
	if !prevUpdated.IsZero() && now.Before(prevUpdated.Add(-5*time.Minute)) {
		return nil, &publish.RootError{Reason: fmt.Sprintf("this machine's clock (%s) is behind the published manifest's update time (%s): fix the clock (nothing was replaced)",
			now.UTC().Format(time.RFC3339), prevUpdated.UTC().Format(time.RFC3339))}
	}
	m.Touch(now, rp.ttl)
	if err := m.Validate(); err != nil {
		return nil, err
	}
	data, err := m.Marshal()
	if err != nil {
		return nil, err
	}
	files, err := signRoot(ctx, data, rp.signers, carry)
	if err != nil {
		return nil, err
	}
	if err := rp.checkSigned(manifest.File, data, files.Signature, files.Signatures); err != nil {
		return nil, err
	}
	if files.Index, err = rp.index(ctx, m); err != nil {
		return nil, err
	}
	return files, nil
}

// index splits m (signed and committed as manifest.json) into its v2
// index and shards (see manifest.Split) and signs the index with every
// signer, checking that it verifies with the policy. The index carries
// m's serial and dates, so the same m always gives the same bytes (the
// signatures are deterministic): a re-run after a stop between the
// manifest's commit and the index's writes exactly what the stopped run
// would have.
func (rp *rootPolicy) index(ctx context.Context, m *manifest.Manifest) (*publish.SignedIndex, error) {
	ix, shards, err := manifest.Split(m)
	if err != nil {
		return nil, err
	}
	data, err := ix.Marshal()
	if err != nil {
		return nil, err
	}
	sig, set, err := signFile(ctx, manifest.IndexFile, data, rp.signers, nil)
	if err != nil {
		return nil, err
	}
	if err := rp.checkSigned(manifest.IndexFile, data, sig, set); err != nil {
		return nil, err
	}
	return &publish.SignedIndex{Index: data, Signature: sig, Signatures: set, Shards: shards}, nil
}

// checkSigned checks that data, the root file name, verifies with the
// policy's keys and threshold under the signatures just made: what the
// next publish and every client will check.
func (rp *rootPolicy) checkSigned(name string, data, detached, setJSON []byte) error {
	set, err := verify.ParseSignatureSet(setJSON)
	if err != nil {
		return err
	}
	v, err := rp.verifier()
	if err != nil {
		return err
	}
	if _, err := v.VerifySignatures(name, data, verify.Signatures{Detached: detached, Set: set}); err != nil {
		return &publish.RootError{Reason: "the new " + name + " would not verify with the trusted keys (nothing was replaced)", Err: err}
	}
	return nil
}

// signFile signs data, the root file name, with every signer: it returns
// the first signer's detached signature and a signature set holding kept
// (entries for other files, carried along) and one entry per signer.
func signFile(ctx context.Context, name string, data []byte, signers []sign.Signer, kept []verify.SignatureEntry) (detached, set []byte, err error) {
	if len(signers) == 0 {
		return nil, nil, fmt.Errorf("sign %s: %w", name, ErrNoSigningKey)
	}
	h := sha256.Sum256(data)
	sum := hex.EncodeToString(h[:])
	ss := &verify.SignatureSet{Schema: verify.SignaturesSchema, Signatures: kept}
	for i, s := range signers {
		sig, err := s.Sign(ctx, bytes.NewReader(data))
		if err != nil {
			return nil, nil, err
		}
		if i == 0 {
			detached = verify.EncodeSignature(sig)
		}
		ss.Signatures = append(ss.Signatures, verify.SignatureEntry{
			KeyID: s.KeyID(), Algorithm: s.Algorithm(), File: name, SHA256: sum, Signature: sig})
	}
	if set, err = ss.Marshal(); err != nil {
		return nil, nil, err
	}
	return detached, set, nil
}

// carryEntries returns the signatures.json to publish beside a new
// manifest: its entries for files other than manifest.json (keys.json's)
// come from the staged set for files the publish stages, else from the
// destination's current root set.
func carryEntries(ctx context.Context, dest publish.Opener, staged []byte, stagedFiles []string) ([]byte, error) {
	cur, err := readOptional(ctx, dest, manifest.SignaturesFile)
	if err != nil {
		return nil, err
	}
	out := &verify.SignatureSet{Schema: verify.SignaturesSchema}
	for _, src := range []struct {
		data []byte
		keep func(file string) bool
	}{
		{cur, func(f string) bool { return !slices.Contains(stagedFiles, f) }},
		{staged, func(f string) bool { return slices.Contains(stagedFiles, f) }},
	} {
		if src.data == nil {
			continue
		}
		set, err := verify.ParseSignatureSet(src.data)
		if err != nil {
			continue // a damaged set carries nothing; the new one replaces it
		}
		for _, e := range set.Signatures {
			if e.File != manifest.File && src.keep(e.File) {
				out.Signatures = append(out.Signatures, e)
			}
		}
	}
	if len(out.Signatures) == 0 {
		return nil, nil
	}
	return out.Marshal()
}

// signRoot signs manifest bytes with every signer and returns the root
// files to commit: the first signer's detached signature and a signature
// set with one entry per signer, plus the entries of carry (the staged
// root signatures.json, for keys.json) that sign other files.
func signRoot(ctx context.Context, data []byte, signers []sign.Signer, carry []byte) (*publish.RootFiles, error) {
	var kept []verify.SignatureEntry
	if carry != nil {
		old, err := verify.ParseSignatureSet(carry)
		if err != nil {
			return nil, err
		}
		for _, e := range old.Signatures {
			if e.File != manifest.File {
				kept = append(kept, e)
			}
		}
	}
	sig, set, err := signFile(ctx, manifest.File, data, signers, kept)
	if err != nil {
		return nil, err
	}
	return &publish.RootFiles{Manifest: data, Signature: sig, Signatures: set}, nil
}

// merger is what release.Publish commits at the root: the staged release
// merged into the destination's current manifest, re-signed.
type merger struct {
	policy      *rootPolicy
	rel         manifest.Release
	baseSerial  int64    // the serial Prepare merged into; 0 for none
	staged      []byte   // the staged root signatures.json
	stagedFiles []string // the root files the publish stages (keys.json)
	log         *slog.Logger
}

func (mg *merger) merge(ctx context.Context, current []byte, dest publish.Opener) (*publish.RootFiles, error) {
	m := manifest.New(mg.policy.project)
	var prevUpdated time.Time
	if current != nil {
		var err error
		if m, err = mg.policy.readCurrent(ctx, current, dest); err != nil {
			return nil, err
		}
		if m.Serial < mg.baseSerial {
			return nil, &publish.RootError{Reason: fmt.Sprintf("the destination's manifest.json went back to serial %d since this release was prepared against serial %d (restored from a backup? replayed?): restore the newest manifest, or prepare again against this one if the rollback is wanted (nothing was replaced)", m.Serial, mg.baseSerial)}
		}
		prevUpdated = m.Updated
		mg.log.Info("merging into the published manifest", "serial", m.Serial, "releases", len(m.Releases))
	} else {
		if mg.baseSerial > 0 {
			return nil, &publish.RootError{Reason: fmt.Sprintf("the destination has no manifest.json, but this release was prepared against serial %d: wrong destination, or was it emptied? (nothing was replaced)", mg.baseSerial)}
		}
		mg.log.Info("the destination has no manifest.json: this is its first release")
	}
	changed, err := m.Add(mg.rel)
	if err != nil {
		return nil, err
	}
	if !changed {
		if current == nil {
			return nil, nil
		}
		// Already published: the manifest stays; its index is brought
		// up to date in case a stop came between the two.
		ix, err := mg.policy.index(ctx, m)
		if err != nil {
			return nil, err
		}
		return &publish.RootFiles{Index: ix}, nil
	}
	carry, err := carryEntries(ctx, dest, mg.staged, mg.stagedFiles)
	if err != nil {
		return nil, err
	}
	return mg.policy.finish(ctx, m, prevUpdated, carry)
}

// newMerger prepares the merge of the staged release of st at root.
func newMerger(st *State, root string, policy *rootPolicy) (*merger, error) {
	staged, err := manifest.LoadFile(filepath.Join(root, manifest.File))
	if err != nil {
		return nil, err
	}
	rel, ok := staged.Release(st.Version.String())
	if !ok {
		return nil, fmt.Errorf("staged manifest: version %s: %w", st.Version, manifest.ErrNotFound)
	}
	set, err := os.ReadFile(filepath.Join(root, manifest.SignaturesFile))
	if errors.Is(err, os.ErrNotExist) {
		set = nil
	} else if err != nil {
		return nil, err
	}
	var files []string
	for _, f := range []string{manifest.KeysFile} {
		if _, err := os.Stat(filepath.Join(root, f)); err == nil {
			files = append(files, f)
		}
	}
	// Prepare merged the release into the published manifest of serial
	// S-1 (its Add raised it to S); a first release has serial 1.
	base := staged.Serial - 1
	if len(staged.Releases) <= 1 {
		base = 0
	}
	return &merger{policy: policy, rel: *rel, baseSerial: base, staged: set, stagedFiles: files, log: st.logger()}, nil
}

// AmendConfig describes a signed change to a published manifest that
// ships no new release: [Refresh], [Yank], [Deprecate], [Prune] and
// [Amend]. Each is committed with the publish rules: signatures first, a
// conditional replace of manifest.json (merged again if another publisher
// got there first), nothing lost that the change does not name.
type AmendConfig struct {
	// Project is the project; the published manifest must belong to it.
	// Required.
	Project string
	// Publisher publishes to the destination. Required.
	Publisher *publish.Publisher
	// Keys are the trusted public keys (PEM) the published manifest must
	// verify with. Required.
	Keys [][]byte
	// Signers sign the changed manifest. Required; each must be among
	// Keys.
	Signers []sign.Signer
	// Threshold is how many of Keys must have signed the published
	// manifest for it to be changed: the clients' threshold. Default: the
	// number of Signers.
	Threshold int
	// TTL is the new manifest's lifetime; 0 means [DefaultManifestTTL].
	TTL time.Duration
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Logger receives progress; nil discards it.
	Logger *slog.Logger
	// DeleteFiles makes [Prune] also delete the pruned releases' files
	// from the store (which must implement publish.Deleter), after the
	// manifest without them is committed. A client that read the previous
	// manifest moments before may then fail its download; run the prune
	// where that does not matter (nightlies), or delete later.
	DeleteFiles bool
}

// AmendResult says what an amendment did.
type AmendResult struct {
	// Root is what the commit did (Changed false: nothing to change).
	Root *publish.RootResult
	// Expires is the published manifest's expiry after the change.
	Expires time.Time
	// Removed lists the releases a [Prune] removed, newest first.
	Removed []string
	// Deleted lists the files deleted from the store
	// (AmendConfig.DeleteFiles).
	Deleted []string
}

// ErrNoManifest is returned (wrapped) by an amendment of a destination
// that has no manifest.json yet.
var ErrNoManifest = errors.New("the destination has no manifest.json")

// Amend applies change to the destination's current manifest (verified
// with c.Keys; an expired one is accepted), sets a fresh expiry, signs the
// result and commits it. change returns the versions it removed on purpose
// (only [Manifest.Prune]/[Manifest.Remove] remove any) or an error, which
// stops the amendment with nothing replaced. When another publisher
// commits first, change runs again on the newer manifest.
func Amend(ctx context.Context, c AmendConfig, change func(m *manifest.Manifest) (removed []string, err error)) (*AmendResult, error) {
	var problems []string
	if c.Project == "" {
		problems = append(problems, "Project: required")
	}
	if c.Publisher == nil {
		problems = append(problems, "Publisher: required")
	}
	if len(c.Keys) == 0 {
		problems = append(problems, "Keys: required (the published manifest must verify)")
	}
	if len(c.Signers) == 0 {
		problems = append(problems, "Signers: required (the changed manifest is signed)")
	}
	if len(problems) > 0 {
		return nil, &ConfigError{Field: "AmendConfig", Reason: fmt.Sprint(problems)}
	}
	policy, err := newRootPolicy(c.Project, c.Keys, c.Threshold, c.Signers, c.TTL, c.Now)
	if err != nil {
		return nil, err
	}
	log := c.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	res := &AmendResult{}
	var gone []string // the files of the removed releases
	root, err := c.Publisher.UpdateRoot(ctx, func(ctx context.Context, current []byte, dest publish.Opener) (*publish.RootFiles, error) {
		if current == nil {
			return nil, fmt.Errorf("amend %s: %w", c.Project, ErrNoManifest)
		}
		m, err := policy.readCurrent(ctx, current, dest)
		if err != nil {
			return nil, err
		}
		serial, prevUpdated := m.Serial, m.Updated
		before := slices.Clone(m.Releases)
		removed, err := change(m)
		if err != nil {
			return nil, err
		}
		gone = gone[:0]
		for _, r := range before {
			if slices.Contains(removed, r.Version) {
				for _, a := range r.Artifacts {
					gone = append(gone, a.Path)
				}
			}
		}
		m.Serial = serial + 1 // one step, however many changes
		carry, err := carryEntries(ctx, dest, nil, nil)
		if err != nil {
			return nil, err
		}
		files, err := policy.finish(ctx, m, prevUpdated, carry)
		if err != nil {
			return nil, err
		}
		files.Removed = removed
		res.Removed, res.Expires = removed, m.Expires
		log.Info("amended manifest", "project", c.Project, "serial", m.Serial, "expires", m.Expires, "removed", removed)
		return files, nil
	})
	if err != nil {
		return nil, err
	}
	res.Root = root
	if c.DeleteFiles && len(gone) > 0 {
		if err := c.Publisher.Delete(ctx, gone...); err != nil {
			return res, fmt.Errorf("the manifest no longer lists %v, but deleting their files failed (delete them with the store's tools: %s): %w", res.Removed, strings.Join(gone, " "), err)
		}
		res.Deleted = gone
		log.Info("deleted pruned files", "files", len(gone))
	}
	return res, nil
}

func readOptional(ctx context.Context, dest publish.Opener, name string) ([]byte, error) {
	data, err := readLocation(ctx, dest, name, verify.MaxSignaturesSize)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return data, err
}

// Refresh re-signs the published manifest with a new expiry and the next
// serial, changing nothing else: the job a weekly cron runs so that
// clients never see an expired manifest between releases.
func Refresh(ctx context.Context, c AmendConfig) (*AmendResult, error) {
	return Amend(ctx, c, func(*manifest.Manifest) ([]string, error) { return nil, nil })
}

// Yank marks a published release yanked with a reason: it stays listed
// (clients can say why it is gone) but is never selected or installed,
// and channels and aliases move back. A reason is required.
func Yank(ctx context.Context, c AmendConfig, version, reason string) (*AmendResult, error) {
	return Amend(ctx, c, func(m *manifest.Manifest) ([]string, error) {
		_, err := m.Yank(version, reason)
		return nil, err
	})
}

// Deprecate marks a published release deprecated with a reason: it stays
// installable with a warning, and channels and aliases move back to the
// newest active release. A reason is required.
func Deprecate(ctx context.Context, c AmendConfig, version, reason string) (*AmendResult, error) {
	return Amend(ctx, c, func(m *manifest.Manifest) ([]string, error) {
		_, err := m.Deprecate(version, reason)
		return nil, err
	})
}

// Prune applies a retention policy to the published manifest (see
// [manifest.Manifest.Prune]): for example, keep the last 30 releases of the
// nightly channel. Pruned releases leave the manifest, so clients no
// longer see them; their files stay in the store (delete them with the
// store's own tools once no client can be mid-download). A stable release
// is pruned only when named in policy.Versions.
func Prune(ctx context.Context, c AmendConfig, policy manifest.RetentionPolicy) (*AmendResult, error) {
	return Amend(ctx, c, func(m *manifest.Manifest) ([]string, error) {
		return m.Prune(policy)
	})
}
