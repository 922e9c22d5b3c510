#!/bin/sh
# Hash-and-verify a 1 GiB file three ways in the same run and compare:
#   relkit   verify.VerifyFile (size + SHA-256 in one pass)
#   bare     a plain io.Copy into crypto/sha256 (Go's single-pass floor)
#   sha256sum (coreutils)
# The three alternate within each round (so background load hits them
# alike). Prints the best (minimum) of RUNS rounds of each, which is the
# least disturbed by other processes on a shared machine, the medians, the
# ratios, and fails when relkit's best is slower than 0.95 of bare's.
#
# Usage: bench/verify/run.sh [SIZE_MIB]   (default 1024)
set -eu
cd "$(dirname "$0")/../.."
SIZE_MIB=${1:-1024}
RUNS=${RUNS:-5}
WORK=$(mktemp -d /tmp/relkit-bench-verify.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# bench/ is its own module (bench/go.mod), so its commands build from inside it.
go -C bench build -o "$WORK/verifybench" ./verify
FILE="$WORK/blob"
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom > "$FILE"
cat "$FILE" > /dev/null # warm the page cache

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
best() { sort -n | head -n 1; }

SUM=""
: > "$WORK/t.sha256sum"; : > "$WORK/t.relkit"; : > "$WORK/t.bare"
i=0
while [ "$i" -lt "$RUNS" ]; do
	t0=$(now)
	SUM=$(sha256sum "$FILE" | cut -d' ' -f1)
	t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }' >> "$WORK/t.sha256sum"
	if [ $((i % 2)) = 0 ]; then
		"$WORK/verifybench" -mode relkit -sha256 "$SUM" "$FILE" >> "$WORK/t.relkit"
		"$WORK/verifybench" -mode bare "$FILE" >> "$WORK/t.bare"
	else
		"$WORK/verifybench" -mode bare "$FILE" >> "$WORK/t.bare"
		"$WORK/verifybench" -mode relkit -sha256 "$SUM" "$FILE" >> "$WORK/t.relkit"
	fi
	i=$((i + 1))
done
# A wrong digest must fail (the benchmark measures a real check).
if "$WORK/verifybench" -mode relkit -sha256 "$(echo "$SUM" | tr 0-9a-f 1-9a-f0)" "$FILE" >/dev/null 2>&1; then
	echo "relkit accepted a wrong digest" >&2; exit 1
fi

S=$(best < "$WORK/t.sha256sum")
R=$(best < "$WORK/t.relkit")
B=$(best < "$WORK/t.bare")
printf 'file:              %d MiB, %d rounds; best (median)\n' "$SIZE_MIB" "$RUNS"
printf 'sha256sum:         %.3f s (%.3f)\n' "$S" "$(median < "$WORK/t.sha256sum")"
printf 'relkit verify:     %.3f s (%.3f)\n' "$R" "$(median < "$WORK/t.relkit")"
printf 'bare io.Copy:      %.3f s (%.3f)\n' "$B" "$(median < "$WORK/t.bare")"
printf 'load average:      %s\n' "$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
printf 'relkit vs sha256sum (sha256sum time / relkit time): %.2f\n' "$(awk -v s="$S" -v r="$R" 'BEGIN { print s / r }')"
RATIO=$(awk -v b="$B" -v r="$R" 'BEGIN { print b / r }')
printf 'relkit vs bare      (bare time / relkit time):      %.3f (target >= 0.95)\n' "$RATIO"
if awk -v x="$RATIO" 'BEGIN { exit !(x < 0.95) }'; then
	echo "relkit is slower than 0.95 of a bare single-pass hash" >&2
	exit 1
fi
