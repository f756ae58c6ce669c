#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build a kernel flavour out of tree:
#   build-kernel.sh test    our DAMON, KUnit and the debug options
#   build-kernel.sh bench   our DAMON, no debug options
#   build-kernel.sh stock   the untouched base tree's DAMON, no debug options
#   build-kernel.sh kcsan   the test kernel with KCSAN in place of KASAN
#   build-kernel.sh failslab  the test kernel with fault injection
#
# The .config is regenerated only when its inputs change, so a rebuild
# after editing one file under mm/damon recompiles just that file.
#
# The compiler's output goes to build/build-<flavour>.log, which ends with
# the exit status; the terminal gets the warnings and errors, a progress
# line every 30 s (objects compiled so far, against the number of objects
# of the last complete build) and one line at the end.

set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$REPO/build}
CONF=$REPO/tools/damon/config
flavour=${1:-test}
shift || true

case $flavour in
test)	src=$BUILD/linux; frags="$CONF/common.config $CONF/test.config" ;;
bench)	src=$BUILD/linux; frags="$CONF/common.config $CONF/bench.config" ;;
stock)	src=$BUILD/linux-stock; frags="$CONF/common.config $CONF/stock.config" ;;
# KCSAN and KASAN exclude each other: the test options but KASAN's, from a
# copy of test.config made below.
kcsan)	src=$BUILD/linux
	frags="$CONF/common.config $BUILD/obj-kcsan/test-nokasan.config"
	frags+=" $CONF/kcsan.config" ;;
failslab) src=$BUILD/linux
	frags="$CONF/common.config $CONF/test.config $CONF/failslab.config" ;;
*)	echo "usage: $0 test|bench|stock|kcsan|failslab [make targets]" >&2
	exit 2 ;;
esac

# One build per flavour at a time: two makes in one O= tree corrupt it.
mkdir -p "$BUILD"
start=$(date +%s)
log=$BUILD/build-$flavour.log
obj=$BUILD/obj-$flavour

# "4m05s" or "42 s": the time since start.
elapsed() {
	local s=$(( $(date +%s) - start ))

	if [ $s -ge 60 ]; then
		printf '%dm%02ds' $((s / 60)) $((s % 60))
	else
		printf '%d s' $s
	fi
}

exec 9> "$BUILD/.build-$flavour.lock"
until flock -w 30 9; do
	echo "build: $flavour kernel: waiting for another $flavour build," \
		"$(elapsed)" >&2
done

# Kbuild's one line per step (e.g. "  CC      mm/damon/core.o"), make's
# directory changes and the final "Kernel: ... is ready": the log has them
# all; the terminal gets everything else (diagnostics).
STEP_RE='^(  [A-Z][A-Za-z0-9_-]*:?( \[M\])? +[^ ]|Kernel: |'
STEP_RE+='make(\[[0-9]+\])?: (Entering|Leaving) directory )'
# The steps that compile one object.
OBJ_RE='^  (CC|AS|HOSTCC|HOSTCXX|RUSTC)( \[M\])? +[^ ]'

# The objects of the last complete build of this flavour (written below),
# else of another flavour, as a yardstick for a build from scratch.
full=$(cat "$obj/.objects" 2>/dev/null ||
	cat "$BUILD"/obj-*/.objects 2>/dev/null | head -1 || true)

# What the build is at: the objects compiled so far and the last one.
status() {
	local n last

	[ -s "$log" ] || { echo "$1"; return; }
	n=$(grep -c -E "$OBJ_RE" "$log" || true)
	last=$(grep -E "$OBJ_RE" "$log" | tail -1 | awk '{ print $NF }')
	printf '%s objects compiled' "$n"
	[ -n "$full" ] && printf ' (a full build: about %s)' "$full"
	[ -n "$last" ] && printf ', at %s' "$last"
	echo
}

# tick WHAT: a line every 30 s until killed.  The one-second sleeps keep
# no pipe of the caller open for long once the ticker is gone.
tick() {
	local last

	last=$(date +%s)
	while sleep 1 > /dev/null 2>&1; do
		[ $(( $(date +%s) - last )) -ge 30 ] || continue
		last=$(date +%s)
		echo "build: $flavour kernel: $(status "$1"), $(elapsed)" >&2
	done
}

ticker=
start_tick() { tick "$1" & ticker=$!; }
stop_tick() {
	[ -n "$ticker" ] || return 0
	kill "$ticker" 2>/dev/null || true
	wait "$ticker" 2>/dev/null || true
	ticker=
}
trap stop_tick EXIT

: > "$log"
start_tick "preparing the source tree"
if [ "$flavour" = stock ]; then
	"$REPO/tools/damon/prepare-tree.sh" stock
else
	"$REPO/tools/damon/prepare-tree.sh" tree
fi
stop_tick

mkdir -p "$obj"
if [ "$flavour" = kcsan ]; then
	grep -v -E '^(# )?CONFIG_KASAN' "$CONF/test.config" \
		> "$obj/test-nokasan.config"
fi
kmake() { make -s -C "$src" O="$obj" ARCH=x86_64 "$@"; }

# Kconfig files of ours feed the stamp too: a symbol they add must be
# picked up from the fragments even when the fragments did not change.
stamp=$( { cat $frags "$src"/mm/damon/Kconfig "$src"/samples/damon/Kconfig \
	2>/dev/null || true; } | sha1sum | cut -d' ' -f1)
if [ ! -f "$obj/.config" ] || [ "$(cat "$obj/.config-stamp" 2>/dev/null)" != "$stamp" ]; then
	echo "build: configuring $flavour kernel" >&2
	# shellcheck disable=SC2086
	cat $frags > "$obj/.config"
	start_tick "configuring"
	kmake olddefconfig
	stop_tick
	# Tell about fragment lines Kconfig did not keep (dependencies).
	# shellcheck disable=SC2086
	grep -h -E '^(CONFIG_[A-Z0-9_]+=|# CONFIG_[A-Z0-9_]+ is not set)' $frags |
	while read -r line; do
		case $line in
		"# "*)	sym=${line#\# }; sym=${sym%% *}
			grep -q "^$sym=" "$obj/.config" &&
				echo "build: warning: $sym still set" >&2 ;;
		*)	grep -qxF "$line" "$obj/.config" ||
				echo "build: warning: $line not taken" >&2 ;;
		esac
	done
	echo "$stamp" > "$obj/.config-stamp"
fi

jobs=$(( $(nproc) + 1 ))
if [ $# -eq 0 ]; then
	set -- bzImage
fi
start_tick "compiling"
# Not kmake: without -s, kbuild names each step, which the log keeps.
{
	rc=0
	make -C "$src" O="$obj" ARCH=x86_64 -j"$jobs" "$@" 2>&1 || rc=$?
	echo "$rc" > "$log.rc"
} | tee -a "$log" | { grep --line-buffered -v -E "$STEP_RE" >&2 || true; }
stop_tick
rc=$(cat "$log.rc" 2>/dev/null || echo 1)
rm -f "$log.rc"
echo "build: exit status $rc after $(elapsed)" >> "$log"

n=$(grep -c -E "$OBJ_RE" "$log" || true)
where=${log#"$REPO"/}
if [ "$rc" -ne 0 ]; then
	echo "build: $flavour kernel FAILED (status $rc) after $(elapsed);" \
		"log: $where" >&2
	exit "$rc"
fi
if [ -f "$obj/vmlinux" ]; then
	find "$obj" -name '*.o' | wc -l | tr -d ' ' > "$obj/.objects"
fi
if [ "$n" -eq 0 ]; then
	echo "build: $flavour kernel up to date ($(elapsed); log: $where)" >&2
else
	echo "build: $flavour kernel built in $(elapsed), $n objects" \
		"compiled (log: $where)" >&2
fi
