/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A small JSON builder over a growable buffer. Every event kp2padm writes is
 * built here, so that escaping of hostile strings happens in exactly one place.
 *
 * The string escaping is exact and reversible, for any bytes:
 *  - '"' and '\\' become \" and \\; newline, CR and tab become \n \r \t;
 *    every other byte below 0x20, and 0x7f, becomes \u00XX (lowercase hex);
 *  - a valid UTF-8 sequence (shortest form, no surrogates, at most U+10FFFF)
 *    is copied as it is;
 *  - every other byte (0x80..0xff that does not start or belong to a valid
 *    sequence) becomes \udcXX, the lone low surrogate U+DC00 + byte. This is
 *    Python's "surrogateescape" (PEP 383): no valid UTF-8 text can produce a
 *    surrogate, so the mapping is one to one, and
 *      json.loads(line)[key].encode("utf-8", "surrogateescape")
 *    gives back exactly the original bytes. (A real U+00XX in the input is
 *    valid UTF-8 and passes through, so the two never collide, which is why
 *    \u00XX is not used for invalid bytes.) The line stays valid JSON (RFC 8259
 *    grammar); some parsers replace a lone surrogate with U+FFFD (jq, Go) and
 *    strict ones may refuse it (serde_json by default).
 *
 * Usage: kp_json_begin(j); kp_json_str(j, "key", "v"); kp_json_obj(j, "tls");
 * ... kp_json_end(j); kp_json_end(j); then j->buf holds one line (no newline).
 * A builder is owned by one thread; it never fails on hostile input, and on
 * allocation failure it sets `oom` and stops growing.
 */
#ifndef KP_OUTPUT_JSON_H
#define KP_OUTPUT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KP_JSON_MAX_DEPTH 16

struct kp_json {
	char *buf;     /* owned; NUL-terminated */
	size_t len;    /* bytes used, without the NUL */
	size_t cap;    /* bytes allocated */
	int depth;     /* open objects/arrays */
	bool first[KP_JSON_MAX_DEPTH]; /* next member is the first at this depth */
	bool oom;      /* an allocation failed: output is truncated */
	/* cache of the last timestamp's date and time text (kp_json_ts) */
	bool ts_valid;
	long long ts_sec;
	size_t ts_len;
	char ts_text[24];
};

void kp_json_init(struct kp_json *j);
void kp_json_free(struct kp_json *j);
void kp_json_reset(struct kp_json *j);

/* Opens the top-level object. */
void kp_json_begin(struct kp_json *j);
/* Opens a member object ("key": {) or, with key NULL inside an array, an element object. */
void kp_json_obj(struct kp_json *j, const char *key);
/* Opens a member array. */
void kp_json_arr(struct kp_json *j, const char *key);
/* Closes the innermost object or array. */
void kp_json_end(struct kp_json *j);
void kp_json_end_arr(struct kp_json *j);

/* Members (key may be NULL for array elements). */
void kp_json_str(struct kp_json *j, const char *key, const char *s);
void kp_json_strn(struct kp_json *j, const char *key, const void *s, size_t n);
void kp_json_hex(struct kp_json *j, const char *key, const void *b, size_t n);
void kp_json_u64(struct kp_json *j, const char *key, uint64_t v);
void kp_json_i64(struct kp_json *j, const char *key, int64_t v);
void kp_json_dbl(struct kp_json *j, const char *key, double v);
void kp_json_bool(struct kp_json *j, const char *key, bool v);

/* Appends already-built members ("a":1,"b":{...}) of the current object. */
void kp_json_members(struct kp_json *j, const char *members, size_t n);

/* Appends the escaped form of n bytes (no quotes) to j. Exposed for tests. */
void kp_json_escape(struct kp_json *j, const void *s, size_t n);

/* ISO 8601 with microseconds and +0000, as Suricata writes: 2024-01-02T03:04:05.000006+0000 */
void kp_json_ts(struct kp_json *j, const char *key, uint64_t ts_us);

#endif
