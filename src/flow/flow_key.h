/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The flow key: byte layout shared by every layer (and, later, by the eBPF
 * programs). Normalised so that both directions of a conversation give the
 * same key: side 0 holds the lower (address, port) pair.
 */
#ifndef KP_FLOW_FLOW_KEY_H
#define KP_FLOW_FLOW_KEY_H

#include <stdint.h>

struct kp_flow_key {
	uint8_t addr[2][16]; /* IPv4: first 4 bytes, rest zero */
	uint16_t port[2];    /* host order */
	uint16_t vlan;
	uint8_t family;      /* AF_INET / AF_INET6 */
	uint8_t l4;          /* IPPROTO_TCP / IPPROTO_UDP */
};

#endif
