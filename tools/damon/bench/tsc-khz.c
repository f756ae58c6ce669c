// SPDX-License-Identifier: GPL-2.0
/*
 * Print the host's TSC frequency in kHz, for the guest's tsc_early_khz=.
 *
 * Under QEMU TCG the guest reads the host's TSC.  A guest kernel
 * calibrates it against the PIT, which on a busy host fails often enough;
 * then it marks the TSC unstable and keeps time with jiffies, 4 ms steps
 * that hrtimers and every measurement inherit.  Told the frequency, it
 * skips the calibration.
 */

#include <stdio.h>
#include <time.h>
#include <x86intrin.h>

static unsigned long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int main(void)
{
	struct timespec pause = { .tv_nsec = 200 * 1000 * 1000 };
	unsigned long long t0, t1, c0, c1;

	t0 = mono_ns();
	c0 = __rdtsc();
	nanosleep(&pause, NULL);
	c1 = __rdtsc();
	t1 = mono_ns();
	printf("%llu\n", (c1 - c0) * 1000000ULL / (t1 - t0));
	return 0;
}
