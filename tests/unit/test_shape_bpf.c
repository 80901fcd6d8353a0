/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The per-application shaping classifier (bpf/shape.bpf.c), run by the kernel with
 * BPF_PROG_TEST_RUN over real frames with different packet marks: a mark carrying a
 * configured app ((app + 1) << shift under the mask) selects that app's HTB class
 * (TC_ACT_OK, minor counted per mark value); unmarked packets, marks of apps without
 * a class, the "blocked" mark (every mask bit set) and bits outside the mask leave the
 * packet to HTB's default class (TC_ACT_UNSPEC). The kernel's test run does not copy
 * skb->tc_classid back into ctx_out, so the chosen minor is read from the program's
 * per-mark counters, and the class map contents are checked against the loader's
 * layout (minor = app + 1). Needs root: skipped (exit 77) otherwise.
 */
#include <stdio.h>
#include <stdlib.h>

#ifndef HAVE_BPF
int main(void)
{
	printf("skip: built without eBPF support (libbpf, clang, bpftool)\n");
	return 77;
}
#else

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <string.h>
#include <unistd.h>

#include "app/app.h"
#include "bpf/shape.h"
#include "bpf/shape.skel.h"
#include "tap.h"

/* tests/captures/pcap/http-nginx.pcap frames 3 and 4: the SYN and SYN-ACK of the
 * HTTP flow 198.18.0.1:36596 -> 198.19.0.1:80. */
static const uint8_t syn[74] = {
	0x7e, 0x6a, 0x0f, 0x1b, 0xeb, 0x4c, 0x4a, 0x51, 0x18, 0x57, 0xa8, 0x9a,
	0x08, 0x00, 0x45, 0x00, 0x00, 0x3c, 0xf7, 0xc9, 0x40, 0x00, 0x40, 0x06,
	0xb6, 0xca, 0xc6, 0x12, 0x00, 0x01, 0xc6, 0x13, 0x00, 0x01, 0x8e, 0xf4,
	0x00, 0x50, 0x19, 0x76, 0x64, 0xc9, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02,
	0xfa, 0xf0, 0xb3, 0x6d, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02,
	0x08, 0x0a, 0x3c, 0xdd, 0xc3, 0x15, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03,
	0x03, 0x0a,
};
static const uint8_t synack[74] = {
	0x4a, 0x51, 0x18, 0x57, 0xa8, 0x9a, 0x7e, 0x6a, 0x0f, 0x1b, 0xeb, 0x4c,
	0x08, 0x00, 0x45, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x40, 0x00, 0x40, 0x06,
	0xae, 0x94, 0xc6, 0x13, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x01, 0x00, 0x50,
	0x8e, 0xf4, 0xdb, 0x10, 0x2e, 0xb4, 0x19, 0x76, 0x64, 0xca, 0xa0, 0x12,
	0xfe, 0x88, 0x03, 0x78, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02,
	0x08, 0x0a, 0xcd, 0x0f, 0xd5, 0x77, 0x3c, 0xdd, 0xc3, 0x15, 0x01, 0x03,
	0x03, 0x0a,
};

static struct kp_shape_bpf *g_skel;
static int g_prog, g_stats;

/* Loads the program with mask 0x00ff0000 and classes for HTTP and BitTorrent, the
 * way src/kern/shaper.c fills the map (key = mark value = app + 1, value = minor). */
__attribute__((constructor(200))) static void load_or_skip(void)
{
	static const unsigned apps[] = { KP_APP_HTTP, KP_APP_BITTORRENT };
	int rc, map;

	libbpf_set_print(NULL);
	g_skel = kp_shape_bpf__open();
	if (!g_skel) {
		printf("skip: cannot open the eBPF object (%s)\n", strerror(errno));
		exit(77);
	}
	g_skel->rodata->kp_shape_mask = 0x00ff0000;
	g_skel->rodata->kp_shape_shift = 16;
	rc = kp_shape_bpf__load(g_skel);
	if (rc) {
		printf("skip: cannot load the eBPF program (%s)%s\n", strerror(-rc),
		       geteuid() ? "; run as root" : "");
		exit(77);
	}
	map = bpf_map__fd(g_skel->maps.kp_shape_classes);
	for (unsigned i = 0; i < sizeof(apps) / sizeof(apps[0]); i++) {
		uint32_t v = apps[i] + 1, minor = v;

		if (bpf_map_update_elem(map, &v, &minor, BPF_ANY)) {
			printf("Bail out! map update: %s\n", strerror(errno));
			exit(1);
		}
	}
	g_prog = bpf_program__fd(g_skel->progs.kp_shape);
	g_stats = bpf_map__fd(g_skel->maps.kp_shape_stats);
}

__attribute__((destructor)) static void unload(void)
{
	kp_shape_bpf__destroy(g_skel);
}

static uint64_t stat_sum(uint32_t idx)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t vals[512] = { 0 }, sum = 0;

	if (ncpu <= 0 || ncpu > 512 || bpf_map_lookup_elem(g_stats, &idx, vals))
		return UINT64_MAX;
	for (int i = 0; i < ncpu; i++)
		sum += vals[i];
	return sum;
}

struct run {
	int err;
	int ret;
	uint32_t mark_out;
};

static struct run run(const uint8_t *frame, size_t len, uint32_t mark)
{
	struct __sk_buff in = { .mark = mark }, out = { 0 };
	uint8_t data_out[256];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (uint32_t)len,
		    .data_out = data_out, .data_size_out = sizeof(data_out), .ctx_in = &in,
		    .ctx_size_in = sizeof(in), .ctx_out = &out, .ctx_size_out = sizeof(out),
		    .repeat = 1);
	struct run r = { 0 };

	r.err = bpf_prog_test_run_opts(g_prog, &o) ? -errno : 0;
	r.ret = (int)o.retval;
	r.mark_out = out.mark;
	return r;
}

/* Runs the frame with mark; returns the minor the program chose (0 = default class),
 * read from the per-mark-value counter that rose, or -1 on an inconsistency. */
static int classify(const uint8_t *frame, size_t len, uint32_t mark)
{
	uint32_t v = (mark & 0x00ff0000) >> 16;
	uint64_t before_v = stat_sum(v), before_u = stat_sum(KP_SHAPE_STAT_UNCLASSIFIED);
	struct run r = run(frame, len, mark);
	uint64_t after_v = stat_sum(v), after_u = stat_sum(KP_SHAPE_STAT_UNCLASSIFIED);

	if (r.err || r.mark_out != mark)
		return -1;
	if (r.ret == TC_ACT_OK && after_v == before_v + 1 && after_u == before_u)
		return (int)v; /* minor = mark value by the loader's layout */
	if (r.ret == TC_ACT_UNSPEC && after_u == before_u + 1 &&
	    (v == 0 || after_v == before_v))
		return 0;
	return -1;
}

#define MARK(app) (((uint32_t)(app) + 1) << 16)

KP_TEST(configured_apps_get_their_class)
{
	CHECK_EQ(classify(syn, sizeof(syn), MARK(KP_APP_HTTP)), KP_APP_HTTP + 1);
	CHECK_EQ(classify(synack, sizeof(synack), MARK(KP_APP_HTTP)), KP_APP_HTTP + 1);
	CHECK_EQ(classify(syn, sizeof(syn), MARK(KP_APP_BITTORRENT)), KP_APP_BITTORRENT + 1);
	/* bits outside the mask (other users of the mark) do not matter */
	CHECK_EQ(classify(syn, sizeof(syn), MARK(KP_APP_HTTP) | 0xff00000f), KP_APP_HTTP + 1);
}

KP_TEST(unmarked_and_unconfigured_fall_to_default)
{
	CHECK_EQ(classify(syn, sizeof(syn), 0), 0);
	CHECK_EQ(classify(syn, sizeof(syn), 0x0000beef), 0);        /* outside the mask only */
	CHECK_EQ(classify(syn, sizeof(syn), MARK(KP_APP_SSH)), 0);  /* decided, no class */
	CHECK_EQ(classify(syn, sizeof(syn), MARK(KP_APP_UNKNOWN)), 0);
	CHECK_EQ(classify(synack, sizeof(synack), 0x00ff0000), 0);  /* "blocked" */
}

KP_TEST(class_map_follows_the_loader_layout)
{
	int map = bpf_map__fd(g_skel->maps.kp_shape_classes);
	uint32_t v = KP_APP_HTTP + 1, minor = 0, blocked = 0xff, bm = 1;

	CHECK_EQ(bpf_map_lookup_elem(map, &v, &minor), 0);
	CHECK_EQ(minor, KP_APP_HTTP + 1);
	CHECK_EQ(bpf_map_lookup_elem(map, &blocked, &bm), 0);
	CHECK_EQ(bm, 0);
}

/* With class bits configured, an inspected packet's class comes from them; bypass bits win. */
KP_TEST(class_bits_of_inspected_packets)
{
	struct kp_shape_bpf *sk = kp_shape_bpf__open();
	uint32_t v = KP_APP_HTTP + 1, minor = v, rule_v = 128, rule_minor = 128;
	struct __sk_buff in = { 0 }, out = { 0 };
	uint8_t data_out[256];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = syn, .data_size_in = sizeof(syn),
		    .data_out = data_out, .data_size_out = sizeof(data_out), .ctx_in = &in,
		    .ctx_size_in = sizeof(in), .ctx_out = &out, .ctx_size_out = sizeof(out),
		    .repeat = 1);
	int prog;

	CHECK(sk != NULL);
	sk->rodata->kp_shape_mask = 0x00ff0000;
	sk->rodata->kp_shape_shift = 16;
	sk->rodata->kp_shape_cmask = 0x0000ff00;
	sk->rodata->kp_shape_cshift = 8;
	CHECK_EQ(kp_shape_bpf__load(sk), 0);
	CHECK_EQ(bpf_map_update_elem(bpf_map__fd(sk->maps.kp_shape_classes), &v, &minor, BPF_ANY), 0);
	CHECK_EQ(bpf_map_update_elem(bpf_map__fd(sk->maps.kp_shape_classes), &rule_v, &rule_minor,
				     BPF_ANY), 0);
	prog = bpf_program__fd(sk->progs.kp_shape);
	/* which class: the per-mark-value counters of this program (tc_classid is not copied out) */
#define STAT(idx) ({ uint32_t k_ = (idx); uint64_t vals_[512] = {0}, sum_ = 0;               \
	bpf_map_lookup_elem(bpf_map__fd(sk->maps.kp_shape_stats), &k_, vals_);              \
	for (int c_ = 0; c_ < libbpf_num_possible_cpus() && c_ < 512; c_++) sum_ += vals_[c_]; \
	sum_; })
	/* class bits only: the HTTP class */
	in.mark = (KP_APP_HTTP + 1) << 8;
	CHECK_EQ(bpf_prog_test_run_opts(prog, &o), 0);
	CHECK_EQ((int)o.retval, TC_ACT_OK);
	CHECK_EQ(STAT(KP_APP_HTTP + 1), 1);
	/* a rule's class (mark value 128) in the class bits */
	in.mark = 128u << 8;
	CHECK_EQ(bpf_prog_test_run_opts(prog, &o), 0);
	CHECK_EQ((int)o.retval, TC_ACT_OK);
	CHECK_EQ(STAT(128), 1);
	/* the bypass bits win over the class bits */
	in.mark = (128u << 8) | ((KP_APP_HTTP + 1u) << 16);
	CHECK_EQ(bpf_prog_test_run_opts(prog, &o), 0);
	CHECK_EQ(STAT(KP_APP_HTTP + 1), 2);
	CHECK_EQ(STAT(128), 1);
	/* no class in either: the default class */
	in.mark = 0x00000500;
	CHECK_EQ(bpf_prog_test_run_opts(prog, &o), 0);
	CHECK_EQ((int)o.retval, TC_ACT_UNSPEC);
	CHECK_EQ(STAT(KP_SHAPE_STAT_UNCLASSIFIED), 1);
#undef STAT
	kp_shape_bpf__destroy(sk);
}

KP_TEST_MAIN()
#endif
