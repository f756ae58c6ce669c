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
exec 9> "$BUILD/.build-$flavour.lock"
flock 9

if [ "$flavour" = stock ]; then
	"$REPO/tools/damon/prepare-tree.sh" stock
else
	"$REPO/tools/damon/prepare-tree.sh" tree
fi

obj=$BUILD/obj-$flavour
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
	kmake olddefconfig
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
kmake -j"$jobs" "$@"
