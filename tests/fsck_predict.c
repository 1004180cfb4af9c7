/* fsck_predict.c --- the corruption suite's checks that fsck -n predicts fsck -y. */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/stat.h>

#include "fsck_predict.h"
#include "helpers.h"
#include "libcore/read/uuid.h"

static const char *str_of(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* A field of a problem as text ("" when absent), for comparing the two runs. */
static char *field_text(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : strdup("");
}

/* One problem of -n against the same problem of -y: code, place, repair and its state. */
static void same_problem(const char *dir, size_t i, json_t *pn, json_t *py)
{
	static const char *const place[] = { "code", "structure", "bucket", "sector", "uuid_slot",
					     "jset_seq", "btree_level" };
	json_t *an = json_object_get(pn, "action"), *ay = json_object_get(py, "action");
	const char *sn = str_of(an, "state"), *sy = str_of(ay, "state");

	for (size_t f = 0; f < sizeof(place) / sizeof(place[0]); f++) {
		char *vn = field_text(pn, place[f]), *vy = field_text(py, place[f]);

		cr_expect_str_eq(vn, vy, "%s: problem %zu (%s): %s is %s under -n, %s under -y",
				 dir, i, str_of(py, "code"), place[f], vn, vy);
		free(vn);
		free(vy);
	}
	cr_expect_eq(!an, !ay, "%s: problem %zu (%s): an action in one run only", dir, i,
		     str_of(py, "code"));
	if (!an || !ay)
		return;
	cr_expect_str_eq(str_of(an, "repair"), str_of(ay, "repair"),
			 "%s: %s: -n would \"%s\", -y did \"%s\"", dir, str_of(py, "code"),
			 str_of(an, "repair"), str_of(ay, "repair"));
	/* -n's "would" is -y's "done"; a repair not made is not made by either, for one reason */
	if (!strcmp(sy, "done"))
		cr_expect_str_eq(sn, "would", "%s: %s: -y made the repair, -n said %s", dir,
				 str_of(py, "code"), sn);
	else
		cr_expect(!strcmp(sn, sy) && !strcmp(str_of(an, "why"), str_of(ay, "why")),
			  "%s: %s: -n said %s (%s), -y %s (%s)", dir, str_of(py, "code"), sn,
			  str_of(an, "why"), sy, str_of(ay, "why"));
}

static void same_list(const char *dir, json_t *n, json_t *y, const char *key)
{
	char *ln = json_dumps(json_object_get(n, key), JSON_ENCODE_ANY | JSON_COMPACT);
	char *ly = json_dumps(json_object_get(y, key), JSON_ENCODE_ANY | JSON_COMPACT);

	cr_assert(ln && ly, "%s: no \"%s\" list in the reports", dir, key);
	cr_expect_str_eq(ln, ly, "%s: \"%s\" of -n (%zu entries) is not -y's (%zu)", dir, key,
			 json_array_size(json_object_get(n, key)),
			 json_array_size(json_object_get(y, key)));
	free(ln);
	free(ly);
}

void t_predict_same(const char *dir, json_t *n, json_t *y)
{
	json_t *pn = json_object_get(n, "problems"), *py = json_object_get(y, "problems");

	cr_assert_eq(json_array_size(pn), json_array_size(py),
		     "%s: -n reports %zu problems, -y %zu", dir, json_array_size(pn),
		     json_array_size(py));
	for (size_t i = 0; i < json_array_size(py); i++)
		same_problem(dir, i, json_array_get(pn, i), json_array_get(py, i));
	same_list(dir, n, y, "lost");
	same_list(dir, n, y, "past_end");
	same_list(dir, n, y, "garbage");
}

/* One range of "lost" or "past_end" against the repaired set's geometry and slots. */
static void range_ok(const char *dir, json_t *l, const struct cache_set *c, uint64_t bdev_sectors,
		     bool lost)
{
	uint64_t slot = (uint64_t)json_integer_value(json_object_get(l, "slot"));
	uint64_t start = (uint64_t)json_integer_value(json_object_get(l, "start"));
	json_t *end = json_object_get(l, "end"), *bucket = json_object_get(l, "bucket");
	const struct uuid_entry *u;

	cr_expect_lt(slot, c->nr_uuids, "%s: lost range of slot %llu: the uuid bucket has %u slots",
		     dir, (unsigned long long)slot, c->nr_uuids);
	if (json_is_integer(bucket))
		cr_expect((uint64_t)json_integer_value(bucket) >= c->first_bucket &&
			  (uint64_t)json_integer_value(bucket) < c->nbuckets,
			  "%s: lost range names bucket %lld, outside [%u, %llu)", dir,
			  json_integer_value(bucket), c->first_bucket,
			  (unsigned long long)c->nbuckets);
	else
		cr_expect(json_is_null(bucket), "%s: a lost range's bucket is neither a number nor null",
			  dir);
	cr_expect(json_is_null(end) || (uint64_t)json_integer_value(end) > start,
		  "%s: empty or reversed range %llu-%lld", dir, (unsigned long long)start,
		  json_integer_value(end));
	if (!lost || slot >= c->nr_uuids || bt_uuid_slot_state(&c->uuids[slot]) != BT_UUID_LIVE)
		return;
	u = &c->uuids[slot];
	if (bt_uuid_flash_only(u))
		cr_expect(!json_is_null(end) && (uint64_t)json_integer_value(end) <= bt_uuid_sectors(u),
			  "%s: lost range %llu-%lld of flash volume slot %llu passes its %llu sectors",
			  dir, (unsigned long long)start, json_integer_value(end),
			  (unsigned long long)slot, (unsigned long long)bt_uuid_sectors(u));
	else if (bdev_sectors)
		cr_expect(json_is_null(end) ? start < bdev_sectors :
			  (uint64_t)json_integer_value(end) <= bdev_sectors,
			  "%s: lost range %llu-%lld of slot %llu passes the backing device's %llu "
			  "sectors", dir, (unsigned long long)start, json_integer_value(end),
			  (unsigned long long)slot, (unsigned long long)bdev_sectors);
}

void t_lost_in_range(const char *dir, json_t *report, const char *img, const char *bdev)
{
	json_t *lost = json_object_get(report, "lost"), *past = json_object_get(report, "past_end");
	uint64_t bdev_sectors = 0;
	struct t_cset s = { 0 };
	struct stat st;

	if (!json_array_size(lost) && !json_array_size(past))
		return;
	if (bdev && !stat(bdev, &st))
		bdev_sectors = (uint64_t)st.st_size >> 9;
	t_cset_open(&s, img, 0, 0);
	cr_assert(s.c.uuids, "%s: the repaired image has no uuid slots", dir);
	for (size_t i = 0; i < json_array_size(lost); i++)
		range_ok(dir, json_array_get(lost, i), &s.c, bdev_sectors, true);
	for (size_t i = 0; i < json_array_size(past); i++)
		range_ok(dir, json_array_get(past, i), &s.c, bdev_sectors, false);
	t_cset_close(&s);
}

void t_predict_text(const char *dir, const char *out, json_t *n)
{
	json_t *problems = json_object_get(n, "problems"), *lost = json_object_get(n, "lost");
	size_t nr_garbage = json_array_size(json_object_get(n, "garbage"));

	for (size_t i = 0; i < json_array_size(problems); i++) {
		json_t *p = json_array_get(problems, i), *a = json_object_get(p, "action");
		char would[1024];
		size_t same = 0;

		if (!a)
			continue;
		for (size_t j = 0; j < i; j++)
			same += !strcmp(str_of(json_array_get(problems, j), "code"), str_of(p, "code"));
		if (same >= 10)	/* the messages after max_msgs are suppressed */
			continue;
		/* declined by -y too (no repair after a fatal problem): a plain no */
		if (!strcmp(str_of(a, "state"), "declined"))
			continue;
		snprintf(would, sizeof(would), "? no: would %s\n", str_of(a, "repair"));
		cr_expect(strstr(out, would), "%s: the text of -n lacks \"%s\":\n%s", dir, would, out);
		/* a repair the later pass would not make says so */
		if (!strcmp(str_of(a, "state"), "not made"))
			cr_expect(strstr(out, " repairs would not be made: "),
				  "%s: %s would not be made, -n does not say so:\n%s", dir,
				  str_of(p, "code"), out);
		else
			cr_expect_str_eq(str_of(a, "state"), "would", "%s: %s: -n says %s", dir,
					 str_of(p, "code"), str_of(a, "state"));
	}
	for (size_t i = 0; i < json_array_size(lost); i++)
		if (strcmp(str_of(json_array_get(lost, i), "kind"), "clean data dropped")) {
			cr_expect(strstr(out, ": would lose: "), "%s: -n lists no loss:\n%s", dir, out);
			break;
		}
	if (nr_garbage) {
		char g[64];

		snprintf(g, sizeof(g), ": %zu unparseable keys (garbage), not counted", nr_garbage);
		cr_expect(strstr(out, g), "%s: -n does not report \"%s\":\n%s", dir, g, out);
	}
}
