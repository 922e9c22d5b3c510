#!/bin/sh
# Hash-and-verify a 1 GiB file three ways in the same run and compare:
#   relkit   verify.VerifyFile (size + SHA-256 in one pass)
#   bare     a plain io.Copy into crypto/sha256 (Go's single-pass floor)
#   sha256sum (coreutils)
# Prints the median of RUNS runs of each, the ratios, and fails when
# relkit is slower than 0.95 of bare.
#
# Usage: bench/verify/run.sh [SIZE_MIB]   (default 1024)
set -eu
cd "$(dirname "$0")/../.."
SIZE_MIB=${1:-1024}
RUNS=${RUNS:-3}
WORK=$(mktemp -d /tmp/relkit-bench-verify.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

go build -o "$WORK/verifybench" ./bench/verify
FILE="$WORK/blob"
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom > "$FILE"
cat "$FILE" > /dev/null # warm the page cache

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

SUM=""
: > "$WORK/t.sha256sum"; : > "$WORK/t.relkit"; : > "$WORK/t.bare"
i=0
while [ "$i" -lt "$RUNS" ]; do
	t0=$(now)
	SUM=$(sha256sum "$FILE" | cut -d' ' -f1)
	t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }' >> "$WORK/t.sha256sum"
	"$WORK/verifybench" -mode relkit -sha256 "$SUM" "$FILE" >> "$WORK/t.relkit"
	"$WORK/verifybench" -mode bare "$FILE" >> "$WORK/t.bare"
	i=$((i + 1))
done
# A wrong digest must fail (the benchmark measures a real check).
if "$WORK/verifybench" -mode relkit -sha256 "$(echo "$SUM" | tr 0-9a-f 1-9a-f0)" "$FILE" >/dev/null 2>&1; then
	echo "relkit accepted a wrong digest" >&2; exit 1
fi

S=$(median < "$WORK/t.sha256sum")
R=$(median < "$WORK/t.relkit")
B=$(median < "$WORK/t.bare")
printf 'file:              %d MiB, median of %d runs\n' "$SIZE_MIB" "$RUNS"
printf 'sha256sum:         %.3f s\n' "$S"
printf 'relkit verify:     %.3f s\n' "$R"
printf 'bare io.Copy:      %.3f s\n' "$B"
printf 'relkit vs sha256sum (sha256sum time / relkit time): %.2f\n' "$(awk -v s="$S" -v r="$R" 'BEGIN { print s / r }')"
RATIO=$(awk -v b="$B" -v r="$R" 'BEGIN { print b / r }')
printf 'relkit vs bare      (bare time / relkit time):      %.3f (target >= 0.95)\n' "$RATIO"
if awk -v x="$RATIO" 'BEGIN { exit !(x < 0.95) }'; then
	echo "relkit is slower than 0.95 of a bare single-pass hash" >&2
	exit 1
fi
