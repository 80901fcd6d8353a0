/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The virus scanner (scan.h): one libclamav engine shared read-only by a pool
 * of scan threads that take jobs from a bounded FIFO, scan the job's bytes in
 * memory (cl_fmap_open_memory + cl_scanmap_callback: no temporary files) with
 * every parser on (archives, documents, executables), and put the finished job
 * on the submitter's done queue. A content cache (sha256 -> clean/infected and
 * the signature) answers a file seen before without a scan, at submit time or,
 * when an identical file was queued behind the first, in the scan thread.
 *
 * Without libclamav (HAVE_CLAMAV undefined) the done queue still works and
 * kp_scanner_open() fails with a message.
 */
#define _GNU_SOURCE
#include "scan/scan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "util/err.h"

/* ---- done queue: needs no libclamav ---- */

int kp_scan_doneq_init(struct kp_scan_doneq *q)
{
	memset(q, 0, sizeof(*q));
	q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->efd < 0)
		return -errno;
	pthread_mutex_init(&q->lock, NULL);
	return 0;
}

struct kp_scan_job *kp_scan_doneq_take(struct kp_scan_doneq *q)
{
	struct kp_scan_job *list, *j;
	uint64_t v;

	pthread_mutex_lock(&q->lock);
	list = q->head;
	q->head = q->tail = NULL;
	/* Under the lock: a push after this read makes it readable again. */
	if (read(q->efd, &v, sizeof(v)) < 0) {
	}
	for (j = list; j; j = j->next)
		if (q->pending)
			q->pending--;
	pthread_mutex_unlock(&q->lock);
	return list;
}

void kp_scan_doneq_fini(struct kp_scan_doneq *q)
{
	struct kp_scan_job *j = q->head, *n;

	for (; j; j = n) {
		n = j->next;
		kp_scan_job_free(j);
	}
	q->head = q->tail = NULL;
	if (q->efd >= 0)
		close(q->efd);
	q->efd = -1;
	pthread_mutex_destroy(&q->lock);
}

void kp_scan_job_free(struct kp_scan_job *job)
{
	if (!job)
		return;
	free(job->buf);
	free(job);
}

#ifdef HAVE_CLAMAV

#include <clamav.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

/* Appends job to the list head..tail (the caller holds the list's lock). */
static void job_append(struct kp_scan_job **head, struct kp_scan_job **tail,
		       struct kp_scan_job *job)
{
	job->next = NULL;
	if (*tail)
		(*tail)->next = job;
	else
		*head = job;
	*tail = job;
}

/* One more job of q is on its way (counted before a scan thread can deliver it). */
static void doneq_pending_add(struct kp_scan_doneq *q)
{
	pthread_mutex_lock(&q->lock);
	q->pending++;
	pthread_mutex_unlock(&q->lock);
}

/* Appends a finished job and makes the eventfd readable. */
static void doneq_push(struct kp_scan_doneq *q, struct kp_scan_job *job)
{
	uint64_t one = 1;

	pthread_mutex_lock(&q->lock);
	job_append(&q->head, &q->tail, job);
	/* Cannot fail short of 2^64-2 unread writes; nothing to do if it did. */
	if (write(q->efd, &one, sizeof(one)) < 0) {
	}
	pthread_mutex_unlock(&q->lock);
}

/* Largest file and total scanned (archive members included) per job. */
#define KP_SCAN_MAX_FILESIZE (100ULL << 20)  /* ClamAV's defaults */
#define KP_SCAN_MAX_SCANSIZE (400ULL << 20)
#define KP_SCAN_MAX_SCANTIME_MS 60000

/* ---- content cache: sha256 -> verdict, LRU, fixed size ---- */

struct cache_entry {
	uint8_t sha256[32];
	uint32_t hnext;          /* hash chain (index + 1; 0 = end) */
	uint32_t lprev, lnext;   /* LRU list (index + 1; 0 = end) */
	bool used;
	uint8_t result;
	char virus[sizeof(((struct kp_scan_job *)0)->virus)];
};

struct scan_cache {
	pthread_mutex_t lock;
	struct cache_entry *e;
	uint32_t *bucket;        /* index + 1; 0 = empty */
	uint32_t n, nbuckets, used;
	uint32_t lru_head, lru_tail;  /* head = most recent; index + 1 */
};

struct kp_scanner {
	struct cl_engine *engine;
	struct cl_scan_options opts;
	unsigned sigs;
	uint64_t max_filesize;   /* larger jobs are errors, not silently "clean" */

	pthread_mutex_t lock;    /* the job queue and stopping */
	pthread_cond_t cond;
	struct kp_scan_job *qhead, *qtail;
	unsigned queued, queue_max;
	bool stopping;

	pthread_t *threads;
	unsigned nthreads;
	char *own_tmpdir;        /* libclamav's scratch we made (removed on close) */

	struct scan_cache cache;

	/* counters, updated with __atomic */
	uint64_t submitted, scanned, cached, infected, errors, rejected;
	uint64_t bytes_scanned, scan_ns;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void count(uint64_t *c, uint64_t v)
{
	__atomic_fetch_add(c, v, __ATOMIC_RELAXED);
}

static uint32_t cache_hash(const uint8_t *sha)
{
	uint32_t h;

	memcpy(&h, sha, sizeof(h));  /* sha256 bytes are already uniform */
	return h;
}

static int cache_init(struct scan_cache *c, unsigned n)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	if (!n)
		return 0;
	c->nbuckets = 1;
	while (c->nbuckets < n && c->nbuckets < (1u << 30))
		c->nbuckets <<= 1;
	c->e = calloc(n, sizeof(*c->e));
	c->bucket = calloc(c->nbuckets, sizeof(*c->bucket));
	if (!c->e || !c->bucket)
		return -ENOMEM;
	c->n = n;
	return 0;
}

static void cache_fini(struct scan_cache *c)
{
	free(c->e);
	free(c->bucket);
	pthread_mutex_destroy(&c->lock);
}

static void lru_unlink(struct scan_cache *c, uint32_t i)
{
	struct cache_entry *e = &c->e[i - 1];

	if (e->lprev)
		c->e[e->lprev - 1].lnext = e->lnext;
	else
		c->lru_head = e->lnext;
	if (e->lnext)
		c->e[e->lnext - 1].lprev = e->lprev;
	else
		c->lru_tail = e->lprev;
	e->lprev = e->lnext = 0;
}

static void lru_push_front(struct scan_cache *c, uint32_t i)
{
	struct cache_entry *e = &c->e[i - 1];

	e->lprev = 0;
	e->lnext = c->lru_head;
	if (c->lru_head)
		c->e[c->lru_head - 1].lprev = i;
	c->lru_head = i;
	if (!c->lru_tail)
		c->lru_tail = i;
}

/* Caller holds the lock. Returns index + 1, 0 when absent. */
static uint32_t cache_find(struct scan_cache *c, const uint8_t *sha)
{
	uint32_t i = c->bucket[cache_hash(sha) & (c->nbuckets - 1)];

	while (i && memcmp(c->e[i - 1].sha256, sha, 32) != 0)
		i = c->e[i - 1].hnext;
	return i;
}

/* Fills the job from the cache; false when the hash is not there. */
static bool cache_lookup(struct scan_cache *c, struct kp_scan_job *job)
{
	uint32_t i;

	if (!c->n || !job->have_sha256)
		return false;
	pthread_mutex_lock(&c->lock);
	i = cache_find(c, job->sha256);
	if (i) {
		struct cache_entry *e = &c->e[i - 1];

		job->result = (enum kp_scan_result)e->result;
		memcpy(job->virus, e->virus, sizeof(job->virus));
		job->err[0] = '\0';
		job->scan_ns = 0;
		job->cached = true;
		lru_unlink(c, i);
		lru_push_front(c, i);
	}
	pthread_mutex_unlock(&c->lock);
	return i != 0;
}

static void cache_unchain(struct scan_cache *c, uint32_t i)
{
	uint32_t *p = &c->bucket[cache_hash(c->e[i - 1].sha256) & (c->nbuckets - 1)];

	while (*p && *p != i)
		p = &c->e[*p - 1].hnext;
	if (*p)
		*p = c->e[i - 1].hnext;
	c->e[i - 1].hnext = 0;
}

static void cache_store(struct scan_cache *c, const struct kp_scan_job *job)
{
	uint32_t i, b;
	struct cache_entry *e;

	if (!c->n || !job->have_sha256 ||
	    (job->result != KP_SCAN_CLEAN && job->result != KP_SCAN_INFECTED))
		return;
	pthread_mutex_lock(&c->lock);
	i = cache_find(c, job->sha256);
	if (i) {
		lru_unlink(c, i);
	} else if (c->used < c->n) {
		i = ++c->used;
	} else {
		i = c->lru_tail;  /* evict the least recently used */
		lru_unlink(c, i);
		cache_unchain(c, i);
	}
	e = &c->e[i - 1];
	if (!e->used || memcmp(e->sha256, job->sha256, 32) != 0) {
		memcpy(e->sha256, job->sha256, 32);
		b = cache_hash(e->sha256) & (c->nbuckets - 1);
		e->hnext = c->bucket[b];
		c->bucket[b] = i;
	}
	e->used = true;
	e->result = (uint8_t)job->result;
	memcpy(e->virus, job->virus, sizeof(e->virus));
	lru_push_front(c, i);
	pthread_mutex_unlock(&c->lock);
}

/* ---- libclamav ---- */

static pthread_once_t cl_once = PTHREAD_ONCE_INIT;
static cl_error_t cl_init_ret;

/* libclamav's own messages: errors to stderr, the rest dropped (a daemon's stderr). */
static void cl_msg(enum cl_msg severity, const char *fullmsg, const char *msg, void *ctx)
{
	(void)fullmsg;
	(void)ctx;
	if (severity == CL_MSG_ERROR)
		fprintf(stderr, "libclamav: %s", msg);
}

static void cl_global_init(void)
{
	cl_set_clcb_msg(cl_msg);
	cl_init_ret = cl_init(CL_INIT_DEFAULT);
}

static enum kp_scan_result scan_buf(const struct kp_scanner *s, const uint8_t *buf, size_t len,
				    char *virus, size_t vlen, char *err, size_t errlen,
				    uint64_t *ns)
{
	struct cl_scan_options opts = s->opts;  /* libclamav takes a non-const pointer */
	const char *name = NULL;
	unsigned long scanned = 0;
	enum kp_scan_result r;
	uint64_t t0 = now_ns();
	cl_fmap_t *map;
	cl_error_t ret;

	if (virus && vlen)
		virus[0] = '\0';
	if (err && errlen)
		err[0] = '\0';
	/* libclamav would skip a file over its limit and call it clean: say it was not scanned. */
	if ((uint64_t)len > s->max_filesize) {
		kp_set_err(err, errlen, "%zu bytes: over the scan size limit", len);
		*ns = 0;
		return KP_SCAN_ERROR;
	}
	/* An empty map is refused by libclamav; nothing to find in zero bytes. */
	if (!len) {
		*ns = 0;
		return KP_SCAN_CLEAN;
	}
	map = cl_fmap_open_memory(buf, len);
	if (!map) {
		kp_set_err(err, errlen, "cannot map %zu bytes", len);
		*ns = now_ns() - t0;
		return KP_SCAN_ERROR;
	}
	ret = cl_scanmap_callback(map, NULL, &name, &scanned, s->engine, &opts, NULL);
	cl_fmap_close(map);
	*ns = now_ns() - t0;
	switch (ret) {
	case CL_CLEAN:
		r = KP_SCAN_CLEAN;
		break;
	case CL_VIRUS:
		r = KP_SCAN_INFECTED;
		if (virus && vlen)
			snprintf(virus, vlen, "%s", name ? name : "unknown");
		break;
	default:
		r = KP_SCAN_ERROR;
		kp_set_err(err, errlen, "%s", cl_strerror(ret));
		break;
	}
	return r;
}

/* Scans one job (or answers it from the cache), counts it and delivers it. */
static void scan_job(struct kp_scanner *s, struct kp_scan_job *job)
{
	job->cached = false;
	if (cache_lookup(&s->cache, job)) {
		count(&s->cached, 1);
	} else {
		job->result = scan_buf(s, job->buf, job->len, job->virus, sizeof(job->virus),
				       job->err, sizeof(job->err), &job->scan_ns);
		count(&s->scanned, 1);
		count(&s->bytes_scanned, job->len);
		count(&s->scan_ns, job->scan_ns);
		cache_store(&s->cache, job);
	}
	if (job->result == KP_SCAN_INFECTED)
		count(&s->infected, 1);
	else if (job->result == KP_SCAN_ERROR)
		count(&s->errors, 1);
	doneq_push(job->doneq, job);
}

static void *scan_thread(void *arg)
{
	struct kp_scanner *s = arg;
	struct kp_scan_job *job;

	for (;;) {
		pthread_mutex_lock(&s->lock);
		while (!s->qhead && !s->stopping)
			pthread_cond_wait(&s->cond, &s->lock);
		job = s->qhead;
		if (!job) {  /* stopping and drained */
			pthread_mutex_unlock(&s->lock);
			break;
		}
		s->qhead = job->next;
		if (!s->qhead)
			s->qtail = NULL;
		s->queued--;
		pthread_mutex_unlock(&s->lock);
		job->next = NULL;
		scan_job(s, job);
	}
	return NULL;
}

static void scanner_free(struct kp_scanner *s)
{
	if (s->engine)
		cl_engine_free(s->engine);
	if (s->own_tmpdir) {
		rmdir(s->own_tmpdir);  /* empty unless libclamav left something behind */
		free(s->own_tmpdir);
	}
	cache_fini(&s->cache);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s->threads);
	free(s);
}

/* Tells the scan threads to stop and waits for them. */
static void threads_stop(struct kp_scanner *s)
{
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	for (unsigned i = 0; i < s->nthreads; i++)
		pthread_join(s->threads[i], NULL);
}

/* A private scratch directory for libclamav under /dev/shm; false when there is none. */
static bool make_tmpdir(struct kp_scanner *s)
{
	char tmpl[] = "/dev/shm/kp2padm-scan.XXXXXX";

	if (access("/dev/shm", W_OK) != 0 || !mkdtemp(tmpl))
		return false;
	s->own_tmpdir = strdup(tmpl);
	if (!s->own_tmpdir) {
		rmdir(tmpl);
		return false;
	}
	return true;
}

int kp_scanner_open_opts(struct kp_scanner **out, const struct kp_scan_opts *o, char *err,
			 size_t errlen)
{
	const char *db_path = o->db_path, *tmpdir = o->tmpdir;
	unsigned threads = o->threads, queue_max = o->queue_max;
	uint64_t max_filesize = o->max_filesize ? o->max_filesize : KP_SCAN_MAX_FILESIZE;
	struct kp_scanner *s;
	struct stat st;
	cl_error_t ret;
	long ncpu;
	int rc;

	*out = NULL;
	if (!db_path || !*db_path) {
		kp_set_err(err, errlen, "no signature database path given");
		return -EINVAL;
	}
	if (stat(db_path, &st) < 0) {
		rc = -errno;
		kp_set_err(err, errlen, "cannot load %s: %s", db_path, strerror(errno));
		return rc;
	}
	pthread_once(&cl_once, cl_global_init);
	if (cl_init_ret != CL_SUCCESS) {
		kp_set_err(err, errlen, "libclamav init failed: %s", cl_strerror(cl_init_ret));
		return -EIO;
	}
	if (!threads) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		threads = ncpu > 0 ? (unsigned)ncpu : 1;
	}
	if (!queue_max)
		queue_max = 1;

	s = calloc(1, sizeof(*s));
	if (!s) {
		kp_set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->queue_max = queue_max;
	if (cache_init(&s->cache, o->cache_entries) < 0) {
		kp_set_err(err, errlen, "out of memory for a cache of %u entries", o->cache_entries);
		rc = -ENOMEM;
		goto fail;
	}

	s->engine = cl_engine_new();
	if (!s->engine) {
		kp_set_err(err, errlen, "cannot create the libclamav engine");
		rc = -ENOMEM;
		goto fail;
	}
	if (max_filesize > (uint64_t)LLONG_MAX / 2)
		max_filesize = (uint64_t)LLONG_MAX / 2;
	s->max_filesize = max_filesize;
	cl_engine_set_num(s->engine, CL_ENGINE_MAX_FILESIZE, (long long)max_filesize);
	cl_engine_set_num(s->engine, CL_ENGINE_MAX_SCANSIZE,
			  (long long)(max_filesize > KP_SCAN_MAX_SCANSIZE / 2 ? 2 * max_filesize
									    : KP_SCAN_MAX_SCANSIZE));
	cl_engine_set_num(s->engine, CL_ENGINE_MAX_SCANTIME, KP_SCAN_MAX_SCANTIME_MS);
	if (!o->engine_cache)
		cl_engine_set_num(s->engine, CL_ENGINE_DISABLE_CACHE, 1);
	if (!tmpdir && make_tmpdir(s))
		tmpdir = s->own_tmpdir;
	if (tmpdir) {
		ret = cl_engine_set_str(s->engine, CL_ENGINE_TMPDIR, tmpdir);
		if (ret != CL_SUCCESS) {
			kp_set_err(err, errlen, "cannot use %s for scratch: %s", tmpdir,
				   cl_strerror(ret));
			rc = -EINVAL;
			goto fail;
		}
	}

	ret = cl_load(db_path, s->engine, &s->sigs, CL_DB_STDOPT);
	if (ret != CL_SUCCESS) {
		kp_set_err(err, errlen, "cannot load %s: %s", db_path, cl_strerror(ret));
		rc = -EINVAL;
		goto fail;
	}
	if (!s->sigs) {
		kp_set_err(err, errlen, "cannot load %s: no signatures in it", db_path);
		rc = -EINVAL;
		goto fail;
	}
	ret = cl_engine_compile(s->engine);
	if (ret != CL_SUCCESS) {
		kp_set_err(err, errlen, "cannot compile the signatures of %s: %s", db_path,
			   cl_strerror(ret));
		rc = -EINVAL;
		goto fail;
	}
	/* Every parser on (archives, documents, executables, mail); first match ends a scan. */
	memset(&s->opts, 0, sizeof(s->opts));
	s->opts.parse = ~0u & ~o->parse_off;

	s->threads = calloc(threads, sizeof(*s->threads));
	if (!s->threads) {
		kp_set_err(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	for (s->nthreads = 0; s->nthreads < threads; s->nthreads++) {
		rc = pthread_create(&s->threads[s->nthreads], NULL, scan_thread, s);
		if (rc) {
			kp_set_err(err, errlen, "cannot start scan thread: %s", strerror(rc));
			rc = -rc;
			goto fail_threads;
		}
	}
	*out = s;
	return 0;

fail_threads:
	threads_stop(s);
fail:
	scanner_free(s);
	return rc;
}

int kp_scanner_open(struct kp_scanner **out, const char *db_path, unsigned threads,
		    unsigned queue_max, unsigned cache_entries, char *err, size_t errlen)
{
	struct kp_scan_opts o = {.db_path = db_path, .threads = threads, .queue_max = queue_max,
				 .cache_entries = cache_entries};

	return kp_scanner_open_opts(out, &o, err, errlen);
}

int kp_scanner_submit(struct kp_scanner *s, struct kp_scan_job *job)
{
	struct kp_scan_doneq *q = job->doneq;

	job->next = NULL;
	job->cached = false;
	job->virus[0] = '\0';
	job->err[0] = '\0';
	job->scan_ns = 0;

	if (cache_lookup(&s->cache, job)) {
		doneq_pending_add(q);
		count(&s->submitted, 1);
		count(&s->cached, 1);
		if (job->result == KP_SCAN_INFECTED)
			count(&s->infected, 1);
		doneq_push(q, job);
		return 0;
	}

	pthread_mutex_lock(&s->lock);
	if (s->stopping || s->queued >= s->queue_max) {
		pthread_mutex_unlock(&s->lock);
		count(&s->rejected, 1);
		return s->stopping ? -ESHUTDOWN : -EAGAIN;
	}
	doneq_pending_add(q);
	job_append(&s->qhead, &s->qtail, job);
	s->queued++;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	count(&s->submitted, 1);
	return 0;
}

enum kp_scan_result kp_scanner_scan_now(struct kp_scanner *s, const uint8_t *buf, size_t len,
					char *virus, size_t vlen)
{
	enum kp_scan_result r;
	uint64_t ns;

	r = scan_buf(s, buf, len, virus, vlen, NULL, 0, &ns);
	count(&s->scanned, 1);
	count(&s->bytes_scanned, len);
	count(&s->scan_ns, ns);
	if (r == KP_SCAN_INFECTED)
		count(&s->infected, 1);
	else if (r == KP_SCAN_ERROR)
		count(&s->errors, 1);
	return r;
}

void kp_scanner_stats(struct kp_scanner *s, struct kp_scan_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->submitted = __atomic_load_n(&s->submitted, __ATOMIC_RELAXED);
	st->scanned = __atomic_load_n(&s->scanned, __ATOMIC_RELAXED);
	st->cached = __atomic_load_n(&s->cached, __ATOMIC_RELAXED);
	st->infected = __atomic_load_n(&s->infected, __ATOMIC_RELAXED);
	st->errors = __atomic_load_n(&s->errors, __ATOMIC_RELAXED);
	st->rejected = __atomic_load_n(&s->rejected, __ATOMIC_RELAXED);
	st->bytes_scanned = __atomic_load_n(&s->bytes_scanned, __ATOMIC_RELAXED);
	st->scan_ns = __atomic_load_n(&s->scan_ns, __ATOMIC_RELAXED);
	st->sigs = s->sigs;
	st->threads = s->nthreads;
	pthread_mutex_lock(&s->lock);
	st->queued = s->queued;
	pthread_mutex_unlock(&s->lock);
}

void kp_scanner_close(struct kp_scanner *s)
{
	if (!s)
		return;
	threads_stop(s);
	scanner_free(s);
}

bool kp_scan_available(void)
{
	return true;
}

#else /* !HAVE_CLAMAV */

struct kp_scanner {
	int unused;
};

int kp_scanner_open(struct kp_scanner **out, const char *db_path, unsigned threads,
		    unsigned queue_max, unsigned cache_entries, char *err, size_t errlen)
{
	(void)db_path;
	(void)threads;
	(void)queue_max;
	(void)cache_entries;
	*out = NULL;
	kp_set_err(err, errlen,
		   "virus scanning is not available: kp2padm was built without libclamav");
	return -ENOTSUP;
}

int kp_scanner_submit(struct kp_scanner *s, struct kp_scan_job *job)
{
	(void)s;
	(void)job;
	return -ENOTSUP;
}

enum kp_scan_result kp_scanner_scan_now(struct kp_scanner *s, const uint8_t *buf, size_t len,
					char *virus, size_t vlen)
{
	(void)s;
	(void)buf;
	(void)len;
	if (virus && vlen)
		virus[0] = '\0';
	return KP_SCAN_ERROR;
}

void kp_scanner_stats(struct kp_scanner *s, struct kp_scan_stats *st)
{
	(void)s;
	memset(st, 0, sizeof(*st));
}

void kp_scanner_close(struct kp_scanner *s)
{
	(void)s;
}

int kp_scanner_open_opts(struct kp_scanner **out, const struct kp_scan_opts *o, char *err,
			 size_t errlen)
{
	return kp_scanner_open(out, o->db_path, o->threads, o->queue_max, o->cache_entries, err,
			       errlen);
}

bool kp_scan_available(void)
{
	return false;
}

#endif /* HAVE_CLAMAV */

/* True when dir holds at least one file that looks like a ClamAV database. */
static bool dir_has_db(const char *dir)
{
	static const char *const ext[] = {".cvd", ".cld", ".cud", ".ndb", ".hdb", ".hsb",
					  ".mdb", ".msb", ".ldb", ".cdb", ".yar", ".yara"};
	struct dirent *d;
	bool found = false;
	DIR *dp = opendir(dir);

	if (!dp)
		return false;
	while (!found && (d = readdir(dp)) != NULL) {
		size_t n = strlen(d->d_name);

		for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]) && !found; i++) {
			size_t e = strlen(ext[i]);

			found = n > e && strcmp(d->d_name + n - e, ext[i]) == 0;
		}
	}
	closedir(dp);
	return found;
}

const char *kp_scan_default_db(void)
{
	if (dir_has_db("/var/lib/clamav"))
		return "/var/lib/clamav";
#ifdef KP_SCAN_TEST_DB
	if (access(KP_SCAN_TEST_DB, R_OK) == 0)
		return KP_SCAN_TEST_DB;
#endif
#ifdef KP_SCAN_BUILD_TEST_DB
	if (access(KP_SCAN_BUILD_TEST_DB, R_OK) == 0)
		return KP_SCAN_BUILD_TEST_DB;
#endif
	return NULL;
}
