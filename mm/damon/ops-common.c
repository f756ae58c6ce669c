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

#include <linux/mmu_notifier.h>
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
