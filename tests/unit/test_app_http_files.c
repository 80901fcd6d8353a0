/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Files of the http and ftp modules (issue 4 §1): the module's parse() driven
 * directly, with a recording fake of the content.h calls (content_fake.c), on
 * the TCP streams of the project's own captures (tests/captures/pcap:
 * http-nginx.pcap, ftp-vsftpd.pcap, kqh-http-files.pcap; read at test time,
 * skipped when absent)
 * and on synthetic messages for what the captures lack (uploads, ranges,
 * Content-Disposition, deflate, chunk boundaries at every position, hostile
 * lengths). The expected sha256 values are those of the files tshark
 * --export-objects http recovers from http-nginx.pcap.
 */
#include "tap.h"

#include "app/app.h"
#include "app/ftp.h"
#include "content_fake.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define HTTP_TEST_HDR_MAX 16384 /* the module's header block cap */

/* ---- driving a module ---- */

struct drv {
	const struct kp_app_module *mod;
	void *st;
	struct kp_match label;
	enum kp_parse_result last;
};

static void drv_init(struct drv *d, const struct kp_app_module *mod)
{
	memset(d, 0, sizeof(*d));
	d->mod = mod;
	d->st = calloc(1, mod->state_size);
	d->label.app = mod == &kp_mod_http ? KP_APP_HTTP : KP_APP_FTP;
	d->label.confidence = KP_CONF_HIGH;
}

static void drv_fini(struct drv *d)
{
	if (d->mod->free_state)
		d->mod->free_state(d->st);
	free(d->st);
}

static enum kp_parse_result drv_feed(struct drv *d, int dir, const void *b, size_t n, bool gap)
{
	struct kp_app_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.l4 = IPPROTO_TCP;
	ctx.dir = (uint8_t)dir;
	ctx.gap = gap;
	ctx.data = b;
	ctx.len = n;
	ctx.label = &d->label;
	d->last = d->mod->parse(&ctx, d->st);
	return d->last;
}

static enum kp_parse_result drv_str(struct drv *d, int dir, const char *s)
{
	return drv_feed(d, dir, s, strlen(s), false);
}

/* ---- a minimal pcap reader: Ethernet, IPv4, TCP; in-order payload per direction ---- */

static uint32_t rd32(const uint8_t *b, bool sw)
{
	uint32_t v;

	memcpy(&v, b, 4);
	return sw ? __builtin_bswap32(v) : v;
}

/*
 * Feeds every in-order TCP payload of the connection whose server port is sport
 * to the module, in capture order (the client is the side that sent the SYN).
 * Returns false when the capture is absent (a skip).
 */
static bool feed_pcap(struct drv *d, const char *file, uint16_t sport)
{
	char path[512];
	const char *src = getenv("KP_SRC");
	uint8_t *buf;
	size_t n = 0, off = 24;
	uint32_t next[2] = {0, 0};
	bool have[2] = {false, false}, sw;
	FILE *f;
	long sz;

	snprintf(path, sizeof(path), "%s/tests/captures/pcap/%s", src ? src : ".", file);
	f = fopen(path, "rb");
	if (!f) {
		printf("  skip: %s absent\n", path);
		return false;
	}
	fseek(f, 0, SEEK_END);
	sz = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)sz);
	n = fread(buf, 1, (size_t)sz, f);
	fclose(f);
	if (n < 24) {
		free(buf);
		return false;
	}
	sw = rd32(buf, false) == 0xd4c3b2a1 || rd32(buf, false) == 0x4d3cb2a1;
	while (off + 16 <= n) {
		uint32_t cap = rd32(buf + off + 8, sw);
		const uint8_t *p = buf + off + 16, *ip, *tcp;
		size_t ihl, thl, plen, iplen;
		uint16_t sp, dp;
		uint32_t seq;
		int dir;

		if (cap > n - off - 16)
			break;
		off += 16 + cap;
		if (cap < 14 + 20 + 20 || p[12] != 0x08 || p[13] != 0x00)
			continue;
		ip = p + 14;
		ihl = (size_t)(ip[0] & 0x0f) * 4;
		iplen = (size_t)ip[2] << 8 | ip[3];
		if (ip[9] != 6 || ihl < 20 || iplen > cap - 14 || iplen < ihl + 20)
			continue;
		tcp = ip + ihl;
		thl = (size_t)(tcp[12] >> 4) * 4;
		if (thl < 20 || ihl + thl > iplen)
			continue;
		sp = (uint16_t)(tcp[0] << 8 | tcp[1]);
		dp = (uint16_t)(tcp[2] << 8 | tcp[3]);
		if (sp != sport && dp != sport)
			continue;
		dir = sp == sport ? 1 : 0;
		seq = rd32(tcp + 4, true);
		plen = iplen - ihl - thl;
		if (tcp[13] & 0x02) { /* SYN */
			next[dir] = seq + 1;
			have[dir] = true;
			continue;
		}
		if (!have[dir] || plen == 0)
			continue;
		if (seq != next[dir]) {
			uint32_t ahead = next[dir] - seq;

			if (ahead >= plen || (int32_t)ahead < 0)
				continue; /* retransmission or out of order */
			seq += ahead;
			plen -= ahead;
			drv_feed(d, dir, tcp + thl + ahead, plen, false);
		} else {
			drv_feed(d, dir, tcp + thl, plen, false);
		}
		next[dir] = seq + (uint32_t)plen;
	}
	free(buf);
	return true;
}

/* ---- helpers ---- */

static size_t zcompress(int wbits, const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	z_stream z;
	size_t got;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 6, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return 0;
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
		deflateEnd(&z);
		return 0;
	}
	got = cap - z.avail_out;
	deflateEnd(&z);
	return got;
}

static const char notes_sha[] = "1b5599b3c0a47e4871dbc68c80f0b1ef86d3c2cba9f46c5bca7c67b663d014f1";

/* ---- http: the capture ---- */

KP_TEST(http_nginx_keepalive_content_length_and_head)
{
	struct drv d;

	fake_reset();
	drv_init(&d, &kp_mod_http);
	if (!feed_pcap(&d, "http-nginx.pcap", 80)) {
		drv_fini(&d);
		return;
	}
	/* GET /index.html, GET /files/blob.bin, HEAD /index.html (no body) */
	CHECK_EQ(fake_count(FK_OPEN), 2);
	CHECK_STR(fake_file(0)->name, "index.html");
	CHECK_EQ(fake_file(0)->dir, KP_DIR_TOCLIENT);
	CHECK_EQ(fake_file(0)->size, 410);
	CHECK_EQ(fake_file(0)->bytes, 410);
	CHECK_EQ(fake_file(0)->end, KP_FILE_END_COMPLETE);
	CHECK_STR(fake_file(0)->sha256,
		  "12d88c33e3cbfc19384072dcca5f7d1e5484a9547953f0b640fd6c904613b33d");
	CHECK_STR(fake_attr(fake_file(0), "content_type"), "text/html");
	CHECK_STR(fake_attr(fake_file(0), "url"), "/index.html");
	CHECK_STR(fake_attr(fake_file(0), "host"), "198.19.0.1");
	CHECK_STR(fake_attr(fake_file(0), "method"), "GET");
	CHECK_STR(fake_attr(fake_file(0), "status"), "200");
	CHECK_STR(fake_file(1)->name, "blob.bin");
	CHECK_EQ(fake_file(1)->size, 204800);
	CHECK_EQ(fake_file(1)->bytes, 204800);
	CHECK_EQ(fake_file(1)->offset, 0);
	CHECK_EQ(fake_file(1)->end, KP_FILE_END_COMPLETE);
	CHECK_STR(fake_file(1)->sha256,
		  "e68ee6dd4604c6e1bfc72cd84c353de4c1881f0b77acc4a42f70392c0fec374c");
	CHECK_STR(fake_attr(fake_file(1), "url"), "/files/blob.bin");
	/* the module keeps following the connection for more requests */
	CHECK_EQ(d.last, KP_PARSE_MORE);
	drv_fini(&d);
}

KP_TEST(http_nginx_gzip_chunked_and_404)
{
	struct drv d;

	fake_reset();
	drv_init(&d, &kp_mod_http);
	if (!feed_pcap(&d, "http-nginx.pcap", 8081)) {
		drv_fini(&d);
		return;
	}
	CHECK_EQ(fake_count(FK_OPEN), 2);
	CHECK_STR(fake_file(0)->name, "notes.txt");
	CHECK_EQ(fake_file(0)->size, KP_FILE_SIZE_FRAMED);
	CHECK_EQ(fake_file(0)->bytes, 8640);
	CHECK_EQ(fake_file(0)->end, KP_FILE_END_COMPLETE);
	CHECK_STR(fake_file(0)->sha256, notes_sha);
	CHECK_STR(fake_attr(fake_file(0), "encoding"), "gzip");
	CHECK_STR(fake_attr(fake_file(0), "content_type"), "text/plain");
	CHECK_STR(fake_file(1)->name, "no-such-page.html");
	CHECK_EQ(fake_file(1)->bytes, 153);
	CHECK_EQ(fake_file(1)->size, 153);
	CHECK_STR(fake_attr(fake_file(1), "status"), "404");
	CHECK_STR(fake_file(1)->sha256,
		  "533a1ca5d6595793725bca7641d9461a0f00dd1732dded3e4281196f5dd21736");
	drv_fini(&d);
}

/* kqh-http-files.pcap (make-kqh-http-files.sh): curl -T upload, curl -r range, RFC 5987 name */
KP_TEST(http_capture_upload_range_and_rfc5987_name)
{
	struct drv d;

	fake_reset();
	drv_init(&d, &kp_mod_http);
	if (!feed_pcap(&d, "kqh-http-files.pcap", 80)) {
		drv_fini(&d);
		return;
	}
	CHECK_EQ(fake_count(FK_OPEN), 3);
	CHECK_STR(fake_file(0)->name, "upload-20k.bin");
	CHECK_EQ(fake_file(0)->dir, KP_DIR_TOSERVER);
	CHECK_EQ(fake_file(0)->size, 20480);
	CHECK_EQ(fake_file(0)->bytes, 20480);
	CHECK_EQ(fake_file(0)->end, KP_FILE_END_COMPLETE);
	CHECK_STR(fake_attr(fake_file(0), "method"), "PUT");
	CHECK_STR(fake_file(0)->sha256,
		  "c47c5378c8747adc0e33714f3bcc1bbeee3832d77d908e7facbd33e813e8a918");
	CHECK_STR(fake_file(1)->name, "blob.bin");
	CHECK_EQ(fake_file(1)->dir, KP_DIR_TOCLIENT);
	CHECK_EQ(fake_file(1)->offset, 100);
	CHECK_EQ(fake_file(1)->size, 204800);
	CHECK_EQ(fake_file(1)->bytes, 1024);
	CHECK_EQ(fake_file(1)->end, KP_FILE_END_COMPLETE);
	CHECK_STR(fake_attr(fake_file(1), "status"), "206");
	CHECK_STR(fake_file(1)->sha256, /* bytes 100-1123 of blob.bin */
		  "25ba2db8685b49e54560c8417867a9c7cd938d050452d44eb967caf062e5c65e");
	CHECK_STR(fake_file(2)->name, "\xe2\x82\xac.exe");
	CHECK_EQ(fake_file(2)->bytes, 4096);
	CHECK_STR(fake_file(2)->sha256,
		  "d097b3828422d328e551fc0de8d983c21c27501c5ec152461e36c664d6c7bb36");
	drv_fini(&d);
}

KP_TEST(http_files_not_wanted_keeps_the_plain_parser)
{
	struct drv d;

	fake_reset();
	fake_files_wanted = false;
	drv_init(&d, &kp_mod_http);
	drv_str(&d, 0, "GET /a.bin HTTP/1.1\r\nHost: x\r\n\r\n");
	CHECK_EQ(drv_str(&d, 1, "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nabc"),
		 KP_PARSE_DONE);
	CHECK_EQ(fake_count(FK_OPEN), 0);
	drv_fini(&d);
	fake_files_wanted = true;
}

/* ---- http: synthetic ---- */

static const char chunked_req[] = "GET /dir/b%20c.txt?x=1&y=/z HTTP/1.1\r\nHost: h.example:8080\r\n\r\n";
static const char chunked_resp[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
				   "Content-Type: text/plain\r\n\r\n"
				   "5;ext=1\r\nhello\r\n06\r\n world\r\n0\r\nX-Trailer: y\r\n\r\n";

KP_TEST(http_chunked_split_at_every_position)
{
	size_t n = strlen(chunked_resp);

	for (size_t s = 0; s <= n; s++) {
		struct drv d;
		int failed0 = *kp_failed;

		fake_reset();
		drv_init(&d, &kp_mod_http);
		drv_str(&d, 0, chunked_req);
		drv_feed(&d, 1, chunked_resp, s, false);
		drv_feed(&d, 1, chunked_resp + s, n - s, false);
		CHECK_EQ(fake_count(FK_OPEN), 1);
		CHECK_STR(fake_file(0)->name, "b c.txt");
		CHECK_EQ(fake_file(0)->bytes, 11);
		CHECK(fake_file(0)->data && !memcmp(fake_file(0)->data, "hello world", 11));
		CHECK_EQ(fake_file(0)->end, KP_FILE_END_COMPLETE);
		CHECK_STR(fake_attr(fake_file(0), "host"), "h.example");
		drv_fini(&d);
		if (*kp_failed != failed0) {
			fprintf(stderr, "  split at %zu\n", s);
			break;
		}
	}
}

KP_TEST(http_chunked_byte_by_byte_then_next_message)
{
	static const char more[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	struct drv d;

	fake_reset();
	drv_init(&d, &kp_mod_http);
	drv_str(&d, 0, chunked_req);
	drv_str(&d, 0, "GET /second HTTP/1.1\r\nHost: h\r\n\r\n");
	for (size_t i = 0; i < strlen(chunked_resp); i++)
		drv_feed(&d, 1, chunked_resp + i, 1, false);
	drv_str(&d, 1, more);
	CHECK_EQ(fake_count(FK_OPEN), 2);
	CHECK_EQ(fake_file(0)->bytes, 11);
	CHECK_STR(fake_file(1)->name, "second");
	CHECK_EQ(fake_file(1)->bytes, 2);
	CHECK_EQ(fake_file(1)->end, KP_FILE_END_COMPLETE);
	drv_fini(&d);
}

static void gzip_case(int *kp_failed, int wbits, const char *enc, size_t split)
{
	static const char text[] = "Notes. The gzip body decoded equals the original text. "
				   "Notes. The gzip body decoded equals the original text.\n";
	uint8_t z[512], resp[1024];
	size_t zl = zcompress(wbits, (const uint8_t *)text, strlen(text), z, sizeof(z));
	int hl = snprintf((char *)resp, sizeof(resp),
			  "HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nContent-Length: %zu\r\n\r\n",
			  enc, zl);
	struct drv d;

	CHECK(zl > 0);
	memcpy(resp + hl, z, zl);
	fake_reset();
	drv_init(&d, &kp_mod_http);
	drv_str(&d, 0, "GET /n.txt HTTP/1.1\r\n\r\n");
	if (split > (size_t)hl + zl)
		split = (size_t)hl + zl;
	drv_feed(&d, 1, resp, split, false);
	drv_feed(&d, 1, resp + split, (size_t)hl + zl - split, false);
	CHECK_EQ(fake_count(FK_OPEN), 1);
	CHECK_EQ(fake_file(0)->bytes, strlen(text));
	CHECK(fake_file(0)->data && !memcmp(fake_file(0)->data, text, strlen(text)));
	CHECK_EQ(fake_file(0)->end, KP_FILE_END_COMPLETE);
	CHECK_EQ(fake_file(0)->size, KP_FILE_SIZE_FRAMED);
	CHECK_STR(fake_attr(fake_file(0), "encoding"), enc);
	drv_fini(&d);
}

KP_TEST(http_gzip_and_deflate_decoded)
{
	for (size_t split = 60; split < 80; split++) {
		gzip_case(kp_failed, 16 + MAX_WBITS, "gzip", split);
		gzip_case(kp_failed, MAX_WBITS, "deflate", split);  /* zlib-wrapped */
		gzip_case(kp_failed, -MAX_WBITS, "deflate", split); /* raw deflate */
	}
}

KP_TEST(http_range_206)
{
	char resp[512];
	uint8_t body[100];
	struct drv d;
	int hl = snprintf(resp, sizeof(resp),
			  "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 100-199/1000\r\n"
			  "Content-Length: 100\r\n\r\n");

	memset(body, 'r', sizeof(body));
	fake_reset();
	drv_init(&d, &kp_mod_http);
	drv_str(&d, 0, "GET /big.iso HTTP/1.1\r\nRange: bytes=100-199\r\n\r\n");
	drv_feed(&d, 1, resp, (size_t)hl, false);
	drv_feed(&d, 1, body, sizeof(body), false);
	CHECK_EQ(fake_count(FK_OPEN), 1);
	CHECK_STR(fake_file(0)->name, "big.iso");
	CHECK_EQ(fake_file(0)->offset, 100);
	CHECK_EQ(fake_file(0)->size, 1000);
	CHECK_EQ(fake_file(0)->bytes, 100);
	CHECK_EQ(fake_file(0)->end, KP_FILE_END_COMPLETE);
	drv_fini(&d);
}

KP_TEST(http_content_disposition_names)
{
	struct drv d;

	fake_reset();
	drv_init(&d, &kp_mod_http);
	drv_str(&d, 0, "GET /dl?id=1 HTTP/1.1\r\n\r\nGET /dl?id=2 HTTP/1.1\r\n\r\n"
		       "GET /dl?id=3 HTTP/1.1\r\n\r\n");
	drv_str(&d, 1, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Disposition: attachment; "
		       "filename=\"fallback.exe\"; filename*=UTF-8''%e2%82%ac.exe\r\n\r\nA");
	drv_str(&d, 1, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Disposition: attachment; "
		       "filename=\"a \\\"q\\\" b.zip\"\r\n\r\nB");
	drv_str(&d, 1, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Disposition: inline; "
		       "filename=plain.pdf\r\n\r\nC");
	CHECK_EQ(fake_count(FK_OPEN), 3);
	CHECK_STR(fake_file(0)->name, "\xe2\x82\xac.exe");
	CHECK_STR(fake_file(1)->name, "a \"q\" b.zip");
	CHECK_STR(fake_file(2)->name, "plain.pdf");
	CHECK_STR(fake_attr(fake_file(2), "url"), "/dl?id=3");
	drv_fini(&d);
}

KP_TEST(http_upload_put_and_post_chunked)
{
	struct drv d;

	fake_reset();
	drv_init(&d, &kp_mod_http);
	drv_str(&d, 0, "PUT /up/file.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n"
		       "Expect: 100-continue\r\n\r\n");
	drv_str(&d, 1, "HTTP/1.1 100 Continue\r\n\r\n");
	drv_str(&d, 0, "0123456789");
	drv_str(&d, 1, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
	drv_str(&d, 0, "POST /form HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
	drv_str(&d, 1, "HTTP/1.1 204 No Content\r\n\r\n");
	CHECK_EQ(fake_count(FK_OPEN), 2);
	CHECK_STR(fake_file(0)->name, "file.bin");
	CHECK_EQ(fake_file(0)->dir, KP_DIR_TOSERVER);
	CHECK_EQ(fake_file(0)->size, 10);
	CHECK_EQ(fake_file(0)->bytes, 10);
	CHECK_EQ(fake_file(0)->end, KP_FILE_END_COMPLETE);
	CHECK_STR(fake_attr(fake_file(0), "method"), "PUT");
	CHECK_STR(fake_file(1)->name, "form");
	CHECK_EQ(fake_file(1)->dir, KP_DIR_TOSERVER);
	CHECK_EQ(fake_file(1)->bytes, 3);
	CHECK_EQ(fake_file(1)->end, KP_FILE_END_COMPLETE);
	drv_fini(&d);
}

KP_TEST(http_no_body_responses_and_pipelining)
{
	struct drv d;

	fake_reset();
	drv_init(&d, &kp_mod_http);
	/* pipelined: HEAD, GET (304), GET (body) */
	drv_str(&d, 0, "HEAD /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n");
	drv_str(&d, 1, "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"
		       "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n"
		       "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nxyz");
	CHECK_EQ(fake_count(FK_OPEN), 1);
	CHECK_STR(fake_file(0)->name, "c");
	CHECK_EQ(fake_file(0)->bytes, 3);
	drv_fini(&d);
}

/* 40 pipelined requests of ~500 bytes in one chunk: no header-cap false alarm */
KP_TEST(http_deep_pipelining_in_one_chunk)
{
	static char reqs[40 * 600], resps[40 * 100];
	size_t rl = 0, sl = 0;
	struct drv d;

	for (int i = 0; i < 40; i++) {
		rl += (size_t)snprintf(reqs + rl, sizeof(reqs) - rl,
				       "GET /f%02d.bin HTTP/1.1\r\nHost: p\r\nX-Pad: %0440d\r\n\r\n", i,
				       0);
		sl += (size_t)snprintf(resps + sl, sizeof(resps) - sl,
				       "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n%02d", i);
	}
	CHECK(rl > HTTP_TEST_HDR_MAX);
	fake_reset();
	drv_init(&d, &kp_mod_http);
	drv_feed(&d, 0, reqs, rl, false);
	drv_feed(&d, 1, resps, sl, false);
	CHECK_EQ(fake_count(FK_OPEN), 40);
	CHECK_STR(fake_file(0)->name, "f00.bin");
	CHECK_STR(fake_file(7)->name, "f07.bin"); /* the pending ring keeps 8 requests */
	CHECK_EQ(fake_file(39)->bytes, 2);
	CHECK_EQ(fake_file(39)->end, KP_FILE_END_COMPLETE);
	drv_fini(&d);
}

KP_TEST(http_truncated_gzip_is_not_complete)
{
	static const char text[] = "0123456789abcdefghij0123456789abcdefghij";
	uint8_t z[256], resp[512];
	size_t zl = zcompress(16 + MAX_WBITS, (const uint8_t *)text, strlen(text), z, sizeof(z));
	int hl = snprintf((char *)resp, sizeof(resp),
			  "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n",
			  zl - 8); /* without the gzip trailer */
	struct drv d;

	memcpy(resp + hl, z, zl - 8);
	fake_reset();
	drv_init(&d, &kp_mod_http);
	drv_str(&d, 0, "GET /t.txt HTTP/1.1\r\n\r\n");
	drv_feed(&d, 1, resp, (size_t)hl + zl - 8, false);
	CHECK_EQ(fake_count(FK_OPEN), 1);
	CHECK_EQ(fake_file(0)->end, KP_FILE_END_TRUNCATED);
	drv_fini(&d);
}

KP_TEST(http_close_delimited_stays_open_at_unknown_size)
{
	struct drv d;

	fake_reset();
	drv_init(&d, &kp_mod_http);
	drv_str(&d, 0, "GET /old.txt HTTP/1.0\r\n\r\n");
	drv_str(&d, 1, "HTTP/1.0 200 OK\r\n\r\nsome");
	drv_str(&d, 1, " bytes");
	CHECK_EQ(fake_count(FK_OPEN), 1);
	CHECK_EQ(fake_file(0)->size, KP_FILE_SIZE_UNKNOWN);
	CHECK_EQ(fake_file(0)->bytes, 10);
	CHECK_EQ(fake_file(0)->end, -1); /* ends at the FIN */
	drv_fini(&d);
}

KP_TEST(http_gap_in_body)
{
	struct drv d;

	fake_reset();
	drv_init(&d, &kp_mod_http);
	drv_str(&d, 0, "GET /g.bin HTTP/1.1\r\n\r\n");
	drv_str(&d, 1, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
	drv_feed(&d, 1, "abc", 3, true);
	drv_str(&d, 1, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx");
	CHECK_EQ(fake_count(FK_OPEN), 1);
	CHECK_EQ(fake_file(0)->gaps, 1);
	CHECK_EQ(fake_file(0)->end, KP_FILE_END_TRUNCATED);
	CHECK_EQ(fake_file(0)->bytes, 10);
	CHECK_EQ(fake_file(0)->data_after_close, 0);
	drv_fini(&d);
}

KP_TEST(http_hostile_lengths_and_lines)
{
	static const char *const resps[] = {
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\nAAAA",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffff\r\nAAAA",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nAAAA",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\nAAAA",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nAAAA",
		"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\nAAAA",
		"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\nAAAA",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nAAAA",
		"HTTP/1.1 200 OK\r\nContent-Length: 4 4\r\n\r\nAAAA",
		"HTTP/1.1 200 OK\r\nContent-Range: bytes 9-1/x\r\nContent-Length: 4\r\n\r\nAAAA",
		"HTTP/1.1 200 OK\r\nContent-Disposition: filename*=UTF-8'%zz%\r\n"
		"Content-Length: 4\r\n\r\nAAAA",
		"HTTP/1.1 200 OK\r\nContent-Disposition: filename=\"unterminated\r\n"
		"Content-Length: 4\r\n\r\nAAAA",
		"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nAAAA",
		"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: 1\r\n\r\nA",
	};
	size_t big = 100000;
	uint8_t *junk = malloc(big);
	struct drv d;

	for (size_t i = 0; i < sizeof(resps) / sizeof(resps[0]); i++) {
		/* fed whole, then byte by byte: each must end sanely */
		for (int mode = 0; mode < 2; mode++) {
			size_t n = strlen(resps[i]);

			fake_reset();
			drv_init(&d, &kp_mod_http);
			drv_str(&d, 0, "GET /h HTTP/1.1\r\n\r\n");
			if (mode == 0)
				drv_feed(&d, 1, resps[i], n, false);
			else
				for (size_t k = 0; k < n; k++)
					drv_feed(&d, 1, resps[i] + k, 1, false);
			CHECK(fake_count(FK_OPEN) <= 1);
			CHECK(fake_count(FK_OPEN) == 0 || fake_file(0)->bytes <= 4);
			drv_fini(&d);
		}
	}
	/* a header line without CRLF, and a header block without end: the direction gives up */
	memset(junk, 'A', big);
	memcpy(junk, "HTTP/1.1 200 OK\r\n", 17);
	fake_reset();
	drv_init(&d, &kp_mod_http);
	drv_str(&d, 0, "GET /h HTTP/1.1\r\n\r\n");
	drv_feed(&d, 1, junk, big, false);
	for (size_t k = 0; k + 4 <= big; k += 4)
		memcpy(junk + k, "a:\r\n", 4);
	drv_feed(&d, 1, junk, big, false);
	CHECK_EQ(fake_count(FK_OPEN), 0);
	drv_str(&d, 0, "GET /again HTTP/1.1\r\n\r\n");
	drv_str(&d, 1, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx");
	CHECK_EQ(fake_count(FK_OPEN), 0); /* the response side stopped parsing */
	drv_fini(&d);
	free(junk);
}

KP_TEST(http_gzip_bomb_capped)
{
	size_t big = (size_t)70 << 20, zcap = 200000;
	uint8_t *zeros = calloc(1, big), *z = malloc(zcap), *resp = malloc(zcap + 200);
	size_t zl = zcompress(16 + MAX_WBITS, zeros, big, z, zcap);
	int hl = snprintf((char *)resp, 200,
			  "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n",
			  zl);
	struct drv d;

	CHECK(zl > 0);
	memcpy(resp + hl, z, zl);
	fake_reset();
	drv_init(&d, &kp_mod_http);
	drv_str(&d, 0, "GET /bomb HTTP/1.1\r\n\r\n");
	drv_feed(&d, 1, resp, (size_t)hl + zl, false);
	CHECK_EQ(fake_count(FK_OPEN), 1);
	CHECK_EQ(fake_file(0)->bytes, (uint64_t)64 << 20);
	CHECK_EQ(fake_file(0)->end, KP_FILE_END_TRUNCATED);
	/* the framing goes on: the next response is a file again */
	drv_str(&d, 0, "GET /after HTTP/1.1\r\n\r\n");
	drv_str(&d, 1, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx");
	CHECK_EQ(fake_count(FK_OPEN), 2);
	drv_fini(&d);
	free(zeros);
	free(z);
	free(resp);
}

/* Fixed-seed mutations of valid exchanges, split at random points: must not crash (ASan). */
KP_TEST(http_mutated_messages_do_not_crash)
{
	static const char *const seeds[] = {
		chunked_resp,
		"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 1-3/9\r\nContent-Length: 3\r\n\r\n"
		"abcHTTP/1.1 200 OK\r\nContent-Disposition: attachment; filename*=UTF-8''%e2%82%ac.exe"
		"\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 304 Not Modified\r\n\r\n"
		"HTTP/1.0 200 OK\r\nContent-Encoding: deflate\r\n\r\nxyz",
	};
	uint8_t z[256], buf[1024];
	size_t zl = zcompress(16 + MAX_WBITS, (const uint8_t *)chunked_resp, sizeof(chunked_resp),
			      z, sizeof(z));
	uint64_t rng = 0x9e3779b97f4a7c15ULL;

	for (int round = 0; round < 3000; round++) {
		const char *sd = seeds[round % 3];
		size_t n = strlen(sd), cut;
		struct drv d;

		memcpy(buf, sd, n);
		if (round % 5 == 0 && n + zl < sizeof(buf)) {
			memcpy(buf + n, z, zl); /* trailing gzip bytes as a body */
			n += zl;
		}
		for (int k = 0; k < 1 + round % 6; k++) {
			rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
			size_t at = (size_t)(rng % n);
			switch ((rng >> 20) % 4) {
			case 0: buf[at] = (uint8_t)(rng >> 32); break;
			case 1: buf[at] = "0123456789abcdefF-;\r\n :"[(rng >> 32) % 24]; break;
			case 2: buf[at] = '\n'; break;
			default: n = at + 1; break;
			}
		}
		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		cut = (size_t)(rng % (n + 1));
		fake_reset();
		drv_init(&d, &kp_mod_http);
		drv_str(&d, 0, "GET /a HTTP/1.1\r\n\r\nHEAD /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n");
		drv_feed(&d, 1, buf, cut, false);
		drv_feed(&d, 1, buf + cut, n - cut, false);
		drv_feed(&d, 0, buf, n, false); /* the same bytes as requests */
		for (unsigned i = 0; i < fake_count(FK_OPEN); i++)
			CHECK_EQ(fake_file(i)->data_after_close, 0);
		drv_fini(&d);
	}
}

/* ---- ftp ---- */

KP_TEST(ftp_vsftpd_announces_names_and_sizes)
{
	static const struct {
		const char *name;
		uint64_t size;
	} want[] = {
		{"pub/README.txt", KP_FILE_SIZE_UNKNOWN},
		{"pub/README.txt", 3600},
		{"pub/data-100k.bin", KP_FILE_SIZE_UNKNOWN},
		{"pub/data-100k.bin", 102400},
		{"pub/data-30k.bin", KP_FILE_SIZE_UNKNOWN},
		{"pub/data-30k.bin", 30720},
		{"incoming/upload-20k.bin", KP_FILE_SIZE_UNKNOWN}, /* "150 Ok to send data." */
	};
	struct drv d;
	const struct kp_ftp_state *st;

	fake_reset();
	drv_init(&d, &kp_mod_ftp);
	if (!feed_pcap(&d, "ftp-vsftpd.pcap", 21)) {
		drv_fini(&d);
		return;
	}
	/* the capture's two control connections both use port 21: the first one ends at 221 */
	st = d.st;
	CHECK_EQ(fake_count(FK_ANNOUNCE), 7);
	for (unsigned i = 0; i < 7 && i < fake_count(FK_ANNOUNCE); i++) {
		CHECK_STR(fake_nth(FK_ANNOUNCE, i)->name, want[i].name);
		CHECK_EQ(fake_nth(FK_ANNOUNCE, i)->size, want[i].size);
	}
	CHECK_EQ(st->transfers, 5); /* LIST and four transfers */
	CHECK_STR(st->user, "anonymous");
	drv_fini(&d);
}

KP_TEST(ftp_stou_and_not_wanted)
{
	struct drv d;

	fake_reset();
	drv_init(&d, &kp_mod_ftp);
	drv_str(&d, 1, "220 ftp ready\r\n");
	drv_str(&d, 0, "STOU\r\n");
	drv_str(&d, 1, "150 FILE: upload.1\r\n");
	drv_str(&d, 0, "APPE log.txt\r\n");
	drv_str(&d, 1, "150 Ok to send data (12 bytes).\r\n");
	CHECK_EQ(fake_count(FK_ANNOUNCE), 3);
	CHECK_STR(fake_nth(FK_ANNOUNCE, 0)->name, "upload.1");
	CHECK_STR(fake_nth(FK_ANNOUNCE, 1)->name, "log.txt");
	CHECK_EQ(fake_nth(FK_ANNOUNCE, 2)->size, 12);
	/* a refused RETR: its name is not announced again by a later 150 */
	drv_str(&d, 0, "RETR missing.bin\r\n");
	drv_str(&d, 1, "550 Failed to open file.\r\n");
	drv_str(&d, 0, "LIST\r\n");
	drv_str(&d, 1, "150 Here comes the directory listing (99 bytes).\r\n");
	CHECK_EQ(fake_count(FK_ANNOUNCE), 4);
	/* and the core is told the announced file will not come */
	CHECK_EQ(fake_count(FK_WITHDRAW), 1);
	drv_fini(&d);

	fake_reset();
	fake_files_wanted = false;
	drv_init(&d, &kp_mod_ftp);
	drv_str(&d, 0, "RETR x.exe\r\n");
	drv_str(&d, 1, "150 Opening (5 bytes).\r\n");
	CHECK_EQ(fake_count(FK_ANNOUNCE), 0);
	drv_fini(&d);
	fake_files_wanted = true;
}

KP_TEST_MAIN()
