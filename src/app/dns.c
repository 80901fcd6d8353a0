/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * DNS over UDP, and over TCP with its 2-byte length prefix (RFC 1035 4.2.2).
 * mDNS (RFC 6762, port 5353) and LLMNR (RFC 4795, port 5355) use the same
 * message format and are labelled "dns" too: they differ in transport and
 * semantics (multicast, id 0, the class's top bit), not in what a classifier
 * needs to see.
 *
 * The probe checks the header (opcode, Z bit, rcode of a query, question count
 * 1..4, section counts that fit the length), the first question (labels of at
 * most 63 bytes, names of at most 255, compression pointers that point strictly
 * backwards with a bounded number of jumps, sane qtype and qclass) and, for
 * full confidence, that every section walks to the end of the message and a
 * response answers the query's id. The parser keeps the first question name
 * and type, and the response code.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "app/app.h"
#include "output/json.h"

#define DNS_HDR 12
#define DNS_MAX_NAME 255
#define DNS_MAX_JUMPS 16
#define DNS_MAX_QD 4
#define DNS_MAX_RRS 64 /* records walked per message */
#define DNS_MAX_DGRAMS 16

#define T_OPT 41

/*
 * Reads the name at *off of msg (len bytes), following compression pointers; writes its
 * dotted form into out (cap bytes, "<root>" for the root) when out is not NULL and advances
 * *off past the name where it was found. Returns false on any violation.
 */
static bool dns_name(const uint8_t *msg, size_t len, size_t *off, char *out, size_t cap)
{
	size_t pos = *off, lowest = *off, total = 0, o = 0, after = 0;
	unsigned jumps = 0;

	for (;;) {
		if (pos >= len)
			return false;
		uint8_t l = msg[pos];

		if (l == 0) {
			if (!jumps)
				after = pos + 1;
			break;
		}
		if ((l & 0xc0) == 0xc0) {
			if (pos + 1 >= len)
				return false;
			size_t ptr = (size_t)(l & 0x3f) << 8 | msg[pos + 1];
			/* Strictly before anything visited so far: no loops, bounded anyway. */
			if (ptr < DNS_HDR || ptr >= lowest || ++jumps > DNS_MAX_JUMPS)
				return false;
			if (jumps == 1)
				after = pos + 2;
			pos = lowest = ptr;
			continue;
		}
		if (l & 0xc0)
			return false; /* 0x40/0x80 label types: obsolete or reserved */
		total += (size_t)l + 1;
		if (total > DNS_MAX_NAME || pos + 1 + l > len)
			return false;
		if (out) {
			if (o && o + 1 < cap)
				out[o++] = '.';
			for (size_t i = 0; i < l && o + 1 < cap; i++) {
				uint8_t ch = msg[pos + 1 + i];
				out[o++] = ch ? (char)ch : '?';
			}
		}
		pos += 1 + (size_t)l;
	}
	if (out) {
		if (o == 0)
			snprintf(out, cap, "<root>");
		else
			out[o] = '\0';
	}
	*off = after;
	return true;
}

static bool qtype_ok(uint16_t t) { return (t >= 1 && t <= 260) || t == 32768 || t == 32769; }

static bool qclass_ok(uint16_t c)
{
	c &= 0x7fff; /* mDNS: unicast-response / cache-flush bit */
	return c == 1 || c == 3 || c == 4 || c == 254 || c == 255;
}

/*
 * NetBIOS Name Service (RFC 1002) borrows the DNS message format: a first label of 32
 * letters 'A'..'P' (the half-byte encoding of a NetBIOS name) asked as NB (32) or
 * NBSTAT (33). It is not DNS.
 */
static bool nbns_name(const char *name, uint16_t type)
{
	size_t i;

	if (type != 32 && type != 33)
		return false;
	for (i = 0; name[i] && name[i] != '.'; i++)
		if (name[i] < 'A' || name[i] > 'P')
			return false;
	return i == 32;
}

struct dns_msg {
	uint16_t id, flags;
	uint16_t qtype;
	bool qr;
	bool strict; /* every section walked to exactly the end */
	char name[DNS_MAX_NAME + 2];
	bool has_name;
};

enum dns_res { DNS_NO, DNS_MORE, DNS_OK };

/*
 * Checks the message m (len bytes; `complete` false when more bytes of it may come).
 * On DNS_OK fills *out with the header, the first question (or, for a question-less
 * response such as an mDNS announcement, the first answer's owner name and type).
 */
static enum dns_res dns_check(const uint8_t *m, size_t len, bool complete, struct dns_msg *out)
{
	struct kp_cur c;
	uint16_t qd, an, ns, ar, opcode, rcode;
	size_t off = DNS_HDR;

	memset(out, 0, sizeof(*out));
	if (len < DNS_HDR)
		return complete ? DNS_NO : DNS_MORE;
	c = kp_cur_make(m, len);
	out->id = kp_cur_be16(&c);
	out->flags = kp_cur_be16(&c);
	qd = kp_cur_be16(&c);
	an = kp_cur_be16(&c);
	ns = kp_cur_be16(&c);
	ar = kp_cur_be16(&c);
	out->qr = out->flags >> 15;
	opcode = (out->flags >> 11) & 0xf;
	rcode = out->flags & 0xf;
	/* QUERY, IQUERY (obsolete), STATUS, NOTIFY, UPDATE */
	if (opcode == 3 || opcode > 5 || (out->flags & 0x0040))
		return DNS_NO;
	if ((!out->qr && rcode != 0) || rcode > 10)
		return DNS_NO;
	if (qd > DNS_MAX_QD || (qd == 0 && !(out->qr && an > 0)))
		return DNS_NO;
	/* A question takes 5 bytes at the least, a record 11. */
	if (complete && DNS_HDR + 5u * qd + 11u * ((size_t)an + ns + ar) > len)
		return DNS_NO;

	unsigned rrs = 0, total = (unsigned)qd + an + ns + ar;
	/* Out of bytes at record i: wait for the first one, else keep what was verified. */
#define CUT(i) ((i) == 0 ? (complete ? DNS_NO : DNS_MORE) : DNS_OK)
	/* Content violation at record i: the first one decides, later ones lower trust. */
#define BAD(i) ((i) == 0 ? DNS_NO : DNS_OK)
	for (unsigned i = 0; i < total && rrs < DNS_MAX_RRS; i++, rrs++) {
		bool question = i < qd;

		if (!dns_name(m, len, &off, i == 0 ? out->name : NULL, sizeof(out->name)))
			return CUT(i);
		if (off + 4 > len)
			return CUT(i);
		uint16_t type = kp_be16(m + off), cls = kp_be16(m + off + 2);
		off += 4;
		if (question ? !qtype_ok(type) : type == 0)
			return BAD(i);
		if (type != T_OPT && !qclass_ok(cls))
			return BAD(i);
		if (i == 0) {
			if (nbns_name(out->name, type))
				return DNS_NO;
			out->qtype = type;
			out->has_name = true;
		}
		if (!question) {
			if (off + 6 > len)
				return CUT(i);
			size_t rdlen = kp_be16(m + off + 4);
			off += 6;
			if (rdlen > len - off)
				return CUT(i);
			off += rdlen;
		}
	}
#undef CUT
#undef BAD
	out->strict = complete && rrs == total && off == len;
	return DNS_OK;
}

/* The first message of a side: the datagram, or the TCP stream after its length prefix. */
static enum dns_res side_check(const struct kp_app_ctx *ctx, int dir, struct dns_msg *msg)
{
	const uint8_t *b = ctx->buf[dir];
	size_t len = ctx->buf_len[dir];

	if (len == 0)
		return DNS_MORE;
	if (ctx->l4 == IPPROTO_UDP)
		return dns_check(b, len, true, msg);
	if (len < 2)
		return DNS_MORE;
	size_t ml = kp_be16(b);
	if (ml < DNS_HDR)
		return DNS_NO;
	return dns_check(b + 2, len - 2 < ml ? len - 2 : ml, len - 2 >= ml, msg);
}

static enum kp_probe_result dns_probe(const struct kp_app_ctx *ctx, struct kp_match *m)
{
	struct dns_msg c, s;
	enum dns_res rc = side_check(ctx, KP_DIR_TOSERVER, &c);
	enum dns_res rs = side_check(ctx, KP_DIR_TOCLIENT, &s);

	if (rc == DNS_NO || rs == DNS_NO) {
		/* A malformed answer to a good query is still DNS (malformed_dns.pcap). */
		if (!(rc == DNS_OK && !c.qr && rs == DNS_NO))
			return KP_PROBE_EXCLUDE;
	}
	if (rc != DNS_OK && rs != DNS_OK)
		return KP_PROBE_NEED_MORE;
	m->app = KP_APP_DNS;
	m->confidence = KP_CONF_MEDIUM;
	if (rc == DNS_OK && rs == DNS_OK && c.id == s.id && c.qr != s.qr)
		m->confidence = KP_CONF_HIGH;
	return KP_PROBE_MATCH;
}

struct dns_state {
	char rrname[DNS_MAX_NAME + 2];
	uint16_t rrtype;
	uint16_t id;
	uint8_t rcode;
	bool have_query, have_resp, have_name;
	bool tcp_seen[2];
	uint8_t dgrams;
};

static void dns_take(struct kp_app_ctx *ctx, struct dns_state *st, const struct dns_msg *msg)
{
	if (!msg->qr) {
		if (st->have_query)
			return;
		st->have_query = true;
		st->id = msg->id;
		if (msg->has_name) {
			memcpy(st->rrname, msg->name, sizeof(st->rrname));
			st->rrtype = msg->qtype;
			st->have_name = true;
		}
		return;
	}
	if (st->have_resp || (st->have_query && msg->id != st->id))
		return;
	st->have_resp = true;
	st->rcode = msg->flags & 0xf;
	if (!st->have_name && msg->has_name) {
		memcpy(st->rrname, msg->name, sizeof(st->rrname));
		st->rrtype = msg->qtype;
		st->have_name = true;
	}
	if (st->have_query)
		kp_app_refine(ctx, KP_APP_DNS, KP_CONF_HIGH);
}

static enum kp_parse_result dns_parse(struct kp_app_ctx *ctx, void *state)
{
	struct dns_state *st = state;
	struct dns_msg msg;
	int dir = ctx->dir & 1;

	if (ctx->l4 == IPPROTO_UDP) {
		if (dns_check(ctx->data, ctx->len, true, &msg) == DNS_OK)
			dns_take(ctx, st, &msg);
		st->dgrams++;
	} else if (!st->tcp_seen[dir] && !ctx->gap && ctx->len >= 2) {
		/* The first chunk holds the first message's header and question (the probe saw
		 * them); later messages on the connection are not looked at. */
		size_t ml = kp_be16(ctx->data);
		size_t n = ctx->len - 2 < ml ? ctx->len - 2 : ml;

		st->tcp_seen[dir] = true;
		if (dns_check(ctx->data + 2, n, n == ml, &msg) == DNS_OK)
			dns_take(ctx, st, &msg);
	}
	if (st->have_resp || st->dgrams >= DNS_MAX_DGRAMS || (st->tcp_seen[0] && st->tcp_seen[1]))
		return KP_PARSE_DONE;
	return KP_PARSE_MORE;
}

static const char *rrtype_name(uint16_t t, char *buf, size_t cap)
{
	static const struct {
		uint16_t t;
		const char *n;
	} names[] = {
		{1, "A"}, {2, "NS"}, {5, "CNAME"}, {6, "SOA"}, {10, "NULL"},
		{12, "PTR"}, {13, "HINFO"}, {15, "MX"}, {16, "TXT"}, {28, "AAAA"},
		{33, "SRV"}, {35, "NAPTR"}, {39, "DNAME"}, {41, "OPT"}, {43, "DS"},
		{46, "RRSIG"}, {47, "NSEC"}, {48, "DNSKEY"}, {50, "NSEC3"}, {52, "TLSA"},
		{64, "SVCB"}, {65, "HTTPS"}, {99, "SPF"}, {250, "TSIG"}, {251, "IXFR"},
		{252, "AXFR"}, {255, "ANY"}, {257, "CAA"},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].t == t)
			return names[i].n;
	snprintf(buf, cap, "TYPE%u", t);
	return buf;
}

static const char *rcode_name(uint8_t r, char *buf, size_t cap)
{
	static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
					    "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
					    "NXRRSET", "NOTAUTH", "NOTZONE"};

	if (r < sizeof(names) / sizeof(names[0]))
		return names[r];
	snprintf(buf, cap, "RCODE%u", r);
	return buf;
}

static void dns_json(const void *state, const struct kp_flow *f, struct kp_json *j)
{
	const struct dns_state *st = state;
	char buf[16];

	(void)f;
	if (!st->have_name && !st->have_resp)
		return;
	kp_json_obj(j, "dns");
	if (st->have_name) {
		kp_json_str(j, "rrname", st->rrname);
		kp_json_str(j, "rrtype", rrtype_name(st->rrtype, buf, sizeof(buf)));
	}
	if (st->have_resp)
		kp_json_str(j, "rcode", rcode_name(st->rcode, buf, sizeof(buf)));
	kp_json_end(j);
}

const struct kp_app_module kp_mod_dns = {
	.name = "dns",
	.l4 = KP_L4_UDP | KP_L4_TCP,
	.port_hints = {53, 5353, 5355, 0},
	.probe = dns_probe,
	.state_size = sizeof(struct dns_state),
	.parse = dns_parse,
	.json = dns_json,
};
