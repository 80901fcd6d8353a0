/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the escaping of hostile strings (src/output/json.c) and
 * the chat event writer (src/output/eve.c). The input is cut into five
 * strings: bytes 0..3 give the lengths of the first four, the rest is the
 * fifth. They are written
 *   1. as {"k0":S0,"k1":S1,KEY:S4} with kp_json_begin/kp_json_strn/kp_json_end,
 *      KEY being S2 up to its first NUL (keys are C strings);
 *   2. as a chat event, kp_eve_chat(command = S0, from = S1, to = S2 (each up
 *      to its first NUL), text = S4 (all bytes)), on a minimal engine and flow.
 * Each line is parsed back by the strict decoder below, which accepts only
 * valid UTF-8 JSON in exactly the form json.h documents (raw valid UTF-8;
 * \" \\ \n \r \t; \u00XX for the other bytes below 0x20 and 0x7f; \udcXX for
 * a byte that is not UTF-8) and maps it back to bytes; every value must
 * equal its input byte for byte. Any mismatch aborts.
 */
#include "app/app.h"
#include "engine/engine.h"
#include "output/eve.h"
#include "output/json.h"
#include "output/writer.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		fprintf(stderr, "fuzz_eve_strings: " __VA_ARGS__);                                 \
		fputc('\n', stderr);                                                               \
		abort();                                                                           \
	} while (0)

/* ---- a strict decoder of the documented form -------------------------------- */

struct rd {
	const unsigned char *p, *end;
};

struct bytes {
	unsigned char *b;
	size_t len, cap;
};

static void bput(struct bytes *o, const void *s, size_t n)
{
	if (o->len + n > o->cap) {
		o->cap = (o->len + n) * 2 + 64;
		o->b = realloc(o->b, o->cap);
		if (!o->b)
			abort();
	}
	memcpy(o->b + o->len, s, n);
	o->len += n;
}

/* Length of the valid UTF-8 sequence at s, 0 if invalid (independent of json.c). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t l;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		l = 2, cp = s[0] & 0x1fu;
	else if ((s[0] & 0xf0) == 0xe0)
		l = 3, cp = s[0] & 0x0fu;
	else if ((s[0] & 0xf8) == 0xf0)
		l = 4, cp = s[0] & 0x07u;
	else
		return 0;
	if (n < l)
		return 0;
	for (size_t i = 1; i < l; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if ((l == 2 && cp < 0x80) || (l == 3 && cp < 0x800) || (l == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return l;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* the writer uses lowercase hex only */
}

/* Decodes a JSON string at r->p (at its opening quote) into out (reset first). */
static bool dec_string(struct rd *r, struct bytes *out)
{
	out->len = 0;
	if (r->p >= r->end || *r->p != '"')
		return false;
	r->p++;
	while (r->p < r->end) {
		unsigned char c = *r->p;

		if (c == '"') {
			r->p++;
			return true;
		}
		if (c == '\\') {
			unsigned v = 0;

			if (r->end - r->p < 2)
				return false;
			switch (r->p[1]) {
			case '"':
			case '\\':
				bput(out, r->p + 1, 1);
				r->p += 2;
				continue;
			case 'n':
				bput(out, "\n", 1);
				r->p += 2;
				continue;
			case 'r':
				bput(out, "\r", 1);
				r->p += 2;
				continue;
			case 't':
				bput(out, "\t", 1);
				r->p += 2;
				continue;
			case 'u':
				break;
			default:
				return false; /* \/ \b \f: valid JSON, not the documented form */
			}
			if (r->end - r->p < 6)
				return false;
			for (int i = 2; i < 6; i++) {
				int h = hexval(r->p[i]);

				if (h < 0)
					return false;
				v = v << 4 | (unsigned)h;
			}
			r->p += 6;
			if ((v < 0x20 && v != '\n' && v != '\r' && v != '\t') || v == 0x7f) {
				unsigned char b = (unsigned char)v;

				bput(out, &b, 1);
			} else if (v >= 0xdc80 && v <= 0xdcff) {
				unsigned char b = (unsigned char)(v & 0xff);

				bput(out, &b, 1);
			} else {
				return false; /* not a form the writer uses */
			}
			continue;
		}
		if (c < 0x20 || c == 0x7f)
			return false; /* raw control byte */
		{
			size_t l = utf8_len(r->p, (size_t)(r->end - r->p));

			if (!l)
				return false; /* the line must be valid UTF-8 */
			bput(out, r->p, l);
			r->p += l;
		}
	}
	return false;
}

static bool lit(struct rd *r, const char *s)
{
	size_t n = strlen(s);

	if ((size_t)(r->end - r->p) < n || memcmp(r->p, s, n))
		return false;
	r->p += n;
	return true;
}

/* Skips any JSON value (strict enough for the writer's output). */
static bool skip_value(struct rd *r, int depth);

static bool skip_container(struct rd *r, int depth, char open, char close)
{
	struct bytes tmp = {0};
	bool first = true, ok = false;

	if (depth > 32 || !lit(r, (char[]){open, 0}))
		return false;
	for (;;) {
		if (r->p < r->end && *r->p == close) {
			r->p++;
			ok = true;
			break;
		}
		if (!first && !lit(r, ","))
			break;
		first = false;
		if (open == '{' && (!dec_string(r, &tmp) || !lit(r, ":")))
			break;
		if (!skip_value(r, depth + 1))
			break;
	}
	free(tmp.b);
	return ok;
}

static bool skip_value(struct rd *r, int depth)
{
	struct bytes tmp = {0};
	bool ok;

	if (r->p >= r->end)
		return false;
	switch (*r->p) {
	case '{':
		return skip_container(r, depth, '{', '}');
	case '[':
		return skip_container(r, depth, '[', ']');
	case '"':
		ok = dec_string(r, &tmp);
		free(tmp.b);
		return ok;
	case 't':
		return lit(r, "true");
	case 'f':
		return lit(r, "false");
	case 'n':
		return lit(r, "null");
	default:
		if (*r->p != '-' && (*r->p < '0' || *r->p > '9'))
			return false;
		r->p++;
		while (r->p < r->end && ((*r->p >= '0' && *r->p <= '9') || *r->p == '.'))
			r->p++;
		return true;
	}
}

static void expect_eq(const struct bytes *got, const void *want, size_t n, const char *what)
{
	if (got->len != n || (n && memcmp(got->b, want, n)))
		FAIL("%s: decoded %zu bytes, input %zu bytes differ", what, got->len, n);
}

/* ---- the target ---------------------------------------------------------- */

static size_t cstr_len(const uint8_t *s, size_t n)
{
	const uint8_t *z = memchr(s, 0, n);

	return z ? (size_t)(z - s) : n;
}

static void check_builder(const uint8_t *s[5], const size_t n[5])
{
	struct kp_json j;
	struct bytes v = {0};
	struct rd r;
	char key[256];
	size_t kl = cstr_len(s[2], n[2]);

	memcpy(key, s[2], kl);
	key[kl] = '\0';
	kp_json_init(&j);
	kp_json_begin(&j);
	kp_json_strn(&j, "k0", s[0], n[0]);
	kp_json_strn(&j, "k1", s[1], n[1]);
	kp_json_strn(&j, key, s[4], n[4]);
	kp_json_end(&j);
	if (j.oom)
		goto out;
	if (strlen(j.buf) != j.len)
		FAIL("builder: NUL inside the line");
	r = (struct rd){(const unsigned char *)j.buf, (const unsigned char *)j.buf + j.len};
	if (!lit(&r, "{") || !dec_string(&r, &v))
		FAIL("builder: bad start: %s", j.buf);
	expect_eq(&v, "k0", 2, "builder key k0");
	if (!lit(&r, ":") || !dec_string(&r, &v))
		FAIL("builder: bad value 0: %s", j.buf);
	expect_eq(&v, s[0], n[0], "builder value 0");
	if (!lit(&r, ",") || !dec_string(&r, &v) || !lit(&r, ":"))
		FAIL("builder: bad key 1: %s", j.buf);
	expect_eq(&v, "k1", 2, "builder key k1");
	if (!dec_string(&r, &v))
		FAIL("builder: bad value 1: %s", j.buf);
	expect_eq(&v, s[1], n[1], "builder value 1");
	if (!lit(&r, ",") || !dec_string(&r, &v) || !lit(&r, ":"))
		FAIL("builder: bad key 2: %s", j.buf);
	expect_eq(&v, key, kl, "builder key 2");
	if (!dec_string(&r, &v))
		FAIL("builder: bad value 2: %s", j.buf);
	expect_eq(&v, s[4], n[4], "builder value 2");
	if (!lit(&r, "}") || r.p != r.end)
		FAIL("builder: bad end: %s", j.buf);
out:
	free(v.b);
	kp_json_free(&j);
}

static struct kp_output out;
static bool out_ok;

static void check_chat(const uint8_t *s[5], const size_t n[5], uint8_t flags)
{
	struct kp_engine *e = calloc(1, sizeof(*e));
	struct kp_flow *f = calloc(1, sizeof(*f));
	struct bytes k = {0}, v = {0};
	char cmd[256], from[256], to[256];
	size_t lc = cstr_len(s[0], n[0]), lf = cstr_len(s[1], n[1]), lt = cstr_len(s[2], n[2]);
	int app = kp_app_by_name("irc");
	struct kp_json *j;
	struct rd r;
	int seen = 0;

	if (!e || !f)
		abort();
	memcpy(cmd, s[0], lc);
	cmd[lc] = '\0';
	memcpy(from, s[1], lf);
	from[lf] = '\0';
	memcpy(to, s[2], lt);
	to[lt] = '\0';
	kp_json_init(&e->json);
	e->out = out_ok ? &out : NULL;
	f->key.l4 = IPPROTO_TCP;
	f->key.family = (flags & 1) ? AF_INET6 : AF_INET;
	f->key.port[0] = 6667;
	f->key.port[1] = 40000;
	f->client_side = (flags >> 1) & 1;
	f->app = app > 0 ? (uint16_t)app : 0;
	f->id = 1234;
	if (!e->out)
		goto out; /* kp_eve_chat needs a writer */
	kp_eve_chat(e, f, 1700000000000000ull, (flags >> 2) & 1, cmd, from, to, s[4], n[4], NULL,
		    NULL);
	j = &e->json;
	if (j->oom)
		goto out;
	r = (struct rd){(const unsigned char *)j->buf, (const unsigned char *)j->buf + j->len};
	{
		/* the whole line is one valid object */
		struct rd all = r;

		if (!skip_value(&all, 0) || all.p != all.end)
			FAIL("chat: not one JSON object: %s", j->buf);
	}
	/* find "chat":{...} among the top-level members */
	if (!lit(&r, "{"))
		FAIL("chat: no object");
	for (;;) {
		if (!dec_string(&r, &k) || !lit(&r, ":"))
			FAIL("chat: bad member: %s", j->buf);
		if (k.len == 4 && !memcmp(k.b, "chat", 4))
			break;
		if (!skip_value(&r, 1) || !lit(&r, ","))
			FAIL("chat: no chat object: %s", j->buf);
	}
	if (!lit(&r, "{"))
		FAIL("chat: chat is not an object");
	for (bool first = true;; first = false) {
		if (lit(&r, "}"))
			break;
		if ((!first && !lit(&r, ",")) || !dec_string(&r, &k) || !lit(&r, ":") ||
		    !dec_string(&r, &v))
			FAIL("chat: bad chat member: %s", j->buf);
		if (k.len == 7 && !memcmp(k.b, "command", 7))
			expect_eq(&v, cmd, lc, "chat command"), seen |= 1;
		else if (k.len == 4 && !memcmp(k.b, "from", 4))
			expect_eq(&v, from, lf, "chat from"), seen |= 2;
		else if (k.len == 2 && !memcmp(k.b, "to", 2))
			expect_eq(&v, to, lt, "chat to"), seen |= 4;
		else if (k.len == 4 && !memcmp(k.b, "text", 4))
			expect_eq(&v, s[4], n[4], "chat text"), seen |= 8;
	}
	if (seen != 15)
		FAIL("chat: members missing (%d): %s", seen, j->buf);
	if (!lit(&r, "}") || r.p != r.end)
		FAIL("chat: bad end: %s", j->buf);
out:
	free(k.b);
	free(v.b);
	kp_json_free(&e->json);
	free(e);
	free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *s[5];
	size_t n[5], off = 5;
	char err[128];

	if (size < 5)
		return 0;
	if (!out_ok && kp_output_open(&out, "/dev/null", 0, err, sizeof(err)) == 0)
		out_ok = true;
	for (int i = 0; i < 4; i++) {
		size_t l = data[i];

		if (l > size - off)
			l = size - off;
		s[i] = data + off;
		n[i] = l;
		off += l;
	}
	s[4] = data + off;
	n[4] = size - off;
	check_builder(s, n);
	check_chat(s, n, data[4]);
	return 0;
}
