/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Event records in the style of Suricata's EVE. kp_eve_flow() writes the
 * "flow" event of a flow that ends: the 5-tuple with src = client, the label
 * and its confidence, counters per direction, start/end, and the object the
 * app module filled ("tls": {...}).
 */
#ifndef KP_OUTPUT_EVE_H
#define KP_OUTPUT_EVE_H

#include "flow/flow_table.h"

struct kp_engine;

void kp_eve_flow(struct kp_engine *e, const struct kp_flow *f, enum kp_flow_end_reason r);

/* Writes an address of family (AF_INET/AF_INET6) into buf (INET6_ADDRSTRLEN bytes). */
void kp_addr_str(int family, const uint8_t *addr, char *buf, size_t len);

#endif
