/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Link layer, IPv4, IPv6 (extension headers skipped), TCP and UDP decoding,
 * checksum checks, fragment hand-off and GTP-U decapsulation. See decode.h.
 */
#include "decode/decode.h"
#include "decode/defrag.h"
#include "util/cursor.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86dd
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88a8
#define ETH_P_QINQ1 0x9100
#define ETH_P_PPPOE_S 0x8864
#define GTPU_PORT 2152
#define MAX_TUNNEL_DEPTH 2

int kp_decoder_init(struct kp_decoder *d, enum kp_csum_mode mode, size_t defrag_memcap)
{
	memset(d, 0, sizeof(*d));
	d->csum_mode = mode;
	if (defrag_memcap) {
		d->defrag = kp_defrag_new(defrag_memcap);
		if (!d->defrag)
			return -12;
	}
	d->rbuf_cap = 65535 + 256;
	d->rbuf = malloc(d->rbuf_cap);
	if (!d->rbuf) {
		kp_defrag_free(d->defrag);
		return -12;
	}
	return 0;
}

void kp_decoder_fini(struct kp_decoder *d)
{
	kp_defrag_free(d->defrag);
	free(d->rbuf);
	memset(d, 0, sizeof(*d));
}

bool kp_decode_dlt_supported(int dlt)
{
	switch (dlt) {
	case KP_DLT_NULL:
	case KP_DLT_EN10MB:
	case KP_DLT_PPP:
	case KP_DLT_RAW:
	case KP_DLT_RAW_ALT:
	case KP_DLT_RAW_LT:
	case KP_DLT_PPP_SERIAL:
	case KP_DLT_PPP_ETHER:
	case KP_DLT_LOOP:
	case KP_DLT_LINUX_SLL:
	case KP_DLT_LINUX_SLL2:
	case KP_DLT_IPV4:
	case KP_DLT_IPV6:
		return true;
	default:
		return false;
	}
}

static enum kp_decode_result decode_ip(struct kp_decoder *d, const uint8_t *p, size_t len,
				       uint64_t ts_us, struct kp_pkt_info *pi, int depth);

static enum kp_decode_result by_ethertype(struct kp_decoder *d, uint16_t et, const uint8_t *p,
					  size_t len, uint64_t ts_us, struct kp_pkt_info *pi)
{
	if (et == ETH_P_IP || et == ETH_P_IPV6)
		return decode_ip(d, p, len, ts_us, pi, 0);
	d->st.not_ip++;
	return KP_DEC_SKIP;
}

/* PPP protocol field: 0x0021 IPv4, 0x0057 IPv6 (also the 1-byte compressed forms). */
static enum kp_decode_result by_ppp(struct kp_decoder *d, const uint8_t *p, size_t len,
				    uint64_t ts_us, struct kp_pkt_info *pi)
{
	struct kp_cur c = kp_cur_make(p, len);
	uint16_t proto;

	if (kp_cur_peek(&c, 0) == 0xff && kp_cur_peek(&c, 1) == 0x03)
		kp_cur_skip(&c, 2); /* HDLC address/control */
	if (kp_cur_peek(&c, 0) >= 0 && (kp_cur_peek(&c, 0) & 1))
		proto = kp_cur_u8(&c); /* protocol field compression */
	else
		proto = kp_cur_be16(&c);
	if (c.err) {
		d->st.malformed++;
		return KP_DEC_SKIP;
	}
	if (proto == 0x21)
		return decode_ip(d, kp_cur_ptr(&c), kp_cur_left(&c), ts_us, pi, 0);
	if (proto == 0x57)
		return decode_ip(d, kp_cur_ptr(&c), kp_cur_left(&c), ts_us, pi, 0);
	d->st.not_ip++;
	return KP_DEC_SKIP;
}

enum kp_decode_result kp_decode(struct kp_decoder *d, int dlt, const uint8_t *frame, size_t len,
				uint64_t ts_us, struct kp_pkt_info *pi)
{
	struct kp_cur c = kp_cur_make(frame, len);
	uint16_t et;
	int tags = 0;

	memset(pi, 0, sizeof(*pi));
	d->st.frames++;
	switch (dlt) {
	case KP_DLT_EN10MB:
		kp_cur_skip(&c, 12);
		et = kp_cur_be16(&c);
		while ((et == ETH_P_8021Q || et == ETH_P_8021AD || et == ETH_P_QINQ1) && !c.err) {
			uint16_t tci = kp_cur_be16(&c);

			if (tags++ == 0)
				pi->vlan = tci & 0x0fff;
			d->st.vlan++;
			et = kp_cur_be16(&c);
			if (tags > 8)
				break;
		}
		if (c.err) {
			d->st.malformed++;
			return KP_DEC_SKIP;
		}
		if (et == ETH_P_PPPOE_S) {
			if (!kp_cur_skip(&c, 6)) {
				d->st.malformed++;
				return KP_DEC_SKIP;
			}
			return by_ppp(d, kp_cur_ptr(&c), kp_cur_left(&c), ts_us, pi);
		}
		return by_ethertype(d, et, kp_cur_ptr(&c), kp_cur_left(&c), ts_us, pi);
	case KP_DLT_LINUX_SLL:
		kp_cur_skip(&c, 14);
		et = kp_cur_be16(&c);
		if (c.err) {
			d->st.malformed++;
			return KP_DEC_SKIP;
		}
		return by_ethertype(d, et, kp_cur_ptr(&c), kp_cur_left(&c), ts_us, pi);
	case KP_DLT_LINUX_SLL2:
		et = kp_cur_be16(&c);
		kp_cur_skip(&c, 18);
		if (c.err) {
			d->st.malformed++;
			return KP_DEC_SKIP;
		}
		return by_ethertype(d, et, kp_cur_ptr(&c), kp_cur_left(&c), ts_us, pi);
	case KP_DLT_NULL:
	case KP_DLT_LOOP: {
		/* 4-byte address family in host order of the capturing machine (NULL) or network order (LOOP). */
		const uint8_t *b = kp_cur_take(&c, 4);
		uint32_t af;

		if (!b) {
			d->st.malformed++;
			return KP_DEC_SKIP;
		}
		af = dlt == KP_DLT_LOOP ? kp_be32(b) : (b[0] ? kp_le32(b) : kp_be32(b));
		/* AF_INET is 2 everywhere; AF_INET6 is 10, 24, 28 or 30 depending on the OS. */
		if (af == 2 || af == 10 || af == 24 || af == 28 || af == 30)
			return decode_ip(d, kp_cur_ptr(&c), kp_cur_left(&c), ts_us, pi, 0);
		d->st.not_ip++;
		return KP_DEC_SKIP;
	}
	case KP_DLT_PPP:
	case KP_DLT_PPP_SERIAL:
		return by_ppp(d, frame, len, ts_us, pi);
	case KP_DLT_PPP_ETHER:
		if (!kp_cur_skip(&c, 6)) {
			d->st.malformed++;
			return KP_DEC_SKIP;
		}
		return by_ppp(d, kp_cur_ptr(&c), kp_cur_left(&c), ts_us, pi);
	case KP_DLT_RAW:
	case KP_DLT_RAW_ALT:
	case KP_DLT_RAW_LT:
	case KP_DLT_IPV4:
	case KP_DLT_IPV6:
		return decode_ip(d, frame, len, ts_us, pi, 0);
	default:
		d->st.unknown_link++;
		return KP_DEC_SKIP;
	}
}

enum kp_decode_result kp_decode_ip(struct kp_decoder *d, const uint8_t *ip, size_t len,
				   uint64_t ts_us, struct kp_pkt_info *pi)
{
	memset(pi, 0, sizeof(*pi));
	d->st.frames++;
	return decode_ip(d, ip, len, ts_us, pi, 0);
}

static enum kp_decode_result decode_l4(struct kp_decoder *d, const uint8_t *seg, uint32_t seglen,
				       uint64_t ts_us, struct kp_pkt_info *pi, int depth);

static void csum_note(struct kp_decoder *d, struct kp_pkt_info *pi, enum kp_csum c)
{
	if (c == KP_CSUM_BAD || (c == KP_CSUM_PARTIAL && d->csum_mode == KP_CSUM_MODE_STRICT)) {
		d->st.l4_csum_bad++;
		pi->csum = KP_CSUM_BAD;
	} else if (c == KP_CSUM_PARTIAL) {
		d->st.l4_csum_partial++;
		if (pi->csum == KP_CSUM_OK)
			pi->csum = KP_CSUM_PARTIAL;
	}
}

static enum kp_decode_result decode_ip(struct kp_decoder *d, const uint8_t *p, size_t len,
				       uint64_t ts_us, struct kp_pkt_info *pi, int depth)
{
	struct kp_cur c = kp_cur_make(p, len);
	uint8_t proto;
	uint32_t total, hlen;
	int ver;

	if (len < 1) {
		d->st.malformed++;
		return KP_DEC_SKIP;
	}
	ver = p[0] >> 4;
	if (ver == 4) {
		uint16_t frag, id;
		const uint8_t *h;

		hlen = (uint32_t)(p[0] & 15) * 4;
		if (hlen < 20 || len < hlen) {
			d->st.malformed++;
			return KP_DEC_SKIP;
		}
		h = p;
		total = kp_be16(p + 2);
		if (total < hlen) {
			d->st.malformed++;
			return KP_DEC_SKIP;
		}
		d->st.ipv4++;
		pi->ip_len = total;
		if (total > len) {
			/* snap length cut the packet: keep what we have, checksums unverifiable */
			pi->cut = total - (uint32_t)len;
			total = (uint32_t)len;
			pi->csum = KP_CSUM_UNCHECKED;
		}
		pi->family = AF_INET;
		memcpy(pi->src, p + 12, 4);
		memcpy(pi->dst, p + 16, 4);
		proto = p[9];
		id = kp_be16(p + 4);
		frag = kp_be16(p + 6);
		if (d->csum_mode != KP_CSUM_MODE_OFF &&
		    kp_csum_fold(kp_csum_add(0, p, hlen)) != 0xffff) {
			d->st.ip_csum_bad++;
			pi->csum = KP_CSUM_BAD;
		}
		pi->l4 = proto;
		if (frag & 0x3fff) {
			uint32_t off = (uint32_t)(frag & 0x1fff) * 8;
			long r;

			if (!d->defrag || pi->csum == KP_CSUM_BAD) {
				d->st.frag_fragments++;
				return KP_DEC_FRAG_HELD;
			}
			r = kp_defrag_add(d->defrag, &d->st, AF_INET, pi->src, pi->dst, id, proto,
					  h, hlen, p + hlen, total - hlen, off, frag & 0x2000,
					  ts_us, d->rbuf, d->rbuf_cap);
			if (r <= 0)
				return KP_DEC_FRAG_HELD;
			/* Patch the reassembled header: no fragment bits, new length. */
			d->rbuf[6] = d->rbuf[7] = 0;
			d->rbuf[2] = (uint8_t)(r >> 8);
			d->rbuf[3] = (uint8_t)r;
			pi->reassembled = true;
			pi->ip_len = (uint32_t)r;
			pi->cut = 0;
			return decode_l4(d, d->rbuf + hlen, (uint32_t)r - hlen, ts_us, pi, depth) ==
					       KP_DEC_OK
				       ? KP_DEC_OK
				       : KP_DEC_SKIP;
		}
		pi->l4 = proto;
		return decode_l4(d, p + hlen, total - hlen, ts_us, pi, depth);
	}
	if (ver == 6) {
		uint8_t nh;
		uint32_t plen, off;
		int n = 0;

		if (len < 40) {
			d->st.malformed++;
			return KP_DEC_SKIP;
		}
		d->st.ipv6++;
		pi->family = AF_INET6;
		memcpy(pi->src, p + 8, 16);
		memcpy(pi->dst, p + 24, 16);
		plen = kp_be16(p + 4);
		total = 40 + plen;
		pi->ip_len = total;
		if (total > len) {
			pi->cut = total - (uint32_t)len;
			total = (uint32_t)len;
			pi->csum = KP_CSUM_UNCHECKED;
		}
		nh = p[6];
		off = 40;
		c = kp_cur_make(p, total);
		kp_cur_skip(&c, 40);
		/* Walk extension headers (bounded). */
		while (n++ < 16) {
			if (nh == 0 || nh == 43 || nh == 60 || nh == 135 || nh == 139 || nh == 140) {
				const uint8_t *e = kp_cur_take(&c, 2);
				uint32_t elen;

				if (!e) {
					d->st.malformed++;
					return KP_DEC_SKIP;
				}
				elen = ((uint32_t)e[1] + 1) * 8;
				if (!kp_cur_skip(&c, elen - 2)) {
					d->st.malformed++;
					return KP_DEC_SKIP;
				}
				d->st.ipv6_ext_hdrs++;
				nh = e[0];
				off += elen;
				continue;
			}
			if (nh == 51) { /* AH: length in 4-byte units + 2 */
				const uint8_t *e = kp_cur_take(&c, 2);
				uint32_t elen;

				if (!e) {
					d->st.malformed++;
					return KP_DEC_SKIP;
				}
				elen = ((uint32_t)e[1] + 2) * 4;
				if (!kp_cur_skip(&c, elen - 2)) {
					d->st.malformed++;
					return KP_DEC_SKIP;
				}
				d->st.ipv6_ext_hdrs++;
				nh = e[0];
				off += elen;
				continue;
			}
			if (nh == 44) { /* fragment header */
				const uint8_t *e = kp_cur_take(&c, 8);
				uint16_t fo;
				uint32_t id;
				long r;
				uint8_t hdr[128];

				if (!e) {
					d->st.malformed++;
					return KP_DEC_SKIP;
				}
				fo = kp_be16(e + 2);
				id = kp_be32(e + 4);
				if ((fo & 0xfff8) == 0 && !(fo & 1)) {
					/* atomic fragment */
					nh = e[0];
					off += 8;
					continue;
				}
				if (!d->defrag || off > sizeof(hdr)) {
					d->st.frag_fragments++;
					return KP_DEC_FRAG_HELD;
				}
				/* Keep the header chain up to the fragment header; patch next header. */
				memcpy(hdr, p, off);
				/* the kept header is never re-parsed (decoding resumes at `off`);
				 * patching the base header's next-header is cosmetic */
				hdr[6] = e[0];
				r = kp_defrag_add(d->defrag, &d->st, AF_INET6, pi->src, pi->dst, id,
						  e[0], hdr, off, p + off + 8, total - off - 8,
						  fo & 0xfff8, fo & 1, ts_us, d->rbuf, d->rbuf_cap);
				if (r <= 0)
					return KP_DEC_FRAG_HELD;
				d->rbuf[4] = (uint8_t)((r - 40) >> 8);
				d->rbuf[5] = (uint8_t)(r - 40);
				pi->reassembled = true;
				pi->ip_len = (uint32_t)r;
				pi->cut = 0;
				pi->l4 = e[0];
				return decode_l4(d, d->rbuf + off, (uint32_t)r - off, ts_us, pi,
						 depth) == KP_DEC_OK
					       ? KP_DEC_OK
					       : KP_DEC_SKIP;
			}
			break;
		}
		pi->l4 = nh;
		return decode_l4(d, p + off, total - off, ts_us, pi, depth);
	}
	d->st.malformed++;
	return KP_DEC_SKIP;
}

static enum kp_decode_result decode_gtpu(struct kp_decoder *d, const uint8_t *p, uint32_t len,
					 uint64_t ts_us, struct kp_pkt_info *pi, int depth)
{
	struct kp_cur c = kp_cur_make(p, len);
	uint8_t flags = kp_cur_u8(&c), type = kp_cur_u8(&c);
	uint16_t glen = kp_cur_be16(&c);
	struct kp_pkt_info inner;
	enum kp_decode_result r;

	kp_cur_skip(&c, 4); /* TEID */
	if (c.err || (flags >> 5) != 1 || !(flags & 0x10) || type != 0xff || glen + 8u > len)
		return KP_DEC_SKIP;
	if (flags & 0x07) {
		uint8_t next;

		kp_cur_skip(&c, 3);
		next = kp_cur_u8(&c);
		for (int i = 0; next && i < 8 && !c.err; i++) {
			uint8_t elen = kp_cur_u8(&c);

			if (!elen || !kp_cur_skip(&c, (size_t)elen * 4 - 2))
				return KP_DEC_SKIP;
			next = kp_cur_u8(&c);
		}
	}
	if (c.err || kp_cur_left(&c) < 20)
		return KP_DEC_SKIP;
	{
		int v = kp_cur_ptr(&c)[0] >> 4;
		if (v != 4 && v != 6)
			return KP_DEC_SKIP;
	}
	memset(&inner, 0, sizeof(inner));
	inner.vlan = pi->vlan;
	r = decode_ip(d, kp_cur_ptr(&c), kp_cur_left(&c), ts_us, &inner, depth + 1);
	if (r != KP_DEC_OK && r != KP_DEC_OTHER_L4)
		return r == KP_DEC_FRAG_HELD ? r : KP_DEC_SKIP;
	d->st.tunnel_gtp++;
	inner.tunneled = true;
	*pi = inner;
	return r;
}

static enum kp_decode_result decode_l4(struct kp_decoder *d, const uint8_t *seg, uint32_t seglen,
				       uint64_t ts_us, struct kp_pkt_info *pi, int depth)
{
	bool verify = d->csum_mode != KP_CSUM_MODE_OFF && !pi->csum;

	if (pi->l4 == IPPROTO_TCP) {
		uint32_t doff;

		if (seglen < 20) {
			d->st.malformed++;
			return KP_DEC_SKIP;
		}
		doff = (uint32_t)(seg[12] >> 4) * 4;
		if (doff < 20 || doff > seglen) {
			d->st.malformed++;
			return KP_DEC_SKIP;
		}
		d->st.tcp++;
		pi->sport = kp_be16(seg);
		pi->dport = kp_be16(seg + 2);
		pi->seq = kp_be32(seg + 4);
		pi->ack = kp_be32(seg + 8);
		pi->tcp_flags = seg[13];
		pi->win = kp_be16(seg + 14);
		pi->payload = seg + doff;
		pi->payload_len = seglen - doff;
		if (verify && pi->ip_len)
			csum_note(d, pi,
				  kp_csum_l4(pi->family, pi->src, pi->dst, IPPROTO_TCP, seg, seglen,
					     16));
		return KP_DEC_OK;
	}
	if (pi->l4 == IPPROTO_UDP) {
		uint32_t ulen;

		if (seglen < 8) {
			d->st.malformed++;
			return KP_DEC_SKIP;
		}
		ulen = kp_be16(seg + 4);
		if (ulen < 8) {
			if (!(ulen == 0 && pi->family == AF_INET6)) { /* jumbograms: take seglen */
				d->st.malformed++;
				return KP_DEC_SKIP;
			}
			ulen = seglen;
		}
		if (ulen > seglen)
			ulen = seglen; /* truncated capture */
		else
			seglen = ulen;
		pi->sport = kp_be16(seg);
		pi->dport = kp_be16(seg + 2);
		pi->payload = seg + 8;
		pi->payload_len = ulen - 8;
		if (verify)
			csum_note(d, pi,
				  kp_csum_l4(pi->family, pi->src, pi->dst, IPPROTO_UDP, seg, seglen,
					     6));
		if (depth < MAX_TUNNEL_DEPTH && (pi->dport == GTPU_PORT || pi->sport == GTPU_PORT)) {
			struct kp_pkt_info save = *pi;
			enum kp_decode_result r =
				decode_gtpu(d, pi->payload, pi->payload_len, ts_us, pi, depth);

			if (r == KP_DEC_OK || r == KP_DEC_OTHER_L4 || r == KP_DEC_FRAG_HELD)
				return r;
			*pi = save;
		}
		d->st.udp++;
		return KP_DEC_OK;
	}
	d->st.other_l4++;
	return KP_DEC_OTHER_L4;
}
