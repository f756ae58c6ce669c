#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make run: boot the bench kernel (no debug options), run a workload with
# a known, changing access pattern, monitor it with DAMON and show what
# DAMON saw: a heatmap of access frequency over time and address, and the
# working set over time beside the workload's true one.
#
# WORKLOAD="command args" monitors a command of your own instead; it runs
# in the guest, which sees the host's files read-only and a writable /tmp.

set -uo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$REPO/build}
T=$REPO/tools/damon
KERNEL=$BUILD/obj-bench/arch/x86/boot/bzImage
DEMO=$BUILD/demo

# Six buffers of 16 MiB; one phase of 2.5 s each.
PHASES="2500 0 2500 1,2 2500 4 2500 5,3 2500 none 2500 0,5"

"$T/build-kernel.sh" bench || exit 1
mkdir -p "$DEMO"
if [ -n "${WORKLOAD:-}" ]; then
	# shellcheck disable=SC2206	# the command is split like a shell would
	cmd=($WORKLOAD)
	PHASES=
else
	gcc -O2 -Wall -o "$DEMO/access_memory" \
		"$REPO/tools/testing/selftests/damon/access_memory.c" || exit 1
	# shellcheck disable=SC2206
	cmd=("$DEMO/access_memory" 6 16 $PHASES)
fi

echo "run: monitoring: ${cmd[*]}"
VM_QUIET=1 "$T/vm-run" --kernel "$KERNEL" --name demo --timeout 600 \
	--append kunit.enable=0 -- "$T/demo-guest.sh" /tmp/out "${cmd[@]}" ||
	{ echo "run: the guest failed; see $BUILD/vm/demo/console.log" >&2; exit 1; }
out=$BUILD/vm/demo/out
python3 "$T/heatmap.py" "$out/trace.txt" "$out/workload.txt" \
	"$BUILD/heatmap.png" "$PHASES"
