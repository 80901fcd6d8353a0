/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Checksum survey of a capture file, for checksum = auto. Captures that were
 * rewritten (anonymised, re-addressed, merged by tools that do not fix
 * checksums) carry bad checksums on most packets; refusing to inspect them
 * would throw the capture away. Before a capture is processed, its first
 * KP_CSUM_SURVEY_PKTS packets are decoded: when more than 10% of those whose
 * checksum could be checked are bad (unfinished offloaded sums are not bad),
 * the capture is "rewritten" and its bad checksums are counted but not
 * enforced. Otherwise packets with bad checksums are not inspected (the
 * receiver would have dropped them too, and inspecting them invites evasion).
 * The caller reads the first packets once, surveys them, then processes them.
 */
#ifndef KP_ENGINE_CSUM_SURVEY_H
#define KP_ENGINE_CSUM_SURVEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KP_CSUM_SURVEY_PKTS 1000

struct kp_packet;

/* Returns true if these first packets of a capture look rewritten; *bad / *checked: counts. */
bool kp_csum_survey(const struct kp_packet *pk, size_t n, uint64_t *bad, uint64_t *checked);

#endif
