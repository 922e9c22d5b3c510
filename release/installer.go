package release

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
)

// InstallerFile is the name of the installer script at the release root.
const InstallerFile = "install.sh"

var (
	// ErrNoSigningKey: a stage that needs the signing key (sign, the
	// installer, the drift check) was given none.
	ErrNoSigningKey = errors.New("no signing key")
	// ErrKeyDrift: the public key embedded in the installer script is not
	// the key the release is signed with (banger's drift check).
	ErrKeyDrift = errors.New("installer key differs from the signing key")
	// ErrUnsupportedKey: the key cannot be checked by `openssl dgst
	// -sha256 -verify` (the installer needs ECDSA or RSA PKCS#1 v1.5).
	ErrUnsupportedKey = errors.New("key type not supported by the installer")
)

// KeyDriftError reports an installer whose embedded key is not the
// signing key. It wraps ErrKeyDrift.
type KeyDriftError struct {
	// Script is the installer file checked.
	Script string
	// Embedded and Signing describe the two keys (type and SHA-256 of the
	// DER encoding, shortened), or say that the script has no key.
	Embedded, Signing string
}

// Error implements the error interface.
func (e *KeyDriftError) Error() string {
	return fmt.Sprintf("%s embeds key %s but the release is signed with %s: update the script and the signing key together", e.Script, e.Embedded, e.Signing)
}

// Unwrap returns ErrKeyDrift.
func (e *KeyDriftError) Unwrap() error { return ErrKeyDrift }

// Installer is the installer stage ("installer"): it renders a POSIX sh
// installer like banger's install.sh to <root>/install.sh (unversioned, so
// `curl -fsSL <base>/install.sh | sh` stays the same URL across releases).
//
// The script detects the platform (uname; <PROJECT>_OS and <PROJECT>_ARCH
// override it), resolves "latest" from manifest.json after checking
// manifest.json.sig, downloads <version>/SHA256SUMS and SHA256SUMS.sig and
// checks the signature with `openssl dgst -sha256 -verify` against the
// public key embedded in the script, downloads the archive and checks it
// with `sha256sum -c` (or `shasum -a 256 -c`), and installs the binaries
// into <PROJECT>_INSTALL_DIR (default $HOME/.local/bin), each replaced by a
// rename. The script does not name a version, so its bytes only change
// when the base URL, the binaries or the key change.
type Installer struct {
	// BaseURL is where the release root is served
	// ("https://releases.example.com/hello"); required. curl may use
	// https and file URLs.
	BaseURL string
	// Key is the public key of the release signing key: ECDSA or RSA
	// (PKCS#1 v1.5); required.
	Key crypto.PublicKey
	// Binaries are the files to install from the archive; empty means
	// State.Project.
	Binaries []string
}

// Name returns "installer".
func (i *Installer) Name() string { return "installer" }

var binaryNameRe = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// Run renders <root>/install.sh.
func (i *Installer) Run(ctx context.Context, st *State) error {
	script, err := i.Render(st.Project)
	if err != nil {
		return err
	}
	if st.Root == "" {
		return &ConfigError{Field: "State.Root", Reason: "not set"}
	}
	if err := os.MkdirAll(st.Root, 0o755); err != nil {
		return err
	}
	dst := filepath.Join(st.Root, InstallerFile)
	if _, err := writeAtomic(dst, 0o755, func(w io.Writer) error { _, err := w.Write(script); return err }); err != nil {
		return err
	}
	st.logger().Info("installer", "path", dst, "bytes", len(script))
	return nil
}

// Render returns the installer script for project.
func (i *Installer) Render(project string) ([]byte, error) {
	if i.BaseURL == "" {
		return nil, &ConfigError{Field: "Installer.BaseURL", Reason: "required"}
	}
	if strings.ContainsAny(i.BaseURL, "'\"`$\\ \n") {
		return nil, &ConfigError{Field: "Installer.BaseURL", Reason: fmt.Sprintf("%q contains characters a URL should not", i.BaseURL)}
	}
	if i.Key == nil {
		return nil, fmt.Errorf("installer: %w", ErrNoSigningKey)
	}
	if err := opensslCanVerify(i.Key); err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(i.Key)
	if err != nil {
		return nil, fmt.Errorf("installer: %w: %v", ErrUnsupportedKey, err)
	}
	bins := i.Binaries
	if len(bins) == 0 {
		bins = []string{project}
	}
	if !binaryNameRe.MatchString(project) {
		return nil, &ConfigError{Field: "State.Project", Reason: fmt.Sprintf("%q is not a plain name", project)}
	}
	for _, b := range bins {
		if !binaryNameRe.MatchString(b) {
			return nil, &ConfigError{Field: "Installer.Binaries", Reason: fmt.Sprintf("%q is not a plain file name", b)}
		}
	}
	env := strings.ToUpper(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(project, "_"))
	var b bytes.Buffer
	err = installerTemplate.Execute(&b, map[string]any{
		"Project":  project,
		"Env":      env,
		"BaseURL":  strings.TrimRight(i.BaseURL, "/"),
		"Binaries": strings.Join(bins, " "),
		"Key":      strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))),
	})
	if err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func opensslCanVerify(pub crypto.PublicKey) error {
	switch pub.(type) {
	case *ecdsa.PublicKey, *rsa.PublicKey:
		return nil
	}
	return fmt.Errorf("installer: %T: %w (use an ECDSA or RSA signing key, or a cosign key)", pub, ErrUnsupportedKey)
}

// EmbeddedKey returns the public key embedded in an installer script (the
// first "PUBLIC KEY" PEM block).
func EmbeddedKey(script []byte) (crypto.PublicKey, error) {
	i := bytes.Index(script, []byte("-----BEGIN PUBLIC KEY-----"))
	if i < 0 {
		return nil, errors.New("no PUBLIC KEY block")
	}
	block, _ := pem.Decode(script[i:])
	if block == nil {
		return nil, errors.New("malformed PUBLIC KEY block")
	}
	return x509.ParsePKIXPublicKey(block.Bytes)
}

// CheckInstallerKey is banger's drift check: it returns a *KeyDriftError
// unless the key embedded in the installer script is signing.
func CheckInstallerKey(name string, script []byte, signing crypto.PublicKey) error {
	if signing == nil {
		return fmt.Errorf("drift check of %s: %w", name, ErrNoSigningKey)
	}
	want, err := x509.MarshalPKIXPublicKey(signing)
	if err != nil {
		return fmt.Errorf("drift check of %s: signing key: %w", name, err)
	}
	embedded, err := EmbeddedKey(script)
	if err != nil {
		return &KeyDriftError{Script: name, Embedded: "none (" + err.Error() + ")", Signing: keyLabel(want)}
	}
	got, err := x509.MarshalPKIXPublicKey(embedded)
	if err != nil || !bytes.Equal(got, want) {
		return &KeyDriftError{Script: name, Embedded: keyLabel(got), Signing: keyLabel(want)}
	}
	return nil
}

func keyLabel(der []byte) string {
	if len(der) == 0 {
		return "none"
	}
	_, sum, _ := hashBytes(der)
	return "sha256:" + sum[:16]
}

// InstallerKeyCheck is the drift check stage ("installer-key"): it refuses
// to go on when the public key embedded in the installer script differs
// from the signing key. Run it before publishing.
type InstallerKeyCheck struct {
	// Script is the installer to check; empty means <root>/install.sh.
	// Point it at a script kept in the repository (banger's
	// scripts/install.sh) to check that copy too.
	Script string
	// Key is the signing key's public key; required.
	Key crypto.PublicKey
}

// Name returns "installer-key".
func (c *InstallerKeyCheck) Name() string { return "installer-key" }

// Run compares the keys.
func (c *InstallerKeyCheck) Run(ctx context.Context, st *State) error {
	name := c.Script
	if name == "" {
		name = filepath.Join(st.Root, InstallerFile)
	}
	script, err := readLimited(name)
	if err != nil {
		return err
	}
	if err := CheckInstallerKey(name, script, c.Key); err != nil {
		return err
	}
	st.Verified = append(st.Verified, "installer key matches the signing key ("+filepath.Base(name)+")")
	return nil
}

var installerTemplate = template.Must(template.New("install.sh").Parse(`#!/bin/sh
# Installer for {{.Project}}, generated by relkit. Do not edit by hand: the
# release pipeline refuses to publish when the public key below differs
# from the release signing key.
#
#   curl -fsSL {{.BaseURL}}/install.sh | sh
#   curl -fsSL {{.BaseURL}}/install.sh | sh -s -- 1.2.0
#
# Environment: {{.Env}}_VERSION, {{.Env}}_INSTALL_DIR (default $HOME/.local/bin),
# {{.Env}}_BASE_URL, {{.Env}}_OS, {{.Env}}_ARCH.
set -eu

base_url="${{"{"}}{{.Env}}_BASE_URL:-{{.BaseURL}}}"
version="${1:-${{"{"}}{{.Env}}_VERSION:-latest}}"
install_dir="${{"{"}}{{.Env}}_INSTALL_DIR:-${HOME}/.local/bin}"
binaries="{{.Binaries}}"

say() { printf '%s\n' "install.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is required"; }

need curl
need openssl
need tar
if command -v sha256sum >/dev/null 2>&1; then
	sha256_check() { sha256sum -c "$1"; }
elif command -v shasum >/dev/null 2>&1; then
	sha256_check() { shasum -a 256 -c "$1"; }
else
	die "sha256sum or shasum is required"
fi

os="${{"{"}}{{.Env}}_OS:-}"
if [ -z "$os" ]; then
	case "$(uname -s)" in
	Linux) os=linux ;;
	Darwin) os=darwin ;;
	FreeBSD) os=freebsd ;;
	*) die "unsupported operating system $(uname -s)" ;;
	esac
fi
arch="${{"{"}}{{.Env}}_ARCH:-}"
if [ -z "$arch" ]; then
	case "$(uname -m)" in
	x86_64 | amd64) arch=amd64 ;;
	aarch64 | arm64) arch=arm64 ;;
	*) die "unsupported architecture $(uname -m)" ;;
	esac
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT INT TERM

cat >"$tmp/key.pem" <<'RELKIT_PUBLIC_KEY'
{{.Key}}
RELKIT_PUBLIC_KEY

fetch() {
	curl --proto '=https,file' -fsSL -o "$2" "$1" || die "download failed: $1"
}

# verify FILE SIG: SIG is base64 of an ASN.1 DER signature (cosign sign-blob).
verify() {
	openssl base64 -d -A -in "$2" -out "$2.der" 2>/dev/null || die "$(basename "$2") is not base64"
	openssl dgst -sha256 -verify "$tmp/key.pem" -signature "$2.der" "$1" >/dev/null 2>&1 ||
		die "bad signature on $(basename "$1"): not signed by the {{.Project}} release key"
}

if [ "$version" = latest ]; then
	fetch "$base_url/manifest.json" "$tmp/manifest.json"
	fetch "$base_url/manifest.json.sig" "$tmp/manifest.json.sig"
	verify "$tmp/manifest.json" "$tmp/manifest.json.sig"
	version="$(sed -n 's/^ *"latest": *"\([^"]*\)".*/\1/p' "$tmp/manifest.json" | head -n 1)"
	[ -n "$version" ] || die "manifest.json names no latest release"
fi
version="${version#v}"
case "$version" in
'' | *[!0-9A-Za-z.+-]*) die "bad version: $version" ;;
esac

archive="{{.Project}}-$version-$os-$arch.tar.gz"
fetch "$base_url/$version/SHA256SUMS" "$tmp/SHA256SUMS"
fetch "$base_url/$version/SHA256SUMS.sig" "$tmp/SHA256SUMS.sig"
verify "$tmp/SHA256SUMS" "$tmp/SHA256SUMS.sig"
awk -v f="$archive" '$2 == f || $2 == "*" f' "$tmp/SHA256SUMS" >"$tmp/SHA256SUMS.one"
[ -s "$tmp/SHA256SUMS.one" ] || die "no $archive in release $version"
fetch "$base_url/$version/$archive" "$tmp/$archive"
(cd "$tmp" && sha256_check SHA256SUMS.one >/dev/null) || die "checksum mismatch for $archive"

mkdir "$tmp/x"
tar -xzf "$tmp/$archive" -C "$tmp/x" || die "cannot extract $archive"
mkdir -p "$install_dir"
for b in $binaries; do
	[ -f "$tmp/x/$b" ] && [ ! -L "$tmp/x/$b" ] || die "$b is missing from $archive"
	cp "$tmp/x/$b" "$install_dir/.$b.new"
	chmod 0755 "$install_dir/.$b.new"
	mv -f "$install_dir/.$b.new" "$install_dir/$b"
done
say "installed {{.Project}} $version ($os/$arch) into $install_dir"
`))
