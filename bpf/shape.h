/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared between bpf/shape.bpf.c and its loader src/kern/shaper.c: the size of the
 * mark-value -> class map and the layout of the per-CPU counters.
 */
#ifndef KP_BPF_SHAPE_H
#define KP_BPF_SHAPE_H

#define KP_SHAPE_VALUES 256                       /* mark values (8 mask bits at most) */
#define KP_SHAPE_STAT_UNCLASSIFIED KP_SHAPE_VALUES /* counter index of default-class packets */
#define KP_SHAPE_STATS (KP_SHAPE_VALUES + 1)

#endif
