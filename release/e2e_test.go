package release

import (
	"bytes"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relkit/relkit/install"
	"github.com/relkit/relkit/internal/testenv"
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/release/changelog"
	"github.com/relkit/relkit/release/installsh"
	"github.com/relkit/relkit/sign"
	"github.com/relkit/relkit/verify"
)

// releaseRepo is a git repository for the project "hello" at a tagged
// commit, with a CHANGELOG and a LICENSE. Its commits have fixed dates, so
// two such repositories have the same commit IDs.
func releaseRepo(t *testing.T, tag string) *testRepo {
	t.Helper()
	r := newRepo(t)
	cl, err := os.ReadFile("testdata/CHANGELOG.md")
	if err != nil {
		t.Fatal(err)
	}
	r.write("CHANGELOG.md", string(cl))
	r.write("LICENSE", "MIT License\n")
	r.write("README.md", "# hello\n")
	r.commit("hello")
	r.git("tag", "-a", tag, "-m", "Release "+tag)
	return r
}

func newSigner(t *testing.T) (sign.Signer, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sign.NewSigner(key, "")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := verify.MarshalPublicKey(s.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	return s, pub
}

// releaseConfig is the Config the end-to-end tests use: the real build of
// testdata/hello (in this module) for the four targets, released from the
// throwaway repository r.
func releaseConfig(t *testing.T, r *testRepo, dist string, signers []sign.Signer, baseURL string) Config {
	b := testBuild()
	b.Dir = "."
	return Config{
		Project: "hello",
		Dist:    dist,
		Repo:    r.dir,
		Guard:   Guard{RequireV: true}.Strict(),
		Build:   b,
		// BestSpeed keeps the race run short; TestPackageReproducible
		// covers the default level.
		Package:       Package{Level: gzip.BestSpeed, Extra: []File{{Src: filepath.Join(r.dir, "LICENSE")}, {Src: filepath.Join(r.dir, "README.md")}}},
		Source:        true,
		Notes:         Changelog{Path: filepath.Join(r.dir, "CHANGELOG.md")},
		SourceURI:     "git+https://github.com/example/hello",
		InstallScript: &installsh.Script{BaseURL: baseURL},
		Signers:       signers,
		Now:           func() time.Time { return testDate.Add(time.Hour) },
		Logger:        testLogger(t),
	}
}

func TestEndToEnd(t *testing.T) {
	sha256sum := testenv.Tool(t, "sha256sum")
	openssl := testenv.Tool(t, "openssl")
	testenv.Tool(t, "curl")
	testenv.Tool(t, "tar")

	signer, pub := newSigner(t)
	pubDir := t.TempDir() // the published release root
	baseURL := "file://" + pubDir

	// 1.2.0: prepare (stage + sign), then publish to a directory.
	r := releaseRepo(t, "v1.2.0")
	dist := t.TempDir()
	st, err := Prepare(t.Context(), releaseConfig(t, r, dist, []sign.Signer{signer}, baseURL))
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dist, "release")
	for _, name := range []string{
		"manifest.json", "manifest.json.sig", "install.sh",
		"1.2.0/SHA256SUMS", "1.2.0/SHA256SUMS.sig", "1.2.0/sbom.spdx.json", "1.2.0/provenance.intoto.json",
		"1.2.0/release-notes.md", "1.2.0/hello-1.2.0-source.tar.gz",
		"1.2.0/hello-1.2.0-linux-amd64.tar.gz", "1.2.0/hello-1.2.0-linux-arm64.tar.gz",
		"1.2.0/hello-1.2.0-darwin-arm64.tar.gz", "1.2.0/hello-1.2.0-windows-amd64.zip",
	} {
		if _, err := os.Stat(filepath.Join(root, name)); err != nil {
			t.Errorf("staged release lacks %s", name)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "hello")); err == nil {
		t.Error("build output leaked into the staged root")
	}
	if len(st.Reports) != 1 || !st.Reports[0].Report.OK {
		t.Fatalf("staged verification: %+v", st.Reports)
	}

	// Interop: sha256sum -c and openssl verify the staged files.
	cmd := exec.Command(sha256sum, "-c", "--strict", "SHA256SUMS")
	cmd.Dir = filepath.Join(root, "1.2.0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c: %v\n%s", err, out)
	}
	opensslVerify(t, openssl, pub, filepath.Join(root, "1.2.0", "SHA256SUMS"))
	opensslVerify(t, openssl, pub, filepath.Join(root, "manifest.json"))

	// Publish the staged directory, then check it remotely.
	store, err := publish.NewDirStore(pubDir)
	if err != nil {
		t.Fatal(err)
	}
	pubr, err := publish.New(store)
	if err != nil {
		t.Fatal(err)
	}
	pst, err := Publish(t.Context(), PublishConfig{Root: root, Publisher: pubr, Keys: [][]byte{pub}, Remote: verify.Dir(pubDir), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(pst.Reports) != 2 || !pst.Reports[1].Report.OK || pst.Reports[1].Where != "remote" {
		t.Fatalf("reports %+v", pst.Reports)
	}
	var summary ReleaseSummary
	data, err := os.ReadFile(filepath.Join(dist, "release-summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &summary); err != nil {
		t.Fatal(err)
	}
	if summary.Version != "1.2.0" || len(summary.Artifacts) != len(st.Artifacts) || summary.Artifacts[0].URL == "" {
		t.Errorf("summary %+v", summary)
	}
	if md, _ := os.ReadFile(filepath.Join(dist, "release-summary.md")); !bytes.Contains(md, []byte("remote: passed")) {
		t.Errorf("summary markdown:\n%s", md)
	}

	// Install with the installer script, as `curl | sh` would.
	shDir := t.TempDir()
	runInstaller(t, pubDir, shDir)
	checkVersion(t, filepath.Join(shDir, "hello"), "1.2.0")

	// Install with package install.
	ring, err := verify.NewKeyRing(pub)
	if err != nil {
		t.Fatal(err)
	}
	binDir := t.TempDir()
	in, err := install.New(install.Config{Project: "hello", Source: pubDir, Dir: binDir, Trust: &verify.Trust{Keys: ring},
		Platform: manifest.Platform{OS: "linux", Arch: "amd64"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.Install(t.Context(), manifest.Query{}); err != nil {
		t.Fatal(err)
	}
	checkVersion(t, filepath.Join(binDir, "hello"), "1.2.0")

	// 1.3.0: a new commit, the Unreleased section promoted, a new tag.
	cl, _ := os.ReadFile(filepath.Join(r.dir, "CHANGELOG.md"))
	cl, err = changelog.PromoteUnreleased(cl, manifest.MustParseVersion("1.3.0"), "v1.3.0", testDate)
	if err != nil {
		t.Fatal(err)
	}
	r.write("CHANGELOG.md", string(cl))
	r.commit("release 1.3.0")
	r.git("tag", "-a", "v1.3.0", "-m", "Release v1.3.0")

	published, err := CurrentManifest(t.Context(), verify.Dir(pubDir), [][]byte{pub})
	if err != nil || published == nil {
		t.Fatalf("current manifest: %v %v", published, err)
	}
	// The guard refuses to re-release 1.2.0 against the published manifest.
	cfg := releaseConfig(t, r, t.TempDir(), []sign.Signer{signer}, baseURL)
	cfg.Published = published
	cfg.Version = "1.2.0"
	cfg.Guard.MatchHEAD = false
	cfg.Guard.Tag = "v1.2.0"
	if _, err := Prepare(t.Context(), cfg); !errors.Is(err, ErrVersionReused) {
		t.Fatalf("re-releasing 1.2.0: err = %v, want ErrVersionReused", err)
	}

	dist2 := t.TempDir()
	cfg = releaseConfig(t, r, dist2, []sign.Signer{signer}, baseURL)
	cfg.Published = published
	cfg.Now = func() time.Time { return testDate.Add(48 * time.Hour) }
	if _, err := Prepare(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	if notes, _ := os.ReadFile(filepath.Join(dist2, "release", "1.3.0", manifest.NotesFile)); !bytes.Contains(notes, []byte("hello --json")) {
		t.Errorf("1.3.0 notes: %q", notes)
	}
	if _, err := Publish(t.Context(), PublishConfig{Root: filepath.Join(dist2, "release"), Publisher: pubr, Keys: [][]byte{pub}, Remote: verify.Dir(pubDir), Logger: testLogger(t)}); err != nil {
		t.Fatal(err)
	}
	m, err := manifest.LoadFile(filepath.Join(pubDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Aliases["latest"] != "1.3.0" || len(m.Releases) != 2 || m.Serial <= published.Serial {
		t.Errorf("published manifest: latest %q, %d releases, serial %d", m.Aliases["latest"], len(m.Releases), m.Serial)
	}

	// Upgrade with both installers.
	runInstaller(t, pubDir, shDir)
	checkVersion(t, filepath.Join(shDir, "hello"), "1.3.0")
	res, err := in.Install(t.Context(), manifest.Query{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("install result: %+v", res)
	checkVersion(t, filepath.Join(binDir, "hello"), "1.3.0")
}

func opensslVerify(t *testing.T, openssl string, pubPEM []byte, file string) {
	t.Helper()
	dir := t.TempDir()
	sigB64, err := os.ReadFile(file + ".sig")
	if err != nil {
		t.Fatal(err)
	}
	sig, err := verify.DecodeSignature(sigB64)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "sig.der"), sig, 0o644)
	os.WriteFile(filepath.Join(dir, "pub.pem"), pubPEM, 0o644)
	out, err := exec.Command(openssl, "dgst", "-sha256", "-verify", filepath.Join(dir, "pub.pem"), "-signature", filepath.Join(dir, "sig.der"), file).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verified OK") {
		t.Fatalf("openssl dgst -verify %s: %v\n%s", file, err, out)
	}
}

// runInstaller runs the published install.sh with sh, for linux/amd64.
func runInstaller(t *testing.T, pubDir, installDir string, args ...string) {
	t.Helper()
	out, err := installerCmd(t, pubDir, installDir, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("install.sh: %v\n%s", err, out)
	}
	t.Logf("install.sh: %s", out)
}

func installerCmd(t *testing.T, pubDir, installDir string, args ...string) *exec.Cmd {
	cmd := exec.Command("sh", append([]string{filepath.Join(pubDir, installsh.File)}, args...)...)
	cmd.Env = append(os.Environ(), "HELLO_INSTALL_DIR="+installDir, "HELLO_OS=linux", "HELLO_ARCH=amd64")
	return cmd
}

func checkVersion(t *testing.T, bin, want string) {
	t.Helper()
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s version: %v %s", bin, err, out)
	}
	if !strings.HasPrefix(string(out), "hello "+want+" ") {
		t.Fatalf("%s version = %q, want %s", bin, out, want)
	}
}
