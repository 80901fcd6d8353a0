/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Benchmark driver for the signature engines (src/classify/sig.c): loads a .pat
 * directory with one engine, then matches every buffer file of a directory
 * (one l7 buffer per file, NULs removed on read) N times, the way the engine
 * will: one kp_sigset_match() per buffer. Prints one line of key=value pairs
 * for bench/sig-engines to tabulate: compile time, compiled size, heap grown
 * by load and by one scratch, buffers/s, MB/s, and the number of buffers that
 * matched (the same for every engine, or the engines disagree).
 *
 * usage: sig_bench PATDIR BUFDIR hyperscan|pcre2 ITERATIONS
 */
#define _GNU_SOURCE
#include "classify/sig.h"

#include <dirent.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct buf {
	uint8_t *p;
	size_t len;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t load_bufs(const char *dir, struct buf **out)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct buf *v;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			names = realloc(names, cap * sizeof(*names));
			if (!names)
				exit(1);
		}
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		exit(1);
	for (size_t i = 0; i < n; i++) {
		char p[4096];
		uint8_t raw[4096];
		size_t r;
		FILE *f;

		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		f = fopen(p, "rb");
		v[i].p = malloc(KP_SIG_L7_MAX_BYTES);
		if (!f || !v[i].p)
			exit(1);
		while ((r = fread(raw, 1, sizeof(raw), f)) > 0)
			kp_sig_buf_append(v[i].p, &v[i].len, KP_SIG_L7_MAX_BYTES, raw, r);
		fclose(f);
		free(names[i]);
	}
	free(names);
	*out = v;
	return n;
}

int main(int argc, char **argv)
{
	struct kp_sigset *set = NULL;
	struct kp_sig_scratch *scr;
	struct buf *bufs = NULL;
	size_t nb, total = 0, heap0, heap1, heap2;
	enum kp_sig_engine eng;
	unsigned long iters, matched = 0;
	double t0, t1;
	int rc;

	if (argc != 5) {
		fprintf(stderr, "usage: %s PATDIR BUFDIR hyperscan|pcre2 ITERATIONS\n", argv[0]);
		return 2;
	}
	eng = !strcmp(argv[3], "hyperscan") ? KP_SIG_HYPERSCAN : KP_SIG_PCRE2;
	iters = strtoul(argv[4], NULL, 10);
	nb = load_bufs(argv[2], &bufs);
	for (size_t i = 0; i < nb; i++)
		total += bufs[i].len;

	heap0 = mallinfo2().uordblks;
	t0 = now_s();
	rc = kp_sigset_load(argv[1], eng, &set, NULL);
	t1 = now_s();
	if (rc) {
		fprintf(stderr, "load: %d\n", rc);
		return 1;
	}
	heap1 = mallinfo2().uordblks;
	scr = kp_sig_scratch_new(set);
	heap2 = mallinfo2().uordblks;
	if (!scr)
		return 1;

	/* one warm-up pass, also the match count */
	for (size_t i = 0; i < nb; i++)
		matched += kp_sigset_match(set, scr, bufs[i].p, bufs[i].len) >= 0;
	{
		double s0 = now_s(), el;
		volatile int sink = 0;

		for (unsigned long k = 0; k < iters; k++)
			for (size_t i = 0; i < nb; i++)
				sink += kp_sigset_match(set, scr, bufs[i].p, bufs[i].len);
		el = now_s() - s0;
		(void)sink;
		printf("engine=%s sigs=%u hs=%u pcre=%u load_ms=%.1f compile_ms=%.1f "
		       "compiled_bytes=%zu heap_load=%zu heap_scratch=%zu bufs=%zu bytes=%zu "
		       "matched=%lu bufs_per_s=%.0f mb_per_s=%.2f limit_hits=%lu\n",
		       kp_sig_engine_name(kp_sigset_engine(set)), kp_sigset_count(set),
		       kp_sigset_stats(set)->hs_patterns, kp_sigset_stats(set)->pcre_patterns,
		       (t1 - t0) * 1e3, kp_sigset_stats(set)->compile_ms,
		       kp_sigset_stats(set)->mem_bytes, heap1 - heap0, heap2 - heap1, nb, total,
		       matched, (double)nb * (double)iters / el,
		       (double)total * (double)iters / el / 1e6, kp_sig_scratch_limit_hits(scr));
	}
	kp_sig_scratch_free(scr);
	kp_sigset_free(set);
	for (size_t i = 0; i < nb; i++)
		free(bufs[i].p);
	free(bufs);
	return 0;
}
