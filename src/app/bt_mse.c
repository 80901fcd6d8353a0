/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Encrypted BitTorrent (MSE/PE, "Message Stream Encryption", Vuze/libtorrent spec)
 * recognised by behaviour, since no byte of it is readable. The handshake is:
 *
 *   1 A->B: Ya (96-byte DH public key, 768-bit prime) + PadA (0..512 random bytes)
 *   2 B->A: Yb + PadB (0..512 random bytes)
 *   3 A->B: HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S),
 *           ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)), ENCRYPT(IA)
 *   4 B->A: ENCRYPT(VC, crypto_select, len(PadD), PadD), ENCRYPT2(payload)
 *
 * A cannot send message 3 before it has Yb (it needs the shared secret S), and B
 * cannot send message 4 before message 3; B answers only once it has read enough
 * of A's bytes to tell an encrypted handshake from "\x13BitTorrent protocol".
 *
 * THE RULE (kp_bt_mse_verdict), on the TCP stream prefixes and first flights:
 *   R0  the flow was seen from its SYN (a flow picked up mid-stream shows no first
 *       flights) and no bytes were lost -> else EXCLUDE.
 *   R1  the client speaks first: server bytes with no client byte -> EXCLUDE.
 *   R2  the client's first flight (bytes before the server answered) is 96..608
 *       bytes: more than 608 while the server is silent -> EXCLUDE at once; fewer
 *       than 96 once the server answered -> EXCLUDE.
 *   R3  the server's first flight (bytes before the client spoke again) is 96..608
 *       bytes, judged the same way.
 *   R4  each first flight passes the randomness test below (judged on the bytes
 *       present as they arrive, so plaintext is excluded after a few bytes).
 *   R5  the client's next message has begun and its first 20 bytes (the SHA-1
 *       HASH('req1', S) sync marker) look random: at least 12 distinct byte values,
 *       no protocol magic, no printable run of 16. NEED_MORE until 20 bytes of it
 *       are present (when the probe buffer holds none of them because it is full,
 *       the content test of R5 is skipped).
 *   MATCH when R1..R5 hold; NEED_MORE before that.
 *
 * THE RANDOMNESS TEST (kp_bt_mse_looks_random), cheap and one pass over <= 608 bytes:
 *   T1  no known protocol magic at the start: a TLS record (0x14..0x17, 0x03,
 *       0x00..0x04), an SSLv2 hello (0x80|len, len, 0x01, 0x00/0x02/0x03);
 *       "SSH-" and HTTP methods are caught by T2 too but are named for early exit.
 *   T2  no run of 16 or more printable ASCII bytes (0x20..0x7e) anywhere. For random
 *       bytes the chance of such a run in 608 bytes is about 5e-5.
 *   T3  in the first 96 bytes (once present): at least 60 distinct byte values
 *       (random: mean 80, never below 65 in 200000 draws) and 24..72 bytes with the
 *       high bit set (random: mean 48, sd 4.9) - text and sparse binary fail.
 *   T4  once a flight is complete, it does not describe its own length (a 16-bit
 *       big-endian length at offset 0 equal to flight - 2, or two zero bytes at
 *       offset 0 as in a 32-bit length) nor start like an eDonkey packet (0xe3, 0xc5
 *       or 0xd4 then a little-endian length equal to flight - 5).
 *   False negatives on a genuine MSE exchange come only from T2/T3/T4 chance events
 *   (well under 1e-3 altogether) and from TCP gaps (the probe excludes on a gap).
 *
 * Known false positives by design: any fully encrypted protocol whose client
 * speaks first with 96..608 random bytes, is answered by 96..608 random bytes and
 * then speaks again (eDonkey/eMule obfuscation with its DH exchange, obfs4-like
 * pluggable transports, Shadowsocks-like proxies whose first flights land there).
 * That is why the label carries KP_CONF_LOW, raised to KP_CONF_MEDIUM only when the
 * peer cache says that the server addr:port spoke BitTorrent recently (noted from a
 * plaintext handshake, uTP, DHT, LSD, a tracker answer or a DHT get_peers answer), or
 * the client address did: that lookup is made with port 0 and hits only entries
 * noted with port 0 (the cache keys on addr:port exactly).
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "app/app.h"
#include "app/bt_mse.h"
#include "flow/flow.h"
#include "output/json.h"
#include "util/cursor.h"

#define MSE_PRINTABLE_RUN 16
#define MSE_MIN_DISTINCT 60
#define MSE_HIGHBIT_MIN 24
#define MSE_HIGHBIT_MAX 72
#define MSE_SYNC_LEN 20
#define MSE_SYNC_MIN_DISTINCT 12

static bool has_magic(const uint8_t *p, size_t len)
{
	static const char *const text[] = {"SSH-", "GET ", "POST", "HEAD", "PUT ", "HTTP",
					   "OPTI", "CONN", "\023Bit"};

	if (len >= 3 && p[0] >= 0x14 && p[0] <= 0x17 && p[1] == 0x03 && p[2] <= 0x04)
		return true; /* TLS record */
	if (len >= 4 && (p[0] & 0x80) && p[2] == 0x01 &&
	    (p[3] == 0x00 || p[3] == 0x02 || p[3] == 0x03))
		return true; /* SSLv2 client hello */
	for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++)
		if (kp_starts(p, len, text[i]))
			return true;
	return false;
}

static bool printable_run(const uint8_t *p, size_t len, size_t limit)
{
	size_t run = 0;

	for (size_t i = 0; i < len; i++) {
		run = p[i] >= 0x20 && p[i] <= 0x7e ? run + 1 : 0;
		if (run >= limit)
			return true;
	}
	return false;
}

static unsigned distinct(const uint8_t *p, size_t len)
{
	uint8_t seen[256] = {0};
	unsigned n = 0;

	for (size_t i = 0; i < len; i++)
		if (!seen[p[i]]++)
			n++;
	return n;
}

bool kp_bt_mse_looks_random(const uint8_t *p, size_t len)
{
	if (len == 0)
		return true;
	if (len > KP_BT_MSE_FLIGHT_MAX)
		len = KP_BT_MSE_FLIGHT_MAX;
	if (has_magic(p, len) || printable_run(p, len, MSE_PRINTABLE_RUN))
		return false;
	if (len >= KP_BT_MSE_KEY_LEN) {
		unsigned hi = 0;

		for (size_t i = 0; i < KP_BT_MSE_KEY_LEN; i++)
			hi += p[i] >> 7;
		if (distinct(p, KP_BT_MSE_KEY_LEN) < MSE_MIN_DISTINCT || hi < MSE_HIGHBIT_MIN ||
		    hi > MSE_HIGHBIT_MAX)
			return false;
	}
	return true;
}

/* T4: a complete flight that announces its own length is a framed protocol. */
static bool self_framed(const uint8_t *p, size_t avail, size_t flight)
{
	if (avail < 5)
		return false;
	if (kp_be16(p) == flight - 2 || (p[0] == 0 && p[1] == 0))
		return true;
	if ((p[0] == 0xe3 || p[0] == 0xc5 || p[0] == 0xd4) && kp_le32(p + 1) == flight - 5)
		return true;
	return false;
}

static size_t min_sz(size_t a, size_t b)
{
	return a < b ? a : b;
}

/*
 * The rule, with "has the client spoken again" given explicitly: the probe knows it
 * from the arrival order even when the probe buffer is too small to show it.
 */
static enum kp_probe_result mse_rule(const uint8_t *c2s, size_t c2s_len, size_t c_fl,
				     const uint8_t *s2c, size_t s2c_len, size_t s_fl,
				     bool client_again)
{
	size_t c_avail, s_avail, next;

	/* R1 */
	if (c2s_len == 0)
		return s2c_len ? KP_PROBE_EXCLUDE : KP_PROBE_NEED_MORE;
	/* R2 + R4 on the client's first flight; while the server is silent it is all of c2s. */
	if (s2c_len == 0 && c_fl < c2s_len)
		c_fl = c2s_len;
	if (c_fl > KP_BT_MSE_FLIGHT_MAX)
		return KP_PROBE_EXCLUDE;
	c_avail = min_sz(c2s_len, c_fl);
	if (!kp_bt_mse_looks_random(c2s, c_avail))
		return KP_PROBE_EXCLUDE;
	if (s2c_len == 0)
		return KP_PROBE_NEED_MORE;
	if (c_fl < KP_BT_MSE_KEY_LEN || self_framed(c2s, c_avail, c_fl))
		return KP_PROBE_EXCLUDE;

	/* R3 + R4 on the server's first flight. */
	if (!client_again && s_fl < s2c_len)
		s_fl = s2c_len;
	if (s_fl > KP_BT_MSE_FLIGHT_MAX)
		return KP_PROBE_EXCLUDE;
	s_avail = min_sz(s2c_len, s_fl);
	if (!kp_bt_mse_looks_random(s2c, s_avail))
		return KP_PROBE_EXCLUDE;
	if (!client_again)
		return KP_PROBE_NEED_MORE;
	if (s_fl < KP_BT_MSE_KEY_LEN || self_framed(s2c, s_avail, s_fl))
		return KP_PROBE_EXCLUDE;

	/* R5: the client's next message (its sync hash). */
	next = c2s_len > c_fl ? c2s_len - c_fl : 0;
	if (next == 0 && c2s_len >= c_fl)
		return KP_PROBE_NEED_MORE; /* spoke again, but the bytes are not here yet */
	if (next == 0)
		return KP_PROBE_MATCH; /* probe buffer full: the content test cannot run */
	if (has_magic(c2s + c_fl, next) || printable_run(c2s + c_fl, next, MSE_PRINTABLE_RUN))
		return KP_PROBE_EXCLUDE;
	if (next < MSE_SYNC_LEN)
		return KP_PROBE_NEED_MORE;
	if (distinct(c2s + c_fl, MSE_SYNC_LEN) < MSE_SYNC_MIN_DISTINCT)
		return KP_PROBE_EXCLUDE;
	return KP_PROBE_MATCH;
}

enum kp_probe_result kp_bt_mse_verdict(const uint8_t *c2s, size_t c2s_len, uint32_t c2s_flight,
				       const uint8_t *s2c, size_t s2c_len, uint32_t s2c_flight)
{
	if (!c2s)
		c2s_len = 0;
	if (!s2c)
		s2c_len = 0;
	return mse_rule(c2s, c2s_len, c2s_flight, s2c, s2c_len, s2c_flight,
			s2c_len > 0 && c2s_len > c2s_flight);
}

bool kp_bt_mse_rule(const uint8_t *c2s, size_t c2s_len, uint32_t c2s_flight, const uint8_t *s2c,
		    size_t s2c_len, uint32_t s2c_flight)
{
	return kp_bt_mse_verdict(c2s, c2s_len, c2s_flight, s2c, s2c_len, s2c_flight) ==
	       KP_PROBE_MATCH;
}

static enum kp_probe_result mse_probe(const struct kp_app_ctx *ctx, struct kp_match *m)
{
	size_t c_len = ctx->buf[0] ? ctx->buf_len[0] : 0, s_len = ctx->buf[1] ? ctx->buf_len[1] : 0;
	bool again;
	enum kp_probe_result r;

	if (ctx->l4 != IPPROTO_TCP || ctx->gap)
		return KP_PROBE_EXCLUDE;
	/* the rule reads the first flights: a flow picked up mid-stream has none to show */
	if (ctx->flow && !ctx->flow->syn_seen)
		return KP_PROBE_EXCLUDE;
	/*
	 * The client spoke again if its buffer holds more than its first flight, or if
	 * these new client bytes arrived while the server had already answered.
	 */
	again = s_len > 0 && (c_len > ctx->flight[0] || (ctx->dir == KP_DIR_TOSERVER && ctx->len));
	r = mse_rule(ctx->buf[0], c_len, ctx->flight[0], ctx->buf[1], s_len, ctx->flight[1], again);
	if (r != KP_PROBE_MATCH)
		return r;
	m->app = KP_APP_BITTORRENT;
	m->confidence = KP_CONF_LOW;
	if (ctx->saddr && kp_peer_seen(ctx, ctx->family, ctx->saddr, ctx->sport, KP_APP_BITTORRENT))
		m->confidence = KP_CONF_MEDIUM;
	else if (ctx->caddr && kp_peer_seen(ctx, ctx->family, ctx->caddr, 0, KP_APP_BITTORRENT))
		m->confidence = KP_CONF_MEDIUM;
	return KP_PROBE_MATCH;
}

/*
 * Nothing is learned beyond the label, but the event must say how it was recognised:
 * the engine writes a module's object only for flows that have module state.
 */
struct bt_mse_state {
	uint8_t unused;
};

static void mse_json(const void *state, const struct kp_flow *f, struct kp_json *j)
{
	(void)state;
	(void)f;
	kp_json_obj(j, "bittorrent");
	kp_json_str(j, "transport", "tcp");
	kp_json_str(j, "encryption", "mse");
	kp_json_end(j);
}

const struct kp_app_module kp_mod_bt_mse = {
	.name = "bt_mse",
	.l4 = KP_L4_TCP,
	.port_hints = {0},
	.probe = mse_probe,
	.state_size = sizeof(struct bt_mse_state),
	.parse = NULL,
	.free_state = NULL,
	.json = mse_json,
};
