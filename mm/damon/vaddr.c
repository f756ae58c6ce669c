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
#include <linux/oom.h>
#include <linux/page_idle.h>
#include <linux/pagewalk.h>
#include <linux/sched/mm.h>

#include "../internal.h"
#include "ops-common.h"

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

	damon_for_each_target(t, ctx) {
		/* Regions its user gave stay until the first update. */
		if (!damon_nr_regions(t))
			damon_va_init_target(ctx, t);
	}
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

/* Whether the walked address was accessed, through any mapping or MMU. */
struct damon_va_young {
	bool young;
};

static void damon_va_folio_young(struct folio *folio, bool pte_young,
				 struct mm_walk *walk, unsigned long addr)
{
	struct damon_va_young *priv = walk->private;

	priv->young = pte_young || (folio && !folio_test_idle(folio)) ||
		mmu_notifier_test_young(walk->mm, addr);
}

#ifdef CONFIG_HUGETLB_PAGE
/*
 * A hugetlb entry holds its Accessed bit like a PTE.  The walk's private
 * data tells a check (where to put the answer) from a clearing (NULL).
 */
static int damon_va_hugetlb_entry(pte_t *pte, unsigned long hmask,
				  unsigned long addr, unsigned long end,
				  struct mm_walk *walk)
{
	unsigned long base = addr & hmask, size = ~hmask + 1;
	spinlock_t *ptl = huge_pte_lock(hstate_vma(walk->vma), walk->mm, pte);
	pte_t entry = huge_ptep_get(walk->mm, addr, pte);
	struct folio *folio;

	if (pte_present(entry)) {
		folio = pfn_folio(pte_pfn(entry));
		if (walk->private) {
			damon_va_folio_young(folio, pte_young(entry), walk,
					     addr);
		} else {
			if (pte_young(entry)) {
				folio_set_young(folio);
				set_huge_pte_at(walk->mm, base, pte,
						pte_mkold(entry), size);
			}
#ifdef CONFIG_MMU_NOTIFIER
			mmu_notifier_clear_young(walk->mm, base, base + size);
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

/*
 * Clear the Accessed bit of whatever maps the walked address, or, with a
 * &struct damon_va_young as the walk's private data, read it.
 */
static int damon_va_pmd_entry(pmd_t *pmd, unsigned long addr,
			      unsigned long next, struct mm_walk *walk)
{
	bool check = walk->private, huge;
	spinlock_t *ptl;	/* the page table lock */
	pte_t *pte, entry;
	pmd_t pmde;

	if (pmd_trans_huge(pmdp_get(pmd))) {
		ptl = pmd_trans_huge_lock(pmd, walk->vma);
		if (ptl) {
			pmde = pmdp_get(pmd);
			huge = pmd_present(pmde) && pmd_trans_huge(pmde);
			if (huge && check)
				damon_va_folio_young(vm_normal_folio_pmd(walk->vma,
									 addr, pmde),
						     pmd_young(pmde), walk, addr);
			else if (huge)
				damon_pmdp_mkold(pmd, walk->vma, addr);
			spin_unlock(ptl);
			return 0;
		}
	}
	pte = pte_offset_map_lock(walk->mm, pmd, addr, &ptl);
	if (!pte) {
		walk->action = ACTION_AGAIN;
		return 0;
	}
	entry = ptep_get(pte);
	if (pte_present(entry) && check)
		damon_va_folio_young(vm_normal_folio(walk->vma, addr, entry),
				     pte_young(entry), walk, addr);
	else if (pte_present(entry))
		damon_ptep_mkold(pte, walk->vma, addr);
	pte_unmap_unlock(pte, ptl);
	return 0;
}

/* Clears Accessed bits, or reads them with a private &damon_va_young. */
static const struct mm_walk_ops damon_va_walk_ops = {
	.pmd_entry = damon_va_pmd_entry,
	.hugetlb_entry = damon_va_hugetlb_entry,
	.walk_lock = PGWALK_RDLOCK,
};

/*
 * One mmap_lock round trip per target and sampling pass rather than per
 * region: the walks are short, and the lock is the costly part.
 */
static void damon_va_prepare_access_checks(struct damon_ctx *ctx)
{
	struct damon_target *t;
	struct damon_region *r;
	struct mm_struct *mm;

	damon_for_each_target(t, ctx) {
		mm = damon_va_get_mm(t);
		if (!mm)
			continue;
		damon_for_each_region(r, t) {
			r->sampling_addr = damon_rand(r->ar.start, r->ar.end);
			/*
			 * Locked per region: held over a whole pass, the lock
			 * would keep the process from changing its mappings
			 * for as long as the pass takes.
			 */
			mmap_read_lock(mm);
			walk_page_range(mm, r->sampling_addr,
					r->sampling_addr + 1,
					&damon_va_walk_ops, NULL);
			mmap_read_unlock(mm);
		}
		mmput(mm);
	}
}

static unsigned int damon_va_check_accesses(struct damon_ctx *ctx)
{
	struct damon_va_young priv;
	unsigned int max_nr_accesses = 0;
	struct damon_target *t;
	struct damon_region *r;
	struct mm_struct *mm;

	damon_for_each_target(t, ctx) {
		mm = damon_va_get_mm(t);
		damon_for_each_region(r, t) {
			/* An address of a gone process was not accessed. */
			priv.young = false;
			if (mm) {
				mmap_read_lock(mm);
				walk_page_range(mm, r->sampling_addr,
						r->sampling_addr + 1,
						&damon_va_walk_ops, &priv);
				mmap_read_unlock(mm);
			}
			damon_update_region_access_rate(r, priv.young,
							&ctx->attrs);
			max_nr_accesses = max(max_nr_accesses, r->nr_accesses);
		}
		if (mm)
			mmput(mm);
	}
	return max_nr_accesses;
}

/* === Registration === */

/* === Schemes === */

/* madvise() behaviour of each action this set supports; 0 for the others. */
static const int damon_va_madvise_behavior[NR_DAMOS_ACTIONS] = {
	[DAMOS_WILLNEED] = MADV_WILLNEED,
	[DAMOS_COLD] = MADV_COLD,
	[DAMOS_PAGEOUT] = MADV_PAGEOUT,
	[DAMOS_HUGEPAGE] = MADV_HUGEPAGE,
	[DAMOS_NOHUGEPAGE] = MADV_NOHUGEPAGE,
};

/* Whether @s has filters of @type, or of any type this set judges. */
static bool damon_va_has_filter(struct damos *s, int type)
{
	struct damos_filter *f;

	damos_for_each_filter(f, s) {
		switch (f->type) {
		case DAMOS_FILTER_TYPE_ANON:
		case DAMOS_FILTER_TYPE_MEMCG:
		case DAMOS_FILTER_TYPE_YOUNG:
			if (type < 0 || f->type == type)
				return true;
			break;
		default:
			break;
		}
	}
	return false;
}

/* Whether the filters of @s reject @folio; the first one about it decides. */
static bool damon_va_filter_out(struct damos *s, struct folio *folio,
				bool young)
{
	struct mem_cgroup *memcg;
	struct damos_filter *f;
	bool has;

	damos_for_each_filter(f, s) {
		switch (f->type) {
		case DAMOS_FILTER_TYPE_ANON:
			has = folio_test_anon(folio);
			break;
		case DAMOS_FILTER_TYPE_MEMCG:
			rcu_read_lock();
			memcg = folio_memcg_check(folio);
			has = memcg && mem_cgroup_id(memcg) == f->memcg_id;
			rcu_read_unlock();
			break;
		case DAMOS_FILTER_TYPE_YOUNG:
			/* Accessed since the last look; the caller cleared it. */
			has = young;
			break;
		default:
			continue;
		}
		if (has == f->matching)
			return !f->allow;
	}
	return false;
}

/* State of a walk applying a scheme folio by folio. */
struct damon_va_apply_walk {
	struct damos *s;
	bool young_filter;		/* accesses are looked at: clear them */
	unsigned long sz_passed;
	struct folio *last;		/* a large folio counts once */
	struct list_head isolated;	/* folios to reclaim */
};

static void damon_va_apply_folio(struct damon_va_apply_walk *aw,
				 struct folio *folio, bool young,
				 unsigned long sz)
{
	if (!folio || damon_va_filter_out(aw->s, folio, young))
		return;
	aw->sz_passed += sz;
	if (folio == aw->last)
		return;
	aw->last = folio;
	switch (aw->s->action) {
	case DAMOS_PAGEOUT:
		/* Takes a reference for the list. */
		if (folio_isolate_lru(folio))
			list_add(&folio->lru, &aw->isolated);
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
			damon_va_apply_folio(aw, folio, young, next - addr);
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
		damon_va_apply_folio(aw, folio, young, PAGE_SIZE);
	}
	pte_unmap_unlock(start_pte, ptl);
	return 0;
}

static const struct mm_walk_ops damon_va_apply_walk_ops = {
	.pmd_entry = damon_va_apply_pmd_entry,
	.walk_lock = PGWALK_RDLOCK,
};

/*
 * Apply an action to the folios of @r the filters of @s let through.
 * Reclaim and deactivation work per folio; the madvise()-only actions
 * cannot, so for them the filters just measure.
 */
static unsigned long damon_va_apply_filtered(struct mm_struct *mm,
					     struct damon_region *r,
					     struct damos *s,
					     unsigned long *sz_filter_passed)
{
	struct damon_va_apply_walk aw = {
		.s = s,
		.young_filter = damon_va_has_filter(s, DAMOS_FILTER_TYPE_YOUNG),
	};
	unsigned long applied = 0;

	INIT_LIST_HEAD(&aw.isolated);
	mmap_read_lock(mm);
	walk_page_range(mm, r->ar.start, r->ar.end, &damon_va_apply_walk_ops,
			&aw);
	mmap_read_unlock(mm);
	*sz_filter_passed = aw.sz_passed;
	switch (s->action) {
	case DAMOS_PAGEOUT:
		applied = reclaim_pages(&aw.isolated) * PAGE_SIZE;
		break;
	case DAMOS_COLD:
		applied = aw.sz_passed;
		break;
	case DAMOS_STAT:
		break;
	default:
		if (!do_madvise(mm, r->ar.start, damon_sz_region(r),
				damon_va_madvise_behavior[s->action]))
			applied = damon_sz_region(r);
	}
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
	if (damon_va_has_filter(s, -1)) {
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

/* Reclaiming actions want the coldest memory first; the others the hottest. */
static int damon_va_scheme_score(struct damon_ctx *ctx, struct damon_target *t,
				 struct damon_region *r, struct damos *s)
{
	switch (s->action) {
	case DAMOS_COLD:
	case DAMOS_PAGEOUT:
	case DAMOS_NOHUGEPAGE:
		return damon_cold_score(ctx, r, s);
	default:
		return damon_hot_score(ctx, r, s);
	}
}

static const struct damon_operations damon_va_sets[] = {
	{
		.id = DAMON_OPS_VADDR,
		.init = damon_va_init,
		.update = damon_va_update,
		.prepare_access_checks = damon_va_prepare_access_checks,
		.check_accesses = damon_va_check_accesses,
		.target_valid = damon_va_target_valid,
		.get_scheme_score = damon_va_scheme_score,
		.apply_scheme = damon_va_apply_scheme,
	},
	/* The fixed set keeps the ranges its user gave: no init, no update. */
	{
		.id = DAMON_OPS_FVADDR,
		.prepare_access_checks = damon_va_prepare_access_checks,
		.check_accesses = damon_va_check_accesses,
		.target_valid = damon_va_target_valid,
		.get_scheme_score = damon_va_scheme_score,
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
