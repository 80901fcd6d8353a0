/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * BitTorrent content management: SHA-1, the bencode reader (real metadata and
 * hostile inputs), the info dict reader, and the peer-wire message reader run
 * through the module's parser over the project's magnet-link captures
 * (tests/captures/pcap/bt-magnet-{multi,single}.pcap, make-bt-magnet.sh), with
 * the recording fake of content.h (content_fake.c) in place of the core.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "app/bencode.h"
#include "app/bittorrent.h"
#include "app/bt_meta.h"
#include "app/bt_wire.h"
#include "content_fake.h"
#include "output/json.h"
#include "tap.h"
#include "util/sha1.h"

/*
 * The metadata (info dict, 377 bytes) of bt-magnet-multi.pcap, frame 20: the
 * seeder's ut_metadata data message (198.19.0.1:6881 -> 198.18.0.1), after its
 * 43-byte dict. SHA-1 = the info_hash.
 */
static const uint8_t meta_multi[] = {
	  0x64, 0x35, 0x3a, 0x66, 0x69, 0x6c, 0x65, 0x73, 0x6c, 0x64, 0x36, 0x3a,
	  0x6c, 0x65, 0x6e, 0x67, 0x74, 0x68, 0x69, 0x31, 0x32, 0x30, 0x30, 0x65,
	  0x34, 0x3a, 0x70, 0x61, 0x74, 0x68, 0x6c, 0x31, 0x30, 0x3a, 0x72, 0x65,
	  0x61, 0x64, 0x6d, 0x65, 0x2e, 0x74, 0x78, 0x74, 0x65, 0x65, 0x64, 0x36,
	  0x3a, 0x6c, 0x65, 0x6e, 0x67, 0x74, 0x68, 0x69, 0x37, 0x38, 0x38, 0x30,
	  0x30, 0x65, 0x34, 0x3a, 0x70, 0x61, 0x74, 0x68, 0x6c, 0x34, 0x3a, 0x64,
	  0x61, 0x74, 0x61, 0x39, 0x3a, 0x70, 0x61, 0x72, 0x74, 0x31, 0x2e, 0x62,
	  0x69, 0x6e, 0x65, 0x65, 0x64, 0x36, 0x3a, 0x6c, 0x65, 0x6e, 0x67, 0x74,
	  0x68, 0x69, 0x37, 0x30, 0x30, 0x30, 0x30, 0x65, 0x34, 0x3a, 0x70, 0x61,
	  0x74, 0x68, 0x6c, 0x39, 0x3a, 0x73, 0x65, 0x74, 0x75, 0x70, 0x2e, 0x65,
	  0x78, 0x65, 0x65, 0x65, 0x65, 0x34, 0x3a, 0x6e, 0x61, 0x6d, 0x65, 0x39,
	  0x3a, 0x6b, 0x71, 0x62, 0x2d, 0x66, 0x69, 0x6c, 0x65, 0x73, 0x31, 0x32,
	  0x3a, 0x70, 0x69, 0x65, 0x63, 0x65, 0x20, 0x6c, 0x65, 0x6e, 0x67, 0x74,
	  0x68, 0x69, 0x31, 0x36, 0x33, 0x38, 0x34, 0x65, 0x36, 0x3a, 0x70, 0x69,
	  0x65, 0x63, 0x65, 0x73, 0x32, 0x30, 0x30, 0x3a, 0x69, 0xdc, 0xcb, 0x9a,
	  0x9f, 0x00, 0x33, 0x08, 0x03, 0x92, 0xf5, 0x87, 0xea, 0x60, 0xe0, 0x8d,
	  0x44, 0x8e, 0x47, 0x6c, 0xb6, 0x61, 0xae, 0x03, 0x12, 0xbf, 0x86, 0x65,
	  0xa3, 0x76, 0xbd, 0x2d, 0x91, 0xdb, 0x81, 0xb2, 0xba, 0x8f, 0x66, 0x02,
	  0xc7, 0x73, 0x8b, 0x7e, 0x61, 0x2c, 0xab, 0x71, 0x1d, 0xaa, 0xe3, 0xf0,
	  0x74, 0x4a, 0x05, 0x23, 0x63, 0xbe, 0x07, 0x51, 0x62, 0xf0, 0xfc, 0x9a,
	  0x5b, 0xaa, 0x27, 0xeb, 0x4f, 0x35, 0x69, 0x59, 0x43, 0x33, 0x5b, 0xf2,
	  0xb7, 0xd5, 0xf1, 0xe0, 0x31, 0xdc, 0x0b, 0xc5, 0x3e, 0x84, 0xf3, 0xf4,
	  0x94, 0xd1, 0xff, 0xa2, 0xae, 0xdb, 0x5c, 0xdb, 0xa3, 0xb1, 0xd9, 0x6d,
	  0x71, 0x1e, 0x5d, 0x98, 0xde, 0x5a, 0x25, 0xcd, 0x29, 0xbe, 0x1a, 0xf9,
	  0xe2, 0xdc, 0xcd, 0x1e, 0x50, 0x9f, 0x38, 0x93, 0x62, 0x00, 0x4c, 0x73,
	  0x49, 0xf4, 0xae, 0xc6, 0x32, 0xb4, 0x52, 0xeb, 0xac, 0x62, 0xe4, 0xd7,
	  0x5b, 0x72, 0x94, 0x16, 0x07, 0x11, 0x98, 0x98, 0x32, 0xec, 0x84, 0x3c,
	  0x6d, 0x89, 0xcf, 0x5b, 0xfb, 0x8e, 0xd7, 0x12, 0xf0, 0x0d, 0x6e, 0x3e,
	  0xe1, 0x91, 0xa2, 0xe3, 0x3c, 0x1f, 0x4d, 0xc2, 0x3f, 0x1e, 0xbd, 0x36,
	  0x85, 0x05, 0x15, 0x31, 0x9a, 0x33, 0x59, 0x3a, 0xd1, 0x99, 0xec, 0x68,
	  0x4f, 0x7a, 0xae, 0x00, 0xad, 0x59, 0xc8, 0x27, 0xd3, 0xac, 0x9d, 0x5e,
	  0x00, 0x9b, 0x77, 0xc5, 0x65
};

static const char ih_multi_hex[] = "6e65eb3717d61fc1ac239a423430f395cffdf37a";
static const char ih_single_hex[] = "7414cdd718dab2352d9c607a2e9a87f15ebf4045";

static void unhex(const char *h, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		sscanf(h + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
}

/* ---------------------------------------------------------------------------------------- */
/* SHA-1 */

KP_TEST(sha1_vectors)
{
	uint8_t h[20], want[20];
	struct kp_sha1 s;
	static const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

	kp_sha1((const uint8_t *)"abc", 3, h);
	unhex("a9993e364706816aba3e25717850c26c9cd0d89d", want, 20);
	CHECK(memcmp(h, want, 20) == 0);
	kp_sha1((const uint8_t *)"", 0, h);
	unhex("da39a3ee5e6b4b0d3255bfef95601890afd80709", want, 20);
	CHECK(memcmp(h, want, 20) == 0);
	/* 56 bytes: the padding spills into a second block; fed in odd pieces */
	kp_sha1_init(&s);
	for (size_t i = 0, n = strlen(two); i < n; i += 7)
		kp_sha1_update(&s, (const uint8_t *)two + i, n - i < 7 ? n - i : 7);
	kp_sha1_final(&s, h);
	unhex("84983e441c3bd26ebaae4aa1f95129e5e54670f1", want, 20);
	CHECK(memcmp(h, want, 20) == 0);
	kp_sha1(meta_multi, sizeof(meta_multi), h);
	unhex(ih_multi_hex, want, 20);
	CHECK(memcmp(h, want, 20) == 0);
}

/* ---------------------------------------------------------------------------------------- */
/* bencode */

KP_TEST(bencode_real_metadata)
{
	struct kp_benc d, v, files, f, path, comp;
	const uint8_t *s = NULL;
	size_t n = 0, pos = 0, end;
	int64_t l;
	unsigned nf = 0;

	CHECK(kp_benc_walk(meta_multi, sizeof(meta_multi), &end) == KP_BENC_OK);
	CHECK_EQ(end, sizeof(meta_multi));
	CHECK(kp_benc_parse(meta_multi, sizeof(meta_multi), &d));
	CHECK(kp_benc_dict_get(&d, "name", &v) && kp_benc_str(&v, &s, &n));
	CHECK(n == 9 && memcmp(s, "kqb-files", 9) == 0);
	CHECK(kp_benc_dict_int(&d, "piece length", &l) && l == 16384);
	CHECK(kp_benc_dict_get(&d, "pieces", &v) && kp_benc_str(&v, &s, &n) && n == 200);
	CHECK(kp_benc_dict_get(&d, "files", &files) && kp_benc_is_list(&files));
	while (kp_benc_list_next(&files, &pos, &f)) {
		size_t pp = 0;

		CHECK(kp_benc_is_dict(&f));
		CHECK(kp_benc_dict_get(&f, "path", &path));
		CHECK(kp_benc_list_next(&path, &pp, &comp));
		nf++;
	}
	CHECK_EQ(nf, 3);
	CHECK(!kp_benc_dict_get(&d, "length", &v));
	/* every proper prefix is truncated, never accepted */
	for (size_t i = 0; i < sizeof(meta_multi); i++)
		CHECK(kp_benc_walk(meta_multi, i, &end) == KP_BENC_TRUNCATED);
}

KP_TEST(bencode_hostile)
{
	static uint8_t deep[2 * KP_BENC_MAX_DEPTH + 4];
	size_t end;
	int64_t l;
	struct kp_benc v;

	/* nesting: KP_BENC_MAX_DEPTH lists are fine, one more is not */
	for (unsigned i = 0; i < KP_BENC_MAX_DEPTH; i++) {
		deep[i] = 'l';
		deep[KP_BENC_MAX_DEPTH + i] = 'e';
	}
	CHECK(kp_benc_walk(deep, 2 * KP_BENC_MAX_DEPTH, &end) == KP_BENC_OK);
	memset(deep, 'l', KP_BENC_MAX_DEPTH + 1);
	memset(deep + KP_BENC_MAX_DEPTH + 1, 'e', KP_BENC_MAX_DEPTH + 1);
	CHECK(kp_benc_walk(deep, 2 * KP_BENC_MAX_DEPTH + 2, &end) == KP_BENC_INVALID);
	/* huge string lengths: 18 digits run past the buffer, 19 are refused */
	CHECK(kp_benc_walk((const uint8_t *)"999999999999999999:x", 20, &end) == KP_BENC_TRUNCATED);
	CHECK(kp_benc_walk((const uint8_t *)"9999999999999999999:x", 21, &end) == KP_BENC_INVALID);
	CHECK(kp_benc_walk((const uint8_t *)"d4:name4294967296:xe", 20, &end) ==
	      KP_BENC_TRUNCATED);
	/* integers: no leading zero, no -0, at most 18 digits */
	CHECK(kp_benc_walk((const uint8_t *)"i012e", 5, &end) == KP_BENC_INVALID);
	CHECK(kp_benc_walk((const uint8_t *)"i-0e", 4, &end) == KP_BENC_INVALID);
	CHECK(kp_benc_walk((const uint8_t *)"i9999999999999999999e", 21, &end) == KP_BENC_INVALID);
	CHECK(kp_benc_parse((const uint8_t *)"i-42e", 5, &v) && kp_benc_int(&v, &l) && l == -42);
	CHECK(kp_benc_parse((const uint8_t *)"i999999999999999999e", 20, &v) &&
	      kp_benc_int(&v, &l) && l == 999999999999999999LL);
	/* dict keys are strings; a key needs its value; trailing bytes are not one value */
	CHECK(kp_benc_walk((const uint8_t *)"di1ei2ee", 8, &end) == KP_BENC_INVALID);
	CHECK(kp_benc_walk((const uint8_t *)"d1:ae", 5, &end) == KP_BENC_INVALID);
	CHECK(!kp_benc_parse((const uint8_t *)"i1ei2e", 6, &v));
	CHECK(kp_benc_walk((const uint8_t *)"e", 1, &end) == KP_BENC_INVALID);
	CHECK(kp_benc_walk((const uint8_t *)"", 0, &end) == KP_BENC_TRUNCATED);
	/* accessors refuse the wrong kind */
	CHECK(kp_benc_parse((const uint8_t *)"4:spam", 6, &v) && !kp_benc_int(&v, &l) &&
	      !kp_benc_is_dict(&v) && !kp_benc_is_list(&v));
}

/* ---------------------------------------------------------------------------------------- */
/* Info dict */

struct flist {
	unsigned n;
	char name[8][64];
	uint64_t len[8];
};

static void flist_add(void *arg, const char *path, size_t n, uint64_t length)
{
	struct flist *fl = arg;

	if (fl->n < 8 && n < 64) {
		memcpy(fl->name[fl->n], path, n);
		fl->name[fl->n][n] = 0;
		fl->len[fl->n++] = length;
	}
}

KP_TEST(info_dict_files)
{
	struct kp_bt_info info;
	struct flist fl = {0};
	static const char single[] = "d6:lengthi120000e4:name9:setup.exe12:piece lengthi16384e"
				     "6:pieces0:e";
	static const char pad[] = "d5:filesld6:lengthi5e4:pathl1:aeed4:attr1:p6:lengthi7e"
				  "4:pathl4:.pad1:7eed6:lengthi9e4:pathl1:beee4:name1:x"
				  "12:piece lengthi8ee";

	CHECK(kp_bt_info_parse(meta_multi, sizeof(meta_multi), &info, flist_add, &fl));
	CHECK(info.multi);
	CHECK_EQ(info.nfiles, 3);
	CHECK_EQ(info.total, 150000);
	CHECK_EQ(info.piece_length, 16384);
	CHECK_EQ(fl.n, 3);
	CHECK_STR(fl.name[0], "kqb-files/readme.txt");
	CHECK_EQ(fl.len[0], 1200);
	CHECK_STR(fl.name[1], "kqb-files/data/part1.bin");
	CHECK_EQ(fl.len[1], 78800);
	CHECK_STR(fl.name[2], "kqb-files/setup.exe");
	CHECK_EQ(fl.len[2], 70000);

	memset(&fl, 0, sizeof(fl));
	CHECK(kp_bt_info_parse((const uint8_t *)single, strlen(single), &info, flist_add, &fl));
	CHECK(!info.multi);
	CHECK_EQ(fl.n, 1);
	CHECK_STR(fl.name[0], "setup.exe");
	CHECK_EQ(fl.len[0], 120000);

	/* BEP 47 padding files are not listed */
	memset(&fl, 0, sizeof(fl));
	CHECK(kp_bt_info_parse((const uint8_t *)pad, strlen(pad), &info, flist_add, &fl));
	CHECK_EQ(fl.n, 2);
	CHECK_STR(fl.name[1], "x/b");

	/* not an info dict */
	CHECK(!kp_bt_info_parse((const uint8_t *)"d4:name1:xe", 11, &info, NULL, NULL));
	CHECK(!kp_bt_info_parse(meta_multi, sizeof(meta_multi) - 1, &info, NULL, NULL));
}

KP_TEST(metadata_assembly)
{
	struct kp_bt_meta m = {0};
	uint8_t ih[20], *big;
	size_t total = 40000;

	unhex(ih_multi_hex, ih, 20);
	CHECK(kp_bt_meta_piece(&m, 0, sizeof(meta_multi), meta_multi, sizeof(meta_multi)) ==
	      KP_BT_META_DONE);
	CHECK(kp_bt_meta_verify(&m, ih));
	kp_bt_meta_free(&m);

	/* three pieces, out of order, one repeated; a wrong hash does not verify */
	big = malloc(total);
	for (size_t i = 0; i < total; i++)
		big[i] = (uint8_t)(i * 7);
	memset(&m, 0, sizeof(m));
	CHECK(kp_bt_meta_piece(&m, 2, (int64_t)total, big + 32768, total - 32768) ==
	      KP_BT_META_MORE);
	CHECK(kp_bt_meta_piece(&m, 0, (int64_t)total, big, 16384) == KP_BT_META_MORE);
	CHECK(kp_bt_meta_piece(&m, 0, (int64_t)total, big, 16384) == KP_BT_META_MORE);
	CHECK(kp_bt_meta_piece(&m, 1, (int64_t)total, big + 16384, 16384) == KP_BT_META_DONE);
	CHECK(m.complete && memcmp(m.buf, big, total) == 0);
	CHECK(!kp_bt_meta_verify(&m, ih));
	kp_bt_meta_free(&m);

	/* limits: more than 4 MiB, a short middle piece, a piece out of range, sizes that change */
	memset(&m, 0, sizeof(m));
	CHECK(kp_bt_meta_piece(&m, 0, KP_BT_META_MAX + 1, big, 16384) == KP_BT_META_BAD);
	memset(&m, 0, sizeof(m));
	CHECK(kp_bt_meta_piece(&m, 0, (int64_t)total, big, 100) == KP_BT_META_BAD);
	memset(&m, 0, sizeof(m));
	CHECK(kp_bt_meta_piece(&m, 3, (int64_t)total, big, 100) == KP_BT_META_BAD);
	memset(&m, 0, sizeof(m));
	CHECK(kp_bt_meta_piece(&m, 0, (int64_t)total, big, 16384) == KP_BT_META_MORE);
	CHECK(kp_bt_meta_piece(&m, 1, (int64_t)total + 1, big, 16384) == KP_BT_META_BAD);
	CHECK(m.buf == NULL && m.failed);
	CHECK(kp_bt_meta_piece(&m, -1, -5, big, 0) == KP_BT_META_MORE); /* ignored after BAD */
	kp_bt_meta_free(&m);
	free(big);
}

/* ---------------------------------------------------------------------------------------- */
/* The peer-wire reader over the captures */

#define MAX_SEGS 4096

/* The TCP payload of one connection, per segment in capture order. */
struct seg {
	uint8_t dir;
	bool gap;
	uint8_t *data;
	size_t len;
};

struct conn {
	unsigned n;
	struct seg s[MAX_SEGS];
	uint64_t bytes[2];
};

static void conn_free(struct conn *c)
{
	for (unsigned i = 0; i < c->n; i++)
		free(c->s[i].data);
	free(c);
}

/*
 * Reads the capture (Ethernet, IPv4, TCP), keeps the connection with server
 * port `port` in order per direction (retransmitted bytes dropped).
 */
static struct conn *conn_load(const char *file, uint16_t port)
{
	char path[512], err[PCAP_ERRBUF_SIZE];
	const char *src = getenv("KP_SRC");
	struct pcap_pkthdr *h;
	const u_char *d;
	pcap_t *pc;
	struct conn *c;
	uint32_t next[2] = {0, 0};
	bool have[2] = {false, false};

	snprintf(path, sizeof(path), "%s/tests/captures/pcap/%s", src ? src : ".", file);
	pc = pcap_open_offline(path, err);
	if (!pc) {
		printf("  skip: %s absent\n", path);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	while (c && pcap_next_ex(pc, &h, &d) == 1) {
		size_t cl = h->caplen, ihl, thl, plen;
		uint16_t sp, dp, iplen;
		uint32_t seq;
		uint8_t dir, fl;
		const u_char *ip = d + 14, *tcp;

		if (cl < 14 + 20 || d[12] != 0x08 || d[13] != 0x00 || ip[9] != IPPROTO_TCP)
			continue;
		ihl = (size_t)(ip[0] & 15) * 4;
		iplen = (uint16_t)(ip[2] << 8 | ip[3]);
		if (cl < 14 + ihl + 20 || iplen > cl - 14)
			continue;
		tcp = ip + ihl;
		thl = (size_t)(tcp[12] >> 4) * 4;
		sp = (uint16_t)(tcp[0] << 8 | tcp[1]);
		dp = (uint16_t)(tcp[2] << 8 | tcp[3]);
		seq = (uint32_t)tcp[4] << 24 | (uint32_t)tcp[5] << 16 | (uint32_t)tcp[6] << 8 |
		      tcp[7];
		fl = tcp[13];
		if (dp == port)
			dir = KP_DIR_TOSERVER;
		else if (sp == port)
			dir = KP_DIR_TOCLIENT;
		else
			continue;
		if (fl & 0x02) { /* SYN */
			next[dir] = seq + 1;
			have[dir] = true;
			continue;
		}
		plen = iplen - ihl - thl;
		if (!plen || !have[dir])
			continue;
		if ((int32_t)(seq + (uint32_t)plen - next[dir]) <= 0)
			continue; /* retransmission */
		if (c->n >= MAX_SEGS)
			break;
		{
			uint32_t skip = (int32_t)(next[dir] - seq) > 0 ? next[dir] - seq : 0;
			struct seg *s = &c->s[c->n++];

			s->dir = dir;
			s->gap = (int32_t)(seq - next[dir]) > 0;
			s->len = plen - skip;
			s->data = malloc(s->len);
			memcpy(s->data, tcp + thl + skip, s->len);
			c->bytes[dir] += s->len;
			next[dir] = seq + (uint32_t)plen;
		}
	}
	pcap_close(pc);
	return c;
}

/* Runs the module's parser over the connection; chunk > 0 cuts every segment in pieces. */
static void *run_parser(const struct conn *c, size_t chunk, enum kp_parse_result *last)
{
	const struct kp_app_module *mod = &kp_mod_bittorrent;
	void *st = calloc(1, mod->state_size);
	struct kp_match label = {KP_APP_BITTORRENT, KP_CONF_HIGH};

	*last = KP_PARSE_MORE;
	for (unsigned i = 0; i < c->n && *last == KP_PARSE_MORE; i++) {
		size_t off = 0;

		do {
			struct kp_app_ctx ctx;
			size_t n = c->s[i].len - off;

			if (chunk && n > chunk)
				n = chunk;
			memset(&ctx, 0, sizeof(ctx));
			ctx.l4 = IPPROTO_TCP;
			ctx.dir = c->s[i].dir;
			ctx.gap = off == 0 && c->s[i].gap;
			ctx.data = c->s[i].data + off;
			ctx.len = n;
			ctx.family = AF_INET;
			ctx.label = &label;
			*last = mod->parse(&ctx, st);
			off += n;
		} while (off < c->s[i].len && *last == KP_PARSE_MORE);
	}
	return st;
}

static void free_state(void *st)
{
	kp_mod_bittorrent.free_state(st);
	free(st);
}

/* The flow event's bittorrent object. */
static char *state_json(const void *st)
{
	struct kp_json j;
	char *s;

	kp_json_init(&j);
	kp_json_begin(&j);
	kp_mod_bittorrent.json(st, NULL, &j);
	kp_json_end(&j);
	s = strndup(j.buf, j.len);
	kp_json_free(&j);
	return s;
}

/* The SHA-1 of each 16 KiB piece of the image equals the torrent's "pieces". */
static bool pieces_match(const uint8_t *img, size_t total, const uint8_t *meta, size_t mlen)
{
	struct kp_benc d, v;
	const uint8_t *ph;
	size_t phn, np = (total + 16383) / 16384;
	uint8_t h[20];

	if (!kp_benc_parse(meta, mlen, &d) || !kp_benc_dict_get(&d, "pieces", &v) ||
	    !kp_benc_str(&v, &ph, &phn) || phn != np * 20)
		return false;
	for (size_t i = 0; i < np; i++) {
		size_t n = i + 1 < np ? 16384 : total - i * 16384;

		kp_sha1(img + i * 16384, n, h);
		if (memcmp(h, ph + 20 * i, 20))
			return false;
	}
	return true;
}

/* Checks the calls recorded for the multi-file capture. */
static void check_multi_calls(int *kp_failed, const uint8_t *ih)
{
	unsigned listed = 0, pieces = 0, seen = 0;
	uint64_t bytes = 0;
	bool got[10] = {false};
	static const char *const names[3] = {"kqb-files/readme.txt", "kqb-files/data/part1.bin",
					     "kqb-files/setup.exe"};
	static const uint64_t sizes[3] = {1200, 78800, 70000};

	CHECK_EQ(fake_lost, 0);
	for (unsigned i = 0; i < fake_n; i++) {
		const struct fake_ev *k = &fake_ev[i];

		CHECK(k->kind == FK_HASH_SEEN || k->kind == FK_LISTED || k->kind == FK_PIECE);
		if (k->kind == FK_HASH_SEEN || k->kind == FK_LISTED || k->kind == FK_PIECE) {
			CHECK_EQ(k->hkind, KP_HASH_BT_INFOHASH);
			CHECK_EQ(k->hash_len, 20);
			CHECK(memcmp(k->hash, ih, 20) == 0);
		}
		if (k->kind == FK_HASH_SEEN) {
			seen++;
			CHECK(pieces == 0 && listed == 0); /* the handshakes come first */
		} else if (k->kind == FK_LISTED) {
			CHECK(listed < 3);
			if (listed < 3) {
				CHECK_STR(k->what, "torrent");
				CHECK_STR(k->name, names[listed]);
				CHECK_EQ(k->size, sizes[listed]);
			}
			listed++;
			CHECK(pieces == 0); /* the metadata came before any piece */
		} else if (k->kind == FK_PIECE) {
			CHECK_EQ(k->dir, KP_DIR_TOCLIENT); /* the seeder is the server */
			CHECK(k->index < 10);
			CHECK_EQ(k->offset, k->index * 16384); /* one block per piece, begin 0 */
			CHECK_EQ(k->bytes, k->index == 9 ? 150000 - 9 * 16384 : 16384);
			if (k->index < 10) {
				CHECK(!got[k->index]);
				got[k->index] = true;
			}
			bytes += k->bytes;
			pieces++;
		}
	}
	CHECK_EQ(seen, 2); /* both handshakes */
	CHECK_EQ(listed, 3);
	CHECK_EQ(pieces, 10);
	CHECK_EQ(bytes, 150000);
}

KP_TEST(wire_magnet_multi)
{
	struct conn *c = conn_load("bt-magnet-multi.pcap", 6881);
	static const size_t chunks[] = {0, 1, 7, 1000, 16385};
	enum kp_parse_result last;
	uint8_t ih[20];
	void *st;
	char *js;

	if (!c)
		return;
	unhex(ih_multi_hex, ih, 20);
	fake_image_size = 150000;
	fake_image = calloc(1, fake_image_size);
	for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
		fake_files_wanted = true;
		fake_reset();
		memset(fake_image, 0, fake_image_size);
		st = run_parser(c, chunks[k], &last);
		CHECK(last == KP_PARSE_MORE); /* keeps reading while files are wanted */
		check_multi_calls(kp_failed, ih);
		/* the blocks reported are the torrent's content: each piece's SHA-1 checks */
		CHECK(pieces_match(fake_image, fake_image_size, meta_multi, sizeof(meta_multi)));
		js = state_json(st);
		CHECK(strstr(js, "\"torrent_name\":\"kqb-files\",\"torrent_files\":3") != NULL);
		CHECK(strstr(js, "\"info_hash\":\"6e65eb3717d61fc1ac239a423430f395cffdf37a\""));
		if (k == 0)
			printf("  %s\n", js);
		free(js);
		free_state(st);
	}
	/* files not wanted: no content call, done after the two handshakes as before */
	fake_files_wanted = false;
	fake_reset();
	st = run_parser(c, 0, &last);
	CHECK(last == KP_PARSE_DONE);
	CHECK_EQ(fake_n, 0);
	free_state(st);
	free(fake_image);
	fake_image = NULL;
	conn_free(c);
}

KP_TEST(wire_magnet_single)
{
	struct conn *c = conn_load("bt-magnet-single.pcap", 6881);
	enum kp_parse_result last;
	uint8_t ih[20];
	uint64_t bytes = 0;
	unsigned pieces = 0, listed = 0;
	void *st;
	char *js;

	if (!c)
		return;
	unhex(ih_single_hex, ih, 20);
	fake_files_wanted = true;
	fake_reset();
	st = run_parser(c, 0, &last);
	for (unsigned i = 0; i < fake_n; i++) {
		const struct fake_ev *k = &fake_ev[i];

		CHECK(memcmp(k->hash, ih, 20) == 0);
		if (k->kind == FK_LISTED) {
			CHECK_STR(k->name, "setup.exe");
			CHECK_EQ(k->size, 120000);
			listed++;
		} else if (k->kind == FK_PIECE) {
			CHECK_EQ(k->offset, k->index * 16384);
			bytes += k->bytes;
			pieces++;
		}
	}
	CHECK_EQ(listed, 1);
	CHECK_EQ(pieces, 8);
	CHECK_EQ(bytes, 120000);
	CHECK_EQ(fake_count(FK_HASH_SEEN), 2);
	js = state_json(st);
	CHECK(strstr(js, "\"torrent_name\":\"setup.exe\",\"torrent_files\":1") != NULL);
	free(js);
	free_state(st);
	conn_free(c);
}

/* ---------------------------------------------------------------------------------------- */
/* The peer-wire reader on made-up streams */

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void feed(struct kp_bt_wire *w, const uint8_t *ih, unsigned dir, const uint8_t *p,
		 size_t n, bool gap)
{
	struct kp_app_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	kp_bt_wire_feed(&ctx, w, ih, dir, p, n, gap);
}

KP_TEST(wire_bounds)
{
	struct kp_bt_wire w;
	uint8_t ih[20] = {1}, hdr[13], *blk;
	size_t big = 3u << 20;

	memset(&w, 0, sizeof(w));
	fake_files_wanted = true;
	fake_reset();
	/* a 3 MiB bitfield (id 5) is skipped as it passes, then a 40000-byte piece block */
	put32(hdr, (uint32_t)big + 1);
	hdr[4] = 5;
	feed(&w, ih, 1, hdr, 5, false);
	blk = calloc(1, big);
	for (size_t off = 0; off < big; off += 65536)
		feed(&w, ih, 1, blk + off, 65536, false);
	CHECK(w.d[1].mode == 0 && w.d[1].hdr_len == 0);
	put32(hdr, 9 + 40000);
	hdr[4] = 7;
	put32(hdr + 5, 3);
	put32(hdr + 9, 16384);
	feed(&w, ih, 1, hdr, 13, false);
	for (size_t i = 0; i < 40000; i++)
		blk[i] = (uint8_t)i;
	feed(&w, ih, 1, blk, 10000, false);
	feed(&w, ih, 1, blk + 10000, 30000, false);
	/* chunks of at most 16 KiB, offsets = begin + passed (no piece length known) */
	CHECK_EQ(fake_count(FK_PIECE), 3);
	CHECK_EQ(fake_ev[0].offset, 16384);
	CHECK_EQ(fake_ev[0].bytes, 16384);
	CHECK_EQ(fake_ev[0].data_fnv, fake_fnv(FAKE_FNV0, blk, 16384));
	CHECK_EQ(fake_ev[1].offset, 32768);
	CHECK_EQ(fake_ev[2].offset, 49152);
	CHECK_EQ(fake_ev[2].bytes, 40000 - 32768);
	CHECK_EQ(fake_ev[2].data_fnv, fake_fnv(FAKE_FNV0, blk + 32768, 40000 - 32768));
	CHECK_EQ(fake_ev[2].index, 3);
	/* a piece block over 128 KiB is skipped; an extension message over the cap too */
	fake_reset();
	put32(hdr, 9 + 200000);
	feed(&w, ih, 1, hdr, 13, false);
	feed(&w, ih, 1, blk, 200000, false);
	put32(hdr, 1 + 100000);
	hdr[4] = 20;
	feed(&w, ih, 1, hdr, 5, false);
	feed(&w, ih, 1, blk, 100000, false);
	CHECK_EQ(fake_n, 0);
	CHECK(w.d[1].mode == 0 && w.d[1].hdr_len == 0);
	/* a gap ends the direction */
	feed(&w, ih, 1, NULL, 0, true);
	CHECK(w.d[1].dead);
	put32(hdr, 9 + 10);
	hdr[4] = 7;
	feed(&w, ih, 1, hdr, 13, false);
	feed(&w, ih, 1, blk, 10, false);
	CHECK_EQ(fake_n, 0);
	kp_bt_wire_free(&w);
	free(blk);
}

/* Builds an extension message: length, 20, ext id, then the payload. */
static size_t ext_msg(uint8_t *out, uint8_t eid, const void *a, size_t an, const void *b,
		      size_t bn)
{
	put32(out, (uint32_t)(2 + an + bn));
	out[4] = 20;
	out[5] = eid;
	memcpy(out + 6, a, an);
	if (bn)
		memcpy(out + 6 + an, b, bn);
	return 6 + an + bn;
}

KP_TEST(wire_metadata_mismatch)
{
	struct kp_bt_wire w;
	uint8_t ih[20] = {0x42}, buf[1024];
	static const char hs[] = "d1:md11:ut_metadatai3ee13:metadata_sizei377ee";
	static const char dd[] = "d8:msg_typei1e5:piecei0e10:total_sizei377ee";
	size_t n;

	memset(&w, 0, sizeof(w));
	fake_files_wanted = true;
	fake_reset();
	/* the leecher (dir 0) announces ut_metadata 3; the seeder sends the metadata with id 3 */
	n = ext_msg(buf, 0, hs, strlen(hs), NULL, 0);
	feed(&w, ih, 0, buf, n, false);
	CHECK_EQ(w.ut_metadata[0], 3);
	CHECK_EQ(w.metadata_size, 377);
	n = ext_msg(buf, 3, dd, strlen(dd), meta_multi, sizeof(meta_multi));
	feed(&w, ih, 1, buf, n, false);
	/* the SHA-1 is not this info_hash: nothing listed */
	CHECK(w.meta_mismatch);
	CHECK(!w.info_done);
	CHECK_EQ(fake_n, 0);
	kp_bt_wire_free(&w);

	/* the same with the right hash, but the id the *sender* announced is not the one used */
	memset(&w, 0, sizeof(w));
	unhex(ih_multi_hex, ih, 20);
	n = ext_msg(buf, 0, hs, strlen(hs), NULL, 0);
	feed(&w, ih, 1, buf, n, false); /* seeder announces 3; leecher announced nothing */
	n = ext_msg(buf, 3, dd, strlen(dd), meta_multi, sizeof(meta_multi));
	feed(&w, ih, 1, buf, n, false);
	CHECK(!w.info_done);
	feed(&w, ih, 0, buf, ext_msg(buf, 0, hs, strlen(hs), NULL, 0), false);
	n = ext_msg(buf, 3, dd, strlen(dd), meta_multi, sizeof(meta_multi));
	feed(&w, ih, 1, buf, n, false);
	CHECK(w.info_done);
	CHECK_EQ(fake_count(FK_LISTED), 3);
	kp_bt_wire_free(&w);
}

KP_TEST_MAIN()
