/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * BitTorrent by content: the peer-wire handshake over TCP (BEP 3), and over UDP
 * uTP (BEP 29, with the peer-wire handshake inside its DATA packets), the DHT
 * (BEP 5, bencoded KRPC), the UDP tracker protocol (BEP 15) and Local Service
 * Discovery (BEP 14). HTTP trackers belong to the http module; encrypted peer
 * connections (MSE/PE) to bt_mse.c.
 *
 * What each probe verifies:
 * - TCP: a side's stream starts with "\x13BitTorrent protocol"; match once one side
 *   shows the whole fixed part (magic, 8 reserved bytes, 20-byte info_hash = 48
 *   bytes; the 20-byte peer_id may come later). Either side may speak first. A
 *   side whose first bytes differ from the magic excludes the flow unless the
 *   other side already matched.
 * - UDP, one datagram is enough when it is: a complete KRPC dict (bencode walked,
 *   t/y/q/a/r/e checked, 20-byte node id); a tracker connect request (64-bit magic
 *   0x41727101980, action 0, exactly 16 bytes); an LSD "BT-SEARCH * HTTP/1.1"
 *   announce with a 40-hex-digit Infohash and a Port header; a uTP DATA packet
 *   (valid header and extension chain) whose payload starts with the handshake.
 * - UDP, otherwise consistency across packets: uTP ST_SYN from the client answered
 *   by a uTP packet carrying the same connection id and acking the SYN's seq_nr;
 *   first uTP packets of both sides whose connection ids differ by one (data phase)
 *   with the ack of one near the seq of the other; three packets or more from one
 *   side with one connection id and a seq_nr that advances at most one per packet;
 *   a tracker request and an answer of the same action carrying its transaction id.
 *   Every first datagram of the flow must be one of these kinds, or the flow is
 *   excluded.
 *
 * On a match the peer cache learns BitTorrent endpoints: the server addr:port (TCP,
 * tracker), both ends (uTP, DHT), the LSD sender with its announced port; the parser
 * adds the peers of tracker announce answers and of DHT get_peers answers ("values").
 * The parser keeps info_hash (handshake > tracker announce / LSD > DHT get_peers
 * target, which libtorrent may obfuscate), the peer_id of each side, and the transport.
 *
 * Content management (content/content.h), while kp_app_files_wanted(): the
 * info_hash of every handshake (each direction, TCP and uTP), UDP tracker
 * announce and LSD announce goes to kp_app_hash_seen(); on TCP the messages
 * after each direction's handshake are read by bt_wire.c (piece blocks to
 * kp_app_piece(), metadata fetched by ut_metadata checked and its files listed).
 * Not read: messages inside uTP (no reordering here) and MSE/PE streams (no
 * plaintext: bt_mse.c only recognises them). HTTP tracker announces are the
 * http module's.
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "app/app.h"
#include "flow/flow.h"
#include "app/bencode.h"
#include "app/bittorrent.h"
#include "app/bt_mse.h"
#include "app/bt_wire.h"
#include "content/content.h"
#include "output/json.h"
#include "util/cursor.h"

#define BT_MAGIC "\x13" "BitTorrent protocol"
#define BT_MAGIC_LEN 20
#define BT_HS_FIXED 48 /* magic + reserved + info_hash */
#define BT_HS_LEN 68   /* ... + peer_id */

#define BT_TRACKER_MAGIC 0x41727101980ULL
#define BT_LSD_START "BT-SEARCH * HTTP/1.1\r\n"

#define UTP_HDR_LEN 20
#define UTP_MAX_EXT 8
#define UTP_DATA 0
#define UTP_FIN 1
#define UTP_STATE 2
#define UTP_RESET 3
#define UTP_SYN 4

/* Give up on a UDP flow after this many datagrams without a decision. */
#define BT_UDP_MAX_PROBE_PKTS 16
/* Parse at most this many UDP datagrams of a flow. */
#define BT_UDP_MAX_PARSE_PKTS 64
/* Peers noted from one tracker answer or DHT get_peers answer, at most. */
#define BT_MAX_TRACKER_PEERS 200

enum bt_transport {
	BT_T_NONE = 0,
	BT_T_TCP,
	BT_T_UTP,
	BT_T_DHT,
	BT_T_TRACKER,
	BT_T_LSD,
};

static const char *const bt_transport_names[] = {
	[BT_T_NONE] = NULL,  [BT_T_TCP] = "tcp",         [BT_T_UTP] = "utp",
	[BT_T_DHT] = "dht",  [BT_T_TRACKER] = "tracker", [BT_T_LSD] = "lsd",
};

/*
 * Sources of an info_hash, weakest first: a DHT get_peers target may be an
 * obfuscated lookup key (libtorrent masks the low bits when far from the target),
 * a tracker or LSD names the torrent, a handshake names the connection's torrent.
 */
enum bt_hash_src {
	BT_H_NONE = 0,
	BT_H_DHT,
	BT_H_ANNOUNCE,
	BT_H_HANDSHAKE,
};

struct bt_state {
	uint8_t transport;       /* enum bt_transport */
	bool have_hash;
	uint8_t hash_prio;       /* where info_hash came from: enum bt_hash_src */
	bool have_peer_id[2];    /* by direction */
	uint8_t info_hash[20];
	uint8_t peer_id[2][20];
	uint8_t hs[2][BT_HS_LEN]; /* TCP: handshake bytes collected per direction */
	uint8_t hs_len[2];
	bool hs_done[2];
	uint32_t udp_pkts;
	bool utp_data_seen[2];   /* uTP: the first DATA payload of each direction was judged */
	bool utp_mse;            /* uTP: a first DATA payload was an MSE/PE key, not the handshake */
	bool wire_on[2];         /* TCP: the direction's messages are read (files wanted) */
	struct kp_bt_wire *wire; /* TCP: the message reader (bt_wire.c), made when first needed */
};

/* ---------------------------------------------------------------------------------------- */
/* Bencode (the reader is bencode.c) */

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

enum kp_benc_result kp_bt_benc_walk(const uint8_t *p, size_t len, size_t *end)
{
	return kp_benc_walk(p, len, end);
}

/* dict d has a key k whose value is a string of exactly n bytes; returns it. */
static const uint8_t *benc_dict_str_n(const struct kp_benc *d, const char *k, size_t n)
{
	struct kp_benc v;
	const uint8_t *s;
	size_t sn;

	if (!kp_benc_dict_get(d, k, &v) || !kp_benc_str(&v, &s, &sn) || sn != n)
		return NULL;
	return s;
}

bool kp_bt_krpc_check(const uint8_t *p, size_t len, uint8_t info_hash[20], bool *have_hash)
{
	struct kp_benc msg = {p, len}, v, args;
	const uint8_t *s;
	size_t end, n;

	if (len < 2 || p[0] != 'd')
		return false;
	if (kp_bt_benc_walk(p, len, &end) != KP_BENC_OK || end != len)
		return false;
	if (!kp_benc_dict_get(&msg, "t", &v) || !kp_benc_str(&v, &s, &n) || n > 64)
		return false;
	if (!kp_benc_dict_get(&msg, "y", &v) || !kp_benc_str(&v, &s, &n) || n != 1)
		return false;
	switch (s[0]) {
	case 'q':
		if (!kp_benc_dict_get(&msg, "q", &v) || !kp_benc_str(&v, &s, &n) || n == 0 ||
		    n > 64)
			return false;
		for (size_t i = 0; i < n; i++)
			if (s[i] < 0x21 || s[i] > 0x7e)
				return false; /* method names are printable */
		if (!kp_benc_dict_get(&msg, "a", &args) || args.p[0] != 'd')
			return false;
		if (!benc_dict_str_n(&args, "id", 20))
			return false;
		if (info_hash && have_hash) {
			const uint8_t *ih = benc_dict_str_n(&args, "info_hash", 20);

			if (ih) {
				memcpy(info_hash, ih, 20);
				*have_hash = true;
			}
		}
		return true;
	case 'r':
		if (!kp_benc_dict_get(&msg, "r", &args) || args.p[0] != 'd')
			return false;
		return benc_dict_str_n(&args, "id", 20) != NULL;
	case 'e':
		return kp_benc_dict_get(&msg, "e", &v) && v.p[0] == 'l';
	default:
		return false;
	}
}

/* ---------------------------------------------------------------------------------------- */
/* Peer-wire handshake */

enum hs_result {
	HS_BAD = 0, /* not the handshake */
	HS_PREFIX,  /* a prefix of the fixed part: need more */
	HS_FIXED,   /* magic + reserved + info_hash present */
};

static enum hs_result hs_check(const uint8_t *p, size_t len)
{
	size_t n = len < BT_MAGIC_LEN ? len : BT_MAGIC_LEN;

	if (memcmp(p, BT_MAGIC, n) != 0)
		return HS_BAD;
	return len >= BT_HS_FIXED ? HS_FIXED : HS_PREFIX;
}

/* ---------------------------------------------------------------------------------------- */
/* uTP */

struct utp_hdr {
	uint8_t type;
	uint16_t conn_id;
	uint32_t ts;
	uint16_t seq, ack;
	size_t payload_off;
};

/*
 * Parses a uTP header (BEP 29): version 1, type 0..4, extension chain well formed
 * (types 1 selective ack: 4n bytes, 2 extension bits: 8 bytes, 3 close reason
 * (libtorrent): 4 bytes; at most UTP_MAX_EXT), ST_STATE/ST_RESET/ST_SYN without
 * payload, ST_DATA with payload.
 */
static bool utp_parse(const uint8_t *p, size_t len, struct utp_hdr *h)
{
	size_t off = UTP_HDR_LEN;
	unsigned next, n = 0;

	if (len < UTP_HDR_LEN || (p[0] & 0x0f) != 1 || (p[0] >> 4) > UTP_SYN || p[1] > 3)
		return false;
	h->type = p[0] >> 4;
	h->conn_id = kp_be16(p + 2);
	h->ts = kp_be32(p + 4);
	h->seq = kp_be16(p + 16);
	h->ack = kp_be16(p + 18);
	next = p[1];
	while (next) {
		unsigned nx, elen;

		if (++n > UTP_MAX_EXT || len - off < 2)
			return false;
		nx = p[off];
		elen = p[off + 1];
		if (nx > 3)
			return false;
		if ((next == 1 && (elen < 4 || elen % 4)) || (next == 2 && elen != 8) ||
		    (next == 3 && elen != 4))
			return false;
		if (len - off - 2 < elen)
			return false;
		off += 2 + elen;
		next = nx;
	}
	h->payload_off = off;
	if (h->type == UTP_DATA && off == len)
		return false;
	if ((h->type == UTP_STATE || h->type == UTP_RESET || h->type == UTP_SYN) && off != len)
		return false;
	return true;
}

static uint16_t u16_dist(uint16_t a, uint16_t b)
{
	uint16_t d = (uint16_t)(a - b), e = (uint16_t)(b - a);

	return d < e ? d : e;
}

/*
 * First packets of the two sides belong to one uTP connection: a SYN answered with
 * its connection id and seq_nr acked, or data-phase packets whose connection ids
 * differ by one (send id = receive id + 1) and whose seq/ack numbers are close.
 */
static bool utp_pair(const struct utp_hdr *c, const struct utp_hdr *s)
{
	if (c->type == UTP_SYN)
		return s->type != UTP_SYN && s->conn_id == c->conn_id && s->ack == c->seq;
	if (s->type == UTP_SYN)
		return false;
	if ((uint16_t)(c->conn_id - s->conn_id) != 1 && (uint16_t)(s->conn_id - c->conn_id) != 1)
		return false;
	return u16_dist(s->ack, c->seq) < 1024 || u16_dist(c->ack, s->seq) < 1024;
}

/* ---------------------------------------------------------------------------------------- */
/* UDP tracker (BEP 15) */

static bool trk_connect_req(const uint8_t *p, size_t len)
{
	return len == 16 && ((uint64_t)kp_be32(p) << 32 | kp_be32(p + 4)) == BT_TRACKER_MAGIC &&
	       kp_be32(p + 8) == 0;
}

/* Plausible client message: returns its action (0..2) or -1; *tid its transaction id. */
static int trk_request(const uint8_t *p, size_t len, uint32_t *tid)
{
	uint32_t action;

	if (len < 16)
		return -1;
	action = kp_be32(p + 8);
	*tid = kp_be32(p + 12);
	if (action == 0)
		return trk_connect_req(p, len) ? 0 : -1;
	if (action == 1 && len >= 98 && kp_be32(p + 80) <= 3)
		return 1;
	if (action == 2 && len >= 36 && (len - 16) % 20 == 0)
		return 2;
	return -1;
}

/* Plausible tracker answer: returns its action (0..3) or -1; *tid its transaction id. */
static int trk_answer(const uint8_t *p, size_t len, uint32_t *tid)
{
	uint32_t action;

	if (len < 8)
		return -1;
	action = kp_be32(p);
	*tid = kp_be32(p + 4);
	if (action == 0 && len == 16)
		return 0;
	if (action == 1 && len >= 20 && ((len - 20) % 6 == 0 || (len - 20) % 18 == 0))
		return 1;
	if (action == 2 && (len - 8) % 12 == 0)
		return 2;
	if (action == 3)
		return 3;
	return -1;
}

/* ---------------------------------------------------------------------------------------- */
/* LSD (BEP 14) */

/*
 * "BT-SEARCH * HTTP/1.1\r\n" followed by header lines; requires "Port: n" (1..65535)
 * and "Infohash: <40 hex>". Returns the port, and the first info hash if ih != NULL.
 */
static bool lsd_parse(const uint8_t *p, size_t len, uint16_t *port, uint8_t ih[20])
{
	size_t off = strlen(BT_LSD_START);
	bool have_port = false, have_ih = false;
	unsigned lines = 0;

	if (!kp_starts(p, len, BT_LSD_START))
		return false;
	while (off < len && lines++ < 32) {
		const uint8_t *l = p + off;
		long ll = kp_line_len(l, len - off);
		size_t n;

		if (ll < 0)
			break;
		n = (size_t)ll;
		if (n == 0)
			break; /* end of headers */
		if (kp_starts_ci(l, n, "Port:")) {
			size_t i = 5;
			uint32_t v = 0;

			while (i < n && l[i] == ' ')
				i++;
			if (i == n)
				return false;
			for (; i < n && is_digit(l[i]) && v <= 65535; i++)
				v = v * 10 + (uint32_t)(l[i] - '0');
			while (i < n && l[i] == ' ')
				i++;
			if (i != n || v == 0 || v > 65535)
				return false;
			*port = (uint16_t)v;
			have_port = true;
		} else if (kp_starts_ci(l, n, "Infohash:") && !have_ih) {
			size_t i = 9;

			while (i < n && l[i] == ' ')
				i++;
			if (n - i < 40)
				return false;
			for (unsigned k = 0; k < 20; k++) {
				int hi = kp_hex_val(l[i + 2 * k]);
				int lo = kp_hex_val(l[i + 2 * k + 1]);

				if (hi < 0 || lo < 0)
					return false;
				if (ih)
					ih[k] = (uint8_t)(hi << 4 | lo);
			}
			have_ih = true;
		}
		off += (size_t)ll + (l[ll] == '\r' ? 2 : 1);
	}
	return have_port && have_ih;
}

/* ---------------------------------------------------------------------------------------- */
/* UDP datagram kinds */

enum udp_kind {
	K_NONE = 0,
	K_DHT,         /* complete KRPC message */
	K_LSD,
	K_TRK_CONNECT, /* connect request with the protocol magic */
	K_TRK_REQ,     /* other plausible tracker request (announce, scrape) */
	K_TRK_ANS,     /* plausible tracker answer */
	K_UTP,         /* valid uTP header */
	K_UTP_HS,      /* uTP DATA carrying the peer-wire handshake */
	K_PARTIAL,     /* bencode cut short by the datagram end (IP fragment?): undecided */
};

/*
 * Classifies one datagram. dir tells whether a tracker request or answer is plausible.
 * *utp is filled for K_UTP / K_UTP_HS.
 */
static enum udp_kind udp_kind(const uint8_t *p, size_t len, uint8_t dir, struct utp_hdr *utp)
{
	bool partial = false;
	uint32_t tid;
	uint16_t port;
	size_t end;

	if (len == 0)
		return K_NONE;
	if (p[0] == 'd') {
		if (kp_bt_krpc_check(p, len, NULL, NULL))
			return K_DHT;
		partial = len >= 512 && kp_bt_benc_walk(p, len, &end) == KP_BENC_TRUNCATED;
	}
	if (p[0] == 'B' && lsd_parse(p, len, &port, NULL))
		return K_LSD;
	if (trk_connect_req(p, len))
		return K_TRK_CONNECT;
	if (utp_parse(p, len, utp)) {
		if (utp->type == UTP_DATA &&
		    hs_check(p + utp->payload_off, len - utp->payload_off) == HS_FIXED)
			return K_UTP_HS;
		return K_UTP;
	}
	/* A tracker request starts with a random connection id: it may begin with 'd'. */
	if (dir == KP_DIR_TOSERVER && trk_request(p, len, &tid) >= 0)
		return K_TRK_REQ;
	if (dir == KP_DIR_TOCLIENT && trk_answer(p, len, &tid) >= 0)
		return K_TRK_ANS;
	return partial ? K_PARTIAL : K_NONE;
}

/* ---------------------------------------------------------------------------------------- */
/* Probe */

/*
 * The peer cache learns the BitTorrent ends of a matched flow. Probes get a const
 * context; noting a peer changes the engine's cache, not the context.
 */
static void note_peer(const struct kp_app_ctx *ctx, const uint8_t *addr, uint16_t port)
{
	if (!addr || !port || (ctx->family != AF_INET && ctx->family != AF_INET6))
		return;
	kp_peer_note(ctx, ctx->family, addr, port, KP_APP_BITTORRENT);
}

static enum kp_probe_result match(struct kp_match *m)
{
	m->app = KP_APP_BITTORRENT;
	m->confidence = KP_CONF_HIGH;
	return KP_PROBE_MATCH;
}

/* ---------------------------------------------------------------------------------------- */
/* Peer-wire messages without the handshake (a capture that starts mid-connection) */

enum pw_result {
	PW_BAD = 0,  /* not a sequence of peer-wire messages */
	PW_PARTIAL,  /* valid so far, not enough to tell */
	PW_MATCH,    /* two complete messages, or a 16 KiB block transfer message */
};

#define PW_BLOCK 16384u     /* the block size every client requests */
#define PW_MAX_BLOCK 131072u

/* Is (len, id, body) a well-formed message (BEP 3, fast extension BEP 6, BEP 10)? */
static bool pw_msg_ok(uint32_t len, uint8_t id, const uint8_t *body, size_t have)
{
	switch (id) {
	case 0: case 1: case 2: case 3: case 14: case 15: /* choke .. not interested, have all/none */
		return len == 1;
	case 4: case 13: case 17: /* have, suggest, allowed fast: piece index */
		return len == 5;
	case 5: /* bitfield */
		return len >= 2 && len <= 65536;
	case 6: case 8: case 16: /* request, cancel, reject: index, begin, length */
		if (len != 13)
			return false;
		if (have >= 12) {
			uint32_t blen = kp_be32(body + 8);

			return blen > 0 && blen <= PW_MAX_BLOCK;
		}
		return true;
	case 7: /* piece: index, begin, block */
		return len > 9 && len <= 9 + PW_MAX_BLOCK;
	case 9: /* DHT port */
		return len == 3;
	case 20: /* extended */
		return len >= 2 && len <= (1u << 20);
	default:
		return false;
	}
}

/*
 * Walks buf as consecutive peer-wire messages <u32 length><u8 id><body>. A
 * match needs two complete non-keep-alive messages, or a piece/request of
 * exactly one 16 KiB block at a block-aligned offset (what every client sends).
 */
static enum pw_result pw_walk(const uint8_t *p, size_t len)
{
	size_t off = 0;
	unsigned complete = 0;

	while (off + 4 <= len) {
		uint32_t l = kp_be32(p + off);
		const uint8_t *body;
		size_t have;

		if (l == 0) { /* keep-alive */
			off += 4;
			continue;
		}
		if (off + 5 > len)
			break;
		body = p + off + 5;
		have = len - off - 5;
		if (!pw_msg_ok(l, p[off + 4], body, have))
			return PW_BAD;
		if (have >= 8 && (p[off + 4] == 7 || p[off + 4] == 6) &&
		    kp_be32(body + 4) % PW_BLOCK == 0 &&
		    (p[off + 4] == 7 ? l == 9 + PW_BLOCK : have >= 12 && kp_be32(body + 8) == PW_BLOCK))
			return PW_MATCH;
		if (l - 1 > have)
			break; /* the message goes on beyond what we have */
		off += 5 + (l - 1);
		if (++complete >= 2)
			return PW_MATCH;
	}
	return PW_PARTIAL;
}

static enum kp_probe_result probe_tcp(const struct kp_app_ctx *ctx, struct kp_match *m)
{
	enum hs_result r[2] = {HS_PREFIX, HS_PREFIX};
	/* no SYN seen: the capture may have begun after the handshakes */
	bool midstream = ctx->flow && !ctx->flow->syn_seen;
	enum pw_result pw[2] = {PW_PARTIAL, PW_PARTIAL};

	for (unsigned d = 0; d < 2; d++)
		if (ctx->buf[d] && ctx->buf_len[d]) {
			r[d] = hs_check(ctx->buf[d], ctx->buf_len[d]);
			if (r[d] == HS_BAD && midstream)
				pw[d] = pw_walk(ctx->buf[d], ctx->buf_len[d]);
		}
	if (r[0] == HS_FIXED || r[1] == HS_FIXED) {
		note_peer(ctx, ctx->saddr, ctx->sport);
		return match(m);
	}
	if (midstream && (pw[0] == PW_MATCH || pw[1] == PW_MATCH) &&
	    (r[0] != HS_BAD || pw[0] != PW_BAD) && (r[1] != HS_BAD || pw[1] != PW_BAD)) {
		note_peer(ctx, ctx->saddr, ctx->sport);
		match(m);
		m->confidence = KP_CONF_MEDIUM;
		return KP_PROBE_MATCH;
	}
	if ((r[0] == HS_BAD && pw[0] != PW_PARTIAL) || (r[1] == HS_BAD && pw[1] != PW_PARTIAL) ||
	    (!midstream && (r[0] == HS_BAD || r[1] == HS_BAD)))
		return KP_PROBE_EXCLUDE;
	return KP_PROBE_NEED_MORE;
}

static enum kp_probe_result probe_udp(const struct kp_app_ctx *ctx, struct kp_match *m)
{
	struct utp_hdr cur, first[2];
	enum udp_kind k, fk[2] = {K_NONE, K_NONE};
	uint32_t tid0 = 0, tid1 = 0;
	uint16_t port = 0;

	if (!ctx->data || ctx->len == 0)
		return KP_PROBE_NEED_MORE;
	k = udp_kind(ctx->data, ctx->len, ctx->dir, &cur);
	switch (k) {
	case K_NONE:
		return KP_PROBE_EXCLUDE;
	case K_LSD:
		/* Multicast announce: the sender listens on the announced port. */
		if (lsd_parse(ctx->data, ctx->len, &port, NULL) && ctx->dir == KP_DIR_TOSERVER)
			note_peer(ctx, ctx->caddr, port);
		return match(m);
	case K_DHT:
	case K_UTP_HS:
		note_peer(ctx, ctx->saddr, ctx->sport);
		note_peer(ctx, ctx->caddr, ctx->cport);
		return match(m);
	case K_TRK_CONNECT:
		note_peer(ctx, ctx->saddr, ctx->sport);
		return match(m);
	default:
		break;
	}

	/* Every first datagram must be a BitTorrent kind. */
	for (unsigned d = 0; d < 2; d++) {
		if (!ctx->buf[d] || !ctx->buf_len[d]) {
			fk[d] = K_NONE;
			continue;
		}
		fk[d] = udp_kind(ctx->buf[d], ctx->buf_len[d], (uint8_t)d, &first[d]);
		if (fk[d] == K_NONE)
			return KP_PROBE_EXCLUDE;
	}

	/* uTP: the two sides' first packets belong to one connection. */
	if ((fk[0] == K_UTP || fk[0] == K_UTP_HS) && (fk[1] == K_UTP || fk[1] == K_UTP_HS) &&
	    utp_pair(&first[0], &first[1]))
		goto utp_match;
	/* uTP: a run of packets from one side with one connection id. */
	if (k == K_UTP && ctx->npkts[ctx->dir] >= 3 &&
	    (fk[ctx->dir] == K_UTP || fk[ctx->dir] == K_UTP_HS)) {
		const struct utp_hdr *f = &first[ctx->dir];
		uint16_t adv = (uint16_t)(cur.seq - f->seq);
		uint32_t dts = cur.ts - f->ts;

		if (cur.conn_id == f->conn_id && adv < ctx->npkts[ctx->dir] && dts < 0x80000000u)
			goto utp_match;
	}
	/* UDP tracker: request and answer of the same action and transaction id. */
	if (ctx->buf[0] && ctx->buf[1] && (fk[0] == K_TRK_REQ || fk[0] == K_TRK_CONNECT) &&
	    fk[1] == K_TRK_ANS) {
		int a0 = trk_request(ctx->buf[0], ctx->buf_len[0], &tid0);
		int a1 = trk_answer(ctx->buf[1], ctx->buf_len[1], &tid1);

		if (tid0 == tid1 && (a0 == a1 || a1 == 3)) {
			note_peer(ctx, ctx->saddr, ctx->sport);
			return match(m);
		}
		return KP_PROBE_EXCLUDE;
	}
	if (ctx->npkts[0] + ctx->npkts[1] >= BT_UDP_MAX_PROBE_PKTS)
		return KP_PROBE_EXCLUDE;
	return KP_PROBE_NEED_MORE;

utp_match:
	note_peer(ctx, ctx->saddr, ctx->sport);
	note_peer(ctx, ctx->caddr, ctx->cport);
	return match(m);
}

static enum kp_probe_result bt_probe(const struct kp_app_ctx *ctx, struct kp_match *m)
{
	if (ctx->l4 == IPPROTO_TCP)
		return probe_tcp(ctx, m);
	if (ctx->l4 == IPPROTO_UDP)
		return probe_udp(ctx, m);
	return KP_PROBE_EXCLUDE;
}

/* ---------------------------------------------------------------------------------------- */
/* Parse */

static void set_transport(struct bt_state *st, enum bt_transport t)
{
	/* A peer connection (uTP) says more than the DHT chatter sharing its socket. */
	if (st->transport == BT_T_NONE || (t == BT_T_UTP && st->transport == BT_T_DHT))
		st->transport = (uint8_t)t;
}

static void set_hash(struct bt_state *st, const uint8_t *ih, enum bt_hash_src src)
{
	if (src <= st->hash_prio)
		return;
	memcpy(st->info_hash, ih, 20);
	st->have_hash = true;
	st->hash_prio = (uint8_t)src;
}

/* An object id for the content rules (hash lists), when the policy wants files. */
static void hash_seen(struct kp_app_ctx *ctx, const uint8_t *ih)
{
	if (kp_app_files_wanted(ctx))
		kp_app_hash_seen(ctx, KP_HASH_BT_INFOHASH, ih, 20);
}

/*
 * Takes info_hash and peer_id from a complete handshake sent in direction dir.
 * False if it is not one.
 */
static bool take_handshake(struct kp_app_ctx *ctx, struct bt_state *st, const uint8_t *hs,
			   size_t len, uint8_t dir)
{
	if (len < BT_HS_FIXED || hs_check(hs, len) != HS_FIXED)
		return false;
	set_hash(st, hs + 28, BT_H_HANDSHAKE);
	hash_seen(ctx, hs + 28);
	if (len >= BT_HS_LEN && !st->have_peer_id[dir & 1]) {
		memcpy(st->peer_id[dir & 1], hs + 48, 20);
		st->have_peer_id[dir & 1] = true;
	}
	return true;
}

/*
 * TCP: the handshake of each direction, then (while the policy wants files) the
 * messages after it (bt_wire.c: pieces, extension handshake, ut_metadata).
 */
static enum kp_parse_result parse_tcp(struct kp_app_ctx *ctx, struct bt_state *st)
{
	uint8_t d = ctx->dir & 1;
	const uint8_t *p = ctx->data;
	size_t len = p ? ctx->len : 0, n;
	bool gap = ctx->gap, files = kp_app_files_wanted(ctx);

	st->transport = BT_T_TCP;
	if (!st->hs_done[d] && len) {
		if (gap) {
			st->hs_done[d] = true; /* lost bytes: the handshake is gone */
			return KP_PARSE_MORE;
		}
		n = BT_HS_LEN - st->hs_len[d];
		if (n > len)
			n = len;
		memcpy(st->hs[d] + st->hs_len[d], p, n);
		st->hs_len[d] = (uint8_t)(st->hs_len[d] + n);
		p += n;
		len -= n;
		if (hs_check(st->hs[d], st->hs_len[d]) == HS_BAD) {
			st->hs_done[d] = true;
		} else if (st->hs_len[d] == BT_HS_LEN) {
			st->wire_on[d] = take_handshake(ctx, st, st->hs[d], st->hs_len[d], d);
			st->hs_done[d] = true;
		}
		gap = false;
	}
	if (!files)
		return st->hs_done[0] && st->hs_done[1] ? KP_PARSE_DONE : KP_PARSE_MORE;
	if (st->wire_on[d] && !st->wire && !(st->wire = calloc(1, sizeof(*st->wire))))
		st->wire_on[0] = st->wire_on[1] = false; /* no memory: no content */
	if (st->wire_on[d] && st->have_hash && (len || gap))
		kp_bt_wire_feed(ctx, st->wire, st->info_hash, d, p, len, gap);
	for (unsigned i = 0; i < 2; i++)
		if (!st->hs_done[i] || (st->wire_on[i] && !st->wire->d[i].dead))
			return KP_PARSE_MORE;
	return KP_PARSE_DONE;
}

/* Notes the peers of a tracker announce answer (compact IPv4 or IPv6 entries). */
static void note_tracker_peers(struct kp_app_ctx *ctx, const uint8_t *p, size_t len)
{
	int family = ctx->family;
	size_t step;

	if (family != AF_INET && family != AF_INET6) {
		/* Address family unknown while parsing: only an IPv4-only length is certain. */
		if ((len - 20) % 18 == 0)
			return;
		family = AF_INET;
	}
	step = family == AF_INET ? 6 : 18;
	if ((len - 20) % step)
		return;
	for (size_t off = 20, n = 0; off + step <= len && n < BT_MAX_TRACKER_PEERS;
	     off += step, n++) {
		uint16_t port = kp_be16(p + off + step - 2);

		if (port)
			kp_peer_note(ctx, family, p + off, port, KP_APP_BITTORRENT);
	}
}

/*
 * A DHT get_peers answer lists peers of the torrent in r.values: compact strings of
 * 6 (IPv4 address, port) or 18 (IPv6) bytes. The peer cache learns them.
 */
static void note_dht_peers(struct kp_app_ctx *ctx, const uint8_t *p, size_t len)
{
	struct kp_benc msg = {p, len}, r, values, v;
	const uint8_t *s;
	size_t pos = 0, n;
	unsigned count = 0;

	if (!kp_benc_dict_get(&msg, "r", &r) || r.p[0] != 'd' ||
	    !kp_benc_dict_get(&r, "values", &values))
		return;
	while (count++ < BT_MAX_TRACKER_PEERS && kp_benc_list_next(&values, &pos, &v)) {
		if (!kp_benc_str(&v, &s, &n) || (n != 6 && n != 18))
			continue;
		if (kp_be16(s + n - 2))
			kp_peer_note(ctx, n == 6 ? AF_INET : AF_INET6, s, kp_be16(s + n - 2),
				     KP_APP_BITTORRENT);
	}
}

static enum kp_parse_result parse_udp(struct kp_app_ctx *ctx, struct bt_state *st)
{
	const uint8_t *p = ctx->data;
	size_t len = ctx->len;
	struct utp_hdr h;
	uint8_t ih[20];
	bool have = false;
	uint32_t tid;
	uint16_t port;

	if (!p || !len)
		return KP_PARSE_MORE;
	if (++st->udp_pkts > BT_UDP_MAX_PARSE_PKTS)
		return KP_PARSE_DONE;
	switch (udp_kind(p, len, ctx->dir, &h)) {
	case K_DHT:
		set_transport(st, BT_T_DHT);
		if (kp_bt_krpc_check(p, len, ih, &have) && have)
			set_hash(st, ih, BT_H_DHT);
		note_dht_peers(ctx, p, len);
		break;
	case K_LSD:
		set_transport(st, BT_T_LSD);
		if (lsd_parse(p, len, &port, ih)) {
			set_hash(st, ih, BT_H_ANNOUNCE);
			hash_seen(ctx, ih);
		}
		break;
	case K_TRK_CONNECT:
		set_transport(st, BT_T_TRACKER);
		break;
	case K_TRK_REQ:
		set_transport(st, BT_T_TRACKER);
		if (trk_request(p, len, &tid) == 1) {
			set_hash(st, p + 16, BT_H_ANNOUNCE);
			hash_seen(ctx, p + 16);
		}
		break;
	case K_TRK_ANS:
		set_transport(st, BT_T_TRACKER);
		if (trk_answer(p, len, &tid) == 1)
			note_tracker_peers(ctx, p, len);
		break;
	case K_UTP_HS:
		set_transport(st, BT_T_UTP);
		take_handshake(ctx, st, p + h.payload_off, len - h.payload_off, ctx->dir);
		break;
	case K_UTP:
		set_transport(st, BT_T_UTP);
		/* uTP carries MSE/PE too: a first DATA payload that is a DH key, not a handshake */
		if (h.type == UTP_DATA && len > h.payload_off && !st->utp_data_seen[ctx->dir & 1]) {
			const uint8_t *pl = p + h.payload_off;
			size_t pn = len - h.payload_off;

			st->utp_data_seen[ctx->dir & 1] = true;
			if (pn >= KP_BT_MSE_KEY_LEN && pn <= KP_BT_MSE_FLIGHT_MAX &&
			    hs_check(pl, pn) == HS_BAD && kp_bt_mse_looks_random(pl, pn))
				st->utp_mse = true;
		}
		break;
	default:
		break;
	}
	if (st->transport == BT_T_UTP)
		return st->have_peer_id[0] && st->have_peer_id[1] ? KP_PARSE_DONE : KP_PARSE_MORE;
	if (st->transport == BT_T_TRACKER)
		return KP_PARSE_MORE; /* later answers carry peers */
	/* DHT and LSD: keep reading (bounded) in case a uTP connection follows. */
	return KP_PARSE_MORE;
}

static enum kp_parse_result bt_parse(struct kp_app_ctx *ctx, void *state)
{
	struct bt_state *st = state;

	if (ctx->l4 == IPPROTO_TCP)
		return parse_tcp(ctx, st);
	return parse_udp(ctx, st);
}

/* ---------------------------------------------------------------------------------------- */
/* JSON */

static void bt_json(const void *state, const struct kp_flow *f, struct kp_json *j)
{
	const struct bt_state *st = state;

	(void)f;
	if (!st)
		return;
	kp_json_obj(j, "bittorrent");
	if (st->transport && st->transport < sizeof(bt_transport_names) / sizeof(char *))
		kp_json_str(j, "transport", bt_transport_names[st->transport]);
	if (st->utp_mse)
		kp_json_str(j, "encryption", "mse");
	if (st->have_hash)
		kp_json_hex(j, "info_hash", st->info_hash, 20);
	/* peer_id: 20 bytes, client prefix readable ("-LT1100-..."), the rest escaped. */
	if (st->have_peer_id[KP_DIR_TOSERVER])
		kp_json_strn(j, "peer_id", st->peer_id[KP_DIR_TOSERVER], 20);
	if (st->have_peer_id[KP_DIR_TOCLIENT])
		kp_json_strn(j, "server_peer_id", st->peer_id[KP_DIR_TOCLIENT], 20);
	/* the torrent's metadata, fetched by ut_metadata and checked against info_hash */
	if (st->wire && st->wire->info_done) {
		kp_json_strn(j, "torrent_name", st->wire->name, st->wire->name_len);
		kp_json_u64(j, "torrent_files", st->wire->nfiles);
	} else if (st->wire && st->wire->meta_mismatch) {
		kp_json_str(j, "metadata", "mismatch");
	}
	kp_json_end(j);
}

static void bt_free(void *state)
{
	struct bt_state *st = state;

	if (st->wire) {
		kp_bt_wire_free(st->wire);
		free(st->wire);
		st->wire = NULL;
	}
}

const struct kp_app_module kp_mod_bittorrent = {
	.name = "bittorrent",
	.l4 = KP_L4_TCP | KP_L4_UDP,
	.port_hints = {6881, 6771, 51413, 6969, 0},
	.probe = bt_probe,
	.state_size = sizeof(struct bt_state),
	.parse = bt_parse,
	.free_state = bt_free,
	.json = bt_json,
};
