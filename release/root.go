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

// readCurrent verifies the destination's current manifest (data, read from
// dest) with keys and returns it parsed; an expired manifest is accepted
// (the change re-signs it with a fresh expiry). A manifest that does not
// verify, does not parse, or belongs to another project is a
// *publish.RootError: nothing is replaced.
func readCurrent(ctx context.Context, project string, data []byte, dest publish.Opener, keys [][]byte) (*manifest.Manifest, error) {
	sigs, err := verify.FetchSignatures(ctx, dest, ManifestFile, data)
	if err != nil {
		return nil, &publish.RootError{Reason: "reading the signatures of the published manifest.json", Err: err}
	}
	ring, err := verify.NewKeyRing(keys...)
	if err != nil {
		return nil, err
	}
	v, err := verify.NewVerifier(ring)
	if err != nil {
		return nil, err
	}
	if _, err := v.VerifySignatures(ManifestFile, data, sigs); err != nil {
		return nil, &publish.RootError{Reason: "the published manifest.json does not verify with the trusted keys; fix the destination or the keys before publishing (nothing was replaced)", Err: err}
	}
	m, err := manifest.Parse(data)
	if err == nil {
		err = m.Validate()
	}
	if err != nil {
		return nil, &publish.RootError{Reason: "the published manifest.json is invalid (nothing was replaced)", Err: err}
	}
	if m.Project != project {
		return nil, &publish.RootError{Reason: fmt.Sprintf("the destination's manifest.json is for project %q, not %q: wrong destination? (nothing was replaced)", m.Project, project)}
	}
	return m, nil
}

// signRoot signs manifest bytes with every signer and returns the root
// files to commit: the first signer's detached signature and a signature
// set with one entry per signer, plus the entries of carry (the staged
// root signatures.json, for keys.json) that sign other files.
func signRoot(ctx context.Context, data []byte, signers []sign.Signer, carry []byte) (*publish.RootFiles, error) {
	if len(signers) == 0 {
		return nil, fmt.Errorf("sign %s: %w", ManifestFile, ErrNoSigningKey)
	}
	h := sha256.Sum256(data)
	sum := hex.EncodeToString(h[:])
	set := &verify.SignatureSet{Schema: verify.SignaturesSchema}
	if carry != nil {
		old, err := verify.ParseSignatureSet(carry)
		if err != nil {
			return nil, err
		}
		for _, e := range old.Signatures {
			if e.File != ManifestFile {
				set.Signatures = append(set.Signatures, e)
			}
		}
	}
	files := &publish.RootFiles{Manifest: data}
	for i, s := range signers {
		sig, err := s.Sign(ctx, bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		if i == 0 {
			files.Signature = verify.EncodeSignature(sig)
		}
		set.Signatures = append(set.Signatures, verify.SignatureEntry{
			KeyID: s.KeyID(), Algorithm: s.Algorithm(), File: ManifestFile, SHA256: sum, Signature: sig})
	}
	enc, err := set.Marshal()
	if err != nil {
		return nil, err
	}
	files.Signatures = enc
	return files, nil
}

// merger is what release.Publish commits at the root: the staged release
// merged into the destination's current manifest, re-signed.
type merger struct {
	project string
	rel     manifest.Release
	keys    [][]byte
	signers []sign.Signer
	carry   []byte
	ttl     time.Duration
	now     func() time.Time
	log     *slog.Logger
}

func (mg *merger) merge(ctx context.Context, current []byte, dest publish.Opener) (*publish.RootFiles, error) {
	m := manifest.New(mg.project)
	if current != nil {
		var err error
		if m, err = readCurrent(ctx, mg.project, current, dest, mg.keys); err != nil {
			return nil, err
		}
		mg.log.Info("merging into the published manifest", "serial", m.Serial, "releases", len(m.Releases))
	} else {
		mg.log.Info("the destination has no manifest.json: this is its first release")
	}
	changed, err := m.Add(mg.rel)
	if err != nil {
		return nil, err
	}
	if !changed {
		return nil, nil // already published
	}
	m.Touch(mg.now(), mg.ttl)
	if err := m.Validate(); err != nil {
		return nil, err
	}
	data, err := m.Marshal()
	if err != nil {
		return nil, err
	}
	return signRoot(ctx, data, mg.signers, mg.carry)
}

// newMerger prepares the merge of the staged release of st at root.
func newMerger(st *State, root string, keys [][]byte, signers []sign.Signer, ttl time.Duration, now func() time.Time) (*merger, error) {
	staged, err := manifest.LoadFile(filepath.Join(root, ManifestFile))
	if err != nil {
		return nil, err
	}
	rel, ok := staged.Release(st.Version.String())
	if !ok {
		return nil, fmt.Errorf("staged manifest: version %s: %w", st.Version, manifest.ErrNotFound)
	}
	carry, err := os.ReadFile(filepath.Join(root, SignaturesFile))
	if errors.Is(err, os.ErrNotExist) {
		carry = nil
	} else if err != nil {
		return nil, err
	}
	if ttl == 0 {
		ttl = DefaultManifestTTL
	}
	if now == nil {
		now = time.Now
	}
	return &merger{project: st.Project, rel: *rel, keys: keys, signers: signers, carry: carry, ttl: ttl, now: now, log: st.logger()}, nil
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
	// Signers sign the changed manifest. Required.
	Signers []sign.Signer
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
	ttl, now := c.TTL, c.Now
	if ttl == 0 {
		ttl = DefaultManifestTTL
	}
	if now == nil {
		now = time.Now
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
		m, err := readCurrent(ctx, c.Project, current, dest, c.Keys)
		if err != nil {
			return nil, err
		}
		serial := m.Serial
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
		m.Touch(now(), ttl)
		if err := m.Validate(); err != nil {
			return nil, err
		}
		data, err := m.Marshal()
		if err != nil {
			return nil, err
		}
		carry, err := readOptional(ctx, dest, SignaturesFile)
		if err != nil {
			return nil, err
		}
		files, err := signRoot(ctx, data, c.Signers, carry)
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
