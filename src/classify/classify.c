/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Probe dispatch, signatures for leftovers, and parser feeding (see classify.h). */
#include "classify/classify.h"
#include "content/file.h"
#include "engine/manage.h"
#include "policy/content_rules.h"
#include "policy/policy.h"
#include "output/eve.h"
#include "classify/sig.h"
#include "engine/engine.h"
#include "flow/flow.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t *addr_of(const struct kp_flow *f, int client)
{
	return f->key.addr[client ? f->client_side : !f->client_side];
}

static uint16_t port_of(const struct kp_flow *f, int client)
{
	return f->key.port[client ? f->client_side : !f->client_side];
}

void kp_app_ctx_init(struct kp_app_ctx *ctx, struct kp_engine *eng, const struct kp_flow *f,
		     int dir, const uint8_t *data, size_t len, bool gap, uint64_t ts_us,
		     const struct kp_probe_bufs *pb)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->flow = f;
	ctx->eng = eng;
	ctx->ts_us = ts_us;
	ctx->l4 = f->key.l4;
	ctx->dir = (uint8_t)dir;
	ctx->gap = gap;
	ctx->data = data;
	ctx->len = len;
	ctx->cport = port_of(f, 1);
	ctx->sport = port_of(f, 0);
	ctx->family = f->key.family;
	ctx->caddr = addr_of(f, 1);
	ctx->saddr = addr_of(f, 0);
	if (!pb)
		return;
	for (int d = 0; d < 2; d++) {
		ctx->buf[d] = pb->buf[d];
		ctx->buf_len[d] = pb->len[d];
		ctx->flight[d] = pb->flight[d];
		ctx->npkts[d] = pb->npkts[d];
	}
}

static size_t pb_size(const struct kp_probe_bufs *pb)
{
	return sizeof(*pb) + 2 * (size_t)pb->cap + pb->l7_cap;
}

/* What a flow owns counts against the flow memcap (flow/flow_table.h). */
static void pb_release(struct kp_engine *eng, struct kp_flow *f)
{
	if (!f->pb)
		return;
	kp_flow_table_mem(&eng->ft, -(int64_t)pb_size(f->pb));
	free(f->pb);
	f->pb = NULL;
}

static void state_release(struct kp_engine *eng, struct kp_flow *f)
{
	if (!f->mod_state)
		return;
	if (f->mod->free_state)
		f->mod->free_state(f->mod_state);
	free(f->mod_state);
	f->mod_state = NULL;
	kp_flow_table_mem(&eng->ft, -(int64_t)f->mod->state_size);
}

void kp_classify_flow_free(struct kp_engine *eng, struct kp_flow *f)
{
	state_release(eng, f);
	if (f->meta) {
		kp_flow_table_mem(&eng->ft, -(int64_t)(strlen(f->meta) + 1));
		free(f->meta);
		f->meta = NULL;
	}
	pb_release(eng, f);
}

static void update_inspect_done(struct kp_flow *f)
{
	f->inspect_done = f->cls_state != KP_CLS_PENDING &&
			  (!f->mod || !f->mod->parse || f->parse_done) && !kp_content_busy(f);
}

void kp_classify_flow_new(struct kp_engine *eng, struct kp_flow *f, uint64_t ts_us)
{
	struct kp_classifier *c = &eng->cls;
	const struct kp_expect *e;

	e = kp_expect_table_take(&c->expect, f->key.family, addr_of(f, 0), port_of(f, 0),
				 f->key.l4, ts_us);
	if (!e)
		return;
	f->app = e->app;
	f->confidence = KP_CONF_CERTAIN;
	f->parent_id = e->parent_id;
	f->cls_state = KP_CLS_DONE;
	c->st.by_expectation++;
	c->st.matched[f->app]++;
	kp_content_flow_linked(eng, f);
	update_inspect_done(f);
}

struct kp_probe_bufs *kp_probe_bufs_new(uint32_t cap, uint32_t l7_cap)
{
	struct kp_probe_bufs *pb = calloc(1, sizeof(*pb) + 2 * (size_t)cap + l7_cap);

	if (!pb)
		return NULL;
	pb->cap = cap;
	pb->l7_cap = l7_cap;
	pb->buf[0] = pb->mem;
	pb->buf[1] = pb->mem + cap;
	pb->l7 = pb->mem + 2 * (size_t)cap;
	return pb;
}

void kp_probe_bufs_append(struct kp_probe_bufs *pb, uint8_t l4, int dir, const uint8_t *data,
			  uint32_t len)
{
	uint32_t room = pb->cap - pb->len[dir], n = len < room ? len : room;

	if (l4 == IPPROTO_UDP) {
		/* UDP: keep the first datagram of each direction */
		if (pb->len[dir] == 0) {
			n = len < pb->cap ? len : pb->cap;
			memcpy(pb->buf[dir], data, n);
			pb->len[dir] = n;
		}
	} else {
		memcpy(pb->buf[dir] + pb->len[dir], data, n);
		pb->len[dir] += n;
	}
	/* first flights: the other side's flight is frozen once this side speaks */
	if (!pb->flight_done[dir])
		pb->flight[dir] += len;
	if (pb->flight[!dir])
		pb->flight_done[!dir] = 1;
	/* l7 buffer: arrival order, NULs removed */
	for (uint32_t i = 0; i < len && pb->l7_len < pb->l7_cap; i++)
		if (data[i])
			pb->l7[pb->l7_len++] = data[i];
}

/*
 * Room under the flow memcap for memory flow f is about to own. A flow that is
 * itself ending (its held bytes being flushed) never evicts others: it is
 * being removed from inside another flow's packet, which must survive.
 */
static bool cls_reserve(struct kp_engine *eng, struct kp_flow *f, size_t bytes)
{
	if (f->ended)
		return eng->ft.st.mem_used + bytes <= eng->ft.memcap;
	return kp_flow_table_reserve(&eng->ft, bytes, f);
}

static struct kp_probe_bufs *pb_get(struct kp_engine *eng, struct kp_flow *f)
{
	struct kp_classifier *c = &eng->cls;
	size_t need = sizeof(*f->pb) + 2 * (size_t)c->buf_cap + c->l7_cap;

	if (f->pb)
		return f->pb;
	if (!cls_reserve(eng, f, need))
		return NULL;
	f->pb = kp_probe_bufs_new(c->buf_cap, c->l7_cap);
	if (f->pb)
		kp_flow_table_mem(&eng->ft, (int64_t)need);
	return f->pb;
}

static void set_label(struct kp_flow *f, unsigned app, unsigned conf)
{
	f->app = (uint16_t)app;
	f->confidence = (uint8_t)conf;
}

/*
 * Once a module needs no more bytes, what it learned is rendered into its
 * event members right away and its parser state is freed: a flow that is only
 * waiting for its end then costs the flow record plus these few bytes.
 */
static void freeze_meta(struct kp_engine *eng, struct kp_flow *f)
{
	struct kp_json *j = &eng->json;

	if (!f->mod_state)
		return;
	if (f->mod->json && eng->out) { /* nobody reads events: render nothing */
		kp_json_begin(j);
		f->mod->json(f->mod_state, f, j);
		kp_json_end(j);
		/* keep the members without the enclosing braces */
		if (!j->oom && j->len > 2)
			f->meta = strndup(j->buf + 1, j->len - 2);
		if (f->meta)
			kp_flow_table_mem(&eng->ft, (int64_t)(j->len - 1));
	}
	state_release(eng, f);
}

static void run_parser(struct kp_engine *eng, struct kp_flow *f, int dir, const uint8_t *data,
		       uint32_t len, bool gap, uint64_t ts_us)
{
	struct kp_app_ctx ctx;
	struct kp_match m = {f->app, f->confidence};

	if (!f->mod || !f->mod->parse || f->parse_done || !len)
		return;
	KP_TIMING_ENTER(&eng->tm, KP_TS_APP, ts);

	kp_app_ctx_init(&ctx, eng, f, dir, data, len, gap, ts_us, NULL);
	ctx.label = &m;
	eng->cls.st.parse_calls++;
	if (f->mod->parse(&ctx, f->mod_state) == KP_PARSE_DONE)
		f->parse_done = true;
	if (m.app != f->app || m.confidence != f->confidence)
		set_label(f, m.app, m.confidence);
	if (f->parse_done)
		freeze_meta(eng, f);
	KP_TIMING_LEAVE(&eng->tm, ts);
}

static void matched(struct kp_engine *eng, struct kp_flow *f, const struct kp_app_module *mod,
		    const struct kp_match *m, uint64_t ts_us)
{
	struct kp_probe_bufs *pb = f->pb;

	set_label(f, m->app, m->confidence ? m->confidence : KP_CONF_HIGH);
	f->mod = mod;
	/* content management reads whole streams: no depth limit for this flow */
	if (kp_content_wanted_app(eng, f->app) ||
	    (eng->out && eng->cfg->chat_audit) ||
	    kp_content_chat_for(kp_policy_content(eng->policy), f->app))
		f->sd[0].no_depth = f->sd[1].no_depth = true;
	f->cls_state = KP_CLS_DONE;
	eng->cls.st.matched[f->app < KP_APP__COUNT ? f->app : 0]++;
	if (mod->state_size) {
		if (cls_reserve(eng, f, mod->state_size))
			f->mod_state = calloc(1, mod->state_size);
		if (f->mod_state)
			kp_flow_table_mem(&eng->ft, (int64_t)mod->state_size);
		else
			f->parse_done = true; /* no memory for the parser: the label stands */
	}
	if (mod->parse && f->mod_state && pb) {
		/* catch the parser up: everything seen so far, client side first */
		for (int d = 0; d < 2 && !f->parse_done; d++)
			run_parser(eng, f, d, pb->buf[d], pb->len[d], false, ts_us);
	} else if (!mod->parse) {
		f->parse_done = true;
		freeze_meta(eng, f);
	}
	pb_release(eng, f);
}

/*
 * The flow's signature candidate: l7-filter tests its patterns after every
 * packet (a pattern anchored at the end, like chikka's, matches one packet but
 * not the next), so the first match of the growing buffer is remembered in
 * f->sig while the modules still have their say.
 */
static void sig_try(struct kp_classifier *c, struct kp_flow *f, const struct kp_probe_bufs *pb)
{
	if (c->sigs && f->sig < 0 && pb && pb->l7_len)
		f->sig = (int16_t)kp_sigset_match(c->sigs, c->scratch, pb->l7, pb->l7_len);
}

/* No module matched: the signature candidate, if any, labels the flow; else unknown. */
static void give_up(struct kp_engine *eng, struct kp_flow *f)
{
	struct kp_classifier *c = &eng->cls;

	sig_try(c, f, f->pb);
	if (f->sig >= 0) {
		set_label(f, KP_APP_SIGNATURE, KP_CONF_LOW);
		f->cls_state = KP_CLS_DONE;
		c->st.by_signature++;
	} else {
		f->cls_state = KP_CLS_GAVE_UP;
		set_label(f, KP_APP_UNKNOWN, 0);
		c->st.gave_up++;
	}
	pb_release(eng, f);
}

static bool hinted(const struct kp_app_module *m, uint16_t a, uint16_t b)
{
	for (unsigned i = 0; i < sizeof(m->port_hints) / sizeof(m->port_hints[0]); i++) {
		if (!m->port_hints[i])
			break;
		if (m->port_hints[i] == a || m->port_hints[i] == b)
			return true;
	}
	return false;
}

/* Offers the flow to one module; returns true when classification ended. */
static bool offer(struct kp_engine *eng, struct kp_flow *f, unsigned i, struct kp_app_ctx *ctx,
		  uint64_t ts_us)
{
	const struct kp_app_module *mod = kp_modules[i];
	struct kp_match m = {0, 0};
	enum kp_probe_result r;
	uint8_t l4bit = f->key.l4 == IPPROTO_TCP ? KP_L4_TCP : KP_L4_UDP;

	if (f->excluded & (1ULL << i))
		return false;
	if (!(mod->l4 & l4bit)) {
		f->excluded |= 1ULL << i;
		return false;
	}
	eng->cls.st.probes++;
	r = mod->probe(ctx, &m);
	if (r == KP_PROBE_EXCLUDE) {
		f->excluded |= 1ULL << i;
		return false;
	}
	if (r == KP_PROBE_MATCH) {
		matched(eng, f, mod, &m, ts_us);
		return true;
	}
	return false;
}

void kp_classify_data(struct kp_engine *eng, struct kp_flow *f, int dir, const uint8_t *data,
		      uint32_t len, bool gap, bool new_pkt, uint64_t ts_us)
{
	struct kp_classifier *c = &eng->cls;
	struct kp_probe_bufs *pb;
	struct kp_app_ctx ctx;
	uint64_t all = kp_module_count >= 64 ? ~0ULL : (1ULL << kp_module_count) - 1;
	bool done = false;

	if (f->cls_state != KP_CLS_PENDING) {
		if (f->content && f->content->sink) {
			KP_TIMING_ENTER(&eng->tm, KP_TS_APP, ts);

			kp_content_sink_data(eng, f, dir, data, len, gap, ts_us);
			KP_TIMING_LEAVE(&eng->tm, ts);
		}
		run_parser(eng, f, dir, data, len, gap, ts_us);
		update_inspect_done(f);
		return;
	}
	pb = pb_get(eng, f);
	if (!pb) {
		give_up(eng, f);
		update_inspect_done(f);
		return;
	}
	if (new_pkt) {
		pb->npkts[dir]++;
		f->cls_pkts++;
	}
	kp_probe_bufs_append(pb, f->key.l4, dir, data, len);
	kp_app_ctx_init(&ctx, eng, f, dir, data, len, gap, ts_us, pb);
	/* port-hinted modules first, then the registry order */
	for (unsigned i = 0; i < kp_module_count && !done; i++)
		if (hinted(kp_modules[i], ctx.cport, ctx.sport))
			done = offer(eng, f, i, &ctx, ts_us);
	for (unsigned i = 0; i < kp_module_count && !done; i++)
		done = offer(eng, f, i, &ctx, ts_us);
	if (!done) {
		bool all_out = (f->excluded & all) == all;

		if (new_pkt)
			sig_try(c, f, pb);
		/* every module said no: a signature decides now, or nothing will */
		if ((all_out && (!c->sigs || f->sig >= 0)) || f->cls_pkts >= c->max_pkts)
			give_up(eng, f);
	}
	update_inspect_done(f);
}

void kp_classify_flow_end(struct kp_engine *eng, struct kp_flow *f)
{
	if (f->cls_state == KP_CLS_PENDING && f->pb)
		give_up(eng, f);
	else if (f->cls_state == KP_CLS_PENDING)
		f->cls_state = KP_CLS_GAVE_UP;
	pb_release(eng, f);
}

/* Services for modules (declared in app/app.h). */

void kp_app_refine(struct kp_app_ctx *ctx, unsigned app, unsigned confidence)
{
	if (!ctx->label || app >= KP_APP__COUNT)
		return;
	ctx->label->app = (uint16_t)app;
	ctx->label->confidence = (uint8_t)confidence;
}

bool kp_app_chat_wanted(const struct kp_app_ctx *ctx)
{
	const struct kp_flow *f = ctx->flow;

	if (!ctx->eng || !f || f->pol == KP_POL_BLOCKED || f->pol == KP_POL_CACHED)
		return false;
	if (ctx->eng->out && ctx->eng->cfg->chat_audit)
		return true;
	return kp_content_chat_for(kp_policy_content(ctx->eng->policy), f->app);
}

void kp_app_chat(const struct kp_app_ctx *ctx, const char *command, const char *from,
		 const char *to, const uint8_t *text, size_t len)
{
	struct kp_engine *e = ctx->eng;
	const struct kp_content_rule_info *cr;

	if (!kp_app_chat_wanted(ctx))
		return;
	cr = kp_content_match_chat(kp_policy_content(e->policy), ctx->flow->app, text, len);
	if (e->out && (e->cfg->chat_audit || cr)) {
		kp_eve_chat(e, ctx->flow, ctx->ts_us, ctx->dir, command, from, to, text, len,
			    cr ? cr->name : NULL, cr ? kp_content_action_name(cr->action) : NULL);
		e->st.events++;
	}
	if (cr && cr->action == KP_CA_ALERT)
		e->content.st.chat_alerts++;
	if (cr && cr->action == KP_CA_BLOCK) {
		struct kp_policy_rule_info ri = {cr->name, cr->file, cr->line, cr->text, cr->reset};

		e->content.st.chats_blocked++;
		kp_manage_block_content(e, (struct kp_flow *)ctx->flow, &ri, NULL);
	}
}

void kp_expect_add(struct kp_app_ctx *ctx, int family, const uint8_t *addr, uint16_t port,
		   uint8_t l4, unsigned app)
{
	if (!ctx->eng || !ctx->flow)
		return;
	kp_expect_table_add(&ctx->eng->cls.expect, family, addr, port, l4, app, ctx->flow->id,
			    ctx->ts_us);
}

void kp_peer_note(const struct kp_app_ctx *ctx, int family, const uint8_t *addr, uint16_t port,
		  unsigned app)
{
	if (!ctx->eng)
		return;
	kp_peer_cache_note(&ctx->eng->cls.peers, family, addr, port, app, ctx->ts_us);
	/* port 0: "this host spoke the protocol recently", whatever its port */
	if (port)
		kp_peer_cache_note(&ctx->eng->cls.peers, family, addr, 0, app, ctx->ts_us);
}

bool kp_peer_seen(const struct kp_app_ctx *ctx, int family, const uint8_t *addr, uint16_t port,
		  unsigned app)
{
	if (!ctx->eng)
		return false;
	return kp_peer_cache_seen(&ctx->eng->cls.peers, family, addr, port, app, ctx->ts_us);
}
