/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * User signatures in the l7-filter `.pat` format, compiled into one matcher.
 *
 * A signature set is every *.pat file under a directory (recursively, sorted by
 * relative path, byte order). Each file gives a protocol name (the label) and a
 * POSIX extended regular expression that is matched, case-insensitively and
 * unanchored, against the first application bytes of a connection (both
 * directions concatenated in arrival order, NUL bytes removed). The POSIX syntax
 * is translated to the engines' syntax; patterns are compiled with Hyperscan as
 * one multi-pattern database (patterns Hyperscan rejects fall back to PCRE2) or
 * with PCRE2 alone. See docs/signatures.md for the exact format rules.
 *
 * Threads: a struct kp_sigset is immutable after kp_sigset_load() and may be
 * shared by any number of threads; each thread matches with its own
 * struct kp_sig_scratch.
 */
#ifndef KP_CLASSIFY_SIG_H
#define KP_CLASSIFY_SIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* l7-filter userspace defaults: what part of a connection a signature sees. */
#define KP_SIG_L7_MAX_PACKETS 10
#define KP_SIG_L7_MAX_BYTES 12000

struct kp_sigset;
struct kp_sig_scratch;

enum kp_sig_engine {
	KP_SIG_AUTO,	  /* the measured default (docs/signatures.md): Hyperscan if built in */
	KP_SIG_HYPERSCAN, /* one Hyperscan database, PCRE2 for patterns it rejects */
	KP_SIG_PCRE2,	  /* every pattern with PCRE2 (JIT where available), in order */
};

/* What kp_sigset_load() did; for logs, tests and the benchmark. */
struct kp_sig_stats {
	unsigned files;		 /* *.pat files read */
	unsigned loaded;	 /* signatures in the set (== kp_sigset_count) */
	unsigned skipped_parse;	 /* file or regex syntax rejected */
	unsigned skipped_compile; /* no engine accepted the translated regex */
	unsigned pseudo;	 /* l7-filter's "unknown"/"unset" catch-alls, not loaded */
	unsigned hs_patterns;	 /* matched by the Hyperscan database */
	unsigned pcre_patterns;	 /* matched by PCRE2 (engine PCRE2, or Hyperscan fallback) */
	size_t mem_bytes;	 /* compiled size: HS database + PCRE2 code + JIT code */
	double compile_ms;	 /* wall time spent in the engines' compilers */
};

/* Which signature wins when several match: the one with the lowest index. */
enum kp_sig_order {
	KP_SIG_ORDER_PATH,	 /* index order = relative path order (kp_sigset_load) */
	KP_SIG_ORDER_ATTRIBUTES, /* by "# Pattern attributes:": overmatch last, subset first,
				  * then great, good (and no attributes line), ok, marginal,
				  * poor; path order breaks ties. See docs/signatures.md. */
};

struct kp_sig_opts {
	enum kp_sig_engine engine;
	enum kp_sig_order order;
};

/*
 * Loads every *.pat under dir (recursively, at most 8 levels, hidden entries
 * skipped), in byte order of the path relative to dir; that order is the index
 * order. Every file or pattern that fails to parse or compile is reported to
 * errlog (may be NULL) as "FILE:LINE: error: reason" and skipped; notes and
 * warnings use the same form with "note:"/"warning:". Returns 0 (also when no
 * pattern loaded) or -errno (-ENOENT/-ENOTDIR/-EACCES for dir, -ENOMEM,
 * -ENOTSUP for KP_SIG_HYPERSCAN in a build without HAVE_HYPERSCAN).
 */
int kp_sigset_load(const char *dir, enum kp_sig_engine eng, struct kp_sigset **out,
		   FILE *errlog);
/* The same with options (NULL: AUTO, path order); kp_sigset_load() is engine + path order. */
int kp_sigset_load_opts(const char *dir, const struct kp_sig_opts *opts, struct kp_sigset **out,
			FILE *errlog);
void kp_sigset_free(struct kp_sigset *set);

unsigned kp_sigset_count(const struct kp_sigset *set);
const struct kp_sig_stats *kp_sigset_stats(const struct kp_sigset *set);
/* The engine actually used (never KP_SIG_AUTO). */
enum kp_sig_engine kp_sigset_engine(const struct kp_sigset *set);
const char *kp_sig_engine_name(enum kp_sig_engine eng);

/* Per-thread matching state; NULL on allocation failure. */
struct kp_sig_scratch *kp_sig_scratch_new(const struct kp_sigset *set);
void kp_sig_scratch_free(struct kp_sig_scratch *scr);

/*
 * Returns the index of the lowest-indexed signature that matches somewhere in
 * buf[0..len), or -1. buf is the l7 buffer with NULs already removed (see
 * kp_sig_buf_append). A PCRE2 match that hits its backtracking limit counts as
 * no match (and is counted in the scratch, see kp_sig_scratch_limit_hits).
 */
int kp_sigset_match(const struct kp_sigset *set, struct kp_sig_scratch *scr, const uint8_t *buf,
		    size_t len);
/*
 * Every matching signature: sets hit[i] to 1 for each matching index i and 0
 * otherwise (hit has kp_sigset_count() bytes); returns how many matched. Slower
 * than kp_sigset_match() (no early stop); for diagnostics, tests and tools.
 */
unsigned kp_sigset_match_all(const struct kp_sigset *set, struct kp_sig_scratch *scr,
			     const uint8_t *buf, size_t len, uint8_t *hit);
unsigned long kp_sig_scratch_limit_hits(const struct kp_sig_scratch *scr);

/* The protocol name line (the label), the file (path as opened), and the regex text used. */
const char *kp_sigset_name(const struct kp_sigset *set, int idx);
const char *kp_sigset_file(const struct kp_sigset *set, int idx);
const char *kp_sigset_source(const struct kp_sigset *set, int idx);
/* 1 when the signature matches case-insensitively (the default; see "userspace flags="). */
int kp_sigset_caseless(const struct kp_sigset *set, int idx);
/* The engine that matches this signature: KP_SIG_HYPERSCAN or KP_SIG_PCRE2. */
enum kp_sig_engine kp_sigset_sig_engine(const struct kp_sigset *set, int idx);

/*
 * Appends src[0..n) to the l7 buffer buf (length *len, capacity cap) with NUL
 * bytes removed, stopping when the buffer is full. Returns the number of bytes
 * appended.
 */
size_t kp_sig_buf_append(uint8_t *buf, size_t *len, size_t cap, const uint8_t *src, size_t n);

#endif
