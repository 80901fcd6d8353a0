/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Expected connections: a control connection (FTP PASV/PORT/EPSV/EPRT, IRC
 * DCC) announces that a connection to (address, port) will come; when a flow
 * to that responder appears within the time to live, it is labelled with
 * the announced app and linked to its parent. Bounded ring of entries; an
 * entry is used once.
 */
#ifndef KP_CLASSIFY_EXPECT_H
#define KP_CLASSIFY_EXPECT_H

#include <stdbool.h>
#include <stdint.h>

#define KP_EXPECT_MAX 1024

struct kp_expect {
	uint8_t addr[16];
	uint16_t port;
	uint8_t family, l4;
	uint16_t app;
	bool used;
	uint64_t parent_id;
	uint64_t expires_us;
};

struct kp_expect_table {
	struct kp_expect e[KP_EXPECT_MAX];
	unsigned next;       /* ring position for the next insert */
	uint64_t added, matched, overwritten;
	uint32_t ttl_s;
};

void kp_expect_table_init(struct kp_expect_table *t, uint32_t ttl_s);
void kp_expect_table_add(struct kp_expect_table *t, int family, const uint8_t *addr,
			 uint16_t port, uint8_t l4, unsigned app, uint64_t parent_id,
			 uint64_t now_us);
/* Finds and consumes the expectation for a new flow whose responder is addr:port. */
const struct kp_expect *kp_expect_table_take(struct kp_expect_table *t, int family,
					     const uint8_t *addr, uint16_t port, uint8_t l4,
					     uint64_t now_us);

#endif
