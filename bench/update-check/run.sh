#!/bin/sh
# The update check of a self-updater ("hello update --check":
# install.Installer.Check of the stable channel, by a client running the
# newest release but one) against a loopback server that gzips JSON, at
# 10, 1,000 and 10,000 releases of history, three ways, interleaved in
# each round:
#   relkit v2   the manifest v2 layout: index.json and its signature set
#   plain fetch curl --compressed of exactly those two files (the limit:
#               the bytes the client needs, no verification)
#   relkit v1   the same history without index.json (the layout before
#               manifest v2: the client reads the whole manifest.json)
# Prints, per history size, the median wall time of each (whole process),
# the bytes on the wire, peak RSS, relkit v2 / plain fetch (goal <= 1.5)
# and relkit v2 / relkit v1; fails when v2 sends more than 64 KB at 1,000
# releases or its peak RSS passes 32 MiB at 10,000.
#
# Usage: bench/update-check/run.sh   (RUNS=21 rounds; SIZES="10 1000 10000")
set -eu
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-21}
SIZES=${SIZES:-"10 1000 10000"}
WORK=$(mktemp -d /tmp/relkit-bench-update.XXXXXX)
PIDS=""
trap 'for p in $PIDS; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT

# bench/ is its own module (bench/go.mod), so its commands build from inside it.
go -C bench build -o "$WORK/uc" ./update-check
command -v curl >/dev/null || { echo "curl is needed" >&2; exit 1; }

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f\n", b - a }'; }

status=0
printf '%-8s %-12s %10s %10s %10s %12s\n' releases contender median_s wire_B peak_KiB ratio
for n in $SIZES; do
	for k in v2 v1; do
		"$WORK/uc" gen -n "$n" -dir "$WORK/$k-$n" $( [ "$k" = v1 ] && echo -v1 )
		"$WORK/uc" serve -dir "$WORK/$k-$n" -url-file "$WORK/url-$k-$n" &
		PIDS="$PIDS $!"
	done
	i=0
	while [ ! -s "$WORK/url-v2-$n" ] || [ ! -s "$WORK/url-v1-$n" ]; do
		i=$((i + 1)); [ "$i" -lt 100 ] || { echo "servers did not start" >&2; exit 1; }
		sleep 0.1
	done
	U2=$(cat "$WORK/url-v2-$n"); U1=$(cat "$WORK/url-v1-$n")
	CUR=$(cat "$WORK/v2-$n/current")
	set -- $("$WORK/uc" need -dir "$WORK/v2-$n")
	IDX=$1; SIG=$2
	v2() { "$WORK/uc" check -url "$U2" -key "$WORK/v2-$n/pub.pem" -current "$CUR"; }
	v1() { "$WORK/uc" check -url "$U1" -key "$WORK/v1-$n/pub.pem" -current "$CUR"; }
	plain() { curl -sf --compressed -o /dev/null "$U2$IDX" -o /dev/null "$U2$SIG"; }
	# Wire bytes and peak RSS of one call each.
	wire() { curl -s "${1}_bytes"; }
	wire "$U2" >/dev/null; v2; W2=$(wire "$U2")
	wire "$U2" >/dev/null; plain; WP=$(wire "$U2")
	V1OK=yes
	wire "$U1" >/dev/null; v1 2>"$WORK/v1.err" || V1OK=no; W1=$(wire "$U1")
	M2=$( { /usr/bin/time -f %M "$WORK/uc" check -url "$U2" -key "$WORK/v2-$n/pub.pem" -current "$CUR"; } 2>&1 | tail -n 1)
	M1=$( { /usr/bin/time -f %M "$WORK/uc" check -url "$U1" -key "$WORK/v1-$n/pub.pem" -current "$CUR"; } 2>&1 | tail -n 1)
	: > "$WORK/t.v2"; : > "$WORK/t.plain"; : > "$WORK/t.v1"
	r=0
	while [ "$r" -lt "$RUNS" ]; do
		for c in v2 plain v1; do
			[ "$c" = v1 ] && [ "$V1OK" = no ] && continue
			t0=$(now); $c >/dev/null; t1=$(now)
			elapsed "$t0" "$t1" >> "$WORK/t.$c"
		done
		r=$((r + 1))
	done
	T2=$(median < "$WORK/t.v2"); TP=$(median < "$WORK/t.plain")
	printf '%-8s %-12s %10.4f %10d %10s %12s\n' "$n" "relkit v2" "$T2" "$W2" "$M2" "$(awk -v a="$T2" -v b="$TP" 'BEGIN { printf "%.2f x plain", a / b }')"
	printf '%-8s %-12s %10.4f %10d %10s %12s\n' "$n" "plain fetch" "$TP" "$WP" "-" "1.00 x plain"
	if [ "$V1OK" = yes ]; then
		T1=$(median < "$WORK/t.v1")
		printf '%-8s %-12s %10.4f %10d %10s %12s\n' "$n" "relkit v1" "$T1" "$W1" "$M1" "$(awk -v a="$T2" -v b="$T1" 'BEGIN { printf "v2/v1 %.2f", a / b }')"
	else
		printf '%-8s %-12s %10s %10d %10s  refused: %s\n' "$n" "relkit v1" "-" "$W1" "$M1" "$(tail -n 1 "$WORK/v1.err" | cut -c1-80)"
	fi
	if [ "$n" = 1000 ] && [ "$W2" -gt 65536 ]; then
		echo "FAIL: the v2 update check sent $W2 bytes at 1,000 releases (goal 64 KB)" >&2; status=1
	fi
	if [ "$n" = 10000 ] && [ "$M2" -gt 32768 ]; then
		echo "FAIL: the v2 update check peaked at $M2 KiB at 10,000 releases (goal 32 MiB)" >&2; status=1
	fi
done
printf 'load average: %s; sha_ni: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)" "$(grep -o -m1 sha_ni /proc/cpuinfo || echo no)"
exit "$status"
