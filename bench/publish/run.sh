#!/bin/sh
# Publish a release of FILES files of SIZE_MIB MiB into a local directory
# two ways in the same run and compare:
#   relkit   publish.DirStore: hash every staged file (the plan), copy each
#            to a temp file, fsync, link/rename into place, fsync the dir
#   cp+sync  cp -r of the staged tree, then coreutils `sync FILE...`
#            (one fsync per file): a durable copy and nothing else, the
#            floor (cp may use copy_file_range and never touch the bytes)
#   runbook  `sha256sum -c SHA256SUMS`-style check of every file, then
#            cp+sync: what the shell runbooks do before copying
# relkit hashes every staged file to plan and hashes again what it copies
# (so a file that changes after planning is never published): two SHA-256
# passes plus a copy. The ratios say what that costs against each. Then it re-runs relkit on the
# complete destination and checks that it uploads 0 bytes.
# Prints the best (minimum) and median of RUNS rounds of each.
#
# With strace installed it also counts the fsync calls of one relkit
# publish and of one cp+sync (one per file is the floor).
#
# Usage: bench/publish/run.sh [FILES] [SIZE_MIB]   (default 20 20)
#        SIZE=1024 bench/publish/run.sh 1000        (small files: SIZE in bytes)
set -eu
cd "$(dirname "$0")/../.."
FILES=${1:-20}
SIZE_MIB=${2:-20}
RUNS=${RUNS:-3}
WORK=$(mktemp -d /tmp/relkit-bench-publish.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# bench/ is its own module (bench/go.mod), so its commands build from inside it.
go -C bench build -o "$WORK/pub" ./publish
SIZE=${SIZE:-$((SIZE_MIB * 1024 * 1024))}
"$WORK/pub" stage -dir "$WORK/staged" -files "$FILES" -size "$SIZE"
cat "$WORK/staged"/*/* > /dev/null # warm the page cache

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
best() { sort -n | head -n 1; }

: > "$WORK/t.relkit"; : > "$WORK/t.cp"; : > "$WORK/t.runbook"
(cd "$WORK/staged" && sha256sum */* > "$WORK/SUMS")
i=0
while [ "$i" -lt "$RUNS" ]; do
	rm -rf "$WORK/d1" "$WORK/d2"
	"$WORK/pub" publish -dir "$WORK/staged" -dest "$WORK/d1" | sed 's/.*seconds=\([0-9.]*\).*/\1/' >> "$WORK/t.relkit"
	t0=$(now)
	cp -r "$WORK/staged" "$WORK/d2"
	sync "$WORK/d2"/*/* "$WORK/d2"/* "$WORK/d2"
	t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }' >> "$WORK/t.cp"
	rm -rf "$WORK/d3"
	t0=$(now)
	(cd "$WORK/staged" && sha256sum -c --quiet "$WORK/SUMS")
	cp -r "$WORK/staged" "$WORK/d3"
	sync "$WORK/d3"/*/* "$WORK/d3"/* "$WORK/d3"
	t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }' >> "$WORK/t.runbook"
	i=$((i + 1))
done
diff -r -x .relkit-sums -x .relkit-lock "$WORK/d1" "$WORK/d2" >/dev/null || { echo "relkit and cp copies differ" >&2; exit 1; }

RERUN=$("$WORK/pub" publish -dir "$WORK/staged" -dest "$WORK/d1")
BYTES=$(echo "$RERUN" | sed 's/.*bytes_uploaded=\([0-9]*\).*/\1/')

R=$(best < "$WORK/t.relkit")
C=$(best < "$WORK/t.cp")
K=$(best < "$WORK/t.runbook")
printf 'release:           %d files x %d bytes, %d rounds; best (median)\n' "$FILES" "$SIZE" "$RUNS"
printf 'relkit DirStore:   %.3f s (%.3f)\n' "$R" "$(median < "$WORK/t.relkit")"
printf 'cp -r + sync:      %.3f s (%.3f)\n' "$C" "$(median < "$WORK/t.cp")"
printf 'sha256sum -c + cp: %.3f s (%.3f)\n' "$K" "$(median < "$WORK/t.runbook")"
printf 'load average:      %s\n' "$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
printf 'relkit vs cp+sync  (cp time / relkit time):      %.2f\n' "$(awk -v c="$C" -v r="$R" 'BEGIN { print c / r }')"
printf 'relkit vs runbook  (runbook time / relkit time): %.2f\n' "$(awk -v c="$K" -v r="$R" 'BEGIN { print c / r }')"
printf 're-run:            %s\n' "$RERUN"
if command -v strace >/dev/null; then
	rm -rf "$WORK/d4" "$WORK/d5"
	fr=$(strace -f -c -e trace=fsync,fdatasync,sync_file_range,syncfs "$WORK/pub" publish -dir "$WORK/staged" -dest "$WORK/d4" 2>&1 >/dev/null | awk '$NF ~ /sync/ {n += $4} END {print n + 0}')
	fc=$(strace -f -c -e trace=fsync,fdatasync,sync_file_range,syncfs sh -c 'cp -r "$1" "$2" && sync "$2"/*/* "$2"/* "$2"' sh "$WORK/staged" "$WORK/d5" 2>&1 >/dev/null | awk '$NF ~ /sync/ {n += $4} END {print n + 0}')
	printf 'fsync calls:       relkit %d, cp+sync %d (%d files)\n' "$fr" "$fc" "$(find "$WORK/staged" -type f | wc -l)"
fi
if [ "$BYTES" != 0 ]; then
	echo "re-run uploaded $BYTES bytes, want 0" >&2
	exit 1
fi
