// Package installsh renders install.sh, relkit's POSIX sh installer
// (banger's `curl -fsSL <base>/install.sh | sh`), and checks that the
// public key embedded in a script is the release signing key.
//
// It knows nothing of the release pipeline: package release's "installer"
// stage renders a [Script] to <root>/[File] with the release's project and
// signing key, and its "installer-key" stage runs [CheckKey] before the
// release is published.
//
// # What the script checks
//
// The script makes the checks of package install that a shell can make:
//
//   - it fetches the signed root: index.json (manifest v2, the newest
//     releases) when the release root has one, and manifest.json when it
//     has none or the version asked for is older than the index lists
//     (the script reads no shards); and its signature: the
//     content-addressed sigs/<file>.<sha256>.sig (the SHA-256 of the
//     file's bytes, lowercase hex), or, for manifest.json only,
//     manifest.json.sig when that is missing (HTTP 404, or no such file;
//     any other failure is final), and checks it with
//     `openssl dgst -sha256 -verify` against the public key embedded in the
//     script;
//   - the manifest must be the project's (its "project" field), must name
//     an expiry, and must not have expired;
//   - the version asked for ("latest" by default, an exact version, or
//     another rolling alias such as "1.2") must be a release in the
//     manifest that is not yanked;
//   - <version>/SHA256SUMS must carry a valid signature (SHA256SUMS.sig),
//     and the archive's SHA-256 must be the one both SHA256SUMS and the
//     manifest give (its size is capped at the manifest's);
//   - it refuses to replace a newer installed version (read from the
//     receipt that it and package install write,
//     <dir>/.<primary>.relkit/receipt.json) unless given
//     --allow-downgrade or <PROJECT>_ALLOW_DOWNGRADE=1;
//   - it respects package install's state directory: it refuses to run
//     while an interrupted install is pending there (journal.json), and
//     refuses a manifest whose serial is lower than the one package
//     install recorded (state.json). It does not record serials itself,
//     nor take package install's lock.
//
// It detects the platform (uname; <PROJECT>_OS and <PROJECT>_ARCH override
// it) and installs the binaries into <PROJECT>_INSTALL_DIR (default
// $HOME/.local/bin): each is copied into a private directory made by
// mktemp in the install directory, then renamed over the old one. A
// target that is a symbolic link, or a symlinked state directory, is
// refused. Then it writes the receipt, in package install's format.
//
// # How it is built
//
// The whole script is functions, and its last line calls main with the
// user's arguments and then a marker argument, so that a download cut
// short anywhere (even inside that line) runs nothing. Plain http is
// refused at render time and in the script, unless
// Script.AllowLoopbackHTTP is set and the host is a loopback address;
// curl follows redirects only to https. The script passes shellcheck at
// every severity and is tested under dash, bash and busybox sh. It does
// not name a version, so its bytes only change when the base URL, the
// binaries or the key change, and `curl -fsSL <base>/install.sh | sh`
// stays the same URL across releases.
//
// # Key drift
//
// A script embeds the public key it checks signatures with, so a rotated
// signing key leaves every copy of the script refusing the new releases.
// [CheckKey] (banger's drift check) returns a *[KeyDriftError] unless the
// script's key ([EmbeddedKey]) is the signing key; run it on the script a
// release ships and on any copy kept elsewhere (a repository's
// scripts/install.sh).
package installsh

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"text/template"

	"github.com/relkit/relkit/manifest"
)

// File is the name of the installer script at the release root.
const File = "install.sh"

var (
	// ErrNoKey: a key is missing: Script.Key to render, or the signing
	// key to check a script against.
	ErrNoKey = errors.New("no public key")
	// ErrKeyDrift: the public key embedded in the script is not the key
	// the release is signed with (banger's drift check).
	ErrKeyDrift = errors.New("installer key differs from the signing key")
	// ErrUnsupportedKey: the key cannot be checked by `openssl dgst
	// -sha256 -verify` (the script needs ECDSA or RSA PKCS#1 v1.5).
	ErrUnsupportedKey = errors.New("key type not supported by the installer")
)

// ConfigError reports a [Script] field that cannot be rendered: a bad base
// URL, project name, binary name or environment prefix.
type ConfigError struct {
	// Field is the Script field ("BaseURL", "Project", "Binaries",
	// "EnvPrefix").
	Field string
	// Reason says what is wrong with it.
	Reason string
}

// Error implements the error interface.
func (e *ConfigError) Error() string { return "install.sh: " + e.Field + ": " + e.Reason }

// KeyDriftError reports a script whose embedded key is not the signing
// key. It wraps [ErrKeyDrift].
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

// Script describes an install.sh: where the release root is served, the
// key its signatures are checked with and what to install. The zero value
// is not usable: Project, BaseURL and Key are required. See the package
// documentation for what the rendered script does.
type Script struct {
	// Project is the project name, as in the manifest; required. It must
	// be a plain name (letters, digits, '.', '_' and '-', starting with a
	// letter or digit). Package release's stage sets it to the release's
	// project when it is empty.
	Project string
	// BaseURL is where the release root is served
	// ("https://releases.example.com/hello"); required. It must be an
	// https:// URL with a host, or a file:/// URL, without user info,
	// query or fragment; see AllowLoopbackHTTP for plain http.
	BaseURL string
	// Forge says BaseURL is a forge repository's web URL
	// ("https://github.com/OWNER/REPO", a GitHub Enterprise or a
	// Gitea/Forgejo "https://HOST/OWNER/REPO") published in the forge
	// layout (docs/wire-format.md): the script then reads the root from
	// the index release (relkit-index) and each version's files from the
	// release of its tag, through the public download URLs.
	Forge bool
	// AllowLoopbackHTTP lets BaseURL (and the script's <PROJECT>_BASE_URL
	// override) be a plain http:// URL whose host is a loopback address:
	// 127.0.0.0/8 written as a dotted quad, localhost or [::1]. It is
	// for tests and local mirrors; signatures are checked all the same.
	AllowLoopbackHTTP bool
	// Key is the public key of the release signing key: ECDSA or RSA
	// (PKCS#1 v1.5); required. Package release's stage sets it to the
	// first signer's key when it is nil.
	Key crypto.PublicKey
	// Binaries are the files to install from the archive; empty means
	// Project. The first is the primary binary, whose receipt records
	// the install.
	Binaries []string
	// EnvPrefix is the prefix of the script's environment variables
	// (<EnvPrefix>_VERSION, ...); empty means the project name in upper
	// case with every run of other characters than letters and digits
	// mapped to "_" ("hello-cli" gives HELLO_CLI). It must be a shell
	// variable name; set it for a project whose name starts with a digit.
	EnvPrefix string
}

var (
	projectNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)
	binaryNameRe  = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$`)
	envPrefixRe   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
	envMapRe      = regexp.MustCompile(`[^A-Za-z0-9]+`)
)

// Render returns the script. A bad base URL, project name, binary name or
// environment prefix is a *[ConfigError] naming the field; a missing key
// wraps [ErrNoKey], a key openssl cannot check [ErrUnsupportedKey].
func (s Script) Render() ([]byte, error) {
	if err := checkURL(s.BaseURL, s.AllowLoopbackHTTP); err != nil {
		return nil, err
	}
	if s.Key == nil {
		return nil, fmt.Errorf("install.sh: Key: %w", ErrNoKey)
	}
	if err := opensslCanVerify(s.Key); err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(s.Key)
	if err != nil {
		return nil, fmt.Errorf("install.sh: %w: %v", ErrUnsupportedKey, err)
	}
	project := s.Project
	if !projectNameRe.MatchString(project) {
		return nil, &ConfigError{Field: "Project", Reason: fmt.Sprintf("%q is not a plain name (letters, digits, '.', '_' and '-', starting with a letter or digit)", project)}
	}
	bins := s.Binaries
	if len(bins) == 0 {
		bins = []string{project}
	}
	seen := map[string]bool{}
	for _, b := range bins {
		if !binaryNameRe.MatchString(b) {
			return nil, &ConfigError{Field: "Binaries", Reason: fmt.Sprintf("%q is not a plain file name (letters, digits, '.', '_' and '-', not starting with '.' or '-')", b)}
		}
		if seen[b] {
			return nil, &ConfigError{Field: "Binaries", Reason: fmt.Sprintf("%q is listed twice", b)}
		}
		seen[b] = true
	}
	env := s.EnvPrefix
	if env == "" {
		env = strings.ToUpper(envMapRe.ReplaceAllString(project, "_"))
		if !envPrefixRe.MatchString(env) {
			return nil, &ConfigError{Field: "Project", Reason: fmt.Sprintf("%q gives the environment prefix %q, which is not a shell variable name: set EnvPrefix", project, env)}
		}
	} else if !envPrefixRe.MatchString(env) {
		return nil, &ConfigError{Field: "EnvPrefix", Reason: fmt.Sprintf("%q is not a shell variable name", env)}
	}
	proto, protoRedir := "=https,file", "=https"
	if s.AllowLoopbackHTTP {
		proto = "=https,http,file"
		if s.Forge {
			// A forge on loopback (a test) redirects downloads to its
			// asset host, another loopback server.
			protoRedir = "=https,http"
		}
	}
	var b bytes.Buffer
	err = scriptTemplate.Execute(&b, map[string]any{
		"Project":    project,
		"Env":        env,
		"BaseURL":    strings.TrimRight(s.BaseURL, "/"),
		"AllowHTTP":  s.AllowLoopbackHTTP,
		"Proto":      proto,
		"ProtoRedir": protoRedir,
		"Forge":      s.Forge,
		"IndexTag":   manifest.IndexTag,
		"Binaries":   strings.Join(bins, " "),
		"Primary":    bins[0],
		"Key":        strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))),
		"Vercmp":     vercmpAWK,
		"MaxMeta":    manifest.MaxManifestSize,
	})
	if err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// checkURL accepts https URLs with a host, file:/// URLs, and, when
// allowHTTP is set, plain http URLs to a loopback host, all without user
// info, query or fragment, and in the characters the script's own check
// accepts (printable ASCII without quotes, backslash, backtick or $).
func checkURL(raw string, allowHTTP bool) error {
	bad := func(format string, args ...any) error {
		return &ConfigError{Field: "BaseURL", Reason: fmt.Sprintf("%q: ", raw) + fmt.Sprintf(format, args...)}
	}
	if raw == "" {
		return &ConfigError{Field: "BaseURL", Reason: "required"}
	}
	for _, r := range raw {
		if r <= ' ' || r > '~' || strings.ContainsRune("'\"`$\\", r) {
			return bad("contains characters a URL should not")
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("%v", err)
	}
	if !strings.HasPrefix(raw, u.Scheme+"://") {
		return bad("want an https:// or file:/// URL (lower-case scheme)")
	}
	if u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#") {
		return bad("user info, a query or a fragment cannot be a release root")
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" {
			return bad("no host")
		}
	case "file":
		if u.Host != "" || !strings.HasPrefix(u.Path, "/") {
			return bad("want file:///absolute/path")
		}
	case "http":
		if !allowHTTP {
			return bad("plain http: use https (or set AllowLoopbackHTTP for a loopback address)")
		}
		if !loopback(u.Hostname()) {
			return bad("plain http is allowed only to a loopback address (127.0.0.0/8, localhost, [::1])")
		}
	default:
		return bad("want an https:// or file:/// URL")
	}
	return nil
}

// loopback reports whether host is one the script's check takes as
// loopback: "localhost", "::1" (from "[::1]") or a dotted quad in
// 127.0.0.0/8.
func loopback(host string) bool {
	if host == "localhost" || host == "::1" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && !strings.Contains(host, ":") && ip.To4() != nil && ip.IsLoopback()
}

func opensslCanVerify(pub crypto.PublicKey) error {
	switch pub.(type) {
	case *ecdsa.PublicKey, *rsa.PublicKey:
		return nil
	}
	return fmt.Errorf("install.sh: %T: %w (use an ECDSA or RSA signing key, or a cosign key)", pub, ErrUnsupportedKey)
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

// CheckKey is banger's drift check: it returns a *[KeyDriftError] unless
// the key embedded in the script (named name in messages) is signing, and
// an error wrapping [ErrNoKey] when signing is nil.
func CheckKey(name string, script []byte, signing crypto.PublicKey) error {
	if signing == nil {
		return fmt.Errorf("drift check of %s: %w", name, ErrNoKey)
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
	sum := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(sum[:])[:16]
}

// vercmpAWK is the script's version comparison: for each input
// line "A B" it prints -1, 0 or 1 as A orders before, the same as, or after
// B by SemVer precedence, as [manifest.Compare] orders them (calendar
// versions as year.month.micro, build metadata ignored). It is POSIX awk
// without a single quote, for mawk, gawk and busybox awk alike; run it
// with LC_ALL=C.
const vercmpAWK = `
function num(x, y) {
	x = x ""; y = y ""
	sub(/^0+/, "", x); sub(/^0+/, "", y)
	if (length(x) != length(y)) return length(x) < length(y) ? -1 : 1
	if (x == y) return 0
	return x < y ? -1 : 1
}
function isnum(x) { return x ~ /^[0-9]+$/ }
function pre(a, b,   x, y, na, nb, i, c) {
	if (a == "" && b == "") return 0
	if (a == "") return 1
	if (b == "") return -1
	na = split(a, x, "."); nb = split(b, y, ".")
	for (i = 1; i <= na && i <= nb; i++) {
		if (isnum(x[i]) && isnum(y[i])) {
			c = num(x[i], y[i])
			if (c != 0) return c
			continue
		}
		if (isnum(x[i])) return -1
		if (isnum(y[i])) return 1
		if ((x[i] "") != (y[i] "")) return (x[i] "") < (y[i] "") ? -1 : 1
	}
	if (na == nb) return 0
	return na < nb ? -1 : 1
}
function cmp(a, b,   x, y, pa, pb, i, c) {
	a = a ""; b = b ""
	sub(/^v/, "", a); sub(/^v/, "", b)
	sub(/[+].*/, "", a); sub(/[+].*/, "", b)
	pa = ""; pb = ""
	i = index(a, "-"); if (i) { pa = substr(a, i + 1); a = substr(a, 1, i - 1) }
	i = index(b, "-"); if (i) { pb = substr(b, i + 1); b = substr(b, 1, i - 1) }
	split(a, x, "."); split(b, y, ".")
	for (i = 1; i <= 3; i++) {
		c = num(x[i], y[i])
		if (c != 0) return c
	}
	return pre(pa, pb)
}
{ print cmp($1, $2) }
`

func init() {
	if strings.Contains(vercmpAWK, "'") {
		panic("vercmpAWK must not contain a single quote")
	}
}

var scriptTemplate = template.Must(template.New("install.sh").Delims("[%", "%]").Parse(`#!/bin/sh
# Installer for [%.Project%], generated by relkit. Do not edit by hand: the
# release pipeline refuses to publish when the public key below differs
# from the release signing key.
#
#   curl -fsSL [%.BaseURL%][%if .Forge%]/releases/download/[%.IndexTag%][%end%]/install.sh | sh
#   curl -fsSL [%.BaseURL%][%if .Forge%]/releases/download/[%.IndexTag%][%end%]/install.sh | sh -s -- 1.2.0
#   curl -fsSL [%.BaseURL%][%if .Forge%]/releases/download/[%.IndexTag%][%end%]/install.sh | sh -s -- --allow-downgrade 1.1.0
#
# It checks the signature of manifest.json (with the key below), that the
# manifest is [%.Project%]'s and has not expired, that the release is listed and
# not yanked, the signature of the release's SHA256SUMS, the archive's
# SHA-256 (as both give it), and that it does not downgrade the installed
# version unless asked to, nor run over an interrupted install, nor take a
# manifest older than one verified here before.
#
# Environment: [%.Env%]_VERSION, [%.Env%]_INSTALL_DIR (default $HOME/.local/bin),
# [%.Env%]_BASE_URL, [%.Env%]_OS, [%.Env%]_ARCH, [%.Env%]_ALLOW_DOWNGRADE=1.
#
# The script is functions only, and its last line calls main with a last
# argument that says it is complete: a download cut short runs nothing.

say() {
	printf '%s\n' "install.sh: $*" >&2
}

die() {
	say "error: $*"
	exit 1
}

need() {
	command -v "$1" >/dev/null 2>&1 || die "$1 is required"
}

usage() {
	say "usage: install.sh [--allow-downgrade] [VERSION]"
	say "VERSION is latest (the default), an exact version, or an alias such as 1.2."
}

cleanup() {
	if [ -n "${stage:-}" ]; then
		rm -rf "$stage"
	fi
	if [ -n "${tmp:-}" ]; then
		rm -rf "$tmp"
	fi
}

# check_base_url URL: https:// and file:/// only[%if .AllowHTTP%], and http:// to loopback[%end%].
check_base_url() {
	case "$1" in
	'' | *[!!-~]* | *[\"\\\$\']*) die "base URL $1 has characters a URL should not" ;;
	esac
	case "$1" in
	https://?* | file:///*) ;;
[%- if .AllowHTTP%]
	http://*) check_loopback "$1" ;;
[%- else%]
	http://*) die "$1: plain http is not allowed: use https" ;;
[%- end%]
	*) die "base URL $1 is not an https:// or file:/// URL" ;;
	esac
}
[%- if .AllowHTTP%]

# check_loopback URL: the host of the http URL is 127.x.y.z, localhost or [::1].
check_loopback() {
	hostport="${1#http://}"
	hostport="${hostport%%/*}"
	case "$hostport" in
	localhost | localhost:*)
		port="${hostport#localhost}"
		;;
	"[::1]" | "[::1]:"*)
		port="${hostport#"[::1]"}"
		;;
	127.*)
		host="${hostport%%:*}"
		port="${hostport#"$host"}"
		if ! printf '%s\n' "$host" | awk -F. 'NF != 4 { exit 1 } { for (i = 1; i <= 4; i++) if ($i !~ /^[0-9]+$/ || length($i) > 3 || $i + 0 > 255) exit 1 }'; then
			die "$1: plain http is allowed only to loopback (127.0.0.0/8, localhost, [::1])"
		fi
		;;
	*)
		die "$1: plain http is allowed only to loopback (127.0.0.0/8, localhost, [::1])"
		;;
	esac
	case "$port" in
	'' | :[0-9]*) ;;
	*) die "$1: plain http is allowed only to loopback (127.0.0.0/8, localhost, [::1])" ;;
	esac
	case "${port#:}" in
	*[!0-9]*) die "$1: bad port" ;;
	esac
}
[%- end%]

# curl_get URL FILE MAXBYTES: downloads URL into FILE; returns curl's exit
# status and leaves the HTTP status in http_code. Redirects go to https only.
curl_get() {
	http_code=$(curl --proto '[%.Proto%]' --proto-redir '[%.ProtoRedir%]' --tlsv1.2 --fail --silent --show-error \
		--location --max-redirs 5 --connect-timeout 30 --speed-limit 1024 --speed-time 60 \
		--max-filesize "$3" --write-out '%{http_code}' --output "$2" "$1" 2>"$tmp/curl.err")
}

# root_url NAME: the URL of NAME at the release root ([%if .Forge%]the forge's
# index release: the file's base name, root signatures.json renamed[%else%]base_url/NAME[%end%]).
root_url() {
[%- if .Forge%]
	case "$1" in
	signatures.json) printf '%s/releases/download/[%.IndexTag%]/root.signatures.json\n' "$base_url" ;;
	*) printf '%s/releases/download/[%.IndexTag%]/%s\n' "$base_url" "${1##*/}" ;;
	esac
[%- else%]
	printf '%s/%s\n' "$base_url" "$1"
[%- end%]
}

# version_url VERSION TAG NAME: the URL of a version's file ([%if .Forge%]the
# asset NAME of the release TAG[%else%]base_url/VERSION/NAME[%end%]).
version_url() {
[%- if .Forge%]
	printf '%s/releases/download/%s/%s\n' "$base_url" "$2" "$3"
[%- else%]
	printf '%s/%s/%s\n' "$base_url" "$1" "$3"
[%- end%]
}

# fetch URL FILE [MAXBYTES]: downloads URL into FILE, or dies.
fetch() {
	rc=0
	curl_get "$1" "$2" "${3:-[%.MaxMeta%]}" || rc=$?
	if [ "$rc" -ne 0 ]; then
		die "download failed: $1: $(cat "$tmp/curl.err")"
	fi
}

# fetch_if_present URL FILE: downloads URL into FILE; returns 1 when URL
# is missing (HTTP 404, or no such file), and dies on any other failure.
fetch_if_present() {
	rc=0
	curl_get "$1" "$2" [%.MaxMeta%] || rc=$?
	case "$rc:$http_code" in
	0:*) return 0 ;;
	22:404 | 37:*)
		rm -f "$2"
		return 1
		;;
	esac
	die "download failed: $1: $(cat "$tmp/curl.err")"
}

# sha256_of FILE: sets sum to the SHA-256 of FILE (lowercase hex).
sha256_of() {
	if [ "$sha_tool" = sha256sum ]; then
		sum=$(sha256sum "$1") || die "cannot hash $1"
	else
		sum=$(shasum -a 256 "$1") || die "cannot hash $1"
	fi
	sum="${sum%% *}"
	case "$sum" in
	'' | *[!0-9a-f]*) die "cannot hash $1" ;;
	esac
	if [ "${#sum}" -ne 64 ]; then
		die "cannot hash $1"
	fi
}

# verify_sig FILE SIG: SIG is base64 of an ASN.1 DER signature (cosign sign-blob).
verify_sig() {
	openssl base64 -d -A -in "$2" -out "$2.der" 2>/dev/null || die "${2##*/} is not base64"
	openssl dgst -sha256 -verify "$tmp/key.pem" -signature "$2.der" "$1" >/dev/null 2>&1 ||
		die "bad signature on ${1##*/}: not signed by the [%.Project%] release key"
}

# json_top FILE KEY: prints the value (a string without its quotes, or a
# number) of the top-level KEY of a JSON file indented as relkit writes it;
# fails unless there is one.
json_top() {
	awk -v k="$2" 'index($0, "  \"" k "\": ") == 1 { v = substr($0, length(k) + 7); sub(/,$/, "", v); if (v ~ /^".*"$/) v = substr(v, 2, length(v) - 2); print v; n++ } END { exit n != 1 }' "$1"
}

# seen_serial: prints the manifest serial package install has recorded for
# [%.Project%] in the state directory (0 when none).
seen_serial() {
	if [ ! -f "$state_dir/state.json" ] || [ -L "$state_dir/state.json" ]; then
		echo 0
		return 0
	fi
	awk 'index($0, "    \"manifest.json:[%.Project%]\": ") == 1 { v = substr($0, length("manifest.json:[%.Project%]") + 9); sub(/,$/, "", v); print v; n++ } END { if (!n) print 0 }' "$state_dir/state.json"
}

# manifest_alias NAME: prints the version the rolling alias NAME points at
# in the signed root file read last ($meta).
manifest_alias() {
	awk -v k="$1" '/^  "aliases": [{]/ { a = 1; next } a && /^  [}]/ { a = 0 } a && index($0, "    \"" k "\": \"") == 1 { v = substr($0, length(k) + 10); sub(/",?$/, "", v); print v; n++ } END { exit n != 1 }' "$meta"
}

# manifest_release VERSION FILE: prints "status S", "reason R", and the
# "sha256 H" and "size N" of the artifact FILE of release VERSION; fails
# unless the signed root file read last ($meta) lists VERSION once.
manifest_release() {
	awk -v want="$1" -v file="$2" '
	function val(s) { s = substr(s, index(s, ": ") + 2); sub(/,$/, "", s); sub(/^"/, "", s); sub(/"$/, "", s); return s }
	/^  "releases": \[/ { rel = 1; next }
	/^  \]/ { rel = 0 }
	!rel { next }
	/^    [{]/ { ver = ""; art = ""; next }
	/^      "version": / { ver = val($0); if (ver == want) found++; next }
	ver != want { next }
	/^      "status": / { print "status " val($0); next }
	/^      "reason": / { print "reason " val($0); next }
	/^      "tag": / { print "tag " val($0); next }
	/^        [{]/ { art = ""; next }
	/^          "name": / { art = val($0); next }
	art == file && /^          "sha256": / { print "sha256 " val($0); next }
	art == file && /^          "size": / { print "size " val($0); next }
	END { exit found != 1 }' "$meta"
}

# check_root NAME: checks the signed root file $tmp/NAME (index.json or
# manifest.json) and makes it the one read ($meta): its signature (at its
# content-addressed path sigs/NAME.<sha256>.sig; for manifest.json also the
# legacy manifest.json.sig of a release root without sigs/), project,
# expiry, and a serial not lower than package install verified ($seen).
check_root() {
	meta="$tmp/$1"
	meta_name="$1"
	sha256_of "$meta"
	if ! fetch_if_present "$(root_url "sigs/$1.$sum.sig")" "$meta.sig"; then
		[ "$1" = manifest.json ] || die "$1 has no signature at sigs/$1.$sum.sig"
		fetch "$(root_url manifest.json.sig)" "$meta.sig"
	fi
	verify_sig "$meta" "$meta.sig"
	project=$(json_top "$meta" project) || die "$1 names no project"
	if [ "$project" != [%.Project%] ]; then
		die "$1 is for project \"$project\", not \"[%.Project%]\": refusing another project's release"
	fi
	expires=$(json_top "$meta" expires) || die "$1 has no expiry (a signed manifest must expire)"
	case "$expires" in
	[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z) ;;
	[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].*Z) ;;
	*) die "$1: cannot read its expiry $expires" ;;
	esac
	exp=$(printf '%s\n' "$expires" | cut -c1-19 | tr -d 'T:-')
	if [ "$exp" -le "$now" ]; then
		die "$1 expired at $expires (now $now_iso): refusing a stale manifest"
	fi
	serial=$(json_top "$meta" serial) || die "$1 has no serial"
	case "$serial$seen" in
	'' | *[!0-9]*) die "cannot read the manifest serials ($serial, $seen)" ;;
	*) ;;
	esac
	if [ "$serial" -lt "$seen" ]; then
		die "$1 has serial $serial, older than serial $seen verified here before: refusing a manifest rolled back"
	fi
}

# pick_release: resolves $version (an exact version, or a rolling alias
# such as latest or 1.2) in the root file read last, and sets archive and
# info (see manifest_release); fails when that file does not list it.
pick_release() {
	picked="$version"
	if [ "$picked" = latest ] || ! manifest_release "$picked" "" >/dev/null; then
		picked=$(manifest_alias "$version") || return 1
	fi
	archive="[%.Project%]-$picked-$os-$arch.tar.gz"
	info=$(manifest_release "$picked" "$archive") || return 1
	version="$picked"
}

# field NAME INFO: the value of the line "NAME value" in INFO.
field() {
	printf '%s\n' "$2" | sed -n "s/^$1 //p"
}

# vercmp A B: prints -1, 0 or 1 as A is older than, the same as, or newer than B.
vercmp() {
	printf '%s %s\n' "$1" "$2" | awk '[%.Vercmp%]'
}

# read_receipt: sets installed to the version the receipt records, when the
# receipt still describes the installed primary binary (same size, and not
# modified after the receipt was written).
read_receipt() {
	installed=""
	r_bin="$install_dir/[%.Primary%]"
	if [ ! -f "$receipt" ] || [ ! -f "$r_bin" ] || [ -L "$r_bin" ]; then
		return 0
	fi
	r_project=$(json_top "$receipt" project) || r_project=""
	r_version=$(json_top "$receipt" version) || r_version=""
	r_name=$(awk 'index($0, "      \"name\": \"") == 1 { v = substr($0, 16); sub(/",?$/, "", v); print v; exit }' "$receipt")
	r_size=$(awk 'index($0, "      \"size\": ") == 1 { v = substr($0, 15); sub(/,$/, "", v); print v; exit }' "$receipt")
	r_have=$(wc -c <"$r_bin" | tr -d ' ')
	if [ "$r_project" != [%.Project%] ] || [ "$r_name" != [%.Primary%] ] || [ "$r_size" != "$r_have" ]; then
		say "ignoring the receipt ($r_version): [%.Primary%] was changed since"
		return 0
	fi
	if [ -n "$(find "$r_bin" -newer "$receipt")" ]; then
		say "ignoring the receipt ($r_version): [%.Primary%] was changed since"
		return 0
	fi
	case "$r_version" in
	'' | *[!0-9A-Za-z.+-]*) say "ignoring the receipt: bad version $r_version" ;;
	*) installed="$r_version" ;;
	esac
}

# write_receipt: records the install as package install does.
write_receipt() {
	if [ ! -d "$state_dir" ]; then
		mkdir "$state_dir" || return 1
	fi
	if [ -L "$state_dir" ]; then
		return 1
	fi
	rtmp=$(mktemp "$state_dir/.receipt.XXXXXX") || return 1
	{
		printf '{\n'
		printf '  "schema": "relkit.receipt/v1",\n'
		printf '  "project": "%s",\n' [%.Project%]
		printf '  "version": "%s",\n' "$version"
		printf '  "source": "%s",\n' "$base_url"
		printf '  "artifact": "%s",\n' "$version/$archive"
		printf '  "sha256": "%s",\n' "$want_sum"
		printf '  "platform": "%s",\n' "$os/$arch"
		printf '  "installed": "%s",\n' "$now_iso"
		printf '  "binaries": ['
		sep=""
		for b in $binaries; do
			w_size=$(wc -c <"$install_dir/$b" | tr -d ' ')
			printf '%s\n    {\n      "name": "%s",\n      "size": %s,\n      "mtime": "%s"\n    }' "$sep" "$b" "$w_size" "$now_iso"
			sep=","
		done
		printf '\n  ]\n}\n'
	} >"$rtmp" || return 1
	chmod 0644 "$rtmp" || return 1
	mv -f "$rtmp" "$receipt"
}

main() {
	set -eu
	LC_ALL=C
	export LC_ALL
	umask 022
	binaries="[%.Binaries%]"
	allow_downgrade="${[%.Env%]_ALLOW_DOWNGRADE:-}"
	version="${[%.Env%]_VERSION:-}"
	complete=""
	while [ "$#" -gt 0 ]; do
		case "$1" in
		--relkit-script-complete)
			# The last word of the script's last line, after the user's
			# arguments: without it the script was cut short.
			if [ "$#" -ne 1 ]; then
				die "unexpected $1"
			fi
			complete=1
			;;
		--allow-downgrade) allow_downgrade=1 ;;
		-h | --help)
			usage
			return 0
			;;
		--) ;;
		-*) die "unknown option $1 (try --help)" ;;
		*) version="$1" ;;
		esac
		shift
	done
	if [ -z "$complete" ]; then
		die "this script is incomplete (cut short while downloading?): nothing was done"
	fi
	version="${version:-latest}"
	version="${version#v}"
	case "$version" in
	'' | *[!0-9A-Za-z.+-]*) die "bad version: $version" ;;
	esac
	case "$allow_downgrade" in
	'' | 0) allow_downgrade="" ;;
	*) allow_downgrade=1 ;;
	esac

	need curl
	need openssl
	need tar
	need awk
	need sed
	need mktemp
	if command -v sha256sum >/dev/null 2>&1; then
		sha_tool=sha256sum
	elif command -v shasum >/dev/null 2>&1; then
		sha_tool=shasum
	else
		die "sha256sum or shasum is required"
	fi

	base_url="${[%.Env%]_BASE_URL:-[%.BaseURL%]}"
	base_url="${base_url%/}"
	check_base_url "$base_url"
	install_dir="${[%.Env%]_INSTALL_DIR:-${HOME}/.local/bin}"
	state_dir="$install_dir/.[%.Primary%].relkit"
	receipt="$state_dir/receipt.json"

	os="${[%.Env%]_OS:-}"
	if [ -z "$os" ]; then
		case "$(uname -s)" in
		Linux) os=linux ;;
		Darwin) os=darwin ;;
		FreeBSD) os=freebsd ;;
		*) die "unsupported operating system $(uname -s)" ;;
		esac
	fi
	arch="${[%.Env%]_ARCH:-}"
	if [ -z "$arch" ]; then
		case "$(uname -m)" in
		x86_64 | amd64) arch=amd64 ;;
		aarch64 | arm64) arch=arm64 ;;
		*) die "unsupported architecture $(uname -m)" ;;
		esac
	fi
	case "$os$arch" in
	*[!a-z0-9]*) die "bad platform $os/$arch" ;;
	esac

	now=$(date -u +%Y%m%d%H%M%S)
	case "$now" in
	[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]) ;;
	*) die "cannot read the clock: $now" ;;
	esac
	now_iso=$(printf '%s\n' "$now" | sed 's/^\(....\)\(..\)\(..\)\(..\)\(..\)\(..\)$/\1-\2-\3T\4:\5:\6Z/')
	stamp=$(printf '%s\n' "$now" | sed 's/\(..\)$/.\1/')

	stage=""
	tmp=$(mktemp -d)
	trap cleanup EXIT
	trap 'exit 1' HUP INT TERM

	cat >"$tmp/key.pem" <<'RELKIT_PUBLIC_KEY'
[%.Key%]
RELKIT_PUBLIC_KEY

	# The state directory package install keeps: no symlinks, no install
	# of its left half done, no manifest older than one it has verified.
	for d in "$state_dir" "$receipt" "$state_dir/state.json"; do
		if [ -L "$d" ]; then
			die "$d is a symbolic link: refusing to write through it"
		fi
	done
	if [ -e "$state_dir" ] && [ ! -d "$state_dir" ]; then
		die "$state_dir is not a directory"
	fi
	if [ -e "$state_dir/journal.json" ]; then
		die "an interrupted install is pending in $state_dir (journal.json): run [%.Primary%]'s own update once to finish or undo it, then run install.sh again"
	fi
	seen=$(seen_serial)

	# The signed root: index.json (manifest v2: the newest releases, a few
	# KB whatever the history) when the release root has one, and the
	# whole manifest.json when it has none or when the release asked for
	# is older than the index lists.
	if fetch_if_present "$(root_url index.json)" "$tmp/index.json"; then
		check_root index.json
		if ! pick_release; then
			fetch "$(root_url manifest.json)" "$tmp/manifest.json"
			check_root manifest.json
			pick_release || die "no release $version in manifest.json"
		fi
	else
		fetch "$(root_url manifest.json)" "$tmp/manifest.json"
		check_root manifest.json
		pick_release || die "no release $version in manifest.json"
	fi
	status=$(field status "$info")
	case "$status" in
	active) ;;
	deprecated) say "warning: $version is deprecated: $(field reason "$info")" ;;
	*) die "release $version is $status: $(field reason "$info")" ;;
	esac
	want_sum=$(field sha256 "$info")
	want_size=$(field size "$info")
	if [ -z "$want_sum" ] || [ -z "$want_size" ]; then
		die "$meta_name lists no $archive in release $version"
	fi

	# What is installed: no downgrade unless asked for, no symlinks.
	read_receipt
	if [ -n "$installed" ] && [ -z "$allow_downgrade" ]; then
		order=$(vercmp "$installed" "$version")
		case "$order" in
		-1 | 0) ;;
		1) die "refusing to downgrade from $installed to $version (pass --allow-downgrade, or set [%.Env%]_ALLOW_DOWNGRADE=1)" ;;
		*) die "cannot compare the installed $installed with $version" ;;
		esac
	fi
	for b in $binaries; do
		if [ -L "$install_dir/$b" ]; then
			die "$install_dir/$b is a symbolic link: refusing to replace it"
		fi
		if [ -e "$install_dir/$b" ] && [ ! -f "$install_dir/$b" ]; then
			die "$install_dir/$b is not a regular file"
		fi
	done

	# The signed checksums, then the archive.
	tag=$(field tag "$info")
	[ -n "$tag" ] || tag="v$version"
	case "$tag" in
	*[!A-Za-z0-9._+-]*) die "bad tag $tag in $meta_name" ;;
	esac
	fetch "$(version_url "$version" "$tag" SHA256SUMS)" "$tmp/SHA256SUMS"
	fetch "$(version_url "$version" "$tag" SHA256SUMS.sig)" "$tmp/SHA256SUMS.sig"
	verify_sig "$tmp/SHA256SUMS" "$tmp/SHA256SUMS.sig"
	sums_sum=$(awk -v f="$archive" '$2 == f || $2 == "*" f { print $1; n++ } END { exit n != 1 }' "$tmp/SHA256SUMS") ||
		die "no $archive in release $version"
	if [ "$sums_sum" != "$want_sum" ]; then
		die "SHA256SUMS and $meta_name disagree on $archive"
	fi
	fetch "$(version_url "$version" "$tag" "$archive")" "$tmp/$archive" "$want_size"
	sha256_of "$tmp/$archive"
	if [ "$sum" != "$want_sum" ]; then
		die "checksum mismatch for $archive"
	fi

	mkdir "$tmp/x"
	tar -xzf "$tmp/$archive" -C "$tmp/x" || die "cannot extract $archive"
	for b in $binaries; do
		if [ ! -f "$tmp/x/$b" ] || [ -L "$tmp/x/$b" ]; then
			die "$b is missing from $archive"
		fi
	done

	# Copy into a private directory beside the targets, then rename.
	mkdir -p "$install_dir"
	stage=$(mktemp -d "$install_dir/.[%.Primary%].XXXXXX")
	for b in $binaries; do
		cp "$tmp/x/$b" "$stage/$b"
		chmod 0755 "$stage/$b"
		TZ=UTC0 touch -t "$stamp" "$stage/$b"
	done
	for b in $binaries; do
		if [ -L "$install_dir/$b" ]; then
			die "$install_dir/$b is a symbolic link: refusing to replace it"
		fi
		mv -f "$stage/$b" "$install_dir/$b"
	done
	if ! write_receipt; then
		say "warning: could not write $receipt"
	fi
	say "installed [%.Project%] $version ($os/$arch) into $install_dir"
}

main "$@" --relkit-script-complete
`))
