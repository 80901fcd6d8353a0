/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The blocking policy of the inline gateway: ordered rules read from the daemon's
 * config file, the two defaults, first-match evaluation per flow, and an atomic
 * holder that SIGHUP swaps while workers keep using the policy they hold.
 *
 * Grammar (one `rule = ...` line of the config file per rule, kept in file order):
 *
 *   rule = ACTION [name=NAME] [app=APP[,APP...]] [src=CIDR[,CIDR...]]
 *                 [dst=CIDR[,CIDR...]] [sport=P[-Q]] [dport=P[-Q]] [proto=tcp|udp] [reset]
 *
 *   ACTION   pass | block
 *   NAME     [A-Za-z0-9_.:-]{1,63}; default "ruleN" (N = position, from 1). Events name it.
 *   APP      a label of src/app/app_list.def as written in events (bittorrent, http,
 *            unknown, ...). An unknown label is an error naming it.
 *   CIDR     IPv4 or IPv6 address with optional /LEN (default: the full length). Host
 *            bits beyond LEN are ignored. An IPv4 network never matches an IPv6 flow and
 *            the other way round (0.0.0.0/0 is "all IPv4", ::/0 "all IPv6").
 *   P, Q     0..65535, P <= Q. sport = the client's port, dport = the server's port.
 *   src/dst  the client's view: src is the client (the connection's initiator), dst the
 *            server, whichever direction the packet at hand travels.
 *   reset    only with block: a TCP reset is sent to both sides. Not with proto=udp; on a
 *            rule without proto it applies to the TCP flows it blocks (UDP is dropped).
 *   Each key at most once per rule; tokens are separated by blanks.
 *
 *   policy.unknown     = pass | block   flows whose classification ended without a label
 *                                       and that no rule decided (default pass)
 *   policy.classifying = pass | block   packets of a flow whose answer is not known yet,
 *                                       i.e. kp_policy_decide() said UNDECIDED (default pass)
 *
 * Evaluation (kp_policy_decide), first match wins: walk the rules in order; a rule whose
 * address, port or protocol conditions do not hold is skipped. A matching rule without an
 * app condition decides at once, classified or not. A matching rule with an app condition:
 * once classification is finished it decides if the flow's label is in its list and is
 * skipped otherwise; before that the answer is UNDECIDED (evaluation stops: a later rule
 * must not decide what an earlier app rule may still claim). When no rule decides: a
 * classified flow labelled `unknown` gets policy.unknown, any other label passes; an
 * unclassified flow passes at once if policy.unknown is pass (no label can change that),
 * else it stays UNDECIDED until classification ends.
 */
#ifndef KP_POLICY_POLICY_H
#define KP_POLICY_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Immutable after load; shared read-only by workers; reference counted. */
struct kp_policy;

/* An empty policy (no rules, both defaults pass) holding one reference; NULL on ENOMEM. */
struct kp_policy *kp_policy_new(void);

/*
 * Parses one rule (the text after `rule =`) and appends it. file and line are kept for
 * messages and events (file is copied). Returns 0, or -1 with "FILE:LINE: reason" in err
 * (the caller prints it as is; kp_config_load must not prefix it again).
 */
int kp_policy_add_rule(struct kp_policy *p, const char *text, const char *file, unsigned line,
		       char *err, size_t errlen);

/*
 * Sets a `policy.*` key (policy.unknown, policy.classifying). Returns 0, or -1 with a
 * reason in err WITHOUT the FILE:LINE prefix (like kp_config_set: the loader adds it).
 */
int kp_policy_set(struct kp_policy *p, const char *key, const char *val, char *err,
		  size_t errlen);

/* The flow as the policy sees it. Addresses: 4 bytes for AF_INET, 16 for AF_INET6. */
struct kp_policy_flow {
	int family;                   /* AF_INET / AF_INET6 */
	const uint8_t *caddr, *saddr; /* client (initiator), server */
	uint16_t cport, sport;        /* host order: client port, server port */
	uint8_t proto;                /* IPPROTO_TCP / IPPROTO_UDP */
	uint16_t app;                 /* enum kp_app_id; meaningful when classified */
	bool classified;              /* classification finished (a label or unknown) */
};

enum kp_policy_result { KP_POLICY_UNDECIDED, KP_POLICY_PASS, KP_POLICY_BLOCK };

struct kp_policy_rule_info {
	const char *name; /* never NULL: the name= value or "ruleN" */
	const char *file;
	unsigned line;
	const char *text; /* the rule as written (trimmed) */
	bool reset;       /* block with TCP reset to both sides */
};

/*
 * The answer for a flow. *rule (if rule is not NULL) is set to the deciding rule, or to
 * NULL when a default decided or the answer is UNDECIDED. The rule info lives as long as
 * the policy. PASS/BLOCK are final for this policy; UNDECIDED: ask again when the flow's
 * classification finishes, and meanwhile apply kp_policy_classifying_blocks().
 */
enum kp_policy_result kp_policy_decide(const struct kp_policy *p, const struct kp_policy_flow *pf,
				       const struct kp_policy_rule_info **rule);

/* True if packets of an UNDECIDED flow are dropped (policy.classifying = block). */
bool kp_policy_classifying_blocks(const struct kp_policy *p);

/* policy.unknown = block. */
bool kp_policy_unknown_blocks(const struct kp_policy *p);

/*
 * Content rules (`file = ...`, `chat = ...`, see content_rules.h): parsed like rules,
 * 0 or -1 with "FILE:LINE: reason" in err. kp_policy_content() is NULL without any.
 */
struct kp_content_rules;
int kp_policy_add_content_rule(struct kp_policy *p, bool chat, const char *text,
			       const char *file, unsigned line, char *err, size_t errlen);
const struct kp_content_rules *kp_policy_content(const struct kp_policy *p);

/* The action of the rule called name, or UNDECIDED when there is none. */
enum kp_policy_result kp_policy_rule_action(const struct kp_policy *p, const char *name);

/* Number of rules; true if some rule has an app condition (else no flow waits for a label). */
unsigned kp_policy_rule_count(const struct kp_policy *p);
bool kp_policy_has_app_rules(const struct kp_policy *p);

/* Generation of the holder swap that installed p (1 for the first); 0 if never installed. */
unsigned kp_policy_generation(const struct kp_policy *p);

/* One line per rule (normalized), then the defaults, for the startup log. */
void kp_policy_describe(const struct kp_policy *p, FILE *out);

/* Takes one more reference; returns p. */
struct kp_policy *kp_policy_ref(struct kp_policy *p);
/* Drops a reference; the last one frees the policy. NULL is ignored. */
void kp_policy_put(struct kp_policy *p);

/*
 * The current policy of the daemon. A mutex guards only the pointer and the reference
 * count increment; workers take a reference per use or per batch (kp_policy_holder_get),
 * use it without locks, and put it back. kp_policy_holder_swap installs a new policy
 * (giving it the next generation); the old one is freed when its last reference drops.
 */
struct kp_policy_holder;

/* Creates a holder owning the caller's reference to p (generation 1); NULL on ENOMEM. */
struct kp_policy_holder *kp_policy_holder_new(struct kp_policy *p);
/* Drops the holder's reference to its current policy and frees the holder. */
void kp_policy_holder_free(struct kp_policy_holder *h);
/* The current policy with one more reference (pair with kp_policy_put). Never NULL. */
struct kp_policy *kp_policy_holder_get(struct kp_policy_holder *h);
/* Installs p (taking the caller's reference) and drops the holder's reference to the old. */
void kp_policy_holder_swap(struct kp_policy_holder *h, struct kp_policy *p);

#endif
