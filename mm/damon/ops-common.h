/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the DAMON operations sets share: Accessed-bit handling of page table
 * entries, folio lookup, and the priority scores of regions for schemes.
 */

#ifndef _MM_DAMON_OPS_COMMON_H
#define _MM_DAMON_OPS_COMMON_H

#include <linux/damon.h>

struct folio *damon_get_folio(unsigned long pfn);
void damon_ptep_mkold(pte_t *pte, struct vm_area_struct *vma,
		      unsigned long addr);
void damon_pmdp_mkold(pmd_t *pmd, struct vm_area_struct *vma,
		      unsigned long addr);

int damon_hot_score(struct damon_ctx *ctx, struct damon_region *r,
		    struct damos *s);
int damon_cold_score(struct damon_ctx *ctx, struct damon_region *r,
		     struct damos *s);

#endif	/* _MM_DAMON_OPS_COMMON_H */
