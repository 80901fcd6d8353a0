/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * IRC (RFC 1459/2812). The probe accepts a client that registers (NICK <nick>,
 * USER <user> <mode> <unused> :<realname>, CAP LS/REQ, or PASS followed by one
 * of those) and/or a server whose first line is a prefixed NOTICE, CAP or numeric
 * (":irc.example.net NOTICE * :...", ":server CAP * LS :...", ":server 001 nick
 * :Welcome"), "NOTICE AUTH" or "PING :". FTP's and POP3's "USER name" has one
 * parameter, not four. Both sides, or NICK and USER together, give high
 * confidence; one clue alone gives medium after one more packet.
 *
 * The parser follows the connection: it keeps the nick and the first channels
 * joined, and every DCC offer in a PRIVMSG (SEND or CHAT, address as a decimal
 * uint32, dotted quad or IPv6) is announced with kp_expect_add(). The DCC
 * connection is labelled "irc" (KP_APP_IRC): the label set has no separate
 * DCC label, and a DCC transfer is IRC's file transfer. When the policy
 * wants files, a DCC SEND offer is also reported as a listed file ("offer")
 * and announced (kp_app_file_announce), so that the core reports the linked
 * DCC connection's bytes as that file. PRIVMSG and NOTICE are chat messages
 * when chat is audited. DCC CHAT connections carry bare lines with no
 * command: they are not reported as chat.
 */
#include "app/irc.h"

#include "app/app.h"
#include "content/content.h"
#include "output/json.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define IRC_PROBE_LINES 4

enum { IRC_MORE = 0, IRC_YES, IRC_NO };

static bool irc_tok_is(const uint8_t *l, size_t n, const char *cmd)
{
	size_t t = kp_tok_len(l, n);

	return t == strlen(cmd) && kp_starts_ci(l, n, cmd);
}

/* Number of space-separated parameters before a ":trailing" one, and whether it exists. */
static unsigned irc_params(const uint8_t *l, size_t n, bool *trailing)
{
	size_t i = kp_tok_len(l, n);
	unsigned k = 0;

	*trailing = false;
	for (;;) {
		i = kp_skip_sp(l, n, i);
		if (i >= n)
			break;
		if (l[i] == ':') {
			*trailing = true;
			break;
		}
		k++;
		i += kp_tok_len(l + i, n - i);
	}
	return k;
}

static bool irc_printable(const uint8_t *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (l[i] < 0x20 && l[i] != '\t' && l[i] != 1)
			return false;
	return true;
}

/* A client registration line: 1 = IRC, 0 = PASS (look at the next line), -1 = not IRC. */
static int irc_client_line(const uint8_t *l, size_t n)
{
	bool tr;
	unsigned k;

	if (!irc_printable(l, n))
		return -1;
	k = irc_params(l, n, &tr);
	if (irc_tok_is(l, n, "NICK"))
		return (k == 1 || (k == 0 && tr)) ? 1 : -1;
	if (irc_tok_is(l, n, "USER"))
		return (k >= 3 && tr) || k >= 4 ? 1 : -1;
	if (irc_tok_is(l, n, "CAP")) {
		size_t a = kp_skip_sp(l, n, 3);

		return kp_starts_ci(l + a, n - a, "LS") || kp_starts_ci(l + a, n - a, "REQ") ? 1
											       : -1;
	}
	if (irc_tok_is(l, n, "PASS"))
		return k >= 1 || tr ? 0 : -1;
	return -1;
}

static bool irc_server_line(const uint8_t *l, size_t n)
{
	size_t i, t;

	if (!irc_printable(l, n))
		return false;
	if (kp_starts(l, n, "NOTICE AUTH ") || kp_starts(l, n, "NOTICE * ") ||
	    kp_starts(l, n, "PING :") || kp_starts(l, n, "ERROR :"))
		return true;
	if (n < 4 || l[0] != ':')
		return false;
	t = kp_tok_len(l, n);
	if (t < 2)
		return false;
	i = kp_skip_sp(l, n, t);
	t = kp_tok_len(l + i, n - i);
	if ((t == 6 && memcmp(l + i, "NOTICE", 6) == 0) || (t == 3 && memcmp(l + i, "CAP", 3) == 0))
		return true; /* ":server NOTICE * :...", ":server CAP * LS :..." */
	if (t == 3 && l[i] >= '0' && l[i] <= '9' && l[i + 1] >= '0' && l[i + 1] <= '9' &&
	    l[i + 2] >= '0' && l[i + 2] <= '9')
		return true;
	return false;
}

/* The client's first lines; *nreg counts the registration commands among them. */
static int irc_probe_client(const uint8_t *b, size_t n, unsigned *nreg)
{
	size_t off = 0;

	*nreg = 0;
	for (int i = 0; i < IRC_PROBE_LINES && off < n; i++) {
		long ll = kp_line_len(b + off, n - off);
		int r;

		if (ll < 0) {
			if (n - off > KP_LINE_MAX)
				return *nreg ? IRC_YES : IRC_NO;
			break;
		}
		r = irc_client_line(b + off, (size_t)ll);
		if (r < 0) {
			if (*nreg == 0)
				return IRC_NO;
			break; /* registered, then something else (MODE, JOIN ...) */
		}
		if (r > 0)
			(*nreg)++;
		off += kp_line_next(b + off, n - off);
	}
	return *nreg ? IRC_YES : IRC_MORE;
}

static int irc_probe_server(const uint8_t *b, size_t n)
{
	long ll;

	if (n == 0)
		return IRC_MORE;
	ll = kp_line_len(b, n);
	if (ll < 0) {
		if (n > KP_LINE_MAX || (b[0] != ':' && b[0] != 'N' && b[0] != 'P' && b[0] != 'E'))
			return IRC_NO;
		return IRC_MORE;
	}
	return irc_server_line(b, kp_line_trim(b, (size_t)ll)) ? IRC_YES : IRC_NO;
}

static enum kp_probe_result irc_probe(const struct kp_app_ctx *ctx, struct kp_match *m)
{
	unsigned nreg;
	int c, s;

	if (ctx->l4 != IPPROTO_TCP)
		return KP_PROBE_EXCLUDE;
	c = irc_probe_client(ctx->buf[0], ctx->buf_len[0], &nreg);
	s = irc_probe_server(ctx->buf[1], ctx->buf_len[1]);
	if (c == IRC_NO || s == IRC_NO)
		return KP_PROBE_EXCLUDE;
	m->app = KP_APP_IRC;
	if (c == IRC_YES && (s == IRC_YES || nreg >= 2)) {
		/* both sides, or a whole registration (NICK + USER) */
		m->confidence = KP_CONF_HIGH;
		return KP_PROBE_MATCH;
	}
	/* One side's single clue: wait for one more packet before settling for medium. */
	if ((c == IRC_YES && (ctx->buf_len[1] || ctx->npkts[0] >= 2)) ||
	    (s == IRC_YES && (ctx->buf_len[0] || ctx->npkts[1] >= 2))) {
		m->confidence = KP_CONF_MEDIUM;
		return KP_PROBE_MATCH;
	}
	m->app = 0;
	return KP_PROBE_NEED_MORE;
}

/* The next space-separated token of s from *i (a "quoted name" when quote is set). */
static bool irc_next(const uint8_t *s, size_t n, size_t *i, bool quote, size_t *st, size_t *len)
{
	*i = kp_skip_sp(s, n, *i);
	if (*i >= n)
		return false;
	if (quote && s[*i] == '"') {
		const uint8_t *q = memchr(s + *i + 1, '"', n - *i - 1);

		if (!q)
			return false;
		*st = *i + 1;
		*len = (size_t)(q - (s + *st));
		*i = (size_t)(q - s) + 1;
		return true;
	}
	*st = *i;
	*len = kp_tok_len(s + *i, n - *i);
	*i += *len;
	return *len > 0;
}

static bool irc_u64(const uint8_t *s, size_t n, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;

	if (n == 0 || n > 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (x > (max - (uint64_t)(s[i] - '0')) / 10)
			return false;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	*v = x;
	return true;
}

static bool irc_addr(const uint8_t *s, size_t n, struct kp_irc_dcc *d)
{
	char a[64];
	uint64_t v;

	if (irc_u64(s, n, UINT32_MAX, &v)) {
		d->family = AF_INET;
		d->addr[0] = (uint8_t)(v >> 24);
		d->addr[1] = (uint8_t)(v >> 16);
		d->addr[2] = (uint8_t)(v >> 8);
		d->addr[3] = (uint8_t)v;
		return true;
	}
	if (n >= sizeof(a))
		return false;
	memcpy(a, s, n);
	a[n] = '\0';
	d->family = memchr(s, ':', n) ? AF_INET6 : AF_INET;
	return inet_pton(d->family, a, d->addr) == 1;
}

/* Skips a ":prefix " at the start of a line. */
static size_t irc_cmd_off(const uint8_t *l, size_t n)
{
	if (n > 0 && l[0] == ':')
		return kp_skip_sp(l, n, kp_tok_len(l, n));
	return 0;
}

bool kp_irc_parse_dcc(const uint8_t *line, size_t n, struct kp_irc_dcc *d)
{
	const uint8_t *p = kp_find(line, n, "\x01" "DCC ", 5), *e;
	size_t c, i, st, len, body;
	uint64_t v;

	c = irc_cmd_off(line, n);
	if (!p || !irc_tok_is(line + c, n - c, "PRIVMSG"))
		return false;
	memset(d, 0, sizeof(*d));
	i = (size_t)(p - line) + 5;
	e = memchr(line + i, 1, n - i);
	body = e ? (size_t)(e - line) : n;
	if (!irc_next(line, body, &i, false, &st, &len))
		return false;
	if (len == 4 && kp_starts_ci(line + st, len, "SEND")) {
		if (!irc_next(line, body, &i, true, &st, &len))
			return false;
		d->file_len = (uint16_t)kp_copy_field(d->file, sizeof(d->file), line + st, len);
	} else if (len == 4 && kp_starts_ci(line + st, len, "CHAT")) {
		d->chat = true;
		if (!irc_next(line, body, &i, false, &st, &len)) /* protocol: "chat" */
			return false;
	} else {
		return false;
	}
	if (!irc_next(line, body, &i, false, &st, &len) || !irc_addr(line + st, len, d))
		return false;
	if (!irc_next(line, body, &i, false, &st, &len) || !irc_u64(line + st, len, 65535, &v))
		return false;
	d->port = (uint16_t)v;
	if (!d->chat && irc_next(line, body, &i, false, &st, &len) &&
	    irc_u64(line + st, len, UINT64_MAX, &v)) {
		d->size = v;
		d->has_size = true;
	}
	return true;
}

struct irc_pctx {
	struct kp_app_ctx *ctx;
	struct kp_irc_state *st;
};

static void irc_dcc(struct irc_pctx *p, const uint8_t *l, size_t n)
{
	struct kp_irc_state *st = p->st;
	struct kp_irc_dcc d;

	if (!kp_irc_parse_dcc(l, n, &d))
		return;
	st->ndcc_total++;
	if (st->ndcc < KP_IRC_DCCS)
		st->dcc[st->ndcc++] = d;
	/*
	 * A file offer: listed on this flow (name rules apply, audited as state
	 * "listed"), and announced as the file of the linked DCC connection,
	 * which the core then reports as that file.
	 */
	if (!d.chat && kp_app_files_wanted(p->ctx)) {
		uint64_t size = d.has_size ? d.size : KP_FILE_SIZE_UNKNOWN;

		kp_app_file_listed(p->ctx, "offer", d.file, d.file_len, size, KP_HASH_NONE, NULL,
				   0);
		if (d.port)
			kp_app_file_announce(p->ctx, d.file, d.file_len, size);
	}
	/* The DCC connection is labelled irc: there is no separate DCC label. */
	if (d.port)
		kp_expect_add(p->ctx, d.family, d.addr, d.port, IPPROTO_TCP, KP_APP_IRC);
}

static void irc_join(struct kp_irc_state *st, const uint8_t *a, size_t n)
{
	size_t i = 0, t = kp_tok_len(a, n);

	if (t > 0 && a[0] == ':')
		a++, t--;
	while (i < t && st->nchan < KP_IRC_CHANNELS) {
		size_t s = i;

		while (i < t && a[i] != ',')
			i++;
		if (i > s) {
			bool dup = false;
			char tmp[64];

			kp_copy_field(tmp, sizeof(tmp), a + s, i - s);
			for (unsigned k = 0; k < st->nchan; k++)
				dup |= strcmp(st->channels[k], tmp) == 0;
			if (!dup)
				memcpy(st->channels[st->nchan++], tmp, sizeof(tmp));
		}
		i++;
	}
}

/*
 * A PRIVMSG or NOTICE as a chat message: the sender is the line's prefix nick (from
 * the server), or the client's own nick (to the server); the receiver is the first
 * parameter; the text is the trailing parameter. CTCP requests (\x01...\x01: DCC,
 * VERSION) are not chat, except ACTION (/me), whose text is kept.
 */
static void irc_chat(struct irc_pctx *p, const uint8_t *l, size_t c, const uint8_t *cmd,
		     size_t cn, size_t a)
{
	char from[64], to[128], command[8];
	const uint8_t *text;
	size_t tl, t, i;

	if (!kp_app_chat_wanted(p->ctx))
		return;
	kp_copy_field(command, sizeof(command), cmd, kp_tok_len(cmd, cn));
	if (c > 1) {
		size_t pl = kp_tok_len(l + 1, c - 1);
		const uint8_t *bang = memchr(l + 1, '!', pl);

		kp_copy_field(from, sizeof(from), l + 1, bang ? (size_t)(bang - (l + 1)) : pl);
	} else {
		snprintf(from, sizeof(from), "%s", p->st->nick);
	}
	t = kp_tok_len(cmd + a, cn - a);
	kp_copy_field(to, sizeof(to), cmd + a, t);
	i = kp_skip_sp(cmd, cn, a + t);
	if (i >= cn)
		return;
	text = cmd + i + (cmd[i] == ':');
	tl = cn - i - (cmd[i] == ':');
	if (tl && text[0] == 1) {
		if (tl < 8 || memcmp(text, "\x01" "ACTION ", 8))
			return; /* CTCP: DCC offers, VERSION, PING ... */
		text += 8, tl -= 8;
		if (tl && text[tl - 1] == 1)
			tl--;
	}
	kp_app_chat(p->ctx, command, from, to, text, tl);
}

static uint32_t irc_line(void *arg, const uint8_t *l, size_t n)
{
	struct irc_pctx *p = arg;
	struct kp_irc_state *st = p->st;
	size_t c = irc_cmd_off(l, n), a;
	const uint8_t *cmd = l + c;
	size_t cn = n - c;

	a = kp_skip_sp(cmd, cn, kp_tok_len(cmd, cn));
	if (irc_tok_is(cmd, cn, "PRIVMSG") || irc_tok_is(cmd, cn, "NOTICE"))
		irc_chat(p, l, c, cmd, cn, a);
	if (irc_tok_is(cmd, cn, "PRIVMSG")) {
		irc_dcc(p, l, n);
	} else if (p->ctx->dir == KP_DIR_TOSERVER && irc_tok_is(cmd, cn, "NICK")) {
		size_t s = a < cn && cmd[a] == ':' ? a + 1 : a;

		kp_copy_field(st->nick, sizeof(st->nick), cmd + s, kp_tok_len(cmd + s, cn - s));
	} else if (p->ctx->dir == KP_DIR_TOSERVER && irc_tok_is(cmd, cn, "JOIN")) {
		irc_join(st, cmd + a, cn - a);
	} else if (p->ctx->dir == KP_DIR_TOCLIENT && !st->nick[0] && irc_tok_is(cmd, cn, "001")) {
		kp_copy_field(st->nick, sizeof(st->nick), cmd + a, kp_tok_len(cmd + a, cn - a));
	}
	return 0;
}

static enum kp_parse_result irc_parse(struct kp_app_ctx *ctx, void *state)
{
	struct kp_irc_state *st = state;
	struct irc_pctx p = {ctx, st};
	unsigned dir = ctx->dir ? 1 : 0;

	if (ctx->gap)
		kp_linebuf_reset(&st->lb[dir]);
	kp_linebuf_feed(&st->lb[dir], ctx->data, ctx->len, irc_line, &p);
	return KP_PARSE_MORE; /* DCC offers may come at any time */
}

static void irc_json(const void *state, const struct kp_flow *f, struct kp_json *j)
{
	const struct kp_irc_state *st = state;

	(void)f;
	kp_json_obj(j, "irc");
	if (st->nick[0])
		kp_json_str(j, "nick", st->nick);
	if (st->nchan) {
		kp_json_arr(j, "channels");
		for (unsigned i = 0; i < st->nchan; i++)
			kp_json_str(j, NULL, st->channels[i]);
		kp_json_end_arr(j);
	}
	if (st->ndcc) {
		kp_json_arr(j, "dcc");
		for (unsigned i = 0; i < st->ndcc; i++) {
			kp_json_obj(j, NULL);
			kp_json_str(j, "type", st->dcc[i].chat ? "chat" : "send");
			if (!st->dcc[i].chat) {
				kp_json_str(j, "file", st->dcc[i].file);
				kp_json_u64(j, "size", st->dcc[i].size);
			}
			kp_json_end(j);
		}
		kp_json_end_arr(j);
	}
	kp_json_end(j);
}

const struct kp_app_module kp_mod_irc = {
	.name = "irc",
	.l4 = KP_L4_TCP,
	.port_hints = {6667, 6668, 6669, 7000, 0},
	.probe = irc_probe,
	.state_size = sizeof(struct kp_irc_state),
	.parse = irc_parse,
	.free_state = NULL,
	.json = irc_json,
};
