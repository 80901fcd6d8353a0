/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The checksum survey of a capture (see csum_survey.h). */
#include "engine/csum_survey.h"
#include "decode/decode.h"
#include "io/source.h"

bool kp_csum_survey(const char *path, uint64_t *bad, uint64_t *checked)
{
	struct kp_source src;
	struct kp_decoder dec;
	struct kp_packet p;
	struct kp_pkt_info pi;
	char err[256];
	int n = 0;

	*bad = *checked = 0;
	if (kp_source_pcap_open(&src, path, err, sizeof(err)))
		return false;
	if (kp_decoder_init(&dec, KP_CSUM_MODE_AUTO, 0)) {
		src.ops->close(&src);
		return false;
	}
	while (n++ < KP_CSUM_SURVEY_PKTS && src.ops->next(&src, &p) == 1) {
		if (kp_decode(&dec, p.dlt, p.data, p.caplen, p.ts_us, &pi) != KP_DEC_OK)
			continue;
		if (pi.csum == KP_CSUM_UNCHECKED)
			continue;
		(*checked)++;
		if (pi.csum == KP_CSUM_BAD)
			(*bad)++;
	}
	kp_decoder_fini(&dec);
	src.ops->close(&src);
	return *checked && *bad * 10 > *checked;
}
