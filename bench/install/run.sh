#!/usr/bin/env bash
# Install benchmark: relkit's package install against the standard shell
# pipeline, in the same run, on the same loopback server.
#
# Prepares a signed release whose tar.gz holds one SIZE-byte binary
# (default 512 MiB), serves it on 127.0.0.1, then RUNS times (alternating)
#   shell:  curl -o archive + curl -o SHA256SUMS + sha256sum -c + tar xzf + mv
#   relkit: install (signed manifest, streaming download hashed in the same
#           pass, safe extraction, fsync, backup, rename, health check)
#   stream: curl | tar xzf (no verification at all: a lower bound, for
#           reference)
#   bare:   the limit (bench/install bare): download + hash on one
#           goroutine, gunzip + untar + write + fsync + rename on another
#   zstd:   relkit install of the same binary from a .tar.zst release
#           (install/zstd imported), and the bare limit for it
# and prints the median wall times, the ratio relkit/shell (target <= 1.2),
# relkit/bare for tar.gz (target <= 1.05), zstd install / tar.gz install
# (target <= 0.5), the ratio relkit/stream, and relkit's peak RSS (target
# <= 64 MiB).
#
#   bash bench/install/run.sh
#   SIZE=$((64<<20)) RUNS=1 bash bench/install/run.sh
#   PAYLOAD=random bash bench/install/run.sh   # worst case for Go's inflater
#
# The binary is real executables (the Go toolchain's, repeated) behind a
# tiny shell header that prints the version, so the health check runs it;
# PAYLOAD=random makes it random base64, nearly all literals, where Go's
# compress/flate is ~1.8x slower than zlib (on executables they are even).
#
# Each timed step starts after a sync, so no step pays for another's dirty
# pages when it fsyncs (relkit does; the shell tools do not). Needs: go,
# curl, sha256sum, tar, bc. Peak RSS comes from /usr/bin/time -v
# when installed (apt-get install time) and from /proc/self/status
# (VmHWM) as reported by the process itself.
set -euo pipefail
cd "$(dirname "$0")/../.."

SIZE=${SIZE:-$((512 << 20))}
RUNS=${RUNS:-3}
PAYLOAD=${PAYLOAD:-real}

for t in curl sha256sum tar; do
	command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 1; }
done

work=$(mktemp -d)
srv_pid=
cleanup() {
	[ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null && wait "$srv_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# bench/ is its own module (bench/go.mod), so its commands build from inside it.
go -C bench build -o "$work/bench-install" ./install
echo "preparing a release with a $((SIZE >> 20)) MiB binary..."
"$work/bench-install" prepare -dir "$work" -size "$SIZE" -payload "$PAYLOAD"

"$work/bench-install" serve -root "$work" -url-file "$work/url" &
srv_pid=$!
for _ in $(seq 50); do [ -s "$work/url" ] && break; sleep 0.1; done
base=$(cat "$work/url")
url="${base}release"
zurl="${base}release-zst"
art=$(cd "$work/release/1.0.0" && ls hello-*.tar.gz)
zart=$(cd "$work/release-zst/1.0.0" && ls hello-*.tar.zst)
sum=$(cd "$work/release/1.0.0" && sha256sum "$art" | cut -d' ' -f1)
zsum=$(cd "$work/release-zst/1.0.0" && sha256sum "$zart" | cut -d' ' -f1)

now() { date +%s.%N; }

shell_install() {
	local dst=$1 tmp
	tmp=$(mktemp -d "$work/shell.XXXX")
	(
		cd "$tmp"
		curl -fsS -o "$art" "$url/1.0.0/$art"
		curl -fsS -o SHA256SUMS "$url/1.0.0/SHA256SUMS"
		sha256sum -c --quiet SHA256SUMS
		mkdir x
		tar xzf "$art" -C x
		mv x/hello "$dst/hello"
	)
	rm -rf "$tmp"
}

stream_install() {
	local dst=$1 tmp
	tmp=$(mktemp -d "$work/stream.XXXX")
	curl -fsS "$url/1.0.0/$art" | tar xzf - -C "$tmp"
	mv "$tmp/hello" "$dst/hello"
	rm -rf "$tmp"
}

have_time=
[ -x /usr/bin/time ] && have_time=1

shell_times=()
relkit_times=()
stream_times=()
bare_times=()
zstd_times=()
zbare_times=()
timed() { # timed ARRAY CMD...: append CMD's wall time to ARRAY
	local -n arr=$1
	shift
	sync
	local t0 t1
	t0=$(now)
	"$@" >"$work/last.out"
	t1=$(now)
	arr+=("$(echo "$t1 - $t0" | bc -l)")
}
rss_line=
for i in $(seq "$RUNS"); do
	rm -rf "$work/bin-shell" "$work/bin-relkit" "$work/bin-stream" "$work/bin-bare" "$work/bin-zstd" "$work/bin-zbare"
	mkdir -p "$work/bin-shell" "$work/bin-relkit" "$work/bin-stream" "$work/bin-bare" "$work/bin-zstd" "$work/bin-zbare"
	sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
	# Every contender reads the artifacts from the server's page cache.
	cat "$work/release/1.0.0/$art" "$work/release-zst/1.0.0/$zart" >/dev/null

	t0=$(now)
	shell_install "$work/bin-shell"
	t1=$(now)
	shell_times+=("$(echo "$t1 - $t0" | bc -l)")

	sync
	t0=$(now)
	if [ -n "$have_time" ]; then
		/usr/bin/time -v "$work/bench-install" install -url "$url" -dir "$work/bin-relkit" -key "$work/pub.pem" \
			>"$work/relkit.out" 2>"$work/time.out"
	else
		"$work/bench-install" install -url "$url" -dir "$work/bin-relkit" -key "$work/pub.pem" >"$work/relkit.out"
	fi
	t1=$(now)
	relkit_times+=("$(echo "$t1 - $t0" | bc -l)")
	cat "$work/relkit.out"
	if [ -n "$have_time" ]; then
		rss_line="$(grep 'Maximum resident' "$work/time.out" | awk '{print $NF}') KiB (/usr/bin/time -v)"
	else
		rss_line="$(sed -n 's/.*peak RSS //p' "$work/relkit.out") (VmHWM)"
	fi
	sync
	t0=$(now)
	stream_install "$work/bin-stream"
	t1=$(now)
	stream_times+=("$(echo "$t1 - $t0" | bc -l)")

	timed bare_times "$work/bench-install" bare -url "$url/1.0.0/$art" -sha256 "$sum" -dir "$work/bin-bare"
	timed zstd_times "$work/bench-install" install -url "$zurl" -dir "$work/bin-zstd" -key "$work/pub.pem"
	timed zbare_times "$work/bench-install" bare -url "$zurl/1.0.0/$zart" -sha256 "$zsum" -dir "$work/bin-zbare"
	for d in relkit bare zstd zbare; do
		cmp -s "$work/bin-shell/hello" "$work/bin-$d/hello" || { echo "installed binaries differ ($d)" >&2; exit 1; }
	done
	"$work/bin-relkit/hello" version | grep -q "1.0.0" || { echo "installed binary does not run" >&2; exit 1; }
	printf 'run %d: shell %.2fs  relkit %.2fs  stream %.2fs  bare %.2fs  relkit zstd %.2fs  bare zstd %.2fs\n' "$i" \
		"${shell_times[-1]}" "${relkit_times[-1]}" "${stream_times[-1]}" "${bare_times[-1]}" "${zstd_times[-1]}" "${zbare_times[-1]}"
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms=$(median "${shell_times[@]}")
mr=$(median "${relkit_times[@]}")
printf '\nbinary %d MiB (%s payload), artifact %s\n' "$((SIZE >> 20))" "$PAYLOAD" "$(du -h "$work/release/1.0.0/$art" | cut -f1)"
printf 'median wall: shell (curl + sha256sum -c + tar xzf + mv) %.2fs, relkit install %.2fs\n' "$ms" "$mr"
mt=$(median "${stream_times[@]}")
printf 'reference: curl | tar xzf (unverified) %.2fs\n' "$mt"
mb=$(median "${bare_times[@]}")
mz=$(median "${zstd_times[@]}")
mzb=$(median "${zbare_times[@]}")
printf 'limit: bare two-goroutine download+hash+gunzip+untar+fsync %.2fs; zstd artifact %s: relkit %.2fs, bare %.2fs\n' \
	"$mb" "$(du -h "$work/release-zst/1.0.0/$zart" | cut -f1)" "$mz" "$mzb"
printf 'ratio relkit/shell: %.2f (target <= 1.2)\n' "$(echo "$mr / $ms" | bc -l)"
printf 'ratio relkit/bare (tar.gz): %.3f (target <= 1.05)\n' "$(echo "$mr / $mb" | bc -l)"
printf 'ratio relkit/bare (tar.zst): %.3f\n' "$(echo "$mz / $mzb" | bc -l)"
printf 'ratio zstd install / tar.gz install: %.2f (target <= 0.5)\n' "$(echo "$mz / $mr" | bc -l)"
printf 'ratio relkit/stream: %.2f (relkit also verifies, fsyncs, backs up and health-checks)\n' "$(echo "$mr / $mt" | bc -l)"
printf 'relkit peak RSS: %s (target <= 64 MiB)\n' "$rss_line"
