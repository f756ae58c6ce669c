#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: kernel style of our C files (checkpatch --strict) and a W=1
# build of mm/damon that must add no warning.

set -uo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$REPO/build}
TREE=$BUILD/linux
rc=0

"$REPO/tools/damon/build-kernel.sh" test || exit 1

cd "$REPO" || exit 1
files=$(git ls-files '*.c' '*.h' | grep -v '^tools/damon/')
# shellcheck disable=SC2086
if ! "$TREE/scripts/checkpatch.pl" --strict --no-tree --terse -q \
	--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG -f $files; then
	echo "check: checkpatch found problems" >&2
	rc=1
fi

# Rebuild our objects with W=1; any warning is a failure.
find "$BUILD/obj-test/mm/damon" "$BUILD/obj-test/samples/damon" \
	-name '*.o' -delete 2>/dev/null
log=$BUILD/check-w1.log
"$REPO/tools/damon/build-kernel.sh" test W=1 mm/damon/ 2>&1 | tee "$log"
if [ -d "$REPO/samples/damon" ]; then
	"$REPO/tools/damon/build-kernel.sh" test W=1 samples/damon/ 2>&1 |
		tee -a "$log"
fi
if grep -q 'warning:' "$log"; then
	echo "check: W=1 warnings in our files" >&2
	rc=1
fi
[ $rc -eq 0 ] && echo "check: clean"
exit $rc
