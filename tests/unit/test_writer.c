/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the event writer: the synchronous mode, and the writer thread
 * (many producers: every line whole, in each producer's order, none lost;
 * flush and close drain; a stalled reader never blocks a producer, and lines
 * over the queue budget are counted as dropped).
 */
#include "output/writer.h"
#include "tap.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *b = NULL;
	size_t cap = 0;

	*n = 0;
	if (!f)
		return NULL;
	for (;;) {
		size_t r;

		if (cap - *n < 65536) {
			cap = cap * 2 + 65536;
			b = realloc(b, cap + 1);
		}
		r = fread(b + *n, 1, cap - *n, f);
		if (!r)
			break;
		*n += r;
	}
	fclose(f);
	b[*n] = '\0';
	return b;
}

KP_TEST(writer_sync)
{
	char path[] = "/tmp/kp-test-writer-XXXXXX", err[256];
	struct kp_output o;
	size_t n;
	char *b;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	CHECK_EQ(kp_output_open(&o, path, 1, err, sizeof(err)), 0);
	kp_output_line(&o, "{\"a\":1}", 7);
	kp_output_line(&o, "{\"b\":2}xyz", 7);
	kp_output_flush(&o);
	b = slurp(path, &n);
	CHECK_STR(b, "{\"a\":1}\n{\"b\":2}\n");
	free(b);
	kp_output_line(&o, "", 0);
	CHECK_EQ(o.lines, 3);
	CHECK_EQ(o.bytes, 17);
	CHECK_EQ(kp_output_close(&o), 0);
	b = slurp(path, &n);
	CHECK_STR(b, "{\"a\":1}\n{\"b\":2}\n\n");
	free(b);
	/* append mode keeps what is there */
	CHECK_EQ(kp_output_open(&o, path, 0, err, sizeof(err)), 0);
	kp_output_line(&o, "x", 1);
	CHECK_EQ(kp_output_close(&o), 0);
	b = slurp(path, &n);
	CHECK_STR(b, "{\"a\":1}\n{\"b\":2}\n\nx\n");
	free(b);
	unlink(path);
	CHECK(kp_output_open(&o, "/nonexistent-dir/x", 1, err, sizeof(err)) < 0);
}

#define NPROD 4
#define NLINES 20000

struct prod {
	struct kp_output *o;
	int id;
	double max_ms;
};

/* A line of producer p, number i: {"p":P,"n":I,"pad":"..."} with a varying length. */
static size_t make_line(char *buf, int p, int i)
{
	int pad = (i * 7 + p * 13) % 300;
	size_t n = (size_t)snprintf(buf, 64, "{\"p\":%d,\"n\":%d,\"pad\":\"", p, i);

	memset(buf + n, 'a' + p, (size_t)pad);
	n += (size_t)pad;
	memcpy(buf + n, "\"}", 2);
	return n + 2;
}

static void *producer(void *arg)
{
	struct prod *pr = arg;
	char buf[512];

	for (int i = 0; i < NLINES; i++) {
		size_t n = make_line(buf, pr->id, i);

		kp_output_line(pr->o, buf, n);
	}
	return NULL;
}

/* Checks that text holds whole lines of producers, each producer's in order. */
static void check_lines(int *kp_failed, const char *b, size_t n, int nprod, int per,
			long *count)
{
	int next[NPROD] = {0};
	const char *p = b, *end = b + n;
	char want[512];
	int bad = 0;

	*count = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		int pid = -1, i = -1;
		size_t wl;

		if (!nl) {
			bad++; /* a partial last line */
			break;
		}
		if (!memcmp(p, "{\"sync\":1}\n", 11) && p == b) {
			/* the line written before the thread started comes first */
		} else if (sscanf(p, "{\"p\":%d,\"n\":%d,", &pid, &i) != 2 || pid < 0 ||
			   pid >= nprod || i < next[pid] || i >= per) {
			bad++;
		} else {
			wl = make_line(want, pid, i);
			if (wl != (size_t)(nl - p) || memcmp(want, p, wl))
				bad++;
			next[pid] = i + 1;
		}
		(*count)++;
		p = nl + 1;
	}
	CHECK_EQ(bad, 0);
}

KP_TEST(writer_thread_many_producers)
{
	char path[] = "/tmp/kp-test-writer-XXXXXX", err[256];
	struct kp_output o;
	struct prod pr[NPROD];
	pthread_t th[NPROD];
	long count;
	size_t n;
	char *b;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	CHECK_EQ(kp_output_open(&o, path, 1, err, sizeof(err)), 0);
	kp_output_line(&o, "{\"sync\":1}", 10); /* synchronous, before the thread */
	CHECK_EQ(kp_output_start_thread(&o, 0), 0);
	CHECK_EQ(o.budget, KP_OUTPUT_BUDGET_DEFAULT);
	for (int p = 0; p < NPROD; p++) {
		pr[p] = (struct prod){&o, p, 0};
		pthread_create(&th[p], NULL, producer, &pr[p]);
	}
	for (int p = 0; p < NPROD; p++)
		pthread_join(th[p], NULL);
	/* flush drains: everything is in the file before close */
	kp_output_flush(&o);
	b = slurp(path, &n);
	check_lines(kp_failed, b, n, NPROD, NLINES, &count);
	CHECK_EQ(count, NPROD * NLINES + 1);
	free(b);
	CHECK_EQ(o.dropped, 0);
	CHECK_EQ(o.lines, NPROD * NLINES + 1);
	/* close drains too */
	for (int i = 1; i < 1000; i++) {
		char buf[512];

		kp_output_line(&o, buf, make_line(buf, 0, NLINES + i));
	}
	CHECK_EQ(kp_output_close(&o), 0);
	b = slurp(path, &n);
	check_lines(kp_failed, b, n, NPROD, NLINES + 1000, &count);
	CHECK_EQ(count, NPROD * NLINES + 1000);
	free(b);
	unlink(path);
}

struct reader {
	int fd;
	char *buf;
	size_t len, cap;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;

	for (;;) {
		ssize_t k;

		if (r->cap - r->len < 65536) {
			r->cap = r->cap * 2 + 65536;
			r->buf = realloc(r->buf, r->cap);
		}
		k = read(r->fd, r->buf + r->len, r->cap - r->len);
		if (k <= 0)
			break;
		r->len += (size_t)k;
	}
	return NULL;
}

/*
 * The events go to a FIFO nobody reads for a while: the writer thread blocks
 * in write(), and the producers must not. With a 256 KiB budget most lines
 * are dropped and counted; every line that is not dropped arrives, whole and
 * in order, once the reader starts.
 */
KP_TEST(writer_thread_stalled_reader)
{
	char dir[] = "/tmp/kp-test-writer-XXXXXX", path[64], err[256], buf[1100];
	struct kp_output o;
	struct reader r = {0};
	pthread_t rt;
	double t0, t, max_ms = 0, start;
	const int total = 3000;
	long count;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/fifo", dir);
	CHECK_EQ(mkfifo(path, 0600), 0);
	r.fd = open(path, O_RDONLY | O_NONBLOCK); /* so that the writer's open does not wait */
	CHECK(r.fd >= 0);
	CHECK_EQ(kp_output_open(&o, path, 0, err, sizeof(err)), 0);
	fcntl(r.fd, F_SETFL, 0);
	CHECK_EQ(kp_output_start_thread(&o, 256 << 10), 0);
	start = now_ms();
	for (int i = 0; i < total; i++) {
		/* ~1 KB lines: 3 MB, far more than the pipe (64 KiB) and the budget */
		size_t n = make_line(buf, 0, i);

		memset(buf + n - 2, 'z', 1000 - (n - 2));
		memcpy(buf + 998, "\"}", 2);
		n = 1000;
		t0 = now_ms();
		kp_output_line(&o, buf, n);
		t = now_ms() - t0;
		if (t > max_ms)
			max_ms = t;
		if (i == total / 2)
			usleep(200000); /* the pipe is full by now: the writer is stuck */
	}
	printf("# %d lines in %.1f ms while nobody reads, slowest %.3f ms, %llu dropped\n", total,
	       now_ms() - start, max_ms, (unsigned long long)o.dropped);
	CHECK(max_ms < 50);
	pthread_mutex_lock(&o.lock); /* the writer thread updates queued */
	CHECK(o.dropped > 0);
	CHECK(o.dropped < (uint64_t)total);
	CHECK(o.queued <= 256 << 10);
	pthread_mutex_unlock(&o.lock);
	/* now read: close drains what was queued and ends the stream */
	pthread_create(&rt, NULL, reader_main, &r);
	CHECK_EQ(kp_output_close(&o), 0);
	pthread_join(rt, NULL);
	close(r.fd);
	/* whole lines, in order; kept + dropped = written */
	{
		const char *p = r.buf, *end = r.buf + r.len;
		int last = -1, bad = 0;

		count = 0;
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			int pid, i;

			if (!nl || nl - p != 1000 ||
			    sscanf(p, "{\"p\":%d,\"n\":%d,", &pid, &i) != 2 || i <= last ||
			    memcmp(nl - 2, "\"}", 2)) {
				bad++;
				break;
			}
			last = i;
			count++;
			p = nl + 1;
		}
		CHECK_EQ(bad, 0);
	}
	CHECK_EQ(count + (long)o.dropped, total);
	free(r.buf);
	unlink(path);
	rmdir(dir);
}

/* A budget smaller than one line: every line is dropped, counted, nothing written. */
KP_TEST(writer_thread_tiny_budget)
{
	char path[] = "/tmp/kp-test-writer-XXXXXX", err[256];
	struct kp_output o;
	size_t n;
	char *b;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	CHECK_EQ(kp_output_open(&o, path, 1, err, sizeof(err)), 0);
	CHECK_EQ(kp_output_start_thread(&o, 8), 0);
	CHECK(kp_output_start_thread(&o, 8) < 0); /* once */
	kp_output_line(&o, "1234567", 7);          /* 8 bytes with the newline: fits */
	kp_output_flush(&o);
	for (int i = 0; i < 100; i++)
		kp_output_line(&o, "123456789", 9);
	CHECK_EQ(o.dropped, 100);
	CHECK_EQ(o.lines, 1);
	CHECK_EQ(kp_output_close(&o), 0);
	b = slurp(path, &n);
	CHECK_STR(b, "1234567\n");
	free(b);
	unlink(path);
}

KP_TEST_MAIN()
