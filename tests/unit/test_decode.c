/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the decode layer. The base packet is a real TCP SYN taken from
 * tests/captures/pcap/http-nginx.pcap (frame 2: 198.18.0.1:60502 -> 198.19.0.1:80,
 * made by curl against nginx); the tests wrap it in every supported link layer,
 * corrupt its checksums, fragment it, and tunnel it.
 */
#include "decode/decode.h"
#include "tap.h"

#include <netinet/in.h>
#include <stdio.h>

static const uint8_t eth_syn[] = {
	0xda, 0x97, 0xd2, 0xa9, 0xe8, 0x87, 0x26, 0x89, 0x1e, 0x8b, 0xa1, 0xb7, 0x08, 0x00, 0x45,
	0x00, 0x00, 0x3c, 0x62, 0xb6, 0x40, 0x00, 0x40, 0x06, 0x4b, 0xde, 0xc6, 0x12, 0x00, 0x01,
	0xc6, 0x13, 0x00, 0x01, 0xec, 0x56, 0x00, 0x50, 0xd9, 0xb8, 0x43, 0x88, 0x00, 0x00, 0x00,
	0x00, 0xa0, 0x02, 0xfa, 0xf0, 0xd2, 0x08, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02,
	0x08, 0x0a, 0x2a, 0x58, 0xba, 0x9b, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0a};
#define IP_OFF 14
#define IP_LEN (sizeof(eth_syn) - IP_OFF)

/* frame 1 of the same capture: IPv6 MLD report behind a hop-by-hop header */
static const uint8_t eth_v6_hbh[] = {
	0x33, 0x33, 0x00, 0x00, 0x00, 0x16, 0xda, 0x97, 0xd2, 0xa9, 0xe8, 0x87, 0x86, 0xdd, 0x60,
	0x00, 0x00, 0x00, 0x00, 0x24, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x16, 0x3a, 0x00, 0x05, 0x02, 0x00, 0x00,
	0x01, 0x00, 0x8f, 0x00, 0x86, 0x59, 0x00, 0x00, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0xff,
	0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0xa9, 0xe8, 0x87};

static void check_syn(int *kp_failed, const struct kp_pkt_info *pi)
{
	static const uint8_t src[4] = {198, 18, 0, 1}, dst[4] = {198, 19, 0, 1};

	CHECK_EQ(pi->family, AF_INET);
	CHECK(memcmp(pi->src, src, 4) == 0);
	CHECK(memcmp(pi->dst, dst, 4) == 0);
	CHECK_EQ(pi->l4, IPPROTO_TCP);
	CHECK_EQ(pi->sport, 60502);
	CHECK_EQ(pi->dport, 80);
	CHECK_EQ(pi->tcp_flags, 0x02);
	CHECK_EQ(pi->seq, 0xd9b84388u);
	CHECK_EQ(pi->payload_len, 0);
	CHECK_EQ(pi->ip_len, 60);
	CHECK_EQ(pi->csum, KP_CSUM_OK);
}

static enum kp_decode_result dec(struct kp_decoder *d, int dlt, const uint8_t *hdr, size_t hlen,
				 struct kp_pkt_info *pi)
{
	uint8_t f[256];

	memcpy(f, hdr, hlen);
	memcpy(f + hlen, eth_syn + IP_OFF, IP_LEN);
	return kp_decode(d, dlt, f, hlen + IP_LEN, 0, pi);
}

/* Decodes the SYN behind a link header of type dlt (dec) and checks every field. */
static void check_link(int *kp_failed, struct kp_decoder *d, int dlt, const uint8_t *hdr,
		       size_t hlen, struct kp_pkt_info *pi)
{
	int before = *kp_failed;

	CHECK_EQ(dec(d, dlt, hdr, hlen, pi), KP_DEC_OK);
	check_syn(kp_failed, pi);
	if (*kp_failed != before)
		fprintf(stderr, "  (link type %d)\n", dlt);
}

KP_TEST(decode_every_link_type)
{
	struct kp_decoder d;
	struct kp_pkt_info pi;
	static const uint8_t vlan[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x81, 0x00, 0x00, 0x64,
				       0x08, 0x00};
	static const uint8_t qinq[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x88, 0xa8, 0x00, 0x0a,
				       0x81, 0x00, 0x00, 0x14, 0x08, 0x00};
	static const uint8_t sll[16] = {0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00};
	static const uint8_t sll2[20] = {0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0};
	static const uint8_t null_le[4] = {2, 0, 0, 0}, loop_be[4] = {0, 0, 0, 2};
	static const uint8_t ppp[4] = {0xff, 0x03, 0x00, 0x21};
	static const uint8_t pppoe[8] = {0x11, 0x00, 0x00, 0x01, 0x00, 0x3e, 0x00, 0x21};

	CHECK_EQ(kp_decoder_init(&d, KP_CSUM_MODE_AUTO, 1 << 20), 0);
	CHECK_EQ(kp_decode(&d, KP_DLT_EN10MB, eth_syn, sizeof(eth_syn), 0, &pi), KP_DEC_OK);
	check_syn(kp_failed, &pi);
	check_link(kp_failed, &d, KP_DLT_EN10MB, vlan, sizeof(vlan), &pi);
	CHECK_EQ(pi.vlan, 100);
	check_link(kp_failed, &d, KP_DLT_EN10MB, qinq, sizeof(qinq), &pi);
	CHECK_EQ(pi.vlan, 10); /* outer tag */
	check_link(kp_failed, &d, KP_DLT_LINUX_SLL, sll, sizeof(sll), &pi);
	check_link(kp_failed, &d, KP_DLT_LINUX_SLL2, sll2, sizeof(sll2), &pi);
	check_link(kp_failed, &d, KP_DLT_NULL, null_le, 4, &pi);
	check_link(kp_failed, &d, KP_DLT_LOOP, loop_be, 4, &pi);
	check_link(kp_failed, &d, KP_DLT_PPP, ppp, 4, &pi);
	check_link(kp_failed, &d, KP_DLT_PPP_ETHER, pppoe, 8, &pi);
	check_link(kp_failed, &d, KP_DLT_RAW, NULL, 0, &pi);
	check_link(kp_failed, &d, KP_DLT_IPV4, NULL, 0, &pi);
	CHECK_EQ(kp_decode_ip(&d, eth_syn + IP_OFF, IP_LEN, 0, &pi), KP_DEC_OK);
	check_syn(kp_failed, &pi);
	/* unknown link type: counted, not fatal */
	CHECK_EQ(dec(&d, 147, NULL, 0, &pi), KP_DEC_SKIP);
	CHECK_EQ(d.st.unknown_link, 1);
	CHECK_EQ(d.st.vlan, 3);
	kp_decoder_fini(&d);
}

KP_TEST(decode_ipv6_extension_headers)
{
	struct kp_decoder d;
	struct kp_pkt_info pi;

	kp_decoder_init(&d, KP_CSUM_MODE_AUTO, 0);
	CHECK_EQ(kp_decode(&d, KP_DLT_EN10MB, eth_v6_hbh, sizeof(eth_v6_hbh), 0, &pi),
		 KP_DEC_OTHER_L4);
	CHECK_EQ(pi.l4, 58); /* ICMPv6 behind the hop-by-hop header */
	CHECK_EQ(d.st.ipv6_ext_hdrs, 1);
	CHECK_EQ(d.st.ipv6, 1);
	kp_decoder_fini(&d);
}

KP_TEST(decode_checksums)
{
	struct kp_decoder d;
	struct kp_pkt_info pi;
	uint8_t f[sizeof(eth_syn)];
	uint32_t ps;
	uint16_t partial;

	kp_decoder_init(&d, KP_CSUM_MODE_AUTO, 0);
	/* a corrupted TCP header byte: bad L4 checksum */
	memcpy(f, eth_syn, sizeof(f));
	f[IP_OFF + 20 + 14] ^= 0x40; /* window */
	CHECK_EQ(kp_decode(&d, KP_DLT_EN10MB, f, sizeof(f), 0, &pi), KP_DEC_OK);
	CHECK_EQ(pi.csum, KP_CSUM_BAD);
	CHECK_EQ(d.st.l4_csum_bad, 1);
	/* an unfinished offloaded checksum: the field holds the pseudo-header sum */
	memcpy(f, eth_syn, sizeof(f));
	ps = kp_csum_pseudo(AF_INET, f + IP_OFF + 12, f + IP_OFF + 16, IPPROTO_TCP, 40);
	partial = kp_csum_fold(ps);
	f[IP_OFF + 20 + 16] = (uint8_t)(partial >> 8);
	f[IP_OFF + 20 + 17] = (uint8_t)partial;
	CHECK_EQ(kp_decode(&d, KP_DLT_EN10MB, f, sizeof(f), 0, &pi), KP_DEC_OK);
	CHECK_EQ(pi.csum, KP_CSUM_PARTIAL);
	CHECK_EQ(d.st.l4_csum_partial, 1);
	kp_decoder_fini(&d);
	/* strict mode counts the same packet as bad */
	kp_decoder_init(&d, KP_CSUM_MODE_STRICT, 0);
	CHECK_EQ(kp_decode(&d, KP_DLT_EN10MB, f, sizeof(f), 0, &pi), KP_DEC_OK);
	CHECK_EQ(pi.csum, KP_CSUM_BAD);
	kp_decoder_fini(&d);
	/* a corrupted IPv4 header checksum */
	kp_decoder_init(&d, KP_CSUM_MODE_AUTO, 0);
	memcpy(f, eth_syn, sizeof(f));
	f[IP_OFF + 10] ^= 1;
	CHECK_EQ(kp_decode(&d, KP_DLT_EN10MB, f, sizeof(f), 0, &pi), KP_DEC_OK);
	CHECK_EQ(pi.csum, KP_CSUM_BAD);
	CHECK_EQ(d.st.ip_csum_bad, 1);
	kp_decoder_fini(&d);
	/* off: nothing is verified */
	kp_decoder_init(&d, KP_CSUM_MODE_OFF, 0);
	CHECK_EQ(kp_decode(&d, KP_DLT_EN10MB, f, sizeof(f), 0, &pi), KP_DEC_OK);
	CHECK_EQ(pi.csum, KP_CSUM_OK);
	kp_decoder_fini(&d);
}

KP_TEST(decode_truncated_frames_never_crash)
{
	struct kp_decoder d;
	struct kp_pkt_info pi;
	int ok = 0;

	kp_decoder_init(&d, KP_CSUM_MODE_AUTO, 1 << 20);
	for (size_t n = 0; n < sizeof(eth_syn); n++)
		if (kp_decode(&d, KP_DLT_EN10MB, eth_syn, n, 0, &pi) == KP_DEC_OK)
			ok++;
	/* every cut before the end of the TCP options is malformed, counted, never decoded */
	CHECK_EQ(ok, 0);
	CHECK_EQ(d.st.malformed + d.st.not_ip, sizeof(eth_syn));
	kp_decoder_fini(&d);
}

/* Builds an IPv4/UDP datagram with `plen` payload bytes (UDP checksum 0 = none). */
static size_t make_udp(uint8_t *ip, size_t plen, uint16_t id)
{
	size_t tot = 20 + 8 + plen;
	uint16_t c;

	memset(ip, 0, 28);
	ip[0] = 0x45;
	ip[2] = (uint8_t)(tot >> 8);
	ip[3] = (uint8_t)tot;
	ip[4] = (uint8_t)(id >> 8);
	ip[5] = (uint8_t)id;
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	ip[12] = 198, ip[13] = 18, ip[15] = 1;
	ip[16] = 198, ip[17] = 19, ip[19] = 1;
	ip[20] = 0x30, ip[21] = 0x39; /* 12345 */
	ip[22] = 0x00, ip[23] = 0x35; /* 53 */
	ip[24] = (uint8_t)((8 + plen) >> 8);
	ip[25] = (uint8_t)(8 + plen);
	for (size_t i = 0; i < plen; i++)
		ip[28 + i] = (uint8_t)(i * 7 + 1);
	c = (uint16_t)~kp_csum_fold(kp_csum_add(0, ip, 20));
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	return tot;
}

/* Cuts the datagram's IP payload [off, off+len) into a fragment packet. */
static size_t make_frag(uint8_t *out, const uint8_t *ip, size_t off, size_t len, int more)
{
	uint16_t fo = (uint16_t)((off / 8) | (more ? 0x2000 : 0)), c;
	size_t tot = 20 + len;

	memcpy(out, ip, 20);
	memcpy(out + 20, ip + 20 + off, len);
	out[2] = (uint8_t)(tot >> 8);
	out[3] = (uint8_t)tot;
	out[6] = (uint8_t)(fo >> 8);
	out[7] = (uint8_t)fo;
	out[10] = out[11] = 0;
	c = (uint16_t)~kp_csum_fold(kp_csum_add(0, out, 20));
	out[10] = (uint8_t)(c >> 8);
	out[11] = (uint8_t)c;
	return tot;
}

KP_TEST(decode_ipv4_fragments_reassembled_in_any_order)
{
	struct kp_decoder d;
	struct kp_pkt_info pi;
	uint8_t ip[1500], f1[1500], f2[1500], f3[1500];
	size_t n = make_udp(ip, 1000, 7), l1, l2, l3;

	kp_decoder_init(&d, KP_CSUM_MODE_AUTO, 1 << 20);
	l1 = make_frag(f1, ip, 0, 400, 1);
	l2 = make_frag(f2, ip, 400, 400, 1);
	l3 = make_frag(f3, ip, 800, n - 20 - 800, 0);
	CHECK_EQ(kp_decode(&d, KP_DLT_RAW, f3, l3, 0, &pi), KP_DEC_FRAG_HELD);
	CHECK_EQ(kp_decode(&d, KP_DLT_RAW, f1, l1, 0, &pi), KP_DEC_FRAG_HELD);
	/* a duplicate of the first fragment with different bytes: first data wins */
	{
		uint8_t dup[1500];
		size_t ld = make_frag(dup, ip, 0, 400, 1);

		dup[20 + 100] ^= 0xff;
		CHECK_EQ(kp_decode(&d, KP_DLT_RAW, dup, ld, 0, &pi), KP_DEC_FRAG_HELD);
	}
	CHECK_EQ(kp_decode(&d, KP_DLT_RAW, f2, l2, 0, &pi), KP_DEC_OK);
	CHECK_EQ(pi.l4, IPPROTO_UDP);
	CHECK_EQ(pi.dport, 53);
	CHECK_EQ(pi.payload_len, 1000);
	CHECK(pi.reassembled);
	CHECK(memcmp(pi.payload, ip + 28, 1000) == 0);
	CHECK_EQ(d.st.frag_reassembled, 1);
	/* without a defrag table fragments are counted, not reassembled */
	kp_decoder_fini(&d);
	kp_decoder_init(&d, KP_CSUM_MODE_AUTO, 0);
	CHECK_EQ(kp_decode(&d, KP_DLT_RAW, f1, l1, 0, &pi), KP_DEC_FRAG_HELD);
	CHECK_EQ(d.st.frag_fragments, 1);
	kp_decoder_fini(&d);
}

KP_TEST(decode_fragment_memcap_and_timeout)
{
	struct kp_decoder d;
	struct kp_pkt_info pi;
	uint8_t ip[1500], f1[1500], f2[1500];
	size_t l1, l2;

	/* memcap below one datagram buffer: every first fragment is dropped and counted */
	kp_decoder_init(&d, KP_CSUM_MODE_AUTO, 1000);
	make_udp(ip, 1000, 9);
	l1 = make_frag(f1, ip, 0, 400, 1);
	CHECK_EQ(kp_decode(&d, KP_DLT_RAW, f1, l1, 0, &pi), KP_DEC_FRAG_HELD);
	CHECK_EQ(d.st.frag_dropped, 1);
	kp_decoder_fini(&d);
	/* the second half arriving after the 30 s timeout does not complete the datagram */
	kp_decoder_init(&d, KP_CSUM_MODE_AUTO, 1 << 20);
	l2 = make_frag(f2, ip, 400, 1008 - 400, 0);
	CHECK_EQ(kp_decode(&d, KP_DLT_RAW, f1, l1, 0, &pi), KP_DEC_FRAG_HELD);
	CHECK_EQ(kp_decode(&d, KP_DLT_RAW, f2, l2, 31000000, &pi), KP_DEC_FRAG_HELD);
	CHECK_EQ(d.st.frag_reassembled, 0);
	CHECK(d.st.frag_dropped >= 1);
	kp_decoder_fini(&d);
}

KP_TEST(decode_gtpu_tunnel)
{
	struct kp_decoder d;
	struct kp_pkt_info pi;
	uint8_t ip[256];
	size_t inner = IP_LEN, n;
	uint16_t c;

	/* outer IPv4/UDP 2152, GTPv1-U T-PDU header (8 bytes), inner = the SYN */
	memset(ip, 0, sizeof(ip));
	n = 20 + 8 + 8 + inner;
	ip[0] = 0x45, ip[2] = (uint8_t)(n >> 8), ip[3] = (uint8_t)n, ip[8] = 64, ip[9] = 17;
	ip[12] = 198, ip[13] = 18, ip[15] = 9, ip[16] = 198, ip[17] = 19, ip[19] = 9;
	ip[20] = 0x08, ip[21] = 0x68, ip[22] = 0x08, ip[23] = 0x68;
	ip[24] = (uint8_t)((8 + 8 + inner) >> 8), ip[25] = (uint8_t)(8 + 8 + inner);
	ip[28] = 0x30, ip[29] = 0xff, ip[30] = (uint8_t)(inner >> 8), ip[31] = (uint8_t)inner;
	ip[32] = 0, ip[33] = 0, ip[34] = 0, ip[35] = 1;
	memcpy(ip + 36, eth_syn + IP_OFF, inner);
	c = (uint16_t)~kp_csum_fold(kp_csum_add(0, ip, 20));
	ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
	kp_decoder_init(&d, KP_CSUM_MODE_AUTO, 0);
	CHECK_EQ(kp_decode(&d, KP_DLT_RAW, ip, n, 0, &pi), KP_DEC_OK);
	check_syn(kp_failed, &pi);
	CHECK(pi.tunneled);
	CHECK_EQ(d.st.tunnel_gtp, 1);
	/* a UDP 2152 datagram that is not GTP stays a plain UDP packet */
	ip[28] = 0x00;
	CHECK_EQ(kp_decode(&d, KP_DLT_RAW, ip, n, 0, &pi), KP_DEC_OK);
	CHECK_EQ(pi.l4, IPPROTO_UDP);
	CHECK_EQ(pi.dport, 2152);
	kp_decoder_fini(&d);
}

/* the word-at-a-time checksum must equal RFC 1071's 16-bit loop for every length and alignment */
KP_TEST(decode_csum_add_matches_reference)
{
	uint8_t b[1600];
	uint32_t x = 99;
	int bad = 0;

	for (size_t i = 0; i < sizeof(b); i++) {
		x = x * 1103515245u + 12345u;
		b[i] = (uint8_t)(x >> 16);
	}
	for (size_t off = 0; off < 8; off++)
		for (size_t n = 0; n < 1500; n += (n < 40 ? 1 : 37)) {
			uint32_t ref = 7;

			for (size_t i = 0; i + 1 < n; i += 2)
				ref += (uint32_t)(b[off + i] << 8 | b[off + i + 1]);
			if (n & 1)
				ref += (uint32_t)(b[off + n - 1] << 8);
			if (kp_csum_fold(kp_csum_add(7, b + off, n)) != kp_csum_fold(ref))
				bad++;
		}
	CHECK_EQ(bad, 0);
}

KP_TEST_MAIN()
