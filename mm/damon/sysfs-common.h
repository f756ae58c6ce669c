/* SPDX-License-Identifier: GPL-2.0 */
/*
 * DAMON sysfs interface: the generic directory tree.
 *
 * The tree under /sys/kernel/mm/damon/admin is regular: a directory holds
 * files that are each one number, flag or keyword, a few fixed
 * subdirectories, and maybe numbered children whose count an nr_* file
 * sets.  So every directory is one &struct damon_sysfs_node, described by a
 * constant &struct damon_sysfs_type table, and a new knob is one line of a
 * table.
 */

#ifndef _DAMON_SYSFS_COMMON_H
#define _DAMON_SYSFS_COMMON_H

#include <linux/kobject.h>
#include <linux/mutex.h>

struct damon_sysfs_node;

/**
 * enum damon_sysfs_kind - How a file reads and writes its value.
 * @DAMON_SYSFS_ULONG:	 An unsigned long within [min, max], base 0.
 * @DAMON_SYSFS_LONG:	 A long within [(long)min, (long)max], base 0.
 * @DAMON_SYSFS_BOOL:	 Y or N (anything kstrtobool() takes on write).
 * @DAMON_SYSFS_KEYWORD: One of the type's keywords; the value is its index.
 * @DAMON_SYSFS_STRING: A string of at most max bytes.
 * @DAMON_SYSFS_NR:	 The number of numbered children, at most max.
 * @DAMON_SYSFS_CUSTOM:	 The file's own show and store do everything.
 */
enum damon_sysfs_kind {
	DAMON_SYSFS_ULONG,
	DAMON_SYSFS_LONG,
	DAMON_SYSFS_BOOL,
	DAMON_SYSFS_KEYWORD,
	DAMON_SYSFS_STRING,
	DAMON_SYSFS_NR,
	DAMON_SYSFS_CUSTOM,
};

/**
 * struct damon_sysfs_file - A file of a directory type.
 * @attr:	Name, mode and, for %DAMON_SYSFS_CUSTOM, show and store.
 * @kind:	How the value is parsed and printed.
 * @min:	Smallest value accepted.
 * @max:	Largest value accepted; for %DAMON_SYSFS_NR the most children.
 * @def:	Value of a new directory; unused for %DAMON_SYSFS_STRING,
 *		which starts empty.
 * @keywords:	For %DAMON_SYSFS_KEYWORD, the keywords, NULL terminated.
 *
 * The value of the file at index i of &damon_sysfs_type.files is
 * &damon_sysfs_node.vals[i].  Every file but %DAMON_SYSFS_CUSTOM ones is
 * shown and stored by the common code under damon_sysfs_lock.
 */
struct damon_sysfs_file {
	struct kobj_attribute attr;
	enum damon_sysfs_kind kind;
	unsigned long min, max, def;
	const char * const *keywords;
};

/**
 * struct damon_sysfs_type - What a kind of directory holds.
 * @name:	Name of the directory, for fixed subdirectories.
 * @files:	The files.
 * @nr_files:	Number of entries in @files.
 * @subdirs:	Types of the fixed subdirectories, created with the node.
 * @nr_subdirs:	Number of entries in @subdirs.
 * @child:	Type of the numbered children, or NULL if there are none.
 * @may_resize:	Says whether the numbered children may be replaced now;
 *		called under damon_sysfs_lock.  NULL means always.
 * @private_release: Frees &damon_sysfs_node.private, if it can be set.
 */
struct damon_sysfs_type {
	const char *name;
	const struct damon_sysfs_file *files;
	unsigned int nr_files;
	const struct damon_sysfs_type * const *subdirs;
	unsigned int nr_subdirs;
	const struct damon_sysfs_type *child;
	int (*may_resize)(struct damon_sysfs_node *node);
	void (*private_release)(struct damon_sysfs_node *node);
};

/**
 * union damon_sysfs_value - The value of a file.
 * @num:	What every kind but %DAMON_SYSFS_STRING holds: a number, a
 *		flag, or the index of a keyword.
 * @str:	What a %DAMON_SYSFS_STRING holds: the string, owned by the
 *		node, or NULL for the empty one.
 */
union damon_sysfs_value {
	unsigned long num;
	char *str;
};

/**
 * struct damon_sysfs_node - A directory of the tree.
 * @kobj:	The directory itself.
 * @type:	What the directory holds.
 * @removed:	The node left the tree; its files refuse writes.
 * @resizing:	Its numbered children are being replaced.
 * @private:	What a type keeps beside its values (the kdamond it started).
 * @users:	Commands using @private without damon_sysfs_lock held, which
 *		hold a reference on @kobj too; @private stays while any do.
 * @subdirs:	Fixed subdirectories, in the order of &damon_sysfs_type.subdirs.
 * @children:	Numbered children.
 * @nr_children: Number of entries in @children.
 * @vals:	Values of the files, in the order of &damon_sysfs_type.files.
 *
 * All but @kobj are protected by damon_sysfs_lock.  Nodes leave sysfs
 * only while the lock is not held: removing a directory waits for the
 * handlers of its files, which may be waiting for the lock.  A node that
 * left the tree is @removed, and nothing below it changes any more.
 */
struct damon_sysfs_node {
	struct kobject kobj;
	const struct damon_sysfs_type *type;
	bool removed;
	bool resizing;
	void *private;
	unsigned int users;
	struct damon_sysfs_node **subdirs;
	struct damon_sysfs_node **children;
	unsigned int nr_children;
	union damon_sysfs_value vals[];
};

extern struct mutex damon_sysfs_lock;

/* A file shown and stored by the common code. */
#define DAMON_SYSFS_FILE(_name, _mode, _kind, _min, _max, _def, _kw)	\
	{								\
		.attr = __ATTR(_name, _mode, damon_sysfs_file_show,	\
			       damon_sysfs_file_store),			\
		.kind = _kind, .min = _min, .max = _max, .def = _def,	\
		.keywords = _kw,					\
	}

/* A file with its own show and store. */
#define DAMON_SYSFS_CUSTOM_FILE(_name, _mode, _show, _store)		\
	{								\
		.attr = __ATTR(_name, _mode, _show, _store),		\
		.kind = DAMON_SYSFS_CUSTOM,				\
	}

ssize_t damon_sysfs_file_show(struct kobject *kobj,
			      struct kobj_attribute *attr, char *buf);
ssize_t damon_sysfs_file_store(struct kobject *kobj,
			       struct kobj_attribute *attr, const char *buf,
			       size_t count);

int damon_sysfs_node_create(const struct damon_sysfs_type *type,
			    struct kobject *parent, const char *name,
			    struct damon_sysfs_node **nodep);
void damon_sysfs_node_mark_removed(struct damon_sysfs_node *node);
void damon_sysfs_node_put_tree(struct damon_sysfs_node *node);
int damon_sysfs_set_nr_children(struct damon_sysfs_node *node,
				unsigned long nr);

/* sysfs.c */
struct damon_sysfs_node *damon_sysfs_schemes_of(struct damon_sysfs_node *kd);
struct damon_ctx *damon_sysfs_running_ctx(struct damon_sysfs_node *kdamond,
					  struct damon_sysfs_node **schemes);

/* sysfs-schemes.c */
#define DAMON_SYSFS_MAX_SCHEMES		256

/**
 * enum damon_sysfs_schemes_result - Results copied out of the kdamond.
 * @DAMON_SYSFS_SCHEMES_STATS:	The stats directories.
 * @DAMON_SYSFS_SCHEMES_QUOTAS:	quotas/effective_bytes.
 *
 * Flags, to be ORed.
 */
enum damon_sysfs_schemes_result {
	DAMON_SYSFS_SCHEMES_STATS = 1 << 0,
	DAMON_SYSFS_SCHEMES_QUOTAS = 1 << 1,
};

extern const struct damon_sysfs_type damon_sysfs_schemes_type;
int damon_sysfs_add_schemes(struct damon_ctx *ctx,
			    struct damon_sysfs_node *schemes);
void damon_sysfs_set_schemes_results(struct damon_sysfs_node *schemes,
				     struct damon_ctx *ctx, unsigned int what);
int damon_sysfs_update_schemes(struct damon_sysfs_node *schemes,
			       struct damon_ctx *ctx, unsigned int what);
int damon_sysfs_commit_goals(struct damon_sysfs_node *schemes,
			     struct damon_ctx *ctx);
int damon_sysfs_update_tried(struct damon_sysfs_node *kdamond,
			     bool bytes_only);
int damon_sysfs_clear_tried(struct damon_sysfs_node *kdamond);

/* The value of file @idx of @node: a number, a flag or a keyword index. */
static inline unsigned long damon_sysfs_val(const struct damon_sysfs_node *node,
					    unsigned int idx)
{
	return node->vals[idx].num;
}

/* The same, for a field of type unsigned int: larger values saturate. */
static inline unsigned int damon_sysfs_uint(const struct damon_sysfs_node *node,
					    unsigned int idx)
{
	return min_t(unsigned long, node->vals[idx].num, UINT_MAX);
}

/* The string of file @idx of @node, a %DAMON_SYSFS_STRING one. */
static inline const char *damon_sysfs_str(const struct damon_sysfs_node *node,
					  unsigned int idx)
{
	return node->vals[idx].str ?: "";
}

/* Set file @idx of @node to a result of the kernel's. */
static inline void damon_sysfs_set_val(struct damon_sysfs_node *node,
				       unsigned int idx, unsigned long val)
{
	node->vals[idx].num = val;
}

static inline struct damon_sysfs_node *
damon_sysfs_to_node(struct kobject *kobj)
{
	return container_of(kobj, struct damon_sysfs_node, kobj);
}

#endif /* _DAMON_SYSFS_COMMON_H */
