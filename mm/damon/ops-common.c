// SPDX-License-Identifier: GPL-2.0
/*
 * DAMON operations sets: the parts they share.
 *
 * Clearing an Accessed bit to sample it must not hide the access from the
 * rest of mm: reclaim asks folio_referenced(), idle page tracking asks
 * page_idle.  So a cleared young entry leaves its trace in the folio's
 * young flag, and the folio is marked idle so that a later access through
 * another mapping shows up as the idle mark gone.
 */

#include <linux/math64.h>
#include <linux/memcontrol.h>
#include <linux/migrate.h>
#include <linux/mmu_notifier.h>
#include <linux/overflow.h>
#include <linux/page_idle.h>
#include <linux/pagemap.h>
#include <linux/rmap.h>

#include "../internal.h"
#include "ops-common.h"

/**
 * damon_ptep_mkold() - Clear the Accessed bit of a PTE for sampling.
 * @pte:	The entry, mapped and locked by the caller.
 * @vma:	The VMA mapping @addr.
 * @addr:	The address @pte maps.
 *
 * Secondary MMUs are asked too, through the mmu notifier.
 *
 * Return: whether the bit was set, in the PTE or a secondary MMU.
 */
bool damon_ptep_mkold(pte_t *pte, struct vm_area_struct *vma,
		      unsigned long addr)
{
	struct folio *folio = vm_normal_folio(vma, addr, ptep_get(pte));
	bool young = ptep_clear_young_notify(vma, addr, pte);

	if (!folio)
		return young;
	if (young)
		folio_set_young(folio);
	folio_set_idle(folio);
	return young;
}

/**
 * damon_pmdp_mkold() - Clear the Accessed bit of a huge PMD for sampling.
 * @pmd:	The entry, locked by the caller and mapping a huge page.
 * @vma:	The VMA mapping @addr.
 * @addr:	The address @pmd maps.
 *
 * Return: whether the bit was set, in the PMD or a secondary MMU.
 */
bool damon_pmdp_mkold(pmd_t *pmd, struct vm_area_struct *vma,
		      unsigned long addr)
{
#ifdef CONFIG_TRANSPARENT_HUGEPAGE
	struct folio *folio = vm_normal_folio_pmd(vma, addr, pmdp_get(pmd));
	bool young = pmdp_clear_young_notify(vma, addr & HPAGE_PMD_MASK, pmd);

	if (!folio)
		return young;
	if (young)
		folio_set_young(folio);
	folio_set_idle(folio);
	return young;
#else
	return false;
#endif
}

/*
 * Age, in seconds, at which a region's age counts fully in its score.  The
 * age counts on a log scale: a minute of history weighs much more than a
 * second, an hour little more than ten minutes.
 */
#define DAMON_SCORE_AGE_FULL_LOG2	10

/**
 * damon_hot_score() - Priority of a region for a scheme that wants hot
 * memory first.
 * @ctx:	The region's context.
 * @r:		The region.
 * @s:		The scheme, whose quota weights mix the two parts.
 *
 * The score mixes the access frequency, as a share of the highest
 * possible, with the age: a long age makes an accessed region hotter and
 * an unaccessed one colder.
 *
 * Return: the score, from 0 (coldest) to %DAMOS_MAX_SCORE (hottest).
 */
int damon_hot_score(struct damon_ctx *ctx, struct damon_region *r,
		    struct damos *s)
{
	unsigned int max_nr = damon_max_nr_accesses(&ctx->attrs);
	/* Any unsigned int each: their products and sum need 64 bits. */
	s64 w_freq = s->quota.weight_nr_accesses;
	s64 w_age = s->quota.weight_age;
	unsigned long age_us;
	int freq, age, hot;

	freq = min(r->nr_accesses_bp / 10000, max_nr) * 100 / max_nr;
	/* Saturated: the log scale flattens anything past minutes anyway. */
	if (check_mul_overflow((unsigned long)r->age,
			       ctx->attrs.aggr_interval, &age_us))
		age_us = ULONG_MAX;
	age = min(ilog2(age_us / USEC_PER_SEC + 1),
		  DAMON_SCORE_AGE_FULL_LOG2) * 100 / DAMON_SCORE_AGE_FULL_LOG2;
	if (!freq)
		age = -age;
	if (!w_freq && !w_age) {
		w_freq = 1;
		w_age = 1;
	}
	/* From -100 (cold and old) to 100 (hot and old). */
	hot = div64_s64(freq * w_freq + age * w_age, w_freq + w_age);
	return (hot + 100) * DAMOS_MAX_SCORE / 200;
}

/**
 * damon_cold_score() - Priority of a region for a scheme that wants cold
 * memory first.
 * @ctx:	The region's context.
 * @r:		The region.
 * @s:		The scheme.
 *
 * Return: %DAMOS_MAX_SCORE minus damon_hot_score().
 */
int damon_cold_score(struct damon_ctx *ctx, struct damon_region *r,
		     struct damos *s)
{
	return DAMOS_MAX_SCORE - damon_hot_score(ctx, r, s);
}

/**
 * damon_scheme_score() - Priority of a region for a scheme, by its action.
 * @ctx:	The region's context.
 * @t:		The region's target.
 * @r:		The region.
 * @s:		The scheme.
 *
 * The &damon_operations.get_scheme_score of the sets in this directory.
 * Actions that take memory away from where it is used (reclaim,
 * deactivation, demotion, splitting huge pages) want the coldest regions
 * first; the others want the hottest.
 *
 * Return: the score, from 0 to %DAMOS_MAX_SCORE.
 */
int damon_scheme_score(struct damon_ctx *ctx, struct damon_target *t,
		       struct damon_region *r, struct damos *s)
{
	switch (s->action) {
	case DAMOS_COLD:
	case DAMOS_PAGEOUT:
	case DAMOS_NOHUGEPAGE:
	case DAMOS_LRU_DEPRIO:
	case DAMOS_MIGRATE_COLD:
		return damon_cold_score(ctx, r, s);
	default:
		return damon_hot_score(ctx, r, s);
	}
}

/* Whether the operations sets, rather than the core, judge @type. */
static bool damos_is_ops_filter(enum damos_filter_type type)
{
	return type == DAMOS_FILTER_TYPE_ANON ||
		type == DAMOS_FILTER_TYPE_MEMCG ||
		type == DAMOS_FILTER_TYPE_YOUNG;
}

/* Whether @folio has the property ops filter @f is about. */
static bool damos_folio_has(struct damos_filter *f, struct folio *folio,
			    bool young)
{
	struct mem_cgroup *memcg;
	bool in_memcg;

	if (f->type == DAMOS_FILTER_TYPE_ANON)
		return folio_test_anon(folio);
	if (f->type == DAMOS_FILTER_TYPE_YOUNG)
		return young;
	rcu_read_lock();
	memcg = folio_memcg_check(folio);
	in_memcg = memcg && mem_cgroup_id(memcg) == f->memcg_id;
	rcu_read_unlock();
	return in_memcg;
}

/**
 * damos_has_ops_filter() - Tell whether a scheme has operations set filters.
 * @s:		The scheme.
 * @type:	The filter type to look for, or -1 for any the operations
 *		sets judge (anon, memcg, young).
 *
 * Return: whether @s has such a filter.
 */
bool damos_has_ops_filter(struct damos *s, int type)
{
	struct damos_filter *f;

	damos_for_each_filter(f, s)
		if (damos_is_ops_filter(f->type) &&
		    (type < 0 || f->type == type))
			return true;
	return false;
}

/**
 * damos_ops_filter_out() - Judge a folio by a scheme's per-folio filters.
 * @s:		The scheme.
 * @folio:	The folio, with a reference held.
 * @young:	Whether the folio was accessed since the last look, for the
 *		young filter; the caller finds that out, as only it knows
 *		how the folio is mapped.
 *
 * The first filter about the folio's kind decides, allowing or rejecting
 * as it says; a folio no filter decides on is allowed.
 *
 * Return: true if the filters reject @folio.
 */
bool damos_ops_filter_out(struct damos *s, struct folio *folio, bool young)
{
	struct damos_filter *f;

	damos_for_each_filter(f, s) {
		if (!damos_is_ops_filter(f->type))
			continue;
		if (damos_folio_has(f, folio, young) == f->matching)
			return !f->allow;
	}
	return false;
}

/**
 * damon_isolate_folio() - Take a folio off its LRU list for reclaim or
 * migration.
 * @folio:	The folio, with a reference held.
 * @list:	Where to put it; the list holds a reference of its own.
 *
 * Return: whether @folio was isolated.  It may not be: another path may
 * have isolated it first, or it may have left the LRU lists.
 */
bool damon_isolate_folio(struct folio *folio, struct list_head *list)
{
	if (!folio_isolate_lru(folio))
		return false;
	list_add_tail(&folio->lru, list);
	return true;
}

#ifdef CONFIG_MIGRATION
/**
 * damon_migrate_folios() - Migrate isolated folios to a node.
 * @list:	Folios isolated by damon_isolate_folio(); emptied.
 * @nid:	The destination node, online and with memory.
 *
 * Folios already on @nid stay where they are.  The new folios come from
 * @nid alone: falling back to another node would move memory to where
 * nobody asked for it.  Folios that cannot be moved go back to their LRU
 * lists.
 *
 * Return: the number of bytes migrated.
 */
unsigned long damon_migrate_folios(struct list_head *list, int nid)
{
	struct migration_target_control mtc = {
		.nid = nid,
		.gfp_mask = GFP_HIGHUSER_MOVABLE | __GFP_THISNODE |
			    __GFP_NOWARN | __GFP_NOMEMALLOC | __GFP_NORETRY,
		.reason = MR_DAMON,
	};
	unsigned int nr_moved = 0;
	struct folio *folio, *next;
	LIST_HEAD(moving);

	list_for_each_entry_safe(folio, next, list, lru) {
		if (folio_nid(folio) == nid) {
			list_del(&folio->lru);
			folio_putback_lru(folio);
			continue;
		}
		/* What migration unaccounts as each folio settles. */
		node_stat_mod_folio(folio,
				    NR_ISOLATED_ANON + folio_is_file_lru(folio),
				    folio_nr_pages(folio));
		list_move_tail(&folio->lru, &moving);
	}
	if (list_empty(&moving))
		return 0;
	if (migrate_pages(&moving, alloc_migration_target, NULL,
			  (unsigned long)&mtc, MIGRATE_ASYNC, MR_DAMON,
			  &nr_moved))
		putback_movable_pages(&moving);
	return (unsigned long)nr_moved * PAGE_SIZE;
}
#else
unsigned long damon_migrate_folios(struct list_head *list, int nid)
{
	struct folio *folio, *next;

	list_for_each_entry_safe(folio, next, list, lru) {
		list_del(&folio->lru);
		folio_putback_lru(folio);
	}
	return 0;
}
#endif
