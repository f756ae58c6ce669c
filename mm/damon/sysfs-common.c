// SPDX-License-Identifier: GPL-2.0
/*
 * DAMON sysfs interface: the generic directory tree.
 *
 * Directories are &struct damon_sysfs_node, described by constant tables
 * (sysfs-common.h); this file creates and removes them and reads and
 * writes the values of their files.
 */

#define pr_fmt(fmt) "damon-sysfs: " fmt

#include <linux/slab.h>
#include <linux/string.h>

#include "sysfs-common.h"

/* === Data === */

/*
 * Serializes everything done through the tree: writes and reads of values,
 * replacing numbered children, and turning kdamonds on and off.
 */
DEFINE_MUTEX(damon_sysfs_lock);

/* === Nodes === */

static void damon_sysfs_node_release(struct kobject *kobj)
{
	struct damon_sysfs_node *node = damon_sysfs_to_node(kobj);
	unsigned int i;

	if (node->private && node->type->private_release)
		node->type->private_release(node);
	for (i = 0; i < node->type->nr_files; i++)
		if (node->type->files[i].kind == DAMON_SYSFS_STRING)
			kfree(node->vals[i].str);
	kvfree(node->children);
	kfree(node->subdirs);
	kfree(node);
}

static const struct kobj_type damon_sysfs_node_ktype = {
	.release = damon_sysfs_node_release,
	.sysfs_ops = &kobj_sysfs_ops,
};

/**
 * damon_sysfs_node_mark_removed() - Take a node out of the tree.
 * @node:	The node.
 *
 * Marks @node and everything below it removed, so that none of it changes
 * any more; the caller then drops its pointer to @node and, once it let go
 * of damon_sysfs_lock, calls damon_sysfs_node_put_tree().
 */
void damon_sysfs_node_mark_removed(struct damon_sysfs_node *node)
{
	unsigned int i;

	lockdep_assert_held(&damon_sysfs_lock);
	node->removed = true;
	for (i = 0; i < node->type->nr_subdirs; i++)
		if (node->subdirs[i])
			damon_sysfs_node_mark_removed(node->subdirs[i]);
	for (i = 0; i < node->nr_children; i++)
		damon_sysfs_node_mark_removed(node->children[i]);
}

/**
 * damon_sysfs_node_put_tree() - Remove a node from sysfs.
 * @node:	A node marked by damon_sysfs_node_mark_removed().
 *
 * Takes @node and everything below it out of sysfs and drops the tree's
 * references to them.  Must not be called under damon_sysfs_lock:
 * kobject_del() waits for the handlers of the files, and those may be
 * waiting for the lock.  Marked nodes do not change, so their arrays can be
 * read without the lock.
 */
void damon_sysfs_node_put_tree(struct damon_sysfs_node *node)
{
	unsigned int i;

	lockdep_assert_not_held(&damon_sysfs_lock);
	for (i = 0; i < node->type->nr_subdirs; i++)
		if (node->subdirs[i])
			damon_sysfs_node_put_tree(node->subdirs[i]);
	for (i = 0; i < node->nr_children; i++)
		damon_sysfs_node_put_tree(node->children[i]);
	kobject_del(&node->kobj);
	kobject_put(&node->kobj);
}

/**
 * damon_sysfs_node_create() - Create a directory and what it holds.
 * @type:	What the directory holds.
 * @parent:	The directory to create it in.
 * @name:	Its name.
 * @nodep:	Where to store the node.
 *
 * The files get their default values and the fixed subdirectories are
 * created too; there are no numbered children yet.  Called under
 * damon_sysfs_lock, except before the tree is visible.
 *
 * Return: 0, or -ENOMEM.  On failure *@nodep may still be a node, only
 * partly built, and visible: the caller marks it removed and puts it
 * without the lock held, as for any other node leaving the tree.
 */
int damon_sysfs_node_create(const struct damon_sysfs_type *type,
			    struct kobject *parent, const char *name,
			    struct damon_sysfs_node **nodep)
{
	struct damon_sysfs_node *node;
	unsigned int i;
	int err;

	*nodep = NULL;
	node = kzalloc(struct_size(node, vals, type->nr_files), GFP_KERNEL);
	if (!node)
		return -ENOMEM;
	node->type = type;
	/* kzalloc() left the strings empty. */
	for (i = 0; i < type->nr_files; i++)
		if (type->files[i].kind != DAMON_SYSFS_STRING)
			node->vals[i].num = type->files[i].def;
	if (type->nr_subdirs) {
		node->subdirs = kcalloc(type->nr_subdirs,
					sizeof(*node->subdirs), GFP_KERNEL);
		if (!node->subdirs) {
			kfree(node);
			return -ENOMEM;
		}
	}

	/* From here on the release function frees the node. */
	*nodep = node;
	err = kobject_init_and_add(&node->kobj, &damon_sysfs_node_ktype,
				   parent, "%s", name);
	for (i = 0; !err && i < type->nr_files; i++)
		err = sysfs_create_file(&node->kobj,
					&type->files[i].attr.attr);
	for (i = 0; !err && i < type->nr_subdirs; i++)
		err = damon_sysfs_node_create(type->subdirs[i], &node->kobj,
					      type->subdirs[i]->name,
					      &node->subdirs[i]);
	return err ? -ENOMEM : 0;
}

/**
 * damon_sysfs_set_nr_children() - Replace the numbered children of a node.
 * @node:	The node; its type has &damon_sysfs_type.child.
 * @nr:		How many children to create, named 0 to @nr - 1.
 *
 * All current children are removed first, with everything below them, and
 * the new ones get default values.  Called without damon_sysfs_lock: it
 * takes the lock, and drops it while the old children leave sysfs.
 *
 * Return: 0; -ENODEV if @node left the tree meanwhile; -EBUSY if the
 * children of @node are being replaced by someone else, or if
 * &damon_sysfs_type.may_resize says so; -ENOMEM, leaving no children.
 */
int damon_sysfs_set_nr_children(struct damon_sysfs_node *node,
				unsigned long nr)
{
	struct damon_sysfs_node **old, **new = NULL;
	unsigned int i, nr_old;
	char name[16];
	int err = 0;

	mutex_lock(&damon_sysfs_lock);
	if (node->removed)
		err = -ENODEV;
	else if (node->resizing)
		err = -EBUSY;
	else if (node->type->may_resize)
		err = node->type->may_resize(node);
	if (err) {
		mutex_unlock(&damon_sysfs_lock);
		return err;
	}
	node->resizing = true;
	old = node->children;
	nr_old = node->nr_children;
	for (i = 0; i < nr_old; i++)
		damon_sysfs_node_mark_removed(old[i]);
	node->children = NULL;
	node->nr_children = 0;
	mutex_unlock(&damon_sysfs_lock);

	/* The new children take the names of the old ones: remove those. */
	for (i = 0; i < nr_old; i++)
		damon_sysfs_node_put_tree(old[i]);
	kvfree(old);

	mutex_lock(&damon_sysfs_lock);
	node->resizing = false;
	if (node->removed) {
		err = -ENODEV;
		goto out;
	}
	if (!nr)
		goto out;
	/* Thousands of regions or tried regions: kvcalloc(). */
	new = kvcalloc(nr, sizeof(*new), GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!new) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < nr && !err; i++) {
		snprintf(name, sizeof(name), "%u", i);
		err = damon_sysfs_node_create(node->type->child, &node->kobj,
					      name, &new[i]);
	}
	if (err) {
		/*
		 * Take back what was created, outside of the lock, and still
		 * resizing: a resize meanwhile would create the same names.
		 */
		node->resizing = true;
		nr_old = new[i - 1] ? i : i - 1;
		for (i = 0; i < nr_old; i++)
			damon_sysfs_node_mark_removed(new[i]);
		mutex_unlock(&damon_sysfs_lock);
		for (i = 0; i < nr_old; i++)
			damon_sysfs_node_put_tree(new[i]);
		kvfree(new);
		mutex_lock(&damon_sysfs_lock);
		node->resizing = false;
		mutex_unlock(&damon_sysfs_lock);
		return err;
	}
	node->children = new;
	node->nr_children = nr;
out:
	mutex_unlock(&damon_sysfs_lock);
	return err;
}

/* === Files === */

static const struct damon_sysfs_file *
damon_sysfs_attr_file(struct kobj_attribute *attr)
{
	return container_of(attr, struct damon_sysfs_file, attr);
}

/* Index of @file in the table of @node's type: the index of its value. */
static unsigned int damon_sysfs_file_idx(struct damon_sysfs_node *node,
					 const struct damon_sysfs_file *file)
{
	return file - node->type->files;
}

/**
 * damon_sysfs_file_show() - Show the value of a file of a table.
 * @kobj:	The directory.
 * @attr:	The file, in a &struct damon_sysfs_file.
 * @buf:	Where to print the value.
 *
 * Return: the length printed.
 */
ssize_t damon_sysfs_file_show(struct kobject *kobj,
			      struct kobj_attribute *attr, char *buf)
{
	struct damon_sysfs_node *node = damon_sysfs_to_node(kobj);
	const struct damon_sysfs_file *file = damon_sysfs_attr_file(attr);
	unsigned int idx = damon_sysfs_file_idx(node, file);
	unsigned long val = 0;
	ssize_t len = 0;

	/* A string may be replaced once the lock is let go: print it here. */
	mutex_lock(&damon_sysfs_lock);
	if (file->kind == DAMON_SYSFS_NR)
		val = node->nr_children;
	else if (file->kind == DAMON_SYSFS_STRING)
		len = sysfs_emit(buf, "%s\n", damon_sysfs_str(node, idx));
	else
		val = damon_sysfs_val(node, idx);
	mutex_unlock(&damon_sysfs_lock);

	switch (file->kind) {
	case DAMON_SYSFS_STRING:
		return len;
	case DAMON_SYSFS_LONG:
		return sysfs_emit(buf, "%ld\n", (long)val);
	case DAMON_SYSFS_BOOL:
		return sysfs_emit(buf, "%c\n", val ? 'Y' : 'N');
	case DAMON_SYSFS_KEYWORD:
		return sysfs_emit(buf, "%s\n", file->keywords[val]);
	default:
		return sysfs_emit(buf, "%lu\n", val);
	}
}

/*
 * Parse @buf as @file takes it into *@val; -EINVAL if it does not.  A
 * string is allocated, for the caller to free.
 */
static int damon_sysfs_parse(const struct damon_sysfs_file *file,
			     const char *buf, union damon_sysfs_value *val)
{
	size_t len;
	bool flag;
	long sval;
	int err;

	switch (file->kind) {
	case DAMON_SYSFS_LONG:
		err = kstrtol(buf, 0, &sval);
		if (err || sval < (long)file->min || sval > (long)file->max)
			return -EINVAL;
		val->num = sval;
		return 0;
	case DAMON_SYSFS_BOOL:
		err = kstrtobool(buf, &flag);
		val->num = flag;
		return err ? -EINVAL : 0;
	case DAMON_SYSFS_KEYWORD:
		err = __sysfs_match_string(file->keywords, -1, buf);
		if (err < 0)
			return -EINVAL;
		val->num = err;
		return 0;
	case DAMON_SYSFS_STRING:
		/* Up to the first newline, which echo adds. */
		len = strcspn(buf, "\n");
		if (len > file->max)
			return -EINVAL;
		val->str = len ? kstrndup(buf, len, GFP_KERNEL) : NULL;
		return len && !val->str ? -ENOMEM : 0;
	default:
		err = kstrtoul(buf, 0, &val->num);
		if (err || val->num < file->min || val->num > file->max)
			return -EINVAL;
		return 0;
	}
}

/**
 * damon_sysfs_file_store() - Store the value of a file of a table.
 * @kobj:	The directory.
 * @attr:	The file, in a &struct damon_sysfs_file.
 * @buf:	What was written.
 * @count:	Length of @buf.
 *
 * A value out of the file's bounds, or that does not parse, changes
 * nothing.  Writing an nr_* file replaces the numbered children.
 *
 * Return: @count, or -EINVAL for a bad value, or what
 * damon_sysfs_set_nr_children() returned, or -ENODEV if the directory left
 * the tree.
 */
ssize_t damon_sysfs_file_store(struct kobject *kobj,
			       struct kobj_attribute *attr, const char *buf,
			       size_t count)
{
	struct damon_sysfs_node *node = damon_sysfs_to_node(kobj);
	const struct damon_sysfs_file *file = damon_sysfs_attr_file(attr);
	union damon_sysfs_value val;
	int err;

	err = damon_sysfs_parse(file, buf, &val);
	if (err)
		return err;
	if (file->kind == DAMON_SYSFS_NR) {
		err = damon_sysfs_set_nr_children(node, val.num);
		return err ? err : count;
	}

	mutex_lock(&damon_sysfs_lock);
	if (node->removed)
		err = -ENODEV;
	else
		swap(node->vals[damon_sysfs_file_idx(node, file)], val);
	mutex_unlock(&damon_sysfs_lock);
	/* The string written over, or the new one if it was not taken. */
	if (file->kind == DAMON_SYSFS_STRING)
		kfree(val.str);
	return err ? err : count;
}
