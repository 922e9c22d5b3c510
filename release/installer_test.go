package release

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/internal/testenv"
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/sign"
)

// stagedWithInstaller stages the shared binaries at 1.2.0, signed, with
// install.sh and a signed manifest, and returns the root (a release
// location the installer can read through file://).
func stagedWithInstaller(t *testing.T, signer sign.Signer) string {
	t.Helper()
	st := stagedState(t)
	st.Binaries = onlyPlatform(st.Binaries, manifest.Platform{OS: "linux", Arch: "amd64"})
	p := &Pipeline{Logger: testLogger(t), Stages: []Stage{
		&Package{}, Checksums{}, &Sign{Signers: []sign.Signer{signer}},
		&Installer{BaseURL: "file://" + st.Root, Key: signer.PublicKey()},
		&InstallerKeyCheck{Key: signer.PublicKey()},
		&UpdateManifest{}, &SignManifest{Signers: []sign.Signer{signer}},
	}}
	if err := p.Run(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	return st.Root
}

func installerTools(t *testing.T) {
	for _, tool := range []string{"sh", "curl", "openssl", "sha256sum", "tar"} {
		testenv.Tool(t, tool)
	}
}

func TestInstallerScript(t *testing.T) {
	installerTools(t)
	signer, _ := newSigner(t)
	root := stagedWithInstaller(t, signer)

	dir := t.TempDir()
	runInstaller(t, root, dir, "v1.2.0") // explicit version, with a v
	checkVersion(t, filepath.Join(dir, "hello"), "1.2.0")

	dir = t.TempDir()
	runInstaller(t, root, dir) // latest, from the signed manifest
	checkVersion(t, filepath.Join(dir, "hello"), "1.2.0")
}

func TestInstallerRefuses(t *testing.T) {
	installerTools(t)
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
			os.Remove(filepath.Join(root, "1.2.0", SignaturesFile))
			if _, err := sign.SignFile(t.Context(), filepath.Join(root, "1.2.0"), "SHA256SUMS", other); err != nil {
				t.Fatal(err)
			}
		}, "bad signature"},
		{"tampered manifest", nil, func(t *testing.T, root string) {
			data, _ := os.ReadFile(filepath.Join(root, ManifestFile))
			os.WriteFile(filepath.Join(root, ManifestFile), []byte(strings.Replace(string(data), `"latest": "1.2.0"`, `"latest": "1.1.0"`, 1)), 0o644)
		}, "bad signature on manifest.json"},
		{"bad version", []string{"1.2.0/../x"}, func(t *testing.T, root string) {}, "bad version"},
		{"missing platform", []string{"1.2.0"}, func(t *testing.T, root string) {
			os.Remove(filepath.Join(root, "1.2.0", "hello-1.2.0-linux-amd64.tar.gz"))
		}, "download failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := stagedWithInstaller(t, signer)
			tc.mangle(t, root)
			dir := t.TempDir()
			out, err := installerCmd(t, root, dir, tc.args...).CombinedOutput()
			if err == nil {
				t.Fatalf("install.sh succeeded:\n%s", out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("output %q does not say %q", out, tc.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("install dir not empty after a refusal: %v", entries)
			}
		})
	}
}

func TestInstallerDrift(t *testing.T) {
	signer, _ := newSigner(t)
	other, _ := newSigner(t)
	script, err := (&Installer{BaseURL: "https://example.com/hello", Key: signer.PublicKey()}).Render("hello")
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckInstallerKey("install.sh", script, signer.PublicKey()); err != nil {
		t.Fatalf("same key: %v", err)
	}
	err = CheckInstallerKey("install.sh", script, other.PublicKey())
	var de *KeyDriftError
	if !errors.Is(err, ErrKeyDrift) || !errors.As(err, &de) || de.Embedded == de.Signing {
		t.Fatalf("other key: err = %v, want *KeyDriftError", err)
	}
	if err := CheckInstallerKey("x.sh", []byte("#!/bin/sh\n"), signer.PublicKey()); !errors.Is(err, ErrKeyDrift) {
		t.Fatalf("no key: err = %v", err)
	}
	if err := CheckInstallerKey("install.sh", script, nil); !errors.Is(err, ErrNoSigningKey) {
		t.Fatalf("nil key: err = %v", err)
	}

	// In the pipeline: an installer rendered with another key stops the
	// release before the manifest is written.
	st := lightState(t)
	p := &Pipeline{Logger: testLogger(t), Stages: []Stage{
		&Package{}, Checksums{}, &Sign{Signers: []sign.Signer{signer}},
		&Installer{BaseURL: "https://example.com/hello", Key: other.PublicKey()},
		&InstallerKeyCheck{Key: signer.PublicKey()},
		&UpdateManifest{},
	}}
	err = p.Run(t.Context(), st)
	var se *StageError
	if !errors.Is(err, ErrKeyDrift) || !errors.As(err, &se) || se.Stage != "installer-key" {
		t.Fatalf("err = %v, want a drift error from installer-key", err)
	}
	if _, err := os.Stat(filepath.Join(st.Root, ManifestFile)); err == nil {
		t.Error("manifest written after a drift")
	}
}

func TestInstallerKeyErrors(t *testing.T) {
	in := &Installer{BaseURL: "https://example.com/hello"}
	if _, err := in.Render("hello"); !errors.Is(err, ErrNoSigningKey) {
		t.Errorf("no key: err = %v", err)
	}
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	in.Key = pub
	if _, err := in.Render("hello"); !errors.Is(err, ErrUnsupportedKey) {
		t.Errorf("ed25519: err = %v", err)
	}
	signer, _ := newSigner(t)
	for _, bad := range []*Installer{
		{BaseURL: "", Key: signer.PublicKey()},
		{BaseURL: "https://x/'; rm -rf ~; '", Key: signer.PublicKey()},
		{BaseURL: "https://x", Key: signer.PublicKey(), Binaries: []string{"../evil"}},
	} {
		var ce *ConfigError
		if _, err := bad.Render("hello"); !errors.As(err, &ce) {
			t.Errorf("%+v: err = %v, want *ConfigError", bad, err)
		}
	}
}

func TestSignNeedsKey(t *testing.T) {
	st := lightState(t)
	p := &Pipeline{Logger: testLogger(t), Stages: []Stage{&Package{}, Checksums{}, &Sign{}}}
	if err := p.Run(t.Context(), st); !errors.Is(err, ErrNoSigningKey) {
		t.Fatalf("err = %v, want ErrNoSigningKey", err)
	}
	if err := (&SignManifest{}).Run(t.Context(), st); !errors.Is(err, ErrNoSigningKey) {
		t.Fatalf("sign-manifest: err = %v, want ErrNoSigningKey", err)
	}
	if err := (&VerifyStaged{}).Run(t.Context(), st); !errors.Is(err, ErrNoSigningKey) {
		t.Fatalf("verify-staged: err = %v, want ErrNoSigningKey", err)
	}
}
