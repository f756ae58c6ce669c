/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the DAMON operations sets share: Accessed-bit handling of page table
 * entries and folio lookup.
 */

#ifndef _MM_DAMON_OPS_COMMON_H
#define _MM_DAMON_OPS_COMMON_H

#include <linux/damon.h>

struct folio *damon_get_folio(unsigned long pfn);
void damon_ptep_mkold(pte_t *pte, struct vm_area_struct *vma,
		      unsigned long addr);
void damon_pmdp_mkold(pmd_t *pmd, struct vm_area_struct *vma,
		      unsigned long addr);

#endif	/* _MM_DAMON_OPS_COMMON_H */
