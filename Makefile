# SPDX-License-Identifier: GPL-2.0
#
# Front door of the DAMON tree: prepares a Linux 6.12 tree with our DAMON,
# builds it and runs it in QEMU.  Build products go under build/.

REPO	:= $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
T	:= $(REPO)/tools/damon
BUILD	:= $(REPO)/build

.PHONY: all help deps prepare kernel test run run-compare shell bench stress \
	check clean distclean

all: kernel

# "make bench reclaim ...": the words after bench name its sections.
ifeq ($(firstword $(MAKECMDGOALS)),bench)
BENCH_SECTIONS := $(wordlist 2,$(words $(MAKECMDGOALS)),$(MAKECMDGOALS))
$(eval $(BENCH_SECTIONS):;@:)
endif

help:
	@echo "make run        the demo (build, boot, monitor a workload); draws"
	@echo "                  build/heatmap.png and .svg"
	@echo "                  WORKLOAD=\"cmd args\" DURATION=s DEMO_KERNEL=stock"
	@echo "make run-compare  the demo on the stock kernel and on ours, both in"
	@echo "                  build/heatmap-compare.png and .svg"
	@echo "make test       KUnit suites and kselftests in QEMU"
	@echo "                  KUNIT_FILTER=damon SELFTESTS=damon_smoke.sh NO_KUNIT=1"
	@echo "make shell      a shell in the guest on the test kernel"
	@echo "make kernel     build the test kernel only"
	@echo "make bench      benchmarks on a kernel without debug options"
	@echo "                  make bench reclaim stock-vs-ours: only those sections"
	@echo "make stress     reliability_* kselftests and the sysfs fuzzer on the"
	@echo "                  test, kcsan and failslab kernels"
	@echo "                  STRESS_SEEDS=3 STRESS_OPS=10000 STRESS_KERNELS=test"
	@echo "make check      checkpatch --strict and a W=1 build of mm/damon"
	@echo "make series     the patch series and its cover letter, in build/series"
	@echo "make series-check  build and checkpatch every patch of the series"
	@echo "make clean      remove the build directories, keep the unpacked tree"

deps:
	$(T)/prepare-tree.sh deps

prepare:
	$(T)/prepare-tree.sh tree

kernel:
	$(T)/build-kernel.sh test

test:
	$(T)/run-tests.sh

shell: kernel
	$(T)/vm-run --name shell --append "kunit.enable=0" --shell

run:
	$(T)/demo.sh

run-compare:
	$(T)/demo.sh --compare

bench:
	$(T)/bench/run.sh $(BENCH_SECTIONS)

stress:
	$(T)/stress.sh

check:
	$(T)/check.sh

.PHONY: series series-check
series:
	$(T)/series/series.py

series-check:
	$(T)/series/check.sh

clean:
	rm -rf $(BUILD)/obj-* $(BUILD)/vm $(BUILD)/kselftest*

distclean:
	rm -rf $(BUILD)
