/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The contract between the classifier and the application modules.
 *
 * A module is one file exporting one const descriptor (struct kp_app_module).
 * Classification offers each new piece of a flow's payload to the modules
 * that have not excluded the flow yet:
 *
 *   probe(ctx, &m)  -> KP_PROBE_MATCH (m.app and m.confidence set),
 *                      KP_PROBE_EXCLUDE (never asked again for this flow),
 *                      KP_PROBE_NEED_MORE.
 *   Probes are stateless: they read ctx->buf[] (everything seen so far in
 *   each direction, up to the probe buffer size) and ctx->data (the new bytes).
 *
 * On a match the classifier allocates `state_size` zeroed bytes and calls
 * parse() once per direction with everything buffered so far (client side
 * first), then with each new in-order chunk as it arrives, until parse()
 * returns KP_PARSE_DONE or the stream depth is reached. parse() may refine a
 * generic label (http -> bittorrent for a tracker) with kp_app_refine().
 * json() writes the module's object(s) ("http": {...}) into the flow event.
 *
 * Modules never see raw packets, only payload bytes of one direction, and
 * must read them with bounds checks (util/cursor.h): every byte is hostile.
 * A port may order which module is tried first (port_hints); it must never
 * be the reason for a match.
 */
#ifndef KP_APP_APP_H
#define KP_APP_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/cursor.h"

struct kp_json;
struct kp_flow;
struct kp_engine;

enum kp_app_id {
#define KP_APP(id, name, p2p) KP_APP_##id,
#include "app/app_list.def"
#undef KP_APP
	KP_APP__COUNT
};

/* Label text of an app id ("bittorrent"); "unknown" for out-of-range ids. */
const char *kp_app_name(unsigned app);
/* App id of a label text, or -1. */
int kp_app_by_name(const char *name);
/* True for peer-to-peer labels. */
bool kp_app_is_p2p(unsigned app);

enum kp_dir {
	KP_DIR_TOSERVER = 0, /* sent by the client (the side that sent the SYN / first packet) */
	KP_DIR_TOCLIENT = 1,
};

enum kp_probe_result {
	KP_PROBE_NEED_MORE = 0,
	KP_PROBE_MATCH,
	KP_PROBE_EXCLUDE,
};

enum kp_parse_result {
	KP_PARSE_MORE = 0, /* keep sending me this flow's bytes */
	KP_PARSE_DONE,     /* I need nothing more of this flow */
};

/* Confidence levels written as app_proto_confidence. */
enum {
	KP_CONF_LOW = 30,    /* behaviour or weak pattern */
	KP_CONF_MEDIUM = 60, /* behaviour confirmed by a second clue (peer cache, both directions) */
	KP_CONF_HIGH = 90,   /* protocol structure verified */
	KP_CONF_CERTAIN = 100, /* linked by a control connection (ftp-data, DCC) */
};

struct kp_match {
	uint16_t app;       /* enum kp_app_id */
	uint8_t confidence; /* KP_CONF_* */
};

/* What a probe or parser sees. Read-only for modules except through the helpers below. */
struct kp_app_ctx {
	const struct kp_flow *flow;
	struct kp_engine *eng;  /* services: expectations, peer cache (see below) */
	uint64_t ts_us;         /* capture/arrival time of the packet that brought the bytes */
	uint8_t l4;             /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t dir;            /* enum kp_dir: who sent `data` */
	bool gap;               /* bytes were lost just before `data` in this direction */
	const uint8_t *data;    /* the new bytes: one UDP datagram, or newly in-order TCP bytes */
	size_t len;
	/* Probe phase only (NULL/0 while parsing): */
	const uint8_t *buf[2];  /* TCP: stream prefix per direction; UDP: first datagram per direction */
	size_t buf_len[2];
	uint32_t flight[2];     /* TCP: bytes a side sent before the other side answered (first flight) */
	uint32_t npkts[2];      /* payload packets per direction so far, this one included */
	uint16_t cport, sport;  /* client and server ports */
	int family;             /* AF_INET or AF_INET6 */
	const uint8_t *caddr, *saddr; /* client / server address: 4 or 16 bytes by family */
	/* Parse phase: a parser may refine the label through kp_app_refine(). */
	struct kp_match *label;
};

struct kp_app_module {
	const char *name;       /* module name, for logs and stats */
	uint8_t l4;             /* KP_L4_TCP | KP_L4_UDP */
	uint16_t port_hints[6]; /* ports that make this module be tried first; 0 ends */
	enum kp_probe_result (*probe)(const struct kp_app_ctx *ctx, struct kp_match *m);
	size_t state_size;      /* 0: no parser state */
	enum kp_parse_result (*parse)(struct kp_app_ctx *ctx, void *state); /* may be NULL */
	void (*free_state)(void *state);  /* frees what the state points to (not the state) */
	void (*json)(const void *state, const struct kp_flow *f, struct kp_json *j);
};

#define KP_L4_TCP 1
#define KP_L4_UDP 2

/*
 * Chat audit: whether `chat` events are wanted (config chat.audit), and one chat
 * message of this flow (sender, receiver, text as sent; the event escapes it).
 * command names the protocol's message kind (PRIVMSG, NOTICE, ...).
 */
bool kp_app_chat_wanted(const struct kp_app_ctx *ctx);
void kp_app_chat(const struct kp_app_ctx *ctx, const char *command, const char *from,
		 const char *to, const uint8_t *text, size_t len);

/* Parsers: replace a generic label by a more specific one (http -> bittorrent). */
void kp_app_refine(struct kp_app_ctx *ctx, unsigned app, unsigned confidence);

/*
 * Expectations: tell the engine that a connection to (addr, port) is coming and
 * belongs to this flow (FTP PASV/PORT, IRC DCC). addr is 4 or 16 bytes by
 * family; port in host order. The new flow is labelled `app` with
 * KP_CONF_CERTAIN and its event names the parent flow.
 */
void kp_expect_add(struct kp_app_ctx *ctx, int family, const uint8_t *addr, uint16_t port,
		   uint8_t l4, unsigned app);

/*
 * Peer cache: remember that addr:port spoke `app` (BitTorrent peers, also from
 * tracker answers); kp_peer_seen() asks. Entries live for peer_cache.ttl seconds.
 * Every note of addr:port also notes addr with port 0, so that asking for port 0
 * means "this host spoke `app` recently, on any port".
 */
void kp_peer_note(const struct kp_app_ctx *ctx, int family, const uint8_t *addr, uint16_t port,
		  unsigned app);
bool kp_peer_seen(const struct kp_app_ctx *ctx, int family, const uint8_t *addr, uint16_t port,
		  unsigned app);

/* The registry (generated from module_list.def). */
#define KP_MODULE(sym) extern const struct kp_app_module kp_mod_##sym;
#include "app/module_list.def"
#undef KP_MODULE

extern const struct kp_app_module *const kp_modules[];
extern const unsigned kp_module_count;

#endif
