#!/bin/sh
# A no-op re-run of a complete directory publish, against the standard
# tool's no-op re-run and the floor:
#   relkit   publish.DirStore re-run: plan (Stat of every file, answered from
#            the digest sidecars while the files are unchanged), upload nothing
#   rclone   `rclone copy` of the same tree onto its complete copy (compares
#            size and modification time)
#   floor    `stat` of every published file: what any no-op must do at least
#   rehash   relkit with DirStore.Rehash (every published file hashed), the
#            behaviour before the sidecars
# Timed with farm-bench, A and B interleaved; prints the medians and both
# ratios. Issue 17's goal: relkit <= 1.0 x rclone.
#
# Usage: bench/publish-rerun/run.sh [FILES] [SIZE_MIB]   (default 20 20)
set -eu
cd "$(dirname "$0")/../.."
FILES=${1:-20}
SIZE_MIB=${2:-20}
RUNS=${RUNS:-7}
WORK=$(mktemp -d /tmp/relkit-bench-rerun.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
command -v rclone >/dev/null || { echo "rclone not found (bash .ci/tools.sh debian)" >&2; exit 1; }
command -v farm-bench >/dev/null || { echo "farm-bench not found" >&2; exit 1; }

# bench/ is its own module (bench/go.mod), so its commands build from inside it.
go -C bench build -o "$WORK/pub" ./publish
"$WORK/pub" stage -dir "$WORK/staged" -files "$FILES" -size "$((SIZE_MIB * 1024 * 1024))"
"$WORK/pub" publish -dir "$WORK/staged" -dest "$WORK/d1" >/dev/null
rclone copy -q "$WORK/staged" "$WORK/d2"
out=$("$WORK/pub" publish -dir "$WORK/staged" -dest "$WORK/d1")
case "$out" in *bytes_uploaded=0*) ;; *) echo "re-run uploaded bytes: $out" >&2; exit 1 ;; esac

median() { grep -E "^ *wall" "$1" | awk '{print $3}'; }
farm-bench -n "$RUNS" --vs "rclone copy -q $WORK/staged $WORK/d2" \
	-- "$WORK/pub" publish -dir "$WORK/staged" -dest "$WORK/d1" > "$WORK/vs-rclone" 2>&1 || { cat "$WORK/vs-rclone"; exit 1; }
farm-bench -n "$RUNS" --vs "sh -c 'stat -c %s $WORK/d1/*/* $WORK/d1/* > /dev/null'" \
	-- "$WORK/pub" publish -dir "$WORK/staged" -dest "$WORK/d1" > "$WORK/vs-floor" 2>&1 || { cat "$WORK/vs-floor"; exit 1; }
farm-bench -n 3 --vs "rclone copy -q $WORK/staged $WORK/d2" \
	-- "$WORK/pub" publish -rehash -dir "$WORK/staged" -dest "$WORK/d1" > "$WORK/vs-rehash" 2>&1 || { cat "$WORK/vs-rehash"; exit 1; }
echo "release: $FILES files x $SIZE_MIB MiB, no-op re-run, $RUNS interleaved pairs each"
echo "--- relkit (A) vs rclone copy (B)"
cat "$WORK/vs-rclone"
echo "--- relkit (A) vs stat of every file, the floor (B)"
cat "$WORK/vs-floor"
echo "--- relkit with DirStore.Rehash, the behaviour before the sidecars (A), vs rclone copy (B)"
cat "$WORK/vs-rehash"
