/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Content reporting of the eDonkey, Gnutella and DirectConnect parsers (issue 4):
 * the flows of our own captures (tests/captures/pcap: dc-uhub.pcap,
 * edonkey-search.pcap, edonkey-amule.pcap, gnutella-servent.pcap) are fed to each
 * module's parse() with a recording fake of src/content/content.h
 * (content_fake.c), and the exact names, sizes, hashes, search texts, piece
 * offsets and byte totals are checked. Hostile inputs (cut and mutated frames,
 * huge counts, empty names) must not crash or over-read (run under ASan).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "app/app.h"
#include "content_fake.h"
#include "corpus_pcap.h"
#include "tap.h"

/* ---- feeding one flow of a capture to a module's parser -------------------- */

struct feed {
	const struct kp_app_module *mod;
	uint8_t l4;
	uint16_t port;	/* the flow: first one of this l4 with this port on either side */
	uint16_t other; /* the peer port once known */
	unsigned skip;	/* TCP: take the (skip+1)-th connection with that port */
	bool started, done;
	uint8_t caddr[4];
	uint16_t cport;
	uint32_t next[2];
	bool have_next[2];
	void *st;
	unsigned pkts;
	uint64_t mutate; /* non-zero: flip random bytes and split chunks (fuzzing) */
};

static void feed_pkt(void *arg, unsigned frame, int dlt, const struct kp_pkt_info *pi)
{
	struct feed *f = arg;
	struct kp_app_ctx ctx;
	unsigned d;
	bool gap = false;

	(void)frame, (void)dlt;
	if (f->done || pi->l4 != f->l4 || pi->family != AF_INET)
		return;
	if (pi->sport != f->port && pi->dport != f->port)
		return;
	if (!f->started) {
		/* the client: the SYN sender (TCP), the first sender (UDP) */
		if (f->l4 == IPPROTO_TCP && !(pi->tcp_flags & 0x02))
			return;
		if (f->l4 == IPPROTO_TCP && (pi->tcp_flags & 0x10))
			return; /* SYN/ACK */
		if (f->skip) {
			f->skip--;
			return;
		}
		f->started = true;
		memcpy(f->caddr, pi->src, 4);
		f->cport = pi->sport;
		f->other = pi->sport == f->port ? pi->dport : pi->sport;
	}
	if ((pi->sport == f->port ? pi->dport : pi->sport) != f->other)
		return;
	d = (memcmp(pi->src, f->caddr, 4) == 0 && pi->sport == f->cport) ? KP_DIR_TOSERVER
									 : KP_DIR_TOCLIENT;
	if (f->l4 == IPPROTO_TCP) {
		uint32_t seq = pi->seq + ((pi->tcp_flags & 0x02) ? 1 : 0);

		if (pi->tcp_flags & 0x02) {
			f->next[d] = seq;
			f->have_next[d] = true;
			return;
		}
		if (!pi->payload_len)
			return;
		if (f->have_next[d] && (int32_t)(seq - f->next[d]) < 0)
			return; /* retransmission */
		gap = f->have_next[d] && seq != f->next[d];
		f->next[d] = seq + pi->payload_len;
		f->have_next[d] = true;
	}
	if (!pi->payload_len)
		return;
	memset(&ctx, 0, sizeof(ctx));
	ctx.l4 = f->l4;
	ctx.dir = (uint8_t)d;
	ctx.gap = gap;
	ctx.data = pi->payload;
	ctx.len = pi->payload_len;
	ctx.family = AF_INET;
	f->pkts++;
	if (f->mutate) {
		size_t n = pi->payload_len, cut = (size_t)(tc_rng_next(&f->mutate) % (n + 1));
		uint8_t *a = malloc(cut ? cut : 1), *b = malloc(n - cut ? n - cut : 1);

		memcpy(a, pi->payload, cut);
		memcpy(b, pi->payload + cut, n - cut);
		for (unsigned k = 0; k < 1 + n / 64; k++) {
			size_t at = (size_t)(tc_rng_next(&f->mutate) % n);

			if (tc_rng_next(&f->mutate) % 4 == 0)
				*(at < cut ? &a[at] : &b[at - cut]) ^=
				    (uint8_t)tc_rng_next(&f->mutate);
		}
		ctx.data = a;
		ctx.len = cut;
		if (cut && f->mod->parse(&ctx, f->st) == KP_PARSE_DONE)
			f->done = true;
		ctx.gap = false;
		ctx.data = b;
		ctx.len = n - cut;
		if (!f->done && n - cut && f->mod->parse(&ctx, f->st) == KP_PARSE_DONE)
			f->done = true;
		free(a);
		free(b);
		return;
	}
	if (f->mod->parse(&ctx, f->st) == KP_PARSE_DONE)
		f->done = true;
}

/* Feeds the flow; returns false (skip) when the capture is absent. */
static uint64_t feed_mutate; /* feed_nth() fuzzes with this seed when non-zero */

static bool feed_nth(const struct kp_app_module *mod, const char *rel, uint8_t l4, uint16_t port,
		     unsigned nth)
{
	char path[512], err[PCAP_ERRBUF_SIZE];
	struct feed f;
	const char *p = tc_path(rel, path, sizeof(path));

	if (!p)
		return false;
	memset(&f, 0, sizeof(f));
	f.mod = mod;
	f.l4 = l4;
	f.port = port;
	f.skip = nth;
	f.mutate = feed_mutate;
	f.st = calloc(1, mod->state_size);
	if (!f.st || !tc_pcap_each(p, feed_pkt, &f, err)) {
		free(f.st);
		return false;
	}
	if (mod->free_state)
		mod->free_state(f.st);
	free(f.st);
	return f.pkts > 0;
}

static bool feed_flow(const struct kp_app_module *mod, const char *rel, uint8_t l4, uint16_t port)
{
	return feed_nth(mod, rel, l4, port, 0);
}

/* Feeds raw bytes as one or more chunks of one direction (hostile tests). */
static void feed_bytes(const struct kp_app_module *mod, void *st, uint8_t l4, unsigned dir,
		       const uint8_t *b, size_t n)
{
	struct kp_app_ctx ctx;
	uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees any over-read */

	memcpy(copy, b, n);
	memset(&ctx, 0, sizeof(ctx));
	ctx.l4 = l4;
	ctx.dir = (uint8_t)dir;
	ctx.data = copy;
	ctx.len = n;
	ctx.family = AF_INET;
	mod->parse(&ctx, st);
	free(copy);
}

static bool hex_is(const uint8_t *b, size_t n, const char *hex)
{
	char buf[129];

	if (n * 2 != strlen(hex) || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		snprintf(buf + 2 * i, 3, "%02x", b[i]);
	return strcmp(buf, hex) == 0;
}

static const struct fake_ev *ev(enum fake_kind k, unsigned nth)
{
	static const struct fake_ev none;
	const struct fake_ev *e = fake_nth(k, nth);

	return e ? e : &none;
}

/* ---- DirectConnect (dc-uhub.pcap: uhub + two ncdc) -------------------------- */

#define DC_TTH "13aafa35e02052faedc3c03b4ed91ea49fd8642a48cfc6af"

KP_TEST(dc_hub_search)
{
	fake_reset();
	if (!feed_flow(&kp_mod_directconnect, "tests/captures/pcap/dc-uhub.pcap", IPPROTO_TCP,
		       1511))
		return;
	/* alice's BSCH ... ANkp2padm (the hub's echo to her is not counted again) */
	CHECK(fake_count(FK_SEARCH) == 1);
	CHECK(strcmp(ev(FK_SEARCH, 0)->name, "kp2padm") == 0);
	CHECK(fake_count(FK_OPEN) == 0);
}

KP_TEST(dc_udp_result)
{
	fake_reset();
	if (!feed_flow(&kp_mod_directconnect, "tests/captures/pcap/dc-uhub.pcap", IPPROTO_UDP,
		       41000))
		return;
	CHECK(fake_count(FK_LISTED) == 1);
	CHECK(strcmp(ev(FK_LISTED, 0)->what, "search_result") == 0);
	CHECK(strcmp(ev(FK_LISTED, 0)->name, "/files/kp2padm-dc-sample.bin") == 0);
	CHECK(ev(FK_LISTED, 0)->size == 24576);
	CHECK(ev(FK_LISTED, 0)->hkind == KP_HASH_TTH);
	CHECK(hex_is(ev(FK_LISTED, 0)->hash, ev(FK_LISTED, 0)->hash_len, DC_TTH));
}

KP_TEST(dc_client_download)
{
	const struct fake_ev *a, *b;

	fake_reset();
	if (!feed_flow(&kp_mod_directconnect, "tests/captures/pcap/dc-uhub.pcap", IPPROTO_TCP,
		       41000))
		return;
	CHECK(fake_count(FK_OPEN) == 2);
	a = ev(FK_OPEN, 0);
	b = ev(FK_OPEN, 1);
	/* bob (the connecting side) sends: CGET file TTH/... 0 24576, CSND, 24576 bytes */
	CHECK(strcmp(a->name, "TTH/COVPUNPAEBJPV3ODYA5U5WI6USP5QZBKJDH4NLY") == 0);
	CHECK(a->dir == KP_DIR_TOSERVER);
	CHECK(a->size == 24576 && a->offset == 0 && a->bytes == 24576);
	CHECK(a->end == KP_FILE_END_COMPLETE);
	CHECK(a->hkind == KP_HASH_TTH && hex_is(a->hash, a->hash_len, DC_TTH));
	/* then the file list: CGET file files.xml.bz2 0 -1, CSND ... 0 232 */
	CHECK(strcmp(b->name, "files.xml.bz2") == 0);
	CHECK(b->size == 232 && b->bytes == 232 && b->end == KP_FILE_END_COMPLETE);
	CHECK(fake_count(FK_CLOSE) == 2);
}

KP_TEST(dc_not_wanted)
{
	fake_reset();
	fake_files_wanted = false;
	feed_flow(&kp_mod_directconnect, "tests/captures/pcap/dc-uhub.pcap", IPPROTO_TCP, 41000);
	feed_flow(&kp_mod_directconnect, "tests/captures/pcap/dc-uhub.pcap", IPPROTO_TCP, 1511);
	CHECK(fake_n == 0);
	fake_files_wanted = true;
}

KP_TEST(dc_nmdc)
{
	static const char hub[] = "$Search Hub:bob F?T?0?1?kp2padm$sample|";
	static const char sr[] = "$SR bob dir\\kp2padm sample.bin\x05"
				 "24576 3/4\x05TTH:COVPUNPAEBJPV3ODYA5U5WI6USP5QZBKJDH4NLY "
				 "(198.19.0.1:411)|";
	static const char cc[] =
	    "$MyNick a|$ADCGET file TTH/COVPUNPAEBJPV3ODYA5U5WI6USP5QZBKJDH4NLY 0 4|";
	static const char cs[] =
	    "$MyNick b|$ADCSND file TTH/COVPUNPAEBJPV3ODYA5U5WI6USP5QZBKJDH4NLY 0 4|abcd$Foo|";
	void *st = calloc(1, kp_mod_directconnect.state_size);

	fake_reset();
	feed_bytes(&kp_mod_directconnect, st, IPPROTO_TCP, 0, (const uint8_t *)hub, strlen(hub));
	CHECK(fake_count(FK_SEARCH) == 1 && strcmp(ev(FK_SEARCH, 0)->name, "kp2padm sample") == 0);
	memset(st, 0, kp_mod_directconnect.state_size);
	feed_bytes(&kp_mod_directconnect, st, IPPROTO_UDP, 0, (const uint8_t *)sr, strlen(sr));
	CHECK(fake_count(FK_LISTED) == 1);
	CHECK(strcmp(ev(FK_LISTED, 0)->name, "dir\\kp2padm sample.bin") == 0);
	CHECK(ev(FK_LISTED, 0)->size == 24576 && hex_is(ev(FK_LISTED, 0)->hash, 24, DC_TTH));
	memset(st, 0, kp_mod_directconnect.state_size);
	feed_bytes(&kp_mod_directconnect, st, IPPROTO_TCP, 0, (const uint8_t *)cc, strlen(cc));
	feed_bytes(&kp_mod_directconnect, st, IPPROTO_TCP, 1, (const uint8_t *)cs, strlen(cs));
	CHECK(fake_count(FK_OPEN) == 1 && ev(FK_OPEN, 0)->bytes == 4 && ev(FK_OPEN, 0)->dir == 1);
	CHECK(ev(FK_OPEN, 0)->end == KP_FILE_END_COMPLETE);
	free(st);
}

/* CSND ... ZL1: the body is a zlib stream, inflated into the file; commands follow it. */
KP_TEST(dc_zl1)
{
	static const char get[] =
	    "CSUP ADBASE\nCGET file TTH/COVPUNPAEBJPV3ODYA5U5WI6USP5QZBKJDH4NLY "
	    "0 5000 ZL1\n";
	static const char snd[] =
	    "CSUP ADBASE\nCSND file TTH/COVPUNPAEBJPV3ODYA5U5WI6USP5QZBKJDH4NLY "
	    "0 5000 ZL1\n";
	static const char after[] =
	    "CGET file files.xml.bz2 0 -1\nCSND file files.xml.bz2 0 3\nabc";
	static uint8_t data[5000], z[6000], wire[8000];
	uLongf zl = sizeof(z);
	size_t n = 0;
	void *st = calloc(1, kp_mod_directconnect.state_size);

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)("zl1 body "[i % 9]);
	CHECK(compress(z, &zl, data, sizeof(data)) == Z_OK);
	memcpy(wire, snd, strlen(snd)), n = strlen(snd);
	memcpy(wire + n, z, zl), n += zl;
	memcpy(wire + n, after, strlen(after)), n += strlen(after);
	fake_reset();
	feed_bytes(&kp_mod_directconnect, st, IPPROTO_TCP, 1, (const uint8_t *)get, strlen(get));
	for (size_t off = 0; off < n; off += 13)
		feed_bytes(&kp_mod_directconnect, st, IPPROTO_TCP, 0, wire + off,
			   n - off < 13 ? n - off : 13);
	CHECK(fake_count(FK_OPEN) == 2 && ev(FK_OPEN, 0)->size == 5000);
	CHECK(ev(FK_OPEN, 0)->bytes == 5000 && ev(FK_OPEN, 0)->end == KP_FILE_END_COMPLETE);
	/* the commands after the stream are read as commands again */
	CHECK(strcmp(ev(FK_OPEN, 1)->name, "files.xml.bz2") == 0 && ev(FK_OPEN, 1)->bytes == 3);
	/* a ZL1 body that is not zlib: the file ends truncated, nothing else happens */
	kp_mod_directconnect.free_state(st);
	memset(st, 0, kp_mod_directconnect.state_size);
	fake_reset();
	feed_bytes(&kp_mod_directconnect, st, IPPROTO_TCP, 0, (const uint8_t *)snd, strlen(snd));
	feed_bytes(&kp_mod_directconnect, st, IPPROTO_TCP, 0, data, 100);
	CHECK(fake_count(FK_OPEN) == 1 && ev(FK_OPEN, 0)->end == KP_FILE_END_TRUNCATED);
	kp_mod_directconnect.free_state(st);
	free(st);
}

KP_TEST(dc_hostile)
{
	static const char *const lines[] = {
	    "CSUP ADBASE\nCSND file x 0 18446744073709551615\n",
	    "CSUP ADBASE\nCSND file\n",
	    "CSUP ADBASE\nCGET file  0 5\nCSND file  0 5\nab",
	    "CSUP ADBASE\nURES\nURES \nURES XX FN SI TR\nURES XX TRAAAA "
	    "SI99999999999999999999999\n",
	    "CSUP ADBASE\nBSCH\nBSCH AAAA AN\nBSCH AAAA TR\nBSCH AAAA AN\\\n",
	    "$Search |$Search a b|$Search a ????|$SR |$SR a \x05|$SR a b\x05 \x05TTH:|$ADCSND file "
	    "a 0 |",
	};
	void *st = calloc(1, kp_mod_directconnect.state_size);

	fake_reset();
	for (size_t k = 0; k < sizeof(lines) / sizeof(lines[0]); k++) {
		size_t n = strlen(lines[k]);

		for (size_t cut = 1; cut <= n; cut++) {
			fake_reset();
			memset(st, 0, kp_mod_directconnect.state_size);
			feed_bytes(&kp_mod_directconnect, st, IPPROTO_TCP, 0,
				   (const uint8_t *)lines[k], cut);
			kp_mod_directconnect.free_state(st);
			memset(st, 0, kp_mod_directconnect.state_size);
			feed_bytes(&kp_mod_directconnect, st, IPPROTO_UDP, 0,
				   (const uint8_t *)lines[k], cut);
		}
	}
	/* a 20-digit CSND length is not a number: no file */
	CHECK(fake_count(FK_OPEN) == 0 || ev(FK_OPEN, 0)->size != UINT64_MAX);
	free(st);
}

/* ---- Gnutella (gnutella-servent.pcap: our own servent pair; 3 files, one EICAR) - */

#define GNU_PCAP "tests/captures/pcap/gnutella-servent.pcap"
#define GNU_SHA1_A "83f88ac3433808c9e26ecbd09da10cd294f1e2e2" /* QP4IVQ2D... */
#define GNU_SHA1_B "d1e08a280ba9c0702a3253e5fa0821b4f7800084" /* 2HQIUKAL... */

KP_TEST(gnutella_query_hits)
{
	const struct fake_ev *a, *b;

	fake_reset();
	if (!feed_nth(&kp_mod_gnutella, GNU_PCAP, IPPROTO_TCP, 6346, 0))
		return;
	CHECK(fake_count(FK_SEARCH) == 1 && strcmp(ev(FK_SEARCH, 0)->name, "kp2padm") == 0);
	CHECK(fake_count(FK_LISTED) == 3);
	a = ev(FK_LISTED, 0);
	b = ev(FK_LISTED, 1);
	CHECK(strcmp(a->what, "search_result") == 0 && strcmp(b->what, "search_result") == 0);
	CHECK(strcmp(ev(FK_LISTED, 2)->name, "kp2padm-eicar.com") == 0 &&
	      ev(FK_LISTED, 2)->size == 68);
	CHECK(hex_is(ev(FK_LISTED, 2)->hash, 20, "5cf7c18d7eb1ecdef256f6c21f731082e0d37582"));
	CHECK(strcmp(a->name, "kp2padm gnutella sample.bin") == 0 && a->size == 65536);
	CHECK(a->hkind == KP_HASH_SHA1 && hex_is(a->hash, a->hash_len, GNU_SHA1_A));
	CHECK(strcmp(b->name, "kp2padm-notes.txt") == 0 && b->size == 300);
	CHECK(b->hkind == KP_HASH_SHA1 && hex_is(b->hash, b->hash_len, GNU_SHA1_B));
	CHECK(fake_count(FK_OPEN) == 0);
}

KP_TEST(gnutella_downloads)
{
	const struct fake_ev *r, *o;

	/* GET /get/1/kp2padm%20gnutella%20sample.bin -> 200, 65536 bytes */
	fake_reset();
	if (!feed_nth(&kp_mod_gnutella, GNU_PCAP, IPPROTO_TCP, 6346, 1))
		return;
	r = ev(FK_LISTED, 0);
	o = ev(FK_OPEN, 0);
	CHECK(fake_count(FK_LISTED) == 1 && strcmp(r->what, "request") == 0);
	CHECK(strcmp(r->name, "kp2padm gnutella sample.bin") == 0 && r->hkind == KP_HASH_NONE);
	CHECK(fake_count(FK_OPEN) == 1 && strcmp(o->name, "kp2padm gnutella sample.bin") == 0);
	CHECK(o->dir == KP_DIR_TOCLIENT && o->size == 65536 && o->offset == 0);
	CHECK(o->bytes == 65536 && o->end == KP_FILE_END_COMPLETE);
	CHECK(o->hkind == KP_HASH_SHA1 && hex_is(o->hash, o->hash_len, GNU_SHA1_A));
	/* GET /get/2/kp2padm-notes.txt -> 300 bytes */
	fake_reset();
	feed_nth(&kp_mod_gnutella, GNU_PCAP, IPPROTO_TCP, 6346, 2);
	o = ev(FK_OPEN, 0);
	CHECK(strcmp(o->name, "kp2padm-notes.txt") == 0 && o->size == 300 && o->bytes == 300);
	CHECK(o->end == KP_FILE_END_COMPLETE);
	/* GET /get/3/kp2padm-eicar.com -> 68 bytes */
	fake_reset();
	feed_nth(&kp_mod_gnutella, GNU_PCAP, IPPROTO_TCP, 6346, 3);
	o = ev(FK_OPEN, 0);
	CHECK(strcmp(o->name, "kp2padm-eicar.com") == 0 && o->size == 68 && o->bytes == 68);
	/* GET /uri-res/N2R?urn:sha1:QP4I... Range: bytes=0-4095 -> 206, 4096 bytes */
	fake_reset();
	feed_nth(&kp_mod_gnutella, GNU_PCAP, IPPROTO_TCP, 6346, 4);
	r = ev(FK_LISTED, 0);
	o = ev(FK_OPEN, 0);
	CHECK(strcmp(r->what, "request") == 0);
	CHECK(strcmp(r->name, "urn:sha1:QP4IVQ2DHAEMTYTOZPIJ3IIM2KKPDYXC") == 0);
	CHECK(r->hkind == KP_HASH_SHA1 && hex_is(r->hash, r->hash_len, GNU_SHA1_A));
	CHECK(fake_count(FK_HASH_SEEN) == 1);
	CHECK(o->size == 4096 && o->offset == 0 && o->bytes == 4096);
	CHECK(o->end == KP_FILE_END_COMPLETE);
}

KP_TEST(gnutella_not_wanted)
{
	fake_reset();
	fake_files_wanted = false;
	for (unsigned k = 0; k < 5; k++)
		feed_nth(&kp_mod_gnutella, GNU_PCAP, IPPROTO_TCP, 6346, k);
	CHECK(fake_n == 0);
	fake_files_wanted = true;
}

/* base32 (32 characters) -> 20 bytes */
static bool b32_to(uint8_t out[20], const char *s)
{
	uint32_t acc = 0;
	unsigned bits = 0, o = 0;

	for (unsigned i = 0; i < 32; i++) {
		const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", *p = strchr(a, s[i]);

		if (!p || !s[i])
			return false;
		acc = acc << 5 | (uint32_t)(p - a);
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	return o == 20;
}

static void put_le32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)v, b[1] = (uint8_t)(v >> 8), b[2] = (uint8_t)(v >> 16),
	b[3] = (uint8_t)(v >> 24);
}

/* A deflated message stream (Content-Encoding: deflate, as gtk-gnutella and LimeWire
 * use), a hit whose hash is a GGEP "H" extension (COBS-encoded) and one with a
 * urn:bitprint (the forms of nDPI's gnutella.pcap). Synthetic. */
KP_TEST(gnutella_deflate_ggep)
{
	static const char c1[] = "GNUTELLA CONNECT/0.6\r\nAccept-Encoding: deflate\r\n\r\n";
	static const char s1[] = "GNUTELLA/0.6 200 OK\r\nContent-Encoding: deflate\r\n\r\n";
	static const char c2[] = "GNUTELLA/0.6 200 OK\r\nContent-Encoding: deflate\r\n\r\n";
	static const char bp[] = "urn:bitprint:QP4IVQ2DHAEMTYTOZPIJ3IIM2KKPDYXC."
				 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	uint8_t hit[400], q[64], zq[200], zh[600], sha[20];
	uLongf zql = sizeof(zq), zhl = sizeof(zh);
	size_t hl = 23, ql = 23, k;
	void *st = calloc(1, kp_mod_gnutella.state_size);

	CHECK(b32_to(sha, "QP4IVQ2DHAEMTYTOZPIJ3IIM2KKPDYXC"));
	/* query "spider man" */
	memset(q, 0, sizeof(q));
	q[16] = 0x80;
	memcpy(q + 25, "spider man", 11);
	ql = 25 + 11;
	put_le32(q + 19, (uint32_t)(ql - 23));
	/* hit: 2 results */
	memset(hit, 0, sizeof(hit));
	hit[16] = 0x81;
	hit[hl++] = 2;
	hl += 10;
	put_le32(hit + hl, 1), put_le32(hit + hl + 4, 1000), hl += 8;
	memcpy(hit + hl, "a.mp3", 6), hl += 6;
	/* GGEP: magic, flags (last | COBS | id length 1), "H", length 22 (last), COBS(1 + sha1) */
	hit[hl++] = 0xc3;
	hit[hl++] = 0x80 | 0x40 | 1;
	hit[hl++] = 'H';
	hit[hl++] = 0x40 | 22;
	hit[hl++] = 22; /* COBS: one run of 21 non-zero bytes (the test hash has no zero) */
	hit[hl++] = 1;
	memcpy(hit + hl, sha, 20), hl += 20;
	hit[hl++] = 0;
	put_le32(hit + hl, 2), put_le32(hit + hl + 4, 2000), hl += 8;
	memcpy(hit + hl, "b.mp3", 6), hl += 6;
	memcpy(hit + hl, bp, sizeof(bp)), hl += sizeof(bp);
	memcpy(hit + hl, "KQES\0\0\0", 7), hl += 7 + 16;
	put_le32(hit + 19, (uint32_t)(hl - 23));
	CHECK(compress(zh, &zhl, hit, hl) == Z_OK && compress(zq, &zql, q, ql) == Z_OK);
	for (k = 0; k < 20; k++)
		CHECK(sha[k] != 0);
	fake_reset();
	feed_bytes(&kp_mod_gnutella, st, IPPROTO_TCP, 0, (const uint8_t *)c1, strlen(c1));
	feed_bytes(&kp_mod_gnutella, st, IPPROTO_TCP, 1, (const uint8_t *)s1, strlen(s1));
	feed_bytes(&kp_mod_gnutella, st, IPPROTO_TCP, 0, (const uint8_t *)c2, strlen(c2));
	feed_bytes(&kp_mod_gnutella, st, IPPROTO_TCP, 0, zq, 5);
	feed_bytes(&kp_mod_gnutella, st, IPPROTO_TCP, 0, zq + 5, zql - 5);
	for (k = 0; k < zhl; k += 7)
		feed_bytes(&kp_mod_gnutella, st, IPPROTO_TCP, 1, zh + k, zhl - k < 7 ? zhl - k : 7);
	CHECK(fake_count(FK_SEARCH) == 1 && strcmp(ev(FK_SEARCH, 0)->name, "spider man") == 0);
	CHECK(fake_count(FK_LISTED) == 2);
	CHECK(strcmp(ev(FK_LISTED, 0)->name, "a.mp3") == 0 && ev(FK_LISTED, 0)->size == 1000);
	CHECK(ev(FK_LISTED, 0)->hkind == KP_HASH_SHA1 &&
	      hex_is(ev(FK_LISTED, 0)->hash, 20, GNU_SHA1_A));
	CHECK(strcmp(ev(FK_LISTED, 1)->name, "b.mp3") == 0 && ev(FK_LISTED, 1)->size == 2000);
	CHECK(ev(FK_LISTED, 1)->hkind == KP_HASH_SHA1 &&
	      hex_is(ev(FK_LISTED, 1)->hash, 20, GNU_SHA1_A));
	/* garbage instead of a zlib stream: the direction stops, nothing is reported */
	fake_reset();
	kp_mod_gnutella.free_state(st);
	memset(st, 0, kp_mod_gnutella.state_size);
	feed_bytes(&kp_mod_gnutella, st, IPPROTO_TCP, 0, (const uint8_t *)c1, strlen(c1));
	feed_bytes(&kp_mod_gnutella, st, IPPROTO_TCP, 1, (const uint8_t *)s1, strlen(s1));
	feed_bytes(&kp_mod_gnutella, st, IPPROTO_TCP, 1, hit, hl);
	CHECK(fake_n == 0);
	kp_mod_gnutella.free_state(st);
	free(st);
}

KP_TEST(gnutella_hostile)
{
	static const char hs[] = "GNUTELLA CONNECT/0.6\r\n\r\nGNUTELLA/0.6 200 OK\r\n\r\n";
	uint8_t m[23 + 64];
	void *st = calloc(1, kp_mod_gnutella.state_size);
	uint64_t rng = 7;

	/* query hits claiming 255 results, names without NUL, urn cut short */
	for (unsigned k = 0; k < 400; k++) {
		size_t plen = (size_t)(tc_rng_next(&rng) % 64);

		memset(m, 0, sizeof(m));
		tc_rng_fill(&rng, m + 23, plen);
		m[16] = k & 1 ? 0x81 : 0x80;
		if (k % 3 == 0 && plen > 20)
			memcpy(m + 23 + plen - 20, "urn:sha1:ABCDEFGH\0\0\0", 20);
		m[23] = 255;
		put_le32(m + 19, (uint32_t)plen);
		fake_reset();
		memset(st, 0, kp_mod_gnutella.state_size);
		feed_bytes(&kp_mod_gnutella, st, IPPROTO_TCP, 0, (const uint8_t *)hs, strlen(hs));
		feed_bytes(&kp_mod_gnutella, st, IPPROTO_TCP, 0, m, 23 + plen);
		kp_mod_gnutella.free_state(st);
		memset(st, 0, kp_mod_gnutella.state_size);
		feed_bytes(&kp_mod_gnutella, st, IPPROTO_UDP, 0, m, 23 + plen);
	}
	/* a huge payload length is skipped, not buffered */
	memset(m, 0, sizeof(m));
	m[16] = 0x81;
	put_le32(m + 19, 0xffffffffu);
	memset(st, 0, kp_mod_gnutella.state_size);
	feed_bytes(&kp_mod_gnutella, st, IPPROTO_TCP, 0, (const uint8_t *)hs, strlen(hs));
	feed_bytes(&kp_mod_gnutella, st, IPPROTO_TCP, 0, m, 23);
	kp_mod_gnutella.free_state(st);
	/* downloads: no name, no length, a zero length */
	{
		static const char *const req[] = {"GET /get/1/ HTTP/1.1\r\n\r\n",
						  "GET /get/1 HTTP/1.1\r\n\r\n",
						  "GET /uri-res/N2R?urn:sha1: HTTP/1.1\r\n\r\n"};
		static const char *const ans[] = {
		    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 200 OK\r\n\r\nxyz",
		    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab",
		    "HTTP/1.1 206\r\nContent-Range: bytes\r\nContent-Length: 1\r\n\r\nq"};

		for (unsigned i = 0; i < 3; i++)
			for (unsigned j = 0; j < 4; j++) {
				fake_reset();
				memset(st, 0, kp_mod_gnutella.state_size);
				feed_bytes(&kp_mod_gnutella, st, IPPROTO_TCP, 0,
					   (const uint8_t *)req[i], strlen(req[i]));
				feed_bytes(&kp_mod_gnutella, st, IPPROTO_TCP, 1,
					   (const uint8_t *)ans[j], strlen(ans[j]));
				CHECK(fake_count(FK_LISTED) == (i != 1));
				CHECK(fake_count(FK_OPEN) == (j >= 2));
			}
	}
	free(st);
}

/* ---- eDonkey ------------------------------------------------------------------ */

#define ED_SAMPLE "5841ed0390599bb10f5957334c8fed9f" /* make-edonkey.sh's 200 kB file */

/* edonkey-search.pcap: our ed2k_search.py client and server */
KP_TEST(edonkey_search)
{
	const struct fake_ev *e;

	fake_reset();
	if (!feed_flow(&kp_mod_edonkey, "tests/captures/pcap/edonkey-search.pcap", IPPROTO_TCP,
		       4661))
		return;
	/* OP_OFFERFILES: the client's one file */
	e = ev(FK_LISTED, 0);
	CHECK(strcmp(e->what, "offer") == 0 && strcmp(e->name, "kp2padm-sample.bin") == 0);
	CHECK(e->size == 204800 && e->hkind == KP_HASH_ED2K && hex_is(e->hash, 16, ED_SAMPLE));
	/* two OP_SEARCHREQUESTs: keywords only (not the type constraint "Pro") */
	CHECK(fake_count(FK_SEARCH) == 2);
	CHECK(strcmp(ev(FK_SEARCH, 0)->name, "kp2padm sample") == 0);
	CHECK(strcmp(ev(FK_SEARCH, 1)->name, "notes") == 0);
	/* OP_SEARCHRESULT packed (0xD4, zlib; new-style tags, a 64-bit size), then plain */
	CHECK(fake_count(FK_LISTED) == 4);
	e = ev(FK_LISTED, 1);
	CHECK(strcmp(e->what, "search_result") == 0 && strcmp(e->name, "kp2padm-sample.bin") == 0);
	CHECK(e->size == 204800 && hex_is(e->hash, 16, ED_SAMPLE));
	e = ev(FK_LISTED, 2);
	CHECK(strcmp(e->what, "search_result") == 0);
	CHECK(strcmp(e->name, "kp2padm sample (copy).bin") == 0 && e->size == 5000000000ull);
	CHECK(hex_is(e->hash, 16, "00112233445566778899aabbccddeeff"));
	e = ev(FK_LISTED, 3);
	CHECK(strcmp(e->what, "search_result") == 0 && strcmp(e->name, "kp2padm-notes.txt") == 0);
	CHECK(e->size == 300 && hex_is(e->hash, 16, "ffeeddccbbaa99887766554433221100"));
	CHECK(fake_count(FK_PIECE) == 0 && fake_count(FK_HASH_SEEN) == 0);
}

/* edonkey-transfer.pcap: real amuled 2.3.3 serves 6 x 10 KiB parts to ed2k_client.py */
KP_TEST(edonkey_transfer)
{
	const struct fake_ev *e;
	uint64_t next = 0;
	bool contiguous = true, hashes_ok = true;

	fake_reset();
	if (!feed_flow(&kp_mod_edonkey, "tests/captures/pcap/edonkey-transfer.pcap", IPPROTO_TCP,
		       4662))
		return;
	/* OP_REQUESTFILENAME, OP_SETREQFILEID, OP_STARTUPLOADREQ, 2 x OP_REQUESTPARTS */
	CHECK(fake_count(FK_HASH_SEEN) == 5);
	for (unsigned i = 0; i < fake_count(FK_HASH_SEEN); i++)
		hashes_ok &= ev(FK_HASH_SEEN, i)->hkind == KP_HASH_ED2K &&
			     hex_is(ev(FK_HASH_SEEN, i)->hash, 16, ED_SAMPLE);
	CHECK(hashes_ok);
	CHECK(fake_count(FK_LISTED) == 2);
	e = ev(FK_LISTED, 0);
	CHECK(strcmp(e->what, "request") == 0 && e->name_len == 0 &&
	      hex_is(e->hash, 16, ED_SAMPLE));
	e = ev(FK_LISTED, 1); /* amuled's OP_REQFILENAMEANSWER */
	CHECK(strcmp(e->what, "answer") == 0 && strcmp(e->name, "kp2padm-sample.bin") == 0);
	CHECK(e->size == KP_FILE_SIZE_UNKNOWN && hex_is(e->hash, 16, ED_SAMPLE));
	/* 6 OP_SENDINGPART: bytes 0..61440 of the file, in order, streamed as pieces */
	CHECK(fake_piece_bytes == 61440);
	for (unsigned i = 0; i < fake_count(FK_PIECE); i++) {
		e = ev(FK_PIECE, i);
		contiguous &= e->offset == next && e->index == 0 && e->dir == KP_DIR_TOCLIENT &&
			      e->hkind == KP_HASH_ED2K && hex_is(e->hash, 16, ED_SAMPLE);
		next = e->offset + e->bytes;
	}
	CHECK(contiguous && next == 61440);
	CHECK(fake_count(FK_OPEN) == 0);
}

/* eMule OP_COMPRESSEDPART (0xC5 0x40): one zlib stream per block, cut into frames;
 * OP_SENDINGPART_I64 (0xC5 0xA2) past 4 GiB. Synthetic: amuled compresses only data
 * that shrinks, and the capture's file is random. */
KP_TEST(edonkey_emule_parts)
{
	static uint8_t data[30000], packed[40000], buf[12000];
	static const uint8_t h[16] = {0x58, 0x41, 0xed, 0x03, 0x90, 0x59, 0x9b, 0xb1,
				      0x0f, 0x59, 0x57, 0x33, 0x4c, 0x8f, 0xed, 0x9f};
	uLongf plen = sizeof(packed);
	void *st = calloc(1, kp_mod_edonkey.state_size);
	uint64_t want, next = 184320;
	bool contiguous = true;
	size_t n;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)("kp2padm compressed part "[i % 24] + i / 1000);
	CHECK(compress(packed, &plen, data, sizeof(data)) == Z_OK);
	fake_reset();
	for (size_t off = 0; off < plen; off += 1000) {
		size_t sl = plen - off < 1000 ? plen - off : 1000;
		uint8_t hdr[24];

		memcpy(hdr, h, 16);
		put_le32(hdr + 16, 184320);
		put_le32(hdr + 20, (uint32_t)plen);
		n = 0;
		buf[0] = 0xc5;
		put_le32(buf + 1, (uint32_t)(1 + 24 + sl));
		buf[5] = 0x40;
		memcpy(buf + 6, hdr, 24);
		memcpy(buf + 30, packed + off, sl);
		n = 30 + sl;
		/* in two chunks, cut inside the header or the data */
		feed_bytes(&kp_mod_edonkey, st, IPPROTO_TCP, 1, buf, (off / 1000) % 29);
		feed_bytes(&kp_mod_edonkey, st, IPPROTO_TCP, 1, buf + (off / 1000) % 29,
			   n - (off / 1000) % 29);
	}
	want = fake_fnv(0xcbf29ce484222325ull, data, sizeof(data));
	CHECK(fake_piece_bytes == sizeof(data) && fake_piece_fnv == want);
	for (unsigned i = 0; i < fake_count(FK_PIECE); i++) {
		contiguous &=
		    ev(FK_PIECE, i)->offset == next && hex_is(ev(FK_PIECE, i)->hash, 16, ED_SAMPLE);
		next = ev(FK_PIECE, i)->offset + ev(FK_PIECE, i)->bytes;
	}
	CHECK(contiguous && next == 184320 + sizeof(data));
	/* OP_SENDINGPART_I64 at 5000000000 */
	fake_reset();
	n = 0;
	buf[0] = 0xc5;
	put_le32(buf + 1, 1 + 32 + 100);
	buf[5] = 0xa2;
	memcpy(buf + 6, h, 16);
	put_le32(buf + 22, (uint32_t)5000000000ull);
	put_le32(buf + 26, (uint32_t)(5000000000ull >> 32));
	put_le32(buf + 30, (uint32_t)5000000100ull);
	put_le32(buf + 34, (uint32_t)(5000000100ull >> 32));
	memcpy(buf + 38, data, 100);
	feed_bytes(&kp_mod_edonkey, st, IPPROTO_TCP, 1, buf, 38 + 100);
	CHECK(fake_count(FK_PIECE) == 1 && ev(FK_PIECE, 0)->offset == 5000000000ull);
	CHECK(ev(FK_PIECE, 0)->index == 5000000000ull / 9728000 && ev(FK_PIECE, 0)->bytes == 100);
	kp_mod_edonkey.free_state(st);
	free(st);
}

KP_TEST(edonkey_not_wanted)
{
	fake_reset();
	fake_files_wanted = false;
	feed_flow(&kp_mod_edonkey, "tests/captures/pcap/edonkey-search.pcap", IPPROTO_TCP, 4661);
	feed_flow(&kp_mod_edonkey, "tests/captures/pcap/edonkey-transfer.pcap", IPPROTO_TCP, 4662);
	CHECK(fake_n == 0);
	fake_files_wanted = true;
}

static void ed_frame_put(uint8_t *b, size_t *n, uint8_t proto, uint8_t op, const uint8_t *body,
			 size_t bl)
{
	b[*n] = proto;
	put_le32(b + *n + 1, (uint32_t)(bl + 1));
	b[*n + 5] = op;
	memcpy(b + *n + 6, body, bl);
	*n += 6 + bl;
}

KP_TEST(edonkey_hostile)
{
	static uint8_t buf[4096], body[2048];
	void *st = calloc(1, kp_mod_edonkey.state_size);
	uint64_t rng = 11;
	size_t n;

	/* list frames whose count is huge, whose tags are cut or have empty names */
	for (unsigned k = 0; k < 600; k++) {
		static const uint8_t ops[] = {0x15, 0x16, 0x33, 0x4b, 0x58, 0x59, 0x47, 0x46};
		size_t bl = (size_t)(tc_rng_next(&rng) % 200);
		uint8_t op = ops[k % sizeof(ops)];

		tc_rng_fill(&rng, body, bl);
		if (bl >= 4 && k % 2)
			put_le32(body, 0xffffffffu); /* count */
		if (bl >= 30 && k % 3 == 0) {
			body[4 + 22] = 2; /* 2 tags: an empty name string, a cut integer */
			memcpy(body + 4 + 26, "\x02\x01\x00\x01\x00\x00\x03\x01\x00\x02", 10);
		}
		n = 0;
		ed_frame_put(buf, &n, 0xe3, op, body, bl);
		for (size_t cut = n > 40 ? n - 40 : 0; cut <= n; cut += 7) {
			fake_reset();
			memset(st, 0, kp_mod_edonkey.state_size);
			feed_bytes(&kp_mod_edonkey, st, IPPROTO_TCP, k & 1, buf, cut);
			kp_mod_edonkey.free_state(st);
		}
		/* the same body packed: zlib of random bytes (mostly invalid) */
		fake_reset();
		memset(st, 0, kp_mod_edonkey.state_size);
		n = 0;
		body[0] = 0x78, body[1] = 0x9c;
		ed_frame_put(buf, &n, 0xd4, op, body, bl > 2 ? bl : 2);
		feed_bytes(&kp_mod_edonkey, st, IPPROTO_TCP, k & 1, buf, n);
		kp_mod_edonkey.free_state(st);
	}
	/* eMule parts and requests with random bodies (compressed slices that are not zlib) */
	for (unsigned k = 0; k < 500; k++) {
		static const uint8_t eops[] = {0x40, 0xa1, 0xa2, 0xa3, 0x81, 0x83, 0x9e};
		size_t bl = (size_t)(tc_rng_next(&rng) % 120);

		tc_rng_fill(&rng, body, bl);
		if (k % 2 && bl > 30)
			body[24] = 0x78, body[25] = 0x9c;
		fake_reset();
		memset(st, 0, kp_mod_edonkey.state_size);
		n = 0;
		ed_frame_put(buf, &n, 0xc5, eops[k % sizeof(eops)], body, bl);
		ed_frame_put(buf, &n, 0xc5, eops[k % sizeof(eops)], body, bl);
		feed_bytes(&kp_mod_edonkey, st, IPPROTO_TCP, 1, buf, n - (k % 5));
		kp_mod_edonkey.free_state(st);
	}
	/* a frame over 2 MB is skipped unread; the next frame is still parsed */
	fake_reset();
	memset(st, 0, kp_mod_edonkey.state_size);
	n = 0;
	buf[0] = 0xe3;
	put_le32(buf + 1, 3u << 20);
	buf[5] = 0x46;
	feed_bytes(&kp_mod_edonkey, st, IPPROTO_TCP, 0, buf, 6);
	memset(body, 0x41, sizeof(body));
	for (unsigned i = 0; i < 1536; i++) /* 3 MiB - 1 in 2 KiB chunks */
		feed_bytes(&kp_mod_edonkey, st, IPPROTO_TCP, 0, body, i < 1535 ? 2048 : 2047);
	n = 0;
	ed_frame_put(buf, &n, 0xe3, 0x58, (const uint8_t *)"0123456789abcdef", 16);
	feed_bytes(&kp_mod_edonkey, st, IPPROTO_TCP, 0, buf, n);
	CHECK(fake_count(FK_PIECE) == 0);
	CHECK(fake_count(FK_HASH_SEEN) == 1 && fake_count(FK_LISTED) == 1);
	kp_mod_edonkey.free_state(st);
	/* a search result with a zero-length name and a count of 1 */
	fake_reset();
	memset(st, 0, kp_mod_edonkey.state_size);
	{
		/* count 1; hash 16 x 0xaa; id, port; one tag: FT_FILENAME "" (0x82 0x01, len 0) */
		uint8_t r[34] = {1, 0, 0, 0};

		memset(r + 4, 0xaa, 16);
		memcpy(r + 20, "\1\2\3\4\5\6", 6);
		memcpy(r + 26, "\1\0\0\0\x82\x01\0\0", 8);

		n = 0;
		ed_frame_put(buf, &n, 0xe3, 0x33, r, sizeof(r));
		feed_bytes(&kp_mod_edonkey, st, IPPROTO_TCP, 1, buf, n);
		CHECK(fake_count(FK_LISTED) == 1 && ev(FK_LISTED, 0)->name_len == 0);
		CHECK(ev(FK_LISTED, 0)->size == KP_FILE_SIZE_UNKNOWN);
	}
	kp_mod_edonkey.free_state(st);
	free(st);
}

/* Every flow of the captures, with random bytes flipped and chunks split (run under ASan). */
KP_TEST(fuzz_capture_flows)
{
	static const struct {
		const struct kp_app_module *mod;
		const char *pcap;
		uint8_t l4;
		uint16_t port;
		unsigned flows;
	} fl[] = {
	    {&kp_mod_directconnect, "tests/captures/pcap/dc-uhub.pcap", IPPROTO_TCP, 1511, 1},
	    {&kp_mod_directconnect, "tests/captures/pcap/dc-uhub.pcap", IPPROTO_TCP, 41000, 1},
	    {&kp_mod_directconnect, "tests/captures/pcap/dc-uhub.pcap", IPPROTO_UDP, 41000, 1},
	    {&kp_mod_gnutella, GNU_PCAP, IPPROTO_TCP, 6346, 5},
	    {&kp_mod_edonkey, "tests/captures/pcap/edonkey-search.pcap", IPPROTO_TCP, 4661, 1},
	    {&kp_mod_edonkey, "tests/captures/pcap/edonkey-transfer.pcap", IPPROTO_TCP, 4662, 1},
	    {&kp_mod_edonkey, "tests/captures/pcap/edonkey-transfer.pcap", IPPROTO_UDP, 4672, 1},
	    {&kp_mod_edonkey, "tests/captures/pcap/edonkey-amule.pcap", IPPROTO_TCP, 4662, 1},
	};
	unsigned runs = 0;

	for (size_t i = 0; i < sizeof(fl) / sizeof(fl[0]); i++)
		for (unsigned k = 0; k < fl[i].flows; k++)
			for (uint64_t seed = 1; seed <= 40; seed++) {
				fake_reset();
				feed_mutate = seed * 0x9e3779b97f4a7c15ull + i;
				runs += feed_nth(fl[i].mod, fl[i].pcap, fl[i].l4, fl[i].port, k);
			}
	feed_mutate = 0;
	printf("  %u mutated flow runs\n", runs);
	CHECK(runs > 0);
}

KP_TEST_MAIN()
