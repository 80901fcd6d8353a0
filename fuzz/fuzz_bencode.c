/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the bencode reader (src/app/bencode.c) and what reads
 * torrent metadata with it (src/app/bt_meta.c): the input is validated as one
 * value, its dicts and lists are stepped through two levels deep with every
 * accessor, it is read as an info dict (file list), and it is assembled as
 * ut_metadata pieces of its own size.
 *
 * build: clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc fuzz/fuzz_bencode.c
 *        src/app/bencode.c src/app/bt_meta.c src/util/sha1.c -o fuzz_bencode
 * run:   ./fuzz_bencode -max_len=65536 NEW_CORPUS_DIR fuzz/regress/fuzz_bencode/
 *        (the seed there is the metadata of tests/captures/pcap/bt-magnet-multi.pcap)
 */
#include <stdint.h>
#include <string.h>

#include "app/bencode.h"
#include "app/bt_meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned sink;

static void touch(const struct kp_benc *v)
{
	const uint8_t *s;
	size_t n;
	int64_t i;

	if (kp_benc_str(v, &s, &n))
		sink += n ? s[0] + s[n - 1] : 1;
	if (kp_benc_int(v, &i))
		sink += (unsigned)i;
	sink += kp_benc_str_is(v, "name");
}

/* Steps through a container's members (and theirs, one level more). */
static void members(const struct kp_benc *v, int level)
{
	struct kp_benc key, val;
	size_t pos = 0;
	unsigned n = 0;

	touch(v);
	if (kp_benc_is_dict(v)) {
		while (n++ < 4096 && kp_benc_dict_next(v, &pos, &key, &val)) {
			touch(&key);
			if (level < 2)
				members(&val, level + 1);
		}
		sink += kp_benc_dict_get(v, "files", &val);
	} else if (kp_benc_is_list(v)) {
		while (n++ < 4096 && kp_benc_list_next(v, &pos, &val))
			if (level < 2)
				members(&val, level + 1);
	}
}

static void file_fn(void *arg, const char *path, size_t len, uint64_t length)
{
	(void)arg;
	sink += (unsigned)length + (len ? (uint8_t)path[len - 1] : 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kp_benc v;
	struct kp_bt_info info;
	struct kp_bt_meta m;
	uint8_t ih[20] = {0};
	size_t end;

	if (kp_benc_walk(data, size, &end) == KP_BENC_OK) {
		v.p = data;
		v.len = end;
		members(&v, 0);
	}
	kp_bt_info_parse(data, size, &info, file_fn, NULL);
	/* as ut_metadata: pieces of 16 KiB, last one first */
	memset(&m, 0, sizeof(m));
	for (size_t i = (size + KP_BT_META_PIECE - 1) / KP_BT_META_PIECE; i-- > 0;) {
		size_t off = i * KP_BT_META_PIECE, n = size - off;

		if (n > KP_BT_META_PIECE)
			n = KP_BT_META_PIECE;
		if (kp_bt_meta_piece(&m, (int64_t)i, (int64_t)size, data + off, n) !=
		    KP_BT_META_MORE)
			break;
	}
	sink += kp_bt_meta_verify(&m, ih);
	kp_bt_meta_free(&m);
	return 0;
}
