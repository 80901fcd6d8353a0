/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The core side of content management, per pipeline: the file records behind
 * the content.h handles, the files announced by control connections for their
 * data connections, the packets held for a scan verdict, and the counters.
 * Engine-internal: modules see only content.h.
 *
 * Life of a file: opened by a module (or by the core for a linked data
 * connection), fed in order (sha256 always, a copy for the scanner when
 * scanning and within scan.max_size and file.memcap), closed by the module or
 * by the end of its flow. A file that needs no scan gets its event at close;
 * a scanned one when the verdict comes back (the scanner owns its bytes
 * meanwhile, the record rides along as the job's user pointer).
 */
#ifndef KP_CONTENT_FILE_H
#define KP_CONTENT_FILE_H

#include <stdbool.h>
#include <stdint.h>

#include "content/content.h"
#include "content/sha256.h"
#include "flow/flow.h"
#include "scan/scan.h"

struct kp_engine;
struct kp_blocklist;

#define KP_FILE_ATTRS 6
#define KP_FILE_RULE_NAME 64

enum kp_file_verdict {
	KP_FV_PASS = 0,
	KP_FV_AUDIT,
	KP_FV_BLOCK,
	KP_FV_VIRUS,
};

struct kp_file {
	struct kp_file *next;        /* the flow's open files */
	struct kp_flow ident;        /* the flow's key, ids and label, for events (no pointers used) */
	uint64_t id;
	uint64_t ts_open, ts_close;
	uint16_t app;
	uint8_t dir;                 /* sender of the body (enum kp_dir) */
	int8_t event_dir;            /* direction the event names (-1: dir); a data connection's
				      * file is named from its control connection's client */
	bool listed;                 /* named only (torrent file list, offer, search result) */
	bool piece;                  /* a run of P2P pieces (scanned, no event unless infected) */
	uint64_t piece_index;
	const char *listed_as;       /* static string */
	char *name;
	uint32_t name_len;
	uint64_t size_ann, offset, seen, lost;
	struct kp_sha256 sha;
	uint8_t sha256[32];
	bool have_sha256;
	enum kp_hash_kind hkind;
	uint8_t hash[24], hlen;
	const char *attr_key[KP_FILE_ATTRS]; /* static strings from the module */
	char *attr_val[KP_FILE_ATTRS];
	uint32_t attr_len[KP_FILE_ATTRS];
	char rule[KP_FILE_RULE_NAME]; /* the rule that decided, "" = none */
	uint8_t verdict;             /* enum kp_file_verdict */
	bool audit;                  /* an event is wanted */
	bool complete;               /* closed as complete */
	bool closed;
	/* scanning */
	bool scan;                   /* contents are copied for the scanner */
	const char *scan_note;       /* why not scanned: "too_large", "memcap", "no_memory", ... */
	uint8_t *buf;
	size_t blen, bcap;
	int scan_result;             /* enum kp_scan_result, -1 = not scanned */
	bool scan_cached;
	char virus[128];
	uint64_t hold_id;            /* nonzero: a packet is held for this file's verdict */
};

/* A packet held until a scan says whether the tail of a file may pass. */
struct kp_hold {
	struct kp_hold *next;
	uint64_t id;
	struct kp_flow_key key;
	uint64_t flow_id;
	int dir;                     /* the held packet's direction (the file's sender) */
	uint32_t seq, ack;           /* of the held packet, for resets */
	uint64_t since_us;           /* monotonic-ish: the pipeline's clock */
	uint64_t since_tick;         /* kp_timing_now() at the hold (scan wait, engine/timing.h) */
	bool released;
};

struct kp_content_stats {
	uint64_t files, listed, searches, bytes;
	uint64_t files_blocked, hashes_blocked, chats_blocked, chat_alerts;
	uint64_t scans_submitted, scans_done, scans_cached, infected, scan_errors;
	uint64_t scan_rejected;      /* the scanner's queue was full */
	uint64_t unscanned_large, unscanned_memcap;
	uint64_t pieces, piece_bytes;
	uint64_t held, released, hold_dropped, hold_timeouts, held_retrans;
};

struct kp_announce {
	uint64_t parent_id;
	int family;
	uint8_t parent_client[16];   /* the control connection's client address */
	char name[256];
	uint32_t name_len;
	uint64_t size;
	uint64_t ts_us;
	bool used;
};

#define KP_ANNOUNCE_MAX 64

/* A buffer of P2P pieces of one flow direction on their way to the scanner. */
struct kp_piece_buf {
	uint8_t *buf;
	size_t len, cap;
	uint64_t index, offset;
	enum kp_hash_kind kind;
	uint8_t hash[24], hlen;
};

struct kp_content_pipe {
	struct kp_scanner *scanner;  /* shared; NULL = no scanning */
	struct kp_scan_doneq doneq;  /* this pipeline's finished scans */
	bool doneq_ok;
	struct kp_blocklist *blocklist; /* shared, thread-safe: hashes blocked at run time */
	uint64_t next_id;
	uint64_t buffered;           /* bytes copied for the scanner, not yet handed over */
	struct kp_hold *holds;
	unsigned outstanding;        /* jobs submitted and not taken back */
	uint64_t hold_now;           /* the packet in hand is held under this id (0 = no) */
	void (*release)(void *arg, uint64_t hold_id, bool accept);
	void *release_arg;
	struct kp_announce ann[KP_ANNOUNCE_MAX];
	unsigned ann_next;
	struct kp_content_stats st;
};

/* Per-flow content state hangs off the flow (flow.h: content). */
struct kp_flow_content {
	struct kp_file *files;       /* open files */
	struct kp_piece_buf piece[2];
	bool sink;                   /* a linked data connection: its bytes are the announced file */
	bool sink_looked;            /* the announcement was looked up */
	int8_t sink_dir;             /* the file's direction, -1 = not yet */
	struct kp_file *sink_file;
	uint8_t held;                /* bit per direction: a packet of it is held for a scan */
};

/* Pipeline setup/teardown (engine.c). */
int kp_content_pipe_init(struct kp_engine *e);
void kp_content_pipe_fini(struct kp_engine *e);

/* Whether the policy needs the content of flows labelled app. */
bool kp_content_wanted_app(const struct kp_engine *e, unsigned app);

/* A flow was labelled by an expectation (ftp-data, DCC): it becomes a file sink if wanted. */
void kp_content_flow_linked(struct kp_engine *e, struct kp_flow *f);
/* In-order bytes of a sink flow. */
void kp_content_sink_data(struct kp_engine *e, struct kp_flow *f, int dir, const uint8_t *data,
			  uint32_t len, bool gap, uint64_t ts_us);
/* The flow ends: open files are closed (complete or truncated), pieces go to the scanner. */
void kp_content_flow_end(struct kp_engine *e, struct kp_flow *f);
/* Frees what the flow's content state owns (after kp_content_flow_end). */
void kp_content_flow_free(struct kp_engine *e, struct kp_flow *f);
/* Whether a flow still needs its payload for content (open files, sink). */
bool kp_content_busy(const struct kp_flow *f);

/* Scan results and hold timeouts: takes finished jobs and acts on them. */
void kp_content_poll(struct kp_engine *e);
/* Waits (bounded by timeout_ms) until every submitted scan of this pipeline came back. */
void kp_content_drain(struct kp_engine *e, int timeout_ms);
/* Hold timeouts against the pipeline clock. */
void kp_content_tick(struct kp_engine *e);

/* Hands fi's bytes to the scanner, holding the packet in hand if asked (scanq.c); false if not submitted. */
bool kp_content_scan_file(struct kp_engine *e, struct kp_flow *f, struct kp_file *fi, bool hold);
/* Hands a run of pieces to the scanner (file.c). */
void kp_content_scan_piece(struct kp_engine *e, struct kp_flow *f, struct kp_piece_buf *pb);
/* Writes fi's file event if it is wanted (audit, block, virus). */
void kp_content_file_event(struct kp_engine *e, struct kp_file *fi);
/* Blocks a flow for a virus found in its content (scanq.c). */

/* Frees a file record (not linked anywhere any more). */
void kp_file_free(struct kp_file *fi);

#endif
