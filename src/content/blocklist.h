/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Object ids (info_hashes, eDonkey hashes) blocked at run time: a virus found
 * in a piece puts its torrent's or file's hash here, and every pipeline then
 * blocks flows that name it. Shared by all pipelines, guarded by a mutex;
 * bounded (the oldest entry goes when full).
 */
#ifndef KP_CONTENT_BLOCKLIST_H
#define KP_CONTENT_BLOCKLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kp_blocklist;

struct kp_blocklist *kp_blocklist_new(unsigned max);
void kp_blocklist_free(struct kp_blocklist *b);
/* Adds hash (1..24 bytes) with a reason (copied, e.g. the signature name); true if new. */
bool kp_blocklist_add(struct kp_blocklist *b, const uint8_t *hash, size_t len, const char *why);
/* True if listed; the reason is copied into why (may be NULL). */
bool kp_blocklist_has(struct kp_blocklist *b, const uint8_t *hash, size_t len, char *why,
		      size_t whylen);
unsigned kp_blocklist_count(struct kp_blocklist *b);

#endif
