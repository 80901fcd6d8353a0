/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the JSON builder: structure, numbers and exact escaping of hostile strings. */
#include "output/json.h"
#include "tap.h"

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
	CHECK_STR(build_str(&j, "\x80", 1), "{\"k\":\"\\u0080\"}");
	CHECK_STR(build_str(&j, "\xc3", 1), "{\"k\":\"\\u00c3\"}");
	CHECK_STR(build_str(&j, "\xc0\xaf", 2), "{\"k\":\"\\u00c0\\u00af\"}");
	CHECK_STR(build_str(&j, "\xed\xa0\x80", 3), "{\"k\":\"\\u00ed\\u00a0\\u0080\"}");
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
