/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The module side of content management (content.h) and the file records of
 * a pipeline (file.h): rules on names and hashes, sha256, copies for the
 * scanner, announced files of linked data connections, and the file, search
 * and block events.
 */
#define _GNU_SOURCE 1 /* FNM_CASEFOLD */
#include "content/file.h"

#include <errno.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "content/blocklist.h"
#include "engine/engine.h"
#include "engine/manage.h"
#include "output/eve.h"
#include "policy/content_rules.h"
#include "policy/policy.h"

const char *kp_hash_kind_name(enum kp_hash_kind k)
{
	switch (k) {
	case KP_HASH_BT_INFOHASH:
		return "bittorrent.info_hash";
	case KP_HASH_ED2K:
		return "edonkey.hash";
	case KP_HASH_TTH:
		return "directconnect.tth";
	case KP_HASH_SHA1:
		return "sha1";
	default:
		return "none";
	}
}

static const struct kp_content_rules *rules(const struct kp_engine *e)
{
	return kp_policy_content(e->policy);
}

bool kp_content_wanted_app(const struct kp_engine *e, unsigned app)
{
	if (e->cfg->file_audit || (e->cfg->scan && e->content.scanner))
		return true;
	if (kp_blocklist_count(e->content.blocklist))
		return true;
	return kp_content_files_for(rules(e), app);
}

bool kp_app_files_wanted(const struct kp_app_ctx *ctx)
{
	if (!ctx->eng || !ctx->flow)
		return false;
	if (ctx->flow->pol == KP_POL_BLOCKED || ctx->flow->pol == KP_POL_CACHED)
		return false;
	return kp_content_wanted_app(ctx->eng, ctx->flow->app);
}

static struct kp_flow_content *fc_get(struct kp_engine *e, struct kp_flow *f)
{
	if (!f->content) {
		if (!kp_flow_table_reserve(&e->ft, sizeof(*f->content), f))
			return NULL;
		f->content = calloc(1, sizeof(*f->content));
		if (!f->content)
			return NULL;
		f->content->sink_dir = -1;
		kp_flow_table_mem(&e->ft, (int64_t)sizeof(*f->content));
	}
	return f->content;
}

void kp_file_free(struct kp_file *fi)
{
	if (!fi)
		return;
	for (int i = 0; i < KP_FILE_ATTRS; i++)
		free(fi->attr_val[i]);
	kp_sha256_abort(&fi->sha);
	free(fi->name);
	free(fi->buf);
	free(fi);
}

/* A content block of the flow: event and drop, with ri's reset choice. */
static void block_for(struct kp_engine *e, struct kp_flow *f, const struct kp_content_rule_info *cr,
		      const char *why)
{
	struct kp_policy_rule_info ri = {0};

	if (cr) {
		ri.name = cr->name;
		ri.file = cr->file;
		ri.line = cr->line;
		ri.text = cr->text;
		ri.reset = cr->reset;
	} else {
		ri.name = "blocklist";
		ri.text = why;
		ri.reset = true;
	}
	kp_manage_block_content(e, f, &ri, NULL);
}

/* Applies the verdict of a matching rule to a file record. */
static void apply_rule(struct kp_file *fi, const struct kp_content_rule_info *cr)
{
	if (!cr)
		return;
	snprintf(fi->rule, sizeof(fi->rule), "%s", cr->name);
	if (cr->action == KP_CA_BLOCK)
		fi->verdict = KP_FV_BLOCK;
	else if (cr->action == KP_CA_AUDIT)
		fi->audit = true;
}

/* Checks a hash against the rules and the run-time block list; blocks the flow on a hit. */
static bool hash_blocks(struct kp_engine *e, struct kp_flow *f, enum kp_hash_kind kind,
			const uint8_t *hash, size_t len, struct kp_file *fi)
{
	const struct kp_content_rule_info *cr;
	char why[160], hex[49];

	if (!hash || !len || len > 24)
		return false;
	cr = kp_content_match_hash(rules(e), f->app, hash, len);
	if (cr) {
		if (fi)
			apply_rule(fi, cr);
		if (cr->action == KP_CA_BLOCK) {
			e->content.st.hashes_blocked++;
			block_for(e, f, cr, NULL);
			return true;
		}
		return false;
	}
	if (kp_blocklist_has(e->content.blocklist, hash, len, why, sizeof(why))) {
		char text[256];

		for (size_t i = 0; i < len; i++)
			snprintf(hex + 2 * i, 3, "%02x", hash[i]);
		snprintf(text, sizeof(text), "%s %s on the block list (%s)", kp_hash_kind_name(kind),
			 hex, why);
		if (fi) {
			fi->verdict = KP_FV_BLOCK;
			snprintf(fi->rule, sizeof(fi->rule), "blocklist");
		}
		e->content.st.hashes_blocked++;
		block_for(e, f, NULL, text);
		return true;
	}
	return false;
}

static struct kp_file *file_new(struct kp_engine *e, struct kp_flow *f, int dir, const char *name,
				size_t name_len, uint64_t size, uint64_t offset, uint64_t ts)
{
	struct kp_file *fi = calloc(1, sizeof(*fi));

	if (!fi)
		return NULL;
	if (name_len > 4096)
		name_len = 4096; /* the event keeps the first 4 KiB of a name */
	fi->name = malloc(name_len + 1);
	if (!fi->name) {
		free(fi);
		return NULL;
	}
	if (name_len)
		memcpy(fi->name, name, name_len);
	fi->name[name_len] = 0;
	fi->name_len = (uint32_t)name_len;
	memcpy(&fi->ident, f, sizeof(fi->ident));
	fi->ident.content = NULL;
	fi->id = ((uint64_t)e->worker << 48) | ++e->content.next_id;
	fi->ts_open = ts;
	fi->app = f->app;
	fi->dir = (uint8_t)dir;
	fi->event_dir = -1;
	fi->size_ann = size;
	fi->offset = offset;
	fi->scan_result = -1;
	fi->audit = e->cfg->file_audit;
	return fi;
}

/* Name rules on a new file; true if it blocked the flow. */
static bool name_check(struct kp_engine *e, struct kp_flow *f, struct kp_file *fi)
{
	const struct kp_content_rule_info *cr =
		kp_content_match_name(rules(e), f->app, fi->name, fi->name_len);

	apply_rule(fi, cr);
	if (fi->verdict == KP_FV_BLOCK) {
		e->content.st.files_blocked++;
		block_for(e, f, cr, NULL);
		return true;
	}
	return false;
}

void kp_content_file_event(struct kp_engine *e, struct kp_file *fi)
{
	if (!e->out)
		return;
	if (!fi->audit && fi->verdict == KP_FV_PASS)
		return;
	kp_eve_file(e, fi);
	e->st.events++;
}

static struct kp_file *open_file(struct kp_engine *e, struct kp_flow *f, int dir, const char *name,
				 size_t name_len, uint64_t size, uint64_t offset, uint64_t ts)
{
	struct kp_flow_content *fc;
	struct kp_file *fi;

	if (f->pol == KP_POL_BLOCKED || f->pol == KP_POL_CACHED)
		return NULL;
	fc = fc_get(e, f);
	if (!fc)
		return NULL;
	fi = file_new(e, f, dir, name, name_len, size, offset, ts);
	if (!fi)
		return NULL;
	e->content.st.files++;
	if (name_check(e, f, fi)) {
		fi->closed = true;
		fi->ts_close = ts;
		kp_content_file_event(e, fi);
		kp_file_free(fi);
		return NULL;
	}
	/* the scanner wants whole files from their first byte, within the size limit */
	if (e->content.scanner && e->cfg->scan) {
		if (offset) {
			fi->scan_note = "range";
		} else if (size < KP_FILE_SIZE_FRAMED && size > e->cfg->scan_max_size) {
			fi->scan_note = "too_large";
			e->content.st.unscanned_large++;
		} else {
			fi->scan = true;
		}
	}
	/*
	 * The digest is for the event (audit) and the scanner's cache: a policy of name
	 * rules alone does not pay for hashing bodies.
	 */
	if (fi->audit || fi->scan)
		kp_sha256_init(&fi->sha);
	fi->next = fc->files;
	fc->files = fi;
	return fi;
}

struct kp_file *kp_app_file_open(struct kp_app_ctx *ctx, int dir, const char *name,
				 size_t name_len, uint64_t size, uint64_t offset)
{
	struct kp_flow *f = (struct kp_flow *)ctx->flow;

	if (!kp_app_files_wanted(ctx) || dir < 0 || dir > 1)
		return NULL;
	return open_file(ctx->eng, f, dir, name ? name : "", name ? name_len : 0, size, offset,
			 ctx->ts_us);
}

static void scan_buf_drop(struct kp_engine *e, struct kp_file *fi, const char *why)
{
	e->content.buffered -= fi->bcap;
	free(fi->buf);
	fi->buf = NULL;
	fi->blen = fi->bcap = 0;
	fi->scan = false;
	fi->scan_note = why;
}

/* scan.skip: a glob of the list matches the name or the content type. */
static bool scan_skipped(const struct kp_engine *e, const struct kp_file *fi)
{
	const char *p = e->cfg->scan_skip;
	char glob[128];

	while (*p) {
		size_t n = strcspn(p, ",");

		if (n && n < sizeof(glob)) {
			memcpy(glob, p, n);
			glob[n] = 0;
			if (!fnmatch(glob, fi->name, FNM_CASEFOLD))
				return true;
			for (int i = 0; i < KP_FILE_ATTRS; i++)
				if (fi->attr_key[i] && !strcmp(fi->attr_key[i], "content_type") &&
				    !fnmatch(glob, fi->attr_val[i], FNM_CASEFOLD))
					return true;
		}
		p += n + (p[n] == ',');
	}
	return false;
}

static void file_data(struct kp_engine *e, struct kp_file *fi, const uint8_t *data, size_t len)
{
	if (!fi || fi->closed || !len)
		return;
	/* the type is known by the first body byte (the headers came before) */
	if (fi->scan && !fi->seen && e->cfg->scan_skip[0] && scan_skipped(e, fi)) {
		fi->scan = false;
		fi->scan_note = "skipped";
	}
	kp_sha256_update(&fi->sha, data, len);
	fi->seen += len;
	e->content.st.bytes += len;
	if (!fi->scan)
		return;
	if (fi->blen + len > e->cfg->scan_max_size) {
		scan_buf_drop(e, fi, "too_large");
		e->content.st.unscanned_large++;
		return;
	}
	if (fi->blen + len > fi->bcap) {
		size_t cap = fi->bcap ? fi->bcap : 16384;
		uint8_t *nb;

		while (cap < fi->blen + len)
			cap *= 2;
		if (cap > e->cfg->scan_max_size)
			cap = e->cfg->scan_max_size;
		if (e->content.buffered - fi->bcap + cap > e->cfg->file_memcap) {
			scan_buf_drop(e, fi, "memcap");
			e->content.st.unscanned_memcap++;
			return;
		}
		nb = realloc(fi->buf, cap);
		if (!nb) {
			scan_buf_drop(e, fi, "no_memory");
			return;
		}
		e->content.buffered += cap - fi->bcap;
		fi->buf = nb;
		fi->bcap = cap;
	}
	memcpy(fi->buf + fi->blen, data, len);
	fi->blen += len;
}

void kp_app_file_data(struct kp_app_ctx *ctx, struct kp_file *fi, const uint8_t *data,
		      size_t len)
{
	file_data(ctx->eng, fi, data, len);
}

static void file_gap(struct kp_engine *e, struct kp_file *fi, uint64_t len)
{
	if (!fi || fi->closed)
		return;
	fi->lost += len ? len : 1;
	if (fi->scan) {
		/* what is left is still worth a look: scan the bytes around the hole */
		fi->scan_note = "gap";
	}
	(void)e;
}

void kp_app_file_gap(struct kp_app_ctx *ctx, struct kp_file *fi, uint64_t len)
{
	file_gap(ctx->eng, fi, len);
}

void kp_app_file_attr(struct kp_file *fi, const char *key, const char *val, size_t len)
{
	if (!fi || !key)
		return;
	if (len > 1024)
		len = 1024;
	for (int i = 0; i < KP_FILE_ATTRS; i++) {
		if (fi->attr_key[i] && strcmp(fi->attr_key[i], key))
			continue;
		free(fi->attr_val[i]);
		fi->attr_val[i] = malloc(len + 1);
		if (!fi->attr_val[i]) {
			fi->attr_key[i] = NULL;
			return;
		}
		memcpy(fi->attr_val[i], val, len);
		fi->attr_val[i][len] = 0;
		fi->attr_len[i] = (uint32_t)len;
		fi->attr_key[i] = key;
		return;
	}
}

void kp_app_file_hash(struct kp_app_ctx *ctx, struct kp_file *fi, enum kp_hash_kind kind,
		      const uint8_t *hash, size_t len)
{
	if (!fi || !hash || !len || len > sizeof(fi->hash))
		return;
	fi->hkind = kind;
	memcpy(fi->hash, hash, len);
	fi->hlen = (uint8_t)len;
	hash_blocks(ctx->eng, (struct kp_flow *)ctx->flow, kind, hash, len, fi);
}

/* Unlinks fi from its flow's open files. */
static void unlink_file(struct kp_flow *f, struct kp_file *fi)
{
	struct kp_file **pp;

	if (!f->content)
		return;
	for (pp = &f->content->files; *pp; pp = &(*pp)->next) {
		if (*pp == fi) {
			*pp = fi->next;
			break;
		}
	}
	fi->next = NULL;
	if (f->content->sink_file == fi)
		f->content->sink_file = NULL;
}

static void close_file(struct kp_engine *e, struct kp_flow *f, struct kp_file *fi, bool complete,
		       uint64_t ts, bool hold)
{
	unlink_file(f, fi);
	fi->closed = true;
	fi->complete = complete && !fi->lost;
	fi->ts_close = ts;
	fi->have_sha256 = kp_sha256_final(&fi->sha, fi->sha256) && fi->complete && fi->offset == 0 &&
			  (fi->size_ann >= KP_FILE_SIZE_FRAMED || fi->size_ann == fi->seen);
	if (fi->scan && fi->blen && kp_content_scan_file(e, f, fi, hold && complete))
		return; /* the event comes with the verdict */
	if (fi->scan && !fi->blen)
		scan_buf_drop(e, fi, NULL);
	kp_content_file_event(e, fi);
	e->content.buffered -= fi->bcap;
	kp_file_free(fi);
}

void kp_app_file_close(struct kp_app_ctx *ctx, struct kp_file *fi, enum kp_file_end how)
{
	struct kp_engine *e = ctx->eng;
	struct kp_flow *f = (struct kp_flow *)ctx->flow;

	if (!fi || fi->closed)
		return;
	/* hold the tail only when the packet in hand is the one that completed the file */
	close_file(e, f, fi, how == KP_FILE_END_COMPLETE, ctx->ts_us,
		   e->pkt_flow == f && e->pkt_dir == fi->dir);
}

/* ---- announced files of linked data connections ---- */

void kp_app_file_announce(struct kp_app_ctx *ctx, const char *name, size_t name_len,
			  uint64_t size)
{
	struct kp_engine *e = ctx->eng;
	struct kp_announce *a = NULL;

	if (!kp_app_files_wanted(ctx))
		return;
	if (name_len > sizeof(a->name) - 1)
		name_len = sizeof(a->name) - 1;
	/* an update of the newest unused announcement with the same name (FTP 150 size) */
	for (unsigned i = 0; i < KP_ANNOUNCE_MAX; i++) {
		struct kp_announce *x = &e->content.ann[i];

		if (x->parent_id == ctx->flow->id && !x->used && x->name_len == name_len &&
		    !memcmp(x->name, name, name_len)) {
			a = x;
			break;
		}
	}
	if (!a) {
		a = &e->content.ann[e->content.ann_next];
		e->content.ann_next = (e->content.ann_next + 1) % KP_ANNOUNCE_MAX;
		memset(a, 0, sizeof(*a));
		a->parent_id = ctx->flow->id;
		a->family = ctx->family;
		memcpy(a->parent_client, ctx->caddr, ctx->family == AF_INET ? 4 : 16);
		memcpy(a->name, name, name_len);
		a->name_len = (uint32_t)name_len;
		a->ts_us = ctx->ts_us;
	}
	if (size != KP_FILE_SIZE_UNKNOWN || !a->size)
		a->size = size;
}

void kp_app_file_withdraw(struct kp_app_ctx *ctx)
{
	struct kp_engine *e = ctx->eng;
	struct kp_announce *newest = NULL;

	if (!e || !ctx->flow)
		return;
	for (unsigned i = 0; i < KP_ANNOUNCE_MAX; i++) {
		struct kp_announce *a = &e->content.ann[i];

		if (a->parent_id == ctx->flow->id && !a->used && (!newest || a->ts_us >= newest->ts_us))
			newest = a;
	}
	if (newest)
		newest->used = true;
}

/* The oldest unused announcement of parent within the expectation time. */
static struct kp_announce *announce_take(struct kp_engine *e, uint64_t parent, uint64_t now)
{
	struct kp_announce *best = NULL;

	for (unsigned i = 0; i < KP_ANNOUNCE_MAX; i++) {
		struct kp_announce *a = &e->content.ann[i];

		if (a->parent_id != parent || a->used || !a->parent_id)
			continue;
		if (now > a->ts_us + (uint64_t)e->cfg->expect_ttl * 1000000u)
			continue;
		if (!best || a->ts_us < best->ts_us)
			best = a;
	}
	if (best)
		best->used = true;
	return best;
}

void kp_content_flow_linked(struct kp_engine *e, struct kp_flow *f)
{
	struct kp_flow_content *fc;

	if (!f->parent_id || !kp_content_wanted_app(e, f->app))
		return;
	fc = fc_get(e, f);
	if (!fc)
		return;
	fc->sink = true;
	f->sd[0].no_depth = f->sd[1].no_depth = true;
}

void kp_content_sink_data(struct kp_engine *e, struct kp_flow *f, int dir, const uint8_t *data,
			  uint32_t len, bool gap, uint64_t ts_us)
{
	struct kp_flow_content *fc = f->content;

	if (!fc || !fc->sink || !len)
		return;
	if (!fc->sink_looked) {
		struct kp_announce *a;

		fc->sink_looked = true;
		fc->sink_dir = (int8_t)dir;
		a = announce_take(e, f->parent_id, ts_us);
		if (!a) {
			fc->sink = false; /* a listing or an unannounced transfer: not a file */
			return;
		}
		fc->sink_file = open_file(e, f, dir, a->name, a->name_len, a->size, 0, ts_us);
		if (!fc->sink_file) {
			fc->sink = false;
			return;
		}
		{
			/* sent by the control connection's client: an upload, else a download */
			int side = dir == 0 ? f->client_side : !f->client_side;
			size_t alen = a->family == AF_INET ? 4 : 16;

			if (a->family == f->key.family)
				fc->sink_file->event_dir =
					memcmp(f->key.addr[side], a->parent_client, alen) ? 1 : 0;
		}
	}
	if (dir != fc->sink_dir || !fc->sink_file)
		return; /* the other way: acknowledgements (DCC) or nothing */
	if (gap)
		file_gap(e, fc->sink_file, 0);
	file_data(e, fc->sink_file, data, len);
	if (fc->sink_file->size_ann < KP_FILE_SIZE_FRAMED &&
	    fc->sink_file->seen + fc->sink_file->lost >= fc->sink_file->size_ann) {
		close_file(e, f, fc->sink_file, true, ts_us, e->pkt_flow == f && e->pkt_dir == dir);
		fc->sink = false;
	}
}

bool kp_content_busy(const struct kp_flow *f)
{
	return f->content && (f->content->sink || f->content->files);
}

/* ---- names, hashes, pieces and searches without a body ---- */

void kp_app_file_listed(struct kp_app_ctx *ctx, const char *what, const char *name,
			size_t name_len, uint64_t size, enum kp_hash_kind kind,
			const uint8_t *hash, size_t hash_len)
{
	struct kp_engine *e = ctx->eng;
	struct kp_flow *f = (struct kp_flow *)ctx->flow;
	struct kp_file *fi;

	if (!kp_app_files_wanted(ctx))
		return;
	fi = file_new(e, f, ctx->dir, name ? name : "", name ? name_len : 0, size, 0, ctx->ts_us);
	if (!fi)
		return;
	fi->listed = true;
	fi->listed_as = what ? what : "listed";
	fi->closed = true;
	fi->ts_close = ctx->ts_us;
	e->content.st.listed++;
	if (hash && hash_len && hash_len <= sizeof(fi->hash)) {
		fi->hkind = kind;
		memcpy(fi->hash, hash, hash_len);
		fi->hlen = (uint8_t)hash_len;
	}
	if (!name_check(e, f, fi) && fi->hlen)
		hash_blocks(e, f, kind, fi->hash, fi->hlen, fi);
	kp_content_file_event(e, fi);
	kp_file_free(fi);
}

void kp_app_hash_seen(struct kp_app_ctx *ctx, enum kp_hash_kind kind, const uint8_t *hash,
		      size_t len)
{
	if (!kp_app_files_wanted(ctx))
		return;
	hash_blocks(ctx->eng, (struct kp_flow *)ctx->flow, kind, hash, len, NULL);
}

void kp_app_search(struct kp_app_ctx *ctx, const char *text, size_t len)
{
	struct kp_engine *e = ctx->eng;

	if (!kp_app_files_wanted(ctx))
		return;
	e->content.st.searches++;
	if (e->out && e->cfg->file_audit) {
		kp_eve_search(e, ctx->flow, ctx->ts_us, ctx->dir, text, len);
		e->st.events++;
	}
}

/* Pieces go to the scanner in runs of one piece index, up to 4 MiB. */
#define PIECE_RUN_MAX (4u << 20)

void kp_content_scan_piece(struct kp_engine *e, struct kp_flow *f, struct kp_piece_buf *pb)
{
	struct kp_file *fi = file_new(e, f, 0, "", 0, KP_FILE_SIZE_UNKNOWN, pb->offset, e->now_us);

	if (!fi) {
		e->content.buffered -= pb->cap;
		free(pb->buf);
		memset(pb, 0, sizeof(*pb));
		return;
	}
	fi->piece = true;
	fi->piece_index = pb->index;
	fi->audit = false; /* pieces make an event only when infected */
	fi->hkind = pb->kind;
	fi->hlen = pb->hlen;
	memcpy(fi->hash, pb->hash, pb->hlen);
	fi->buf = pb->buf;
	fi->blen = pb->len;
	fi->bcap = pb->cap;
	fi->seen = pb->len;
	fi->scan = true;
	fi->closed = true;
	fi->ts_close = e->now_us;
	memset(pb, 0, sizeof(*pb));
	if (!kp_content_scan_file(e, f, fi, false)) {
		e->content.buffered -= fi->bcap;
		kp_file_free(fi);
	}
}

void kp_app_piece(struct kp_app_ctx *ctx, int dir, enum kp_hash_kind kind, const uint8_t *hash,
		  size_t hash_len, uint64_t index, uint64_t offset, const uint8_t *data,
		  size_t len)
{
	struct kp_engine *e = ctx->eng;
	struct kp_flow *f = (struct kp_flow *)ctx->flow;
	struct kp_flow_content *fc;
	struct kp_piece_buf *pb;

	if (!kp_app_files_wanted(ctx) || dir < 0 || dir > 1 || !len)
		return;
	e->content.st.pieces++;
	e->content.st.piece_bytes += len;
	if (!e->content.scanner || !e->cfg->scan)
		return;
	fc = fc_get(e, f);
	if (!fc)
		return;
	pb = &fc->piece[dir];
	if (pb->len && (pb->index != index || pb->len + len > PIECE_RUN_MAX ||
			pb->hlen != hash_len || (hash_len && memcmp(pb->hash, hash, hash_len))))
		kp_content_scan_piece(e, f, pb);
	if (!pb->len) {
		pb->index = index;
		pb->offset = offset;
		pb->kind = kind;
		pb->hlen = hash && hash_len <= sizeof(pb->hash) ? (uint8_t)hash_len : 0;
		if (pb->hlen)
			memcpy(pb->hash, hash, pb->hlen);
	}
	if (len > PIECE_RUN_MAX)
		len = PIECE_RUN_MAX;
	if (pb->len + len > pb->cap) {
		size_t cap = pb->cap ? pb->cap : 65536;
		uint8_t *nb;

		while (cap < pb->len + len)
			cap *= 2;
		if (e->content.buffered - pb->cap + cap > e->cfg->file_memcap) {
			e->content.st.unscanned_memcap++;
			return;
		}
		nb = realloc(pb->buf, cap);
		if (!nb)
			return;
		e->content.buffered += cap - pb->cap;
		pb->buf = nb;
		pb->cap = cap;
	}
	memcpy(pb->buf + pb->len, data, len);
	pb->len += len;
}

/* ---- flow end ---- */

void kp_content_flow_end(struct kp_engine *e, struct kp_flow *f)
{
	struct kp_flow_content *fc = f->content;

	if (!fc)
		return;
	while (fc->files) {
		struct kp_file *fi = fc->files;
		/* a body without an announced size ends with its sender's FIN */
		bool complete = fi->size_ann == KP_FILE_SIZE_UNKNOWN
					? (f->fin_seen & (1u << fi->dir)) && !f->rst_seen
				: fi->size_ann == KP_FILE_SIZE_FRAMED
					? false /* its own end marker never came */
					: fi->seen + fi->lost >= fi->size_ann;

		close_file(e, f, fi, complete, f->last_us, false);
	}
	fc->sink = false;
	for (int d = 0; d < 2; d++)
		if (fc->piece[d].len)
			kp_content_scan_piece(e, f, &fc->piece[d]);
}

void kp_content_flow_free(struct kp_engine *e, struct kp_flow *f)
{
	struct kp_flow_content *fc = f->content;

	if (!fc)
		return;
	while (fc->files) {
		struct kp_file *fi = fc->files;

		fc->files = fi->next;
		e->content.buffered -= fi->bcap;
		kp_file_free(fi);
	}
	for (int d = 0; d < 2; d++) {
		e->content.buffered -= fc->piece[d].cap;
		free(fc->piece[d].buf);
	}
	free(fc);
	f->content = NULL;
	kp_flow_table_mem(&e->ft, -(int64_t)sizeof(*fc));
}
