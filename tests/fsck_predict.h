/* fsck_predict.h --- the corruption suite's checks that fsck -n predicts fsck -y. */
#ifndef BCACHE_TOOL_TESTS_FSCK_PREDICT_H
#define BCACHE_TOOL_TESTS_FSCK_PREDICT_H

#include <jansson.h>

/*
 * fsck -n --json (n) predicts the fsck -y --json (y) that followed it on
 * the same image: the same problems, each with the same repair ("action":
 * "would" under -n where -y says "done", the same "not made" and why),
 * the same "lost", "past_end" and "garbage" lists. Asserts (Criterion),
 * naming case dir.
 */
void t_predict_same(const char *dir, json_t *n, json_t *y);

/*
 * No range of report's "lost" and "past_end" lists names a uuid slot past
 * the uuid bucket's, a bucket outside [first_bucket, nbuckets) or, in
 * "lost", a sector past the end of a flash volume or of the backing device
 * bdev (NULL: none known); img is the repaired image (opened to read its
 * superblock and uuid slots) and is not changed.
 */
void t_lost_in_range(const char *dir, json_t *report, const char *img, const char *bdev);

/*
 * fsck -n's text (out) says "would ..." for each repair its --json (n)
 * reports, up to the messages suppressed per code (10), and that it would
 * not be made where -y would not make it, "would lose: "
 * when the lost list has a range that is not clean data, and reports the
 * garbage count when there is garbage.
 */
void t_predict_text(const char *dir, const char *out, json_t *n);

#endif /* BCACHE_TOOL_TESTS_FSCK_PREDICT_H */
