/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the JSON builder: structure, numbers and exact escaping of hostile strings. */
#include "output/json.h"
#include "tap.h"

#include <sys/wait.h>
#include <unistd.h>

static const char *build_str(struct kp_json *j, const void *s, size_t n)
{
	kp_json_begin(j);
	kp_json_strn(j, "k", s, n);
	kp_json_end(j);
	return j->buf;
}

KP_TEST(json_structure)
{
	struct kp_json j;

	kp_json_init(&j);
	kp_json_begin(&j);
	kp_json_u64(&j, "a", 18446744073709551615ull);
	kp_json_obj(&j, "o");
	kp_json_str(&j, "s", "x");
	kp_json_bool(&j, "b", false);
	kp_json_end(&j);
	kp_json_arr(&j, "l");
	kp_json_u64(&j, NULL, 1);
	kp_json_str(&j, NULL, "2");
	kp_json_end_arr(&j);
	kp_json_hex(&j, "h", "\x00\xff", 2);
	kp_json_end(&j);
	CHECK_STR(j.buf, "{\"a\":18446744073709551615,\"o\":{\"s\":\"x\",\"b\":false},\"l\":[1,\"2\"],"
			 "\"h\":\"00ff\"}");
	kp_json_free(&j);
}

KP_TEST(json_escape_control_and_quotes)
{
	struct kp_json j;

	kp_json_init(&j);
	CHECK_STR(build_str(&j, "a\"b\\c\n\r\t\x01\x7f", 10),
		  "{\"k\":\"a\\\"b\\\\c\\n\\r\\t\\u0001\\u007f\"}");
	CHECK_STR(build_str(&j, "a\0b", 3), "{\"k\":\"a\\u0000b\"}");
	kp_json_free(&j);
}

KP_TEST(json_escape_utf8)
{
	struct kp_json j;

	kp_json_init(&j);
	/* valid UTF-8 passes */
	CHECK_STR(build_str(&j, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9),
		  "{\"k\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}");
	/* invalid: lone continuation, truncated sequence, overlong, surrogate */
	CHECK_STR(build_str(&j, "\x80", 1), "{\"k\":\"\\udc80\"}");
	CHECK_STR(build_str(&j, "\xc3", 1), "{\"k\":\"\\udcc3\"}");
	CHECK_STR(build_str(&j, "\xc0\xaf", 2), "{\"k\":\"\\udcc0\\udcaf\"}");
	CHECK_STR(build_str(&j, "\xed\xa0\x80", 3), "{\"k\":\"\\udced\\udca0\\udc80\"}");
	/* a real U+00E9 and the lone byte 0xe9 stay distinct */
	CHECK_STR(build_str(&j, "\xc3\xa9\xe9", 3), "{\"k\":\"\xc3\xa9\\udce9\"}");
	/* truncated 4-byte sequence, above U+10FFFF, 0xf5..0xff */
	CHECK_STR(build_str(&j, "\xf0\x9f\x98", 3), "{\"k\":\"\\udcf0\\udc9f\\udc98\"}");
	CHECK_STR(build_str(&j, "\xf4\x90\x80\x80", 4),
		  "{\"k\":\"\\udcf4\\udc90\\udc80\\udc80\"}");
	CHECK_STR(build_str(&j, "\xf5\xff", 2), "{\"k\":\"\\udcf5\\udcff\"}");
	kp_json_free(&j);
}

/* Every byte string must come out as a JSON string that contains no raw control byte. */
KP_TEST(json_random_bytes_stay_valid)
{
	struct kp_json j;
	uint32_t x = 12345;
	uint8_t b[64];
	int bad = 0;

	kp_json_init(&j);
	for (int r = 0; r < 20000; r++) {
		size_t n = (size_t)(r % 64);

		for (size_t i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u;
			b[i] = (uint8_t)(x >> 16);
		}
		build_str(&j, b, n);
		for (size_t i = 0; i < j.len; i++)
			if ((unsigned char)j.buf[i] < 0x20)
				bad++;
		if (j.buf[j.len - 1] != '}' || j.buf[j.len - 2] != '"')
			bad++;
	}
	CHECK_EQ(bad, 0);
	kp_json_free(&j);
}

/*
 * The documented mapping, checked by a real JSON parser: python3's json.loads of
 * each line, encoded back with "surrogateescape", gives exactly the input bytes
 * (written beside it as hex). Random strings biased towards UTF-8 pieces.
 */
KP_TEST(json_python_roundtrip)
{
	static const char *const pieces[] = {
		"a", "\"", "\\", "\n", "\x01", "\x7f", "\xc3\xa9", "\xe9", "\xe2\x82\xac",
		"\xe2\x82", "\xf0\x9f\x98\x80", "\xf0\x9f", "\xed\xa0\x80", "\xc0\xaf", "\xff",
		"\x80", "\\u00e9",
		"\xef\xbf\xbf", "\xf4\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xe2\x80\xa8", "\0", "/",
	};
	const size_t np = sizeof(pieces) / sizeof(pieces[0]);
	char path[] = "/tmp/kp-test-json-XXXXXX", cmd[512];
	struct kp_json j;
	uint32_t x = 777;
	uint8_t b[256];
	FILE *f;
	int fd, rc;

	fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	f = fdopen(fd, "w");
	kp_json_init(&j);
	for (int r = 0; r < 5000; r++) {
		size_t n = 0;

		for (int k = 0; k < r % 24; k++) {
			x = x * 1103515245u + 12345u;
			if (x >> 31) {
				const char *p = pieces[(x >> 16) % np];
				size_t l = strcmp(p, "") ? strlen(p) : 1; /* "\0" is one NUL */

				memcpy(b + n, p, l);
				n += l;
			} else {
				b[n++] = (uint8_t)(x >> 16);
			}
		}
		kp_json_begin(&j);
		kp_json_hex(&j, "hex", b, n);
		kp_json_strn(&j, "s\xff\"", b, n); /* hostile key too */
		kp_json_end(&j);
		fprintf(f, "%s\n", j.buf);
	}
	kp_json_free(&j);
	fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "python3 -c 'import json,sys\n"
		 "n=0\n"
		 "for l in open(sys.argv[1],encoding=\"utf-8\",errors=\"strict\"):\n"
		 "  o=json.loads(l); n+=1\n"
		 "  v=o[\"s\\udcff\\\"\"].encode(\"utf-8\",\"surrogateescape\")\n"
		 "  assert v==bytes.fromhex(o[\"hex\"]),(l,v)\n"
		 "assert n==5000\n' %s",
		 path);
	rc = system(cmd);
	unlink(path);
	if (WIFEXITED(rc) && WEXITSTATUS(rc) == 127) {
		printf("# python3 absent: round trip not checked\n");
		return;
	}
	CHECK_EQ(rc, 0);
}

KP_TEST(json_timestamp_iso8601)
{
	struct kp_json j;

	kp_json_init(&j);
	kp_json_begin(&j);
	kp_json_ts(&j, "t", 1455469967550422ull);
	kp_json_end(&j);
	CHECK_STR(j.buf, "{\"t\":\"2016-02-14T17:12:47.550422+0000\"}");
	/* the cached date text must follow the seconds, and microseconds keep their zeros */
	kp_json_begin(&j);
	kp_json_ts(&j, "a", 1455469967000007ull);
	kp_json_ts(&j, "b", 1455469968000000ull);
	kp_json_ts(&j, "c", 0);
	kp_json_end(&j);
	CHECK_STR(j.buf, "{\"a\":\"2016-02-14T17:12:47.000007+0000\",\"b\":\"2016-02-14T17:12:48.000000+0000\","
			 "\"c\":\"1970-01-01T00:00:00.000000+0000\"}");
	kp_json_free(&j);
}

KP_TEST(json_members_spliced)
{
	struct kp_json j;

	kp_json_init(&j);
	kp_json_begin(&j);
	kp_json_u64(&j, "a", 1);
	kp_json_members(&j, "\"tls\":{\"sni\":\"x\"}", 17);
	kp_json_u64(&j, "b", 2);
	kp_json_end(&j);
	CHECK_STR(j.buf, "{\"a\":1,\"tls\":{\"sni\":\"x\"},\"b\":2}");
	kp_json_begin(&j);
	kp_json_members(&j, "\"x\":1", 5);
	kp_json_end(&j);
	CHECK_STR(j.buf, "{\"x\":1}");
	kp_json_free(&j);
}

KP_TEST_MAIN()
