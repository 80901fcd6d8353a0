/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The content events: "file" (a file that crossed, or was named, with its
 * sha256, state and verdict), "virus" (the scanner's signature and the file)
 * and "search" (a P2P search). Every string from the wire is escaped exactly
 * by the JSON writer.
 */
#include "output/eve.h"

#include <string.h>

#include "content/file.h"
#include "engine/engine.h"
#include "output/writer.h"
#include "policy/content_rules.h"

static const char *verdict_name(uint8_t v)
{
	switch (v) {
	case KP_FV_AUDIT:
		return "audit";
	case KP_FV_BLOCK:
		return "block";
	case KP_FV_VIRUS:
		return "virus";
	default:
		return "pass";
	}
}

static const char *state_name(const struct kp_file *fi)
{
	if (fi->listed)
		return "listed";
	if (fi->piece)
		return "piece";
	if (fi->lost)
		return "gap";
	if (!fi->closed)
		return "open";
	return fi->complete ? "complete" : "truncated";
}

static const char *scan_name(int r)
{
	switch (r) {
	case KP_SCAN_CLEAN:
		return "clean";
	case KP_SCAN_INFECTED:
		return "infected";
	case KP_SCAN_ERROR:
		return "error";
	case KP_SCAN_TIMEOUT:
		return "timeout";
	default:
		return "not_scanned";
	}
}

/* The members of a file object. */
static void file_members(struct kp_json *j, const struct kp_file *fi)
{
	kp_json_str(j, "app", kp_app_name(fi->app));
	kp_json_str(j, "direction",
		    (fi->event_dir >= 0 ? fi->event_dir : fi->dir) == 0 ? "toserver" : "toclient");
	kp_json_strn(j, "name", fi->name, fi->name_len);
	if (fi->listed) {
		kp_json_str(j, "listed_as", fi->listed_as);
		if (fi->size_ann < KP_FILE_SIZE_FRAMED)
			kp_json_u64(j, "size", fi->size_ann);
	} else {
		kp_json_u64(j, "size", fi->seen);
		if (fi->size_ann < KP_FILE_SIZE_FRAMED)
			kp_json_u64(j, "size_announced", fi->size_ann);
		if (fi->offset)
			kp_json_u64(j, "offset", fi->offset);
		if (fi->lost)
			kp_json_u64(j, "lost", fi->lost);
		if (fi->piece)
			kp_json_u64(j, "piece", fi->piece_index);
		if (fi->have_sha256)
			kp_json_hex(j, "sha256", fi->sha256, 32);
	}
	kp_json_str(j, "state", state_name(fi));
	if (fi->hlen) {
		kp_json_obj(j, "hash");
		kp_json_str(j, "kind", kp_hash_kind_name(fi->hkind));
		kp_json_hex(j, "value", fi->hash, fi->hlen);
		kp_json_end(j);
	}
	{
		bool any = false;

		for (int i = 0; i < KP_FILE_ATTRS; i++) {
			if (!fi->attr_key[i])
				continue;
			if (!any)
				kp_json_obj(j, "attrs");
			any = true;
			kp_json_strn(j, fi->attr_key[i], fi->attr_val[i], fi->attr_len[i]);
		}
		if (any)
			kp_json_end(j);
	}
	if (!fi->listed) {
		kp_json_str(j, "scan", fi->scan_result >= 0 ? scan_name(fi->scan_result)
						    : fi->scan_note ? fi->scan_note : "not_scanned");
		if (fi->scan_cached)
			kp_json_bool(j, "scan_cached", true);
		if (fi->hold_id)
			kp_json_bool(j, "held", true);
	}
	kp_json_str(j, "verdict", verdict_name(fi->verdict));
	if (fi->rule[0])
		kp_json_str(j, "rule", fi->rule);
}

void kp_eve_content_stats(struct kp_json *j, const struct kp_content_stats *st)
{
	kp_json_u64(j, "files", st->files);
	kp_json_u64(j, "listed", st->listed);
	kp_json_u64(j, "searches", st->searches);
	kp_json_u64(j, "bytes", st->bytes);
	kp_json_u64(j, "files_blocked", st->files_blocked);
	kp_json_u64(j, "hashes_blocked", st->hashes_blocked);
	kp_json_u64(j, "chats_blocked", st->chats_blocked);
	kp_json_u64(j, "chat_alerts", st->chat_alerts);
	kp_json_u64(j, "scans_submitted", st->scans_submitted);
	kp_json_u64(j, "scans_done", st->scans_done);
	kp_json_u64(j, "scans_cached", st->scans_cached);
	kp_json_u64(j, "infected", st->infected);
	kp_json_u64(j, "scan_errors", st->scan_errors);
	kp_json_u64(j, "scan_rejected", st->scan_rejected);
	kp_json_u64(j, "unscanned_large", st->unscanned_large);
	kp_json_u64(j, "unscanned_memcap", st->unscanned_memcap);
	kp_json_u64(j, "pieces", st->pieces);
	kp_json_u64(j, "piece_bytes", st->piece_bytes);
	kp_json_u64(j, "held", st->held);
	kp_json_u64(j, "released", st->released);
	kp_json_u64(j, "hold_dropped", st->hold_dropped);
	kp_json_u64(j, "hold_timeouts", st->hold_timeouts);
	kp_json_u64(j, "held_retrans", st->held_retrans);
}

void kp_content_stats_add(struct kp_content_stats *t, const struct kp_content_stats *s)
{
	uint64_t *a = (uint64_t *)t;
	const uint64_t *b = (const uint64_t *)s;

	_Static_assert(sizeof(*t) % sizeof(uint64_t) == 0, "counters only");
	for (size_t i = 0; i < sizeof(*t) / sizeof(uint64_t); i++)
		a[i] += b[i];
}

static void emit(struct kp_engine *e)
{
	struct kp_json *j = &e->json;

	if (!j->oom)
		kp_output_line(e->out, j->buf, j->len);
}

void kp_eve_file(struct kp_engine *e, const struct kp_file *fi)
{
	struct kp_json *j = &e->json;

	kp_eve_head(e, &fi->ident, fi->ts_close ? fi->ts_close : fi->ts_open, "file");
	if (fi->ident.parent_id)
		kp_json_u64(j, "parent_flow_id", fi->ident.parent_id);
	kp_json_obj(j, "file");
	file_members(j, fi);
	kp_json_end(j);
	kp_json_end(j);
	emit(e);
}

void kp_eve_virus(struct kp_engine *e, const struct kp_file *fi)
{
	struct kp_json *j = &e->json;

	kp_eve_head(e, &fi->ident, e->now_us > fi->ts_close ? e->now_us : fi->ts_close, "virus");
	if (fi->ident.parent_id)
		kp_json_u64(j, "parent_flow_id", fi->ident.parent_id);
	kp_json_obj(j, "virus");
	kp_json_str(j, "signature", fi->virus);
	kp_json_obj(j, "file");
	file_members(j, fi);
	kp_json_end(j);
	kp_json_end(j);
	kp_json_end(j);
	emit(e);
}

void kp_eve_search(struct kp_engine *e, const struct kp_flow *f, uint64_t ts_us, int dir,
		   const char *text, size_t len)
{
	struct kp_json *j = &e->json;

	kp_eve_head(e, f, ts_us, "search");
	kp_json_obj(j, "search");
	kp_json_str(j, "app", kp_app_name(f->app));
	kp_json_strn(j, "text", text, len);
	kp_json_str(j, "direction", dir == 0 ? "toserver" : "toclient");
	kp_json_end(j);
	kp_json_end(j);
	emit(e);
}
