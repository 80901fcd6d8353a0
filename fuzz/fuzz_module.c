/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for one application module (src/app/<name>.c), compiled
 * once per module with -DKP_FUZZ_MODULE=<symbol> (fuzz/meson.build makes one
 * executable per line of src/app/module_list.def: fuzz_module_<symbol>).
 *
 * The input drives a synthetic flow the way src/classify/classify.c drives a
 * real one. Byte 0: bit 0 picks the transport (0 TCP, 1 UDP), bit 1 IPv6;
 * bytes 1-4: client and server ports (big-endian). Then chunks, each a 2-byte
 * big-endian header (bit 15: direction, 1 = to client; bit 14: bytes were lost
 * before this chunk; low 14 bits: length) and the bytes. While the module has
 * not decided, each chunk is appended to the probe buffers (TCP: stream
 * prefix per direction; UDP: first datagram per direction; first flights and
 * packet counts as classify.c keeps them) and offered to probe(); EXCLUDE ends
 * the input; MATCH allocates a zeroed state of state_size, catches parse() up
 * with both probe buffers (client side first), then hands it every later chunk
 * until KP_PARSE_DONE. At the end json() writes into a struct kp_json, and
 * free_state() frees the state. Expectations and the peer cache are real
 * (a zeroed engine with only those two set up, fresh per input).
 */
#define _GNU_SOURCE
#include "app/app.h"
#include "classify/classify.h"
#include "engine/config.h"
#include "engine/engine.h"
#include "content/file.h"
#include "flow/flow.h"
#include "output/json.h"
#include "output/writer.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef KP_FUZZ_MODULE
#error "build with -DKP_FUZZ_MODULE=<module symbol from src/app/module_list.def>"
#endif

#define FZ_CAT2(a, b) a##b
#define FZ_CAT(a, b) FZ_CAT2(a, b)
#define FZ_MOD (&FZ_CAT(kp_mod_, KP_FUZZ_MODULE))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs parse() on a private copy of the bytes (so overreads are caught). */
static bool fz_parse(struct kp_engine *e, struct kp_flow *f, void *st, int dir,
		     const uint8_t *d, size_t len, bool gap, uint64_t ts)
{
	const struct kp_app_module *mod = FZ_MOD;
	struct kp_match m = {f->app, f->confidence};
	struct kp_app_ctx c;
	enum kp_parse_result r;
	uint8_t *copy;

	if (!len)
		return false;
	copy = malloc(len);
	if (!copy)
		return true;
	memcpy(copy, d, len);
	kp_app_ctx_init(&c, e, f, dir, copy, len, gap, ts, NULL);
	c.label = &m;
	r = mod->parse(&c, st);
	free(copy);
	if (m.app >= KP_APP__COUNT)
		abort();
	f->app = m.app;
	f->confidence = m.confidence;
	return r == KP_PARSE_DONE;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct kp_app_module *mod = FZ_MOD;
	struct kp_config cfg;
	struct kp_engine *e;
	struct kp_flow *f;
	struct kp_probe_bufs *pb;
	struct kp_json j;
	struct kp_output o;
	bool out_open = false;
	char oerr[128];
	void *st = NULL;
	bool matched = false, done = false;
	uint64_t ts = 1700000000000000ull;
	size_t off = 5;
	uint32_t pkts = 0;

	if (size < 5)
		return 0;
	kp_config_defaults(&cfg);
	e = calloc(1, sizeof(*e));
	f = calloc(1, sizeof(*f));
	pb = kp_probe_bufs_new(cfg.classify_buffer, 0);
	if (!e || !f || !pb)
		goto out;
	e->cfg = &cfg;
	/* chat and file audit on, events to /dev/null: the chat and file writers see the
	 * module's hostile text, and modules keep parsing for files */
	cfg.chat_audit = true;
	cfg.file_audit = true;
	e->ft.memcap = 1ull << 30; /* the content core's per-flow state is reserved against it */
	kp_json_init(&e->json);
	if (kp_output_open(&o, "/dev/null", 0, oerr, sizeof(oerr)) == 0) {
		out_open = true;
		e->out = &o;
	}
	kp_expect_table_init(&e->cls.expect, cfg.expect_ttl);
	if (kp_peer_cache_init(&e->cls.peers, 256, cfg.peer_cache_ttl))
		goto out;

	f->key.l4 = (data[0] & 1) ? IPPROTO_UDP : IPPROTO_TCP;
	f->key.family = (data[0] & 2) ? AF_INET6 : AF_INET;
	f->key.addr[0][0] = 198;
	f->key.addr[0][1] = 18;
	f->key.addr[0][3] = 1;
	f->key.addr[1][0] = 198;
	f->key.addr[1][1] = 18;
	f->key.addr[1][3] = 2;
	f->key.port[0] = (uint16_t)(data[1] << 8 | data[2]);
	f->key.port[1] = (uint16_t)(data[3] << 8 | data[4]);
	f->client_side = 0;
	f->id = 0x1234567890abcdefull;
	f->start_us = f->last_us = ts;
	f->sig = -1;
	if (!(mod->l4 & (f->key.l4 == IPPROTO_TCP ? KP_L4_TCP : KP_L4_UDP)))
		goto out_peers;

	while (off + 2 <= size && !done) {
		unsigned h = (unsigned)data[off] << 8 | data[off + 1];
		int dir = h >> 15;
		bool gap = (h >> 14) & 1;
		size_t n = h & 0x3fff;
		const uint8_t *d;

		off += 2;
		if (n > size - off)
			n = size - off;
		d = data + off;
		off += n;
		ts += 1000;
		f->last_us = ts;
		f->pkts[dir]++;
		f->bytes[dir] += n + 40;
		if (!n)
			continue;
		if (!matched) {
			struct kp_app_ctx c;
			struct kp_match m = {0, 0};
			enum kp_probe_result r;
			uint8_t *bcopy[2];
			uint8_t *copy = malloc(n);

			if (!copy)
				break;
			memcpy(copy, d, n);
			pb->npkts[dir]++;
			pkts++;
			kp_probe_bufs_append(pb, f->key.l4, dir, d, (uint32_t)n);
			kp_app_ctx_init(&c, e, f, dir, copy, n, gap, ts, pb);
			/* exact-size copies: a probe reading past buf_len is caught */
			for (int dd = 0; dd < 2; dd++) {
				bcopy[dd] = malloc(pb->len[dd] ? pb->len[dd] : 1);
				if (bcopy[dd])
					memcpy(bcopy[dd], pb->buf[dd], pb->len[dd]);
				c.buf[dd] = bcopy[dd];
			}
			r = bcopy[0] && bcopy[1] ? mod->probe(&c, &m) : KP_PROBE_EXCLUDE;
			free(bcopy[0]);
			free(bcopy[1]);
			free(copy);
			if (r == KP_PROBE_EXCLUDE)
				break;
			if (r == KP_PROBE_MATCH) {
				if (m.app >= KP_APP__COUNT)
					abort();
				matched = true;
				f->app = m.app;
				f->confidence = m.confidence ? m.confidence : KP_CONF_HIGH;
				f->cls_state = KP_CLS_DONE;
				f->mod = mod;
				if (!mod->state_size)
					break;
				st = calloc(1, mod->state_size);
				if (!st)
					break;
				f->mod_state = st;
				if (!mod->parse)
					break;
				for (int dd = 0; dd < 2 && !done; dd++)
					done = fz_parse(e, f, st, dd, pb->buf[dd], pb->len[dd], false, ts);
			} else if (pkts >= 4 * cfg.classify_packets) {
				break; /* classify.c gives up after classify.packets */
			}
		} else {
			done = fz_parse(e, f, st, dir, d, n, gap, ts);
		}
	}
	if (st && mod->json) {
		kp_json_init(&j);
		kp_json_begin(&j);
		mod->json(st, f, &j);
		kp_json_end(&j);
		if (!j.oom && (!j.buf || strlen(j.buf) != j.len))
			abort();
		kp_json_free(&j);
	}
	/* the flow's end: open files close (events), then the content state goes */
	kp_content_flow_end(e, f);
	kp_content_flow_free(e, f);
	if (st && mod->free_state)
		mod->free_state(st);
	free(st);
out_peers:
	kp_peer_cache_fini(&e->cls.peers);
out:
	if (e) {
		if (e->json.buf && e->json.len && strlen(e->json.buf) != e->json.len)
			abort(); /* an event with a NUL inside: escaping failed */
		kp_json_free(&e->json);
	}
	if (out_open)
		kp_output_close(&o);
	free(pb);
	free(f);
	free(e);
	return 0;
}
