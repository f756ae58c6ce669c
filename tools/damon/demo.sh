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
#   demo.sh             make run
#   demo.sh --compare   make run-compare: the same run on the stock
#                       kernel (the base tree's own DAMON), then on ours,
#                       both drawn in build/heatmap-compare.png and .svg;
#                       both keep their intervals fixed, as the stock
#                       kernel cannot tune them
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
#                to boot as it is.  With --compare, the kernel compared
#                with stock.
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

compare=0
guest_opts=()
if [ "${1:-}" = --compare ]; then
	compare=1
	guest_opts=(--tune off)
fi

if [ -n "${PID:-}" ]; then
	echo "run: PID= cannot work: DAMON runs in a QEMU guest, which does" \
		"not see the host's processes." >&2
	echo "run: run the program in the guest instead:" \
		"make run WORKLOAD=\"command args\"" >&2
	exit 2
fi

# Set image to a kernel to boot, built first if it is a flavour, and
# label to its name in the figure.
kernel_image() {
	case $1 in
	bench)	label="our DAMON (bench kernel: no debug options)" ;;
	test)	label="our DAMON (test kernel: debug options on, slower)" ;;
	stock)	label="stock DAMON (the base Linux 6.12 tree's own)" ;;
	*)	[ -f "$1" ] || { echo "run: no kernel image at $1" >&2; return 2; }
		image=$1
		label="kernel ${1#"$REPO"/}"
		return 0 ;;
	esac
	"$T/build-kernel.sh" "$1" || return 1
	image=$BUILD/obj-$1/arch/x86/boot/bzImage
}

# The figure needs matplotlib: install it now if make deps did not.
"$T/prepare-tree.sh" deps || exit 1

ours=${DEMO_KERNEL:-bench}
if [ $compare = 1 ]; then
	kernels=(stock "$ours")
	names=(demo-stock demo)
else
	kernels=("$ours")
	names=(demo)
fi
images=() labels=()
for k in "${kernels[@]}"; do
	kernel_image "$k" || exit $?
	images+=("$image")
	labels+=("$label")
done

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
runs=()
for i in "${!images[@]}"; do
	name=${names[$i]}
	echo "run: booting ${images[$i]#"$REPO"/} (console: build/vm/$name/console.log)"
	VM_QUIET=1 "$T/vm-run" --kernel "${images[$i]}" --name "$name" \
		--timeout 600 --append kunit.enable=0 -- "$T/demo-guest.sh" \
		"${guest_opts[@]}" "${stop[@]}" /tmp/out "${cmd[@]}"
	rc=$?
	out=$BUILD/vm/$name/out
	if [ -s "$out/commands.txt" ]; then
		if [ $compare = 0 ]; then
			echo
			echo "The guest drove DAMON with these commands (as root):"
			sed 's/^/    /' "$out/commands.txt"
			echo
		else
			echo "run: ${labels[$i]}: the sysfs commands are in" \
				"${out#"$REPO"/}/commands.txt"
		fi
	fi
	if [ $rc -ne 0 ]; then
		echo "run: the guest failed; see $BUILD/vm/$name/console.log" >&2
		grep -E '^demo: ' "$BUILD/vm/$name/console.log" |
			sed 's/^/run: /' >&2
		exit 1
	fi
	runs+=("${labels[$i]}=$out")
done

if [ $compare = 1 ]; then
	figure=$BUILD/heatmap-compare
	title="Stock DAMON and ours, watching $what"
else
	figure=$BUILD/heatmap
	title="What DAMON saw of $what"
fi
rm -f "$figure.png" "$figure.svg"
"$PYTHON" "$T/heatmap.py" --phases "$PHASES" --title "$title" \
	--out "$figure" "${runs[@]}"
