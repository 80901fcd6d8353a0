/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Content rules: what the policy does with the files and chat messages that
 * the application modules report (src/content/content.h). Part of a policy
 * (policy.h): loaded from the same config file, swapped by the same SIGHUP.
 *
 *   file = ACTION [name=NAME] [app=APP[,APP..]] [glob=GLOB[,GLOB..]]
 *                 [hash=HEX[,HEX..]] [hashes=PATH] [reset]
 *     ACTION  pass | audit | block
 *     GLOB    shell pattern (fnmatch, case-insensitive, '*' also crosses '/'),
 *             matched against the whole name and against the name cut at its
 *             first NUL byte (a client may cut there): either match counts
 *     HEX     a BitTorrent info_hash (40 hex digits), an eDonkey hash (32), a
 *             Tiger tree root (48) or a SHA-1 urn (40)
 *     PATH    a file of such hashes, one per line, '#' comments
 *     A rule with neither glob nor hash matches every file (of its apps).
 *     With both, a glob or a hash match is enough.
 *   chat = ACTION [name=NAME] [app=APP[,APP..]] [keyword=WORD[,WORD..]] [reset]
 *     ACTION  audit (an event per message) | alert (an event with the rule) | block
 *     WORD    matched case-insensitively as a substring of the text.
 *     Without keyword the rule matches every message (of its apps).
 *
 * First match wins within each list; a file no rule matches passes without
 * an event unless file.audit = yes (then it is audited).
 */
#ifndef KP_POLICY_CONTENT_RULES_H
#define KP_POLICY_CONTENT_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum kp_content_action {
	KP_CA_NONE = 0, /* no rule matched */
	KP_CA_PASS,
	KP_CA_AUDIT,
	KP_CA_ALERT,
	KP_CA_BLOCK,
};

const char *kp_content_action_name(enum kp_content_action a);

struct kp_content_rule_info {
	const char *name;  /* name= or "fileN" / "chatN" */
	const char *file;
	unsigned line;
	const char *text;  /* as written */
	enum kp_content_action action;
	bool reset;
};

struct kp_content_rules;

struct kp_content_rules *kp_content_rules_new(void);
void kp_content_rules_free(struct kp_content_rules *r);

/* Parses the text after `file =` / `chat =`. 0, or -1 with "FILE:LINE: reason" in err. */
int kp_content_add_file_rule(struct kp_content_rules *r, const char *text, const char *file,
			     unsigned line, char *err, size_t errlen);
int kp_content_add_chat_rule(struct kp_content_rules *r, const char *text, const char *file,
			     unsigned line, char *err, size_t errlen);

/* True if some file (chat) rule may apply to app. */
bool kp_content_files_for(const struct kp_content_rules *r, unsigned app);
bool kp_content_chat_for(const struct kp_content_rules *r, unsigned app);

/* The first file rule of app whose globs match name (hash rules are skipped), or NULL. */
const struct kp_content_rule_info *kp_content_match_name(const struct kp_content_rules *r,
							 unsigned app, const char *name,
							 size_t len);
/* The first file rule of app that lists the hash (or has no condition), or NULL. */
const struct kp_content_rule_info *kp_content_match_hash(const struct kp_content_rules *r,
							 unsigned app, const uint8_t *hash,
							 size_t len);
/* The first chat rule of app whose keywords occur in text (or has none), or NULL. */
const struct kp_content_rule_info *kp_content_match_chat(const struct kp_content_rules *r,
							 unsigned app, const uint8_t *text,
							 size_t len);

unsigned kp_content_file_rule_count(const struct kp_content_rules *r);
unsigned kp_content_chat_rule_count(const struct kp_content_rules *r);
void kp_content_rules_describe(const struct kp_content_rules *r, FILE *out);

/* Parses hex digits into out (at most cap bytes); returns the byte count or -1. */
int kp_hex_decode(const char *s, size_t len, uint8_t *out, size_t cap);

#endif
