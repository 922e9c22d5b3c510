#!/bin/sh
# Package and checksum four binaries (linux/amd64, linux/arm64, darwin/arm64,
# windows/amd64 builds of release/testdata/hello) with relkit's release
# stages and, in the same run, with `tar czf` + `sha256sum`; print both
# median times and the ratio.
#
#   bench/release/run.sh [runs] [parallel]
set -eu
cd "$(dirname "$0")/../.."
runs="${1:-5}"
parallel="${2:-2}"
bins="$(mktemp -d)"
trap 'rm -rf "$bins"' EXIT
for p in linux/amd64 linux/arm64 darwin/arm64 windows/amd64; do
	os="${p%/*}"
	arch="${p#*/}"
	ext=""
	[ "$os" = windows ] && ext=".exe"
	mkdir -p "$bins/${os}_${arch}"
	GOOS="$os" GOARCH="$arch" CGO_ENABLED=0 go build -trimpath -o "$bins/${os}_${arch}/hello$ext" ./release/testdata/hello
done
# bench/ is its own module (bench/go.mod), so its commands build from inside it.
go -C bench run ./release -bins "$bins" -runs "$runs" -parallel "$parallel"
