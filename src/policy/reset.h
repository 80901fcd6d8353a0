/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TCP resets from the gateway to both sides of a blocked flow. The packets are
 * built whole here (IPv4 or IPv6 header, TCP header, both checksums) and sent
 * through one raw socket per family (IPPROTO_RAW: the kernel adds no header), so
 * the source address is the other side's: each end sees its peer reset the
 * connection. Locally generated, they traverse OUTPUT/POSTROUTING (conntrack
 * applies the flow's NAT), not FORWARD, so they never come back to the queue.
 * kp_reset_build() is the pure part, usable without sockets or privileges.
 */
#ifndef KP_POLICY_RESET_H
#define KP_POLICY_RESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest packet kp_reset_build() writes (IPv6 + TCP). */
#define KP_RESET_MAX_LEN 60

/*
 * Builds one RST segment from src:sport to dst:dport (addresses 4 or 16 bytes by family,
 * ports host order) with sequence number seq; with_ack adds the ACK flag and ack number.
 * TTL / hop limit 64, window 0, no options. Returns the packet length (40 or 60), or 0 if
 * cap is too small or the family is not AF_INET/AF_INET6.
 */
size_t kp_reset_build(uint8_t *buf, size_t cap, int family, const uint8_t *src, uint16_t sport,
		      const uint8_t *dst, uint16_t dport, uint32_t seq, bool with_ack,
		      uint32_t ack);

struct kp_reset;

/*
 * Opens the raw sockets (needs CAP_NET_RAW). Succeeds if at least one family could be
 * opened (the other is then reported by kp_reset_send as -EAFNOSUPPORT); -errno with a
 * message in err otherwise.
 */
int kp_reset_open(struct kp_reset **r, char *err, size_t errlen);
void kp_reset_close(struct kp_reset *r);

/*
 * c = client address/port, s = server (host-order ports). client_next_seq: the next
 * sequence number the client will send (what the server ACKs); server_next_seq likewise.
 * To the server: src = client, seq = client_next_seq, RST|ACK with ack = server_next_seq
 * (plain RST when that is unknown). To the client: src = server, seq = server_next_seq,
 * RST|ACK with ack = client_next_seq (plain RST when unknown). A side whose own seq is
 * unknown gets nothing (a RST outside the window is ignored anyway).
 * Returns the number of packets sent (0..2), or -errno of the first failure.
 *
 * Where the numbers come from (the packet in hand, from side X, with ACK set): when that
 * packet is DROPPED, X's next seq is its own seq (its payload never arrives), the peer's
 * next seq is its ack; when it is forwarded, X's next is seq + payload length (+1 for
 * SYN or FIN). Linux accepts a RST whose seq is exactly what it expects (rcv_nxt) and
 * only answers a challenge ACK to one merely inside the window (RFC 5961), so the numbers
 * must be these, not the reassembler's delivery point. A blocked bare SYN has no peer
 * state to reset: drop it (the client in SYN-SENT ignores a RST without a matching ACK).
 */
int kp_reset_send(struct kp_reset *r, int family, const uint8_t *caddr, uint16_t cport,
		  const uint8_t *saddr, uint16_t sport, uint32_t client_next_seq,
		  bool client_seq_known, uint32_t server_next_seq, bool server_seq_known);

#endif
