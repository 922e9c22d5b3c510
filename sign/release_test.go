package sign

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/verify"
)

// makeRelease writes a release root with the given versions, each with two
// archives, a SHA256SUMS, and a manifest.json listing them all.
func makeRelease(t testing.TB, root string, versions ...string) *manifest.Manifest {
	t.Helper()
	m := manifest.New("hello")
	for _, v := range versions {
		sums := &manifest.Checksums{}
		rel := manifest.Release{Version: v, Tag: "v" + v, Date: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC), Commit: "4f9c2e0000000000000000000000000000000000"}
		for _, arch := range []string{"amd64", "arm64"} {
			name := "hello-" + v + "-linux-" + arch + ".tar.gz"
			data := []byte("archive " + name)
			writeFile(t, filepath.Join(root, v, name), data)
			sum := sha256.Sum256(data)
			if err := sums.Add(name, hex.EncodeToString(sum[:])); err != nil {
				t.Fatal(err)
			}
			rel.Artifacts = append(rel.Artifacts, manifest.Artifact{Name: name, Path: v + "/" + name, Kind: manifest.KindArchive, OS: "linux", Arch: arch, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])})
		}
		sumsData := sums.Marshal()
		writeFile(t, filepath.Join(root, v, manifest.ChecksumsFile), sumsData)
		sum := sha256.Sum256(sumsData)
		rel.Artifacts = append(rel.Artifacts, manifest.Artifact{Name: manifest.ChecksumsFile, Path: v + "/" + manifest.ChecksumsFile, Kind: manifest.KindChecksums, Size: int64(len(sumsData)), SHA256: hex.EncodeToString(sum[:])})
		if _, err := m.Add(rel); err != nil {
			t.Fatal(err)
		}
	}
	m.Touch(time.Now(), 90*24*time.Hour)
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, manifest.File), data)
	return m
}

// verifierOf trusts the public keys of signers, with threshold k.
func verifierOf(t testing.TB, k int, signers ...Signer) *verify.Verifier {
	t.Helper()
	var pems [][]byte
	for _, s := range signers {
		p, err := verify.MarshalPublicKey(s.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		pems = append(pems, p)
	}
	ring, err := verify.NewKeyRing(pems...)
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.NewVerifier(ring, verify.WithThreshold(k))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// snapshot returns the contents of every file under root.
func snapshot(t testing.TB, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		out[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSignReleaseVerifies(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	makeRelease(t, root, "1.1.0", "1.2.0")
	cosignKey := loadCase(t, caseFor("cosign-relkit.key"))
	edKey := loadCase(t, caseFor("ed25519-pkcs8.pem"))
	rsaKey := loadCase(t, caseFor("rsa2048-pkcs8.pem"))
	signers := []Signer{cosignKey, edKey, rsaKey}

	results, err := SignRelease(ctx, root, signers...)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, r := range results {
		files = append(files, r.File)
		if len(r.Signed) != 3 || len(r.Kept) != 0 || !r.Changed() {
			t.Errorf("%s: first signing: Signed %v Kept %v", r.File, r.Signed, r.Kept)
		}
	}
	if want := []string{"manifest.json", "1.1.0/SHA256SUMS", "1.2.0/SHA256SUMS"}; !slices.Equal(files, want) {
		t.Errorf("signed %v, want %v", files, want)
	}

	// Package verify accepts the release with all three keys required,
	// with each key alone, and through the detached .sig alone.
	for _, v := range []*verify.Verifier{verifierOf(t, 3, signers...), verifierOf(t, 1, edKey), verifierOf(t, 1, rsaKey)} {
		for _, ver := range []string{"1.1.0", "1.2.0"} {
			if rep, err := v.VerifyRelease(ctx, verify.Dir(root), verify.ReleaseOptions{Version: ver, RequireManifest: true}); err != nil {
				t.Fatalf("VerifyRelease %s: %v\n%s", ver, err, rep.Markdown())
			}
		}
	}
	data := readFile(t, filepath.Join(root, "1.2.0", "SHA256SUMS"))
	if _, err := verifierOf(t, 1, cosignKey).VerifySignatures("SHA256SUMS", data, verify.Signatures{Detached: readFile(t, filepath.Join(root, "1.2.0", "SHA256SUMS.sig"))}); err != nil {
		t.Errorf("SHA256SUMS.sig by the first signer: %v", err)
	}
	// The .sig is base64 with no trailing newline, as cosign writes it.
	if sig := readFile(t, filepath.Join(root, "manifest.json.sig")); bytes.ContainsAny(sig, "\n\r ") {
		t.Errorf("manifest.json.sig has whitespace: %q", sig)
	}
	// A key that did not sign is not accepted.
	other := loadCase(t, caseFor("ec-p384-pkcs8.pem"))
	if _, err := verifierOf(t, 1, other).VerifyRelease(ctx, verify.Dir(root), verify.ReleaseOptions{Version: "1.2.0", RequireManifest: true}); !errors.Is(err, verify.ErrBadSignature) {
		t.Errorf("untrusted key: %v, want ErrBadSignature", err)
	}

	// Signing again changes nothing: published bytes never change.
	before := snapshot(t, root)
	results, err = SignRelease(ctx, root, signers...)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Changed() || len(r.Kept) != 3 {
			t.Errorf("%s: second signing: Signed %v Kept %v Wrote %v", r.File, r.Signed, r.Kept, r.Wrote)
		}
	}
	if after := snapshot(t, root); !mapsEqual(before, after) {
		t.Error("signing an already signed release rewrote files")
	}
}

// TestSignFileKeepsOtherRevisions: a new manifest revision is signed while
// the old revision's entries stay, so a client holding either verifies; a
// second signer can be added later without disturbing the first.
func TestSignFileKeepsOtherRevisions(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	makeRelease(t, root, "1.0.0")
	a := loadCase(t, caseFor("ec-p256-pkcs8.pem"))
	b := loadCase(t, caseFor("rsa3072-pkcs1.pem"))
	if _, err := SignFile(ctx, root, manifest.File, a); err != nil {
		t.Fatal(err)
	}
	// Another file's entries in the same set must survive everything below.
	writeFile(t, filepath.Join(root, "other.txt"), []byte("other"))
	if _, err := SignFile(ctx, root, "other.txt", a); err != nil {
		t.Fatal(err)
	}
	oldData := readFile(t, filepath.Join(root, manifest.File))

	// Publish 1.1.0: a new manifest revision.
	makeRelease(t, root, "1.0.0", "1.1.0")
	newData := readFile(t, filepath.Join(root, manifest.File))
	if bytes.Equal(oldData, newData) {
		t.Fatal("test setup: manifest did not change")
	}
	res, err := SignFile(ctx, root, manifest.File, a, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Signed) != 2 {
		t.Errorf("Signed = %v, want both keys", res.Signed)
	}
	set, err := verify.ParseSignatureSet(readFile(t, filepath.Join(root, manifest.SignaturesFile)))
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Signatures) != 4 {
		t.Errorf("signatures.json has %d entries, want 4 (other.txt, old revision by a, new by a and b)", len(set.Signatures))
	}
	both := verifierOf(t, 1, a, b)
	for name, data := range map[string][]byte{"old": oldData, "new": newData} {
		if _, err := both.VerifySignatures(manifest.File, data, verify.Signatures{Set: set}); err != nil {
			t.Errorf("%s revision: %v", name, err)
		}
	}
	if _, err := verifierOf(t, 2, a, b).VerifySignatures(manifest.File, newData, verify.Signatures{Set: set}); err != nil {
		t.Errorf("new revision, threshold 2: %v", err)
	}
	// The .sig follows the current bytes.
	if _, err := verifierOf(t, 1, a).VerifySignatures(manifest.File, newData, verify.Signatures{Detached: readFile(t, filepath.Join(root, "manifest.json.sig"))}); err != nil {
		t.Errorf("manifest.json.sig: %v", err)
	}

	// Pruning keeps the current revision and the ones asked for.
	oldSum := sha256.Sum256(oldData)
	if n, err := PruneSignatures(ctx, root, manifest.File, hex.EncodeToString(oldSum[:])); err != nil || n != 0 {
		t.Errorf("prune keeping old: removed %d, %v; want 0", n, err)
	}
	if n, err := PruneSignatures(ctx, root, manifest.File); err != nil || n != 1 {
		t.Errorf("prune: removed %d, %v; want 1", n, err)
	}
	set, err = verify.ParseSignatureSet(readFile(t, filepath.Join(root, manifest.SignaturesFile)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := both.VerifySignatures(manifest.File, oldData, verify.Signatures{Set: set}); err == nil {
		t.Error("old revision still verifies after pruning")
	}
	if _, err := verifierOf(t, 2, a, b).VerifySignatures(manifest.File, newData, verify.Signatures{Set: set}); err != nil {
		t.Errorf("new revision after pruning: %v", err)
	}
	if _, err := verifierOf(t, 1, a).VerifySignatures("other.txt", []byte("other"), verify.Signatures{Set: set}); err != nil {
		t.Errorf("other.txt after pruning manifest.json: %v", err)
	}
}

func TestSignFileRefuses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "SHA256SUMS"), []byte("x\n"))
	a := loadCase(t, caseFor("ec-p256-pkcs8.pem"))

	for _, name := range []string{"", ".", "../x", "/etc/passwd", "a\\b", "signatures.json", "a/../b"} {
		if _, err := SignFile(ctx, dir, name, a); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
	if _, err := SignFile(ctx, dir, "SHA256SUMS"); err == nil {
		t.Error("no signers accepted")
	}
	if _, err := SignFile(ctx, dir, "SHA256SUMS", a, a); !errors.Is(err, ErrBadSigner) {
		t.Errorf("same key twice: %v, want ErrBadSigner", err)
	}
	if _, err := SignFile(ctx, dir, "missing", a); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}

	// A malformed signatures.json is an error and stays as it was.
	bad := []byte(`{"schema":"relkit.signatures/v1","signatures":[{"keyid":"nope"}]}`)
	writeFile(t, filepath.Join(dir, manifest.SignaturesFile), bad)
	if _, err := SignFile(ctx, dir, "SHA256SUMS", a); !errors.Is(err, verify.ErrMalformed) {
		t.Errorf("malformed signatures.json: %v, want ErrMalformed", err)
	}
	if got := readFile(t, filepath.Join(dir, manifest.SignaturesFile)); !bytes.Equal(got, bad) {
		t.Error("malformed signatures.json was overwritten")
	}
	if _, err := os.Stat(filepath.Join(dir, "SHA256SUMS.sig")); !errors.Is(err, os.ErrNotExist) {
		t.Error("SHA256SUMS.sig written although signing failed")
	}
	os.Remove(filepath.Join(dir, manifest.SignaturesFile))

	// A signer whose signatures do not verify is caught before writing.
	if _, err := SignFile(ctx, dir, "SHA256SUMS", liar{a}); !errors.Is(err, ErrBadSigner) {
		t.Errorf("lying signer: %v, want ErrBadSigner", err)
	}
	if _, err := os.Stat(filepath.Join(dir, manifest.SignaturesFile)); !errors.Is(err, os.ErrNotExist) {
		t.Error("signatures.json written for a bad signature")
	}

	// Too large a file is refused.
	big := filepath.Join(dir, "big")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxSignedFileSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := SignFile(ctx, dir, "big", a); !errors.Is(err, manifest.ErrTooLarge) {
		t.Errorf("file over MaxSignedFileSize: %v, want ErrTooLarge", err)
	}
}

// liar signs with its key but flips a bit of every signature.
type liar struct{ Signer }

func (l liar) Sign(ctx context.Context, r io.Reader) ([]byte, error) {
	sig, err := l.Signer.Sign(ctx, r)
	if err == nil {
		sig[len(sig)-1] ^= 1
	}
	return sig, err
}

// TestSignFileRepairsStaleSig: a .sig left from another revision (or
// damaged) is rewritten, even though signatures.json is already complete.
func TestSignFileRepairsStaleSig(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "SHA256SUMS"), []byte("abc  x\n"))
	a := loadCase(t, caseFor("ed25519-pkcs8.pem"))
	if _, err := SignFile(ctx, dir, "SHA256SUMS", a); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "SHA256SUMS.sig"), []byte("garbage"))
	res, err := SignFile(ctx, dir, "SHA256SUMS", a)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Wrote) != 1 || filepath.Base(res.Wrote[0]) != "SHA256SUMS.sig" {
		t.Errorf("Wrote = %v, want only the .sig", res.Wrote)
	}
	if _, err := verifierOf(t, 1, a).VerifySignatures("SHA256SUMS", readFile(t, filepath.Join(dir, "SHA256SUMS")), verify.Signatures{Detached: readFile(t, filepath.Join(dir, "SHA256SUMS.sig"))}); err != nil {
		t.Errorf("repaired .sig: %v", err)
	}
}

// TestSignReleaseFlat: a flat layout (GitHub release assets) has SHA256SUMS
// at the root and no manifest.
func TestSignReleaseFlat(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	makeRelease(t, root, "1.2.0")
	flat := t.TempDir()
	ents, err := os.ReadDir(filepath.Join(root, "1.2.0"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		writeFile(t, filepath.Join(flat, e.Name()), readFile(t, filepath.Join(root, "1.2.0", e.Name())))
	}
	s := loadCase(t, caseFor("cosign-cli.key"))
	results, err := SignRelease(ctx, flat, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || results[0].File != "SHA256SUMS" {
		t.Fatalf("results = %+v, want SHA256SUMS only", results)
	}
	if rep, err := verifierOf(t, 1, s).VerifyRelease(ctx, verify.Dir(flat), verify.ReleaseOptions{Version: "1.2.0", Dir: "."}); err != nil {
		t.Fatalf("flat release: %v\n%s", err, rep.Markdown())
	}
	if _, err := SignRelease(ctx, t.TempDir(), s); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("empty root: %v, want ErrNotExist", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	writeFile(t, filepath.Join(flat, "SHA256SUMS"), []byte("changed\n"))
	if _, err := SignRelease(cancelled, flat, s); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v, want context.Canceled", err)
	}
}
