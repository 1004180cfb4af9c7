/* bkey_json.c --- a bkey as a JSON object. */
#include "libcore/ondisk/bkey.h"
#include "libcore/ondisk/bkey_json.h"

json_t *bt_bkey_to_json(const struct cache_set *c, const struct bkey *k)
{
	struct printbuf pb = PRINTBUF;
	json_t *o = json_object(), *ptrs = json_array();

	bt_bkey_to_text(&pb, k);
	json_object_set_new(o, "text", json_string(printbuf_str(&pb)));
	json_object_set_new(o, "inode", json_integer((json_int_t)KEY_INODE(k)));
	json_object_set_new(o, "start", json_integer((json_int_t)KEY_START(k)));
	json_object_set_new(o, "offset", json_integer((json_int_t)KEY_OFFSET(k)));
	json_object_set_new(o, "size", json_integer((json_int_t)KEY_SIZE(k)));
	json_object_set_new(o, "dirty", json_boolean(KEY_DIRTY(k)));
	for (unsigned i = 0; i < KEY_PTRS(k); i++) {
		json_t *p = json_object();

		json_object_set_new(p, "dev", json_integer((json_int_t)PTR_DEV(k, i)));
		json_object_set_new(p, "offset", json_integer((json_int_t)PTR_OFFSET(k, i)));
		json_object_set_new(p, "gen", json_integer((json_int_t)PTR_GEN(k, i)));
		if (c)
			json_object_set_new(p, "stale", json_integer(bt_ptr_available(k, i) ?
								    bt_ptr_stale(c, k, i) : 0));
		json_array_append_new(ptrs, p);
	}
	json_object_set_new(o, "ptrs", ptrs);
	printbuf_exit(&pb);
	return o;
}
