#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Prepare the kernel tree our DAMON is built in: Debian's linux-source-6.12
# with the base's own DAMON removed and this repository laid over it.
#
#   prepare-tree.sh deps    install the host packages the build and the guest need
#   prepare-tree.sh tree    unpack once, then re-sync our files (every build)
#   prepare-tree.sh stock   unpack an untouched base tree (bench baseline)
#
# Everything lands under $BUILD (default: <repo>/build).

set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$REPO/build}
TREE=${TREE:-$BUILD/linux}
STOCK=${STOCK:-$BUILD/linux-stock}
TARBALL=${TARBALL:-/usr/src/linux-source-6.12.tar.xz}

# Paths the base tree's DAMON lives at; the first five are ours to fill.
OWNED_DIRS="mm/damon samples/damon tools/testing/selftests/damon
	Documentation/mm/damon Documentation/admin-guide/mm/damon"
OWNED_FILES="include/linux/damon.h include/trace/events/damon.h
	Documentation/ABI/testing/sysfs-kernel-mm-damon"

# python3-matplotlib draws make run's figure.
PKGS="linux-source-6.12 qemu-system-x86 flex bison bc libelf-dev libssl-dev
	cpio python3 python3-matplotlib kmod rsync gcc make perl xz-utils"

log() { echo "prepare: $*" >&2; }

install_deps() {
	local missing="" p

	for p in $PKGS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	log "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing >/dev/null
}

unpack() {
	local dst=$1 tmp

	tmp=$dst.unpacking
	rm -rf "$tmp"
	mkdir -p "$tmp"
	log "unpacking $(basename "$TARBALL") into $dst"
	tar -xf "$TARBALL" -C "$tmp" --strip-components=1
	mv "$tmp" "$dst"
}

# Remove the base's DAMON, translations included, so nothing of it is
# built, documented or read by accident.
strip_base_damon() {
	local p

	for p in $OWNED_DIRS $OWNED_FILES; do
		rm -rf "${TREE:?}/$p"
	done
	find "$TREE/Documentation/translations" -type d -name damon -prune \
		-exec rm -rf {} +
}

# Base files outside our paths that need to know about us.  Each edit is
# idempotent so a half-prepared tree can be finished by a re-run.
patch_base() {
	local f

	# The samples hook only once we ship samples/damon/Kconfig, which
	# "source" would otherwise fail to find.
	if [ -f "$REPO/samples/damon/Kconfig" ]; then
		f=$TREE/samples/Kconfig
		grep -q 'samples/damon/Kconfig' "$f" ||
			sed -i 's|^source "samples/rust/Kconfig"|&\n\nsource "samples/damon/Kconfig"|' "$f"
		grep -q 'samples/damon/Kconfig' "$f" ||
			{ log "cannot hook samples/Kconfig"; exit 1; }
		f=$TREE/samples/Makefile
		grep -q 'damon/' "$f" ||
			echo 'obj-$(CONFIG_SAMPLE_DAMON_WSSE)		+= damon/' >> "$f"
	fi

	# Swap the base's MAINTAINERS entry for ours, in the same sorted place;
	# rewrite only on a change so the file keeps its mtime otherwise.
	python3 - "$TREE/MAINTAINERS" "$REPO/MAINTAINERS" <<'PY'
import sys
base_path, ours_path = sys.argv[1], sys.argv[2]
ours = open(ours_path).read().strip('\n').split('\n')
old = open(base_path).read()
lines = old.split('\n')
start = lines.index(ours[0])
end = start
while end < len(lines) and lines[end] != '':
    end += 1
lines[start:end] = ours
new = '\n'.join(lines)
if new != old:
    open(base_path, 'w').write(new)
PY
}

# Lay our files over the tree.  rsync keeps mtimes, so unchanged files do
# not trigger rebuilds; files deleted from the repo vanish from the tree.
sync_ours() {
	local p

	for p in $OWNED_DIRS; do
		if [ -d "$REPO/$p" ]; then
			mkdir -p "$TREE/$p"
			# Code 24: a file vanished mid-copy (an editor's
			# temporary); the next sync picks up what replaced it.
			rsync -a --delete --exclude='*.o' --exclude='.*.cmd' \
				--exclude='*.ko' --exclude='*.mod*' \
				"$REPO/$p/" "$TREE/$p/" || [ $? -eq 24 ]
		else
			rm -rf "${TREE:?}/$p"
		fi
	done
	for p in $OWNED_FILES; do
		if [ -f "$REPO/$p" ]; then
			rsync -a "$REPO/$p" "$TREE/$p"
		else
			rm -f "${TREE:?}/$p"
		fi
	done
}

prepare_tree() {
	if [ ! -f "$TREE/.damon-prepared" ]; then
		[ -d "$TREE" ] || unpack "$TREE"
		strip_base_damon
		touch "$TREE/.damon-prepared"
	fi
	patch_base
	sync_ours
}

prepare_stock() {
	[ -d "$STOCK" ] || unpack "$STOCK"
}

case "${1:-tree}" in
deps)	install_deps ;;
tree)	install_deps; prepare_tree ;;
stock)	install_deps; prepare_stock ;;
*)	echo "usage: $0 [deps|tree|stock]" >&2; exit 2 ;;
esac
