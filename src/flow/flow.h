/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Flows: one record per bidirectional TCP or UDP conversation.
 *
 * The struct opens with its immutable key, then table links, then mutable
 * state owned by the pipeline thread that owns the table, then the
 * classification state, then pointers to what a flow owns (reassembly
 * segments, probe buffers, the app module's state): freeing the flow frees
 * everything it points to. No field is shared between threads.
 *
 * Direction 0 is "to server": sent by the client, the side that sent the SYN
 * (or the first packet seen, when no SYN was seen).
 */
#ifndef KP_FLOW_FLOW_H
#define KP_FLOW_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "flow/flow_key.h"
#include "stream/reasm.h"

struct kp_app_module;
struct kp_probe_bufs;
struct kp_flow_content;
struct kp_ooo_ent;

enum kp_tcp_state {
	KP_TCP_NONE = 0,  /* UDP, or TCP without a handshake seen */
	KP_TCP_SYN_SENT,
	KP_TCP_SYN_RECV,
	KP_TCP_ESTABLISHED,
	KP_TCP_CLOSING,   /* a FIN seen */
	KP_TCP_CLOSED,    /* FIN both ways or RST */
};

/* Which idle-timeout list a flow sits on (each list is ordered by last activity). */
enum kp_flow_tclass {
	KP_TC_TCP_NEW = 0,
	KP_TC_TCP_EST,
	KP_TC_CLOSED,
	KP_TC_UDP_NEW,    /* UDP, one direction seen */
	KP_TC_UDP_EST,    /* UDP, both directions seen */
	KP_TC_BYPASSED,   /* decided and left to the kernel: its end comes from conntrack */
	KP_TC__COUNT,
};

/* The policy's answer for a flow (engine/manage.c). */
enum kp_flow_pol {
	KP_POL_UNDECIDED = 0,
	KP_POL_PASSED,
	KP_POL_BLOCKED,
	KP_POL_CACHED,    /* dropped by the connection cache (a blocked tuple's reconnection) */
};

enum kp_cls_state {
	KP_CLS_PENDING = 0, /* still offering payload to modules */
	KP_CLS_DONE,        /* labelled (by a module, an expectation or a signature) */
	KP_CLS_GAVE_UP,     /* no module matched within the packet budget: unknown */
};

struct kp_flow {
	/* Immutable after creation. */
	struct kp_flow_key key;   /* normalised: side 0 is the lower (addr, port) */
	uint8_t client_side;      /* which key side is the client (0 or 1) */
	uint64_t id;              /* stable id: hash of key and first timestamp */

	/* Table links (flow_table.c only). */
	struct kp_flow *hnext;
	struct kp_flow *lprev, *lnext;
	uint8_t tclass;           /* enum kp_flow_tclass */
	uint32_t hash;

	/* Counters and TCP state (pipeline thread). */
	uint64_t start_us, last_us;
	uint64_t pkts[2], bytes[2]; /* by direction; bytes = IP length */
	uint8_t tcp_state;        /* enum kp_tcp_state */
	uint8_t fin_seen;         /* bit per direction */
	bool rst_seen;
	bool syn_seen;
	bool ended;               /* leaving the table: its last bytes are being flushed */
	uint32_t csum_bad;        /* packets of this flow with bad checksums */
	bool had_gap;             /* reassembly skipped a hole in some direction */

	/* Classification (classify.c). */
	uint8_t cls_state;        /* enum kp_cls_state */
	uint8_t confidence;
	uint16_t app;             /* enum kp_app_id */
	uint16_t cls_pkts;        /* payload packets offered to modules so far */
	uint64_t excluded;        /* bit per module index that said "not me" */
	const struct kp_app_module *mod; /* module that matched; its parser gets later bytes */
	void *mod_state;          /* owned: module state (mod->state_size bytes) while it parses */
	char *meta;               /* owned: the module's event members, once it parsed all it needs */
	bool parse_done;          /* module needs no more bytes */
	bool inspect_done;        /* nothing above needs this flow's payload: bypass candidate */
	/* Policy (engine/manage.c). */
	uint8_t pol;              /* enum kp_flow_pol */
	bool bypassed;            /* a verdict carried the bypass mark: the kernel skips the queue */
	bool ct_counted;          /* counters were replaced by conntrack's totals at its end */
	uint8_t shape_value;      /* mark value of a rule's bandwidth class (0: the app's) */
	int16_t sig;              /* user signature index that labelled it, -1 none */
	uint64_t parent_id;       /* control flow (ftp-data, DCC), 0 none */
	struct kp_probe_bufs *pb; /* owned: probe buffers, freed when classification ends */
	struct kp_flow_content *content; /* owned: open files, pieces (content/file.h); NULL none */

	/* TCP reassembly, per direction (stream/). */
	struct kp_stream_dir sd[2];

	/* Out-of-order tracking of what was forwarded, per direction (engine/ooo.c). */
	uint32_t ooo_next[2];     /* in-order edge: the receiver's next expected seq, as far as known */
	uint8_t ooo_init;         /* bit per direction: ooo_next is valid */
	uint8_t ooo_seen_data;    /* bit per direction: data was seen */
	uint16_t ooo_n[2];        /* entries in ooo[d] */
	struct kp_ooo_ent *ooo[2]; /* owned: ranges beyond the edge (passed or held), by seq */
};

#endif
