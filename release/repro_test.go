package release

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/release/installsh"
	"github.com/relkit/relkit/sign"
	"github.com/relkit/relkit/verify"
)

// TestReproducible runs two full releases of the same commit (in two
// repositories with identical history, into two dist directories) and
// wants byte-identical archives, source archive, SBOM, provenance, notes
// and SHA256SUMS. Signatures are randomized and not compared.
func TestReproducible(t *testing.T) {
	signer, _ := newSigner(t)
	var roots [2]string
	for i := range roots {
		r := releaseRepo(t, "v1.2.0")
		dist := t.TempDir()
		cfg := releaseConfig(t, r, dist, []sign.Signer{signer}, "https://example.com/hello")
		if _, err := Prepare(t.Context(), cfg); err != nil {
			t.Fatal(err)
		}
		roots[i] = filepath.Join(dist, "release")
	}
	entries, err := os.ReadDir(filepath.Join(roots[0], "1.2.0"))
	if err != nil {
		t.Fatal(err)
	}
	compared := 0
	for _, e := range entries {
		name := e.Name()
		if name == "SHA256SUMS.sig" || name == manifest.SignaturesFile {
			continue
		}
		a, err := os.ReadFile(filepath.Join(roots[0], "1.2.0", name))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(roots[1], "1.2.0", name))
		if err != nil {
			t.Fatalf("second run lacks %s", name)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two runs", name)
		}
		compared++
	}
	if compared < 9 { // 4 archives, source, SBOM, provenance, notes, SHA256SUMS
		t.Errorf("compared only %d files", compared)
	}
	a, _ := os.ReadFile(filepath.Join(roots[0], installsh.File))
	b, _ := os.ReadFile(filepath.Join(roots[1], installsh.File))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Error("install.sh differs between two runs")
	}
}

func TestVerifyStagedCatchesTampering(t *testing.T) {
	signer, _ := newSigner(t)
	st := lightState(t)
	stages := []Stage{&Package{}, &SBOM{}, &Provenance{SourceURI: "git+https://example.com/hello"}, Checksums{},
		&Sign{Signers: []sign.Signer{signer}}, &UpdateManifest{}, &SignManifest{Signers: []sign.Signer{signer}}}
	if err := (&Pipeline{Stages: stages, Logger: testLogger(t)}).Run(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	if err := (&VerifyStaged{Signers: []sign.Signer{signer}}).Run(t.Context(), st); err != nil {
		t.Fatalf("untampered: %v", err)
	}
	// Replace an archive after signing.
	arch := filepath.Join(st.VersionDir(), "hello-1.2.0-darwin-arm64.tar.gz")
	os.WriteFile(arch, []byte("evil"), 0o644)
	err := (&VerifyStaged{Signers: []sign.Signer{signer}}).Run(t.Context(), st)
	if !errors.Is(err, verify.ErrChecksumMismatch) && !errors.Is(err, verify.ErrSizeMismatch) {
		t.Fatalf("tampered archive: err = %v, want a checksum or size mismatch", err)
	}
	// A verifier trusting another key refuses the release.
	other, _ := newSigner(t)
	st2 := lightState(t)
	if err := (&Pipeline{Stages: stages, Logger: testLogger(t)}).Run(t.Context(), st2); err != nil {
		t.Fatal(err)
	}
	if err := (&VerifyStaged{Signers: []sign.Signer{other}}).Run(t.Context(), st2); err == nil {
		t.Fatal("verified with an untrusted key")
	}
}

func TestUpdateManifestRefusesChangedBytes(t *testing.T) {
	st := lightState(t)
	if err := (&Pipeline{Stages: []Stage{&Package{}, Checksums{}, &UpdateManifest{}}, Logger: testLogger(t)}).Run(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	m, err := manifest.LoadFile(filepath.Join(st.Root, manifest.File))
	if err != nil {
		t.Fatal(err)
	}
	if m.Serial != 1 || m.Channels["stable"] != "1.2.0" || m.Expires.Sub(m.Updated) != DefaultManifestTTL {
		t.Errorf("manifest %+v", m)
	}
	// Same version, other bytes: refused, a version is never reused.
	st.Artifacts[0].SHA256 = "ff" + st.Artifacts[0].SHA256[2:]
	err = (&UpdateManifest{Published: m}).Run(t.Context(), st)
	var vr *manifest.VersionReusedError
	if !errors.As(err, &vr) {
		t.Fatalf("err = %v, want *manifest.VersionReusedError", err)
	}
	// Another project's manifest is refused.
	if err := (&UpdateManifest{Published: manifest.New("other")}).Run(t.Context(), st); err == nil {
		t.Fatal("accepted another project's manifest")
	}
}

// lossyPublisher publishes through a real DirStore but then deletes one
// file, as a broken mirror would.
type lossyPublisher struct {
	pub  *publish.Publisher
	dir  string
	lose string
}

func (l lossyPublisher) Publish(ctx context.Context, dir string) (*publish.Result, error) {
	res, err := l.pub.Publish(ctx, dir)
	if err == nil {
		err = os.Remove(filepath.Join(l.dir, filepath.FromSlash(l.lose)))
	}
	return res, err
}

func TestPublishMissingRemoteAsset(t *testing.T) {
	signer, pub := newSigner(t)
	st := lightState(t)
	stages := []Stage{&Package{}, Checksums{}, &Sign{Signers: []sign.Signer{signer}}, &UpdateManifest{}, &SignManifest{Signers: []sign.Signer{signer}}}
	if err := (&Pipeline{Stages: stages, Logger: testLogger(t)}).Run(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	pubDir := t.TempDir()
	store, err := publish.NewDirStore(pubDir)
	if err != nil {
		t.Fatal(err)
	}
	p, err := publish.New(store)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Publish(t.Context(), PublishConfig{
		Root: st.Root, Keys: [][]byte{pub}, Remote: verify.Dir(pubDir), Logger: testLogger(t),
		Publisher: lossyPublisher{pub: p, dir: pubDir, lose: "1.2.0/hello-1.2.0-windows-amd64.zip"},
	})
	var me *MissingAssetsError
	if !errors.As(err, &me) || len(me.Names) != 1 || me.Names[0] != "1.2.0/hello-1.2.0-windows-amd64.zip" {
		t.Fatalf("err = %v, want *MissingAssetsError naming the zip", err)
	}
}

// RemoteVerify of a flat location, laid out as GitHub release assets.
func TestRemoteVerifyFlat(t *testing.T) {
	signer, pub := newSigner(t)
	st := lightState(t)
	stages := []Stage{&Package{}, &SBOM{}, &Provenance{SourceURI: "git+https://example.com/hello"}, Checksums{},
		&Sign{Signers: []sign.Signer{signer}}, &UpdateManifest{}, &SignManifest{Signers: []sign.Signer{signer}}}
	if err := (&Pipeline{Stages: stages, Logger: testLogger(t)}).Run(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	flat := t.TempDir()
	names, err := stagedFiles(st.Root)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		data, _ := os.ReadFile(filepath.Join(st.Root, filepath.FromSlash(name)))
		os.WriteFile(filepath.Join(flat, flatName(name)), data, 0o644)
	}
	rv := &RemoteVerify{Location: verify.Dir(flat), Keys: [][]byte{pub}, Flat: true}
	if err := rv.Run(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(flat, "hello-1.2.0-linux-arm64.tar.gz"))
	var me *MissingAssetsError
	if err := rv.Run(t.Context(), st); !errors.As(err, &me) || me.Names[0] != "hello-1.2.0-linux-arm64.tar.gz" {
		t.Fatalf("err = %v, want *MissingAssetsError", err)
	}
}

// TestMissingAssetsErrorNamesTheURL: a file missing at an HTTP location is
// reported with the location's base URL, not a Go pointer dump
// ("&{0x3bf29a9f6090 …}", issue 16 item 8).
func TestMissingAssetsErrorNamesTheURL(t *testing.T) {
	signer, pub := newSigner(t)
	st := lightState(t)
	stages := []Stage{&Package{}, &SBOM{}, &Provenance{SourceURI: "git+https://example.com/hello"}, Checksums{},
		&Sign{Signers: []sign.Signer{signer}}, &UpdateManifest{}, &SignManifest{Signers: []sign.Signer{signer}}}
	if err := (&Pipeline{Stages: stages, Logger: testLogger(t)}).Run(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	loc, err := verify.NewHTTP(srv.URL + "/releases/hello/")
	if err != nil {
		t.Fatal(err)
	}
	err = (&RemoteVerify{Location: loc, Keys: [][]byte{pub}}).Run(t.Context(), st)
	var me *MissingAssetsError
	if !errors.As(err, &me) {
		t.Fatalf("err = %v, want *MissingAssetsError", err)
	}
	want := srv.URL + "/releases/hello/"
	if me.Location != want || !strings.Contains(err.Error(), "missing at "+want+":") {
		t.Errorf("Location = %q, err = %q; want both to name %s", me.Location, err, want)
	}

	// A caller's Location without a String method is named by its type,
	// not dumped (its fields could hold a token).
	err = (&RemoteVerify{Location: tokenLocation{loc, "s3cr3t"}, Keys: [][]byte{pub}}).Run(t.Context(), st)
	if !errors.As(err, &me) || me.Location != "release.tokenLocation" || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("err = %v, want a *MissingAssetsError naming release.tokenLocation", err)
	}
}

// tokenLocation is a caller's Location without a String method.
type tokenLocation struct {
	verify.Location
	token string
}
