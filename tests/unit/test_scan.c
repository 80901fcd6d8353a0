/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The virus scanner (src/scan): libclamav with the project's test database
 * (KP_SCAN_DB, built by meson from tools/scan-testdata.py) finds the EICAR
 * test file in a buffer and inside zip archives and nothing in a clean buffer
 * of the same size; the content cache answers a known sha256 without a scan;
 * the thread pool delivers every job once to its own done queue, whose eventfd
 * is readable while jobs wait; a full queue refuses with -EAGAIN; closing
 * drains the queue; libclamav's scratch directory lives in /dev/shm and is
 * gone after close; a file over the size limit is an error, never "clean";
 * a missing database is named in the error. Without
 * libclamav the tests check that opening fails with a message, and skip.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eicar.h"
#include "scan/scan.h"
#include "tap.h"

/* libclamav names signatures of an unsigned database (.ndb) with ".UNOFFICIAL" appended. */
#define SIG "Kp2padm.Test.EICAR.UNOFFICIAL"

static const char *db_path(void)
{
	const char *p = getenv("KP_SCAN_DB");

	return p && *p ? p : kp_scan_default_db();
}

static bool skip(void)
{
	if (!kp_scan_available()) {
		printf("skip: built without libclamav\n");
		return true;
	}
	if (!db_path()) {
		printf("skip: no signature database (KP_SCAN_DB unset)\n");
		return true;
	}
	return false;
}

static struct kp_scanner *open_scanner(unsigned threads, unsigned queue_max, unsigned cache)
{
	struct kp_scanner *s = NULL;
	char err[256] = "";

	if (kp_scanner_open(&s, db_path(), threads, queue_max, cache, err, sizeof(err)) < 0) {
		fprintf(stderr, "  open %s: %s\n", db_path(), err);
		return NULL;
	}
	return s;
}

static void sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
	unsigned len = 32;

	EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

static struct kp_scan_job *job_new(const uint8_t *data, size_t len, bool with_sha,
				   uint64_t cookie, struct kp_scan_doneq *q)
{
	struct kp_scan_job *j = calloc(1, sizeof(*j));

	j->buf = malloc(len ? len : 1);
	memcpy(j->buf, data, len);
	j->len = len;
	if (with_sha)
		sha256(data, len, j->sha256);
	j->have_sha256 = with_sha;
	j->cookie = cookie;
	j->doneq = q;
	return j;
}

static bool efd_readable(int fd, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

/* Waits (bounded) for n finished jobs on q; returns them as one list. */
static struct kp_scan_job *wait_jobs(struct kp_scan_doneq *q, unsigned n)
{
	struct kp_scan_job *all = NULL, **tail = &all, *l;
	unsigned got = 0;

	for (int spins = 0; got < n && spins < 600; spins++) {
		if (!efd_readable(q->efd, 100))
			continue;
		l = kp_scan_doneq_take(q);
		*tail = l;
		for (; l; l = l->next) {
			got++;
			tail = &l->next;
		}
	}
	return all;
}

static void free_list(struct kp_scan_job *l)
{
	while (l) {
		struct kp_scan_job *n = l->next;

		kp_scan_job_free(l);
		l = n;
	}
}

KP_TEST(without_clamav_open_fails)
{
	struct kp_scanner *s = (struct kp_scanner *)1;
	char err[256] = "";

	if (kp_scan_available())
		return;
	CHECK(kp_scanner_open(&s, "/var/lib/clamav", 1, 8, 0, err, sizeof(err)) < 0);
	CHECK(s == NULL);
	CHECK(strstr(err, "without libclamav") != NULL);
}

KP_TEST(eicar_buffer_infected)
{
	uint8_t e[KP_EICAR_LEN];
	char virus[128] = "x";
	struct kp_scan_stats st;
	struct kp_scanner *s;

	if (skip())
		return;
	s = open_scanner(1, 8, 0);
	CHECK(s != NULL);
	if (!s)
		return;
	kp_test_eicar(e);
	CHECK_EQ(kp_scanner_scan_now(s, e, sizeof(e), virus, sizeof(virus)), KP_SCAN_INFECTED);
	CHECK_STR(virus, SIG);
	kp_scanner_stats(s, &st);
	CHECK_EQ(st.sigs, 1);  /* the test database holds exactly one signature */
	CHECK_EQ(st.scanned, 1);
	CHECK_EQ(st.infected, 1);
	kp_scanner_close(s);
}

KP_TEST(clean_buffer_same_size)
{
	uint8_t e[KP_EICAR_LEN];
	char virus[128] = "x";
	struct kp_scanner *s;

	if (skip())
		return;
	s = open_scanner(1, 8, 0);
	CHECK(s != NULL);
	if (!s)
		return;
	/* EICAR with its last byte changed: same size, one byte off the signature. */
	kp_test_eicar(e);
	e[KP_EICAR_LEN - 1] = 'X';
	CHECK_EQ(kp_scanner_scan_now(s, e, sizeof(e), virus, sizeof(virus)), KP_SCAN_CLEAN);
	CHECK_STR(virus, "");
	memset(e, 'A', sizeof(e));
	CHECK_EQ(kp_scanner_scan_now(s, e, sizeof(e), virus, sizeof(virus)), KP_SCAN_CLEAN);
	/* The signature is anchored at offset 0: EICAR preceded by a byte is not it. */
	{
		uint8_t shifted[KP_EICAR_LEN + 1] = {' '};

		kp_test_eicar(shifted + 1);
		CHECK_EQ(kp_scanner_scan_now(s, shifted, sizeof(shifted), virus, sizeof(virus)),
			 KP_SCAN_CLEAN);
	}
	CHECK_EQ(kp_scanner_scan_now(s, e, 0, virus, sizeof(virus)), KP_SCAN_CLEAN);
	kp_scanner_close(s);
}

KP_TEST(eicar_in_stored_zip_infected)
{
	uint8_t e[KP_EICAR_LEN], zip[256];
	char virus[128] = "";
	struct kp_scanner *s;
	size_t n;

	if (skip())
		return;
	s = open_scanner(1, 8, 0);
	CHECK(s != NULL);
	if (!s)
		return;
	kp_test_eicar(e);
	n = kp_test_zip_stored(zip, "eicar.com", e, sizeof(e));
	CHECK(n == 98 + 2 * 9 + KP_EICAR_LEN);
	/* Found only by parsing the archive: the zip does not start with EICAR. */
	CHECK(memcmp(zip, e, 8) != 0);
	CHECK_EQ(kp_scanner_scan_now(s, zip, n, virus, sizeof(virus)), KP_SCAN_INFECTED);
	CHECK_STR(virus, SIG);
	/* The same zip with the member's last byte changed (CRC fixed up by rebuilding). */
	e[KP_EICAR_LEN - 1] = 'X';
	n = kp_test_zip_stored(zip, "eicar.com", e, sizeof(e));
	CHECK_EQ(kp_scanner_scan_now(s, zip, n, virus, sizeof(virus)), KP_SCAN_CLEAN);
	kp_scanner_close(s);
}

KP_TEST(eicar_in_deflated_zip_infected)
{
	char cmd[1024], virus[128] = "";
	const char *src = getenv("KP_SRC");
	uint8_t zip[4096];
	struct kp_scanner *s;
	size_t n;
	FILE *p;

	if (skip())
		return;
	/* python3's zipfile makes the archive (deflated), on a pipe: nothing on disk. */
	snprintf(cmd, sizeof(cmd), "python3 '%s/tools/scan-testdata.py' zip -", src ? src : ".");
	p = popen(cmd, "r");
	if (!p) {
		printf("skip: cannot run python3\n");
		return;
	}
	n = fread(zip, 1, sizeof(zip), p);
	if (pclose(p) != 0 || n < 22) {
		printf("skip: tools/scan-testdata.py zip failed\n");
		return;
	}
	CHECK(zip[8] == 8);  /* method 8 = deflate */
	s = open_scanner(1, 8, 0);
	CHECK(s != NULL);
	if (!s)
		return;
	CHECK_EQ(kp_scanner_scan_now(s, zip, n, virus, sizeof(virus)), KP_SCAN_INFECTED);
	CHECK_STR(virus, SIG);
	kp_scanner_close(s);
}

KP_TEST(cache_answers_second_submit)
{
	uint8_t e[KP_EICAR_LEN], clean[4096];
	struct kp_scan_doneq q;
	struct kp_scan_job *j, *l;
	struct kp_scan_stats st;
	struct kp_scanner *s;

	if (skip())
		return;
	CHECK_EQ(kp_scan_doneq_init(&q), 0);
	s = open_scanner(2, 16, 64);
	CHECK(s != NULL);
	if (!s) {
		kp_scan_doneq_fini(&q);
		return;
	}
	kp_test_eicar(e);
	memset(clean, 'c', sizeof(clean));

	/* First submit of each: scanned. */
	CHECK_EQ(kp_scanner_submit(s, job_new(e, sizeof(e), true, 1, &q)), 0);
	CHECK_EQ(kp_scanner_submit(s, job_new(clean, sizeof(clean), true, 2, &q)), 0);
	l = wait_jobs(&q, 2);
	for (j = l; j; j = j->next) {
		CHECK(!j->cached);
		CHECK(j->scan_ns > 0);
		CHECK_EQ(j->result, j->cookie == 1 ? KP_SCAN_INFECTED : KP_SCAN_CLEAN);
	}
	free_list(l);

	/* Second submit of the same bytes: answered from the cache, with the name. */
	CHECK_EQ(kp_scanner_submit(s, job_new(e, sizeof(e), true, 3, &q)), 0);
	CHECK_EQ(kp_scanner_submit(s, job_new(clean, sizeof(clean), true, 4, &q)), 0);
	/* Without a sha256 the cache is not asked: scanned again. */
	CHECK_EQ(kp_scanner_submit(s, job_new(e, sizeof(e), false, 5, &q)), 0);
	l = wait_jobs(&q, 3);
	unsigned n = 0;
	for (j = l; j; j = j->next, n++) {
		if (j->cookie == 3) {
			CHECK(j->cached);
			CHECK_EQ(j->result, KP_SCAN_INFECTED);
			CHECK_STR(j->virus, SIG);
			CHECK_EQ(j->scan_ns, 0);
		} else if (j->cookie == 4) {
			CHECK(j->cached);
			CHECK_EQ(j->result, KP_SCAN_CLEAN);
			CHECK_STR(j->virus, "");
		} else {
			CHECK_EQ(j->cookie, 5);
			CHECK(!j->cached);
			CHECK_EQ(j->result, KP_SCAN_INFECTED);
			CHECK_STR(j->virus, SIG);
		}
	}
	CHECK_EQ(n, 3);
	free_list(l);
	kp_scanner_stats(s, &st);
	CHECK_EQ(st.submitted, 5);
	CHECK_EQ(st.scanned, 3);
	CHECK_EQ(st.cached, 2);
	CHECK_EQ(st.infected, 3);
	CHECK_EQ(st.bytes_scanned, 2 * sizeof(e) + sizeof(clean));
	CHECK_EQ(q.pending, 0);
	kp_scanner_close(s);
	kp_scan_doneq_fini(&q);
}

KP_TEST(cache_evicts_least_recently_used)
{
	struct kp_scan_doneq q;
	struct kp_scan_job *l, *j;
	struct kp_scan_stats st;
	struct kp_scanner *s;
	uint8_t b[3][64];

	if (skip())
		return;
	CHECK_EQ(kp_scan_doneq_init(&q), 0);
	s = open_scanner(1, 16, 2);  /* room for two hashes */
	CHECK(s != NULL);
	if (!s) {
		kp_scan_doneq_fini(&q);
		return;
	}
	for (int i = 0; i < 3; i++)
		memset(b[i], 'a' + i, sizeof(b[i]));
	/* a, b, then a again (a becomes the most recent), then c evicts b. */
	static const int order[] = {0, 1, 0, 2, 0, 1};
	static const bool want_cached[] = {false, false, true, false, true, false};
	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		CHECK_EQ(kp_scanner_submit(s, job_new(b[order[k]], 64, true, k, &q)), 0);
		l = wait_jobs(&q, 1);
		CHECK(l != NULL);
		for (j = l; j; j = j->next)
			CHECK_EQ(j->cached, want_cached[k]);
		free_list(l);
	}
	kp_scanner_stats(s, &st);
	CHECK_EQ(st.cached, 2);
	CHECK_EQ(st.scanned, 4);
	kp_scanner_close(s);
	kp_scan_doneq_fini(&q);
}

#define POOL_PER_THREAD 100

struct submitter {
	struct kp_scanner *s;
	struct kp_scan_doneq q;
	unsigned id;
	unsigned accepted;
	int rc;
};

static void *submit_thread(void *arg)
{
	struct submitter *t = arg;
	uint8_t buf[KP_EICAR_LEN + 8];

	for (unsigned i = 0; i < POOL_PER_THREAD; i++) {
		/* Every third job is EICAR, the rest clean; contents differ per job. */
		memset(buf, 0, sizeof(buf));
		if (i % 3 == 0) {
			kp_test_eicar(buf);
			memcpy(buf + KP_EICAR_LEN, &i, sizeof(i));
		} else {
			snprintf((char *)buf, sizeof(buf), "clean file %u of thread %u", i, t->id);
		}
		struct kp_scan_job *j =
			job_new(buf, sizeof(buf), false, ((uint64_t)t->id << 32) | i, &t->q);

		j->user = t;
		int rc = kp_scanner_submit(t->s, j);
		if (rc < 0) {
			t->rc = rc;
			kp_scan_job_free(j);
			continue;
		}
		t->accepted++;
	}
	return NULL;
}

KP_TEST(pool_delivers_each_job_once_to_its_queue)
{
	struct submitter t[2];
	pthread_t th[2];
	struct kp_scanner *s;
	struct kp_scan_stats st;

	if (skip())
		return;
	s = open_scanner(2, 2 * POOL_PER_THREAD, 0);
	CHECK(s != NULL);
	if (!s)
		return;
	for (unsigned i = 0; i < 2; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		t[i].s = s;
		t[i].id = i + 1;
		CHECK_EQ(kp_scan_doneq_init(&t[i].q), 0);
		CHECK(!efd_readable(t[i].q.efd, 0));
	}
	for (unsigned i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, submit_thread, &t[i]);
	for (unsigned i = 0; i < 2; i++)
		pthread_join(th[i], NULL);

	for (unsigned i = 0; i < 2; i++) {
		uint8_t seen[POOL_PER_THREAD] = {0};
		unsigned got = 0;

		CHECK_EQ(t[i].rc, 0);
		CHECK_EQ(t[i].accepted, POOL_PER_THREAD);
		/* Jobs wait: the eventfd is readable, and stays so until taken. */
		CHECK(efd_readable(t[i].q.efd, 10000));
		CHECK(efd_readable(t[i].q.efd, 0));
		for (int spins = 0; got < POOL_PER_THREAD && spins < 600; spins++) {
			struct kp_scan_job *l, *j;

			if (!efd_readable(t[i].q.efd, 100))
				continue;
			l = kp_scan_doneq_take(&t[i].q);
			for (j = l; j; j = j->next) {
				unsigned idx = (unsigned)(j->cookie & 0xffffffffu);

				got++;
				CHECK(j->doneq == &t[i].q);
				CHECK(j->user == &t[i]);
				CHECK_EQ(j->cookie >> 32, t[i].id);
				CHECK(idx < POOL_PER_THREAD);
				if (idx < POOL_PER_THREAD) {
					CHECK_EQ(seen[idx], 0);
					seen[idx]++;
					CHECK_EQ(j->result,
						 idx % 3 == 0 ? KP_SCAN_INFECTED : KP_SCAN_CLEAN);
				}
			}
			free_list(l);
		}
		CHECK_EQ(got, POOL_PER_THREAD);
		for (unsigned k = 0; k < POOL_PER_THREAD; k++)
			CHECK_EQ(seen[k], 1);
		CHECK_EQ(t[i].q.pending, 0);
		/* All taken: no longer readable. */
		CHECK(!efd_readable(t[i].q.efd, 0));
	}
	kp_scanner_stats(s, &st);
	CHECK_EQ(st.submitted, 2 * POOL_PER_THREAD);
	CHECK_EQ(st.scanned, 2 * POOL_PER_THREAD);
	CHECK_EQ(st.infected, 2 * ((POOL_PER_THREAD + 2) / 3));
	CHECK_EQ(st.threads, 2);
	CHECK_EQ(st.queued, 0);
	kp_scanner_close(s);
	for (unsigned i = 0; i < 2; i++)
		kp_scan_doneq_fini(&t[i].q);
}

KP_TEST(queue_full_eagain_and_close_drains)
{
	const size_t big = 8u << 20;  /* each scan takes tens of ms: the queue fills */
	uint8_t *data = malloc(big);
	unsigned accepted = 0, rejected = 0;
	struct kp_scan_doneq q;
	struct kp_scan_stats st;
	struct kp_scanner *s;
	unsigned got = 0;

	if (skip()) {
		free(data);
		return;
	}
	for (size_t i = 0; i < big; i++)
		data[i] = (uint8_t)(i * 2654435761u >> 13);
	CHECK_EQ(kp_scan_doneq_init(&q), 0);
	s = open_scanner(1, 2, 0);
	CHECK(s != NULL);
	if (!s) {
		free(data);
		kp_scan_doneq_fini(&q);
		return;
	}
	/* Jobs made first, then submitted in a tight loop. */
	struct kp_scan_job *jobs[10];

	for (unsigned i = 0; i < 10; i++)
		jobs[i] = job_new(data, big, false, i, &q);
	for (unsigned i = 0; i < 10; i++) {
		struct kp_scan_job *j = jobs[i];
		int rc = kp_scanner_submit(s, j);

		if (rc == -EAGAIN) {
			rejected++;
			kp_scan_job_free(j);  /* a refused job stays the caller's */
		} else {
			CHECK_EQ(rc, 0);
			accepted++;
		}
	}
	CHECK(rejected > 0);
	CHECK(accepted >= 2);
	kp_scanner_stats(s, &st);
	CHECK_EQ(st.rejected, rejected);
	CHECK(st.queued <= 2);
	/* Closing scans what is queued and delivers it. */
	kp_scanner_close(s);
	for (struct kp_scan_job *l = kp_scan_doneq_take(&q), *n; l; l = n) {
		n = l->next;
		got++;
		CHECK_EQ(l->result, KP_SCAN_CLEAN);
		kp_scan_job_free(l);
	}
	CHECK_EQ(got, accepted);
	CHECK_EQ(q.pending, 0);
	kp_scan_doneq_fini(&q);
	free(data);
}

/* Names of /dev/shm/kp2padm-scan.* into names[]; returns how many. */
static unsigned shm_scratch(char names[][256], unsigned max)
{
	DIR *d = opendir("/dev/shm");
	struct dirent *e;
	unsigned n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (!strncmp(e->d_name, "kp2padm-scan.", 13) && n < max)
			snprintf(names[n++], 256, "%s", e->d_name);
	closedir(d);
	return n;
}

KP_TEST(scratch_in_shm_removed_on_close)
{
	char before[32][256], during[32][256], after[32][256], mine[256] = "";
	uint8_t e[KP_EICAR_LEN], zip[256];
	struct kp_scan_opts o = {.threads = 1, .queue_max = 4};
	struct kp_scanner *s = NULL;
	char err[256], virus[128];
	unsigned nb, nd, na;

	if (skip())
		return;
	if (access("/dev/shm", W_OK) != 0) {
		printf("skip: /dev/shm not writable\n");
		return;
	}
	o.db_path = db_path();
	nb = shm_scratch(before, 32);
	CHECK_EQ(kp_scanner_open_opts(&s, &o, err, sizeof(err)), 0);
	if (!s)
		return;
	nd = shm_scratch(during, 32);
	CHECK_EQ(nd, nb + 1);
	for (unsigned i = 0; i < nd; i++) {
		bool old = false;

		for (unsigned k = 0; k < nb; k++)
			old |= !strcmp(during[i], before[k]);
		if (!old)
			memcpy(mine, during[i], sizeof(mine));
	}
	CHECK(mine[0] != '\0');
	/* libclamav unpacks the zip member there; nothing stays after the scan. */
	kp_test_eicar(e);
	size_t n = kp_test_zip_stored(zip, "eicar.com", e, sizeof(e));
	CHECK_EQ(kp_scanner_scan_now(s, zip, n, virus, sizeof(virus)), KP_SCAN_INFECTED);
	kp_scanner_close(s);
	na = shm_scratch(after, 32);
	for (unsigned i = 0; i < na; i++)
		CHECK(strcmp(after[i], mine) != 0);
}

KP_TEST(over_size_limit_is_error_not_clean)
{
	struct kp_scan_opts o = {.threads = 1, .queue_max = 4, .max_filesize = 1000};
	struct kp_scan_doneq q;
	struct kp_scan_job *l;
	struct kp_scanner *s = NULL;
	uint8_t big[1001];
	char err[256], virus[128];

	if (skip())
		return;
	o.db_path = db_path();
	CHECK_EQ(kp_scanner_open_opts(&s, &o, err, sizeof(err)), 0);
	if (!s)
		return;
	memset(big, 'b', sizeof(big));
	/* libclamav alone would answer "clean" for a file over its limit. */
	CHECK_EQ(kp_scanner_scan_now(s, big, sizeof(big), virus, sizeof(virus)), KP_SCAN_ERROR);
	CHECK_EQ(kp_scanner_scan_now(s, big, 1000, virus, sizeof(virus)), KP_SCAN_CLEAN);
	CHECK_EQ(kp_scan_doneq_init(&q), 0);
	CHECK_EQ(kp_scanner_submit(s, job_new(big, sizeof(big), true, 1, &q)), 0);
	l = wait_jobs(&q, 1);
	CHECK(l != NULL);
	if (l) {
		CHECK_EQ(l->result, KP_SCAN_ERROR);
		CHECK(strstr(l->err, "limit") != NULL);
	}
	free_list(l);
	/* An error is not cached: the same file is tried again. */
	CHECK_EQ(kp_scanner_submit(s, job_new(big, sizeof(big), true, 2, &q)), 0);
	l = wait_jobs(&q, 1);
	CHECK(l && !l->cached && l->result == KP_SCAN_ERROR);
	free_list(l);
	kp_scanner_close(s);
	kp_scan_doneq_fini(&q);
}

KP_TEST(missing_db_names_path)
{
	struct kp_scanner *s = (struct kp_scanner *)1;
	char err[256] = "";
	int rc;

	if (!kp_scan_available())
		return;
	rc = kp_scanner_open(&s, "/nonexistent/kp2padm-db", 1, 8, 0, err, sizeof(err));
	CHECK(rc < 0);
	CHECK(s == NULL);
	CHECK(strstr(err, "/nonexistent/kp2padm-db") != NULL);
	CHECK(strstr(err, "No such file") != NULL);
}

KP_TEST(empty_db_refused)
{
	struct kp_scanner *s = (struct kp_scanner *)1;
	char err[256] = "";
	char path[] = "/tmp/kp-scan-empty-XXXXXX.ndb";
	int fd;

	if (!kp_scan_available())
		return;
	fd = mkstemps(path, 4);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	close(fd);
	CHECK(kp_scanner_open(&s, path, 1, 8, 0, err, sizeof(err)) < 0);
	CHECK(s == NULL);
	CHECK(strstr(err, path) != NULL);
	unlink(path);
}

KP_TEST_MAIN()
