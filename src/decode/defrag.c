/* SPDX-License-Identifier: GPL-2.0-or-later */
/* IP fragment reassembly (see defrag.h for the policy and the bounds). */
#include "decode/defrag.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define DF_MAX_DGRAM 65535u
#define DF_TIMEOUT_US (30ull * 1000000)
#define DF_MAX_ENTRIES 256

struct df_entry {
	bool used;
	int family;
	uint8_t src[16], dst[16];
	uint32_t id;
	uint8_t proto;
	uint64_t first_us;
	uint8_t hdr[128];
	size_t hdr_len;
	uint8_t *data;        /* DF_MAX_DGRAM bytes */
	uint8_t have[DF_MAX_DGRAM / 64 + 1]; /* one bit per 8-byte unit */
	uint32_t total;       /* end offset from the last fragment, 0 = unknown */
};

struct kp_defrag {
	size_t memcap, used_bytes;
	struct df_entry e[DF_MAX_ENTRIES];
};

struct kp_defrag *kp_defrag_new(size_t memcap)
{
	struct kp_defrag *df = calloc(1, sizeof(*df));

	if (df)
		df->memcap = memcap;
	return df;
}

static void entry_drop(struct kp_defrag *df, struct df_entry *e)
{
	free(e->data);
	e->data = NULL;
	e->used = false;
	df->used_bytes -= DF_MAX_DGRAM;
}

void kp_defrag_free(struct kp_defrag *df)
{
	if (!df)
		return;
	for (int i = 0; i < DF_MAX_ENTRIES; i++)
		if (df->e[i].used)
			entry_drop(df, &df->e[i]);
	free(df);
}

static bool unit_have(const struct df_entry *e, uint32_t u)
{
	return e->have[u >> 3] & (1u << (u & 7));
}

long kp_defrag_add(struct kp_defrag *df, struct kp_decode_stats *st, int family,
		   const uint8_t *src, const uint8_t *dst, uint32_t id, uint8_t proto,
		   const uint8_t *hdr, size_t hdr_len, const uint8_t *data, size_t len, uint32_t off,
		   int more, uint64_t ts_us, uint8_t *out, size_t cap)
{
	struct df_entry *e = NULL, *free_e = NULL;
	uint32_t end = off + (uint32_t)len, u;

	st->frag_fragments++;
	if (end > DF_MAX_DGRAM || (more && (len & 7))) {
		st->frag_dropped++;
		return -1;
	}
	for (int i = 0; i < DF_MAX_ENTRIES; i++) {
		struct df_entry *c = &df->e[i];

		if (!c->used) {
			if (!free_e)
				free_e = c;
			continue;
		}
		if (ts_us > c->first_us + DF_TIMEOUT_US) {
			entry_drop(df, c);
			st->frag_dropped++;
			if (!free_e)
				free_e = c;
			continue;
		}
		if (c->family == family && c->id == id && c->proto == proto &&
		    !memcmp(c->src, src, 16) && !memcmp(c->dst, dst, 16))
			e = c;
	}
	if (!e) {
		if (!free_e || df->used_bytes + DF_MAX_DGRAM > df->memcap) {
			st->frag_dropped++;
			return -1;
		}
		e = free_e;
		memset(e, 0, sizeof(*e));
		e->data = malloc(DF_MAX_DGRAM);
		if (!e->data) {
			st->frag_dropped++;
			return -1;
		}
		df->used_bytes += DF_MAX_DGRAM;
		e->used = true;
		e->family = family;
		memcpy(e->src, src, 16);
		memcpy(e->dst, dst, 16);
		e->id = id;
		e->proto = proto;
		e->first_us = ts_us;
	}
	if (off == 0) {
		if (hdr_len > sizeof(e->hdr)) {
			entry_drop(df, e);
			st->frag_dropped++;
			return -1;
		}
		memcpy(e->hdr, hdr, hdr_len);
		e->hdr_len = hdr_len;
	}
	if (!more) {
		if (e->total && e->total != end) {
			entry_drop(df, e);
			st->frag_dropped++;
			return -1;
		}
		e->total = end;
	}
	/* First data wins: copy only the 8-byte units not yet present. */
	for (u = off / 8; u * 8 < end; u++) {
		uint32_t a = u * 8, b = a + 8 > end ? end : a + 8;

		if (unit_have(e, u))
			continue;
		memcpy(e->data + a, data + (a - off), b - a);
		if (b - a == 8 || b == end)
			e->have[u >> 3] |= (uint8_t)(1u << (u & 7));
	}
	if (!e->total || !e->hdr_len)
		return 0;
	for (u = 0; u * 8 < e->total; u++)
		if (!unit_have(e, u))
			return 0;
	if (e->hdr_len + e->total > cap) {
		entry_drop(df, e);
		st->frag_dropped++;
		return -1;
	}
	memcpy(out, e->hdr, e->hdr_len);
	memcpy(out + e->hdr_len, e->data, e->total);
	{
		long r = (long)(e->hdr_len + e->total);

		entry_drop(df, e);
		st->frag_reassembled++;
		return r;
	}
}
