/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kp2padm-scanrate: libclamav's own scan rate through kp_scanner_scan_now(),
 * the ceiling the gateway's scanning throughput is compared against. Loads
 * the given files into memory (or makes random ones of the given sizes), then
 * N threads scan them round-robin, each until it has done -n scans or -T
 * seconds have passed, and prints MB/s (10^6 bytes) per thread, per CPU second
 * and in total. libclamav's clean-file cache is off, as in the scanner's
 * default, so repeated scans of a file cost what the first did (-E turns it
 * on; each thread then changes the last 8 bytes of its generated files before
 * every scan so that nothing is answered from that cache). Prints figures,
 * asserts nothing.
 *
 *   kp2padm-scanrate [-d DB] [-t THREADS] [-n COUNT] [-T SECONDS] [-P MASK] [-E]
 *                    [-s SIZE[k|M]]... [FILE]...
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "scan/scan.h"

#define MAX_FILES 256
#define MAX_THREADS 64

struct file {
	const char *name;
	uint8_t *buf;
	size_t len;
	bool generated;
};

struct bench {
	struct kp_scanner *s;
	struct file files[MAX_FILES];
	unsigned nfiles;
	unsigned long count;     /* scans per thread, at most */
	double seconds;          /* per thread, at most */
	bool mutate;
};

struct worker {
	struct bench *b;
	unsigned id;
	pthread_t th;
	unsigned long scans, infected, errors;
	uint64_t bytes;
	double wall, cpu;
};

static double now(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct bench *b = w->b;
	uint8_t *own[MAX_FILES] = {0};
	double t0, c0, t;
	char virus[128];

	/* Each thread scans its own copy (as each pipeline owns its job's bytes). */
	for (unsigned i = 0; i < b->nfiles; i++) {
		own[i] = malloc(b->files[i].len ? b->files[i].len : 1);
		if (!own[i]) {
			fprintf(stderr, "out of memory\n");
			exit(1);
		}
		memcpy(own[i], b->files[i].buf, b->files[i].len);
	}
	t0 = now(CLOCK_MONOTONIC);
	c0 = now(CLOCK_THREAD_CPUTIME_ID);
	for (unsigned long k = 0; k < b->count; k++) {
		unsigned i = (unsigned)((k + w->id) % b->nfiles);
		const struct file *f = &b->files[i];

		if (b->mutate && f->generated && f->len >= 8) {
			uint64_t tag = ((uint64_t)w->id << 48) ^ k;

			memcpy(own[i] + f->len - 8, &tag, 8);
		}
		switch (kp_scanner_scan_now(b->s, own[i], f->len, virus, sizeof(virus))) {
		case KP_SCAN_INFECTED:
			w->infected++;
			break;
		case KP_SCAN_ERROR:
			w->errors++;
			break;
		default:
			break;
		}
		w->scans++;
		w->bytes += f->len;
		t = now(CLOCK_MONOTONIC);
		if (t - t0 >= b->seconds)
			break;
	}
	w->wall = now(CLOCK_MONOTONIC) - t0;
	w->cpu = now(CLOCK_THREAD_CPUTIME_ID) - c0;
	for (unsigned i = 0; i < b->nfiles; i++)
		free(own[i]);
	return NULL;
}

static int load_file(struct file *f, const char *path)
{
	struct stat st;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	f->name = path;
	f->len = (size_t)st.st_size;
	f->buf = malloc(f->len ? f->len : 1);
	if (!f->buf) {
		close(fd);
		return -1;
	}
	while (got < f->len) {
		ssize_t r = read(fd, f->buf + got, f->len - got);

		if (r <= 0) {
			fprintf(stderr, "%s: short read\n", path);
			close(fd);
			return -1;
		}
		got += (size_t)r;
	}
	close(fd);
	return 0;
}

static void gen_file(struct file *f, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;

	f->name = "random";
	f->len = len;
	f->generated = true;
	f->buf = malloc(len ? len : 1);
	if (!f->buf) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < len; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(f->buf + i, &x, len - i < 8 ? len - i : 8);
	}
}

static size_t parse_size(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (*end == 'k' || *end == 'K')
		v *= 1e3;
	else if (*end == 'M' || *end == 'm')
		v *= 1e6;
	else if (*end == 'G' || *end == 'g')
		v *= 1e9;
	return v > 0 ? (size_t)v : 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: kp2padm-scanrate [-d DB] [-t THREADS] [-n COUNT] [-T SECONDS] [-P MASK] [-E]\n"
		"                        [-s SIZE[k|M]]... [FILE]...\n"
		"  -d DB       signature database (default: the scanner's default, %s)\n"
		"  -t THREADS  scanning threads (default 1)\n"
		"  -n COUNT    scans per thread at most (default 1000000)\n"
		"  -T SECONDS  seconds per thread at most (default 10)\n"
		"  -s SIZE     a random file of SIZE bytes (k, M: 10^3, 10^6), repeatable\n"
		"  -P MASK     libclamav parsers to turn off (CL_SCAN_PARSE_* bits, e.g. 0x100 "
		"HTML)\n"
		"  -E          leave libclamav's clean-file cache on (generated files change "
		"every scan)\n",
		kp_scan_default_db() ? kp_scan_default_db() : "none found");
}

int main(int argc, char **argv)
{
	static struct bench b = {.count = 1000000, .seconds = 10};
	struct kp_scan_opts o = {.threads = 1, .queue_max = 1};
	struct worker w[MAX_THREADS];
	unsigned nthreads = 1;
	struct kp_scan_stats st;
	uint64_t total_bytes = 0, file_bytes = 0;
	double wall = 0, cpu = 0, t0;
	unsigned long scans = 0, infected = 0, errors = 0;
	char err[512];
	int c;

	while ((c = getopt(argc, argv, "d:t:n:T:s:P:Eh")) != -1) {
		switch (c) {
		case 'd':
			o.db_path = optarg;
			break;
		case 't':
			nthreads = (unsigned)atoi(optarg);
			break;
		case 'n':
			b.count = strtoul(optarg, NULL, 10);
			break;
		case 'T':
			b.seconds = atof(optarg);
			break;
		case 's':
			if (b.nfiles >= MAX_FILES) {
				fprintf(stderr, "too many files\n");
				return 2;
			}
			gen_file(&b.files[b.nfiles], parse_size(optarg), b.nfiles + 1);
			b.nfiles++;
			break;
		case 'P':
			o.parse_off = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'E':
			o.engine_cache = true;
			b.mutate = true;
			break;
		default:
			usage();
			return c == 'h' ? 0 : 2;
		}
	}
	for (int i = optind; i < argc; i++) {
		if (b.nfiles >= MAX_FILES) {
			fprintf(stderr, "too many files\n");
			return 2;
		}
		if (load_file(&b.files[b.nfiles], argv[i]) < 0)
			return 1;
		b.nfiles++;
	}
	if (!b.nfiles || !nthreads || nthreads > MAX_THREADS || !b.count || b.seconds <= 0) {
		usage();
		return 2;
	}
	if (!kp_scan_available()) {
		fprintf(stderr, "kp2padm-scanrate: built without libclamav\n");
		return 1;
	}
	if (!o.db_path)
		o.db_path = kp_scan_default_db();
	if (!o.db_path) {
		fprintf(stderr, "kp2padm-scanrate: no signature database (-d)\n");
		return 1;
	}
	t0 = now(CLOCK_MONOTONIC);
	if (kp_scanner_open_opts(&b.s, &o, err, sizeof(err)) < 0) {
		fprintf(stderr, "kp2padm-scanrate: %s\n", err);
		return 1;
	}
	kp_scanner_stats(b.s, &st);
	for (unsigned i = 0; i < b.nfiles; i++)
		file_bytes += b.files[i].len;
	printf("db %s: %u signatures, load+compile %.3f s; libclamav cache %s; parsers off 0x%x\n",
	       o.db_path, st.sigs, now(CLOCK_MONOTONIC) - t0, o.engine_cache ? "on" : "off",
	       o.parse_off);
	printf("%u files, %.1f MB; %u threads; at most %lu scans or %.1f s per thread\n", b.nfiles,
	       (double)file_bytes / 1e6, nthreads, b.count, b.seconds);

	for (unsigned i = 0; i < nthreads; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].b = &b;
		w[i].id = i;
		if (pthread_create(&w[i].th, NULL, worker_main, &w[i]) != 0) {
			fprintf(stderr, "cannot start thread\n");
			return 1;
		}
	}
	for (unsigned i = 0; i < nthreads; i++) {
		pthread_join(w[i].th, NULL);
		printf("thread %u: %lu scans, %.1f MB in %.2f s (%.2f CPU s): %.1f MB/s, "
		       "%.1f MB per CPU s\n",
		       i, w[i].scans, (double)w[i].bytes / 1e6, w[i].wall, w[i].cpu,
		       (double)w[i].bytes / 1e6 / w[i].wall, (double)w[i].bytes / 1e6 / w[i].cpu);
		total_bytes += w[i].bytes;
		scans += w[i].scans;
		infected += w[i].infected;
		errors += w[i].errors;
		if (w[i].wall > wall)
			wall = w[i].wall;
		cpu += w[i].cpu;
	}
	printf("total: %lu scans (%lu infected, %lu errors), %.1f MB in %.2f s: %.1f MB/s "
	       "(%.1f Mbit/s), %.1f MB/s per thread, %.1f MB per CPU s\n",
	       scans, infected, errors, (double)total_bytes / 1e6, wall,
	       (double)total_bytes / 1e6 / wall, (double)total_bytes * 8 / 1e6 / wall,
	       (double)total_bytes / 1e6 / wall / nthreads, (double)total_bytes / 1e6 / cpu);
	kp_scanner_close(b.s);
	for (unsigned i = 0; i < b.nfiles; i++)
		free(b.files[i].buf);
	return 0;
}
