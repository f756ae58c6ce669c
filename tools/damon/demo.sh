#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make run: boot the bench kernel (no debug options), run a workload with
# a known, changing access pattern, monitor it with DAMON through the
# sysfs interface and show what DAMON saw: the sysfs commands that drove
# it, a heatmap of access frequency over time and address, and the
# working set over time beside the workload's true one, in the terminal
# and as a figure, build/heatmap.png and build/heatmap.svg.
#
# Environment:
#   WORKLOAD="command args"  monitor a command of your own instead; it runs
#                in the guest, which sees the host's files read-only and a
#                writable /tmp.  Monitoring lasts until it exits.
#   DURATION=SEC end monitoring after SEC seconds (for a command that does
#                not exit by itself).
#   DEMO_KERNEL=bench|test|stock|<path to a bzImage>
#                the kernel flavour to build and boot (default bench;
#                stock is the base tree's own DAMON), or a kernel image
#                to boot as it is.
# There is no PID= knob: the guest cannot see the host's processes, so
# the program to monitor has to run in the guest, through WORKLOAD.

set -uo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$REPO/build}
T=$REPO/tools/damon
DEMO=$BUILD/demo
# Debian's python, which python3-matplotlib installs into: a python3
# earlier on PATH (a virtualenv, pyenv) may not have matplotlib.
PYTHON=/usr/bin/python3

if [ -n "${PID:-}" ]; then
	echo "run: PID= cannot work: DAMON runs in a QEMU guest, which does" \
		"not see the host's processes." >&2
	echo "run: run the program in the guest instead:" \
		"make run WORKLOAD=\"command args\"" >&2
	exit 2
fi

# The figure needs matplotlib: install it now if make deps did not.
"$T/prepare-tree.sh" deps || exit 1

kernel=${DEMO_KERNEL:-bench}
case $kernel in
bench)	label="our DAMON (bench kernel: no debug options)" ;;
test)	label="our DAMON (test kernel: debug options on, slower)" ;;
stock)	label="stock DAMON (the base Linux 6.12 tree's own)" ;;
*)	[ -f "$kernel" ] || { echo "run: no kernel image at $kernel" >&2; exit 2; }
	label="kernel ${kernel#"$REPO"/}" ;;
esac
case $kernel in
bench|test|stock)
	"$T/build-kernel.sh" "$kernel" || exit 1
	kernel=$BUILD/obj-$kernel/arch/x86/boot/bzImage ;;
esac

# Six buffers of 16 MiB; one phase of 2.5 s each, then idle until the end
# of monitoring, which comes when the last timed phase is over.
PHASES="2500 0 2500 1,2 2500 4 2500 5,3 2500 none 2500 0,5 0 none"
stop=()
mkdir -p "$DEMO"
if [ -n "${WORKLOAD:-}" ]; then
	# shellcheck disable=SC2206	# the command is split like a shell would
	cmd=($WORKLOAD)
	PHASES=
	what=${cmd[*]}
else
	gcc -O2 -Wall -o "$DEMO/access_memory" \
		"$REPO/tools/testing/selftests/damon/access_memory.c" || exit 1
	# shellcheck disable=SC2206
	cmd=("$DEMO/access_memory" 6 16 $PHASES)
	stop=(--stop-at '^phase 5 ')
	what="a workload sweeping six 16 MiB buffers, a phase every 2.5 s"
fi
[ -n "${DURATION:-}" ] && stop=(--stop-after "$DURATION")

echo "run: monitoring: ${cmd[*]}"
echo "run: booting ${kernel#"$REPO"/} (console: build/vm/demo/console.log)"
VM_QUIET=1 "$T/vm-run" --kernel "$kernel" --name demo --timeout 600 \
	--append kunit.enable=0 -- "$T/demo-guest.sh" "${stop[@]}" \
	/tmp/out "${cmd[@]}"
rc=$?
out=$BUILD/vm/demo/out
if [ -s "$out/commands.txt" ]; then
	echo
	echo "The guest drove DAMON with these commands (as root):"
	sed 's/^/    /' "$out/commands.txt"
	echo
fi
if [ $rc -ne 0 ]; then
	echo "run: the guest failed; see $BUILD/vm/demo/console.log" >&2
	grep -E '^demo: ' "$BUILD/vm/demo/console.log" | sed 's/^/run: /' >&2
	exit 1
fi
rm -f "$BUILD/heatmap.png" "$BUILD/heatmap.svg"
"$PYTHON" "$T/heatmap.py" --phases "$PHASES" \
	--title "What DAMON saw of $what" --out "$BUILD/heatmap" "$label=$out"
