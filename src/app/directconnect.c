/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Direct Connect: NMDC and ADC. NMDC (hub and client-client) is text commands
 * "$Cmd args" each closed by '|'; a hub opens with "$Lock EXTENDEDPROTOCOL...",
 * a client-client connection with "$MyNick x|$Lock ...|". ADC is lines closed
 * by '\n' with a four-letter command ("HSUP ADBASE ADTIGR", "ISUP ...",
 * "CSUP ...", "BINF ...", "IINF ..."). UDP: NMDC search results "$SR ...|" and
 * ADC "URES <cid> ..." / "UINF <cid> ...". The probe verifies the first
 * command's keyword, its character set and its terminator; the parser learns
 * the user's nick and the hub's name.
 */
#include "app/app.h"

#include <netinet/in.h>
#include <string.h>

#include "output/json.h"

#define DC_CMD_MAX 1024 /* longest first command the probe waits for */
#define DC_LINE_MAX 384

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

static enum kp_parse_result dc_parse(struct kp_app_ctx *ctx, void *state)
{
	struct dc_state *st = state;
	unsigned d = ctx->dir & 1;

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
		return KP_PARSE_DONE;
	}
	if (ctx->gap)
		st->dead[d] = true;
	for (size_t i = 0; i < ctx->len && !st->dead[d]; i++) {
		uint8_t ch = ctx->data[i];

		if (!st->proto && st->line_len[d] == 0)
			st->proto = ch == '$' ? 1 : 2;
		if ((st->proto == 1 && ch == '|') || (st->proto == 2 && ch == '\n')) {
			if (!st->line_over[d]) {
				if (st->proto == 1)
					nmdc_cmd(st, d, st->line[d], st->line_len[d]);
				else
					adc_cmd(st, d, st->line[d], st->line_len[d]);
			}
			st->line_len[d] = 0;
			st->line_over[d] = false;
			if (++st->cmds >= 64)
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
	kp_json_end(j);
}

const struct kp_app_module kp_mod_directconnect = {
    .name = "directconnect",
    .l4 = KP_L4_TCP | KP_L4_UDP,
    .port_hints = {411, 412, 1511, 0},
    .probe = dc_probe,
    .state_size = sizeof(struct dc_state),
    .parse = dc_parse,
    .free_state = NULL,
    .json = dc_json,
};
