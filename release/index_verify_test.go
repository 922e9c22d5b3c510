package release

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/sign"
	"github.com/relkit/relkit/verify"
)

// indexCheck returns the report's check of index.json.
func indexCheck(t *testing.T, rep *verify.Report) verify.Check {
	t.Helper()
	for _, c := range rep.Checks {
		if c.Name == "index "+manifest.IndexFile {
			return c
		}
	}
	t.Fatalf("the report has no index check: %v", rep.Checks)
	return verify.Check{}
}

// Remote verify reads index.json as a v2 client does and checks that it
// lists the release as manifest.json does: it fails an index that says
// something else (signed, but split from another manifest), and warns
// about one that lags a publish behind.
func TestVerifyReleaseChecksTheIndex(t *testing.T) {
	s, pub := newSigner(t)
	keys, signers := [][]byte{pub}, []sign.Signer{s}
	store, loc := dirStore(t)
	root := store.(*publish.DirStore).Root()
	if _, err := publishTo(t, store, prepareVersion(t, s, "1.0.0", "", nil), keys, signers); err != nil {
		t.Fatal(err)
	}
	oldIndex, err := os.ReadFile(filepath.Join(root, manifest.IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := publishTo(t, store, prepareVersion(t, s, "1.1.0", "", nil), keys, signers); err != nil {
		t.Fatal(err)
	}
	ring, _ := verify.NewKeyRing(pub)
	v, _ := verify.NewVerifier(ring, verify.WithProject("hello"))
	rep, err := v.VerifyRelease(t.Context(), loc, verify.ReleaseOptions{Version: "1.0.0"})
	if err != nil || !rep.OK {
		t.Fatalf("verify: %v\n%v", err, rep)
	}
	if c := indexCheck(t, rep); c.Status != verify.Pass || !strings.Contains(c.Detail, "lists 1.0.0 as manifest.json does") {
		t.Fatalf("index check: %+v", c)
	}

	// A signed index split from a manifest that says another digest for
	// 1.0.0 (a publisher bug, or a key holder's attack on v2 clients).
	m, err := manifest.LoadFile(filepath.Join(root, manifest.File))
	if err != nil {
		t.Fatal(err)
	}
	r, _ := m.Release("1.0.0")
	r.Artifacts[0].SHA256 = strings.Repeat("e", 64)
	rp, err := newRootPolicy("hello", keys, 1, signers, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := rp.index(t.Context(), m)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(ix.Index)
	sum := hex.EncodeToString(h[:])
	for name, data := range map[string][]byte{manifest.SignatureSetPath(manifest.IndexFile, sum): ix.Signatures, manifest.SignaturePath(manifest.IndexFile, sum): ix.Signature, manifest.IndexFile: ix.Index} {
		if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(name)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	v, _ = verify.NewVerifier(ring, verify.WithProject("hello"))
	rep, err = v.VerifyRelease(t.Context(), loc, verify.ReleaseOptions{Version: "1.0.0"})
	if err == nil || rep == nil {
		t.Fatalf("verify of an index that lists another 1.0.0: %v", err)
	}
	if c := indexCheck(t, rep); c.Status != verify.Fail || rep.OK {
		t.Fatalf("an index that lists another 1.0.0 passed: %+v", c)
	}

	// The index of the first publish: one serial behind, a warning.
	if err := os.WriteFile(filepath.Join(root, manifest.IndexFile), oldIndex, 0o644); err != nil {
		t.Fatal(err)
	}
	v, _ = verify.NewVerifier(ring, verify.WithProject("hello"))
	rep, err = v.VerifyRelease(t.Context(), loc, verify.ReleaseOptions{Version: "1.1.0"})
	if err != nil || !rep.OK {
		t.Fatalf("verify with a lagging index: %v\n%v", err, rep)
	}
	if !strings.Contains(strings.Join(rep.Warnings, "\n"), "v2 clients do not see the newest changes yet") {
		t.Errorf("no warning about the lagging index: %v", rep.Warnings)
	}
}
