#!/usr/bin/env bash
# Installs the real tools relkit's interop tests run against, at pinned
# versions, from Debian's packages and the Go module proxy. Idempotent:
# a tool already present at the pinned version is left alone.
#
#   bash .ci/tools.sh          # everything
#   bash .ci/tools.sh cosign   # just one
set -euo pipefail

COSIGN_VERSION=v2.6.5
VERSITYGW_VERSION=v1.8.0
STATICCHECK_VERSION=v0.8.2

gobin=$(go env GOBIN)
[ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"
mkdir -p "$gobin"
export PATH="$gobin:$PATH"

want=("$@")
[ ${#want[@]} -gt 0 ] || want=(debian cosign versitygw staticcheck)

# install.sh is tested under dash, bash and busybox sh, and with shellcheck.
# tar.xz and tar.zst archives are unpacked with tar -J and tar --zstd.
# Linux packages are checked with dpkg-deb, dpkg -i and rpm -qip/-qlp.
# install's Windows tests run under Wine (wine64: a 105 MB download).
# Homebrew casks are checked with ruby -c.
apt_pkgs=(openssl coreutils curl tar xz-utils zstd dpkg rpm ruby rclone git gnupg docker-registry skopeo dash bash busybox shellcheck wine64)

have_go_tool() { # name module version
	[ -x "$gobin/$1" ] && go version -m "$gobin/$1" 2>/dev/null | grep -q "mod	$2	$3"
}

for w in "${want[@]}"; do
	case "$w" in
	debian)
		missing=()
		for p in "${apt_pkgs[@]}"; do
			dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
		done
		if [ ${#missing[@]} -gt 0 ]; then
			echo "tools: apt-get install ${missing[*]}"
			export DEBIAN_FRONTEND=noninteractive
			apt-get update -qq
			apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
		fi
		;;
	cosign)
		if ! have_go_tool cosign github.com/sigstore/cosign/v2 "$COSIGN_VERSION"; then
			echo "tools: go install cosign@$COSIGN_VERSION (several minutes cold)"
			GOBIN="$gobin" go install "github.com/sigstore/cosign/v2/cmd/cosign@$COSIGN_VERSION"
		fi
		;;
	versitygw)
		if ! have_go_tool versitygw github.com/versity/versitygw "$VERSITYGW_VERSION"; then
			echo "tools: go install versitygw@$VERSITYGW_VERSION"
			GOBIN="$gobin" go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
		fi
		;;
	staticcheck)
		if ! have_go_tool staticcheck honnef.co/go/tools "$STATICCHECK_VERSION"; then
			echo "tools: go install staticcheck@$STATICCHECK_VERSION"
			GOBIN="$gobin" GOFLAGS= go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
		fi
		;;
	*)
		echo "tools: unknown tool $w" >&2
		exit 2
		;;
	esac
done
