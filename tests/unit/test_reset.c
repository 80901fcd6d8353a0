/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the TCP reset builder: the packets it writes parse back with the
 * project's decoder (raw IP link type, strict checksums) as RST or RST|ACK segments
 * with the addresses, ports, sequence and acknowledgement numbers asked for, for
 * IPv4 and IPv6; the IPv4 header checksum and fields are checked byte by byte.
 */
#include "policy/reset.h"
#include "decode/decode.h"
#include "tap.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#define F_RST 0x04
#define F_ACK 0x10

static int decode_raw(const uint8_t *pkt, size_t len, struct kp_pkt_info *pi)
{
	struct kp_decoder d;
	int rc;

	if (kp_decoder_init(&d, KP_CSUM_MODE_STRICT, 0))
		return -1;
	memset(pi, 0, sizeof(*pi));
	rc = kp_decode(&d, KP_DLT_RAW, pkt, len, 0, pi);
	if (d.st.ip_csum_bad || d.st.l4_csum_bad)
		rc = -2;
	kp_decoder_fini(&d);
	return rc;
}

KP_TEST(reset_build_ipv4)
{
	uint8_t c[4], s[4], pkt[KP_RESET_MAX_LEN];
	struct kp_pkt_info pi;
	size_t len;

	inet_pton(AF_INET, "198.18.0.2", c);
	inet_pton(AF_INET, "198.19.0.1", s);
	len = kp_reset_build(pkt, sizeof(pkt), AF_INET, c, 40000, s, 6881, 0xfffffff0u, true,
			     0x12345678u);
	CHECK_EQ(len, 40);
	CHECK_EQ(decode_raw(pkt, len, &pi), KP_DEC_OK);
	CHECK_EQ(pi.family, AF_INET);
	CHECK(memcmp(pi.src, c, 4) == 0);
	CHECK(memcmp(pi.dst, s, 4) == 0);
	CHECK_EQ(pi.l4, IPPROTO_TCP);
	CHECK_EQ(pi.sport, 40000);
	CHECK_EQ(pi.dport, 6881);
	CHECK_EQ(pi.tcp_flags, F_RST | F_ACK);
	CHECK_EQ(pi.seq, 0xfffffff0u);
	CHECK_EQ(pi.ack, 0x12345678u);
	CHECK_EQ(pi.csum, KP_CSUM_OK);
	CHECK_EQ(pi.payload_len, 0);
	CHECK_EQ(pi.ip_len, 40);
	/* header fields and both checksums, independently of the decoder */
	CHECK_EQ(pkt[0], 0x45);
	CHECK_EQ(pkt[8], 64);
	CHECK_EQ(pkt[9], IPPROTO_TCP);
	CHECK_EQ(kp_csum_fold(kp_csum_add(0, pkt, 20)), 0xffff);
	CHECK_EQ(kp_csum_fold(kp_csum_add(kp_csum_pseudo(AF_INET, c, s, IPPROTO_TCP, 20), pkt + 20,
					  20)),
		 0xffff);
	CHECK_EQ(pkt[20 + 12], 0x50); /* data offset 5 */

	/* a corrupted byte is caught by the decoder's check: the test can fail */
	pkt[20 + 5] ^= 1;
	CHECK_EQ(decode_raw(pkt, len, &pi), -2);
}

KP_TEST(reset_build_ipv4_plain_rst)
{
	uint8_t c[4], s[4], pkt[KP_RESET_MAX_LEN];
	struct kp_pkt_info pi;
	size_t len;

	inet_pton(AF_INET, "198.19.0.1", s);
	inet_pton(AF_INET, "198.18.0.2", c);
	len = kp_reset_build(pkt, sizeof(pkt), AF_INET, s, 80, c, 40000, 1000, false, 777);
	CHECK_EQ(len, 40);
	CHECK_EQ(decode_raw(pkt, len, &pi), KP_DEC_OK);
	CHECK_EQ(pi.tcp_flags, F_RST);
	CHECK_EQ(pi.seq, 1000);
	CHECK_EQ(pi.ack, 0);
	CHECK(memcmp(pi.src, s, 4) == 0);
	CHECK_EQ(pi.sport, 80);
	CHECK_EQ(pi.dport, 40000);
}

KP_TEST(reset_build_ipv6)
{
	uint8_t c[16], s[16], pkt[KP_RESET_MAX_LEN];
	struct kp_pkt_info pi;
	size_t len;

	inet_pton(AF_INET6, "2001:2::2", c);
	inet_pton(AF_INET6, "2001:2:0:1::ffff", s);
	len = kp_reset_build(pkt, sizeof(pkt), AF_INET6, s, 443, c, 51000, 0x80000001u, true,
			     0xdeadbeefu);
	CHECK_EQ(len, 60);
	CHECK_EQ(decode_raw(pkt, len, &pi), KP_DEC_OK);
	CHECK_EQ(pi.family, AF_INET6);
	CHECK(memcmp(pi.src, s, 16) == 0);
	CHECK(memcmp(pi.dst, c, 16) == 0);
	CHECK_EQ(pi.sport, 443);
	CHECK_EQ(pi.dport, 51000);
	CHECK_EQ(pi.tcp_flags, F_RST | F_ACK);
	CHECK_EQ(pi.seq, 0x80000001u);
	CHECK_EQ(pi.ack, 0xdeadbeefu);
	CHECK_EQ(pi.csum, KP_CSUM_OK);
	CHECK_EQ(pi.payload_len, 0);
	CHECK_EQ(pkt[0] >> 4, 6);
	CHECK_EQ(pkt[4] << 8 | pkt[5], 20); /* payload length */
	CHECK_EQ(pkt[6], IPPROTO_TCP);
	CHECK_EQ(pkt[7], 64);
	CHECK_EQ(kp_csum_fold(kp_csum_add(kp_csum_pseudo(AF_INET6, s, c, IPPROTO_TCP, 20), pkt + 40,
					  20)),
		 0xffff);
	pkt[40 + 8] ^= 0x80; /* ack number */
	CHECK_EQ(decode_raw(pkt, len, &pi), -2);
}

KP_TEST(reset_build_limits)
{
	uint8_t a[16] = {0}, pkt[KP_RESET_MAX_LEN];

	CHECK_EQ(kp_reset_build(pkt, 39, AF_INET, a, 1, a, 2, 0, false, 0), 0);
	CHECK_EQ(kp_reset_build(pkt, 59, AF_INET6, a, 1, a, 2, 0, false, 0), 0);
	CHECK_EQ(kp_reset_build(pkt, sizeof(pkt), 12345, a, 1, a, 2, 0, false, 0), 0);
}

KP_TEST_MAIN()
