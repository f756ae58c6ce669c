#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Smoke test: the running kernel carries our DAMON, and the sysfs ABI is
# present exactly when the kernel was configured with it.

ksft_skip=4
fails=0

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: needs root"
	exit $ksft_skip
fi
if [ ! -r /proc/config.gz ]; then
	echo "SKIP: needs CONFIG_IKCONFIG_PROC"
	exit $ksft_skip
fi

config_has() {
	zcat /proc/config.gz | grep -q -x "$1=y"
}

config_has CONFIG_DAMON || fail "CONFIG_DAMON is not set"

for sym in damon_new_ctx damon_destroy_ctx damon_set_regions; do
	grep -q -w "$sym" /proc/kallsyms || fail "$sym is not in the kernel"
done

if config_has CONFIG_DAMON_SYSFS; then
	[ -d /sys/kernel/mm/damon/admin ] ||
		fail "CONFIG_DAMON_SYSFS=y but /sys/kernel/mm/damon/admin is missing"
else
	[ ! -e /sys/kernel/mm/damon ] ||
		fail "/sys/kernel/mm/damon exists without CONFIG_DAMON_SYSFS"
fi

[ $fails -eq 0 ] && echo "PASS"
exit $((fails > 0))
