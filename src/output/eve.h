/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Event records in the style of Suricata's EVE. kp_eve_flow() writes the
 * "flow" event of a flow that ends: the 5-tuple with src = client, the label
 * and its confidence, counters per direction, start/end, and the object the
 * app module filled ("tls": {...}).
 */
#ifndef KP_OUTPUT_EVE_H
#define KP_OUTPUT_EVE_H

#include "flow/flow_table.h"

struct kp_engine;

void kp_eve_flow(struct kp_engine *e, const struct kp_flow *f, enum kp_flow_end_reason r);

/*
 * The "block" event of a flow the policy blocked: the rule (name, FILE:LINE,
 * text) or the default that decided, drop or reset, whether the tuple went
 * into the connection cache.
 */
void kp_eve_block(struct kp_engine *e, const struct kp_flow *f, const char *rule_name,
		  const char *rule_file, unsigned rule_line, const char *rule_text, bool reset,
		  bool cached);

/*
 * A "chat" event: one message of a chat protocol (IRC PRIVMSG/NOTICE, ...) with its
 * sender, receiver and text (escaped exactly), and which way it went; rule and
 * action (alert, block, audit) when a chat rule matched it (NULL: none).
 */
void kp_eve_chat(struct kp_engine *e, const struct kp_flow *f, uint64_t ts_us, int dir,
		 const char *command, const char *from, const char *to, const uint8_t *text,
		 size_t len, const char *rule, const char *action);

/* Starts an event of flow f: timestamp, flow_id, event_type, 5-tuple, app_proto (eve.c). */
void kp_eve_head(struct kp_engine *e, const struct kp_flow *f, uint64_t ts, const char *type);

/* Content events (eve_content.c): a file (content/file.h), a virus found in one, a search. */
struct kp_file;
void kp_eve_file(struct kp_engine *e, const struct kp_file *fi);
void kp_eve_virus(struct kp_engine *e, const struct kp_file *fi);
struct kp_content_stats;
struct kp_json;
/* The members of a content counters object (stats event, summary), and a sum. */
void kp_eve_content_stats(struct kp_json *j, const struct kp_content_stats *st);
void kp_content_stats_add(struct kp_content_stats *t, const struct kp_content_stats *s);
void kp_eve_search(struct kp_engine *e, const struct kp_flow *f, uint64_t ts_us, int dir,
		   const char *text, size_t len);

/* Writes an address of family (AF_INET/AF_INET6) into buf (INET6_ADDRSTRLEN bytes). */
void kp_addr_str(int family, const uint8_t *addr, char *buf, size_t len);

#endif
