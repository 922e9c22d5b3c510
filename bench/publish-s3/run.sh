#!/usr/bin/env bash
# S3 publish benchmark: relkit's publish/s3 provider against `rclone copy`,
# in the same run, on the same loopback versitygw server.
#
# Publishes FILES files of SIZE bytes (default 20 x 20 MiB) RUNS times with
# each tool (alternating, each run to a fresh prefix), prints the median
# wall times and their ratio, then re-runs relkit on a complete publish and
# prints the bytes it uploaded, which must be 0.
#
#   bash bench/publish-s3/run.sh
#   FILES=20 SIZE=$((20<<20)) RUNS=3 bash bench/publish-s3/run.sh
#
# Needs: go, versitygw (bash .ci/tools.sh versitygw), rclone (Debian
# package; installed with apt-get when missing and running as root).
set -euo pipefail
cd "$(dirname "$0")/../.."

FILES=${FILES:-20}
SIZE=${SIZE:-$((20 << 20))}
RUNS=${RUNS:-3}

gobin=$(go env GOBIN); [ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"
export PATH="$gobin:$PATH"
command -v versitygw >/dev/null || { echo "versitygw missing: bash .ci/tools.sh versitygw" >&2; exit 1; }
if ! command -v rclone >/dev/null; then
	if [ "$(id -u)" = 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rclone >/dev/null
	else
		echo "rclone missing: apt-get install rclone" >&2; exit 1
	fi
fi

work=$(mktemp -d)
vgw_pid=
cleanup() {
	[ -n "$vgw_pid" ] && kill "$vgw_pid" 2>/dev/null && wait "$vgw_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# bench/ is its own module (bench/go.mod), so its commands build from inside it.
go -C bench build -o "$work/publish-s3" ./publish-s3
"$work/publish-s3" stage -dir "$work/staged" -files "$FILES" -size "$SIZE"

# versitygw on a free loopback port, with random keys.
port=$("$work/publish-s3" freeport)
endpoint="http://127.0.0.1:$port"
access="AK$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
secret="SK$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
mkdir -p "$work/s3"
ROOT_ACCESS_KEY=$access ROOT_SECRET_KEY=$secret \
	versitygw --port "127.0.0.1:$port" --region us-east-1 --quiet posix "$work/s3" >"$work/vgw.log" 2>&1 &
vgw_pid=$!

# The endpoint is plain HTTP on loopback: a CA bundle from the environment
# only gets in the way (rclone's SDK refuses to load one into its transport).
unset AWS_CA_BUNDLE AWS_PROFILE AWS_ENDPOINT_URL
export AWS_ACCESS_KEY_ID=$access AWS_SECRET_ACCESS_KEY=$secret AWS_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export RCLONE_CONFIG=/dev/null
export RCLONE_CONFIG_BENCH_TYPE=s3 RCLONE_CONFIG_BENCH_PROVIDER=Other
export RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=$access RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=$secret
export RCLONE_CONFIG_BENCH_ENDPOINT=$endpoint RCLONE_CONFIG_BENCH_REGION=us-east-1
export RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE=true

for _ in $(seq 100); do
	curl -s -o /dev/null "$endpoint/" && break
	kill -0 "$vgw_pid" 2>/dev/null || { cat "$work/vgw.log" >&2; exit 1; }
	sleep 0.1
done
rclone mkdir bench:bench

calc() { awk "BEGIN { print $1 }"; }
# timed FILE CMD...: runs CMD, appends "wall user+sys server-cpu" to FILE.
ticks() { awk '{print $14 + $15}' "/proc/$vgw_pid/stat"; }
hz=$(getconf CLK_TCK)
timed() {
	local out=$1; shift
	local s0 t
	s0=$(ticks)
	t=$( { TIMEFORMAT='%R %U %S'; time "$@" >"$work/last.out" 2>"$work/last.err"; } 2>&1 ) ||
		{ cat "$work/last.err" >&2; exit 1; }
	read -r wall user sys <<<"$t"
	echo "$wall $(calc "$user + $sys") $(calc "($(ticks) - $s0) / $hz")" >>"$out"
}
: >"$work/relkit.times"; : >"$work/rclone.times"
for i in $(seq "$RUNS"); do
	timed "$work/relkit.times" "$work/publish-s3" publish -dir "$work/staged" -endpoint "$endpoint" -bucket bench -prefix "relkit$i"
	cp "$work/last.out" "$work/relkit$i.out"
	timed "$work/rclone.times" rclone copy "$work/staged" "bench:bench/rclone$i"
	printf 'run %d: relkit %s  rclone %s  (wall, client CPU, server CPU seconds)\n' "$i" \
		"$(tail -1 "$work/relkit.times")" "$(tail -1 "$work/rclone.times")"
	grep -q "bytes_uploaded=$((FILES * SIZE + $(stat -c %s "$work/staged/manifest.json")))" "$work/relkit$i.out" ||
		{ echo "relkit run $i did not upload everything: $(cat "$work/relkit$i.out")" >&2; exit 1; }
done

# What relkit uploaded matches the staged files (size and MD5, checked by rclone).
rclone check --one-way "$work/staged" bench:bench/relkit1 2>"$work/check.log" ||
	{ cat "$work/check.log" >&2; exit 1; }

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
col() { awk -v c="$2" '{print $c}' "$1" | median; }
r=$(col "$work/relkit.times" 1) c=$(col "$work/rclone.times" 1)
mib=$(( FILES * SIZE >> 20 ))
printf '\n%d files x %d MiB = %d MiB, median of %d runs\n' "$FILES" $((SIZE >> 20)) "$mib" "$RUNS"
printf 'relkit publish/s3: %6.3fs wall (%4.0f MiB/s), client CPU %.2fs, server CPU %.2fs\n' "$r" "$(calc "$mib / $r")" \
	"$(col "$work/relkit.times" 2)" "$(col "$work/relkit.times" 3)"
printf 'rclone copy:       %6.3fs wall (%4.0f MiB/s), client CPU %.2fs, server CPU %.2fs\n' "$c" "$(calc "$mib / $c")" \
	"$(col "$work/rclone.times" 2)" "$(col "$work/rclone.times" 3)"
printf 'ratio relkit/rclone wall time: %.2f\n' "$(calc "$r / $c")"

# Re-run on the complete publish: must upload nothing.
rerun=$("$work/publish-s3" publish -dir "$work/staged" -endpoint "$endpoint" -bucket bench -prefix relkit1)
bytes=$(sed -n 's/.*bytes_uploaded=\([0-9]*\).*/\1/p' <<<"$rerun")
echo "re-run: $rerun"
echo "re-run bytes uploaded: $bytes"
[ "$bytes" = 0 ] || { echo "re-run uploaded $bytes bytes, want 0" >&2; exit 1; }
