package installsh_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relkit/relkit/install"
	"github.com/relkit/relkit/internal/testenv"
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/publish/github/githubtest"
	"github.com/relkit/relkit/release"
	"github.com/relkit/relkit/release/installsh"
	"github.com/relkit/relkit/sign"
	"github.com/relkit/relkit/verify"
)

// The script is tested on releases staged by package release's stages
// (an external test package may import a package that imports the one
// under test) and run under dash, bash and busybox sh.

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

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// emptyState is the state of release hello 1.2.0 with fresh directories
// and no binaries.
func emptyState(t *testing.T) *release.State {
	return &release.State{
		Project: "hello", Version: manifest.MustParseVersion("1.2.0"), Tag: "v1.2.0",
		Commit: "4f9c2e0000000000000000000000000000000001", Date: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC),
		Root: t.TempDir(), Work: t.TempDir(), Log: slog.New(slog.DiscardHandler),
	}
}

// fakeBinary is a stand-in for hello at version for linux/amd64: a shell
// script that prints "hello <version> linux/amd64".
func fakeBinary(t *testing.T, version string) release.Binary {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hello")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho hello "+version+" linux/amd64\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return release.Binary{Name: "hello", Path: bin, Platform: manifest.Platform{OS: "linux", Arch: "amd64"}}
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

// stagedWithInstaller stages 1.2.0 (a stand-in binary for linux/amd64),
// signed, with install.sh rendered by release's installer stage, checked
// by its drift check, and a signed manifest, and returns the root (a
// release location the installer can read through file://).
func stagedWithInstaller(t *testing.T, signer sign.Signer) string {
	t.Helper()
	st := emptyState(t)
	st.Binaries = []release.Binary{fakeBinary(t, "1.2.0")}
	p := &release.Pipeline{Logger: testLogger(t), Stages: []release.Stage{
		&release.Package{}, release.Checksums{}, &release.Sign{Signers: []sign.Signer{signer}},
		&release.InstallScriptStage{Script: installsh.Script{BaseURL: "file://" + st.Root, Key: signer.PublicKey()}},
		&release.InstallerKeyCheck{Key: signer.PublicKey()},
		&release.UpdateManifest{}, &release.SignManifest{Signers: []sign.Signer{signer}},
	}}
	if err := p.Run(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	return st.Root
}

func TestInstallerScript(t *testing.T) {
	signer, _ := newSigner(t)
	root := stagedWithInstaller(t, signer)
	script := filepath.Join(root, installsh.File)
	for _, sh := range shells(t) {
		t.Run(sh.name, func(t *testing.T) {
			dir := t.TempDir()
			mustSh(t, sh, script, dir, nil, "v1.2.0") // explicit version, with a v
			checkVersion(t, filepath.Join(dir, "hello"), "1.2.0")

			dir = t.TempDir()
			mustSh(t, sh, script, dir, nil) // latest, from the signed manifest
			checkVersion(t, filepath.Join(dir, "hello"), "1.2.0")
		})
	}
}

func TestInstallerRefuses(t *testing.T) {
	signer, _ := newSigner(t)
	tests := []struct {
		name   string
		args   []string
		mangle func(t *testing.T, root string)
		want   string
	}{
		{"tampered archive", []string{"1.2.0"}, func(t *testing.T, root string) {
			os.WriteFile(filepath.Join(root, "1.2.0", "hello-1.2.0-linux-amd64.tar.gz"), []byte("not the archive"), 0o644)
		}, "checksum mismatch"},
		{"tampered SHA256SUMS", []string{"1.2.0"}, func(t *testing.T, root string) {
			f, _ := os.OpenFile(filepath.Join(root, "1.2.0", "SHA256SUMS"), os.O_APPEND|os.O_WRONLY, 0)
			f.WriteString(strings.Repeat("0", 64) + "  extra\n")
			f.Close()
		}, "bad signature on SHA256SUMS"},
		{"signed by another key", []string{"1.2.0"}, func(t *testing.T, root string) {
			other, _ := newSigner(t)
			os.Remove(filepath.Join(root, "1.2.0", "SHA256SUMS.sig"))
			os.Remove(filepath.Join(root, "1.2.0", manifest.SignaturesFile))
			if _, err := sign.SignFile(t.Context(), filepath.Join(root, "1.2.0"), "SHA256SUMS", other); err != nil {
				t.Fatal(err)
			}
		}, "bad signature"},
		{"tampered manifest", nil, func(t *testing.T, root string) {
			data, _ := os.ReadFile(filepath.Join(root, manifest.File))
			os.WriteFile(filepath.Join(root, manifest.File), []byte(strings.Replace(string(data), `"latest": "1.2.0"`, `"latest": "1.1.0"`, 1)), 0o644)
		}, "bad signature on manifest.json"},
		{"bad version", []string{"1.2.0/../x"}, func(t *testing.T, root string) {}, "bad version"},
		{"missing platform", []string{"1.2.0"}, func(t *testing.T, root string) {
			os.Remove(filepath.Join(root, "1.2.0", "hello-1.2.0-linux-amd64.tar.gz"))
		}, "download failed"},
	}
	shs := shells(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := stagedWithInstaller(t, signer)
			tc.mangle(t, root)
			for _, sh := range shs {
				dir := t.TempDir()
				refusedSh(t, sh, filepath.Join(root, installsh.File), dir, nil, tc.want, tc.args...)
				if entries, _ := os.ReadDir(dir); len(entries) != 0 {
					t.Errorf("%s: install dir not empty after a refusal: %v", sh.name, entries)
				}
			}
		})
	}
}

func TestInstallerDrift(t *testing.T) {
	signer, _ := newSigner(t)
	other, _ := newSigner(t)
	script, err := installsh.Script{Project: "hello", BaseURL: "https://example.com/hello", Key: signer.PublicKey()}.Render()
	if err != nil {
		t.Fatal(err)
	}
	if err := installsh.CheckKey("install.sh", script, signer.PublicKey()); err != nil {
		t.Fatalf("same key: %v", err)
	}
	err = installsh.CheckKey("install.sh", script, other.PublicKey())
	var de *installsh.KeyDriftError
	if !errors.Is(err, installsh.ErrKeyDrift) || !errors.As(err, &de) || de.Embedded == de.Signing {
		t.Fatalf("other key: err = %v, want *installsh.KeyDriftError", err)
	}
	if err := installsh.CheckKey("x.sh", []byte("#!/bin/sh\n"), signer.PublicKey()); !errors.Is(err, installsh.ErrKeyDrift) {
		t.Fatalf("no key: err = %v", err)
	}
	if err := installsh.CheckKey("install.sh", script, nil); !errors.Is(err, installsh.ErrNoKey) {
		t.Fatalf("nil key: err = %v", err)
	}

}

func TestInstallerKeyErrors(t *testing.T) {
	in := &installsh.Script{Project: "hello", BaseURL: "https://example.com/hello"}
	if _, err := in.Render(); !errors.Is(err, installsh.ErrNoKey) {
		t.Errorf("no key: err = %v", err)
	}
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	in.Key = pub
	if _, err := in.Render(); !errors.Is(err, installsh.ErrUnsupportedKey) {
		t.Errorf("ed25519: err = %v", err)
	}
	signer, _ := newSigner(t)
	for _, bad := range []*installsh.Script{
		{Project: "hello", BaseURL: "", Key: signer.PublicKey()},
		{Project: "hello", BaseURL: "https://x/'; rm -rf ~; '", Key: signer.PublicKey()},
		{Project: "hello", BaseURL: "https://x", Key: signer.PublicKey(), Binaries: []string{"../evil"}},
	} {
		var ce *installsh.ConfigError
		if _, err := bad.Render(); !errors.As(err, &ce) {
			t.Errorf("%+v: err = %v, want *ConfigError", bad, err)
		}
	}
}

// shRoot is a release root for the install.sh tests: small stand-in
// binaries (shell scripts that print "hello <version> linux/amd64"),
// packaged, checksummed and signed by the release stages, in a signed
// manifest whose signature is also at its content-addressed path
// sigs/manifest.json.<sha256>.sig.
type shRoot struct {
	t      *testing.T
	dir    string
	signer sign.Signer
}

func newShRoot(t *testing.T, signer sign.Signer, versions ...string) *shRoot {
	t.Helper()
	r := &shRoot{t: t, dir: t.TempDir(), signer: signer}
	for _, v := range versions {
		r.add(v)
	}
	return r
}

// add releases version into the root, on the stable channel.
func (r *shRoot) add(version string) {
	t := r.t
	t.Helper()
	st := emptyState(t)
	st.Root = r.dir
	st.Version, st.Tag = manifest.MustParseVersion(version), "v"+version
	st.Binaries = []release.Binary{fakeBinary(t, version)}
	var published *manifest.Manifest
	if m, err := manifest.LoadFile(filepath.Join(r.dir, manifest.File)); err == nil {
		published = m
	}
	p := &release.Pipeline{Logger: st.Log, Stages: []release.Stage{
		&release.Package{}, release.Checksums{}, &release.Sign{Signers: []sign.Signer{r.signer}},
		&release.UpdateManifest{Published: published}, &release.SignManifest{Signers: []sign.Signer{r.signer}},
	}}
	if err := p.Run(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	r.addressSig()
}

// rewrite changes manifest.json with edit and signs it again.
func (r *shRoot) rewrite(edit func(m *manifest.Manifest)) {
	t := r.t
	t.Helper()
	m, err := manifest.LoadFile(filepath.Join(r.dir, manifest.File))
	if err != nil {
		t.Fatal(err)
	}
	edit(m)
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	r.write(manifest.File, data)
	if _, err := sign.SignFile(t.Context(), r.dir, manifest.File, r.signer); err != nil {
		t.Fatal(err)
	}
	r.addressSig()
}

// manifestSum is the SHA-256 (hex) of manifest.json.
func (r *shRoot) manifestSum() string {
	data, err := os.ReadFile(filepath.Join(r.dir, manifest.File))
	if err != nil {
		r.t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// addressSig publishes manifest.json.sig at sigs/manifest.json.<H>.sig
// (and the signature set beside it), unless the publisher already did.
func (r *shRoot) addressSig() {
	r.t.Helper()
	h := r.manifestSum()
	for from, to := range map[string]string{
		manifest.File + ".sig":  manifest.SignaturePath(manifest.File, h),
		manifest.SignaturesFile: manifest.SignatureSetPath(manifest.File, h),
	} {
		if _, err := os.Stat(filepath.Join(r.dir, to)); err == nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join(r.dir, from))
		if err != nil {
			r.t.Fatal(err)
		}
		r.write(to, data)
	}
}

func (r *shRoot) write(name string, data []byte) {
	r.t.Helper()
	p := filepath.Join(r.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		r.t.Fatal(err)
	}
}

func (r *shRoot) read(name string) []byte {
	r.t.Helper()
	data, err := os.ReadFile(filepath.Join(r.dir, filepath.FromSlash(name)))
	if err != nil {
		r.t.Fatal(err)
	}
	return data
}

// shTransport is how a test serves the root to install.sh.
type shTransport string

const (
	viaFile shTransport = "file"
	viaHTTP shTransport = "http" // a 127.0.0.1 httptest server
)

var shTransports = []shTransport{viaFile, viaHTTP}

// script renders install.sh for the root as served by tr (wrapping the
// file server in wrap when it is not nil) and returns its path.
func (r *shRoot) script(tr shTransport, wrap func(http.Handler) http.Handler) string {
	t := r.t
	t.Helper()
	in := &installsh.Script{Project: "hello", Key: r.signer.PublicKey()}
	switch tr {
	case viaFile:
		in.BaseURL = "file://" + r.dir
	case viaHTTP:
		var h http.Handler = http.FileServer(http.Dir(r.dir))
		if wrap != nil {
			h = wrap(h)
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		in.BaseURL, in.AllowLoopbackHTTP = srv.URL, true
	}
	script, err := in.Render()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), installsh.File)
	if err := os.WriteFile(p, script, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// shell is one POSIX shell the installer is tested under.
type shell struct {
	name string
	argv []string // the command that runs a script file given next
	path string   // PATH for the script
}

// shells returns dash, bash and busybox sh. Under busybox sh the script
// also gets busybox's sed, awk, tar, mktemp, sha256sum... (only curl and
// openssl come from the host), as on Alpine.
func shells(t *testing.T) []shell {
	t.Helper()
	for _, tool := range []string{"curl", "openssl", "sha256sum", "tar"} {
		testenv.Tool(t, tool)
	}
	host := os.Getenv("PATH")
	bb := testenv.Tool(t, "busybox")
	out, err := exec.Command(bb, "--list").Output()
	if err != nil {
		t.Fatalf("busybox --list: %v", err)
	}
	bbDir := t.TempDir()
	for _, applet := range strings.Fields(string(out)) {
		if err := os.Symlink(bb, filepath.Join(bbDir, applet)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tool := range []string{"curl", "openssl"} {
		if err := os.Symlink(testenv.Tool(t, tool), filepath.Join(bbDir, tool)); err != nil {
			t.Fatal(err)
		}
	}
	return []shell{
		{"dash", []string{testenv.Tool(t, "dash")}, host},
		{"bash", []string{testenv.Tool(t, "bash")}, host},
		{"busybox", []string{bb, "sh"}, bbDir},
	}
}

// forShells runs f under every shell and transport.
func forShells(t *testing.T, trs []shTransport, f func(t *testing.T, sh shell, tr shTransport)) {
	for _, sh := range shells(t) {
		for _, tr := range trs {
			t.Run(sh.name+"/"+string(tr), func(t *testing.T) { f(t, sh, tr) })
		}
	}
}

// runSh runs script under sh with a clean environment, installing into
// dir for linux/amd64, and returns the combined output.
func runSh(t *testing.T, sh shell, script, dir string, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, sh.argv[0], append(append(sh.argv[1:], script), args...)...)
	home := t.TempDir()
	cmd.Dir = home
	cmd.Env = append([]string{"PATH=" + sh.path, "HOME=" + home, "TMPDIR=" + t.TempDir(),
		"HELLO_INSTALL_DIR=" + dir, "HELLO_OS=linux", "HELLO_ARCH=amd64"}, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustSh(t *testing.T, sh shell, script, dir string, env []string, args ...string) string {
	t.Helper()
	out, err := runSh(t, sh, script, dir, env, args...)
	if err != nil {
		t.Fatalf("install.sh %s under %s: %v\n%s", strings.Join(args, " "), sh.name, err, out)
	}
	return out
}

// refusedSh runs script and checks that it fails saying want, and that
// dir holds exactly what it held before.
func refusedSh(t *testing.T, sh shell, script, dir string, env []string, want string, args ...string) {
	t.Helper()
	before := dirState(t, dir)
	out, err := runSh(t, sh, script, dir, env, args...)
	if err == nil {
		t.Fatalf("install.sh %s under %s succeeded, want a refusal saying %q:\n%s", strings.Join(args, " "), sh.name, want, out)
	}
	if !strings.Contains(out, want) {
		t.Errorf("install.sh %s under %s: output does not say %q:\n%s", strings.Join(args, " "), sh.name, want, out)
	}
	if after := dirState(t, dir); after != before {
		t.Errorf("refusal changed %s:\nbefore %s\nafter  %s", dir, before, after)
	}
}

// dirState describes the files under dir (names, modes, sizes, content
// hashes, link targets), for checking that a refusal touched nothing.
func dirState(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			fmt.Fprintf(&b, "%s: %v; ", p, err)
			return nil
		}
		fi, _ := d.Info()
		fmt.Fprintf(&b, "%s %v %v", p, fi.Mode(), fi.ModTime().UnixNano())
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			fmt.Fprintf(&b, " -> %s", target)
		} else if fi.Mode().IsRegular() {
			data, _ := os.ReadFile(p)
			sum := sha256.Sum256(data)
			fmt.Fprintf(&b, " %x", sum[:8])
		}
		b.WriteString("; ")
		return nil
	})
	return b.String()
}

func TestInstallerScriptShells(t *testing.T) {
	signer, _ := newSigner(t)
	forShells(t, shTransports, func(t *testing.T, sh shell, tr shTransport) {
		r := newShRoot(t, signer, "1.2.0")
		script := r.script(tr, nil)
		dir := t.TempDir()
		mustSh(t, sh, script, dir, nil) // latest, from the signed manifest
		checkVersion(t, filepath.Join(dir, "hello"), "1.2.0")
		dir = t.TempDir()
		mustSh(t, sh, script, dir, nil, "v1.2.0") // an exact version, with a v
		checkVersion(t, filepath.Join(dir, "hello"), "1.2.0")
		if fi, err := os.Stat(filepath.Join(dir, "hello")); err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("installed binary: %v %v", fi, err)
		}
	})
}

func TestInstallerScriptChecksProject(t *testing.T) {
	signer, _ := newSigner(t)
	forShells(t, shTransports, func(t *testing.T, sh shell, tr shTransport) {
		// A sibling project's manifest, signed by the same key, served at
		// hello's location.
		r := newShRoot(t, signer, "1.2.0")
		r.rewrite(func(m *manifest.Manifest) { m.Project = "hello-tools" })
		script := r.script(tr, nil)
		refusedSh(t, sh, script, t.TempDir(), nil, `manifest.json is for project "hello-tools", not "hello"`)
		refusedSh(t, sh, script, t.TempDir(), nil, `manifest.json is for project "hello-tools", not "hello"`, "1.2.0")
	})
}

func TestInstallerScriptChecksExpiry(t *testing.T) {
	signer, _ := newSigner(t)
	forShells(t, shTransports, func(t *testing.T, sh shell, tr shTransport) {
		r := newShRoot(t, signer, "1.2.0")
		expired := time.Now().Add(-400 * 24 * time.Hour).UTC().Truncate(time.Second)
		r.rewrite(func(m *manifest.Manifest) { m.Updated, m.Expires = expired.Add(-90*24*time.Hour), expired })
		script := r.script(tr, nil)
		want := "manifest.json expired at " + expired.Format(time.RFC3339)
		refusedSh(t, sh, script, t.TempDir(), nil, want)
		refusedSh(t, sh, script, t.TempDir(), nil, want, "1.2.0")

		r.rewrite(func(m *manifest.Manifest) { m.Expires = time.Time{} })
		refusedSh(t, sh, script, t.TempDir(), nil, "manifest.json has no expiry")
	})
}

// TestInstallerScriptSelects: latest skips a yanked release, an exact
// yanked version is refused, an alias resolves, an unknown version is
// refused.
func TestInstallerScriptSelects(t *testing.T) {
	signer, _ := newSigner(t)
	forShells(t, []shTransport{viaFile}, func(t *testing.T, sh shell, tr shTransport) {
		r := newShRoot(t, signer, "1.1.0", "1.2.0", "2.0.0")
		r.rewrite(func(m *manifest.Manifest) {
			if _, err := m.Yank("2.0.0", "corrupts the config file"); err != nil {
				t.Fatal(err)
			}
		})
		script := r.script(tr, nil)
		dir := t.TempDir()
		mustSh(t, sh, script, dir, nil)
		checkVersion(t, filepath.Join(dir, "hello"), "1.2.0")
		refusedSh(t, sh, script, t.TempDir(), nil, "release 2.0.0 is yanked: corrupts the config file", "2.0.0")
		refusedSh(t, sh, script, t.TempDir(), nil, "no release 1.3.0 in manifest.json", "1.3.0")
		dir = t.TempDir()
		mustSh(t, sh, script, dir, nil, "1.1")
		checkVersion(t, filepath.Join(dir, "hello"), "1.1.0")
	})
}

func TestInstallerScriptRefusesDowngrade(t *testing.T) {
	signer, _ := newSigner(t)
	forShells(t, shTransports, func(t *testing.T, sh shell, tr shTransport) {
		r := newShRoot(t, signer, "1.9.0", "1.10.0")
		script := r.script(tr, nil)
		dir := t.TempDir()
		mustSh(t, sh, script, dir, nil) // latest: 1.10.0 (SemVer, not string, order)
		checkVersion(t, filepath.Join(dir, "hello"), "1.10.0")
		refusedSh(t, sh, script, dir, nil, "refusing to downgrade from 1.10.0 to 1.9.0", "1.9.0")
		checkVersion(t, filepath.Join(dir, "hello"), "1.10.0")

		mustSh(t, sh, script, dir, nil, "--allow-downgrade", "1.9.0")
		checkVersion(t, filepath.Join(dir, "hello"), "1.9.0")
		mustSh(t, sh, script, dir, nil) // an upgrade needs no flag
		checkVersion(t, filepath.Join(dir, "hello"), "1.10.0")
		mustSh(t, sh, script, dir, []string{"HELLO_ALLOW_DOWNGRADE=1"}, "1.9.0")
		checkVersion(t, filepath.Join(dir, "hello"), "1.9.0")

		// A binary replaced by other means since: the receipt no longer
		// describes it, so it does not stop the install.
		if err := os.WriteFile(filepath.Join(dir, "hello"), []byte("#!/bin/sh\necho hello 9.9.9 linux/amd64 other\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		mustSh(t, sh, script, dir, nil, "1.9.0")
		checkVersion(t, filepath.Join(dir, "hello"), "1.9.0")
	})
}

// TestInstallerScriptReceiptInterop: install.sh and package install read
// each other's receipt, so neither downgrades what the other installed.
func TestInstallerScriptReceiptInterop(t *testing.T) {
	signer, pub := newSigner(t)
	ring, err := verify.NewKeyRing(pub)
	if err != nil {
		t.Fatal(err)
	}
	sh := shells(t)[0]
	r := newShRoot(t, signer, "1.9.0", "1.10.0")
	script := r.script(viaFile, nil)
	dir := t.TempDir()
	in, err := install.New(install.Config{Project: "hello", Source: r.dir, Dir: dir, Trust: &verify.Trust{Keys: ring},
		Platform: manifest.Platform{OS: "linux", Arch: "amd64"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.Install(t.Context(), manifest.Query{Version: "1.10.0"}); err != nil {
		t.Fatal(err)
	}
	refusedSh(t, sh, script, dir, nil, "refusing to downgrade from 1.10.0 to 1.9.0", "1.9.0")

	dir = t.TempDir()
	mustSh(t, sh, script, dir, nil, "1.10.0")
	in, err = install.New(install.Config{Project: "hello", Source: r.dir, Dir: dir, Trust: &verify.Trust{Keys: ring},
		Platform: manifest.Platform{OS: "linux", Arch: "amd64"}})
	if err != nil {
		t.Fatal(err)
	}
	u, err := in.Check(t.Context(), manifest.Query{Version: "1.9.0"})
	if err != nil {
		t.Fatal(err)
	}
	if u.Installed != "1.10.0" || u.InstalledFrom != "receipt" || !u.Downgrade {
		t.Errorf("Check after install.sh: %+v", u)
	}
}

// TestInstallerScriptStateOfPackageInstall: install.sh respects what
// package install keeps in the state directory: it refuses to run over an
// interrupted install (whose journal the next Go run would undo, putting
// the old binaries back over the script's), and refuses a manifest older
// (by serial) than one package install has verified here.
func TestInstallerScriptStateOfPackageInstall(t *testing.T) {
	signer, pub := newSigner(t)
	ring, err := verify.NewKeyRing(pub)
	if err != nil {
		t.Fatal(err)
	}
	forShells(t, []shTransport{viaFile}, func(t *testing.T, sh shell, tr shTransport) {
		r := newShRoot(t, signer, "1.1.0")
		old := map[string][]byte{}
		for _, name := range []string{manifest.File, manifest.File + ".sig", "sigs/manifest.json." + r.manifestSum() + ".sig"} {
			old[name] = r.read(name)
		}
		r.add("1.2.0")
		script := r.script(tr, nil)

		dir := t.TempDir()
		in, err := install.New(install.Config{Project: "hello", Source: r.dir, Dir: dir, Trust: &verify.Trust{Keys: ring},
			Platform: manifest.Platform{OS: "linux", Arch: "amd64"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := in.Install(t.Context(), manifest.Query{}); err != nil {
			t.Fatal(err)
		}
		journal := filepath.Join(install.StateDir(dir, "hello"), "journal.json")
		if err := os.WriteFile(journal, []byte("{}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		refusedSh(t, sh, script, dir, nil, "interrupted install", "--allow-downgrade", "1.1.0")
		if err := os.Remove(journal); err != nil {
			t.Fatal(err)
		}

		// The 1.1.0 manifest (serial 1), genuine and unexpired, served
		// again after package install has seen serial 2.
		replay := newShRoot(t, signer)
		for name, data := range old {
			replay.write(name, data)
		}
		for _, name := range []string{"1.1.0/SHA256SUMS", "1.1.0/SHA256SUMS.sig", "1.1.0/hello-1.1.0-linux-amd64.tar.gz"} {
			replay.write(name, r.read(name))
		}
		refusedSh(t, sh, replay.script(tr, nil), dir, nil, "rolled back", "--allow-downgrade")
		// A machine that has not seen serial 2 takes it.
		fresh := t.TempDir()
		mustSh(t, sh, replay.script(tr, nil), fresh, nil)
		checkVersion(t, filepath.Join(fresh, "hello"), "1.1.0")
	})
}

func TestInstallerScriptTempFiles(t *testing.T) {
	signer, _ := newSigner(t)
	forShells(t, []shTransport{viaFile}, func(t *testing.T, sh shell, tr shTransport) {
		r := newShRoot(t, signer, "1.2.0")
		script := r.script(tr, nil)
		victim := filepath.Join(t.TempDir(), "victim")
		if err := os.WriteFile(victim, []byte("precious\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		checkVictim := func() {
			t.Helper()
			if data, err := os.ReadFile(victim); err != nil || string(data) != "precious\n" {
				t.Fatalf("victim = %q, %v: written through a symlink", data, err)
			}
		}
		// Symlinks planted at the old fixed temporary name and at names
		// like it are not written through.
		dir := t.TempDir()
		for _, name := range []string{".hello.new", ".hello.tmp", ".hello"} {
			if err := os.Symlink(victim, filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
		mustSh(t, sh, script, dir, nil)
		checkVictim()
		checkVersion(t, filepath.Join(dir, "hello"), "1.2.0")
		for _, name := range []string{".hello.new", ".hello.tmp", ".hello"} {
			if target, err := os.Readlink(filepath.Join(dir, name)); err != nil || target != victim {
				t.Errorf("planted %s: %q %v", name, target, err)
			}
		}

		// The binary itself a symlink: refused, nothing written through.
		dir = t.TempDir()
		if err := os.Symlink(victim, filepath.Join(dir, "hello")); err != nil {
			t.Fatal(err)
		}
		refusedSh(t, sh, script, dir, nil, "is a symbolic link")
		checkVictim()

		// A symlinked state directory (where the receipt goes): refused.
		dir = t.TempDir()
		outside := t.TempDir()
		if err := os.Symlink(outside, filepath.Join(dir, ".hello.relkit")); err != nil {
			t.Fatal(err)
		}
		refusedSh(t, sh, script, dir, nil, "is a symbolic link")
		if entries, _ := os.ReadDir(outside); len(entries) != 0 {
			t.Errorf("wrote through the symlinked state directory: %v", entries)
		}
	})
}

// TestInstallerScriptTruncated: a script cut at any line runs nothing (no
// command, no temporary file, no install), as when `curl | sh` loses the
// connection.
func TestInstallerScriptTruncated(t *testing.T) {
	signer, _ := newSigner(t)
	script, err := installsh.Script{Project: "hello", BaseURL: "https://releases.example.com/hello", Key: signer.PublicKey()}.Render()
	if err != nil {
		t.Fatal(err)
	}
	// Every command the script may run is a stub that logs its call.
	stubs := t.TempDir()
	log := filepath.Join(t.TempDir(), "calls")
	stub := "#!/bin/sh\nprintf '%s\\n' \"$0 $*\" >>" + log + "\nexit 1\n"
	for _, name := range []string{"curl", "openssl", "tar", "mktemp", "sha256sum", "shasum", "uname", "sed", "awk",
		"mkdir", "cp", "mv", "chmod", "rm", "cat", "head", "date", "find", "touch", "wc", "tr", "cut", "grep",
		"basename", "ln", "sort", "id", "env", "printf", "echo", "test", "["} {
		if err := os.WriteFile(filepath.Join(stubs, name), []byte(stub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.SplitAfter(string(script), "\n")
	for _, sh := range shells(t) {
		t.Run(sh.name, func(t *testing.T) {
			run := func(prefix string) (string, string) {
				os.Remove(log)
				tmp, home := t.TempDir(), t.TempDir()
				dir := filepath.Join(t.TempDir(), "bin")
				ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
				defer cancel()
				cmd := exec.CommandContext(ctx, sh.argv[0], append(sh.argv[1:], "-s", "--", "--allow-downgrade", "1.0.0")...)
				cmd.Stdin = strings.NewReader(prefix)
				cmd.Dir = home
				cmd.Env = []string{"PATH=" + stubs, "HOME=" + home, "TMPDIR=" + tmp, "HELLO_INSTALL_DIR=" + dir, "HELLO_OS=linux", "HELLO_ARCH=amd64"}
				out, _ := cmd.CombinedOutput()
				calls, _ := os.ReadFile(log)
				var made []string
				for _, d := range []string{tmp, home} {
					entries, _ := os.ReadDir(d)
					for _, e := range entries {
						made = append(made, filepath.Join(d, e.Name()))
					}
				}
				if _, err := os.Lstat(dir); err == nil {
					made = append(made, dir)
				}
				return string(calls) + strings.Join(made, " "), string(out)
			}
			// The whole script does run commands (the stubs work).
			if did, _ := run(string(script)); did == "" {
				t.Fatal("the whole script ran no command: the stubs do not catch it")
			}
			for i := range lines[:len(lines)-1] { // the last is "", after the final newline
				prefix := strings.Join(lines[:i], "")
				if did, out := run(prefix); did != "" {
					t.Fatalf("cut after line %d (%q), the script ran: %s\n%s", i, strings.TrimSpace(lines[max(i-1, 0)]), did, out)
				}
			}
			// Cut inside the line that calls main, at any byte: not even
			// main without its arguments runs.
			last := strings.LastIndex(strings.TrimSuffix(string(script), "\n"), "\n") + 1
			for n := last; n < len(script)-1; n++ {
				if did, out := run(string(script[:n])); did != "" {
					t.Fatalf("cut to %q, the script ran: %s\n%s", script[last:n], did, out)
				}
			}
		})
	}
}

func TestInstallerRenderNames(t *testing.T) {
	signer, _ := newSigner(t)
	key := signer.PublicKey()
	for _, tc := range []struct {
		project string
		in      installsh.Script
		field   string // "" means accepted
		env     string // the environment prefix the script uses
	}{
		{"hello", installsh.Script{}, "", "HELLO"},
		{"hello-world.cli", installsh.Script{}, "", "HELLO_WORLD_CLI"},
		{"7zip", installsh.Script{}, "Project", ""},
		{"7zip", installsh.Script{EnvPrefix: "SEVENZIP"}, "", "SEVENZIP"},
		{"hello", installsh.Script{EnvPrefix: "7Z"}, "EnvPrefix", ""},
		{"hello", installsh.Script{EnvPrefix: "A-B"}, "EnvPrefix", ""},
		{"-rf", installsh.Script{}, "Project", ""},
		{".hidden", installsh.Script{}, "Project", ""},
		{"_x", installsh.Script{}, "Project", ""},
		{"a b", installsh.Script{}, "Project", ""},
		{"a/b", installsh.Script{}, "Project", ""},
		{"", installsh.Script{}, "Project", ""},
		{"hello", installsh.Script{Binaries: []string{"hello", "-x"}}, "Binaries", ""},
		{"hello", installsh.Script{Binaries: []string{".."}}, "Binaries", ""},
		{"hello", installsh.Script{Binaries: []string{"hello", "hello"}}, "Binaries", ""},
		{"hello", installsh.Script{Binaries: []string{"hello", "hello-helper", "2fa"}}, "", "HELLO"},
	} {
		in := tc.in
		in.Project, in.BaseURL, in.Key = tc.project, "https://releases.example.com/x", key
		script, err := in.Render()
		var ce *installsh.ConfigError
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("Render(%q) with %+v: %v", tc.project, tc.in, err)
		case tc.field == "" && !strings.Contains(string(script), "${"+tc.env+"_VERSION:-"):
			t.Errorf("Render(%q): the script does not read %s_VERSION", tc.project, tc.env)
		case tc.field != "" && (!errors.As(err, &ce) || ce.Field != tc.field):
			t.Errorf("Render(%q) with %+v: err = %v, want a *ConfigError for %s", tc.project, tc.in, err, tc.field)
		}
	}
}

func TestInstallerRenderBaseURL(t *testing.T) {
	signer, _ := newSigner(t)
	for _, tc := range []struct {
		url       string
		allowHTTP bool
		ok        bool
	}{
		{"https://releases.example.com/hello", false, true},
		{"https://releases.example.com/hello/", false, true},
		{"file:///srv/releases/hello", false, true},
		{"http://releases.example.com/hello", false, false},
		{"http://releases.example.com/hello", true, false},
		{"http://127.0.0.1:8080/hello", false, false},
		{"http://127.0.0.1:8080/hello", true, true},
		{"http://127.9.8.7/hello", true, true},
		{"http://localhost:8080", true, true},
		{"http://[::1]:8080/hello", true, true},
		{"http://127.0.0.1.example.com/hello", true, false},
		{"http://10.0.0.1/hello", true, false},
		{"http://user@127.0.0.1/hello", true, false},
		{"HTTP://127.0.0.1/hello", true, false},
		{"ftp://releases.example.com/hello", false, false},
		{"https:///hello", false, false},
		{"releases.example.com/hello", false, false},
		{"https://releases.example.com/hello?x=1", false, false},
	} {
		in := &installsh.Script{Project: "hello", BaseURL: tc.url, AllowLoopbackHTTP: tc.allowHTTP, Key: signer.PublicKey()}
		_, err := in.Render()
		var ce *installsh.ConfigError
		if tc.ok && err != nil {
			t.Errorf("%s (allow http %v): %v", tc.url, tc.allowHTTP, err)
		}
		if !tc.ok && (!errors.As(err, &ce) || ce.Field != "BaseURL") {
			t.Errorf("%s (allow http %v): err = %v, want a *ConfigError for BaseURL", tc.url, tc.allowHTTP, err)
		}
	}
}

// TestInstallerScriptProtocols: the script's own policy matches Render's:
// plain http only to loopback and only when rendered with
// AllowLoopbackHTTP, checked before curl runs (a <PROJECT>_BASE_URL
// override included), and a redirect only to https.
func TestInstallerScriptProtocols(t *testing.T) {
	signer, _ := newSigner(t)
	forShells(t, []shTransport{viaHTTP}, func(t *testing.T, sh shell, tr shTransport) {
		r := newShRoot(t, signer, "1.2.0")
		httpScript := r.script(viaHTTP, nil)
		fileScript := r.script(viaFile, nil)
		srv := httptest.NewServer(http.FileServer(http.Dir(r.dir)))
		defer srv.Close()
		refusedSh(t, sh, fileScript, t.TempDir(), []string{"HELLO_BASE_URL=" + srv.URL}, "plain http")
		refusedSh(t, sh, httpScript, t.TempDir(), []string{"HELLO_BASE_URL=http://192.0.2.1/hello"}, "plain http")
		refusedSh(t, sh, httpScript, t.TempDir(), []string{"HELLO_BASE_URL=http://127.0.0.1.example.com/hello"}, "plain http")
		refusedSh(t, sh, httpScript, t.TempDir(), []string{"HELLO_BASE_URL=ftp://127.0.0.1/hello"}, "base URL")
		dir := t.TempDir()
		mustSh(t, sh, httpScript, dir, []string{"HELLO_BASE_URL=" + srv.URL + "/"})
		checkVersion(t, filepath.Join(dir, "hello"), "1.2.0")

		// A redirect from the loopback server to plain http is not followed.
		redir := r.script(viaHTTP, func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				if strings.HasSuffix(req.URL.Path, ".tar.gz") {
					http.Redirect(w, req, srv.URL+req.URL.Path, http.StatusFound)
					return
				}
				h.ServeHTTP(w, req)
			})
		})
		refusedSh(t, sh, redir, t.TempDir(), nil, "download failed")
	})
}

func TestInstallerShellcheck(t *testing.T) {
	shellcheck := testenv.Tool(t, "shellcheck")
	signer, _ := newSigner(t)
	for _, tc := range []struct {
		name    string
		project string
		in      installsh.Script
	}{
		{"https", "hello", installsh.Script{BaseURL: "https://releases.example.com/hello"}},
		{"loopback http", "hello", installsh.Script{BaseURL: "http://127.0.0.1:8080/hello", AllowLoopbackHTTP: true}},
		{"file, two binaries", "hello-world", installsh.Script{BaseURL: "file:///srv/hello", Binaries: []string{"hello", "hello-helper"}}},
		{"forge", "hello", installsh.Script{BaseURL: "https://github.com/example/hello", Forge: true}},
		{"forge on loopback", "hello", installsh.Script{BaseURL: "http://127.0.0.1:8080/example/hello", Forge: true, AllowLoopbackHTTP: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.Project, in.Key = tc.project, signer.PublicKey()
			script, err := in.Render()
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(t.TempDir(), installsh.File)
			if err := os.WriteFile(p, script, 0o755); err != nil {
				t.Fatal(err)
			}
			// Every severity down to style (info included), POSIX sh.
			out, err := exec.Command(shellcheck, "--severity=style", "--shell=sh", "--norc", p).CombinedOutput()
			if err != nil {
				t.Errorf("shellcheck: %v\n%s", err, out)
			}
		})
	}
}

// TestInstallerScriptReadsPublishedSigs: install.sh finds the
// content-addressed signature where package publish puts it: with the
// root's manifest.json.sig gone, it still installs.
func TestInstallerScriptReadsPublishedSigs(t *testing.T) {
	signer, _ := newSigner(t)
	r := newShRoot(t, signer, "1.2.0")
	if err := os.RemoveAll(filepath.Join(r.dir, manifest.SigsDir)); err != nil {
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
	if _, err := p.Publish(t.Context(), r.dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(pubDir, manifest.File+".sig")); err != nil {
		t.Fatal(err)
	}
	pub := &shRoot{t: t, dir: pubDir, signer: signer}
	if _, err := os.Stat(filepath.Join(pubDir, filepath.FromSlash(manifest.SignaturePath(manifest.File, pub.manifestSum())))); err != nil {
		t.Fatalf("the publisher wrote no content-addressed signature: %v", err)
	}
	for _, sh := range shells(t) {
		dir := t.TempDir()
		mustSh(t, sh, pub.script(viaFile, nil), dir, nil)
		checkVersion(t, filepath.Join(dir, "hello"), "1.2.0")
	}
}

// TestInstallerScriptSignatureLocation: the script reads the manifest's
// signature at its content-addressed path sigs/manifest.json.<sha256>.sig,
// and manifest.json.sig only when that is missing.
func TestInstallerScriptSignatureLocation(t *testing.T) {
	signer, _ := newSigner(t)
	other, _ := newSigner(t)
	forShells(t, shTransports, func(t *testing.T, sh shell, tr shTransport) {
		// The legacy signature lags one publish behind: it signs the
		// previous manifest. The content-addressed one is current.
		r := newShRoot(t, signer, "1.1.0")
		lagging := r.read(manifest.File + ".sig")
		r.add("1.2.0")
		r.write(manifest.File+".sig", lagging)
		dir := t.TempDir()
		mustSh(t, sh, r.script(tr, nil), dir, nil)
		checkVersion(t, filepath.Join(dir, "hello"), "1.2.0")

		// An old layout without sigs/: the legacy signature is used.
		r = newShRoot(t, signer, "1.2.0")
		if err := os.RemoveAll(filepath.Join(r.dir, "sigs")); err != nil {
			t.Fatal(err)
		}
		dir = t.TempDir()
		mustSh(t, sh, r.script(tr, nil), dir, nil)
		checkVersion(t, filepath.Join(dir, "hello"), "1.2.0")

		// A bad content-addressed signature is final: no fallback to a
		// good legacy one.
		r = newShRoot(t, signer, "1.2.0")
		sigPath := "sigs/manifest.json." + r.manifestSum() + ".sig"
		odir := t.TempDir()
		if err := os.WriteFile(filepath.Join(odir, manifest.File), r.read(manifest.File), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := sign.SignFile(t.Context(), odir, manifest.File, other); err != nil {
			t.Fatal(err)
		}
		otherSig, _ := os.ReadFile(filepath.Join(odir, manifest.File+".sig"))
		r.write(sigPath, otherSig)
		refusedSh(t, sh, r.script(tr, nil), t.TempDir(), nil, "bad signature on manifest.json")

		if tr == viaHTTP {
			// A server error on sigs/ is not a missing file: refused.
			r = newShRoot(t, signer, "1.2.0")
			script := r.script(tr, func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
					if strings.HasPrefix(req.URL.Path, "/sigs/") {
						http.Error(w, "busy", http.StatusServiceUnavailable)
						return
					}
					h.ServeHTTP(w, req)
				})
			})
			refusedSh(t, sh, script, t.TempDir(), nil, "download failed")
		}
	})
}

// TestInstallerVersionOrder: the script's version comparison (an awk
// program, for dash, bash and busybox alike) agrees with manifest.Compare.
func TestInstallerVersionOrder(t *testing.T) {
	vs := []string{"0.9.0", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
		"1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.0+build.7", "1.0.1", "1.2.9", "1.2.10", "1.9.0", "1.10.0",
		"1.0.0-9", "1.0.0-a", "1.0.0-alpha-2", "1.0.0-alpha-10", "1.0.0-A", "1.0.0-Z9",
		"2026.04", "2026.04.0", "2026.4.1", "2026.04-rc.1", "2026.10", "2026.9.0",
		"18446744073709551615.0.0", "18446744073709551614.9.9"}
	awks := map[string][]string{"awk": {testenv.Tool(t, "awk")}, "busybox awk": {testenv.Tool(t, "busybox"), "awk"}}
	for name, argv := range awks {
		t.Run(name, func(t *testing.T) {
			for _, a := range vs {
				var in strings.Builder
				for _, b := range vs {
					fmt.Fprintf(&in, "%s %s\n", a, b)
				}
				cmd := exec.Command(argv[0], append(argv[1:], installsh.VercmpAWK)...)
				cmd.Stdin = strings.NewReader(in.String())
				cmd.Env = []string{"LC_ALL=C"}
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				got := strings.Fields(string(out))
				if len(got) != len(vs) {
					t.Fatalf("%s: %d answers for %d pairs: %q", name, len(got), len(vs), out)
				}
				for i, b := range vs {
					va, errA := manifest.ParseVersion(a)
					vb, errB := manifest.ParseVersion(b)
					if errA != nil || errB != nil {
						t.Fatal(errA, errB)
					}
					if want := fmt.Sprint(manifest.Compare(va, vb)); got[i] != want {
						t.Errorf("%s: compare(%s, %s) = %s, want %s", name, a, b, got[i], want)
					}
				}
			}
		})
	}
}

// TestInstallerScriptFromForge: install.sh with Installer.Forge installs
// from a repository in the forge layout (the root in the relkit-index
// release, each version in its tag's release) through the public download
// URLs, which redirect to an asset host, under every shell (issue 13).
func TestInstallerScriptFromForge(t *testing.T) {
	signer, _ := newSigner(t)
	r := newShRoot(t, signer, "1.1.0", "1.2.0")
	gh := githubtest.NewServer(t)
	if err := gh.PublishLayout("acme", "hello", r.dir); err != nil {
		t.Fatal(err)
	}
	in := &installsh.Script{Project: "hello", Key: signer.PublicKey(), BaseURL: gh.URL + "/acme/hello", Forge: true, AllowLoopbackHTTP: true}
	script, err := in.Render()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), installsh.File)
	if err := os.WriteFile(p, script, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, sh := range shells(t) {
		dir := t.TempDir()
		mustSh(t, sh, p, dir, nil)
		checkVersion(t, filepath.Join(dir, "hello"), "1.2.0")
		dir = t.TempDir()
		mustSh(t, sh, p, dir, nil, "1.1.0")
		checkVersion(t, filepath.Join(dir, "hello"), "1.1.0")
	}
}

// writeIndex splits the root's manifest.json into the v2 index.json and
// shards, as a publish does, and signs the index at its content-addressed
// path.
func (r *shRoot) writeIndex() {
	t := r.t
	t.Helper()
	m, err := manifest.LoadFile(filepath.Join(r.dir, manifest.File))
	if err != nil {
		t.Fatal(err)
	}
	ix, shards, err := manifest.Split(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range shards {
		r.write(s.Path, s.Data)
	}
	data, err := ix.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	sig, err := r.signer.Sign(t.Context(), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	r.write(manifest.SignaturePath(manifest.IndexFile, hex.EncodeToString(sum[:])), verify.EncodeSignature(sig))
	r.write(manifest.IndexFile, data)
}

// TestInstallerScriptReadsTheIndex: at a release root with the v2
// index.json, the script installs the latest release from the index alone
// (never reading the whole manifest.json), reads manifest.json only for a
// version older than the index lists, and refuses an index whose
// signature is bad or missing instead of falling back.
func TestInstallerScriptReadsTheIndex(t *testing.T) {
	signer, _ := newSigner(t)
	other, _ := newSigner(t)
	r := newShRoot(t, signer, "0.1.0")
	r.rewrite(func(m *manifest.Manifest) {
		for i := range manifest.IndexHead + 8 {
			v := fmt.Sprintf("0.5.%d", i)
			name := "hello-" + v + "-linux-amd64.tar.gz"
			if _, err := m.Add(manifest.Release{Version: v, Tag: "v" + v, Date: m.Updated, Artifacts: []manifest.Artifact{{
				Name: name, Path: v + "/" + name, Kind: manifest.KindArchive, OS: "linux", Arch: "amd64", Size: 1, SHA256: strings.Repeat("0", 64)}}}); err != nil {
				t.Fatal(err)
			}
		}
	})
	r.add("1.0.0")
	r.writeIndex()
	forShells(t, []shTransport{viaHTTP}, func(t *testing.T, sh shell, tr shTransport) {
		var mu sync.Mutex
		var paths []string
		logged := func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				mu.Lock()
				paths = append(paths, req.URL.Path)
				mu.Unlock()
				h.ServeHTTP(w, req)
			})
		}
		script := r.script(tr, logged)
		dir := t.TempDir()
		mustSh(t, sh, script, dir, nil)
		checkVersion(t, filepath.Join(dir, "hello"), "1.0.0")
		mu.Lock()
		if slices.Contains(paths, "/"+manifest.File) || !slices.Contains(paths, "/"+manifest.IndexFile) {
			t.Errorf("latest: the script read %v (want index.json, not manifest.json)", paths)
		}
		paths = nil
		mu.Unlock()

		// 0.1.0 is in a shard: the script reads manifest.json for it.
		dir = t.TempDir()
		mustSh(t, sh, script, dir, nil, "0.1.0")
		checkVersion(t, filepath.Join(dir, "hello"), "0.1.0")
		mu.Lock()
		if !slices.Contains(paths, "/"+manifest.File) {
			t.Errorf("0.1.0: the script did not read manifest.json: %v", paths)
		}
		mu.Unlock()
	})
	forShells(t, []shTransport{viaFile}, func(t *testing.T, sh shell, tr shTransport) {
		// A bad signature on the index is final.
		data := r.read(manifest.IndexFile)
		sum := sha256.Sum256(data)
		sigPath := manifest.SignaturePath(manifest.IndexFile, hex.EncodeToString(sum[:]))
		good := r.read(sigPath)
		bad, err := other.Sign(t.Context(), bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		r.write(sigPath, verify.EncodeSignature(bad))
		refusedSh(t, sh, r.script(tr, nil), t.TempDir(), nil, "bad signature on index.json")
		// A missing one too.
		if err := os.Remove(filepath.Join(r.dir, filepath.FromSlash(sigPath))); err != nil {
			t.Fatal(err)
		}
		refusedSh(t, sh, r.script(tr, nil), t.TempDir(), nil, "index.json has no signature")
		r.write(sigPath, good)
	})
}
