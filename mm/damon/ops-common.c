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
#include <linux/mmu_notifier.h>
#include <linux/overflow.h>
#include <linux/page_idle.h>
#include <linux/pagemap.h>
#include <linux/rmap.h>

#include "ops-common.h"

/**
 * damon_get_folio() - Get a reference to the LRU folio of a pfn.
 * @pfn:	The page frame.
 *
 * Only folios on an LRU list are of interest: others are not reclaimable
 * or promotable user memory, or are in flux.
 *
 * Return: the folio with a reference held, or NULL.
 */
struct folio *damon_get_folio(unsigned long pfn)
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

/**
 * damon_ptep_mkold() - Clear the Accessed bit of a PTE for sampling.
 * @pte:	The entry, mapped and locked by the caller.
 * @vma:	The VMA mapping @addr.
 * @addr:	The address @pte maps.
 *
 * Secondary MMUs are asked too, through the mmu notifier.
 */
void damon_ptep_mkold(pte_t *pte, struct vm_area_struct *vma,
		      unsigned long addr)
{
	struct folio *folio = vm_normal_folio(vma, addr, ptep_get(pte));
	bool young = ptep_clear_young_notify(vma, addr, pte);

	if (!folio)
		return;
	if (young)
		folio_set_young(folio);
	folio_set_idle(folio);
}

/**
 * damon_pmdp_mkold() - Clear the Accessed bit of a huge PMD for sampling.
 * @pmd:	The entry, locked by the caller and mapping a huge page.
 * @vma:	The VMA mapping @addr.
 * @addr:	The address @pmd maps.
 */
void damon_pmdp_mkold(pmd_t *pmd, struct vm_area_struct *vma,
		      unsigned long addr)
{
#ifdef CONFIG_TRANSPARENT_HUGEPAGE
	struct folio *folio = vm_normal_folio_pmd(vma, addr, pmdp_get(pmd));
	bool young = pmdp_clear_young_notify(vma, addr & HPAGE_PMD_MASK, pmd);

	if (!folio)
		return;
	if (young)
		folio_set_young(folio);
	folio_set_idle(folio);
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
