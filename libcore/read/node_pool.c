/* node_pool.c --- reader threads for btree nodes (node_pool.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libcore/ondisk/bkey.h"
#include "libcore/read/node_pool.h"

enum job_state { JOB_FREE, JOB_QUEUED, JOB_RUNNING, JOB_DONE };

struct job {
	enum job_state		state;
	uint64_t		seq;		/* ask order: the oldest is read first */
	struct bkey_padded	key;
	unsigned		level;
	struct bt_node		*n;		/* JOB_DONE: the node, or NULL */
	int			ret;
	struct printbuf		msg;		/* JOB_DONE with an error: its message */
};

struct bt_node_pool {
	const struct cache_set	*c;
	unsigned		read_flags;
	pthread_mutex_t		lock;
	pthread_cond_t		work;		/* a job was queued, or stop */
	pthread_cond_t		done;		/* a job was read */
	struct job		*jobs;
	unsigned		nr_jobs;
	uint64_t		next_seq;
	bool			stop;
	pthread_t		*threads;
	unsigned		nr_threads;
};

static bool job_is(const struct job *j, const struct bkey *k, unsigned level)
{
	const struct bkey *jk = (const struct bkey *)&j->key;

	return j->state != JOB_FREE && j->level == level && bkey_u64s(jk) == bkey_u64s(k) &&
	       !memcmp(jk, k, bkey_bytes(k));
}

static void job_clear(struct job *j)
{
	bt_node_free(j->n);
	j->n = NULL;
	printbuf_exit(&j->msg);
	j->state = JOB_FREE;
}

/* The oldest queued job, or NULL. Called locked. */
static struct job *oldest_queued(struct bt_node_pool *p)
{
	struct job *best = NULL;

	for (unsigned i = 0; i < p->nr_jobs; i++)
		if (p->jobs[i].state == JOB_QUEUED && (!best || p->jobs[i].seq < best->seq))
			best = &p->jobs[i];
	return best;
}

/* Read and parse the node of job j, unlocked: the job is the thread's until JOB_DONE. */
static void run_job(struct bt_node_pool *p, struct job *j)
{
	j->msg = PRINTBUF;
	j->ret = bt_btree_node_read_unchecked(p->c, (const struct bkey *)&j->key, j->level,
					      p->read_flags, &j->n, &j->msg);
}

static void *reader(void *arg)
{
	struct bt_node_pool *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct job *j = oldest_queued(p);

		if (p->stop)
			break;
		if (!j) {
			pthread_cond_wait(&p->work, &p->lock);
			continue;
		}
		j->state = JOB_RUNNING;
		pthread_mutex_unlock(&p->lock);
		run_job(p, j);
		pthread_mutex_lock(&p->lock);
		j->state = JOB_DONE;
		pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct bt_node_pool *bt_node_pool_new(const struct cache_set *c, unsigned nr_threads,
				      unsigned read_flags, unsigned max_jobs)
{
	struct bt_node_pool *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->c = c;
	p->read_flags = read_flags;
	p->nr_jobs = max_jobs ? max_jobs : 1;
	p->jobs = calloc(p->nr_jobs, sizeof(*p->jobs));
	p->threads = calloc(nr_threads ? nr_threads : 1, sizeof(*p->threads));
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	if (!p->jobs || !p->threads) {
		bt_node_pool_free(p);
		return NULL;
	}
	for (unsigned i = 0; i < nr_threads; i++) {
		if (pthread_create(&p->threads[i], NULL, reader, p))
			break;
		p->nr_threads++;
	}
	if (!p->nr_threads) {
		bt_node_pool_free(p);
		return NULL;
	}
	return p;
}

struct bt_node_pool *bt_node_pool_for(const struct cache_set *c, unsigned nr_threads,
				      unsigned read_flags)
{
	return nr_threads > 1 ? bt_node_pool_new(c, nr_threads, read_flags, 4 * nr_threads) : NULL;
}

void bt_node_pool_free(struct bt_node_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nr_threads; i++)
		pthread_join(p->threads[i], NULL);
	for (unsigned i = 0; p->jobs && i < p->nr_jobs; i++)
		job_clear(&p->jobs[i]);
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
	free(p->jobs);
	free(p);
}

/* A free job slot for a new ask, or NULL. Called locked. */
static struct job *slot_for_ask(struct bt_node_pool *p)
{
	for (unsigned i = 0; i < p->nr_jobs; i++)
		if (p->jobs[i].state == JOB_FREE)
			return &p->jobs[i];
	return NULL;
}

bool bt_node_pool_ask(struct bt_node_pool *p, const struct bkey *k, unsigned level)
{
	struct job *j = NULL;
	bool asked = true;

	if (bkey_u64s(k) > KEY_MAX_U64S)
		return true;	/* not a key the pool can hold: read when reached */
	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; i < p->nr_jobs; i++)
		if (job_is(&p->jobs[i], k, level))
			goto out;
	j = slot_for_ask(p);
	asked = j != NULL;
	if (j) {
		memset(&j->key, 0, sizeof(j->key));
		memcpy(&j->key, k, bkey_bytes(k));
		j->level = level;
		j->seq = p->next_seq++;
		j->state = JOB_QUEUED;
		pthread_cond_signal(&p->work);
	}
out:
	pthread_mutex_unlock(&p->lock);
	return asked;
}

int bt_node_pool_take(struct bt_node_pool *p, const struct bkey *k, unsigned level,
		      struct bt_node **out, int *ret, struct printbuf *err)
{
	struct job *j = NULL;

	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; i < p->nr_jobs && !j; i++)
		if (job_is(&p->jobs[i], k, level))
			j = &p->jobs[i];
	if (j && j->state == JOB_QUEUED) {
		/* not started: read it here rather than wait */
		j->state = JOB_FREE;
		j = NULL;
	}
	while (j && j->state == JOB_RUNNING)
		pthread_cond_wait(&p->done, &p->lock);
	if (j) {
		*out = j->n;
		*ret = j->ret;
		if (j->ret)
			prt_str(err, printbuf_str(&j->msg));
		j->n = NULL;
		job_clear(j);
	}
	pthread_mutex_unlock(&p->lock);
	return j != NULL;
}

void bt_node_pool_drain(struct bt_node_pool *p)
{
	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; i < p->nr_jobs; i++) {
		struct job *j = &p->jobs[i];

		while (j->state == JOB_RUNNING)
			pthread_cond_wait(&p->done, &p->lock);
		job_clear(j);
	}
	pthread_mutex_unlock(&p->lock);
}

unsigned bt_online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned)n : 1;
}
