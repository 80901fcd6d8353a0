/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Direct Connect: NMDC and ADC. NMDC (hub and client-client) is text commands
 * "$Cmd args" each closed by '|'; a hub opens with "$Lock EXTENDEDPROTOCOL...",
 * a client-client connection with "$MyNick x|$Lock ...|". ADC is lines closed
 * by '\n' with a four-letter command ("HSUP ADBASE ADTIGR", "ISUP ...",
 * "CSUP ...", "BINF ...", "IINF ..."). UDP: NMDC search results "$SR ...|" and
 * ADC "URES <cid> ..." / "UINF <cid> ...". The probe verifies the first
 * command's keyword, its character set and its terminator; the parser learns
 * the user's nick and the hub's name. When files are wanted it goes on and reports
 * the searches a client sends (ADC BSCH/DSCH/FSCH AN terms or TR hash, NMDC
 * $Search), search results (ADC URES/DRES FN SI TR, NMDC $SR, TCP or UDP) and the
 * files of client-client transfers (CGET/$ADCGET name, then CSND/$ADCSND and the
 * len bytes that follow it, inflated when the transfer is compressed (ZL1); answers
 * of type "list"/"tthl" are skipped as body, not reported).
 */
#include "app/app.h"
#include "app/base32.h"
#include "app/zstream.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "content/content.h"
#include "output/json.h"

#define DC_CMD_MAX 1024 /* longest first command the probe waits for */
#define DC_LINE_MAX 1024
#define DC_NAME_MAX 512
#define DC_TEXT_MAX 512

struct dc_state {
	uint8_t proto; /* 1 NMDC, 2 ADC */
	bool udp;
	bool extended; /* "$Lock EXTENDEDPROTOCOL" */
	char nick[64];
	char peer_nick[64];
	char hub[128];
	uint32_t cmds;
	char line[2][DC_LINE_MAX];
	uint16_t line_len[2];
	bool line_over[2];
	bool dead[2];
	/* Content (files wanted): the name last asked for by CGET/$ADCGET, and a body in flight. */
	char get_name[DC_NAME_MAX];
	uint16_t get_name_len;
	uint64_t body_left[2];
	struct kp_file *body[2];
	z_stream *z[2]; /* a ZL1 (zlib) body: inflated until its stream ends */
	uint32_t searches, results, files;
};

static const char *const nmdc_first[] = {
    "$Lock ",	      "$MyNick ", "$Supports ", "$Key ",
    "$ValidateNick ", "$Hello ",  "$HubName ",	"$MyINFO ",
};

static bool is_upper_or_digit(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_base32(uint8_t c) { return (c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7'); }

/* NMDC: one '$' command closed by '|'. */
static enum kp_probe_result nmdc_check(const uint8_t *b, size_t len, unsigned *conf)
{
	const char *kw = NULL;
	size_t i, n = 0;
	bool key;

	for (i = 0; i < sizeof(nmdc_first) / sizeof(nmdc_first[0]); i++) {
		n = strlen(nmdc_first[i]);
		if (len < n && memcmp(b, nmdc_first[i], len) == 0)
			return KP_PROBE_NEED_MORE;
		if (kp_starts(b, len, nmdc_first[i])) {
			kw = nmdc_first[i];
			break;
		}
	}
	if (!kw)
		return KP_PROBE_EXCLUDE;
	key = kw[1] == 'K';
	for (i = n; i < len && i < DC_CMD_MAX; i++) {
		uint8_t c = b[i];

		if (c == '|') {
			if (i == n)
				return KP_PROBE_EXCLUDE; /* empty argument */
			*conf = KP_CONF_HIGH;
			return KP_PROBE_MATCH;
		}
		if (c == 0 || (!key && c < 0x20 && c != '\t' && c != 0x05))
			return KP_PROBE_EXCLUDE;
	}
	return i >= DC_CMD_MAX ? KP_PROBE_EXCLUDE : KP_PROBE_NEED_MORE;
}

/* ADC: "?SUP AD.... AD....\n" with H, C or I as the message type. */
static enum kp_probe_result adc_check(const uint8_t *b, size_t len, unsigned *conf)
{
	static const char *const first[] = {"HSUP ", "CSUP ", "ISUP "};
	size_t i, k;
	bool found = false;

	for (k = 0; k < 3; k++) {
		if (len < 5 && memcmp(b, first[k], len) == 0)
			return KP_PROBE_NEED_MORE;
		if (kp_starts(b, len, first[k]))
			found = true;
	}
	if (!found)
		return KP_PROBE_EXCLUDE;
	/* Tokens: "AD" or "RM" + 4 upper-case letters/digits, separated by one space. */
	i = 5;
	for (k = 0; k < 32; k++) {
		if (i + 6 > len)
			return len < 256 ? KP_PROBE_NEED_MORE : KP_PROBE_EXCLUDE;
		if (!((b[i] == 'A' && b[i + 1] == 'D') || (b[i] == 'R' && b[i + 1] == 'M')))
			return KP_PROBE_EXCLUDE;
		for (size_t t = 2; t < 6; t++)
			if (!is_upper_or_digit(b[i + t]))
				return KP_PROBE_EXCLUDE;
		i += 6;
		if (i >= len)
			return KP_PROBE_NEED_MORE;
		if (b[i] == '\n') {
			*conf = KP_CONF_HIGH;
			return KP_PROBE_MATCH;
		}
		if (b[i] != ' ')
			return KP_PROBE_EXCLUDE;
		i++;
	}
	return KP_PROBE_EXCLUDE;
}

static enum kp_probe_result dc_dir(const uint8_t *b, size_t len, unsigned *conf)
{
	if (len == 0)
		return KP_PROBE_NEED_MORE;
	if (b[0] == '$')
		return nmdc_check(b, len, conf);
	return adc_check(b, len, conf);
}

/* UDP: "$SR nick path\x05size slots\x05hub (ip:port)|" or "URES/UINF <39-char CID> ...\n". */
static bool dc_udp(const uint8_t *b, size_t len)
{
	if (kp_starts(b, len, "$SR ")) {
		if (b[len - 1] != '|' || !memchr(b, 0x05, len))
			return false;
		for (size_t i = 4; i + 1 < len; i++)
			if (b[i] == '|' || b[i] == 0)
				return false;
		return true;
	}
	if (kp_starts(b, len, "URES ") || kp_starts(b, len, "UINF ")) {
		if (len < 5 + 39 + 1 || b[len - 1] != '\n')
			return false;
		for (size_t i = 5; i < 5 + 39; i++)
			if (!is_base32(b[i]))
				return false;
		return b[5 + 39] == ' ' || b[5 + 39] == '\n';
	}
	return false;
}

static enum kp_probe_result dc_probe(const struct kp_app_ctx *ctx, struct kp_match *m)
{
	unsigned conf = 0;
	enum kp_probe_result r[2];

	if (ctx->l4 == IPPROTO_UDP) {
		const uint8_t *b = ctx->data ? ctx->data : ctx->buf[ctx->dir];
		size_t len = ctx->data ? ctx->len : ctx->buf_len[ctx->dir];

		if (!dc_udp(b, len))
			return KP_PROBE_EXCLUDE;
		m->app = KP_APP_DIRECTCONNECT;
		m->confidence = KP_CONF_HIGH;
		return KP_PROBE_MATCH;
	}
	if (ctx->l4 != IPPROTO_TCP)
		return KP_PROBE_EXCLUDE;
	/* Either side may speak first: the hub (NMDC $Lock) or the client (ADC HSUP). */
	for (unsigned d = 0; d < 2; d++)
		r[d] = dc_dir(ctx->buf[d], ctx->buf_len[d], &conf);
	if (r[0] == KP_PROBE_EXCLUDE || r[1] == KP_PROBE_EXCLUDE) {
		/* Whoever spoke first decides: an unparsable answer does not undo a match. */
		unsigned first = ctx->buf_len[0] ? 0 : 1;

		if (r[first] != KP_PROBE_MATCH)
			return KP_PROBE_EXCLUDE;
	}
	if (r[0] == KP_PROBE_MATCH || r[1] == KP_PROBE_MATCH) {
		m->app = KP_APP_DIRECTCONNECT;
		m->confidence = (uint8_t)conf;
		return KP_PROBE_MATCH;
	}
	return KP_PROBE_NEED_MORE;
}

static void set_str(char *dst, size_t cap, const char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		char c = s[i];

		if (c == '\\' && i + 1 < n) { /* ADC escapes */
			i++;
			c = s[i] == 's' ? ' ' : s[i] == 'n' ? '\n' : s[i];
		}
		dst[o++] = c;
	}
	dst[o] = 0;
}

/* Length of the first space-separated token of s. */
static size_t token_len(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && s[i] != ' ')
		i++;
	return i;
}

static void nmdc_cmd(struct dc_state *st, unsigned dir, const char *c, size_t n)
{
	const uint8_t *u = (const uint8_t *)c;

	if (kp_starts(u, n, "$Lock EXTENDEDPROTOCOL"))
		st->extended = true;
	if (kp_starts(u, n, "$MyNick ")) {
		if (dir == KP_DIR_TOSERVER)
			set_str(st->nick, sizeof(st->nick), c + 8, n - 8);
		else
			set_str(st->peer_nick, sizeof(st->peer_nick), c + 8, n - 8);
	} else if (kp_starts(u, n, "$ValidateNick ") && dir == KP_DIR_TOSERVER) {
		set_str(st->nick, sizeof(st->nick), c + 14, n - 14);
	} else if (kp_starts(u, n, "$Hello ") && dir == KP_DIR_TOCLIENT && !st->nick[0]) {
		set_str(st->nick, sizeof(st->nick), c + 7, n - 7);
	} else if (kp_starts(u, n, "$HubName ") && dir == KP_DIR_TOCLIENT) {
		set_str(st->hub, sizeof(st->hub), c + 9, n - 9);
	}
}

/* ADC: "BINF <sid> ... NI<nick> ..." from the client, "IINF ... NI<hub name>" from the hub. */
static void adc_cmd(struct dc_state *st, unsigned dir, const char *c, size_t n)
{
	const uint8_t *u = (const uint8_t *)c;
	bool binf = kp_starts(u, n, "BINF ") && dir == KP_DIR_TOSERVER;
	bool iinf = kp_starts(u, n, "IINF ") && dir == KP_DIR_TOCLIENT;
	size_t i = 5;

	if (!binf && !iinf)
		return;
	while (i < n) {
		size_t t = token_len(c + i, n - i);

		if (t > 2 && c[i] == 'N' && c[i + 1] == 'I') {
			if (binf)
				set_str(st->nick, sizeof(st->nick), c + i + 2, t - 2);
			else
				set_str(st->hub, sizeof(st->hub), c + i + 2, t - 2);
			return;
		}
		i += t + 1;
	}
}

/* ---- content (files wanted) ------------------------------------------------ */

/* ADC unescape (\s space, \n newline, \\ backslash) into out; returns the length. */
static size_t adc_unescape(char *out, size_t cap, const char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o < cap; i++) {
		char c = s[i];

		if (c == '\\' && i + 1 < n) {
			i++;
			c = s[i] == 's' ? ' ' : s[i] == 'n' ? '\n' : s[i];
		}
		out[o++] = c;
	}
	return o;
}

static uint64_t dec_u64(const char *s, size_t n, bool *ok)
{
	uint64_t v = 0;

	*ok = n > 0 && n <= 19;
	for (size_t i = 0; i < n && *ok; i++) {
		if (s[i] < '0' || s[i] > '9')
			*ok = false;
		else
			v = v * 10 + (uint64_t)(s[i] - '0');
	}
	return v;
}

/* The n-th (0-based) space-separated token of c[0..len) from `from`; false if none. */
static bool nth_token(const char *c, size_t len, size_t from, unsigned nth, const char **t,
		      size_t *tn)
{
	size_t i = from;

	for (;;) {
		size_t k = i < len ? token_len(c + i, len - i) : 0;

		if (i >= len)
			return false;
		if (nth-- == 0) {
			*t = c + i;
			*tn = k;
			return true;
		}
		i += k + 1;
	}
}

/* ADC "URES/DRES ... FN<path> SI<size> TR<tth>": a search result. */
static void adc_result(struct kp_app_ctx *ctx, struct dc_state *st, const char *c, size_t n)
{
	const char *fn = NULL, *tr = NULL;
	size_t fnl = 0, trl = 0, i = 5;
	uint64_t size = KP_FILE_SIZE_UNKNOWN;
	uint8_t tth[24];
	char name[DC_NAME_MAX];
	size_t nl;
	bool have_tth, ok;

	while (i < n) {
		size_t t = token_len(c + i, n - i);

		if (t >= 2 && c[i] == 'F' && c[i + 1] == 'N') {
			fn = c + i + 2;
			fnl = t - 2;
		} else if (t >= 2 && c[i] == 'S' && c[i + 1] == 'I') {
			uint64_t v = dec_u64(c + i + 2, t - 2, &ok);

			if (ok)
				size = v;
		} else if (t >= 2 && c[i] == 'T' && c[i + 1] == 'R') {
			tr = c + i + 2;
			trl = t - 2;
		}
		i += t + 1;
	}
	if (!fn && !tr)
		return;
	nl = fn ? adc_unescape(name, sizeof(name), fn, fnl) : 0;
	have_tth = tr && kp_base32_decode(tr, trl, tth, sizeof(tth));
	kp_app_file_listed(ctx, "search_result", name, nl, size,
			   have_tth ? KP_HASH_TTH : KP_HASH_NONE, have_tth ? tth : NULL,
			   have_tth ? sizeof(tth) : 0);
	st->results++;
}

/* ADC "BSCH/DSCH/FSCH <sid> ... AN<term> ... [TR<tth>]": the terms joined by spaces. */
static void adc_search(struct kp_app_ctx *ctx, struct dc_state *st, const char *c, size_t n)
{
	char text[DC_TEXT_MAX];
	size_t o = 0, i = 5;
	const char *tr = NULL;
	size_t trl = 0;

	while (i < n) {
		size_t t = token_len(c + i, n - i);

		if (t > 2 && c[i] == 'A' && c[i + 1] == 'N' && o + 1 < sizeof(text)) {
			if (o)
				text[o++] = ' ';
			o += adc_unescape(text + o, sizeof(text) - o, c + i + 2, t - 2);
		} else if (t > 2 && c[i] == 'T' && c[i + 1] == 'R') {
			tr = c + i + 2;
			trl = t - 2;
		}
		i += t + 1;
	}
	if (!o && tr) { /* a search by hash: "TTH:<base32>" */
		memcpy(text, "TTH:", 4);
		o = 4;
		if (trl > sizeof(text) - o)
			trl = sizeof(text) - o;
		memcpy(text + o, tr, trl);
		o += trl;
	}
	if (o) {
		kp_app_search(ctx, text, o);
		st->searches++;
	}
}

/*
 * "CGET/CSND file <name> <start> <len> [flags]" (ADC) or "$ADCGET/$ADCSND ..."
 * (NMDC): a GET remembers the name; a SND opens the body of len bytes that
 * follows in the sender's direction (a zlib stream when flagged ZL1).
 */
static void dc_transfer(struct kp_app_ctx *ctx, struct dc_state *st, unsigned dir, const char *c,
			size_t n, size_t args, bool snd, bool nmdc)
{
	const char *type, *name, *start, *len, *flag;
	size_t typel, namel, startl, lenl, flagl;
	char buf[DC_NAME_MAX];
	size_t bl;
	uint64_t off, size;
	bool ok1, ok2, zl = false;

	if (!nth_token(c, n, args, 0, &type, &typel) || !nth_token(c, n, args, 1, &name, &namel) ||
	    !nth_token(c, n, args, 2, &start, &startl) || !nth_token(c, n, args, 3, &len, &lenl))
		return;
	for (unsigned k = 4; nth_token(c, n, args, k, &flag, &flagl) && k < 16; k++)
		zl |= flagl == 3 && memcmp(flag, "ZL1", 3) == 0;
	(void)nmdc; /* $ADCGET/$ADCSND names use the ADC escapes too */
	bl = adc_unescape(buf, sizeof(buf), name, namel);
	if (!snd) {
		memcpy(st->get_name, buf, bl);
		st->get_name_len = (uint16_t)bl;
		return;
	}
	off = dec_u64(start, startl, &ok1);
	size = dec_u64(len, lenl, &ok2);
	if (!ok1 || !ok2 || size == 0 || st->body[dir] || st->z[dir])
		return;
	if (zl) {
		st->z[dir] = kp_zstream_new(MAX_WBITS);
		if (!st->z[dir]) {
			st->dead[dir] = true; /* the compressed bytes cannot be followed */
			return;
		}
	}
	if (typel != 4 || memcmp(type, "file", 4) != 0) {
		/* "list" / "tthl" answers: skipped as body, not reported as a file */
		st->body_left[dir] = size;
		return;
	}
	/* The name the GET asked for (the SND repeats it). */
	if (st->get_name_len) {
		bl = st->get_name_len;
		memcpy(buf, st->get_name, bl);
	}
	st->body[dir] = kp_app_file_open(ctx, (int)dir, buf, bl, size, off);
	st->body_left[dir] = size;
	if (st->body[dir]) {
		uint8_t tth[24];

		if (bl == 4 + 39 && memcmp(buf, "TTH/", 4) == 0 &&
		    kp_base32_decode(buf + 4, 39, tth, sizeof(tth)))
			kp_app_file_hash(ctx, st->body[dir], KP_HASH_TTH, tth, sizeof(tth));
		st->files++;
	}
}

/* NMDC "$Search <who> F?T?0?9?pattern" (pattern words joined by '$'). */
static void nmdc_search(struct kp_app_ctx *ctx, struct dc_state *st, const char *c, size_t n)
{
	const char *t;
	size_t tn, q = 0;
	char text[DC_TEXT_MAX];
	size_t o = 0;

	if (!nth_token(c, n, 8, 1, &t, &tn))
		return;
	/* t = "F?T?0?1?pattern": four '?' separated fields before the pattern */
	for (unsigned k = 0; k < 4; k++) {
		const char *qm = memchr(t + q, '?', tn - q);

		if (!qm)
			return;
		q = (size_t)(qm - t) + 1;
	}
	/* the rest of the command (the pattern may contain spaces in some clients) */
	tn = (size_t)(c + n - t);
	for (size_t i = q; i < tn && o < sizeof(text); i++)
		text[o++] = t[i] == '$' ? ' ' : t[i];
	if (o) {
		kp_app_search(ctx, text, o);
		st->searches++;
	}
}

/* NMDC "$SR nick path\x05size slots\x05TTH:hash (ip:port)": a search result. */
static void nmdc_result(struct kp_app_ctx *ctx, struct dc_state *st, const char *c, size_t n)
{
	const char *p = memchr(c + 4, ' ', n - 4), *e1, *sp, *e2;
	uint64_t size = KP_FILE_SIZE_UNKNOWN;
	uint8_t tth[24];
	bool have_tth = false, ok;

	if (!p)
		return;
	p++;
	e1 = memchr(p, 0x05, (size_t)(c + n - p));
	if (!e1)
		return;
	sp = memchr(e1 + 1, ' ', (size_t)(c + n - e1 - 1));
	if (sp) {
		uint64_t v = dec_u64(e1 + 1, (size_t)(sp - e1 - 1), &ok);

		if (ok)
			size = v;
		e2 = memchr(sp, 0x05, (size_t)(c + n - sp));
		if (e2 && c + n - e2 > 4 + 39 && memcmp(e2 + 1, "TTH:", 4) == 0)
			have_tth = kp_base32_decode(e2 + 5, 39, tth, sizeof(tth));
	}
	kp_app_file_listed(ctx, "search_result", p, (size_t)(e1 - p), size,
			   have_tth ? KP_HASH_TTH : KP_HASH_NONE, have_tth ? tth : NULL,
			   have_tth ? sizeof(tth) : 0);
	st->results++;
}

static void dc_content(struct kp_app_ctx *ctx, struct dc_state *st, unsigned dir, const char *c,
		       size_t n)
{
	const uint8_t *u = (const uint8_t *)c;
	/* On a hub connection the hub relays every user's search (and echoes ours): only
	 * the searches this client sends count as this flow's. */
	bool own = ctx->l4 != IPPROTO_TCP || dir == KP_DIR_TOSERVER;

	if (st->proto == 2) {
		if (n < 5 || c[4] != ' ')
			return;
		if (memcmp(c + 1, "SCH", 3) == 0 &&
		    (c[0] == 'B' || c[0] == 'D' || c[0] == 'F' || c[0] == 'E')) {
			if (own)
				adc_search(ctx, st, c, n);
		} else if (memcmp(c + 1, "RES", 3) == 0 && (c[0] == 'D' || c[0] == 'U')) {
			adc_result(ctx, st, c, n);
		} else if (kp_starts(u, n, "CGET ")) {
			dc_transfer(ctx, st, dir, c, n, 5, false, false);
		} else if (kp_starts(u, n, "CSND ")) {
			dc_transfer(ctx, st, dir, c, n, 5, true, false);
		}
		return;
	}
	if (kp_starts(u, n, "$Search ")) {
		if (own)
			nmdc_search(ctx, st, c, n);
	} else if (kp_starts(u, n, "$SR ")) {
		nmdc_result(ctx, st, c, n);
	} else if (kp_starts(u, n, "$ADCGET ")) {
		dc_transfer(ctx, st, dir, c, n, 8, false, true);
	} else if (kp_starts(u, n, "$ADCSND ")) {
		dc_transfer(ctx, st, dir, c, n, 8, true, true);
	}
}

/* The end of a body: the file (if one was opened) is closed. */
static void dc_body_end(struct kp_app_ctx *ctx, struct dc_state *st, unsigned d,
			enum kp_file_end how)
{
	if (st->body[d])
		kp_app_file_close(ctx, st->body[d], how);
	st->body[d] = NULL;
	st->body_left[d] = 0;
	kp_zstream_free(&st->z[d]);
}

/*
 * A ZL1 body: p[0..n) inflated into the file (at most the announced length).
 * Returns the input bytes that belonged to the stream; the rest are commands.
 */
static size_t dc_zbody(struct kp_app_ctx *ctx, struct dc_state *st, unsigned d, const uint8_t *p,
		       size_t n)
{
	z_stream *z = st->z[d];
	uint8_t out[16384];
	int r;

	z->next_in = (Bytef *)(uintptr_t)p;
	z->avail_in = (uInt)n;
	for (;;) {
		size_t got, use;

		z->next_out = out;
		z->avail_out = sizeof(out);
		r = inflate(z, Z_NO_FLUSH);
		got = sizeof(out) - z->avail_out;
		use = got < st->body_left[d] ? got : (size_t)st->body_left[d];
		if (use && st->body[d])
			kp_app_file_data(ctx, st->body[d], out, use);
		st->body_left[d] -= use;
		if (r == Z_STREAM_END) {
			size_t used = n - z->avail_in;

			dc_body_end(ctx, st, d,
				    st->body_left[d] ? KP_FILE_END_TRUNCATED
						     : KP_FILE_END_COMPLETE);
			return used;
		}
		if ((r != Z_OK && r != Z_BUF_ERROR) || got > use) {
			/* not zlib, or more than announced: stop following this direction */
			dc_body_end(ctx, st, d, KP_FILE_END_TRUNCATED);
			st->dead[d] = true;
			return n;
		}
		if (z->avail_in == 0 && z->avail_out != 0)
			return n;
		if (got == 0)
			return n;
	}
}

static void dc_line(struct kp_app_ctx *ctx, struct dc_state *st, unsigned d, bool content)
{
	if (st->line_over[d])
		return;
	if (st->proto == 1)
		nmdc_cmd(st, d, st->line[d], st->line_len[d]);
	else
		adc_cmd(st, d, st->line[d], st->line_len[d]);
	if (content)
		dc_content(ctx, st, d, st->line[d], st->line_len[d]);
}

static enum kp_parse_result dc_parse(struct kp_app_ctx *ctx, void *state)
{
	struct dc_state *st = state;
	unsigned d = ctx->dir & 1;
	bool content = kp_app_files_wanted(ctx);

	if (ctx->l4 == IPPROTO_UDP) {
		st->udp = true;
		if (ctx->len && ctx->data[0] == '$') {
			st->proto = 1;
			/* "$SR nick ..." */
			if (kp_starts(ctx->data, ctx->len, "$SR ") && !st->nick[0])
				set_str(st->nick, sizeof(st->nick), (const char *)ctx->data + 4,
					token_len((const char *)ctx->data + 4, ctx->len - 4));
		} else {
			st->proto = 2;
		}
		if (!content)
			return KP_PARSE_DONE;
		/* one datagram = one or more commands */
		for (size_t i = 0; i < ctx->len;) {
			const uint8_t *e =
			    memchr(ctx->data + i, st->proto == 1 ? '|' : '\n', ctx->len - i);
			size_t n = e ? (size_t)(e - ctx->data) - i : ctx->len - i;

			dc_content(ctx, st, d, (const char *)ctx->data + i, n);
			i += n + 1;
		}
		return KP_PARSE_MORE;
	}
	if (ctx->gap) {
		if (st->body[d])
			kp_app_file_gap(ctx, st->body[d], 0);
		dc_body_end(ctx, st, d, KP_FILE_END_TRUNCATED);
		st->dead[d] = true;
	}
	for (size_t i = 0; i < ctx->len && !st->dead[d]; i++) {
		uint8_t ch = ctx->data[i];

		if (st->z[d]) {
			i += dc_zbody(ctx, st, d, ctx->data + i, ctx->len - i) - 1;
			continue;
		}
		if (st->body_left[d]) {
			size_t n = ctx->len - i;

			if (n > st->body_left[d])
				n = (size_t)st->body_left[d];
			if (st->body[d])
				kp_app_file_data(ctx, st->body[d], ctx->data + i, n);
			st->body_left[d] -= n;
			i += n - 1;
			if (!st->body_left[d] && st->body[d]) {
				kp_app_file_close(ctx, st->body[d], KP_FILE_END_COMPLETE);
				st->body[d] = NULL;
			}
			continue;
		}
		if (!st->proto && st->line_len[d] == 0)
			st->proto = ch == '$' ? 1 : 2;
		if ((st->proto == 1 && ch == '|') || (st->proto == 2 && ch == '\n')) {
			dc_line(ctx, st, d, content);
			st->line_len[d] = 0;
			st->line_over[d] = false;
			if (++st->cmds >= 64 && !content)
				return KP_PARSE_DONE;
		} else if (st->line_len[d] < DC_LINE_MAX) {
			st->line[d][st->line_len[d]++] = (char)ch;
		} else {
			st->line_over[d] = true;
		}
	}
	if (st->dead[0] && st->dead[1])
		return KP_PARSE_DONE;
	return KP_PARSE_MORE;
}

static void dc_free(void *state)
{
	struct dc_state *st = state;

	kp_zstream_free(&st->z[0]);
	kp_zstream_free(&st->z[1]);
}

static void dc_json(const void *state, const struct kp_flow *f, struct kp_json *j)
{
	const struct dc_state *st = state;

	(void)f;
	kp_json_obj(j, "directconnect");
	kp_json_str(j, "protocol", st->proto == 2 ? "adc" : "nmdc");
	if (st->nick[0])
		kp_json_str(j, "nick", st->nick);
	if (st->peer_nick[0])
		kp_json_str(j, "peer_nick", st->peer_nick);
	if (st->hub[0])
		kp_json_str(j, "hub", st->hub);
	if (st->extended)
		kp_json_bool(j, "extended", true);
	if (st->searches)
		kp_json_u64(j, "searches", st->searches);
	if (st->results)
		kp_json_u64(j, "search_results", st->results);
	if (st->files)
		kp_json_u64(j, "files", st->files);
	kp_json_end(j);
}

const struct kp_app_module kp_mod_directconnect = {
    .name = "directconnect",
    .l4 = KP_L4_TCP | KP_L4_UDP,
    .port_hints = {411, 412, 1511, 0},
    .probe = dc_probe,
    .state_size = sizeof(struct dc_state),
    .parse = dc_parse,
    .free_state = dc_free,
    .json = dc_json,
};
