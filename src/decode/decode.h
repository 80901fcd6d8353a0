/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Packet decoding: link layer to transport header. kp_decode() turns one
 * captured frame into a struct kp_pkt_info (addresses, ports, TCP fields,
 * payload) or says why it could not, bumping a counter either way. Nothing
 * here allocates except the IP fragment table (defrag.c), which owns copies
 * of fragments until a datagram is complete.
 *
 * Link types: Ethernet (with stacked 802.1Q/802.1ad tags), Linux cooked v1
 * and v2, raw IPv4/IPv6, BSD loopback (NULL and LOOP), PPP (and PPP-in-HDLC).
 * Tunnels: GTP-U (UDP 2152, T-PDU) is decapsulated to the inner IP packet.
 */
#ifndef KP_DECODE_DECODE_H
#define KP_DECODE_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode/stats.h"

/* Link types we understand (values are libpcap DLT_ numbers). */
enum {
	KP_DLT_NULL = 0,
	KP_DLT_EN10MB = 1,
	KP_DLT_PPP = 9,
	KP_DLT_RAW = 12,       /* some platforms: 14 */
	KP_DLT_RAW_ALT = 14,
	KP_DLT_PPP_SERIAL = 50,
	KP_DLT_PPP_ETHER = 51,
	KP_DLT_LOOP = 108,
	KP_DLT_LINUX_SLL = 113,
	KP_DLT_RAW_LT = 101,   /* LINKTYPE_RAW in pcap files */
	KP_DLT_IPV4 = 228,
	KP_DLT_IPV6 = 229,
	KP_DLT_LINUX_SLL2 = 276,
};

/* Checksum verdict of a packet. */
enum kp_csum {
	KP_CSUM_OK = 0,
	KP_CSUM_BAD,
	KP_CSUM_PARTIAL, /* unfinished offloaded checksum: only the pseudo-header sum is there */
	KP_CSUM_UNCHECKED,
};

/* Checksum policy (config `checksum`). */
enum kp_csum_mode {
	KP_CSUM_MODE_AUTO = 0, /* verify; accept unfinished offloaded sums; see docs */
	KP_CSUM_MODE_STRICT,   /* verify; partial sums count as bad */
	KP_CSUM_MODE_OFF,      /* do not verify */
};

struct kp_pkt_info {
	int family;            /* AF_INET / AF_INET6 */
	uint8_t src[16], dst[16]; /* v4 in the first 4 bytes, rest zero */
	uint8_t l4;            /* IPPROTO_TCP / IPPROTO_UDP / other */
	uint16_t sport, dport; /* host order */
	uint16_t vlan;         /* outermost VLAN id, 0 if none */
	/* TCP */
	uint8_t tcp_flags;
	uint32_t seq, ack;
	uint16_t win;
	/* Payload of the transport */
	const uint8_t *payload;
	uint32_t payload_len;
	uint32_t ip_len;       /* length of the IP packet (header + payload), for byte counters */
	uint32_t cut;          /* bytes of the IP packet the snap length cut off (payload_len
				* + cut is the transport payload on the wire) */
	uint8_t csum;          /* enum kp_csum: worst of IP header and L4 */
	bool reassembled;      /* came out of IP defragmentation */
	bool tunneled;         /* inner packet of a tunnel */
};

enum kp_decode_result {
	KP_DEC_OK = 0,      /* pkt_info filled with a TCP or UDP packet */
	KP_DEC_OTHER_L4,    /* an IP packet that is neither TCP nor UDP (counted) */
	KP_DEC_FRAG_HELD,   /* an IP fragment, held for reassembly */
	KP_DEC_SKIP,        /* not IP / unknown link / malformed: counted */
};

struct kp_defrag;

struct kp_decoder {
	struct kp_decode_stats st;
	struct kp_defrag *defrag; /* owned; NULL: fragments counted, not reassembled */
	enum kp_csum_mode csum_mode;
	/* Buffer holding a reassembled datagram while it is being processed. */
	uint8_t *rbuf;
	size_t rbuf_cap;
};

int kp_decoder_init(struct kp_decoder *d, enum kp_csum_mode mode, size_t defrag_memcap);
void kp_decoder_fini(struct kp_decoder *d);

/*
 * Decodes one frame of link type dlt. The pkt_info's pointers point into
 * `frame` or into the decoder's reassembly buffer, valid until the next call.
 * ts_us drives fragment timeouts.
 */
enum kp_decode_result kp_decode(struct kp_decoder *d, int dlt, const uint8_t *frame, size_t len,
				uint64_t ts_us, struct kp_pkt_info *pi);

/* Same, starting at an IP header (NFQUEUE hands IP packets). */
enum kp_decode_result kp_decode_ip(struct kp_decoder *d, const uint8_t *ip, size_t len,
				   uint64_t ts_us, struct kp_pkt_info *pi);

/* True if dlt is a link type kp_decode understands. */
bool kp_decode_dlt_supported(int dlt);

/* Internet checksum helpers (csum.c). */
uint32_t kp_csum_add(uint32_t sum, const uint8_t *p, size_t len);
uint16_t kp_csum_fold(uint32_t sum);
uint32_t kp_csum_pseudo(int family, const uint8_t *src, const uint8_t *dst, uint8_t l4,
			uint32_t l4len);
/* Verifies an L4 checksum at offset csum_off of the segment; returns enum kp_csum. */
enum kp_csum kp_csum_l4(int family, const uint8_t *src, const uint8_t *dst, uint8_t l4,
			const uint8_t *seg, uint32_t seglen, uint32_t csum_off);

#endif
