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
 *
 * When the policy wants chats or files (kp_app_chat_wanted, kp_app_files_wanted)
 * the parser follows the whole connection instead: it keeps who is in a
 * switchboard session (the own account from USR/ANS, the others from IRO and
 * JOI, minus BYE) and reads each MSG payload (up to MSN_BODY_MAX bytes, longer
 * ones are skipped): its MIME headers, then
 *   - text/plain: a chat message "MSG" from the sender (the MSG line's account
 *     from the server, the own account from the client) to the session's other
 *     members (comma-separated; "" when unknown), the body base64-decoded when
 *     Content-Transfer-Encoding says base64;
 *   - text/x-msmsgsinvite with Invitation-Command INVITE of the File Transfer
 *     application: a listed file "offer" (Application-File, Application-FileSize);
 *   - application/x-msnmsgrp2p (MSNP2P, MSNP9 and later): an SLP INVITE of the
 *     file transfer EUF-GUID whose base64 Context holds the file size and its
 *     UTF-16LE name: a listed file "offer".
 */
#include "app/msn.h"

#include "app/app.h"
#include "content/content.h"
#include "output/json.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSN_MAX_LINES 64

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

static int b64_val(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long kp_msn_b64_decode(uint8_t *buf, size_t n)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int v;

		if (buf[i] == '\r' || buf[i] == '\n' || buf[i] == ' ' || buf[i] == '\t')
			continue;
		if (buf[i] == '=')
			break;
		v = b64_val(buf[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (uint8_t)(acc >> bits); /* o < i: never overtakes the reader */
			acc &= (1u << bits) - 1;
		}
	}
	return (long)o;
}

struct msn_pctx {
	struct kp_app_ctx *ctx;
	struct kp_msn_state *st;
	bool want;
};

static void msn_peer_add(struct kp_msn_state *st, const char *acct)
{
	if (!acct[0] || strcmp(acct, st->user) == 0)
		return;
	for (unsigned i = 0; i < st->npeers; i++)
		if (strcmp(st->peers[i], acct) == 0)
			return;
	if (st->npeers < KP_MSN_PEERS)
		snprintf(st->peers[st->npeers++], KP_MSN_ACCT, "%s", acct);
}

static void msn_peer_del(struct kp_msn_state *st, const char *acct)
{
	for (unsigned i = 0; i < st->npeers; i++) {
		if (strcmp(st->peers[i], acct) == 0) {
			memmove(st->peers[i], st->peers[i + 1],
				(size_t)(st->npeers - i - 1) * sizeof(st->peers[0]));
			st->npeers--;
			return;
		}
	}
}

/* The session's members other than `from`, comma-separated (the own account first). */
static void msn_others(const struct kp_msn_state *st, const char *from, char *to, size_t cap)
{
	size_t o = 0;

	to[0] = '\0';
	for (int i = -1; i < (int)st->npeers; i++) {
		const char *a = i < 0 ? st->user : st->peers[i];
		int w;

		if (!a[0] || strcmp(a, from) == 0)
			continue;
		w = snprintf(to + o, cap - o, "%s%s", o ? "," : "", a);
		if (w < 0 || (size_t)w >= cap - o) {
			to[o] = '\0';
			return;
		}
		o += (size_t)w;
	}
}

/* Value of header `name` in the header block h[0..n) ("Name: value" lines), or NULL. */
static const uint8_t *msn_hdr(const uint8_t *h, size_t n, const char *name, size_t *vlen)
{
	size_t off = 0, nl = strlen(name);

	while (off < n) {
		const uint8_t *e = memchr(h + off, '\n', n - off);
		size_t ll = e ? (size_t)(e - (h + off)) : n - off;
		size_t l = kp_line_trim(h + off, ll);

		if (l > nl && h[off + nl] == ':' && kp_starts_ci(h + off, l, name)) {
			size_t v = kp_skip_sp(h + off, l, nl + 1);

			*vlen = l - v;
			while (*vlen &&
			       (h[off + v + *vlen - 1] == ' ' || h[off + v + *vlen - 1] == '\t'))
				(*vlen)--;
			return h + off + v;
		}
		off += ll + 1;
	}
	return NULL;
}

static bool msn_hdr_is(const uint8_t *h, size_t n, const char *name, const char *val)
{
	size_t vl;
	const uint8_t *v = msn_hdr(h, n, name, &vl);

	return v && vl == strlen(val) && kp_starts_ci(v, vl, val);
}

static uint64_t msn_dec(const uint8_t *s, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n && i < 19 && s[i] >= '0' && s[i] <= '9'; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	return i ? v : KP_FILE_SIZE_UNKNOWN;
}

/* Splits a MIME payload at its empty line: headers [0, *hl), body from *bo. */
static bool msn_split(const uint8_t *b, size_t n, size_t *hl, size_t *bo)
{
	const uint8_t *e = kp_find(b, n, "\r\n\r\n", 4);

	if (e) {
		*hl = (size_t)(e - b) + 2;
		*bo = *hl + 2;
		return true;
	}
	e = kp_find(b, n, "\n\n", 2);
	if (!e)
		return false;
	*hl = (size_t)(e - b) + 1;
	*bo = *hl + 1;
	return true;
}

/* text/x-msmsgsinvite: the File Transfer application's INVITE names a file and its size. */
static void msn_invite(struct msn_pctx *p, const uint8_t *b, size_t n)
{
	const uint8_t *f, *sz;
	size_t fl, sl;

	if (!msn_hdr_is(b, n, "Invitation-Command", "INVITE"))
		return;
	if (!msn_hdr_is(b, n, "Application-Name", "File Transfer") &&
	    !msn_hdr_is(b, n, "Application-GUID", "{5D3E02AB-6190-11d3-BBBB-00C04F795683}"))
		return;
	f = msn_hdr(b, n, "Application-File", &fl);
	if (!f)
		return;
	sz = msn_hdr(b, n, "Application-FileSize", &sl);
	kp_app_file_listed(p->ctx, "offer", (const char *)f, fl,
			   sz ? msn_dec(sz, sl) : KP_FILE_SIZE_UNKNOWN, KP_HASH_NONE, NULL, 0);
}

/* UTF-16LE (up to a NUL) to UTF-8; returns the length written to out (< cap). */
static size_t msn_utf16(const uint8_t *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i + 1 < n; i += 2) {
		uint32_t c = kp_le16(s + i);
		uint8_t u[4];
		size_t k;

		if (c == 0)
			break;
		if (c >= 0xd800 && c < 0xdc00 && i + 3 < n) {
			uint32_t lo = kp_le16(s + i + 2);

			if (lo >= 0xdc00 && lo < 0xe000) {
				c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
				i += 2;
			}
		}
		if (c >= 0xd800 && c < 0xe000)
			c = 0xfffd;
		if (c < 0x80) {
			u[0] = (uint8_t)c, k = 1;
		} else if (c < 0x800) {
			u[0] = (uint8_t)(0xc0 | c >> 6), u[1] = (uint8_t)(0x80 | (c & 0x3f)), k = 2;
		} else if (c < 0x10000) {
			u[0] = (uint8_t)(0xe0 | c >> 12);
			u[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
			u[2] = (uint8_t)(0x80 | (c & 0x3f)), k = 3;
		} else {
			u[0] = (uint8_t)(0xf0 | c >> 18);
			u[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3f));
			u[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
			u[3] = (uint8_t)(0x80 | (c & 0x3f));
			k = 4;
		}
		if (o + k >= cap)
			break;
		memcpy(out + o, u, k);
		o += k;
	}
	out[o] = '\0';
	return o;
}

/*
 * application/x-msnmsgrp2p: a 48-byte binary header (session id 0 for SLP,
 * offset, total size, message size, little-endian), then the SLP text. A file
 * transfer INVITE carries EUF-GUID {5D3E02AB-...} and a base64 Context: a
 * little-endian header length, version, the file size (uint64 at 8) and the
 * name in UTF-16LE (260 code units at 20).
 */
static void msn_p2p(struct msn_pctx *p, const uint8_t *b, size_t n)
{
	static const char guid[] = "{5D3E02AB-6190-11D3-BBBB-00C04F795683}";
	const uint8_t *slp, *c, *e;
	uint8_t ctx[1024];
	char name[512];
	size_t sl, cl, nl;
	uint32_t msz;
	long dl;

	if (n < 48 || kp_le32(b) != 0)
		return;
	msz = kp_le32(b + 24);
	sl = n - 48 < msz ? n - 48 : msz;
	slp = b + 48;
	if (!kp_starts(slp, sl, "INVITE MSNMSGR:") || !kp_find_ci(slp, sl, guid))
		return;
	c = kp_find(slp, sl, "Context: ", 9);
	if (!c)
		return;
	c += 9;
	e = memchr(c, '\r', sl - (size_t)(c - slp));
	cl = e ? (size_t)(e - c) : sl - (size_t)(c - slp);
	if (cl > sizeof(ctx))
		cl = sizeof(ctx) - sizeof(ctx) % 4;
	memcpy(ctx, c, cl);
	dl = kp_msn_b64_decode(ctx, cl);
	if (dl < 20)
		return;
	nl = msn_utf16(ctx + 20, (size_t)dl - 20 < 520 ? (size_t)dl - 20 : 520, name, sizeof(name));
	kp_app_file_listed(p->ctx, "offer", name, nl,
			   (uint64_t)kp_le32(ctx + 8) | (uint64_t)kp_le32(ctx + 12) << 32,
			   KP_HASH_NONE, NULL, 0);
}

/* One whole MSG payload of direction dir. */
static void msn_payload(struct msn_pctx *p, unsigned dir, uint8_t *b, size_t n)
{
	struct kp_msn_state *st = p->st;
	const char *from = dir == KP_DIR_TOCLIENT ? st->body[dir].from : st->user;
	size_t hl, bo, ctl;
	const uint8_t *ct;
	char to[512];

	if (!msn_split(b, n, &hl, &bo))
		return;
	ct = msn_hdr(b, hl, "Content-Type", &ctl);
	if (!ct)
		return;
	if (kp_starts_ci(ct, ctl, "text/plain")) {
		uint8_t *text = b + bo;
		long tl = (long)(n - bo);

		if (!kp_app_chat_wanted(p->ctx))
			return;
		if (msn_hdr_is(b, hl, "Content-Transfer-Encoding", "base64"))
			tl = kp_msn_b64_decode(text, (size_t)tl);
		if (tl < 0)
			return;
		msn_others(st, from, to, sizeof(to));
		kp_app_chat(p->ctx, "MSG", from, to, text, (size_t)tl);
	} else if (kp_starts_ci(ct, ctl, "text/x-msmsgsinvite")) {
		if (kp_app_files_wanted(p->ctx))
			msn_invite(p, b + bo, n - bo);
	} else if (kp_starts_ci(ct, ctl, "application/x-msnmsgrp2p")) {
		if (kp_app_files_wanted(p->ctx))
			msn_p2p(p, b + bo, n - bo);
	}
}

static uint32_t msn_line(void *arg, const uint8_t *l, size_t n)
{
	struct msn_pctx *p = arg;
	struct kp_msn_state *st = p->st;
	char tmp[KP_MSN_ACCT];
	long ml;

	if (!p->want && ++st->lines > MSN_MAX_LINES) {
		st->done = true;
		return KP_LINE_STOP;
	}
	if (!msn_cmd(l, n) && !msn_is(l, n, "MSG") && !msn_is(l, n, "JOI") &&
	    !msn_is(l, n, "BYE"))
		return 0;
	if (msn_is(l, n, "VER")) {
		/* Client: "VER 1 MSNP8 MSNP7 CVR0"; server: "VER 1 MSNP8 CVR0". */
		if (msn_tok(l, n, 2, tmp, 16) && kp_starts((const uint8_t *)tmp,
							   strlen(tmp), "MSNP")) {
			if (st->dir == KP_DIR_TOCLIENT)
				memcpy(st->version, tmp, sizeof(st->version));
			else if (!st->cversion[0])
				memcpy(st->cversion, tmp, sizeof(st->cversion));
		}
	} else if (msn_is(l, n, "USR") && !st->user[0]) {
		/*
		 * "USR 3 TWN I user@example.com" / "USR 2 MD5 I user" (notification),
		 * "USR 1 user@example.com cookie" (switchboard), "USR 1 OK user@... name".
		 */
		if (msn_tok(l, n, 3, tmp, sizeof(tmp)) && strcmp(tmp, "I") == 0)
			msn_tok(l, n, 4, st->user, sizeof(st->user));
		else if (msn_tok(l, n, 2, st->user, sizeof(st->user)) && !strchr(st->user, '@'))
			if (!(strcmp(st->user, "OK") == 0 &&
			      msn_tok(l, n, 3, st->user, sizeof(st->user)) &&
			      strchr(st->user, '@')))
				st->user[0] = '\0';
	} else if (msn_is(l, n, "ANS") && !st->user[0]) {
		msn_tok(l, n, 2, st->user, sizeof(st->user));
	} else if (msn_is(l, n, "IRO") && st->dir == KP_DIR_TOCLIENT) {
		/* "IRO trid n total account name": a member already in the session */
		if (msn_tok(l, n, 4, tmp, sizeof(tmp)))
			msn_peer_add(st, tmp);
	} else if (msn_is(l, n, "JOI") && st->dir == KP_DIR_TOCLIENT) {
		if (msn_tok(l, n, 1, tmp, sizeof(tmp)))
			msn_peer_add(st, tmp);
	} else if (msn_is(l, n, "BYE") && st->dir == KP_DIR_TOCLIENT) {
		if (msn_tok(l, n, 1, tmp, sizeof(tmp)))
			msn_peer_del(st, tmp);
	} else if ((ml = msn_msg_len(l, n)) >= 0) {
		struct kp_msn_body *bd = &st->body[st->dir];

		/* "MSG account name len" (server) / "MSG trid ack len" (client) */
		if (!p->want || ml == 0 || ml > KP_MSN_BODY_MAX)
			return (uint32_t)ml; /* skip the MIME payload */
		bd->buf = malloc((size_t)ml);
		if (!bd->buf)
			return (uint32_t)ml;
		bd->need = (uint32_t)ml;
		bd->have = 0;
		bd->from[0] = '\0';
		if (st->dir == KP_DIR_TOCLIENT)
			msn_tok(l, n, 1, bd->from, sizeof(bd->from));
		return KP_LINE_STOP; /* the caller reads the payload */
	}
	if (!p->want && st->version[0] && st->user[0]) {
		st->done = true;
		return KP_LINE_STOP;
	}
	return 0;
}

static void msn_body_drop(struct kp_msn_body *bd)
{
	free(bd->buf);
	bd->buf = NULL;
	bd->need = bd->have = 0;
}

static enum kp_parse_result msn_parse(struct kp_app_ctx *ctx, void *state)
{
	struct kp_msn_state *st = state;
	unsigned dir = ctx->dir ? 1 : 0;
	struct msn_pctx p = {ctx, st, kp_app_chat_wanted(ctx) || kp_app_files_wanted(ctx)};
	struct kp_msn_body *bd = &st->body[dir];
	size_t off = 0;

	if (st->done && !p.want)
		return KP_PARSE_DONE;
	if (ctx->gap) {
		kp_linebuf_reset(&st->lb[dir]);
		msn_body_drop(bd);
	}
	st->dir = (uint8_t)dir;
	while (off < ctx->len) {
		if (bd->buf) {
			size_t take = ctx->len - off < bd->need - bd->have ? ctx->len - off
									    : bd->need - bd->have;

			memcpy(bd->buf + bd->have, ctx->data + off, take);
			bd->have += (uint32_t)take;
			off += take;
			if (bd->have == bd->need) {
				msn_payload(&p, dir, bd->buf, bd->need);
				msn_body_drop(bd);
			}
			continue;
		}
		off += kp_linebuf_feed(&st->lb[dir], ctx->data + off, ctx->len - off, msn_line, &p);
		if (st->done && !p.want)
			break;
	}
	return st->done && !p.want ? KP_PARSE_DONE : KP_PARSE_MORE;
}

static void msn_free(void *state)
{
	struct kp_msn_state *st = state;

	msn_body_drop(&st->body[0]);
	msn_body_drop(&st->body[1]);
}

static void msn_json(const void *state, const struct kp_flow *f, struct kp_json *j)
{
	const struct kp_msn_state *st = state;

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
	.state_size = sizeof(struct kp_msn_state),
	.parse = msn_parse,
	.free_state = msn_free,
	.json = msn_json,
};
