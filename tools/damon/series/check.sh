#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make series-check: build the kernel at every patch of the series that
# make series wrote, and run checkpatch.pl --strict on every patch.
#
# Each patch is checked out in build/series-repo and built out of tree in
# build/obj-series: allnoconfig plus tools/damon/series/config (DAMON,
# everything it offers, and what that depends on), with W=1.  The build
# is incremental, but our own objects are compiled at every patch.  A
# patch passes when
#   - every option our Kconfig files define at that patch is enabled,
#   - the kernel builds, with no warning in our files,
#   - checkpatch.pl --strict finds nothing.
# (W=1 also lists every file as ignored by git: Debian's top-level
# .gitignore ignores "/*".  Those lines are dropped.)
# FILE_PATH_CHANGES ("does MAINTAINERS need updating?") is not asked: the
# last patch of the series adds the MAINTAINERS entry for every path.
#
#   check.sh           every patch
#   check.sh 3 7-9     only those patches (1 is the first after the cover)

set -uo pipefail

REPO=$(cd "$(dirname "$0")/../../.." && pwd)
BUILD=${BUILD:-$REPO/build}
SREPO=${SERIES_REPO:-$BUILD/series-repo}
OUT=${SERIES_OUT:-$BUILD/series}
OBJ=$BUILD/obj-series
FRAG=$REPO/tools/damon/series/config
LOGS=$BUILD/series-check
JOBS=${JOBS:-2}

# Our files: warnings in them fail a patch.
OURS_RE='(mm/damon/|include/linux/damon\.h|include/trace/events/damon\.h|samples/damon/)'

die() { echo "series-check: $*" >&2; exit 1; }

git -C "$SREPO" rev-parse -q --verify series > /dev/null 2>&1 ||
	die "no series yet: run make series first"
mapfile -t commits < <(git -C "$SREPO" rev-list --reverse base..series)
mapfile -t patches < <(find "$OUT" -maxdepth 1 -name '*.patch' \
	! -name '0000-*' | sort)
[ ${#commits[@]} -gt 0 ] || die "the series is empty"
[ ${#commits[@]} -eq ${#patches[@]} ] ||
	die "${#patches[@]} patch files for ${#commits[@]} commits: run make series again"
src=$(git -C "$SREPO" rev-parse -q --verify refs/damon/series-source)
head=$(git -C "$REPO" rev-parse HEAD)
[ "$src" = "$head" ] ||
	echo "series-check: the series is of ${src:0:12}, this tree is at" \
		"${head:0:12}: make series makes it again" >&2
[ -z "$(git -C "$SREPO" status --porcelain --untracked-files=no)" ] ||
	die "$SREPO has local changes; check them out or remove the directory"

# Which patches: all, or the numbers and ranges given.
want=()
if [ $# -eq 0 ]; then
	mapfile -t want < <(seq 1 ${#commits[@]})
else
	for a in "$@"; do
		case $a in
		*-*)	mapfile -t -O ${#want[@]} want < <(seq "${a%-*}" "${a#*-}") ;;
		*)	want+=("$a") ;;
		esac
	done
fi

# checkpatch.pl validates SPDX tags with scripts/spdxcheck.py, which
# needs ply and GitPython: Debian's, not those of a python3 earlier in
# PATH.
if ! /usr/bin/python3 -c 'import ply, git' 2>/dev/null; then
	[ "$(id -u)" -eq 0 ] ||
		die "checkpatch needs python3-ply and python3-git (apt-get install)"
	echo "series-check: installing python3-ply python3-git" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends python3-ply python3-git > /dev/null ||
		die "cannot install python3-ply python3-git"
fi

# One series-check at a time, and no make series under it.
mkdir -p "$OBJ" "$LOGS"
exec 9> "$BUILD/.build-series.lock"
until flock -w 30 9; do
	echo "series-check: waiting for another make series or series-check" >&2
done

kmake() {
	nice make -s -C "$SREPO" O="$OBJ" ARCH=x86_64 "$@"
}

# Options our Kconfig files define that the .config lacks.
missing_options() {
	local sym

	for sym in $(sed -n 's/^config \([A-Z0-9_]*\)$/\1/p' \
			"$SREPO"/mm/damon/Kconfig \
			"$SREPO"/samples/damon/Kconfig 2>/dev/null); do
		grep -q "^CONFIG_$sym=y$" "$OBJ/.config" || printf ' %s' "$sym"
	done
}

failed=0
results=()
for n in "${want[@]}"; do
	c=${commits[$((n - 1))]:-}
	[ -n "$c" ] || die "there is no patch $n"
	p=${patches[$((n - 1))]}
	subject=$(git -C "$SREPO" log -1 --format=%s "$c")
	log=$LOGS/$(printf '%04d' "$n").log
	build=ok
	style=ok
	echo "series-check: [$n/${#commits[@]}] $subject" >&2

	git -C "$SREPO" checkout -q --detach "$c" || die "cannot check out $c"
	# Our objects are compiled again at every patch, so that each patch
	# reports every warning its tree has in our files, not only those of
	# the files it changed.
	find "$OBJ/mm/damon" "$OBJ/samples/damon" -name '*.o' -delete \
		2> /dev/null
	{
		kmake allnoconfig KCONFIG_ALLCONFIG="$FRAG" &&
		miss=$(missing_options) &&
		{ [ -z "$miss" ] || { echo "not enabled:$miss"; false; }; } &&
		kmake -j"$JOBS" W=1 2>&1 |
			{ grep -v ': warning: ignored by one of the .gitignore files$' ||
			  true; }
	} > "$log" 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then
		build=FAIL
	elif grep -E "^([^ :]*/)?${OURS_RE}[^ :]*:[0-9]+:([0-9]+:)? warning:" \
			"$log" > "$log.ours"; then
		build=WARN
	fi
	rm -f "$log.ours"

	(cd "$SREPO" && PATH=/usr/bin:$PATH ./scripts/checkpatch.pl \
		--strict --terse -q --ignore FILE_PATH_CHANGES "$p") \
		> "$log.checkpatch" 2>&1 || style=FAIL

	if [ $build != ok ] || [ $style != ok ]; then
		failed=$((failed + 1))
		[ $build != ok ] && grep -E 'error|warning|not enabled' "$log" |
			head -20 | sed 's/^/    /' >&2
		[ $style != ok ] && sed 's/^/    /' "$log.checkpatch" >&2
	fi
	results+=("$(printf '%3d  build %-4s  checkpatch %-4s  %s' "$n" \
		"$build" "$style" "$subject")")
done

echo
printf '%s\n' "${results[@]}"
echo
echo "series-check: ${#want[@]} patches, $((${#want[@]} - failed)) clean," \
	"$failed failing (logs: ${LOGS#"$REPO"/})"
[ $failed -eq 0 ]
