// SPDX-License-Identifier: GPL-2.0
/*
 * DAMON operations for virtual address spaces of processes.
 *
 * Two sets live here.  "vaddr" follows the mappings of a process: it starts
 * from the mapped span minus its two largest unmapped gaps (the gaps
 * between heap and mmap area and between mmap area and stack, on a usual
 * layout) and refits to it every ops update interval.  "fvaddr" samples
 * just the ranges its user gave.  Both sample the Accessed bits of the page
 * table entries mapping one random address per region.
 */

#define pr_fmt(fmt) "damon-va: " fmt

#include <linux/damon.h>
#include <linux/hugetlb.h>
#include <linux/memcontrol.h>
#include <linux/maple_tree.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/mmu_notifier.h>
#include <linux/moduleparam.h>
#include <linux/oom.h>
#include <linux/page_idle.h>
#include <linux/pagewalk.h>
#include <linux/sched/mm.h>

#include <asm/tlbflush.h>

#include "../internal.h"
#include "ops-common.h"

/* Parameters under /sys/module/damon_vaddr/, not the file's name. */
#undef MODULE_PARAM_PREFIX
#define MODULE_PARAM_PREFIX "damon_vaddr."

/* === Targets === */

/*
 * The mm of @t's process with a reference, or NULL once it exited.  A
 * leader that exited before the other threads of its process has no mm of
 * its own any more: take it from a thread that has.
 */
static struct mm_struct *damon_va_get_mm(struct damon_target *t)
{
	struct task_struct *task, *p;
	struct mm_struct *mm = NULL;

	task = get_pid_task(t->pid, PIDTYPE_PID);
	if (!task)
		return NULL;
	p = find_lock_task_mm(task);
	if (p) {
		if (!(p->flags & PF_KTHREAD)) {
			mm = p->mm;
			mmget(mm);
		}
		task_unlock(p);
	}
	put_task_struct(task);
	return mm;
}

/*
 * Whether @t's task still exists.  A task that exited stays until its parent
 * reaps it, and so does the target: a tool that checks its child with
 * waitpid(WNOHANG) and then writes a state command must not race with the
 * kdamond stopping.  Sampling finds no mm meanwhile and counts nothing.
 */
static bool damon_va_target_valid(struct damon_target *t)
{
	bool valid;

	rcu_read_lock();
	valid = !!pid_task(t->pid, PIDTYPE_PID);
	rcu_read_unlock();
	return valid;
}

/* === The three regions === */

static unsigned long damon_va_range_sz(const struct damon_addr_range *range)
{
	return range->end - range->start;
}

/* Whether @mt has a gap of at least @size bytes in [@lo, @hi). */
static bool damon_va_gap_fits(struct maple_tree *mt, unsigned long lo,
			      unsigned long hi, unsigned long size)
{
	MA_STATE(mas, mt, 0, 0);

	return !mas_empty_area(&mas, lo, hi - 1, size);
}

/*
 * Find the largest gap of @mt in [@lo, @hi), the lowest one of ties.  The
 * tree keeps the largest gap under each node, so each question "is there a
 * gap of at least this size" costs a walk from the root; a binary search
 * over the size asks about 64 of them, whatever the number of entries.
 */
static bool damon_va_largest_gap(struct maple_tree *mt, unsigned long lo,
				 unsigned long hi, struct damon_addr_range *gap)
{
	MA_STATE(mas, mt, 0, 0);
	unsigned long fits = 0, misses, mid;

	if (lo >= hi)
		return false;
	misses = hi - lo + 1;
	while (misses - fits > 1) {
		mid = fits + (misses - fits) / 2;
		if (damon_va_gap_fits(mt, lo, hi, mid))
			fits = mid;
		else
			misses = mid;
	}
	if (!fits || mas_empty_area(&mas, lo, hi - 1, fits))
		return false;
	/* The lowest place a largest gap fits is where one starts. */
	gap->start = mas.index;
	gap->end = mas.index + fits;
	return true;
}

/* Cut the two gaps out of [@start, @end) and store what is left. */
static int damon_va_cut_gaps(unsigned long start, unsigned long end,
			     struct damon_addr_range *gaps, int nr_gaps,
			     struct damon_addr_range *ranges)
{
	int i;

	if (nr_gaps == 2 && gaps[1].start < gaps[0].start)
		swap(gaps[0], gaps[1]);
	for (i = 0; i < nr_gaps; i++) {
		ranges[i].start = start;
		ranges[i].end = gaps[i].start;
		start = gaps[i].end;
	}
	ranges[i].start = start;
	ranges[i].end = end;
	return nr_gaps + 1;
}

/*
 * The mapped span of @mt, [first entry's start, last entry's end), minus its
 * two largest gaps: up to three sorted ranges, stored in @ranges.  Gaps
 * before the first and after the last entry do not count.  Runs in time
 * logarithmic in the number of entries.  The caller holds the tree's lock.
 *
 * Return: the number of ranges, zero for an empty tree.
 */
static int damon_va_three_regions_mt(struct maple_tree *mt,
				     struct damon_addr_range *ranges)
{
	MA_STATE(mas, mt, 0, 0);
	struct damon_addr_range gaps[2], left, right;
	unsigned long start, end;
	int nr_gaps = 0;

	if (!mas_find(&mas, ULONG_MAX))
		return 0;
	start = mas.index;
	mas_set(&mas, ULONG_MAX);
	if (!mas_find_rev(&mas, 0))
		return 0;
	end = mas.last + 1;

	if (damon_va_largest_gap(mt, start, end, &gaps[0])) {
		bool has_left, has_right;

		nr_gaps++;
		has_left = damon_va_largest_gap(mt, start, gaps[0].start, &left);
		has_right = damon_va_largest_gap(mt, gaps[0].end, end, &right);
		/* On a tie the lower gap wins, as with the first one. */
		if (has_left && (!has_right || damon_va_range_sz(&left) >=
					       damon_va_range_sz(&right)))
			gaps[nr_gaps++] = left;
		else if (has_right)
			gaps[nr_gaps++] = right;
	}
	return damon_va_cut_gaps(start, end, gaps, nr_gaps, ranges);
}

/*
 * The same as damon_va_three_regions_mt() by walking every entry, as DAMON
 * classically did.  Kept as the reference the fast search is tested and
 * measured against.
 */
static int __maybe_unused
damon_va_three_regions_linear(struct maple_tree *mt,
			      struct damon_addr_range *ranges)
{
	MA_STATE(mas, mt, 0, 0);
	struct damon_addr_range gaps[2] = {}, gap;
	unsigned long start = 0, end = 0;
	bool first = true;
	int nr_gaps;
	void *entry;

	mas_for_each(&mas, entry, ULONG_MAX) {
		if (first) {
			start = mas.index;
			first = false;
		} else if (mas.index > end) {
			gap.start = end;
			gap.end = mas.index;
			if (damon_va_range_sz(&gap) >
			    damon_va_range_sz(&gaps[0])) {
				gaps[1] = gaps[0];
				gaps[0] = gap;
			} else if (damon_va_range_sz(&gap) >
				   damon_va_range_sz(&gaps[1])) {
				gaps[1] = gap;
			}
		}
		end = mas.last + 1;
	}
	if (first)
		return 0;
	nr_gaps = !!damon_va_range_sz(&gaps[0]) +
		!!damon_va_range_sz(&gaps[1]);
	return damon_va_cut_gaps(start, end, gaps, nr_gaps, ranges);
}

/* The three regions of @t's process; zero if it has no mm or mapping. */
static int damon_va_three_regions(struct damon_target *t,
				  struct damon_addr_range *ranges)
{
	struct mm_struct *mm = damon_va_get_mm(t);
	int nr;

	if (!mm)
		return 0;
	mmap_read_lock(mm);
	nr = damon_va_three_regions_mt(&mm->mm_mt, ranges);
	mmap_read_unlock(mm);
	mmput(mm);
	return nr;
}

/* === Initial regions === */

/* Cut @r into @nr_pieces regions of about the same size. */
static void damon_va_split_evenly(struct damon_target *t,
				  struct damon_region *r,
				  unsigned long nr_pieces)
{
	struct damon_region *upper;
	unsigned long end = r->ar.end, sz;

	if (nr_pieces < 2)
		return;
	sz = ALIGN_DOWN(damon_sz_region(r) / nr_pieces, DAMON_MIN_REGION);
	if (!sz)
		return;
	while (r->ar.start + sz < end && --nr_pieces) {
		upper = damon_new_region(r->ar.start + sz, end);
		if (!upper)
			return;
		r->ar.end = upper->ar.start;
		damon_insert_region(upper, r, damon_next_region(r), t);
		r = upper;
	}
}

/*
 * Start @t with its three regions cut into about min_nr_regions regions in
 * all, so that the adaptive adjustment has room to work from the start.
 */
static void damon_va_init_target(struct damon_ctx *ctx, struct damon_target *t)
{
	struct damon_addr_range ranges[3];
	struct damon_region *r, *next;
	unsigned long sz = 0;
	int nr, i;

	/* Regions its user gave stay until the first update. */
	if (damon_nr_regions(t))
		return;
	nr = damon_va_three_regions(t, ranges);
	if (!nr || damon_set_regions(t, ranges, nr))
		return;
	for (i = 0; i < nr; i++)
		sz += damon_va_range_sz(&ranges[i]);
	sz = max(ALIGN(sz / ctx->attrs.min_nr_regions, DAMON_MIN_REGION),
		 DAMON_MIN_REGION);
	damon_for_each_region_safe(r, next, t)
		damon_va_split_evenly(t, r, damon_sz_region(r) / sz);
}

static void damon_va_init(struct damon_ctx *ctx)
{
	struct damon_target *t;

	damon_for_each_target(t, ctx)
		damon_va_init_target(ctx, t);
}

static void damon_va_update(struct damon_ctx *ctx)
{
	struct damon_addr_range ranges[3];
	struct damon_target *t;
	int nr;

	damon_for_each_target(t, ctx) {
		nr = damon_va_three_regions(t, ranges);
		if (nr)
			damon_set_regions(t, ranges, nr);
	}
}

/* === Accessed bits === */

/*
 * A sampling pass reads the Accessed bits of the sampled addresses of a
 * target, then picks the next ones and clears theirs.  Two rounds, since
 * regions may share an Accessed bit (a huge page maps several small
 * regions): clearing one region's next address must not hide the access of
 * a neighbour still to be read.  Regions come in address order, so one
 * lock usually covers many: the VMA is read-locked on its own where the
 * kernel can, so that the process changing its other mappings never waits
 * for the kdamond, and it is dropped every few regions, so that changing
 * this one waits little.  Page tables below a read-locked VMA are not
 * freed, except PTE tables, which pte_offset_map_lock() copes with.
 * Hugetlb mappings go through the page walker, under mmap_lock.
 */

/*
 * A CPU sets no Accessed bit through a TLB entry it caches, and clearing
 * the bit for a sample flushes nothing (nor does reclaim on x86): a hot set
 * small enough to stay in the TLB reads as idle.  If this is set, the TLB
 * entries of a target are flushed after its sampled bits were cleared.
 * Only a page whose bit was found set can have an entry to flush: one whose
 * bit was clear was not touched since the last clearing and flush, so a
 * sample that cleared no set bit flushes nothing.  Off by default, as
 * upstream: each flush waits for an IPI to every CPU that may cache the
 * target's entries, which under a loaded emulator made the kdamond cost
 * several times more.
 */
static bool damon_va_flush_tlb __read_mostly;
module_param_named(flush_tlb, damon_va_flush_tlb, bool, 0600);
MODULE_PARM_DESC(flush_tlb,
		 "Flush a target's TLB after clearing set Accessed bits (default: N)");

/* Addresses sampled under one lock at most, to bound how long it is held. */
#define DAMON_VA_LOCK_BATCH	16

/* The VMA a sampling pass holds, how, and for how many addresses yet. */
struct damon_va_lock {
	struct mm_struct *mm;
	struct vm_area_struct *vma;
	bool mmap_locked;
	unsigned int nr_left;
};

/* A look at the Accessed bit of a sampled address, and what it found. */
struct damon_va_probe {
	bool clear;	/* clear the bit, rather than only read it */
	bool young;	/* read: accessed; cleared: the bit was set */
};

/* Whether @addr was accessed, through any mapping or MMU. */
static bool damon_va_folio_young(struct folio *folio, bool pte_young,
				 struct mm_struct *mm, unsigned long addr)
{
	return pte_young || (folio && !folio_test_idle(folio)) ||
		mmu_notifier_test_young(mm, addr);
}

#ifdef CONFIG_HUGETLB_PAGE
/* A hugetlb entry holds its Accessed bit like a PTE; private is the probe. */
static int damon_va_hugetlb_entry(pte_t *pte, unsigned long hmask,
				  unsigned long addr, unsigned long end,
				  struct mm_walk *walk)
{
	unsigned long base = addr & hmask, size = ~hmask + 1;
	spinlock_t *ptl = huge_pte_lock(hstate_vma(walk->vma), walk->mm, pte);
	pte_t entry = huge_ptep_get(walk->mm, addr, pte);
	struct damon_va_probe *probe = walk->private;
	struct folio *folio;
	bool young;

	if (pte_present(entry)) {
		folio = pfn_folio(pte_pfn(entry));
		young = pte_young(entry);
		if (!probe->clear) {
			probe->young = damon_va_folio_young(folio, young,
							    walk->mm, addr);
		} else {
			if (young) {
				folio_set_young(folio);
				set_huge_pte_at(walk->mm, base, pte,
						pte_mkold(entry), size);
				probe->young = true;
			}
#ifdef CONFIG_MMU_NOTIFIER
			if (mmu_notifier_clear_young(walk->mm, base,
						     base + size))
				probe->young = true;
#endif
			folio_set_idle(folio);
		}
	}
	spin_unlock(ptl);
	return 0;
}
#else
#define damon_va_hugetlb_entry NULL
#endif

/* damon_va_pmd_access() for a huge PMD, locked by the caller. */
static void damon_va_huge_pmd_access(pmd_t *pmd, struct vm_area_struct *vma,
				     unsigned long addr,
				     struct damon_va_probe *probe)
{
	pmd_t pmde = pmdp_get(pmd);
	struct folio *folio;

	if (!pmd_present(pmde) || !pmd_trans_huge(pmde))
		return;
	if (probe->clear) {
		if (damon_pmdp_mkold(pmd, vma, addr))
			probe->young = true;
		return;
	}
	folio = vm_normal_folio_pmd(vma, addr, pmde);
	probe->young = damon_va_folio_young(folio, pmd_young(pmde), vma->vm_mm,
					    addr);
}

/*
 * Probe the Accessed bit of whatever maps @addr below @pmd.  False if the
 * PTE table went away under us.
 */
static bool damon_va_pmd_access(pmd_t *pmd, struct vm_area_struct *vma,
				unsigned long addr, struct damon_va_probe *probe)
{
	spinlock_t *ptl;	/* the page table lock */
	pte_t *pte, entry;
	struct folio *folio;
	pmd_t pmde;

	if (pmd_trans_huge(pmdp_get_lockless(pmd))) {
		ptl = pmd_trans_huge_lock(pmd, vma);
		if (ptl) {
			damon_va_huge_pmd_access(pmd, vma, addr, probe);
			spin_unlock(ptl);
			return true;
		}
	}
	pte = pte_offset_map_lock(vma->vm_mm, pmd, addr, &ptl);
	if (!pte) {
		/* Done if nothing is mapped, or it is under migration. */
		pmde = pmdp_get_lockless(pmd);
		return pmd_none(pmde) || !pmd_present(pmde);
	}
	entry = ptep_get(pte);
	if (pte_present(entry) && !probe->clear) {
		folio = vm_normal_folio(vma, addr, entry);
		probe->young = damon_va_folio_young(folio, pte_young(entry),
						    vma->vm_mm, addr);
	} else if (pte_present(entry) && damon_ptep_mkold(pte, vma, addr)) {
		probe->young = true;
	}
	pte_unmap_unlock(pte, ptl);
	return true;
}

static int damon_va_pmd_entry(pmd_t *pmd, unsigned long addr,
			      unsigned long next, struct mm_walk *walk)
{
	if (!damon_va_pmd_access(pmd, walk->vma, addr, walk->private))
		walk->action = ACTION_AGAIN;
	return 0;
}

/* Probes Accessed bits for the damon_va_probe in private. */
static const struct mm_walk_ops damon_va_walk_ops = {
	.pmd_entry = damon_va_pmd_entry,
	.hugetlb_entry = damon_va_hugetlb_entry,
	.walk_lock = PGWALK_RDLOCK,
};

/* The PMD entry covering @addr in @mm, or NULL if there is no PMD table. */
static pmd_t *damon_va_find_pmd(struct mm_struct *mm, unsigned long addr)
{
	pgd_t *pgd = pgd_offset(mm, addr);
	p4d_t *p4d;
	pud_t *pud, pude;

	if (pgd_none(pgdp_get(pgd)) || unlikely(pgd_bad(pgdp_get(pgd))))
		return NULL;
	p4d = p4d_offset(pgd, addr);
	if (p4d_none(p4dp_get(p4d)) || unlikely(p4d_bad(p4dp_get(p4d))))
		return NULL;
	pud = pud_offset(p4d, addr);
	pude = pudp_get(pud);
	/* A huge PUD is no table; DAMON does not sample those. */
	if (pud_none(pude) || !pud_present(pude) || pud_leaf(pude) ||
	    unlikely(pud_bad(pude)))
		return NULL;
	return pmd_offset(pud, addr);
}

static void damon_va_unlock(struct damon_va_lock *lk)
{
	if (lk->mmap_locked)
		mmap_read_unlock(lk->mm);
#ifdef CONFIG_PER_VMA_LOCK
	else if (lk->vma)
		vma_end_read(lk->vma);
#endif
	lk->vma = NULL;
	lk->mmap_locked = false;
	lk->nr_left = 0;
}

/*
 * Lock the VMA mapping @addr, unless @lk holds it already.  NULL if nothing
 * maps @addr; @lk may hold mmap_lock then.
 */
static struct vm_area_struct *damon_va_lock_vma(struct damon_va_lock *lk,
						unsigned long addr)
{
	struct vm_area_struct *vma = lk->vma;

	if (lk->nr_left) {
		lk->nr_left--;
		if (vma && addr >= vma->vm_start && addr < vma->vm_end)
			return vma;
		if (lk->mmap_locked) {
			lk->vma = vma_lookup(lk->mm, addr);
			return lk->vma;
		}
	}
	damon_va_unlock(lk);
	lk->nr_left = DAMON_VA_LOCK_BATCH - 1;
#ifdef CONFIG_PER_VMA_LOCK
	lk->vma = lock_vma_under_rcu(lk->mm, addr);
	if (lk->vma)
		return lk->vma;
#endif
	/* A writer holds the VMA, or nothing maps @addr: ask mmap_lock. */
	mmap_read_lock(lk->mm);
	lk->mmap_locked = true;
	lk->vma = vma_lookup(lk->mm, addr);
	return lk->vma;
}

/*
 * Probe the Accessed bit of @addr.  @probe->young is left alone for an
 * unmapped address.
 */
static void damon_va_access(struct damon_va_lock *lk, unsigned long addr,
			    struct damon_va_probe *probe)
{
	struct vm_area_struct *vma = damon_va_lock_vma(lk, addr);
	pmd_t *pmd;
	int tries;

	if (!vma || (vma->vm_flags & VM_PFNMAP))
		return;
	if (is_vm_hugetlb_page(vma)) {
		if (!lk->mmap_locked) {
			damon_va_unlock(lk);
			mmap_read_lock(lk->mm);
			lk->mmap_locked = true;
		}
		/* Not @vma: it may have gone while nothing was held. */
		lk->vma = NULL;
		walk_page_range(lk->mm, addr, addr + 1, &damon_va_walk_ops,
				probe);
		return;
	}
	pmd = damon_va_find_pmd(lk->mm, addr);
	if (!pmd)
		return;
	/* The page table walker retries the same way, but forever. */
	for (tries = 0; tries < 3; tries++) {
		if (damon_va_pmd_access(pmd, vma, addr, probe))
			return;
		cond_resched();
	}
}

/*
 * Whether @r has its sampling address prepared: not after a split, a refit
 * or a pause of sampling.
 */
static bool damon_va_armed(struct damon_region *r)
{
	return r->sampling_armed && r->sampling_addr >= r->ar.start &&
		r->sampling_addr < r->ar.end;
}

/*
 * Pick the next sampling address of each region of @t, or of each that is
 * not armed unless @all, and clear its Accessed bit.
 */
static void damon_va_arm_target(struct damon_target *t, struct mm_struct *mm,
				bool all)
{
	struct damon_va_probe probe = { .clear = true };
	struct damon_va_lock lk = { .mm = mm };
	struct damon_region *r;
	bool flush = false;

	damon_for_each_region(r, t) {
		if (!all && damon_va_armed(r))
			continue;
		r->sampling_addr = damon_rand(r->ar.start, r->ar.end);
		probe.young = false;
		damon_va_access(&lk, r->sampling_addr, &probe);
		r->sampling_armed = true;
		flush |= probe.young;
	}
	damon_va_unlock(&lk);
	/*
	 * One flush for all: a flush per page would cost an IPI each.  Of the
	 * whole mm: on x86 flush_tlb_range() interrupts the same CPUs, as it
	 * too assumes freed page tables, and saves only the invalidation of
	 * the entries it does not name; yet it left a hot set's Accessed bits
	 * cached in QEMU's TLB (vaddr_flush_tlb.py), and this does not.
	 */
	if (flush && READ_ONCE(damon_va_flush_tlb))
		flush_tlb_mm(mm);
}

static void damon_va_prepare_access_checks(struct damon_ctx *ctx)
{
	struct damon_target *t;
	struct damon_region *r;
	struct mm_struct *mm;

	damon_for_each_target(t, ctx) {
		/* Usually the last check prepared all. */
		damon_for_each_region(r, t) {
			if (!damon_va_armed(r))
				break;
		}
		if (list_entry_is_head(r, &t->regions_list, list))
			continue;
		mm = damon_va_get_mm(t);
		if (!mm)
			continue;
		damon_va_arm_target(t, mm, false);
		mmput(mm);
	}
}

static unsigned int damon_va_check_accesses(struct damon_ctx *ctx)
{
	unsigned int max_nr_accesses = 0;
	struct damon_target *t;
	struct damon_region *r;
	struct damon_va_probe probe;
	struct damon_va_lock lk;

	damon_for_each_target(t, ctx) {
		lk = (struct damon_va_lock){ .mm = damon_va_get_mm(t) };
		damon_for_each_region(r, t) {
			/* An address of a gone process was not accessed. */
			probe = (struct damon_va_probe){};
			if (lk.mm)
				damon_va_access(&lk, r->sampling_addr, &probe);
			r->sampling_armed = false;
			damon_update_region_access_rate(r, probe.young,
							&ctx->attrs);
			max_nr_accesses = max(max_nr_accesses, r->nr_accesses);
		}
		if (!lk.mm)
			continue;
		damon_va_unlock(&lk);
		/* The next sample is prepared now: one mm lookup, not two. */
		damon_va_arm_target(t, lk.mm, true);
		mmput(lk.mm);
	}
	return max_nr_accesses;
}

/* === Schemes === */

/* madvise() behaviour of each action this set supports; 0 for the others. */
static const int damon_va_madvise_behavior[NR_DAMOS_ACTIONS] = {
	[DAMOS_WILLNEED] = MADV_WILLNEED,
	[DAMOS_COLD] = MADV_COLD,
	[DAMOS_PAGEOUT] = MADV_PAGEOUT,
	[DAMOS_HUGEPAGE] = MADV_HUGEPAGE,
	[DAMOS_NOHUGEPAGE] = MADV_NOHUGEPAGE,
};

/*
 * Ranges of a region that the filters let in, gathered for an action only
 * madvise() can do; the walk pauses when they fill up.
 */
#define DAMON_VA_NR_RUNS	16

/* State of a walk applying a scheme folio by folio. */
struct damon_va_apply_walk {
	struct damos *s;
	bool young_filter;		/* accesses are looked at: clear them */
	bool by_range;			/* gather runs for madvise() */
	unsigned long sz_passed;
	struct folio *last;		/* a large folio counts once */
	struct list_head isolated;	/* folios to reclaim */
	unsigned long resume;		/* where a full runs[] paused the walk */
	unsigned int nr_runs;
	struct damon_addr_range runs[DAMON_VA_NR_RUNS];
};

/*
 * Whether the walk must pause before @addr: the runs are full and @addr
 * does not extend the last.  Asked before the Accessed bit is read and
 * cleared, so that the page is looked at once.
 */
static bool damon_va_runs_full(struct damon_va_apply_walk *aw,
			       unsigned long addr)
{
	return aw->by_range && aw->nr_runs == DAMON_VA_NR_RUNS &&
		aw->runs[DAMON_VA_NR_RUNS - 1].end != addr;
}

static void damon_va_add_run(struct damon_va_apply_walk *aw,
			     unsigned long addr, unsigned long sz)
{
	if (aw->nr_runs && aw->runs[aw->nr_runs - 1].end == addr)
		aw->runs[aw->nr_runs - 1].end += sz;
	else
		aw->runs[aw->nr_runs++] = (struct damon_addr_range){
			.start = addr, .end = addr + sz,
		};
}

/* Apply the action to the @sz bytes of @folio mapped at @addr, if let in. */
static void damon_va_apply_folio(struct damon_va_apply_walk *aw,
				 struct folio *folio, bool young,
				 unsigned long addr, unsigned long sz)
{
	if (!folio || damos_ops_filter_out(aw->s, folio, young))
		return;
	if (aw->by_range)
		damon_va_add_run(aw, addr, sz);
	aw->sz_passed += sz;
	if (folio == aw->last)
		return;
	aw->last = folio;
	switch (aw->s->action) {
	case DAMOS_PAGEOUT:
		damon_isolate_folio(folio, &aw->isolated);
		break;
	case DAMOS_COLD:
		folio_deactivate(folio);
		break;
	default:
		break;
	}
}

static int damon_va_apply_pmd_entry(pmd_t *pmd, unsigned long addr,
				    unsigned long next, struct mm_walk *walk)
{
	struct damon_va_apply_walk *aw = walk->private;
	spinlock_t *ptl;	/* the page table lock */
	pte_t *start_pte, *pte, entry;
	struct folio *folio;
	bool young;
	pmd_t pmde;

	if (damon_va_runs_full(aw, addr)) {
		aw->resume = addr;
		return 1;
	}
	if (pmd_trans_huge(pmdp_get(pmd))) {
		ptl = pmd_trans_huge_lock(pmd, walk->vma);
		if (ptl) {
			pmde = pmdp_get(pmd);
			folio = NULL;
			if (pmd_present(pmde) && pmd_trans_huge(pmde))
				folio = vm_normal_folio_pmd(walk->vma, addr,
							    pmde);
			young = pmd_young(pmde);
			/*
			 * Cleared so that the next look sees only the
			 * accesses since this one; flushed, or the TLB would
			 * hide them.
			 */
			if (folio && aw->young_filter) {
				young = folio_test_clear_young(folio);
				young |= pmdp_clear_flush_young_notify(walk->vma,
						addr & HPAGE_PMD_MASK, pmd);
			}
			damon_va_apply_folio(aw, folio, young, addr,
					     next - addr);
			spin_unlock(ptl);
			return 0;
		}
	}
	start_pte = pte_offset_map_lock(walk->mm, pmd, addr, &ptl);
	if (!start_pte) {
		walk->action = ACTION_AGAIN;
		return 0;
	}
	for (pte = start_pte; addr < next; pte++, addr += PAGE_SIZE) {
		if (damon_va_runs_full(aw, addr)) {
			aw->resume = addr;
			break;
		}
		entry = ptep_get(pte);
		if (!pte_present(entry))
			continue;
		folio = vm_normal_folio(walk->vma, addr, entry);
		young = pte_young(entry);
		if (folio && aw->young_filter) {
			young = folio_test_clear_young(folio);
			young |= ptep_clear_flush_young_notify(walk->vma, addr,
							       pte);
		}
		damon_va_apply_folio(aw, folio, young, addr, PAGE_SIZE);
	}
	pte_unmap_unlock(start_pte, ptl);
	return aw->resume ? 1 : 0;
}

static const struct mm_walk_ops damon_va_apply_walk_ops = {
	.pmd_entry = damon_va_apply_pmd_entry,
	.walk_lock = PGWALK_RDLOCK,
};

/*
 * Apply an action to the folios of @r the filters of @s let in.  Reclaim
 * and deactivation work per folio.  The other actions go through madvise(),
 * which takes mmap_lock itself: the walk gathers the ranges let in and
 * pauses whenever it has gathered DAMON_VA_NR_RUNS of them.  Pages with no
 * folio mapped give the filters nothing to judge, and are left alone.
 */
static unsigned long damon_va_apply_filtered(struct mm_struct *mm,
					     struct damon_region *r,
					     struct damos *s,
					     unsigned long *sz_filter_passed)
{
	struct damon_va_apply_walk aw = {
		.s = s,
		.young_filter = damos_has_ops_filter(s, DAMOS_FILTER_TYPE_YOUNG),
		.by_range = damon_va_madvise_behavior[s->action] &&
			s->action != DAMOS_PAGEOUT && s->action != DAMOS_COLD,
	};
	int behavior = damon_va_madvise_behavior[s->action];
	unsigned long start = r->ar.start, applied = 0, sz;
	unsigned int i;

	INIT_LIST_HEAD(&aw.isolated);
	while (start < r->ar.end) {
		aw.resume = 0;
		aw.nr_runs = 0;
		mmap_read_lock(mm);
		walk_page_range(mm, start, r->ar.end, &damon_va_apply_walk_ops,
				&aw);
		mmap_read_unlock(mm);
		for (i = 0; i < aw.nr_runs; i++) {
			sz = aw.runs[i].end - aw.runs[i].start;
			if (!do_madvise(mm, aw.runs[i].start, sz, behavior))
				applied += sz;
		}
		if (!aw.resume)
			break;
		start = aw.resume;
		cond_resched();
	}
	*sz_filter_passed = aw.sz_passed;
	if (s->action == DAMOS_PAGEOUT)
		applied = reclaim_pages(&aw.isolated) * PAGE_SIZE;
	else if (s->action == DAMOS_COLD)
		applied = aw.sz_passed;
	return applied;
}

/*
 * Apply an action through madvise(), as the process itself could, so that
 * it takes the kernel's own paths and obeys the same rules; with filters
 * that look at folios, walk them instead.
 */
static unsigned long damon_va_apply_scheme(struct damon_ctx *ctx,
					   struct damon_target *t,
					   struct damon_region *r,
					   struct damos *s,
					   unsigned long *sz_filter_passed)
{
	unsigned long sz = damon_sz_region(r), applied = 0;
	struct mm_struct *mm;

	*sz_filter_passed = 0;
	if (s->action >= NR_DAMOS_ACTIONS ||
	    (s->action != DAMOS_STAT &&
	     !damon_va_madvise_behavior[s->action]))
		return 0;
	mm = damon_va_get_mm(t);
	if (!mm)
		return 0;
	if (damos_has_ops_filter(s, -1)) {
		applied = damon_va_apply_filtered(mm, r, s, sz_filter_passed);
	} else {
		*sz_filter_passed = sz;
		if (s->action != DAMOS_STAT &&
		    !do_madvise(mm, r->ar.start, sz,
				damon_va_madvise_behavior[s->action]))
			applied = sz;
	}
	mmput(mm);
	return applied;
}

/* === Registration === */

static const struct damon_operations damon_va_sets[] = {
	{
		.id = DAMON_OPS_VADDR,
		.target_needs_pid = true,
		.init = damon_va_init,
		.update = damon_va_update,
		.prepare_access_checks = damon_va_prepare_access_checks,
		.check_accesses = damon_va_check_accesses,
		.target_valid = damon_va_target_valid,
		.get_scheme_score = damon_scheme_score,
		.apply_scheme = damon_va_apply_scheme,
	},
	/* The fixed set keeps the ranges its user gave: no init, no update. */
	{
		.id = DAMON_OPS_FVADDR,
		.target_needs_pid = true,
		.prepare_access_checks = damon_va_prepare_access_checks,
		.check_accesses = damon_va_check_accesses,
		.target_valid = damon_va_target_valid,
		.get_scheme_score = damon_scheme_score,
		.apply_scheme = damon_va_apply_scheme,
	},
};

static int __init damon_va_initcall(void)
{
	struct damon_operations ops;
	int i, err;

	for (i = 0; i < ARRAY_SIZE(damon_va_sets); i++) {
		ops = damon_va_sets[i];
		err = damon_register_ops(&ops);
		if (err)
			return err;
	}
	return 0;
}
subsys_initcall(damon_va_initcall);

#include "tests/vaddr-kunit.h"
