/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MSN Messenger (MSNP, notification and switchboard servers). Each MSNP line
 * is a three-letter upper-case command, a transaction id and arguments:
 * "VER 1 MSNP8 CVR0", "CVR 2 0x0409 ...", "USR 3 TWN I user@example.com",
 * "ANS 1 user@example.com <session> <cookie>", "XFR 4 NS ...". "MSG" lines
 * carry a byte count and a MIME payload ("MSG user nick 123" then
 * "MIME-Version: 1.0").
 *
 * The probe matches VER naming MSNP (in either direction), a MSG line whose
 * payload starts with MIME-Version, or CVR/USR/ANS/XFR answered by the server
 * with the same transaction id. The parser keeps the negotiated version (the
 * server's VER answer, else the client's first offer) and the account (USR I,
 * ANS), skips MSG payloads by their length and stops after a few dozen lines.
 */
#include "app/app.h"
#include "app/linebuf.h"
#include "output/json.h"

#include <netinet/in.h>
#include <string.h>

#define MSN_MAX_LINES 64

struct msn_state {
	struct kp_linebuf lb[2];
	uint16_t lines;
	uint8_t dir; /* direction of the line being parsed */
	bool done;
	char version[16];  /* from the server's VER */
	char cversion[16]; /* first version the client offered */
	char user[96];
};

/* "CMD trid ..." with CMD three upper-case letters; returns the trid's length (0: not). */
static size_t msn_cmd(const uint8_t *l, size_t n)
{
	size_t i = 4;

	if (n < 5 || l[3] != ' ')
		return 0;
	for (int k = 0; k < 3; k++)
		if (l[k] < 'A' || l[k] > 'Z')
			return 0;
	while (i < n && i < 14 && l[i] >= '0' && l[i] <= '9')
		i++;
	if (i == 4 || (i < n && l[i] != ' '))
		return 0;
	for (size_t k = i; k < n; k++)
		if (l[k] < 0x20 || l[k] == 0x7f)
			return 0;
	return i - 4;
}

static bool msn_is(const uint8_t *l, size_t n, const char *c)
{
	return n >= 4 && memcmp(l, c, 3) == 0 && l[3] == ' ';
}

/* The byte count at the end of a MSG line, or -1. */
static long msn_msg_len(const uint8_t *l, size_t n)
{
	size_t i = n;
	long v = 0, mul = 1;

	if (!msn_is(l, n, "MSG"))
		return -1;
	while (i > 4 && l[i - 1] >= '0' && l[i - 1] <= '9' && n - i < 7) {
		v += (l[i - 1] - '0') * mul;
		mul *= 10;
		i--;
	}
	if (i == n || l[i - 1] != ' ')
		return -1;
	return v;
}

/* What one direction's first line says: 2 = certain, 1 = a plausible command, 0 = more, -1 = no. */
static int msn_side(const uint8_t *b, size_t n, const uint8_t **line, size_t *len)
{
	long ll;
	size_t l;

	*line = b;
	*len = 0;
	if (n == 0)
		return 0;
	ll = kp_line_len(b, n);
	if (ll < 0) {
		for (size_t k = 0; k < n && k < 3; k++)
			if (b[k] < 'A' || b[k] > 'Z')
				return -1;
		return n > KP_LINE_MAX || (n > 3 && b[3] != ' ') ? -1 : 0;
	}
	l = kp_line_trim(b, (size_t)ll);
	*len = l;
	if (msn_is(b, l, "MSG")) {
		long ml = msn_msg_len(b, l);
		size_t next = kp_line_next(b, n), rest = n - next;

		if (ml < 0)
			return -1;
		if (rest < 13)
			return 0;
		return kp_starts_ci(b + next, rest, "MIME-Version:") ? 2 : -1;
	}
	if (!msn_cmd(b, l))
		return -1;
	if (msn_is(b, l, "VER"))
		return kp_find(b, l, " MSNP", 5) ? 2 : -1;
	if (msn_is(b, l, "CVR") || msn_is(b, l, "USR") || msn_is(b, l, "ANS") ||
	    msn_is(b, l, "XFR"))
		return 1;
	return -1;
}

static enum kp_probe_result msn_probe(const struct kp_app_ctx *ctx, struct kp_match *m)
{
	const uint8_t *cl, *sl;
	size_t cn, sn;
	int c, s;

	if (ctx->l4 != IPPROTO_TCP)
		return KP_PROBE_EXCLUDE;
	c = msn_side(ctx->buf[0], ctx->buf_len[0], &cl, &cn);
	s = msn_side(ctx->buf[1], ctx->buf_len[1], &sl, &sn);
	if (c == 2 || s == 2) {
		m->app = KP_APP_MSN;
		m->confidence = KP_CONF_HIGH;
		return KP_PROBE_MATCH;
	}
	if (c < 0)
		return KP_PROBE_EXCLUDE;
	if (ctx->buf_len[1]) {
		size_t st = sn ? msn_cmd(sl, sn) : 0;

		if (sn == 0 && s < 0)
			return KP_PROBE_EXCLUDE; /* a partial line that cannot be MSNP */
		if (sn > 0 && st == 0)
			return KP_PROBE_EXCLUDE; /* a complete line not in MSNP form */
		if (st && c == 1) {
			/*
			 * The server answers with the client's transaction id
			 * (USR 3 -> USR 3 ..., ANS 1 -> IRO 1 ... / ANS 1 OK).
			 */
			size_t ct = msn_cmd(cl, cn);

			if (ct != st || memcmp(cl + 4, sl + 4, ct) != 0)
				return KP_PROBE_EXCLUDE;
			m->app = KP_APP_MSN;
			m->confidence = KP_CONF_MEDIUM;
			return KP_PROBE_MATCH;
		}
	}
	return KP_PROBE_NEED_MORE;
}

/* Copies the n-th (0-based) space-separated token of a line. */
static bool msn_tok(const uint8_t *l, size_t n, unsigned idx, char *dst, size_t cap)
{
	size_t i = 0;

	for (unsigned k = 0;; k++) {
		size_t t;

		i = kp_skip_sp(l, n, i);
		if (i >= n)
			return false;
		t = kp_tok_len(l + i, n - i);
		if (k == idx) {
			kp_copy_field(dst, cap, l + i, t);
			return true;
		}
		i += t;
	}
}

static uint32_t msn_line(void *arg, const uint8_t *l, size_t n)
{
	struct msn_state *st = arg;
	char tmp[16];
	long ml;

	if (++st->lines > MSN_MAX_LINES) {
		st->done = true;
		return KP_LINE_STOP;
	}
	if (!msn_cmd(l, n) && !msn_is(l, n, "MSG"))
		return 0;
	if (msn_is(l, n, "VER")) {
		/* Client: "VER 1 MSNP8 MSNP7 CVR0"; server: "VER 1 MSNP8 CVR0". */
		if (msn_tok(l, n, 2, tmp, sizeof(tmp)) && kp_starts((const uint8_t *)tmp,
								    strlen(tmp), "MSNP")) {
			if (st->dir == KP_DIR_TOCLIENT)
				memcpy(st->version, tmp, sizeof(tmp));
			else if (!st->cversion[0])
				memcpy(st->cversion, tmp, sizeof(tmp));
		}
	} else if (msn_is(l, n, "USR") && !st->user[0]) {
		/* "USR 3 TWN I user@example.com" / "USR 2 MD5 I user" */
		if (msn_tok(l, n, 3, tmp, sizeof(tmp)) && strcmp(tmp, "I") == 0)
			msn_tok(l, n, 4, st->user, sizeof(st->user));
		else if (msn_tok(l, n, 2, st->user, sizeof(st->user)) && !strchr(st->user, '@'))
			st->user[0] = '\0';
	} else if (msn_is(l, n, "ANS") && !st->user[0]) {
		msn_tok(l, n, 2, st->user, sizeof(st->user));
	} else if ((ml = msn_msg_len(l, n)) >= 0) {
		return (uint32_t)ml; /* skip the MIME payload */
	}
	if (st->version[0] && st->user[0]) {
		st->done = true;
		return KP_LINE_STOP;
	}
	return 0;
}

static enum kp_parse_result msn_parse(struct kp_app_ctx *ctx, void *state)
{
	struct msn_state *st = state;
	unsigned dir = ctx->dir ? 1 : 0;

	if (st->done)
		return KP_PARSE_DONE;
	if (ctx->gap)
		kp_linebuf_reset(&st->lb[dir]);
	st->dir = (uint8_t)dir;
	kp_linebuf_feed(&st->lb[dir], ctx->data, ctx->len, msn_line, st);
	return st->done ? KP_PARSE_DONE : KP_PARSE_MORE;
}

static void msn_json(const void *state, const struct kp_flow *f, struct kp_json *j)
{
	const struct msn_state *st = state;

	(void)f;
	kp_json_obj(j, "msn");
	if (st->version[0] || st->cversion[0])
		kp_json_str(j, "version", st->version[0] ? st->version : st->cversion);
	if (st->user[0])
		kp_json_str(j, "user", st->user);
	kp_json_end(j);
}

const struct kp_app_module kp_mod_msn = {
	.name = "msn",
	.l4 = KP_L4_TCP,
	.port_hints = {1863, 0},
	.probe = msn_probe,
	.state_size = sizeof(struct msn_state),
	.parse = msn_parse,
	.free_state = NULL,
	.json = msn_json,
};
