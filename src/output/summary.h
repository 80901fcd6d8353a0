/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The end-of-run summary: packets, flows and bytes per application, decode
 * and checksum counters, reassembly and flow-table counters, processing time
 * and rate. Human-readable text for the terminal.
 */
#ifndef KP_OUTPUT_SUMMARY_H
#define KP_OUTPUT_SUMMARY_H

#include <stdio.h>

struct kp_engine;

void kp_summary_print(FILE *out, const struct kp_engine *e, double wall_s, const char *events);

#endif
