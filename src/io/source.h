/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Packet sources behind one small ops struct: a capture file today, an
 * NFQUEUE tomorrow. The pipeline never knows which one feeds it; a source
 * hands out packets and takes verdicts back.
 */
#ifndef KP_IO_SOURCE_H
#define KP_IO_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

struct kp_source;

struct kp_source_ops {
	const char *name;
	/* 1: *p filled (valid until the next call); 0: end of input; -1: error (see error()). */
	int (*next)(struct kp_source *s, struct kp_packet *p);
	/* Applies (inline) or records (offline) the verdict of the packet just returned. */
	int (*verdict)(struct kp_source *s, const struct kp_packet *p, const struct kp_verdict *v);
	/* A one-line description of the last error, naming the input and the position. */
	const char *(*error)(struct kp_source *s);
	/* Bytes consumed so far and total (for progress); total 0 when unknown. */
	void (*progress)(struct kp_source *s, uint64_t *done, uint64_t *total);
	void (*close)(struct kp_source *s);
};

struct kp_source {
	const struct kp_source_ops *ops;
	void *priv;
};

/* Opens a capture file (pcap or pcapng, judged by content). Returns 0 or -1 with err set. */
int kp_source_pcap_open(struct kp_source *s, const char *path, char *err, size_t errlen);

#endif
