// SPDX-License-Identifier: GPL-2.0
/*
 * DAMON operations for the physical address space.
 *
 * A region is a range of physical addresses.  A page frame does not know
 * who maps it, so the access check of a sampled address goes from its folio
 * through the reverse mappings to every page table entry that maps it, and
 * to the folio's idle flag for accesses that went through no page table
 * (read() and write() of the page cache mark the folio accessed instead).
 * Frames that hold no LRU folio (free, kernel, offline memory) are never
 * touched and read as not accessed.
 *
 * The actions work on the same folios: reclaim, LRU reordering and
 * migration between NUMA nodes, judged folio by folio by the scheme's
 * filters.
 */

#define pr_fmt(fmt) "damon-pa: " fmt

#include <linux/damon.h>
#include <linux/memblock.h>
#include <linux/mmu_notifier.h>
#include <linux/page_idle.h>
#include <linux/pagemap.h>
#include <linux/rmap.h>
#include <linux/sched.h>

#include "../internal.h"
#include "ops-common.h"

/* === Access checks === */

/*
 * The LRU folio of @pfn, with a reference held, or NULL.  Only folios on an
 * LRU list are of interest: others are not reclaimable or promotable user
 * memory, or are in flux.
 */
static struct folio *damon_get_folio(unsigned long pfn)
{
	struct page *page = pfn_to_online_page(pfn);
	struct folio *folio = page ? page_folio(page) : NULL;

	if (folio && folio_test_lru(folio) && folio_try_get(folio)) {
		/* Freed and reused before the reference was taken? */
		if (likely(folio == page_folio(page) && folio_test_lru(folio)))
			return folio;
		folio_put(folio);
	}
	return NULL;
}

/*
 * The folio a sampling pass last looked at, so that the regions sampling
 * one large folio check it once per pass rather than once each.
 */
struct damon_pa_seen {
	unsigned long start_pfn, end_pfn;	/* [start, end) of the folio */
	bool accessed;
};

static bool damon_pa_seen_has(struct damon_pa_seen *seen, unsigned long pfn)
{
	return pfn >= seen->start_pfn && pfn < seen->end_pfn;
}

static void damon_pa_see(struct damon_pa_seen *seen, struct folio *folio,
			 bool accessed)
{
	seen->start_pfn = folio_pfn(folio);
	seen->end_pfn = seen->start_pfn + folio_nr_pages(folio);
	seen->accessed = accessed;
}

static bool damon_pa_mkold_one(struct folio *folio,
			       struct vm_area_struct *vma,
			       unsigned long addr, void *arg)
{
	DEFINE_FOLIO_VMA_WALK(pvmw, folio, vma, addr, 0);

	while (page_vma_mapped_walk(&pvmw)) {
		if (pvmw.pte)
			damon_ptep_mkold(pvmw.pte, vma, pvmw.address);
		else
			damon_pmdp_mkold(pvmw.pmd, vma, pvmw.address);
	}
	return true;
}

static bool damon_pa_young_one(struct folio *folio,
			       struct vm_area_struct *vma,
			       unsigned long addr, void *arg)
{
	DEFINE_FOLIO_VMA_WALK(pvmw, folio, vma, addr, 0);
	bool *young = arg;

	while (!*young && page_vma_mapped_walk(&pvmw)) {
		addr = pvmw.address;
		if (pvmw.pte)
			*young = pte_young(ptep_get(pvmw.pte));
		else
			*young = pmd_young(pmdp_get(pvmw.pmd));
		/* A secondary MMU, such as a KVM guest's, may have used it. */
		*young = *young || mmu_notifier_test_young(vma->vm_mm, addr);
	}
	if (*young)
		page_vma_mapped_walk_done(&pvmw);
	/* Found: no need to look at the other mappings. */
	return !*young;
}

/*
 * Walk the mappings of @folio with @rmap_one.  File and KSM folios need
 * their lock for that; one held by someone else is busy, and waiting for
 * it would stall the kdamond behind I/O: tell the caller instead.
 */
static bool damon_pa_walk_rmap(struct folio *folio,
			       bool (*rmap_one)(struct folio *folio,
						struct vm_area_struct *vma,
						unsigned long addr, void *arg),
			       void *arg)
{
	struct rmap_walk_control rwc = {
		.rmap_one = rmap_one,
		.arg = arg,
		.anon_lock = folio_lock_anon_vma_read,
	};

	if (!folio_mapped(folio) || !folio_raw_mapping(folio))
		return true;
	/* Plain anonymous folios: the anon_vma lock taken by the walk does. */
	if (folio_test_anon(folio) && !folio_test_ksm(folio)) {
		rmap_walk(folio, &rwc);
		return true;
	}
	if (!folio_trylock(folio))
		return false;
	rmap_walk(folio, &rwc);
	folio_unlock(folio);
	return true;
}

/*
 * Start a sample of @folio: clear the Accessed bits of all its mappings and
 * mark it idle.  damon_ptep_mkold() leaves a cleared bit in the folio's
 * young flag for reclaim, and reclaim or idle page tracking clearing a bit
 * in turn take the idle mark away: the sample sees their accesses too.
 */
static void damon_pa_folio_mkold(struct folio *folio)
{
	damon_pa_walk_rmap(folio, damon_pa_mkold_one, NULL);
	folio_set_idle(folio);
}

/* Whether @folio was accessed since damon_pa_folio_mkold(). */
static bool damon_pa_folio_young(struct folio *folio)
{
	bool young = !folio_test_idle(folio);

	/* A folio locked by someone else is in use right now. */
	if (!young && !damon_pa_walk_rmap(folio, damon_pa_young_one, &young))
		young = true;
	return young;
}

static void damon_pa_prepare_access_checks(struct damon_ctx *ctx)
{
	struct damon_pa_seen seen = {};
	struct damon_target *t;
	struct damon_region *r;
	struct folio *folio;
	unsigned long pfn;

	damon_for_each_target(t, ctx) {
		damon_for_each_region(r, t) {
			r->sampling_addr = damon_rand(r->ar.start, r->ar.end);
			pfn = PHYS_PFN(r->sampling_addr);
			r->sampling_armed = true;
			if (damon_pa_seen_has(&seen, pfn))
				continue;
			folio = damon_get_folio(pfn);
			/*
			 * Most frames of a cold region are free: the check
			 * need not look them up again.  A frame allocated
			 * in between loses one sample at most.
			 */
			if (!folio) {
				r->sampling_armed = false;
				continue;
			}
			damon_pa_folio_mkold(folio);
			damon_pa_see(&seen, folio, false);
			folio_put(folio);
		}
	}
}

static bool damon_pa_accessed(struct damon_pa_seen *seen, unsigned long pfn)
{
	struct folio *folio;

	if (damon_pa_seen_has(seen, pfn))
		return seen->accessed;
	folio = damon_get_folio(pfn);
	if (!folio)
		return false;
	damon_pa_see(seen, folio, damon_pa_folio_young(folio));
	folio_put(folio);
	return seen->accessed;
}

static unsigned int damon_pa_check_accesses(struct damon_ctx *ctx)
{
	struct damon_pa_seen seen = {};
	unsigned int max_nr_accesses = 0;
	struct damon_target *t;
	struct damon_region *r;
	bool accessed;

	damon_for_each_target(t, ctx) {
		damon_for_each_region(r, t) {
			accessed = r->sampling_armed &&
				damon_pa_accessed(&seen,
						  PHYS_PFN(r->sampling_addr));
			r->sampling_armed = false;
			damon_update_region_access_rate(r, accessed,
							&ctx->attrs);
			max_nr_accesses = max(max_nr_accesses, r->nr_accesses);
		}
	}
	return max_nr_accesses;
}

/* === Schemes === */

/* What one application of a scheme to a region gathered and did. */
struct damon_pa_apply {
	struct damos *s;
	bool young_filter;		/* accesses are looked at */
	unsigned long sz_passed;	/* bytes the filters let through */
	unsigned long applied;		/* bytes the action was done to */
	struct list_head isolated;	/* folios to reclaim or migrate */
};

/*
 * Whether @folio passes the filters of the scheme.  The young filter asks
 * for the accesses since it last looked, so each look starts a new sample.
 */
static bool damon_pa_filter_pass(struct damon_pa_apply *pa,
				 struct folio *folio)
{
	bool young = false;

	if (pa->young_filter) {
		young = damon_pa_folio_young(folio);
		damon_pa_folio_mkold(folio);
	}
	return !damos_ops_filter_out(pa->s, folio, young);
}

static void damon_pa_apply_folio(struct damon_pa_apply *pa,
				 struct folio *folio, unsigned long sz)
{
	switch (pa->s->action) {
	case DAMOS_PAGEOUT:
		/*
		 * The region was found cold: references taken before that
		 * must not make reclaim keep it.
		 */
		folio_clear_referenced(folio);
		folio_test_clear_young(folio);
		damon_isolate_folio(folio, &pa->isolated);
		break;
	case DAMOS_LRU_PRIO:
		folio_activate(folio);
		folio_set_referenced(folio);
		pa->applied += sz;
		break;
	case DAMOS_LRU_DEPRIO:
		folio_deactivate(folio);
		pa->applied += sz;
		break;
	case DAMOS_MIGRATE_HOT:
	case DAMOS_MIGRATE_COLD:
		damon_isolate_folio(folio, &pa->isolated);
		break;
	default:
		break;
	}
}

static bool damon_pa_supported_action(enum damos_action action)
{
	switch (action) {
	case DAMOS_PAGEOUT:
	case DAMOS_LRU_PRIO:
	case DAMOS_LRU_DEPRIO:
	case DAMOS_MIGRATE_HOT:
	case DAMOS_MIGRATE_COLD:
	case DAMOS_STAT:
		return true;
	default:
		return false;
	}
}

/*
 * Where, after @addr, the next frame that may hold an LRU folio is, given
 * that the one at @addr holds none.  Free memory is skipped by whole buddy
 * blocks and holes by subsections: the coldest part of physical memory is
 * mostly free, and a walk of it page by page would spend the time quota of
 * a scheme on nothing.  Past the last frame, the answer is @end.
 */
static unsigned long damon_pa_next_frame(unsigned long addr,
					 unsigned long end)
{
	unsigned long pfn = PHYS_PFN(addr), nr = 1, next;
	struct page *page;
	unsigned int order;

	if (pfn >= max_pfn)
		return end;
	page = pfn_to_online_page(pfn);
	if (!page) {
#ifdef CONFIG_SPARSEMEM
		nr = PAGES_PER_SUBSECTION;
#endif
	} else if (PageBuddy(page)) {
		/* Unlocked: a stale order skips at most a block of memory. */
		order = buddy_order_unsafe(page);
		if (order <= MAX_PAGE_ORDER)
			nr = 1UL << order;
	}
	next = PFN_PHYS(ALIGN(pfn + 1, nr));
	return next > addr && next < end ? next : end;
}

/*
 * Apply the action of @s to the LRU folios of @r, folio by folio.  A large
 * folio counts once, for its part inside @r.
 */
static unsigned long damon_pa_apply_scheme(struct damon_ctx *ctx,
					   struct damon_target *t,
					   struct damon_region *r,
					   struct damos *s,
					   unsigned long *sz_filter_passed)
{
	struct damon_pa_apply pa = {
		.s = s,
		.young_filter = damos_has_ops_filter(s, DAMOS_FILTER_TYPE_YOUNG),
	};
	bool filters = damos_has_ops_filter(s, -1);
	unsigned long addr = r->ar.start, next, start;
	struct folio *folio;

	*sz_filter_passed = 0;
	if (!damon_pa_supported_action(s->action))
		return 0;
	/* Nothing to do, and nothing to judge: spare the walk. */
	if (s->action == DAMOS_STAT && !filters) {
		*sz_filter_passed = damon_sz_region(r);
		return 0;
	}
	INIT_LIST_HEAD(&pa.isolated);
	while (addr < r->ar.end) {
		folio = damon_get_folio(PHYS_PFN(addr));
		if (!folio) {
			addr = damon_pa_next_frame(addr, r->ar.end);
			continue;
		}
		start = PFN_PHYS(folio_pfn(folio));
		next = min(start + folio_size(folio), r->ar.end);
		if (!filters || damon_pa_filter_pass(&pa, folio)) {
			pa.sz_passed += next - addr;
			damon_pa_apply_folio(&pa, folio, next - addr);
		}
		folio_put(folio);
		addr = next;
		/* A region may span gigabytes when no quota cuts it. */
		cond_resched();
	}
	*sz_filter_passed = pa.sz_passed;
	switch (s->action) {
	case DAMOS_PAGEOUT:
		pa.applied = reclaim_pages(&pa.isolated) * PAGE_SIZE;
		break;
	case DAMOS_MIGRATE_HOT:
	case DAMOS_MIGRATE_COLD:
		pa.applied = damon_migrate_folios(&pa.isolated, s->target_nid);
		break;
	default:
		break;
	}
	return pa.applied;
}

/* === Registration === */

/*
 * Physical memory cannot go away and has no pid: no target_valid, and no
 * init or update either, as the regions are the user's.  There is only one
 * physical address space to be a target.
 */
static struct damon_operations damon_pa_ops = {
	.id = DAMON_OPS_PADDR,
	.max_nr_targets = 1,
	.prepare_access_checks = damon_pa_prepare_access_checks,
	.check_accesses = damon_pa_check_accesses,
	.get_scheme_score = damon_scheme_score,
	.apply_scheme = damon_pa_apply_scheme,
};

static int __init damon_pa_initcall(void)
{
	return damon_register_ops(&damon_pa_ops);
}
subsys_initcall(damon_pa_initcall);

#include "tests/paddr-kunit.h"
