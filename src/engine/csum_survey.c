/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The checksum survey of a capture's first packets (see csum_survey.h). */
#include "engine/csum_survey.h"
#include "decode/decode.h"
#include "engine/engine.h"

bool kp_csum_survey(const struct kp_packet *pk, size_t n, uint64_t *bad, uint64_t *checked)
{
	struct kp_decoder dec;
	struct kp_pkt_info pi;

	*bad = *checked = 0;
	if (kp_decoder_init(&dec, KP_CSUM_MODE_AUTO, 0))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (kp_decode(&dec, pk[i].dlt, pk[i].data, pk[i].caplen, pk[i].ts_us, &pi) !=
		    KP_DEC_OK)
			continue;
		if (pi.csum == KP_CSUM_UNCHECKED)
			continue;
		(*checked)++;
		if (pi.csum == KP_CSUM_BAD)
			(*bad)++;
	}
	kp_decoder_fini(&dec);
	return *checked && *bad * 10 > *checked;
}
