/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The behavioural rule for encrypted BitTorrent (MSE/PE, Message Stream
 * Encryption), exposed as pure functions so that its false-positive rate can be
 * measured over flows of other protocols (TLS, SSH, QUIC). The rule is documented
 * at the top of src/app/bt_mse.c.
 */
#ifndef KP_APP_BT_MSE_H
#define KP_APP_BT_MSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/app.h"

/* Diffie-Hellman public key length (768-bit prime) and the largest padding. */
#define KP_BT_MSE_KEY_LEN 96
#define KP_BT_MSE_PAD_MAX 512
#define KP_BT_MSE_FLIGHT_MAX (KP_BT_MSE_KEY_LEN + KP_BT_MSE_PAD_MAX)

/*
 * The rule's verdict for a TCP flow whose client (the side that spoke first) sent
 * c2s[0..c2s_len) and whose server sent s2c[0..s2c_len); c2s_flight / s2c_flight are
 * the first flights (bytes a side sent before the other answered), as in struct
 * kp_app_ctx. The client spoke again iff c2s_len > c2s_flight. Returns
 * KP_PROBE_NEED_MORE until both first flights are complete and the client's next
 * message has begun, KP_PROBE_EXCLUDE as soon as the pattern is impossible,
 * KP_PROBE_MATCH when it holds. m is not touched (there is none).
 */
enum kp_probe_result kp_bt_mse_verdict(const uint8_t *c2s, size_t c2s_len, uint32_t c2s_flight,
				       const uint8_t *s2c, size_t s2c_len, uint32_t s2c_flight);

/* The rule alone, without other probes: true iff kp_bt_mse_verdict() says MATCH. */
bool kp_bt_mse_rule(const uint8_t *c2s, size_t c2s_len, uint32_t c2s_flight, const uint8_t *s2c,
		    size_t s2c_len, uint32_t s2c_flight);

/*
 * The randomness test applied to each first flight: true if p[0..len) may be (a
 * prefix of) a DH public key plus random padding. Exposed for tests.
 */
bool kp_bt_mse_looks_random(const uint8_t *p, size_t len);

#endif
