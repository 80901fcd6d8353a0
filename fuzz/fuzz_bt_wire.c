/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the BitTorrent peer-wire message reader
 * (src/app/bt_wire.c) through the module's parser, with the recording fake of
 * content.h (tests/unit/content_fake.c) saying that files are wanted: both
 * sides send a plaintext handshake, then the input is a sequence of chunks,
 * each one byte (bit 0: direction, bits 1..7: length - 1) and up to 128 bytes
 * of stream. Reaches the extension handshake, ut_metadata assembly, the SHA-1
 * check, the info dict reader and piece streaming.
 *
 * build: see fuzz/meson.build (fuzz_bt_wire)
 * run:   ./fuzz_bt_wire -max_len=4096 NEW_CORPUS_DIR fuzz/regress/fuzz_bt_wire/
 *        (the seed there is the start of the peer connection of bt-magnet-multi.pcap,
 *        in this chunk format, after the handshakes)
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "content_fake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * A handshake: magic, zero reserved bytes and peer_id, and the info_hash of
 * bt-magnet-multi.pcap, so that the seed's metadata passes the SHA-1 check and
 * reaches the info dict reader and kp_app_file_listed().
 */
static const uint8_t handshake[68] = "\x13" "BitTorrent protocol"
				     "\0\0\0\0\0\0\0\0"
				     "\x6e\x65\xeb\x37\x17\xd6\x1f\xc1\xac\x23"
				     "\x9a\x42\x34\x30\xf3\x95\xcf\xfd\xf3\x7a";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct kp_app_module *m = &kp_mod_bittorrent;
	void *st = calloc(1, m->state_size);
	struct kp_app_ctx c;
	size_t off = 0;

	if (!st)
		return 0;
	fake_files_wanted = true;
	fake_reset();
	memset(&c, 0, sizeof(c));
	c.l4 = IPPROTO_TCP;
	for (uint8_t dir = 0; dir < 2; dir++) {
		c.dir = dir;
		c.data = handshake;
		c.len = sizeof(handshake);
		m->parse(&c, st);
	}
	while (off < size) {
		size_t len = (size_t)(data[off] >> 1) + 1;

		c.dir = data[off] & 1;
		off++;
		if (len > size - off)
			len = size - off;
		c.data = data + off;
		c.len = len;
		if (m->parse(&c, st) == KP_PARSE_DONE)
			break;
		off += len;
	}
	m->free_state(st);
	free(st);
	return 0;
}
