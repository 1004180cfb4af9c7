/* view.c --- a command's read context: device, cache set, node cache and
 * the leaves after journal replay, opened and closed once (view.h).
 */
#include <errno.h>
#include <string.h>

#include "libcore/base/errcode.h"
#include "libcore/dev/signature.h"
#include "libcore/ondisk/bkey.h"
#include "libcore/read/view.h"

void bt_view_init(struct bt_view *v, const struct bt_view_opts *o)
{
	memset(v, 0, sizeof(*v));
	v->o = *o;
	v->dev.fd = -1;
}

int bt_view_open_dev(struct bt_view *v, struct bt_guard *g, int i, struct printbuf *err)
{
	return bt_guard_open(g, i, v->o.flags & BT_VIEW_RDWR ? BT_GUARD_RDWR : 0, &v->dev, err);
}

int bt_view_open_path(struct bt_view *v, const char *path, struct printbuf *err)
{
	int ret = bt_dev_open(path, BT_DEV_FORCE, &v->dev, err);

	if (!ret && (ret = bt_probe_foreign(&v->dev, err)))
		bt_dev_close(&v->dev);
	return ret;
}

/*
 * The partial-open policy: after an error of bt_cache_set_open() with
 * BT_OPEN_KEEP_GOING, is what was read enough to go on with? It is when
 * there is a cache set, its buckets and btree root were read (and the
 * uuid slots, when the caller needs them): e.g. a bad prio chain still
 * leaves the btree and the slots.
 */
static bool partial_usable(const struct cache_set *c, int ret, bool needs_uuids)
{
	return ret != -BT_ERR_NO_CACHE_SET && c->buckets && (c->uuids || !needs_uuids) &&
	       KEY_PTRS((const struct bkey *)&c->root_key);
}

int bt_view_open_set(struct bt_view *v, struct printbuf *err)
{
	unsigned flags = BT_OPEN_KEEP_GOING;
	int ret;

	if (v->o.flags & BT_VIEW_SB_IGNORE_CSUM)
		flags |= BT_OPEN_SB_IGNORE_CSUM;
	ret = bt_cache_set_open(&v->c, &v->dev, flags, err);
	if (ret && !partial_usable(&v->c, ret, v->o.flags & BT_VIEW_NEEDS_UUIDS))
		return ret;
	v->partial = ret != 0;
	v->open_ret = ret;
	return 0;
}

int bt_view_open(struct bt_view *v, struct bt_guard *g, int i, struct printbuf *err)
{
	int ret = bt_view_open_dev(v, g, i, err);

	return ret ? ret : bt_view_open_set(v, err);
}

int bt_view_node_cache(struct bt_view *v, struct printbuf *err)
{
	size_t bytes = v->o.node_cache_bytes ? v->o.node_cache_bytes
					     : BT_NODE_CACHE_DEFAULT_BYTES;

	if (v->nc)
		return 0;
	v->nc = bt_node_cache_new(&v->c, bytes, 0);
	if (!v->nc) {
		prt_printf(err, "%s: out of memory", v->o.who ? v->o.who : "bcache-tool");
		return -ENOMEM;
	}
	v->pool = bt_node_pool_for(&v->c, v->o.threads, 0);
	if (v->pool)
		bt_node_cache_set_pool(v->nc, v->pool);
	return 0;
}

void bt_view_exit(struct bt_view *v)
{
	bt_node_cache_free(v->nc);	/* lets go of the pool */
	v->nc = NULL;
	bt_node_pool_free(v->pool);
	v->pool = NULL;
	if (v->dev.path) {
		bt_cache_set_exit(&v->c);
		bt_dev_close(&v->dev);
	}
}
