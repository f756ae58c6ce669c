/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the DAMON operations sets share: Accessed-bit handling of page table
 * entries, the priority scores of regions for schemes, the filters judged
 * per folio, and moving folios off their LRU lists.
 */

#ifndef _MM_DAMON_OPS_COMMON_H
#define _MM_DAMON_OPS_COMMON_H

#include <linux/damon.h>

bool damon_ptep_mkold(pte_t *pte, struct vm_area_struct *vma,
		      unsigned long addr);
bool damon_pmdp_mkold(pmd_t *pmd, struct vm_area_struct *vma,
		      unsigned long addr);

int damon_hot_score(struct damon_ctx *ctx, struct damon_region *r,
		    struct damos *s);
int damon_cold_score(struct damon_ctx *ctx, struct damon_region *r,
		     struct damos *s);
int damon_scheme_score(struct damon_ctx *ctx, struct damon_target *t,
		       struct damon_region *r, struct damos *s);

bool damos_has_ops_filter(struct damos *s, int type);
bool damos_ops_filter_out(struct damos *s, struct folio *folio, bool young);

bool damon_isolate_folio(struct folio *folio, struct list_head *list);
unsigned long damon_migrate_folios(struct list_head *list, int nid);

#endif	/* _MM_DAMON_OPS_COMMON_H */
