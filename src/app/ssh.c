/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SSH over TCP: the identification string both sides send first (RFC 4253 4.2),
 * "SSH-2.0-softwareversion [comments]\r\n" (or "SSH-1.99-", "SSH-1.5-" for
 * servers that also speak protocol 1). A server may send other lines before
 * it; a client may not. The probe matches a complete, well-formed line from
 * either side; the parser keeps each side's protocol and software version for
 * the "ssh" event object, as Suricata's EVE names them.
 */
#include <string.h>

#include "app/app.h"
#include "output/json.h"

#define SSH_LINE_MAX 255      /* identification line, CR LF included */
#define SSH_PREAMBLE_MAX 1024 /* server lines before it, in bytes */
#define SSH_PREAMBLE_LINES 8
#define SSH_FIELD_MAX 127

static const char *const ssh_protos[] = {"2.0-", "1.99-", "1.5-"};

enum line_res { L_NO, L_MORE, L_SSH, L_OTHER };

/*
 * Classifies the line at b (len bytes available): a valid identification line (*line_len
 * set to its length without the line end, *next to the start of the next line), another
 * complete line (L_OTHER, *next set), not SSH, or cut short.
 */
static enum line_res ident_line(const uint8_t *b, size_t len, bool allow_other, size_t *line_len,
				size_t *next)
{
	static const char pfx[] = "SSH-";
	size_t i, n = len < SSH_LINE_MAX ? len : SSH_LINE_MAX;
	bool ssh = true;
	const char *proto = NULL;

	for (i = 0; i < 4 && i < n; i++)
		if (b[i] != (uint8_t)pfx[i])
			ssh = false;
	if (ssh && n > 4) {
		ssh = false;
		for (size_t k = 0; k < sizeof(ssh_protos) / sizeof(ssh_protos[0]); k++) {
			size_t pl = strlen(ssh_protos[k]), m = n - 4 < pl ? n - 4 : pl;

			if (memcmp(b + 4, ssh_protos[k], m) == 0) {
				ssh = true;
				if (m == pl)
					proto = ssh_protos[k];
			}
		}
	}
	if (!ssh && !allow_other)
		return L_NO;
	for (i = 0; i < n; i++) {
		if (b[i] == '\n' || (b[i] == '\r' && (i + 1 == n || b[i + 1] == '\n')))
			break;
		/* identification: printable ASCII (space before comments); other lines: text */
		if (ssh ? (b[i] < 0x20 || b[i] > 0x7e) : (b[i] == 0))
			return L_NO;
	}
	if (i == n || (b[i] == '\r' && i + 1 == n)) /* no complete line end yet */
		return len >= SSH_LINE_MAX ? L_NO : L_MORE;
	*line_len = i;
	*next = i + (b[i] == '\r' ? 2 : 1);
	if (!ssh)
		return L_OTHER;
	if (!proto)
		return L_NO;
	size_t sv = 4 + strlen(proto);
	/* software version: at least one printable non-space character */
	if (sv >= i || b[sv] == ' ')
		return L_NO;
	return L_SSH;
}

/* One side's stream prefix: L_SSH, L_MORE or L_NO. */
static enum line_res side_probe(const uint8_t *b, size_t len, bool server)
{
	size_t off = 0;

	if (len == 0)
		return L_MORE;
	for (unsigned lines = 0; lines <= SSH_PREAMBLE_LINES; lines++) {
		size_t ll = 0, next = 0;
		enum line_res r = ident_line(b + off, len - off, server, &ll, &next);

		if (r != L_OTHER)
			return r;
		if (!server)
			return L_NO;
		off += next;
		if (off > SSH_PREAMBLE_MAX)
			return L_NO;
		if (off == len)
			return L_MORE;
	}
	return L_NO;
}

static enum kp_probe_result ssh_probe(const struct kp_app_ctx *ctx, struct kp_match *m)
{
	enum line_res c = side_probe(ctx->buf[0], ctx->buf_len[0], false);
	enum line_res s = side_probe(ctx->buf[1], ctx->buf_len[1], true);

	if (c == L_NO || s == L_NO)
		return KP_PROBE_EXCLUDE;
	if (c == L_SSH || s == L_SSH) {
		m->app = KP_APP_SSH;
		m->confidence = KP_CONF_HIGH;
		return KP_PROBE_MATCH;
	}
	return KP_PROBE_NEED_MORE;
}

struct ssh_side {
	char line[SSH_LINE_MAX + 1]; /* the line being collected */
	uint16_t have;
	uint16_t skipped; /* preamble bytes skipped */
	uint8_t lines;
	bool done, ok;
	char proto[8];
	char software[SSH_FIELD_MAX + 1];
};

struct ssh_state {
	struct ssh_side s[2];
};

static void side_line_done(struct ssh_side *sd, bool server)
{
	const uint8_t *b = (const uint8_t *)sd->line;
	size_t ll = 0, next = 0;
	enum line_res r = ident_line(b, sd->have, server, &ll, &next);

	if (r == L_OTHER && server && ++sd->lines <= SSH_PREAMBLE_LINES &&
	    sd->skipped + sd->have <= SSH_PREAMBLE_MAX) {
		sd->skipped = (uint16_t)(sd->skipped + sd->have);
		sd->have = 0;
		return;
	}
	sd->done = true;
	if (r != L_SSH)
		return;
	/* "SSH-" proto "-" software [" " comments] */
	const char *p = sd->line + 4, *dash = memchr(p, '-', ll - 4);
	size_t pl = (size_t)(dash - p), k = 0;

	if (pl >= sizeof(sd->proto))
		return;
	memcpy(sd->proto, p, pl);
	sd->proto[pl] = '\0';
	for (const char *q = dash + 1; q < sd->line + ll && *q != ' ' && k < SSH_FIELD_MAX; q++)
		sd->software[k++] = *q;
	sd->software[k] = '\0';
	sd->ok = true;
}

static void side_feed(struct ssh_side *sd, const uint8_t *b, size_t len, bool server)
{
	for (size_t i = 0; i < len && !sd->done; i++) {
		if (sd->have >= SSH_LINE_MAX) {
			sd->done = true;
			return;
		}
		sd->line[sd->have++] = (char)b[i];
		if (b[i] == '\n')
			side_line_done(sd, server);
	}
}

static enum kp_parse_result ssh_parse(struct kp_app_ctx *ctx, void *state)
{
	struct ssh_state *st = state;
	struct ssh_side *sd = &st->s[ctx->dir & 1];

	if (ctx->gap)
		sd->done = true;
	else if (!sd->done)
		side_feed(sd, ctx->data, ctx->len, ctx->dir == KP_DIR_TOCLIENT);
	return st->s[0].done && st->s[1].done ? KP_PARSE_DONE : KP_PARSE_MORE;
}

static void ssh_json(const void *state, const struct kp_flow *f, struct kp_json *j)
{
	const struct ssh_state *st = state;
	static const char *const key[2] = {"client", "server"};

	(void)f;
	if (!st->s[0].ok && !st->s[1].ok)
		return;
	kp_json_obj(j, "ssh");
	for (int d = 0; d < 2; d++) {
		if (!st->s[d].ok)
			continue;
		kp_json_obj(j, key[d]);
		kp_json_str(j, "proto_version", st->s[d].proto);
		kp_json_str(j, "software_version", st->s[d].software);
		kp_json_end(j);
	}
	kp_json_end(j);
}

const struct kp_app_module kp_mod_ssh = {
	.name = "ssh",
	.l4 = KP_L4_TCP,
	.port_hints = {22, 2222, 0},
	.probe = ssh_probe,
	.state_size = sizeof(struct ssh_state),
	.parse = ssh_parse,
	.json = ssh_json,
};
