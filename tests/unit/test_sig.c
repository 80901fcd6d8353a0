/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tests of the l7-filter `.pat` signature matcher (src/classify/sig.c): the
 * file format and its error reports (FILE:LINE), the POSIX-to-engine regex
 * translation (checked against glibc's own POSIX regcomp/regexec on the real
 * corpus), the real l7-protocols pattern set against the upstream payload
 * samples, agreement between the Hyperscan and PCRE2 engines, and the rate at
 * which random bytes match. Corpus tests print "skip: ..." when
 * /work/shared/corpus (or ../shared/corpus) is absent.
 */
#define _GNU_SOURCE
#include "classify/sig.h"
#include "tap.h"

#include <dirent.h>
#include <errno.h>
#include <regex.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

KP_TEST_MAIN()

#define MAX_SAMPLES 256

static const char *corpus_l7(void)
{
	static const char *const cands[] = {"/work/shared/corpus/l7-protocols",
					    "../shared/corpus/l7-protocols",
					    "../../shared/corpus/l7-protocols"};
	struct stat sb;

	for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++)
		if (stat(cands[i], &sb) == 0 && S_ISDIR(sb.st_mode))
			return cands[i];
	return NULL;
}

static const enum kp_sig_engine engines[] = {
#ifdef HAVE_HYPERSCAN
	KP_SIG_HYPERSCAN,
#endif
	KP_SIG_PCRE2,
};
#define N_ENGINES (sizeof(engines) / sizeof(engines[0]))

/* ---- helpers: temp dirs with .pat files ------------------------------------------------------ */

static char *mk_tmpdir(void)
{
	char *d = strdup("/tmp/kp_sig_test.XXXXXX");

	if (d && !mkdtemp(d)) {
		free(d);
		return NULL;
	}
	return d;
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char p[1024];
	FILE *f;

	if (snprintf(p, sizeof(p), "%s/%s", dir, name) >= (int)sizeof(p))
		return;
	f = fopen(p, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void rm_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char p[1024];
		struct stat sb;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) >= (int)sizeof(p))
			continue;
		if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
			rm_tree(p);
		else
			unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

/* Loads dir; the error log text lands in *log (malloc'd). */
static struct kp_sigset *load_log(const char *dir, enum kp_sig_engine eng, char **log, int *rc)
{
	struct kp_sigset *set = NULL;
	size_t sz = 0;
	FILE *f = open_memstream(log, &sz);

	*rc = kp_sigset_load(dir, eng, &set, f);
	fclose(f);
	return set;
}

static int match_str(const struct kp_sigset *set, const char *s)
{
	struct kp_sig_scratch *scr = kp_sig_scratch_new(set);
	int r = kp_sigset_match(set, scr, (const uint8_t *)s, strlen(s));

	kp_sig_scratch_free(scr);
	return r;
}

/* ---- format and error reports ------------------------------------------------------------- */

KP_TEST(pat_errors_name_file_and_line)
{
	char *dir = mk_tmpdir();

	CHECK(dir != NULL);
	if (!dir)
		return;
	write_file(dir, "a_good.pat", "# comment\n\n  \ngood\nhello+ world\n");
	/* unmatched parenthesis on line 4 */
	write_file(dir, "b_badre.pat", "# bad regex\n#\nbadre\n^(foo|bar\n");
	/* name on line 2, no pattern line */
	write_file(dir, "c_nopat.pat", "# x\nnopat\n# nothing else\n");
	/* unknown flag on line 4 */
	write_file(dir, "d_badflag.pat", "badflag\nabc\nuserspace pattern=abc\nuserspace flags=REG_BOGUS\n");
	/* back-reference on line 3 (not supported) */
	write_file(dir, "e_backref.pat", "\nbackref\n(a)\\1\n");
	/* CRLF line ends are accepted */
	write_file(dir, "f_crlf.pat", "# dos\r\ncrlf\r\n^dos file$\r\n");
	for (size_t e = 0; e < N_ENGINES; e++) {
		char *log = NULL;
		int rc;
		struct kp_sigset *set = load_log(dir, engines[e], &log, &rc);
		char want[600];

		CHECK_EQ(rc, 0);
		CHECK(set != NULL);
		if (!set) {
			free(log);
			continue;
		}
		CHECK_EQ(kp_sigset_count(set), 2);
		CHECK_EQ(kp_sigset_stats(set)->files, 6);
		CHECK_EQ(kp_sigset_stats(set)->skipped_parse, 4);
		CHECK_STR(kp_sigset_name(set, 0), "good");
		CHECK_STR(kp_sigset_name(set, 1), "crlf");
		snprintf(want, sizeof(want), "%s/b_badre.pat:4: error:", dir);
		CHECK(strstr(log, want) != NULL);
		snprintf(want, sizeof(want), "%s/c_nopat.pat:2: error:", dir);
		CHECK(strstr(log, want) != NULL);
		snprintf(want, sizeof(want), "%s/d_badflag.pat:4: error:", dir);
		CHECK(strstr(log, want) != NULL);
		snprintf(want, sizeof(want), "%s/e_backref.pat:3: error:", dir);
		CHECK(strstr(log, want) != NULL);
		CHECK(strstr(log, "a_good.pat") == NULL);
		CHECK_EQ(match_str(set, "xx HELLOOO WORLD"), 0);
		CHECK_EQ(match_str(set, "dos file"), 1);
		CHECK_EQ(match_str(set, "dos file\r"), -1); /* "$" is end of buffer only */
		CHECK_EQ(match_str(set, "hell world"), -1);
		if (e == 0 && log[0])
			printf("  error log (%s):\n%s", kp_sig_engine_name(engines[e]), log);
		kp_sigset_free(set);
		free(log);
	}
	{
		struct kp_sigset *set = NULL;

		CHECK_EQ(kp_sigset_load("/nonexistent/kp_sig", KP_SIG_PCRE2, &set, NULL), -ENOENT);
		CHECK(set == NULL);
	}
	rm_tree(dir);
	free(dir);
}

/*
 * POSIX semantics users rely on when porting l7-filter patterns: \xHH is a byte
 * (and may stand for a metacharacter, as in l7-filter), backslash is literal
 * inside brackets, stacked quantifiers are POSIX not PCRE, "userspace flags="
 * without REG_ICASE is case-sensitive, subdirectories load in path order and
 * the lowest index wins.
 */
KP_TEST(posix_translation_semantics)
{
	char *dir = mk_tmpdir();
	char sub[512];

	CHECK(dir != NULL);
	if (!dir)
		return;
	snprintf(sub, sizeof(sub), "%s/z_sub", dir);
	mkdir(sub, 0700);
	write_file(dir, "p01.pat", "hex\n^\\x01\\xff[\\x02-\\x04]x\n");
	write_file(dir, "p02.pat", "brk\n^q[\\]]\n"); /* [\] then a literal ']' */
	write_file(dir, "p03.pat", "stack\n^s(ab)*+t\n");		/* (ab)* then + : POSIX ((ab)*)+ */
	write_file(dir, "p04.pat", "cs\nnever\nuserspace pattern=^CaSe\nuserspace flags=REG_EXTENDED\n");
	write_file(dir, "p05.pat", "dot\n^d\\x2e\\.z\n");		/* \x2e is '.', a metachar */
	write_file(dir, "p06.pat", "iv\n^i[[:digit:]]{2,3}j\n");
	write_file(dir, "p07.pat", "rng\n^r[a-c\\-_]\n");		/* range \ to _ (POSIX), not '-' */
	write_file(dir, "p08.pat", "nl\n^n.l\n");			/* '.' matches newline */
	write_file(sub, "p00.pat", "sub\nhex\n");			/* loads after p08 (path order) */
	for (size_t e = 0; e < N_ENGINES; e++) {
		char *log = NULL;
		int rc;
		struct kp_sigset *set = load_log(dir, engines[e], &log, &rc);

		CHECK_EQ(rc, 0);
		if (!set) {
			free(log);
			continue;
		}
		CHECK_EQ(kp_sigset_count(set), 9);
		CHECK_STR(kp_sigset_name(set, 8), "sub");
		CHECK_EQ(match_str(set, "\x01\xff\x03x"), 0);
		CHECK_EQ(match_str(set, "\x01\xff\x05x"), -1);
		CHECK_EQ(match_str(set, "\x01\xfe\x03x"), -1);
		CHECK_EQ(match_str(set, "q\\]"), 1);
		CHECK_EQ(match_str(set, "q]"), -1); /* glibc agrees: [\] is one backslash */
		CHECK_EQ(match_str(set, "qx"), -1);
		CHECK_EQ(match_str(set, "st"), 2);
		CHECK_EQ(match_str(set, "sababt"), 2);
		CHECK_EQ(match_str(set, "sat"), -1);
		CHECK_EQ(match_str(set, "CaSe"), 3);
		CHECK_EQ(match_str(set, "case"), -1);
		CHECK_EQ(match_str(set, "never"), -1); /* replaced by the userspace pattern */
		CHECK_EQ(match_str(set, "dX.z"), 4);
		CHECK_EQ(match_str(set, "d.Xz"), -1);
		CHECK_EQ(match_str(set, "I12J"), 5);
		CHECK_EQ(match_str(set, "i1234j"), -1);
		CHECK_EQ(match_str(set, "r^"), 6);
		CHECK_EQ(match_str(set, "r-"), -1);
		CHECK_EQ(match_str(set, "n\nl"), 7);
		CHECK_EQ(match_str(set, "a HEX b"), 8);
		CHECK_EQ(match_str(set, "\x01\xff\x03x hex"), 0); /* lowest index wins */
		kp_sigset_free(set);
		free(log);
	}
	rm_tree(dir);
	free(dir);
}

/*
 * A pattern Hyperscan rejects is matched by PCRE2 instead, keeping its index; one
 * that no engine accepts is reported with FILE:LINE and skipped, and the
 * indexes after it move down.
 */
KP_TEST(engine_fallback_and_compile_failure)
{
	char *dir = mk_tmpdir();
	char big[2048], want[600];
	size_t k = 0;

	CHECK(dir != NULL);
	if (!dir)
		return;
	write_file(dir, "a.pat", "aa\nstart\n");
	write_file(dir, "b.pat", "# 1\n# 2\ntoolarge\n((ab{1000}){1000}){1000}\n"); /* nobody */
	write_file(dir, "c.pat", "fallback\n(a.{20}){50}\n"); /* Hyperscan: too large */
	write_file(dir, "d.pat", "dd\nstart|end\n");
	for (int r = 0; r < 50; r++) {
		big[k++] = 'a';
		for (int j = 0; j < 20; j++)
			big[k++] = (char)('0' + j % 10);
	}
	big[k] = 0;
	for (size_t e = 0; e < N_ENGINES; e++) {
		char *log = NULL;
		int rc;
		struct kp_sigset *set = load_log(dir, engines[e], &log, &rc);
		char buf[2100];

		CHECK_EQ(rc, 0);
		if (!set) {
			free(log);
			continue;
		}
		CHECK_EQ(kp_sigset_count(set), 3);
		CHECK_EQ(kp_sigset_stats(set)->skipped_compile, 1);
		snprintf(want, sizeof(want), "%s/b.pat:4: error: pcre2:", dir);
		CHECK(strstr(log, want) != NULL);
		CHECK_STR(kp_sigset_name(set, 1), "fallback");
		CHECK_EQ(kp_sigset_sig_engine(set, 1), KP_SIG_PCRE2);
		if (engines[e] == KP_SIG_HYPERSCAN) {
			snprintf(want, sizeof(want), "%s/c.pat:2: note: hyperscan:", dir);
			CHECK(strstr(log, want) != NULL);
			CHECK_EQ(kp_sigset_stats(set)->hs_patterns, 2);
			CHECK_EQ(kp_sigset_sig_engine(set, 2), KP_SIG_HYPERSCAN);
		}
		CHECK_EQ(match_str(set, big), 1);
		snprintf(buf, sizeof(buf), "%s end", big);
		CHECK_EQ(match_str(set, buf), 1); /* PCRE2 index 1 beats Hyperscan index 2 */
		snprintf(buf, sizeof(buf), "start %s", big);
		CHECK_EQ(match_str(set, buf), 0);
		CHECK_EQ(match_str(set, "the end"), 2);
		kp_sigset_free(set);
		free(log);
	}
	rm_tree(dir);
	free(dir);
}

/* KP_SIG_ORDER_ATTRIBUTES: overmatch last, subset first, then quality, then path. */
KP_TEST(attribute_order)
{
	char *dir = mk_tmpdir();
	static const char *const want[] = {"sub", "great", "goodp", "noattr", "over"};

	CHECK(dir != NULL);
	if (!dir)
		return;
	write_file(dir, "a.pat", "# Pattern attributes: ok fast fast overmatch\nover\nfoo\n");
	write_file(dir, "b.pat", "# Pattern attributes: good fast fast\ngoodp\nfoo\n");
	write_file(dir, "c.pat", "# no attributes line\nnoattr\nfoo\n");
	write_file(dir, "d.pat", "# Pattern attributes: marginal fast fast subset\nsub\nfoo\n");
	write_file(dir, "e.pat", "# Pattern attributes: great veryfast fast\ngreat\nfoo\n");
	for (size_t e = 0; e < N_ENGINES; e++) {
		struct kp_sig_opts o = {engines[e], KP_SIG_ORDER_ATTRIBUTES};
		struct kp_sigset *set = NULL;

		CHECK_EQ(kp_sigset_load_opts(dir, &o, &set, NULL), 0);
		if (!set)
			continue;
		CHECK_EQ(kp_sigset_count(set), 5);
		for (int i = 0; i < 5; i++)
			CHECK_STR(kp_sigset_name(set, i), want[i]);
		CHECK_STR(kp_sigset_name(set, match_str(set, "xfoo")), "sub");
		kp_sigset_free(set);
		CHECK_EQ(kp_sigset_load(dir, engines[e], &set, NULL), 0);
		if (!set)
			continue;
		CHECK_STR(kp_sigset_name(set, match_str(set, "xfoo")), "over"); /* path order */
		kp_sigset_free(set);
	}
	rm_tree(dir);
	free(dir);
}

KP_TEST(buf_append_removes_nuls_and_caps)
{
	uint8_t buf[8];
	size_t len = 0;
	static const uint8_t in[] = {'a', 0, 'b', 0, 0, 'c', 'd', 'e', 'f', 'g', 'h', 'i'};

	CHECK_EQ(kp_sig_buf_append(buf, &len, sizeof(buf), in, 4), 2);
	CHECK_EQ(len, 2);
	CHECK_EQ(kp_sig_buf_append(buf, &len, sizeof(buf), in + 4, sizeof(in) - 4), 6);
	CHECK_EQ(len, 8);
	CHECK(memcmp(buf, "abcdefgh", 8) == 0);
}

/* ---- the real l7-protocols corpus ----------------------------------------------------------- */

struct sample {
	char name[256];
	char proto[64]; /* expected pattern name, "" if none */
	uint8_t *buf;
	size_t len;
	bool own; /* matched by the pattern named proto */
};

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct sample *)a)->name, ((const struct sample *)b)->name);
}

/*
 * The expected protocol for "<proto>[-<session>]-<n>": the longest pattern name
 * that the stem starts with (edonkey-tcp -> edonkey, aresdownload -> ares).
 */
static void sample_proto(const struct kp_sigset *set, struct sample *s)
{
	char stem[256];
	size_t n, best = 0;

	snprintf(stem, sizeof(stem), "%s", s->name);
	n = strlen(stem);
	while (n && stem[n - 1] >= '0' && stem[n - 1] <= '9')
		n--;
	if (n && n < strlen(stem) && stem[n - 1] == '-')
		stem[--n] = '\0';
	if (n > 2 && stem[n - 2] == '-' && stem[n - 1] >= 'a' && stem[n - 1] <= 'z')
		stem[n -= 2] = '\0';
	s->proto[0] = '\0';
	for (unsigned i = 0; i < kp_sigset_count(set); i++) {
		const char *p = kp_sigset_name(set, (int)i);
		size_t pl = strlen(p);

		if (pl > best && !strncmp(stem, p, pl) &&
		    (stem[pl] == '\0' || stem[pl] == '-' || strcmp(p, "ares") == 0)) {
			best = pl;
			snprintf(s->proto, sizeof(s->proto), "%s", p);
		}
	}
}

static size_t load_samples(const char *l7, const struct kp_sigset *set, struct sample *v)
{
	char dir[512];
	DIR *d;
	struct dirent *de;
	size_t n = 0;

	snprintf(dir, sizeof(dir), "%s/testing-data", l7);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d)) && n < MAX_SAMPLES) {
		char p[1024];
		FILE *f;
		uint8_t raw[4096];
		size_t r;
		struct sample *s = &v[n];

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		f = fopen(p, "rb");
		if (!f)
			continue;
		memset(s, 0, sizeof(*s));
		snprintf(s->name, sizeof(s->name), "%s", de->d_name);
		s->buf = malloc(KP_SIG_L7_MAX_BYTES + 1);
		while (s->buf && (r = fread(raw, 1, sizeof(raw), f)) > 0)
			kp_sig_buf_append(s->buf, &s->len, KP_SIG_L7_MAX_BYTES, raw, r);
		fclose(f);
		if (!s->buf)
			continue;
		s->buf[s->len] = 0;
		sample_proto(set, s);
		n++;
	}
	closedir(d);
	qsort(v, n, sizeof(v[0]), cmp_name);
	return n;
}

static int find_name(const struct kp_sigset *set, const char *name)
{
	for (unsigned i = 0; i < kp_sigset_count(set); i++)
		if (!strcmp(kp_sigset_name(set, (int)i), name))
			return (int)i;
	return -1;
}

/*
 * The corpus set in path order, one per engine, loaded once for the tests below
 * (a Hyperscan compile of the 144 patterns takes seconds under ASan) and freed
 * at exit.
 */
static struct kp_sigset *corpus_cache[N_ENGINES];

static void corpus_cache_free(void)
{
	for (size_t e = 0; e < N_ENGINES; e++)
		kp_sigset_free(corpus_cache[e]);
}

static struct kp_sigset *corpus_set(const char *l7, size_t e)
{
	if (!corpus_cache[0])
		atexit(corpus_cache_free);
	if (!corpus_cache[e] && kp_sigset_load(l7, engines[e], &corpus_cache[e], NULL) != 0)
		return NULL;
	return corpus_cache[e];
}

KP_TEST(corpus_load_counts)
{
	const char *l7 = corpus_l7();

	if (!l7) {
		printf("  skip: /work/shared/corpus/l7-protocols absent\n");
		return;
	}
	for (size_t e = 0; e < N_ENGINES; e++) {
		char *log = NULL;
		int rc;
		struct kp_sigset *set = load_log(l7, engines[e], &log, &rc);
		const struct kp_sig_stats *st;

		CHECK_EQ(rc, 0);
		if (!set) {
			free(log);
			continue;
		}
		st = kp_sigset_stats(set);
		printf("  %-9s files %u loaded %u skipped(parse) %u skipped(compile) %u pseudo %u "
		       "hs %u pcre %u mem %zu B compile %.0f ms\n",
		       kp_sig_engine_name(engines[e]), st->files, st->loaded, st->skipped_parse,
		       st->skipped_compile, st->pseudo, st->hs_patterns, st->pcre_patterns,
		       st->mem_bytes, st->compile_ms);
		/* 146 upstream files; "unknown" and "unset" are catch-alls, not signatures */
		CHECK_EQ(st->files, 146);
		CHECK_EQ(st->loaded, 144);
		CHECK_EQ(st->pseudo, 2);
		CHECK_EQ(st->skipped_parse + st->skipped_compile, 0);
		if (engines[e] == KP_SIG_HYPERSCAN)
			CHECK_EQ(st->hs_patterns, 144); /* Hyperscan 5.4 accepts every one */
		CHECK_STR(kp_sigset_name(set, 0), "audiogalaxy"); /* extra/ sorts first */
		CHECK(find_name(set, "bittorrent") >= 0);
		CHECK(strstr(log, "unknown.pat:3: note:") != NULL);
		kp_sigset_free(set);
		free(log);
	}
}

/*
 * Every pattern x every testing-data sample: the translation must agree with
 * glibc's POSIX regexec on the pre-processed pattern (l7-filter userspace's own
 * matcher, C locale), the two engines must agree with each other, and each
 * sample must be matched by the pattern of its protocol at the measured rate.
 */
KP_TEST(corpus_samples)
{
	const char *l7 = corpus_l7();
	struct kp_sigset *sets[N_ENGINES] = {0}, *asets[N_ENGINES] = {0};
	struct kp_sig_scratch *scr[N_ENGINES] = {0}, *ascr[N_ENGINES] = {0};
	uint8_t *hits[N_ENGINES] = {0};
	static struct sample smp[MAX_SAMPLES];
	size_t ns, nexp = 0, nhit = 0, nlabel = 0, nalabel = 0, ndis = 0, noracle_dis = 0,
		   noracle = 0;
	unsigned n;

	if (!l7) {
		printf("  skip: /work/shared/corpus/l7-protocols absent\n");
		return;
	}
	for (size_t e = 0; e < N_ENGINES; e++) {
		sets[e] = corpus_set(l7, e);
		CHECK(sets[e] != NULL);
		if (!sets[e])
			return;
		scr[e] = kp_sig_scratch_new(sets[e]);
		CHECK(scr[e] != NULL);
		{
			struct kp_sig_opts o = {engines[e], KP_SIG_ORDER_ATTRIBUTES};

			CHECK_EQ(kp_sigset_load_opts(l7, &o, &asets[e], NULL), 0);
			if (!asets[e])
				return;
			ascr[e] = kp_sig_scratch_new(asets[e]);
		}
	}
	n = kp_sigset_count(sets[0]);
	ns = load_samples(l7, sets[0], smp);
	CHECK_EQ(ns, 92);

	/* engines agree on the set answer (lowest index) for every sample and every prefix */
	for (size_t i = 0; i < ns; i++) {
		for (size_t cut = 1; cut <= smp[i].len; cut += (cut < 64 ? 1 : 97)) {
			int r0 = kp_sigset_match(sets[0], scr[0], smp[i].buf, cut);
			int a0 = kp_sigset_match(asets[0], ascr[0], smp[i].buf, cut);

			for (size_t e = 1; e < N_ENGINES; e++) {
				if (kp_sigset_match(sets[e], scr[e], smp[i].buf, cut) != r0)
					ndis++;
				if (kp_sigset_match(asets[e], ascr[e], smp[i].buf, cut) != a0)
					ndis++;
			}
		}
	}
	CHECK_EQ(ndis, 0);

	/* every signature that matches each full sample, per engine */
	for (size_t e = 0; e < N_ENGINES; e++) {
		hits[e] = calloc(ns * n + 1, 1);
		if (!hits[e])
			return;
		for (size_t i = 0; i < ns; i++) {
			unsigned c = kp_sigset_match_all(sets[e], scr[e], smp[i].buf, smp[i].len,
							 hits[e] + i * n);
			int r = kp_sigset_match(sets[e], scr[e], smp[i].buf, smp[i].len);
			const uint8_t *first = memchr(hits[e] + i * n, 1, n);

			/* match_all agrees with match: same lowest index */
			CHECK_EQ(first ? (int)(first - (hits[e] + i * n)) : -1, r);
			CHECK_EQ(c > 0, r >= 0);
		}
	}

	/* per pattern: glibc POSIX oracle on the full samples */
	for (unsigned p = 0; p < n; p++) {
		const char *src = kp_sigset_source(sets[0], (int)p);
		char *pre = malloc(strlen(src) + 1);
		size_t k = 0;
		regex_t re;
		int cf = REG_EXTENDED | REG_NOSUB | (kp_sigset_caseless(sets[0], (int)p) ? REG_ICASE : 0);

		/* l7-filter's pre_process(): \xHH -> byte */
		for (size_t j = 0; src[j]; j++) {
			unsigned v;

			if (src[j] == '\\' && src[j + 1] == 'x' && src[j + 2] && src[j + 3] &&
			    sscanf(src + j + 2, "%2x", &v) == 1 && strchr("0123456789abcdefABCDEF", src[j + 2]) &&
			    strchr("0123456789abcdefABCDEF", src[j + 3])) {
				pre[k++] = (char)v;
				j += 3;
			} else {
				pre[k++] = src[j];
			}
		}
		pre[k] = 0;
		if (regcomp(&re, pre, cf) != 0) {
			printf("  glibc regcomp rejects %s\n", kp_sigset_name(sets[0], (int)p));
			free(pre);
			continue;
		}
		for (size_t i = 0; i < ns; i++) {
			bool want = regexec(&re, (const char *)smp[i].buf, 0, NULL, 0) == 0;

			noracle++;
			for (size_t e = 0; e < N_ENGINES; e++) {
				if ((hits[e][i * n + p] != 0) != want) {
					noracle_dis++;
					printf("  oracle mismatch: %s on %s (%s): glibc %d\n",
					       kp_sigset_name(sets[0], (int)p), smp[i].name,
					       kp_sig_engine_name(engines[e]), want);
				}
			}
			if (!strcmp(smp[i].proto, kp_sigset_name(sets[0], (int)p))) {
				nexp++;
				smp[i].own = want;
				if (want)
					nhit++;
			}
		}
		regfree(&re);
		free(pre);
	}
	printf("  oracle comparisons %zu, mismatches %zu\n", noracle, noracle_dis);
	CHECK_EQ(noracle_dis, 0);

	/* per protocol: own-pattern hit rate, and the label the whole set gives */
	printf("  %-22s %-13s %-4s %-13s %s\n", "sample", "expected", "own", "label(path)",
	       "label(attributes)");
	for (size_t i = 0; i < ns; i++) {
		int r = kp_sigset_match(sets[0], scr[0], smp[i].buf, smp[i].len);
		int a = kp_sigset_match(asets[0], ascr[0], smp[i].buf, smp[i].len);
		const char *lab = r >= 0 ? kp_sigset_name(sets[0], r) : "-";
		const char *alab = a >= 0 ? kp_sigset_name(asets[0], a) : "-";

		if (smp[i].proto[0] && !strcmp(lab, smp[i].proto))
			nlabel++;
		if (smp[i].proto[0] && !strcmp(alab, smp[i].proto))
			nalabel++;
		printf("  %-22s %-13s %-4s %-13s %s\n", smp[i].name,
		       smp[i].proto[0] ? smp[i].proto : "(none)",
		       !smp[i].proto[0] ? "" : smp[i].own ? "yes" : "NO", lab, alab);
	}
	printf("  samples with a pattern: %zu, matched by own pattern: %zu, labelled so by the set "
	       "in path order: %zu, in attribute order: %zu\n",
	       nexp, nhit, nlabel, nalabel);
	/* measured: see docs/signatures.md */
	CHECK_EQ(nexp, 88);
	CHECK(nhit >= 75);
	CHECK(nlabel >= 59);
	CHECK(nalabel >= 70);
	for (size_t e = 0; e < N_ENGINES; e++) {
		CHECK_EQ(kp_sig_scratch_limit_hits(scr[e]), 0);
		kp_sig_scratch_free(scr[e]);
		kp_sig_scratch_free(ascr[e]);
		kp_sigset_free(asets[e]);
		free(hits[e]);
	}
	for (size_t i = 0; i < ns; i++)
		free(smp[i].buf);
}

static uint64_t xs64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Random bytes should rarely look like a protocol; measure how rarely, per pattern. */
KP_TEST(corpus_random_buffers)
{
	const char *l7 = corpus_l7();
	struct kp_sigset *sets[N_ENGINES] = {0};
	struct kp_sig_scratch *scr[N_ENGINES] = {0};
	enum { NBUF = 4000, BLEN = 1400 };
	static unsigned per[1024];
	uint8_t buf[BLEN];
	uint64_t seed = 0x6b703270616d6421ull;
	unsigned hits = 0, dis = 0, n;

	if (!l7) {
		printf("  skip: /work/shared/corpus/l7-protocols absent\n");
		return;
	}
	for (size_t e = 0; e < N_ENGINES; e++) {
		sets[e] = corpus_set(l7, e);
		CHECK(sets[e] != NULL);
		if (!sets[e])
			return;
		scr[e] = kp_sig_scratch_new(sets[e]);
	}
	n = kp_sigset_count(sets[0]);
	memset(per, 0, sizeof(per));
	for (unsigned i = 0; i < NBUF; i++) {
		size_t len = 1 + xs64(&seed) % BLEN;
		int r;

		for (size_t j = 0; j < len; j++) {
			buf[j] = (uint8_t)xs64(&seed);
			if (!buf[j])
				buf[j] = 1; /* NULs never reach the matcher */
		}
		r = kp_sigset_match(sets[0], scr[0], buf, len);
		for (size_t e = 1; e < N_ENGINES; e++)
			if (kp_sigset_match(sets[e], scr[e], buf, len) != r)
				dis++;
		if (r >= 0 && r < (int)n && r < 1024) {
			hits++;
			per[r]++;
		}
	}
	printf("  random buffers (1..%d bytes): %u of %d matched (%.2f%%)\n", BLEN, hits, NBUF,
	       100.0 * hits / NBUF);
	for (unsigned p = 0; p < n && p < 1024; p++)
		if (per[p])
			printf("    %-22s %u\n", kp_sigset_name(sets[0], (int)p), per[p]);
	CHECK_EQ(dis, 0);
	/* measured 2026-11: see docs/signatures.md; the bound leaves room, not a licence */
	CHECK(hits <= 480);
	for (size_t e = 0; e < N_ENGINES; e++) {
		kp_sig_scratch_free(scr[e]);
	}
}
