/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Virus scanning: libclamav in-process, in a pool of scan threads.
 *
 * The packet path never waits on a scan: a pipeline submits a job (the
 * file's bytes, which the job then owns) and goes on; a scan thread scans it
 * and puts the finished job on the submitter's done queue, whose eventfd
 * becomes readable. The pipeline's thread takes finished jobs from its own
 * queue and acts on them (release or drop held packets, events).
 *
 * A cache of content hashes (sha256 -> verdict) answers files already
 * scanned without scanning them again. Without libclamav at build time
 * kp_scanner_open() fails with a message; nothing else changes.
 */
#ifndef KP_SCAN_SCAN_H
#define KP_SCAN_SCAN_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum kp_scan_result {
	KP_SCAN_CLEAN = 0,
	KP_SCAN_INFECTED,  /* virus[] names the signature */
	KP_SCAN_ERROR,     /* libclamav failed on it (err[] says why) */
	KP_SCAN_TIMEOUT,   /* set by the submitter, not by the scanner */
};

struct kp_scan_job {
	struct kp_scan_job *next;       /* queue links (scanner and done queue) */
	/* filled by the submitter */
	uint8_t *buf;                   /* malloc'd file bytes; freed by kp_scan_job_free */
	size_t len;
	uint8_t sha256[32];             /* of buf (the cache key) */
	bool have_sha256;
	uint64_t cookie;                /* the submitter's: file id, hold id, ... */
	void *user;                     /* the submitter's */
	uint64_t submit_us;
	struct kp_scan_doneq *doneq;    /* where the finished job goes */
	/* filled by the scanner */
	enum kp_scan_result result;
	bool cached;                    /* answered from the content cache, not scanned */
	char virus[128];
	char err[96];
	uint64_t scan_ns;               /* time spent in libclamav */
};

/* A multi-producer queue of finished jobs, readable through an eventfd. */
struct kp_scan_doneq {
	pthread_mutex_t lock;
	struct kp_scan_job *head, *tail;
	int efd;                        /* eventfd, readable while jobs wait */
	unsigned pending;               /* submitted and not yet taken back */
};

int kp_scan_doneq_init(struct kp_scan_doneq *q);
/* Takes every finished job (a list linked by next; NULL when none) and clears the eventfd. */
struct kp_scan_job *kp_scan_doneq_take(struct kp_scan_doneq *q);
void kp_scan_doneq_fini(struct kp_scan_doneq *q);

struct kp_scan_stats {
	uint64_t submitted, scanned, cached, infected, errors, rejected;
	uint64_t bytes_scanned, scan_ns;
	uint32_t sigs;                  /* signatures loaded */
	unsigned threads, queued;
};

struct kp_scanner;

/*
 * Loads the signature database at db_path (a directory like /var/lib/clamav
 * or one .cvd/.cld/.ndb/.hdb file) and starts `threads` scan threads (0 = one
 * per online CPU). queue_max bounds queued jobs (submit fails beyond it),
 * cache_entries the content-hash cache (0 = no cache). On failure returns a
 * negative errno with the reason in err ("cannot load /x: No such file...").
 */
int kp_scanner_open(struct kp_scanner **out, const char *db_path, unsigned threads,
		    unsigned queue_max, unsigned cache_entries, char *err, size_t errlen);
/* kp_scanner_open() with every setting (zero = the default of each). */
struct kp_scan_opts {
	const char *db_path;
	unsigned threads, queue_max, cache_entries;  /* as kp_scanner_open() */
	/*
	 * libclamav's scratch directory (it makes a directory per scan there and
	 * writes some archive members it unpacks): NULL = a private directory made
	 * under /dev/shm (tmpfs: nothing reaches a disk), removed on close; when
	 * /dev/shm is not writable, libclamav's default ($TMPDIR, else /tmp).
	 */
	const char *tmpdir;
	bool engine_cache;       /* libclamav's own clean-file cache (MD5 of every file
				  * and member); off by default: the sha256 cache does it */
	uint64_t max_filesize;   /* largest file (and member) scanned; 0 = 100 MiB; the
				  * total unpacked per file is max(400 MiB, 2 x this) */
	uint32_t parse_off;      /* libclamav parsers (CL_SCAN_PARSE_* bits) to turn off;
				  * 0 = every parser on (archives, documents, HTML, ...) */
};
int kp_scanner_open_opts(struct kp_scanner **out, const struct kp_scan_opts *o, char *err,
			 size_t errlen);

/*
 * Queues a job; -EAGAIN when the queue is full, -ESHUTDOWN while closing (the job
 * stays the caller's). Thread-safe. A job whose sha256 is in the cache is not
 * queued: it goes to its done queue at once (cached = true, even with a full queue).
 */
int kp_scanner_submit(struct kp_scanner *s, struct kp_scan_job *job);
/* Scans buf now in the calling thread (benchmarks, tests). Returns the result, fills virus. */
enum kp_scan_result kp_scanner_scan_now(struct kp_scanner *s, const uint8_t *buf, size_t len,
					char *virus, size_t vlen);
void kp_scanner_stats(struct kp_scanner *s, struct kp_scan_stats *st);
/* Stops the threads after the queued jobs are done (their results reach the done queues). */
void kp_scanner_close(struct kp_scanner *s);
void kp_scan_job_free(struct kp_scan_job *job);

/* Whether this build has libclamav. */
bool kp_scan_available(void);

/*
 * The default of scan.db: /var/lib/clamav when it holds a database (.cvd, .cld,
 * .cud, .ndb, .hdb, ...), else the project's test database (installed under
 * datadir/kp2padm, else the one in the build tree), else NULL.
 */
const char *kp_scan_default_db(void);

#endif
