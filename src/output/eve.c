/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The flow event (see eve.h). */
#include "output/eve.h"
#include "classify/sig.h"
#include "engine/engine.h"
#include "output/writer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

void kp_addr_str(int family, const uint8_t *addr, char *buf, size_t len)
{
	if (!inet_ntop(family, addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

static const char *state_name(const struct kp_flow *f)
{
	if (f->key.l4 != IPPROTO_TCP)
		return f->pkts[0] && f->pkts[1] ? "established" : "new";
	switch (f->tcp_state) {
	case KP_TCP_ESTABLISHED:
		return "established";
	case KP_TCP_CLOSING:
		return "closing";
	case KP_TCP_CLOSED:
		return "closed";
	default:
		return "new";
	}
}

static const char *pol_name(uint8_t pol)
{
	switch (pol) {
	case KP_POL_PASSED:
		return "pass";
	case KP_POL_BLOCKED:
		return "block";
	case KP_POL_CACHED:
		return "cached";
	default:
		return NULL;
	}
}

/* What the flow's module learned ("tls": {...}), so far or in the end. */
static void module_members(struct kp_json *j, const struct kp_flow *f)
{
	if (f->mod && f->mod->json && f->mod_state)
		f->mod->json(f->mod_state, f, j);
	else if (f->meta)
		kp_json_members(j, f->meta, strlen(f->meta));
}

/* timestamp, flow_id, event_type, the 5-tuple (src = client), app_proto. */
void kp_eve_head(struct kp_engine *e, const struct kp_flow *f, uint64_t ts, const char *type)
{
	struct kp_json *j = &e->json;
	char a[64];
	int c = f->client_side, s = !c;

	kp_json_begin(j);
	kp_json_ts(j, "timestamp", ts);
	kp_json_u64(j, "flow_id", f->id);
	kp_json_str(j, "event_type", type);
	kp_addr_str(f->key.family, f->key.addr[c], a, sizeof(a));
	kp_json_str(j, "src_ip", a);
	kp_json_u64(j, "src_port", f->key.port[c]);
	kp_addr_str(f->key.family, f->key.addr[s], a, sizeof(a));
	kp_json_str(j, "dest_ip", a);
	kp_json_u64(j, "dest_port", f->key.port[s]);
	if (f->key.vlan)
		kp_json_u64(j, "vlan", f->key.vlan);
	kp_json_str(j, "proto", f->key.l4 == IPPROTO_TCP ? "TCP" : "UDP");
	if (f->app == KP_APP_SIGNATURE && e->cls.sigs && f->sig >= 0)
		kp_json_str(j, "app_proto", kp_sigset_name(e->cls.sigs, f->sig));
	else
		kp_json_str(j, "app_proto", kp_app_name(f->app));
}

void kp_eve_block(struct kp_engine *e, const struct kp_flow *f, const char *rule_name,
		  const char *rule_file, unsigned rule_line, const char *rule_text, bool reset,
		  bool cached)
{
	struct kp_json *j = &e->json;

	kp_eve_head(e, f, e->now_us > f->last_us ? e->now_us : f->last_us, "block");
	kp_json_obj(j, "block");
	kp_json_str(j, "action", reset ? "reset" : "drop");
	if (rule_name)
		kp_json_str(j, "rule", rule_name);
	if (rule_file) {
		kp_json_str(j, "file", rule_file);
		kp_json_u64(j, "line", rule_line);
	}
	if (rule_text)
		kp_json_str(j, "text", rule_text);
	else
		kp_json_str(j, "default", f->app == KP_APP_UNKNOWN ? "policy.unknown"
								  : "policy.classifying");
	kp_json_bool(j, "cached", cached);
	kp_json_u64(j, "pkts", f->pkts[0] + f->pkts[1]);
	kp_json_end(j);
	module_members(j, f);
	kp_json_end(j);
	if (!j->oom)
		kp_output_line(e->out, j->buf, j->len);
}

void kp_eve_chat(struct kp_engine *e, const struct kp_flow *f, uint64_t ts_us, int dir,
		 const char *command, const char *from, const char *to, const uint8_t *text,
		 size_t len, const char *rule, const char *action)
{
	struct kp_json *j = &e->json;

	kp_eve_head(e, f, ts_us, "chat");
	kp_json_obj(j, "chat");
	kp_json_str(j, "app", kp_app_name(f->app));
	kp_json_str(j, "command", command);
	kp_json_str(j, "from", from);
	kp_json_str(j, "to", to);
	kp_json_strn(j, "text", text, len);
	kp_json_str(j, "direction", dir == 0 ? "toserver" : "toclient");
	if (rule) {
		kp_json_str(j, "rule", rule);
		kp_json_str(j, "action", action);
	}
	kp_json_end(j);
	kp_json_end(j);
	if (!j->oom)
		kp_output_line(e->out, j->buf, j->len);
}

void kp_eve_flow(struct kp_engine *e, const struct kp_flow *f, enum kp_flow_end_reason r)
{
	struct kp_json *j = &e->json;

	kp_eve_head(e, f, f->last_us, "flow");
	kp_json_u64(j, "app_proto_confidence", f->confidence);
	kp_json_u64(j, "pkts_toserver", f->pkts[0]);
	kp_json_u64(j, "pkts_toclient", f->pkts[1]);
	kp_json_u64(j, "bytes_toserver", f->bytes[0]);
	kp_json_u64(j, "bytes_toclient", f->bytes[1]);
	kp_json_ts(j, "start", f->start_us);
	kp_json_ts(j, "end", f->last_us);
	kp_json_obj(j, "flow");
	kp_json_str(j, "state", state_name(f));
	kp_json_str(j, "reason", kp_flow_end_reason_name(r));
	if (f->csum_bad)
		kp_json_u64(j, "csum_bad", f->csum_bad);
	if (f->had_gap)
		kp_json_bool(j, "gap", true);
	if (pol_name(f->pol) && (f->pol != KP_POL_PASSED || f->bypassed))
		kp_json_str(j, "policy", pol_name(f->pol));
	if (f->bypassed)
		kp_json_bool(j, "bypassed", true);
	if (f->ct_counted)
		kp_json_str(j, "counters", "conntrack");
	kp_json_end(j);
	if (f->parent_id) {
		kp_json_obj(j, f->app == KP_APP_FTP_DATA ? "ftp_data" : "related");
		kp_json_u64(j, "control_flow_id", f->parent_id);
		kp_json_end(j);
	}
	if (f->app == KP_APP_SIGNATURE && e->cls.sigs && f->sig >= 0) {
		kp_json_obj(j, "signature");
		kp_json_str(j, "name", kp_sigset_name(e->cls.sigs, f->sig));
		kp_json_str(j, "file", kp_sigset_file(e->cls.sigs, f->sig));
		kp_json_end(j);
	}
	module_members(j, f);
	kp_json_end(j);
	if (!j->oom)
		kp_output_line(e->out, j->buf, j->len);
}
