/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * l7-filter `.pat` signatures: file parser, POSIX-ERE to PCRE/Hyperscan syntax
 * translator, and the two matching engines (one Hyperscan multi-pattern
 * database with a PCRE2 fallback per pattern, or PCRE2 alone). The format
 * rules implemented here are written down in docs/signatures.md.
 *
 * The translator parses the POSIX pattern itself (after l7-filter's `\xHH`
 * pre-processing) and emits a regex both engines read the same way: groups
 * become (?:...), every bracket expression becomes a list of byte ranges, every
 * non-alphanumeric literal becomes \xHH, `$` becomes \z, and stacked
 * quantifiers (POSIX "a*+" = "(a*)+") are wrapped so PCRE does not read them as
 * possessive or lazy.
 */
#define _GNU_SOURCE
#include "classify/sig.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#ifdef HAVE_HYPERSCAN
#include <hs.h>
#endif

#define SIG_MAX_FILE_BYTES (1u << 20) /* a .pat file larger than this is rejected */
#define SIG_MAX_DIR_DEPTH 8
#define SIG_MAX_FILES 65536
#define SIG_MAX_GROUP_DEPTH 64	  /* nested parentheses */
#define SIG_MAX_REPEAT 1000	  /* largest {m,n} bound accepted */
#define SIG_MAX_REGEX_BYTES 65536 /* translated regex */
#define SIG_MAX_NAME 64
#define SIG_PCRE_MATCH_LIMIT 1000000
#define SIG_PCRE_DEPTH_LIMIT 10000

/* Flags from a "userspace flags=" line (regcomp/regexec names). */
#define SIG_F_ICASE 0x1
#define SIG_F_NEWLINE 0x2

struct sig {
	char *name;   /* protocol name line, first word */
	char *file;   /* path as opened */
	char *source; /* regex line as written (after the name, or "userspace pattern=") */
	char *regex;  /* translated, engine syntax */
	unsigned line; /* line number of the regex line */
	unsigned flags; /* SIG_F_* */
	bool use_pcre;	/* matched by PCRE2 (engine PCRE2 or Hyperscan fallback) */
	pcre2_code *code;
	/* from "# Pattern attributes:" (KP_SIG_ORDER_ATTRIBUTES) */
	unsigned quality; /* 0 great, 1 good (also: no attributes line), 2 ok/works, 3 marginal, 4 poor */
	bool subset, overmatch;
	unsigned path_rank; /* position in path order, the last tie-break */
};

struct kp_sigset {
	struct sig *sigs; /* index order */
	unsigned n;
	enum kp_sig_engine engine;
	struct kp_sig_stats stats;
	unsigned *pcre_idx; /* indexes of PCRE2-matched signatures, ascending */
	unsigned n_pcre;
#ifdef HAVE_HYPERSCAN
	hs_database_t *db; /* NULL when no signature went to Hyperscan */
	unsigned hs_first; /* lowest index in db: a hit on it ends the scan */
#endif
};

struct kp_sig_scratch {
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	pcre2_jit_stack *jstack;
	unsigned long limit_hits;
#ifdef HAVE_HYPERSCAN
	hs_scratch_t *hs;
#endif
};

/* ---- small helpers -------------------------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_reserve(struct sbuf *b, size_t more)
{
	char *np;
	size_t ncap;

	if (b->oom)
		return;
	if (b->len + more + 1 <= b->cap)
		return;
	if (b->len + more + 1 > SIG_MAX_REGEX_BYTES * 2) {
		b->oom = true;
		return;
	}
	ncap = b->cap ? b->cap * 2 : 64;
	while (ncap < b->len + more + 1)
		ncap *= 2;
	np = realloc(b->p, ncap);
	if (!np) {
		b->oom = true;
		return;
	}
	b->p = np;
	b->cap = ncap;
}

static void sb_putn(struct sbuf *b, const char *s, size_t n)
{
	sb_reserve(b, n);
	if (b->oom)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

static void sb_hex(struct sbuf *b, unsigned c)
{
	static const char hx[] = "0123456789abcdef";
	char t[4] = {'\\', 'x', hx[(c >> 4) & 15], hx[c & 15]};

	sb_putn(b, t, 4);
}

/* Inserts s at offset off (used to wrap an atom in (?:...) before a stacked quantifier). */
static void sb_insert(struct sbuf *b, size_t off, const char *s)
{
	size_t n = strlen(s);

	sb_reserve(b, n);
	if (b->oom)
		return;
	memmove(b->p + off + n, b->p + off, b->len - off + 1);
	memcpy(b->p + off, s, n);
	b->len += n;
}

static void logf_(FILE *log, const char *file, unsigned line, const char *kind, const char *fmt,
		  ...) __attribute__((format(printf, 5, 6)));
static void logf_(FILE *log, const char *file, unsigned line, const char *kind, const char *fmt,
		  ...)
{
	va_list ap;

	if (!log)
		return;
	fprintf(log, "%s:%u: %s: ", file, line, kind);
	va_start(ap, fmt);
	vfprintf(log, fmt, ap);
	va_end(ap);
	fputc('\n', log);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static bool is_hex(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static unsigned hex_val(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return c - 'A' + 10;
}

static bool is_alnum_ascii(unsigned c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_space_ascii(uint8_t c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* ---- POSIX ERE -> engine syntax -------------------------------------------------------------- */

struct xlat {
	const uint8_t *s; /* pattern after \xHH pre-processing */
	size_t n, pos;
	unsigned flags;
	struct sbuf out;
	const char *err; /* first error, static string */
};

static int xl_peek(const struct xlat *x)
{
	return x->pos < x->n ? x->s[x->pos] : -1;
}

static void xl_fail(struct xlat *x, const char *msg)
{
	if (!x->err)
		x->err = msg;
}

struct byteset {
	uint8_t bits[32];
};

static void bs_set(struct byteset *bs, unsigned c)
{
	bs->bits[c >> 3] |= (uint8_t)(1u << (c & 7));
}

static bool bs_has(const struct byteset *bs, unsigned c)
{
	return bs->bits[c >> 3] & (1u << (c & 7));
}

static void bs_range(struct byteset *bs, unsigned lo, unsigned hi)
{
	for (unsigned c = lo; c <= hi; c++)
		bs_set(bs, c);
}

/* POSIX character classes in the C locale (never the process locale). */
static bool posix_class(struct byteset *bs, const char *name, size_t len)
{
	static const struct {
		const char *name;
		const char *ranges; /* pairs lo,hi */
	} cls[] = {
		{"alpha", "AZaz"},
		{"digit", "09"},
		{"alnum", "09AZaz"},
		{"upper", "AZ"},
		{"lower", "az"},
		{"space", "\t\r  "},
		{"blank", "\t\t  "},
		{"punct", "!/:@[`{~"},
		{"print", " ~"},
		{"graph", "!~"},
		{"cntrl", "\x01\x1f\x7f\x7f"},
		{"xdigit", "09AFaf"},
	};

	for (size_t i = 0; i < sizeof(cls) / sizeof(cls[0]); i++) {
		if (strlen(cls[i].name) != len || memcmp(cls[i].name, name, len) != 0)
			continue;
		for (const char *r = cls[i].ranges; r[0] && r[1]; r += 2)
			bs_range(bs, (uint8_t)r[0], (uint8_t)r[1]);
		if (!strcmp(cls[i].name, "cntrl"))
			bs_set(bs, 0);
		return true;
	}
	return false;
}

static void emit_set(struct xlat *x, const struct byteset *bs, bool neg)
{
	sb_puts(&x->out, neg ? "[^" : "[");
	for (unsigned c = 0; c < 256;) {
		unsigned lo, hi;

		if (!bs_has(bs, c)) {
			c++;
			continue;
		}
		lo = c;
		while (c < 256 && bs_has(bs, c))
			c++;
		hi = c - 1;
		sb_hex(&x->out, lo);
		if (hi > lo) {
			if (hi > lo + 1)
				sb_putn(&x->out, "-", 1);
			sb_hex(&x->out, hi);
		}
	}
	sb_putn(&x->out, "]", 1);
}

/*
 * One bracket element's start byte: a plain byte, or [.c.] / [=c=] (single
 * byte only). Returns -1 on error. Backslash is an ordinary byte here (POSIX).
 */
static int bracket_char(struct xlat *x)
{
	int c = xl_peek(x);

	if (c == '[' && x->pos + 1 < x->n && (x->s[x->pos + 1] == '.' || x->s[x->pos + 1] == '=')) {
		uint8_t d = x->s[x->pos + 1];

		if (x->pos + 4 < x->n && x->s[x->pos + 3] == d && x->s[x->pos + 4] == ']') {
			c = x->s[x->pos + 2];
			x->pos += 5;
			return c;
		}
		xl_fail(x, "unsupported collating element (only single-byte [.c.] and [=c=])");
		return -1;
	}
	x->pos++;
	return c;
}

static void parse_bracket(struct xlat *x)
{
	struct byteset bs = {{0}};
	bool neg = false, first = true;

	x->pos++; /* '[' */
	if (xl_peek(x) == '^') {
		neg = true;
		x->pos++;
	}
	for (;;) {
		int c = xl_peek(x), hi;

		if (c < 0) {
			xl_fail(x, "unterminated bracket expression");
			return;
		}
		if (c == ']' && !first) {
			x->pos++;
			break;
		}
		first = false;
		if (c == '[' && x->pos + 1 < x->n && x->s[x->pos + 1] == ':') {
			size_t st = x->pos + 2, e = st;

			while (e + 1 < x->n && !(x->s[e] == ':' && x->s[e + 1] == ']'))
				e++;
			if (e + 1 >= x->n) {
				xl_fail(x, "unterminated [: :] class");
				return;
			}
			if (!posix_class(&bs, (const char *)x->s + st, e - st)) {
				xl_fail(x, "unknown character class");
				return;
			}
			x->pos = e + 2;
			continue;
		}
		c = bracket_char(x);
		if (c < 0)
			return;
		/* a range, unless the '-' is the last element */
		if (xl_peek(x) == '-' && x->pos + 1 < x->n && x->s[x->pos + 1] != ']') {
			x->pos++;
			if (xl_peek(x) == '[' && x->pos + 1 < x->n && x->s[x->pos + 1] == ':') {
				xl_fail(x, "character class as range end point");
				return;
			}
			hi = bracket_char(x);
			if (hi < 0)
				return;
			if (hi < c) {
				xl_fail(x, "invalid range end (end below start)");
				return;
			}
			bs_range(&bs, (unsigned)c, (unsigned)hi);
		} else {
			bs_set(&bs, (unsigned)c);
		}
	}
	if (neg && (x->flags & SIG_F_NEWLINE))
		bs_set(&bs, '\n'); /* REG_NEWLINE: a non-matching list never matches newline */
	if (neg) {
		bool all = true;

		for (unsigned i = 1; i < 256 && all; i++) /* NUL never occurs in the data */
			all = bs_has(&bs, i);
		if (all) {
			xl_fail(x, "bracket expression can never match");
			return;
		}
	}
	emit_set(x, &bs, neg);
}

static void emit_literal(struct xlat *x, unsigned c)
{
	char ch = (char)c;

	if (is_alnum_ascii(c))
		sb_putn(&x->out, &ch, 1);
	else
		sb_hex(&x->out, c);
}

static void parse_escape(struct xlat *x)
{
	int c;

	x->pos++; /* backslash */
	c = xl_peek(x);
	if (c < 0) {
		xl_fail(x, "trailing backslash");
		return;
	}
	x->pos++;
	switch (c) {
	case '1' ... '9':
		xl_fail(x, "back-references are not supported");
		return;
	case 'w':
		sb_puts(&x->out, "[0-9A-Za-z_]");
		return;
	case 'W':
		sb_puts(&x->out, "[^0-9A-Za-z_]");
		return;
	case 's':
		sb_puts(&x->out, "[\\x09-\\x0d\\x20]");
		return;
	case 'S':
		sb_puts(&x->out, "[^\\x09-\\x0d\\x20]");
		return;
	case 'b':
		sb_puts(&x->out, "\\b");
		return;
	case 'B':
		sb_puts(&x->out, "\\B");
		return;
	case '<':
	case '>':
	case '`':
	case '\'':
		xl_fail(x, "GNU anchors \\< \\> \\` \\' are not supported");
		return;
	default:
		emit_literal(x, (unsigned)c); /* POSIX: backslash makes any other byte literal */
		return;
	}
}

static unsigned parse_uint(struct xlat *x, bool *any)
{
	unsigned v = 0;

	*any = false;
	while (xl_peek(x) >= '0' && xl_peek(x) <= '9') {
		*any = true;
		if (v <= SIG_MAX_REPEAT)
			v = v * 10 + (unsigned)(xl_peek(x) - '0');
		x->pos++;
	}
	return v;
}

/* Parses one quantifier at x->pos into q (engine syntax). */
static bool parse_quant(struct xlat *x, char *q, size_t qsz)
{
	int c = xl_peek(x);
	unsigned lo, hi;
	bool any_lo, any_hi;

	if (c == '*' || c == '+' || c == '?') {
		x->pos++;
		snprintf(q, qsz, "%c", c);
		return true;
	}
	/* '{' */
	x->pos++;
	lo = parse_uint(x, &any_lo);
	if (xl_peek(x) == '}') {
		x->pos++;
		if (!any_lo) {
			xl_fail(x, "invalid interval {}");
			return false;
		}
		if (lo > SIG_MAX_REPEAT) {
			xl_fail(x, "interval bound above 1000");
			return false;
		}
		snprintf(q, qsz, "{%u}", lo);
		return true;
	}
	if (xl_peek(x) != ',') {
		xl_fail(x, "invalid interval");
		return false;
	}
	x->pos++;
	hi = parse_uint(x, &any_hi);
	if (xl_peek(x) != '}') {
		xl_fail(x, "invalid interval");
		return false;
	}
	x->pos++;
	if (!any_lo)
		lo = 0; /* GNU {,n} */
	if (lo > SIG_MAX_REPEAT || (any_hi && hi > SIG_MAX_REPEAT)) {
		xl_fail(x, "interval bound above 1000");
		return false;
	}
	if (any_hi && hi < lo) {
		xl_fail(x, "invalid interval (max below min)");
		return false;
	}
	if (any_hi)
		snprintf(q, qsz, "{%u,%u}", lo, hi);
	else
		snprintf(q, qsz, "{%u,}", lo);
	return true;
}

static bool is_quant_start(const struct xlat *x)
{
	int c = xl_peek(x);

	return c == '*' || c == '+' || c == '?' || c == '{';
}

static void parse_alt(struct xlat *x, unsigned depth);

/* Returns false at the end of a concatenation (| or ) or end of pattern). */
static bool parse_piece(struct xlat *x, unsigned depth)
{
	size_t start = x->out.len;
	int c = xl_peek(x);
	bool anchor = false;
	unsigned nq = 0;

	switch (c) {
	case -1:
	case '|':
		return false;
	case ')':
		if (depth == 0)
			xl_fail(x, "unmatched )");
		return false;
	case '(':
		if (depth >= SIG_MAX_GROUP_DEPTH) {
			xl_fail(x, "parentheses nested too deeply");
			return false;
		}
		x->pos++;
		sb_puts(&x->out, "(?:");
		parse_alt(x, depth + 1);
		if (x->err)
			return false;
		if (xl_peek(x) != ')') {
			xl_fail(x, "unmatched (");
			return false;
		}
		x->pos++;
		sb_putn(&x->out, ")", 1);
		break;
	case '[':
		parse_bracket(x);
		break;
	case '.':
		x->pos++;
		sb_putn(&x->out, ".", 1);
		break;
	case '^':
		x->pos++;
		sb_putn(&x->out, "^", 1);
		anchor = true;
		break;
	case '$':
		x->pos++;
		sb_puts(&x->out, (x->flags & SIG_F_NEWLINE) ? "$" : "\\z");
		anchor = true;
		break;
	case '\\':
		parse_escape(x);
		break;
	case '*':
	case '+':
	case '?':
	case '{':
		xl_fail(x, "repetition operator without operand");
		return false;
	default:
		x->pos++;
		emit_literal(x, (unsigned)c);
		break;
	}
	while (!x->err && is_quant_start(x)) {
		char q[32];

		if (!parse_quant(x, q, sizeof(q)))
			return false;
		if (anchor || nq > 0) {
			sb_insert(&x->out, start, "(?:");
			sb_putn(&x->out, ")", 1);
		}
		sb_puts(&x->out, q);
		nq++;
	}
	return !x->err;
}

static void parse_alt(struct xlat *x, unsigned depth)
{
	for (;;) {
		while (parse_piece(x, depth))
			;
		if (x->err || xl_peek(x) != '|')
			return;
		x->pos++;
		sb_putn(&x->out, "|", 1);
	}
}

/*
 * Translates one l7-filter pattern (as written, with \xHH escapes) to engine
 * syntax. Returns the malloc'd regex or NULL with *err set.
 */
static char *translate(const char *src, size_t srclen, unsigned flags, const char **err)
{
	struct xlat x = {0};
	uint8_t *pre;
	size_t n = 0;

	*err = NULL;
	pre = malloc(srclen + 1);
	if (!pre) {
		*err = "out of memory";
		return NULL;
	}
	/* l7-filter's pre_process(): \xHH becomes the byte, before regex parsing */
	for (size_t i = 0; i < srclen; i++) {
		uint8_t b = (uint8_t)src[i];

		if (b == '\\' && i + 3 < srclen && src[i + 1] == 'x' && is_hex((uint8_t)src[i + 2]) &&
		    is_hex((uint8_t)src[i + 3])) {
			b = (uint8_t)(hex_val((uint8_t)src[i + 2]) << 4 | hex_val((uint8_t)src[i + 3]));
			i += 3;
		}
		if (b == 0) {
			free(pre);
			*err = "NUL byte (\\x00) in pattern: NULs are removed from the data";
			return NULL;
		}
		pre[n++] = b;
	}
	x.s = pre;
	x.n = n;
	x.flags = flags;
	parse_alt(&x, 0);
	if (!x.err && x.pos != x.n)
		xl_fail(&x, "unmatched )");
	if (!x.err && x.out.oom)
		xl_fail(&x, "pattern too long or out of memory");
	if (!x.err && x.out.len == 0)
		sb_puts(&x.out, "(?:)"); /* empty pattern: matches everything */
	if (!x.err && x.out.oom)
		xl_fail(&x, "out of memory");
	free(pre);
	if (x.err) {
		free(x.out.p);
		*err = x.err;
		return NULL;
	}
	return x.out.p;
}

/* ---- .pat file parser ---------------------------------------------------------------------- */

static void sig_clear(struct sig *s)
{
	free(s->name);
	free(s->file);
	free(s->source);
	free(s->regex);
	if (s->code)
		pcre2_code_free(s->code);
	memset(s, 0, sizeof(*s));
}

static bool line_is_comment(const char *l, size_t n)
{
	if (n == 0 || l[0] == '#')
		return true;
	for (size_t i = 0; i < n; i++)
		if (!is_space_ascii((uint8_t)l[i]))
			return false;
	return true;
}

static char *dup_n(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* The next space-separated word of v[0..n) from *i: its start in *st, its length returned. */
static size_t next_word(const char *v, size_t n, size_t *i, size_t *st)
{
	while (*i < n && is_space_ascii((uint8_t)v[*i]))
		(*i)++;
	*st = *i;
	while (*i < n && !is_space_ascii((uint8_t)v[*i]))
		(*i)++;
	return *i - *st;
}

/* Parses a "userspace flags=" value. Returns false (and *why) on an unknown/unsupported flag. */
static bool parse_flags(const char *v, size_t n, unsigned *flags, const char **why)
{
	size_t i = 0;

	*flags = 0;
	while (i < n) {
		size_t st, len = next_word(v, n, &i, &st);

		if (!len)
			break;
#define FLAG_IS(s) (len == sizeof(s) - 1 && !memcmp(v + st, s, len))
		if (FLAG_IS("REG_ICASE"))
			*flags |= SIG_F_ICASE;
		else if (FLAG_IS("REG_NEWLINE"))
			*flags |= SIG_F_NEWLINE;
		else if (FLAG_IS("REG_EXTENDED") || FLAG_IS("REG_NOSUB"))
			; /* always ERE; no sub-matches are reported anyway */
		else if (FLAG_IS("REG_NOTBOL") || FLAG_IS("REG_NOTEOL")) {
			*why = "REG_NOTBOL/REG_NOTEOL are not supported";
			return false;
		} else {
			*why = "unknown flag in \"userspace flags=\"";
			return false;
		}
#undef FLAG_IS
	}
	return true;
}

enum pat_result { PAT_OK, PAT_PSEUDO, PAT_BAD, PAT_NOMEM };

/* "# Pattern attributes: good slow notsofast subset" -> quality, subset, overmatch */
static void parse_attributes(const char *v, size_t n, struct sig *s)
{
	static const char *const q[] = {"great", "good", "ok", "marginal", "poor"};
	bool have_q = false;
	size_t i = 0;

	while (i < n) {
		size_t st, len = next_word(v, n, &i, &st);

		if (!len)
			break;
		if (len == 6 && !memcmp(v + st, "subset", 6))
			s->subset = true;
		else if (len == 9 && !memcmp(v + st, "overmatch", 9))
			s->overmatch = true;
		else if (!have_q && len == 5 && !memcmp(v + st, "works", 5))
			s->quality = 2, have_q = true;
		for (unsigned k = 0; !have_q && k < sizeof(q) / sizeof(q[0]); k++)
			if (strlen(q[k]) == len && !memcmp(v + st, q[k], len))
				s->quality = k, have_q = true;
	}
}

/* KP_SIG_ORDER_ATTRIBUTES: overmatch last, subset first, then quality, then path. */
static int cmp_sig_attr(const void *a, const void *b)
{
	const struct sig *x = a, *y = b;

	if (x->overmatch != y->overmatch)
		return x->overmatch ? 1 : -1;
	if (x->subset != y->subset)
		return x->subset ? -1 : 1;
	if (x->quality != y->quality)
		return x->quality < y->quality ? -1 : 1;
	return x->path_rank < y->path_rank ? -1 : x->path_rank > y->path_rank;
}

/*
 * Parses one .pat file's text into *s (name, source, flags, line; not yet
 * translated). Reports problems to log.
 */
static enum pat_result parse_pat(const char *path, const char *text, size_t len, struct sig *s,
				 FILE *log)
{
	enum { WANT_NAME, WANT_PATTERN, EXTRA } st = WANT_NAME;
	const char *pat = NULL;
	size_t patlen = 0;
	unsigned line = 0, flags = SIG_F_ICASE, name_line = 0, flags_line = 0;
	const char *bad_flags = NULL;
	size_t off = 0;
	bool seen_attr = false;

	s->quality = 1;

	while (off < len) {
		const char *l = text + off;
		const char *nl = memchr(l, '\n', len - off);
		size_t n = nl ? (size_t)(nl - l) : len - off;

		off += n + (nl ? 1 : 0);
		line++;
		if (n && l[n - 1] == '\r')
			n--;
		if (line_is_comment(l, n)) {
			if (!seen_attr && n > 21 && !memcmp(l, "# Pattern attributes:", 21)) {
				seen_attr = true;
				parse_attributes(l + 21, n - 21, s);
			}
			continue;
		}
		if (st == WANT_NAME) {
			size_t w = 0;

			while (w < n && !is_space_ascii((uint8_t)l[w]))
				w++;
			bool ok = w < SIG_MAX_NAME;

			for (size_t k = 0; ok && k < w; k++)
				ok = (uint8_t)l[k] > 0x20 && (uint8_t)l[k] < 0x7f;
			if (!ok) {
				logf_(log, path, line, "error",
				      "bad protocol name (printable ASCII, at most %d bytes)",
				      SIG_MAX_NAME - 1);
				return PAT_BAD;
			}
			s->name = dup_n(l, w);
			if (!s->name)
				return PAT_NOMEM;
			name_line = line;
			st = WANT_PATTERN;
		} else if (st == WANT_PATTERN) {
			pat = l;
			patlen = n;
			s->line = line;
			st = EXTRA;
		} else {
			const char *eq = memchr(l, '=', n);
			size_t an;

			if (!eq) {
				logf_(log, path, line, "warning", "ignored extra line (no '=')");
				continue;
			}
			an = (size_t)(eq - l);
			if (an == 17 && !memcmp(l, "userspace pattern", 17)) {
				pat = eq + 1;
				patlen = n - an - 1;
				s->line = line;
			} else if (an == 15 && !memcmp(l, "userspace flags", 15)) {
				if (!parse_flags(eq + 1, n - an - 1, &flags, &bad_flags))
					flags_line = line;
				else
					flags_line = 0, bad_flags = NULL;
			} else {
				logf_(log, path, line, "warning", "ignored unknown attribute \"%.*s\"",
				      (int)(an > 40 ? 40 : an), l);
			}
		}
	}
	if (st == WANT_NAME) {
		logf_(log, path, line ? line : 1, "error", "no protocol name line");
		return PAT_BAD;
	}
	if (st == WANT_PATTERN) {
		logf_(log, path, name_line, "error", "no pattern line after protocol name \"%s\"",
		      s->name);
		return PAT_BAD;
	}
	if (bad_flags) {
		logf_(log, path, flags_line, "error", "%s", bad_flags);
		return PAT_BAD;
	}
	if (!strcmp(s->name, "unknown") || !strcmp(s->name, "unset")) {
		logf_(log, path, name_line, "note",
		      "\"%s\" is an l7-filter pseudo-protocol (matches everything), not loaded",
		      s->name);
		return PAT_PSEUDO;
	}
	s->source = dup_n(pat, patlen);
	s->flags = flags;
	return s->source ? PAT_OK : PAT_NOMEM;
}

static int read_file(const char *path, char **text, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	char *buf;
	size_t got = 0;
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0) {
		rc = -errno;
		goto out;
	}
	if (sb.st_size > SIG_MAX_FILE_BYTES) {
		rc = -EFBIG;
		goto out;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	while (got < (size_t)sb.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)sb.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	*text = buf;
	*len = got;
out:
	close(fd);
	return rc;
}

/* ---- directory walk ------------------------------------------------------------------------ */

struct pathlist {
	char **v;
	size_t n, cap;
};

static int pl_add(struct pathlist *pl, const char *p)
{
	if (pl->n >= SIG_MAX_FILES)
		return -E2BIG;
	if (pl->n == pl->cap) {
		size_t nc = pl->cap ? pl->cap * 2 : 64;
		char **nv = realloc(pl->v, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		pl->v = nv;
		pl->cap = nc;
	}
	pl->v[pl->n] = strdup(p);
	if (!pl->v[pl->n])
		return -ENOMEM;
	pl->n++;
	return 0;
}

static int walk(const char *root, const char *rel, unsigned depth, struct pathlist *pl)
{
	char full[4096];
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (snprintf(full, sizeof(full), "%s%s%s", root, *rel ? "/" : "", rel) >= (int)sizeof(full))
		return 0;
	d = opendir(full);
	if (!d)
		return depth == 0 ? -errno : 0;
	while (rc == 0 && (de = readdir(d))) {
		char r2[4096], f2[4096];
		struct stat sb;
		size_t nl = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		if (snprintf(r2, sizeof(r2), "%s%s%s", rel, *rel ? "/" : "", de->d_name) >=
			    (int)sizeof(r2) ||
		    snprintf(f2, sizeof(f2), "%s/%s", root, r2) >= (int)sizeof(f2))
			continue;
		if (stat(f2, &sb) < 0)
			continue;
		if (S_ISDIR(sb.st_mode)) {
			if (depth + 1 < SIG_MAX_DIR_DEPTH)
				rc = walk(root, r2, depth + 1, pl);
		} else if (S_ISREG(sb.st_mode) && nl > 4 && !strcmp(de->d_name + nl - 4, ".pat")) {
			rc = pl_add(pl, r2);
		}
	}
	closedir(d);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- engines ------------------------------------------------------------------------------- */

static uint32_t pcre_opts(unsigned flags)
{
	uint32_t o = PCRE2_NEVER_UTF | PCRE2_NEVER_UCP | PCRE2_NEVER_BACKSLASH_C | PCRE2_NO_AUTO_CAPTURE;

	if (flags & SIG_F_ICASE)
		o |= PCRE2_CASELESS;
	if (flags & SIG_F_NEWLINE)
		o |= PCRE2_MULTILINE;
	else
		o |= PCRE2_DOTALL;
	return o;
}

/* Compiles s->regex with PCRE2 (no JIT yet). Returns false with msg filled on failure. */
static bool pcre_compile_sig(struct sig *s, char *msg, size_t msz)
{
	int ec;
	PCRE2_SIZE eo;

	s->code = pcre2_compile((PCRE2_SPTR)s->regex, strlen(s->regex), pcre_opts(s->flags), &ec,
				&eo, NULL);
	if (!s->code) {
		PCRE2_UCHAR b[160];

		pcre2_get_error_message(ec, b, sizeof(b));
		snprintf(msg, msz, "pcre2: %s at offset %zu of \"%.200s\"", (char *)b, (size_t)eo,
			 s->regex);
		return false;
	}
	return true;
}

#ifdef HAVE_HYPERSCAN
static unsigned hs_flags(unsigned flags)
{
	unsigned f = HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY;

	if (flags & SIG_F_ICASE)
		f |= HS_FLAG_CASELESS;
	if (flags & SIG_F_NEWLINE)
		f |= HS_FLAG_MULTILINE;
	else
		f |= HS_FLAG_DOTALL;
	return f;
}

/*
 * Builds the Hyperscan database from every signature not yet marked use_pcre.
 * A pattern Hyperscan rejects is marked use_pcre (reported as a note) and the
 * database is rebuilt without it. Returns 0 or -errno.
 */
static int hs_build(struct kp_sigset *set, FILE *log)
{
	const char **ex = NULL;
	unsigned *fl = NULL, *ids = NULL;
	int rc = 0;
	bool isolated = false; /* patterns already compiled one by one */

	ex = calloc(set->n ? set->n : 1, sizeof(*ex));
	fl = calloc(set->n ? set->n : 1, sizeof(*fl));
	ids = calloc(set->n ? set->n : 1, sizeof(*ids));
	if (!ex || !fl || !ids) {
		rc = -ENOMEM;
		goto out;
	}
	for (;;) {
		hs_compile_error_t *cerr = NULL;
		unsigned k = 0;
		hs_error_t e;

		for (unsigned i = 0; i < set->n; i++) {
			if (set->sigs[i].use_pcre)
				continue;
			ex[k] = set->sigs[i].regex;
			fl[k] = hs_flags(set->sigs[i].flags);
			ids[k] = i;
			k++;
		}
		if (k == 0)
			break;
		e = hs_compile_multi(ex, fl, ids, k, HS_MODE_BLOCK, NULL, &set->db, &cerr);
		if (e == HS_SUCCESS) {
			size_t dbsz = 0;

			hs_free_compile_error(cerr);
			set->hs_first = ids[0];
			set->stats.hs_patterns = k;
			if (hs_database_size(set->db, &dbsz) == HS_SUCCESS)
				set->stats.mem_bytes += dbsz;
			break;
		}
		if ((!cerr || cerr->expression < 0 || (unsigned)cerr->expression >= k) && !isolated) {
			/*
			 * Not attributable to one pattern (e.g. "Resource limit exceeded"):
			 * compile each pattern alone, send the ones Hyperscan rejects to
			 * PCRE2, then try the database again.
			 */
			hs_free_compile_error(cerr);
			isolated = true;
			for (unsigned j = 0; j < k; j++) {
				hs_database_t *one = NULL;
				hs_compile_error_t *e1 = NULL;
				struct sig *s = &set->sigs[ids[j]];

				if (hs_compile(ex[j], fl[j], HS_MODE_BLOCK, NULL, &one, &e1) ==
				    HS_SUCCESS) {
					hs_free_database(one);
				} else {
					logf_(log, s->file, s->line, "note",
					      "hyperscan: %s; using PCRE2 for \"%s\"",
					      e1 && e1->message ? e1->message : "compile failed",
					      s->name);
					s->use_pcre = true;
				}
				hs_free_compile_error(e1);
			}
			continue;
		}
		if (!cerr || cerr->expression < 0 || (unsigned)cerr->expression >= k) {
			/* still failing as a whole: every pattern goes to PCRE2 */
			logf_(log, set->sigs[ids[0]].file, set->sigs[ids[0]].line, "note",
			      "hyperscan: %s; all patterns use PCRE2",
			      cerr && cerr->message ? cerr->message : "compile failed");
			hs_free_compile_error(cerr);
			for (unsigned i = 0; i < set->n; i++)
				set->sigs[i].use_pcre = true;
			set->db = NULL;
			break;
		}
		{
			struct sig *s = &set->sigs[ids[cerr->expression]];

			logf_(log, s->file, s->line, "note", "hyperscan: %s; using PCRE2 for \"%s\"",
			      cerr->message, s->name);
			s->use_pcre = true;
		}
		hs_free_compile_error(cerr);
	}
out:
	free(ex);
	free(fl);
	free(ids);
	return rc;
}
#endif

/* ---- public API ---------------------------------------------------------------------------- */

const char *kp_sig_engine_name(enum kp_sig_engine eng)
{
	switch (eng) {
	case KP_SIG_AUTO:
		return "auto";
	case KP_SIG_HYPERSCAN:
		return "hyperscan";
	case KP_SIG_PCRE2:
		return "pcre2";
	}
	return "?";
}

void kp_sigset_free(struct kp_sigset *set)
{
	if (!set)
		return;
	for (unsigned i = 0; i < set->n; i++)
		sig_clear(&set->sigs[i]);
	free(set->sigs);
	free(set->pcre_idx);
#ifdef HAVE_HYPERSCAN
	if (set->db)
		hs_free_database(set->db);
#endif
	free(set);
}

int kp_sigset_load(const char *dir, enum kp_sig_engine eng, struct kp_sigset **out, FILE *errlog)
{
	struct kp_sig_opts o = {.engine = eng, .order = KP_SIG_ORDER_PATH};

	return kp_sigset_load_opts(dir, &o, out, errlog);
}

int kp_sigset_load_opts(const char *dir, const struct kp_sig_opts *opts, struct kp_sigset **out,
			FILE *errlog)
{
	static const struct kp_sig_opts defaults = {KP_SIG_AUTO, KP_SIG_ORDER_PATH};
	struct pathlist pl = {0};
	struct kp_sigset *set;
	enum kp_sig_engine eng;
	int rc;
	double t0;

	*out = NULL;
	if (!opts)
		opts = &defaults;
	eng = opts->engine;
	if (eng == KP_SIG_AUTO) {
#ifdef HAVE_HYPERSCAN
		eng = KP_SIG_HYPERSCAN;
#else
		eng = KP_SIG_PCRE2;
#endif
	}
#ifndef HAVE_HYPERSCAN
	if (eng == KP_SIG_HYPERSCAN)
		return -ENOTSUP;
#endif
	set = calloc(1, sizeof(*set));
	if (!set)
		return -ENOMEM;
	set->engine = eng;
	rc = walk(dir, "", 0, &pl);
	if (rc < 0)
		goto fail;
	if (pl.n)
		qsort(pl.v, pl.n, sizeof(pl.v[0]), cmp_str);
	set->sigs = calloc(pl.n ? pl.n : 1, sizeof(*set->sigs));
	set->pcre_idx = calloc(pl.n ? pl.n : 1, sizeof(*set->pcre_idx));
	if (!set->sigs || !set->pcre_idx) {
		rc = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < pl.n; i++) {
		char full[4096], *text = NULL;
		size_t len = 0;
		struct sig *s = &set->sigs[set->n];
		const char *why;
		enum pat_result pr;

		snprintf(full, sizeof(full), "%s/%s", dir, pl.v[i]);
		set->stats.files++;
		rc = read_file(full, &text, &len);
		if (rc == -ENOMEM)
			goto fail;
		if (rc < 0) {
			logf_(errlog, full, 0, "error", "cannot read: %s", strerror(-rc));
			set->stats.skipped_parse++;
			continue;
		}
		pr = parse_pat(full, text, len, s, errlog);
		free(text);
		if (pr == PAT_OK) {
			s->file = strdup(full);
			if (!s->file)
				pr = PAT_NOMEM;
		}
		if (pr == PAT_NOMEM) {
			sig_clear(s);
			rc = -ENOMEM;
			goto fail;
		}
		if (pr != PAT_OK) {
			if (pr == PAT_PSEUDO)
				set->stats.pseudo++;
			else
				set->stats.skipped_parse++;
			sig_clear(s);
			continue;
		}
		s->regex = translate(s->source, strlen(s->source), s->flags, &why);
		if (!s->regex) {
			logf_(errlog, full, s->line, "error", "%s; pattern skipped", why);
			set->stats.skipped_parse++;
			sig_clear(s);
			continue;
		}
		s->use_pcre = (eng == KP_SIG_PCRE2);
		s->path_rank = set->n;
		set->n++;
	}
	if (opts->order == KP_SIG_ORDER_ATTRIBUTES && set->n > 1)
		qsort(set->sigs, set->n, sizeof(set->sigs[0]), cmp_sig_attr);
	t0 = now_ms();
	/*
	 * PCRE2 first, for every pattern: it validates the translation in
	 * milliseconds, so a pattern no engine accepts never reaches the (much
	 * slower) Hyperscan compiler, and the indexes are final before the
	 * database is built.
	 */
	{
		unsigned w = 0;

		for (unsigned i = 0; i < set->n; i++) {
			struct sig *s = &set->sigs[i];
			char msg[512];

			if (!pcre_compile_sig(s, msg, sizeof(msg))) {
				logf_(errlog, s->file, s->line, "error", "%s; pattern skipped", msg);
				set->stats.skipped_compile++;
				sig_clear(s);
				continue;
			}
			if (w != i)
				set->sigs[w] = *s;
			w++;
		}
		set->n = w;
	}
#ifdef HAVE_HYPERSCAN
	if (eng == KP_SIG_HYPERSCAN) {
		rc = hs_build(set, errlog);
		if (rc < 0)
			goto fail;
	}
#endif
	/* JIT for the PCRE2-matched patterns; the others drop their PCRE2 code */
	for (unsigned i = 0; i < set->n; i++) {
		struct sig *s = &set->sigs[i];
		size_t sz = 0;

		if (!s->use_pcre) {
			pcre2_code_free(s->code);
			s->code = NULL;
			continue;
		}
		pcre2_jit_compile(s->code, PCRE2_JIT_COMPLETE); /* else the interpreter runs */
		if (pcre2_pattern_info(s->code, PCRE2_INFO_SIZE, &sz) == 0)
			set->stats.mem_bytes += sz;
		sz = 0;
		if (pcre2_pattern_info(s->code, PCRE2_INFO_JITSIZE, &sz) == 0)
			set->stats.mem_bytes += sz;
	}
	set->stats.compile_ms = now_ms() - t0;
	for (unsigned i = 0; i < set->n; i++)
		if (set->sigs[i].use_pcre)
			set->pcre_idx[set->n_pcre++] = i;
	set->stats.pcre_patterns = set->n_pcre;
	set->stats.loaded = set->n;
	for (size_t i = 0; i < pl.n; i++)
		free(pl.v[i]);
	free(pl.v);
	*out = set;
	return 0;
fail:
	for (size_t i = 0; i < pl.n; i++)
		free(pl.v[i]);
	free(pl.v);
	kp_sigset_free(set);
	return rc;
}

unsigned kp_sigset_count(const struct kp_sigset *set)
{
	return set ? set->n : 0;
}

const struct kp_sig_stats *kp_sigset_stats(const struct kp_sigset *set)
{
	return &set->stats;
}

enum kp_sig_engine kp_sigset_engine(const struct kp_sigset *set)
{
	return set->engine;
}

static const struct sig *sig_at(const struct kp_sigset *set, int idx)
{
	if (!set || idx < 0 || (unsigned)idx >= set->n)
		return NULL;
	return &set->sigs[idx];
}

const char *kp_sigset_name(const struct kp_sigset *set, int idx)
{
	const struct sig *s = sig_at(set, idx);

	return s ? s->name : NULL;
}

const char *kp_sigset_file(const struct kp_sigset *set, int idx)
{
	const struct sig *s = sig_at(set, idx);

	return s ? s->file : NULL;
}

const char *kp_sigset_source(const struct kp_sigset *set, int idx)
{
	const struct sig *s = sig_at(set, idx);

	return s ? s->source : NULL;
}

int kp_sigset_caseless(const struct kp_sigset *set, int idx)
{
	const struct sig *s = sig_at(set, idx);

	return s ? !!(s->flags & SIG_F_ICASE) : 0;
}

enum kp_sig_engine kp_sigset_sig_engine(const struct kp_sigset *set, int idx)
{
	const struct sig *s = sig_at(set, idx);

	return s && !s->use_pcre ? KP_SIG_HYPERSCAN : KP_SIG_PCRE2;
}

void kp_sig_scratch_free(struct kp_sig_scratch *scr)
{
	if (!scr)
		return;
	pcre2_match_data_free(scr->md);
	pcre2_match_context_free(scr->mctx);
	pcre2_jit_stack_free(scr->jstack);
#ifdef HAVE_HYPERSCAN
	if (scr->hs)
		hs_free_scratch(scr->hs);
#endif
	free(scr);
}

struct kp_sig_scratch *kp_sig_scratch_new(const struct kp_sigset *set)
{
	struct kp_sig_scratch *scr = calloc(1, sizeof(*scr));

	if (!scr)
		return NULL;
	scr->md = pcre2_match_data_create(1, NULL);
	scr->mctx = pcre2_match_context_create(NULL);
	scr->jstack = pcre2_jit_stack_create(32 * 1024, 1024 * 1024, NULL);
	if (!scr->md || !scr->mctx || !scr->jstack)
		goto fail;
	pcre2_jit_stack_assign(scr->mctx, NULL, scr->jstack);
	pcre2_set_match_limit(scr->mctx, SIG_PCRE_MATCH_LIMIT);
	pcre2_set_depth_limit(scr->mctx, SIG_PCRE_DEPTH_LIMIT);
#ifdef HAVE_HYPERSCAN
	if (set && set->db && hs_alloc_scratch(set->db, &scr->hs) != HS_SUCCESS)
		goto fail;
#else
	(void)set;
#endif
	return scr;
fail:
	kp_sig_scratch_free(scr);
	return NULL;
}

unsigned long kp_sig_scratch_limit_hits(const struct kp_sig_scratch *scr)
{
	return scr->limit_hits;
}

#ifdef HAVE_HYPERSCAN
struct hs_ctx {
	unsigned best;
	unsigned first;
	uint8_t *hit; /* kp_sigset_match_all: every id, no early stop */
	unsigned nhit;
};

static int hs_on_match(unsigned int id, unsigned long long from, unsigned long long to,
		       unsigned int flags, void *ctx)
{
	struct hs_ctx *c = ctx;

	(void)from;
	(void)to;
	(void)flags;
	if (c->hit) {
		if (!c->hit[id])
			c->nhit++;
		c->hit[id] = 1;
		return 0;
	}
	if (id < c->best)
		c->best = id;
	return id == c->first; /* nothing can beat the lowest id: stop */
}
#endif

int kp_sigset_match(const struct kp_sigset *set, struct kp_sig_scratch *scr, const uint8_t *buf,
		    size_t len)
{
	static const uint8_t empty[1];
	unsigned best = ~0u;

	if (!set || !scr)
		return -1;
	if (!buf)
		buf = empty, len = 0;
#ifdef HAVE_HYPERSCAN
	if (set->db && scr->hs) {
		struct hs_ctx c = {~0u, set->hs_first, NULL, 0};

		hs_scan(set->db, (const char *)buf, (unsigned)(len > 0xffffffffu ? 0xffffffffu : len), 0,
			scr->hs, hs_on_match, &c);
		best = c.best;
	}
#endif
	for (unsigned k = 0; k < set->n_pcre; k++) {
		unsigned i = set->pcre_idx[k];
		int r;

		if (i >= best)
			break;
		r = pcre2_match(set->sigs[i].code, buf, len, 0, 0, scr->md, scr->mctx);
		if (r >= 0) {
			best = i;
			break;
		}
		if (r != PCRE2_ERROR_NOMATCH)
			scr->limit_hits++;
	}
	return best == ~0u ? -1 : (int)best;
}

unsigned kp_sigset_match_all(const struct kp_sigset *set, struct kp_sig_scratch *scr,
			     const uint8_t *buf, size_t len, uint8_t *hit)
{
	static const uint8_t empty[1];
	unsigned n = 0;

	if (!set || !scr)
		return 0;
	memset(hit, 0, set->n);
	if (!buf)
		buf = empty, len = 0;
#ifdef HAVE_HYPERSCAN
	if (set->db && scr->hs) {
		struct hs_ctx c = {~0u, set->hs_first, hit, 0};

		hs_scan(set->db, (const char *)buf, (unsigned)(len > 0xffffffffu ? 0xffffffffu : len), 0,
			scr->hs, hs_on_match, &c);
		n = c.nhit;
	}
#endif
	for (unsigned k = 0; k < set->n_pcre; k++) {
		unsigned i = set->pcre_idx[k];
		int r = pcre2_match(set->sigs[i].code, buf, len, 0, 0, scr->md, scr->mctx);

		if (r >= 0) {
			hit[i] = 1;
			n++;
		} else if (r != PCRE2_ERROR_NOMATCH) {
			scr->limit_hits++;
		}
	}
	return n;
}

size_t kp_sig_buf_append(uint8_t *buf, size_t *len, size_t cap, const uint8_t *src, size_t n)
{
	size_t added = 0;

	for (size_t i = 0; i < n && *len < cap; i++) {
		if (src[i] == 0)
			continue;
		buf[(*len)++] = src[i];
		added++;
	}
	return added;
}
