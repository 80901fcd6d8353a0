/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Mail access and transfer: SMTP, POP3 and IMAP in one module (labels smtp,
 * pop3, imap). All three servers greet first, and the greeting picks the
 * candidate:
 *   - SMTP "220 ..." / "220-...": the client answers EHLO/HELO/LHLO (high), or
 *     the greeting says "SMTP"/"ESMTP" (medium). FTP also greets with 220: a
 *     greeting that says FTP and not SMTP, or a first client command that is
 *     not EHLO/HELO, excludes SMTP.
 * A greeting alone (medium) is used only when the client stays silent past the
 * server's second packet: the client's first command is waited for.
 *   - POP3 "+OK ...": the client sends USER/CAPA/APOP/AUTH/STLS/... (high), or
 *     the greeting names POP (medium).
 *   - IMAP "* OK ..." / "* PREAUTH ...": the client sends a tagged command
 *     ("a001 CAPABILITY", "LOGIN", "STARTTLS", ...) (high), or the greeting
 *     names IMAP (medium).
 * The parser keeps SMTP's HELO name, first MAIL FROM and first RCPT TO
 * addresses (Suricata EVE "smtp" names), the POP3/IMAP user name. After a
 * STARTTLS/STLS the server accepted, the session stays labelled as the mail
 * protocol and the parser stops (the rest is TLS).
 */
#include "app/app.h"
#include "app/linebuf.h"
#include "output/json.h"

#include <netinet/in.h>
#include <string.h>

#define MAIL_RCPTS 4
#define MAIL_PROBE_LINE_MAX 512

enum { MAIL_NONE = 0, MAIL_SMTP, MAIL_POP3, MAIL_IMAP };

struct mail_state {
	struct kp_linebuf lb[2];
	uint8_t proto;
	uint8_t nrcpt;
	uint8_t dir;     /* direction of the line being parsed */
	bool data;       /* SMTP: inside DATA, until "." */
	bool tls_req;    /* STARTTLS / STLS asked, waiting for the answer */
	bool done;
	char helo[96];
	char mail_from[128];
	char user[96];
	char rcpt[MAIL_RCPTS][128];
};

static const char *const smtp_cmds[] = {"EHLO", "HELO", "LHLO", NULL};
static const char *const pop3_cmds[] = {"USER", "CAPA", "APOP", "AUTH", "STLS", "PASS", "STAT",
					"LIST", "UIDL", "RETR", "TOP", "QUIT", NULL};
static const char *const imap_cmds[] = {
	"CAPABILITY", "LOGIN", "STARTTLS", "AUTHENTICATE", "ID", "NOOP", "SELECT",
	"EXAMINE", "LIST", "LSUB", "LOGOUT", "STATUS", "ENABLE", NULL,
};

static bool mail_tok_in(const uint8_t *l, size_t n, const char *const *list)
{
	size_t t = kp_tok_len(l, n);

	for (unsigned i = 0; list[i]; i++)
		if (strlen(list[i]) == t && kp_starts_ci(l, n, list[i]))
			return true;
	return false;
}

/* IMAP: a tag (1..32 letters, digits, '.', '-', '_') then SP then a known command. */
static bool imap_tagged(const uint8_t *l, size_t n)
{
	size_t t = kp_tok_len(l, n), a;

	if (t == 0 || t > 32 || t >= n)
		return false;
	for (size_t i = 0; i < t; i++) {
		uint8_t c = l[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '.' || c == '-' || c == '_'))
			return false;
	}
	a = kp_skip_sp(l, n, t);
	return a < n && mail_tok_in(l + a, n - a, imap_cmds);
}

/* Does buf start with lit, or is it a proper prefix of lit (then *partial)? */
static bool mail_prefix(const uint8_t *b, size_t n, const char *lit, bool *partial)
{
	size_t l = strlen(lit);

	*partial = n < l && memcmp(b, lit, n) == 0;
	return n >= l && memcmp(b, lit, l) == 0;
}

static enum kp_probe_result mail_probe(const struct kp_app_ctx *ctx, struct kp_match *m)
{
	const uint8_t *s = ctx->buf[1], *c = ctx->buf[0];
	size_t sl = ctx->buf_len[1], cl = ctx->buf_len[0], gl;
	bool p1 = false, p2 = false, p3 = false, p4 = false, cmd_line = false, hint;
	long ll;
	int proto;

	if (ctx->l4 != IPPROTO_TCP)
		return KP_PROBE_EXCLUDE;
	if (sl == 0)
		return cl ? KP_PROBE_EXCLUDE : KP_PROBE_NEED_MORE; /* mail servers speak first */
	if (mail_prefix(s, sl, "220", &p1) && (sl == 3 || s[3] == ' ' || s[3] == '-'))
		proto = MAIL_SMTP;
	else if (mail_prefix(s, sl, "+OK", &p2))
		proto = MAIL_POP3;
	else if (mail_prefix(s, sl, "* OK", &p3) || mail_prefix(s, sl, "* PREAUTH", &p4))
		proto = MAIL_IMAP;
	else if (p1 || p2 || p3 || p4)
		return KP_PROBE_NEED_MORE;
	else
		return KP_PROBE_EXCLUDE;
	ll = kp_line_len(s, sl);
	if (ll < 0 && sl < MAIL_PROBE_LINE_MAX)
		return KP_PROBE_NEED_MORE;
	gl = ll < 0 ? sl : (size_t)ll;

	if (cl) {
		ll = kp_line_len(c, cl);
		if (ll < 0) {
			if (cl > MAIL_PROBE_LINE_MAX)
				return KP_PROBE_EXCLUDE;
		} else {
			size_t n = kp_line_trim(c, (size_t)ll);

			if (proto == MAIL_SMTP)
				cmd_line = mail_tok_in(c, n, smtp_cmds);
			else if (proto == MAIL_POP3)
				cmd_line = mail_tok_in(c, n, pop3_cmds);
			else
				cmd_line = imap_tagged(c, n);
			if (!cmd_line)
				return KP_PROBE_EXCLUDE;
		}
	}
	m->app = proto == MAIL_SMTP ? KP_APP_SMTP : proto == MAIL_POP3 ? KP_APP_POP3 : KP_APP_IMAP;
	if (cmd_line) {
		m->confidence = KP_CONF_HIGH;
		return KP_PROBE_MATCH;
	}
	/*
	 * A greeting that names the protocol is enough once the server has sent a
	 * second packet or the client has begun a line; until then wait for the
	 * client's first command, which confirms it with more certainty.
	 */
	m->confidence = KP_CONF_MEDIUM;
	if (proto == MAIL_SMTP) {
		hint = kp_find_ci(s, gl, "SMTP") != NULL;
		if (!hint && kp_find_ci(s, gl, "FTP"))
			return KP_PROBE_EXCLUDE;
	} else {
		hint = kp_find_ci(s, gl, proto == MAIL_POP3 ? "POP" : "IMAP") != NULL;
	}
	if (hint && (cl > 0 || ctx->npkts[1] >= 2))
		return KP_PROBE_MATCH;
	m->app = 0;
	m->confidence = 0;
	return KP_PROBE_NEED_MORE;
}

/* The address of "MAIL FROM:<a>" / "RCPT TO:<a>" (inside <>, else the rest). */
static void mail_addr(char *dst, size_t cap, const uint8_t *l, size_t n, size_t off)
{
	const uint8_t *lt, *gt;

	off = kp_skip_sp(l, n, off);
	lt = memchr(l + off, '<', n - off);
	if (lt) {
		gt = memchr(lt, '>', (size_t)(l + n - lt));
		if (gt) {
			kp_copy_field(dst, cap, lt + 1, (size_t)(gt - lt - 1));
			return;
		}
	}
	kp_copy_field(dst, cap, l + off, kp_tok_len(l + off, n - off));
}

static uint32_t smtp_client(struct mail_state *st, const uint8_t *l, size_t n)
{
	size_t a = kp_skip_sp(l, n, kp_tok_len(l, n));

	if (st->data) {
		if (n == 1 && l[0] == '.') {
			st->data = false;
			st->done = true; /* the first message is all we record */
			return KP_LINE_STOP;
		}
		return 0;
	}
	if (mail_tok_in(l, n, smtp_cmds)) {
		if (!st->helo[0])
			kp_copy_field(st->helo, sizeof(st->helo), l + a, kp_tok_len(l + a, n - a));
	} else if (kp_starts_ci(l, n, "MAIL FROM:")) {
		if (!st->mail_from[0])
			mail_addr(st->mail_from, sizeof(st->mail_from), l, n, 10);
	} else if (kp_starts_ci(l, n, "RCPT TO:")) {
		if (st->nrcpt < MAIL_RCPTS)
			mail_addr(st->rcpt[st->nrcpt++], sizeof(st->rcpt[0]), l, n, 8);
	} else if (kp_starts_ci(l, n, "STARTTLS")) {
		st->tls_req = true;
	} else if (kp_starts_ci(l, n, "BDAT ")) {
		uint32_t v = 0;

		for (size_t i = a; i < n && l[i] >= '0' && l[i] <= '9' && v < 100000000; i++)
			v = v * 10 + (uint32_t)(l[i] - '0');
		return v; /* skip the chunk */
	}
	return 0;
}

static uint32_t mail_line(void *arg, const uint8_t *l, size_t n)
{
	struct mail_state *st = arg;
	size_t a;

	if (st->dir == KP_DIR_TOCLIENT) {
		if (st->proto == MAIL_SMTP && kp_starts(l, n, "354"))
			st->data = true;
		if (st->tls_req) {
			bool ok;

			if (st->proto == MAIL_SMTP) {
				ok = kp_starts(l, n, "220");
			} else if (st->proto == MAIL_POP3) {
				ok = kp_starts(l, n, "+OK");
			} else {
				/* "tag OK Begin TLS negotiation" (not an untagged "* OK") */
				a = kp_skip_sp(l, n, kp_tok_len(l, n));
				ok = n > 0 && l[0] != '*' && a < n &&
				     kp_starts_ci(l + a, n - a, "OK");
			}
			if (ok) {
				st->done = true; /* STARTTLS accepted: the rest is TLS */
				return KP_LINE_STOP;
			}
			if (n >= 4 && l[0] != '*' && l[3] != '-')
				st->tls_req = false;
		}
		return 0;
	}
	if (st->proto == MAIL_SMTP)
		return smtp_client(st, l, n);
	if (st->proto == MAIL_POP3) {
		a = kp_skip_sp(l, n, kp_tok_len(l, n));
		if (kp_tok_len(l, n) == 4 && kp_starts_ci(l, n, "USER") && !st->user[0])
			kp_copy_field(st->user, sizeof(st->user), l + a, n - a);
		else if (kp_tok_len(l, n) == 4 && kp_starts_ci(l, n, "STLS"))
			st->tls_req = true;
		return 0;
	}
	if (st->proto == MAIL_IMAP) {
		/* "tag LOGIN user pass" / "tag STARTTLS" */
		a = kp_skip_sp(l, n, kp_tok_len(l, n));
		if (a < n && kp_tok_len(l + a, n - a) == 5 && kp_starts_ci(l + a, n - a, "LOGIN") &&
		    !st->user[0]) {
			size_t u = kp_skip_sp(l, n, a + 5), ul;

			if (u < n && l[u] == '"') {
				const uint8_t *q = memchr(l + u + 1, '"', n - u - 1);

				ul = q ? (size_t)(q - (l + u + 1)) : n - u - 1;
				u++;
			} else {
				ul = kp_tok_len(l + u, n - u);
			}
			kp_copy_field(st->user, sizeof(st->user), l + u, ul);
		} else if (a < n && kp_tok_len(l + a, n - a) == 8 &&
			   kp_starts_ci(l + a, n - a, "STARTTLS")) {
			st->tls_req = true;
		}
	}
	return 0;
}

static enum kp_parse_result mail_parse(struct kp_app_ctx *ctx, void *state)
{
	struct mail_state *st = state;
	unsigned dir = ctx->dir ? 1 : 0;

	if (st->done)
		return KP_PARSE_DONE;
	if (!st->proto && ctx->label) {
		if (ctx->label->app == KP_APP_SMTP)
			st->proto = MAIL_SMTP;
		else if (ctx->label->app == KP_APP_POP3)
			st->proto = MAIL_POP3;
		else if (ctx->label->app == KP_APP_IMAP)
			st->proto = MAIL_IMAP;
	}
	if (!st->proto)
		return KP_PARSE_DONE;
	if (ctx->gap)
		kp_linebuf_reset(&st->lb[dir]);
	st->dir = (uint8_t)dir;
	kp_linebuf_feed(&st->lb[dir], ctx->data, ctx->len, mail_line, st);
	return st->done ? KP_PARSE_DONE : KP_PARSE_MORE;
}

static void mail_json(const void *state, const struct kp_flow *f, struct kp_json *j)
{
	const struct mail_state *st = state;

	(void)f;
	if (st->proto == MAIL_SMTP) {
		kp_json_obj(j, "smtp");
		if (st->helo[0])
			kp_json_str(j, "helo", st->helo);
		if (st->mail_from[0])
			kp_json_str(j, "mail_from", st->mail_from);
		if (st->nrcpt) {
			kp_json_arr(j, "rcpt_to");
			for (unsigned i = 0; i < st->nrcpt; i++)
				kp_json_str(j, NULL, st->rcpt[i]);
			kp_json_end_arr(j);
		}
		kp_json_end(j);
	} else if (st->proto == MAIL_POP3 || st->proto == MAIL_IMAP) {
		kp_json_obj(j, st->proto == MAIL_POP3 ? "pop3" : "imap");
		if (st->user[0])
			kp_json_str(j, "user", st->user);
		kp_json_end(j);
	}
}

const struct kp_app_module kp_mod_mail = {
	.name = "mail",
	.l4 = KP_L4_TCP,
	.port_hints = {25, 587, 110, 143, 0},
	.probe = mail_probe,
	.state_size = sizeof(struct mail_state),
	.parse = mail_parse,
	.free_state = NULL,
	.json = mail_json,
};
