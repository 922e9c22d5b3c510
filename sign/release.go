package sign

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/relkit/relkit/internal/atomicfile"
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/verify"
)

// MaxSignedFileSize is the largest file [SignFile] signs. The files a
// release signs (manifest.json, SHA256SUMS, keys.json) are small metadata;
// SignFile holds the file in memory so that every signer signs exactly the
// same bytes and each signature is checked before it is written. Artifacts
// are never signed directly: they are listed in SHA256SUMS, which is. (A
// [Signer] itself streams input of any size.)
const MaxSignedFileSize = manifest.MaxManifestSize

// ErrBadSigner is returned (wrapped) when a Signer returns a signature that
// does not verify with its own public key (a broken HSM, a mismatched key),
// or when two signers share a key ID. Nothing is written then.
var ErrBadSigner = errors.New("signer misbehaved")

// Result reports what signing one file did.
type Result struct {
	// File is the signed file, slash-separated and relative to the
	// directory passed to SignFile or the root passed to SignRelease.
	File string
	// SHA256 is the lowercase hex SHA-256 of the signed bytes.
	SHA256 string
	// Signed lists the key IDs that signed now.
	Signed []string
	// Kept lists the key IDs whose valid signature over these bytes was
	// already in signatures.json and was kept as it was.
	Kept []string
	// Wrote lists the files written (the .sig file, signatures.json), as
	// operating-system paths; empty when everything was already signed.
	Wrote []string
}

// Changed reports whether signing wrote anything.
func (r Result) Changed() bool { return len(r.Wrote) > 0 }

// SignFile signs the file name (a slash-separated path relative to dir)
// with every signer and records the signatures next to it:
//
//   - dir/name.sig holds the first signer's signature as base64 with no
//     newline: the file "cosign sign-blob --output-signature" writes, which
//     "cosign verify-blob --key cosign.pub --signature name.sig
//     --insecure-ignore-tlog name" accepts (for every key type: cosign,
//     ECDSA, Ed25519 and RSA PKCS#1 v1.5 keys are tested), and which
//     package verify reads;
//   - dir/signatures.json gets one entry per signer (see
//     [verify.SignatureSet]) with the file's SHA-256, merged into the set
//     already there. Entries for other files and for other revisions of
//     this file (other SHA-256) are kept, so a verifier holding the
//     previous revision still finds its signatures while a publish is in
//     flight; [PruneSignatures] drops them when they are no longer needed.
//
// Signing is idempotent: a signer whose valid signature over the current
// bytes is already in signatures.json does not sign again, and a .sig file
// that already verifies with the first signer's key is left as it is, so
// running SignFile twice rewrites nothing (a published file never changes
// bytes). Every new signature is verified with package verify before
// anything is written; a malformed signatures.json is an error and is not
// overwritten. Files are replaced atomically (temporary file + rename) with
// mode 0644. SignFile reads at most [MaxSignedFileSize] bytes of the file.
//
// SignFile is not safe for two concurrent callers writing the same
// directory: signatures.json is read, merged and replaced.
func SignFile(ctx context.Context, dir, name string, signers ...Signer) (*Result, error) {
	if !validName(name) {
		return nil, fmt.Errorf("sign: %q is not a clean relative slash-separated path", name)
	}
	if err := checkSigners(signers); err != nil {
		return nil, err
	}
	data, err := readSigned(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		return nil, err
	}
	return signData(ctx, dir, name, data, signers, nil)
}

// signData signs data, known as dir/name, and writes the .sig and
// signatures.json; then, when writeFile is not nil, it calls it to write
// the file itself, so that a new file only appears once its signatures are
// in place.
func signData(ctx context.Context, dir, name string, data []byte, signers []Signer, writeFile func() error) (*Result, error) {
	setPath := filepath.Join(dir, manifest.SignaturesFile)
	set, err := loadSet(setPath)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	res := &Result{File: name, SHA256: hex.EncodeToString(sum[:])}

	var firstSig []byte
	for i, s := range signers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		v, err := verifierFor(s)
		if err != nil {
			return nil, err
		}
		var sig []byte
		if e, ok := findEntry(set, name, res.SHA256, s.KeyID()); ok && e.Algorithm == s.Algorithm() {
			one := &verify.SignatureSet{Signatures: []verify.SignatureEntry{e}}
			if _, err := v.VerifySignatures(name, data, verify.Signatures{Set: one}); err == nil {
				res.Kept = append(res.Kept, s.KeyID())
				sig = e.Signature
			}
		}
		if sig == nil {
			sig, err = s.Sign(ctx, bytes.NewReader(data))
			if err != nil {
				return nil, fmt.Errorf("sign: %s with key %s: %w", name, s.KeyID(), err)
			}
			e := verify.SignatureEntry{KeyID: s.KeyID(), Algorithm: s.Algorithm(), File: name, SHA256: res.SHA256, Signature: sig}
			one := &verify.SignatureSet{Signatures: []verify.SignatureEntry{e}}
			if _, err := v.VerifySignatures(name, data, verify.Signatures{Set: one}); err != nil {
				return nil, fmt.Errorf("sign: %s: the %s signature by key %s does not verify: %w: %v", name, s.Algorithm(), s.KeyID(), ErrBadSigner, err)
			}
			if err := set.Add(e); err != nil {
				return nil, fmt.Errorf("sign: %s: %w", name, err)
			}
			res.Signed = append(res.Signed, s.KeyID())
		}
		if i == 0 {
			firstSig = sig
		}
	}

	sigPath := filepath.Join(dir, filepath.FromSlash(name)+verify.SignatureSuffix)
	if !detachedValid(sigPath, signers[0], name, data) {
		if _, err := atomicfile.WriteFile(sigPath, bytes.NewReader(verify.EncodeSignature(firstSig)), 0o644); err != nil {
			return nil, fmt.Errorf("sign: writing %s: %w", sigPath, err)
		}
		res.Wrote = append(res.Wrote, sigPath)
	}
	if len(res.Signed) > 0 {
		out, err := set.Marshal()
		if err != nil {
			return nil, fmt.Errorf("sign: encoding %s: %w", setPath, err)
		}
		if _, err := atomicfile.WriteFile(setPath, bytes.NewReader(out), 0o644); err != nil {
			return nil, fmt.Errorf("sign: writing %s: %w", setPath, err)
		}
		res.Wrote = append(res.Wrote, setPath)
	}
	if writeFile != nil {
		if err := writeFile(); err != nil {
			return nil, err
		}
		res.Wrote = append(res.Wrote, filepath.Join(dir, filepath.FromSlash(name)))
	}
	return res, nil
}

// SignRelease signs a release directory laid out as relkit publishes it
// (see [SignFile] for what signing a file writes):
//
//   - root/manifest.json, when present (manifest.json.sig and entries in
//     root/signatures.json);
//   - root/SHA256SUMS, when present (a flat layout such as GitHub release
//     assets);
//   - root/<version>/SHA256SUMS for every version directory that has one
//     (SHA256SUMS.sig and entries in root/<version>/signatures.json).
//
// Files already signed by every signer are left untouched, so signing a
// root that holds many published versions only signs what is new. The
// first signer's key makes the .sig files: put the key users check with
// "cosign verify-blob" or openssl first. It returns one Result
// per signed file, in the order above, and stops at the first error.
func SignRelease(ctx context.Context, root string, signers ...Signer) ([]Result, error) {
	if err := checkSigners(signers); err != nil {
		return nil, err
	}
	var files []string
	for _, f := range []string{manifest.File, manifest.ChecksumsFile} {
		if isRegular(filepath.Join(root, f)) {
			files = append(files, f)
		}
	}
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("sign: reading release root: %w", err)
	}
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if isRegular(filepath.Join(root, e.Name(), manifest.ChecksumsFile)) {
			files = append(files, e.Name()+"/"+manifest.ChecksumsFile)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("sign: %s holds no %s and no */%s to sign: %w", root, manifest.File, manifest.ChecksumsFile, fs.ErrNotExist)
	}
	var results []Result
	for _, f := range files {
		dir, name := path.Split(f)
		r, err := SignFile(ctx, filepath.Join(root, filepath.FromSlash(dir)), name, signers...)
		if err != nil {
			return results, err
		}
		r.File = f
		results = append(results, *r)
	}
	return results, nil
}

// PruneSignatures removes from dir/signatures.json the entries for name
// whose SHA-256 is neither the file's current digest nor one of keep (for
// example the digest of the revision still published while a new one is in
// flight). It returns how many entries it removed; it rewrites the file
// only when that is not zero, and not at all once ctx is done.
func PruneSignatures(ctx context.Context, dir, name string, keep ...string) (int, error) {
	if !validName(name) {
		return 0, fmt.Errorf("sign: %q is not a clean relative slash-separated path", name)
	}
	data, err := readSigned(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		return 0, err
	}
	sum := sha256.Sum256(data)
	keep = append(keep, hex.EncodeToString(sum[:]))
	setPath := filepath.Join(dir, manifest.SignaturesFile)
	set, err := loadSet(setPath)
	if err != nil {
		return 0, err
	}
	before := len(set.Signatures)
	set.Signatures = slices.DeleteFunc(set.Signatures, func(e verify.SignatureEntry) bool {
		return e.File == name && !slices.Contains(keep, e.SHA256)
	})
	removed := before - len(set.Signatures)
	if removed == 0 {
		return 0, nil
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	out, err := set.Marshal()
	if err != nil {
		return 0, err
	}
	if _, err := atomicfile.WriteFile(setPath, bytes.NewReader(out), 0o644); err != nil {
		return 0, fmt.Errorf("sign: writing %s: %w", setPath, err)
	}
	return removed, nil
}

func checkSigners(signers []Signer) error {
	if len(signers) == 0 {
		return errors.New("sign: no signers")
	}
	seen := map[string]bool{}
	for _, s := range signers {
		if s == nil {
			return errors.New("sign: nil signer")
		}
		if seen[s.KeyID()] {
			return fmt.Errorf("sign: key %s given twice: %w", s.KeyID(), ErrBadSigner)
		}
		seen[s.KeyID()] = true
	}
	return nil
}

// verifierFor returns a package-verify Verifier trusting only s's key.
func verifierFor(s Signer) (*verify.Verifier, error) {
	pemKey, err := verify.MarshalPublicKey(s.PublicKey())
	if err != nil {
		return nil, fmt.Errorf("sign: signer %s: %w: %v", s.KeyID(), ErrBadSigner, err)
	}
	ring, err := verify.NewKeyRing(pemKey)
	if err != nil {
		return nil, fmt.Errorf("sign: signer %s: %w: %v", s.KeyID(), ErrBadSigner, err)
	}
	if ids := ring.IDs(); len(ids) != 1 || ids[0] != s.KeyID() {
		return nil, fmt.Errorf("sign: signer reports key ID %s, its public key has %v: %w", s.KeyID(), ids, ErrBadSigner)
	}
	return verify.NewVerifier(ring)
}

// detachedValid reports whether sigPath holds a signature over data that
// verifies with s's key.
func detachedValid(sigPath string, s Signer, name string, data []byte) bool {
	b, err := readLimited(sigPath, verify.MaxSignatureSize)
	if err != nil {
		return false
	}
	v, err := verifierFor(s)
	if err != nil {
		return false
	}
	_, err = v.VerifySignatures(name, data, verify.Signatures{Detached: b})
	return err == nil
}

func findEntry(set *verify.SignatureSet, name, sum, keyID string) (verify.SignatureEntry, bool) {
	for _, e := range set.For(name, sum) {
		if e.KeyID == keyID {
			return e, true
		}
	}
	return verify.SignatureEntry{}, false
}

// loadSet reads a signatures.json, or returns an empty set when there is
// none.
func loadSet(p string) (*verify.SignatureSet, error) {
	b, err := readLimited(p, verify.MaxSignaturesSize)
	if errors.Is(err, fs.ErrNotExist) {
		return &verify.SignatureSet{Schema: verify.SignaturesSchema}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sign: reading %s: %w", p, err)
	}
	set, err := verify.ParseSignatureSet(b)
	if err != nil {
		return nil, fmt.Errorf("sign: existing %s (not overwritten): %w", p, err)
	}
	return set, nil
}

func readSigned(p string) ([]byte, error) {
	b, err := readLimited(p, MaxSignedFileSize)
	if err != nil {
		return nil, fmt.Errorf("sign: reading file to sign: %w", err)
	}
	return b, nil
}

// readLimited reads a regular file of at most limit bytes.
func readLimited(p string, limit int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", p)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: %w: more than %d bytes", p, manifest.ErrTooLarge, limit)
	}
	return b, nil
}

func isRegular(p string) bool {
	fi, err := os.Lstat(p)
	return err == nil && fi.Mode().IsRegular()
}

func validName(name string) bool {
	return fs.ValidPath(name) && name != "." && !strings.Contains(name, "\\") && path.Base(name) != manifest.SignaturesFile
}
