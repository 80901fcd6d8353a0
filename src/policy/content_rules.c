/* SPDX-License-Identifier: GPL-2.0-or-later */
/* File and chat rules: parsing with FILE:LINE errors and first-match lookups (see content_rules.h). */
#define _GNU_SOURCE 1 /* FNM_CASEFOLD */
#include "policy/content_rules.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"

#define APP_WORDS ((KP_APP__COUNT + 31) / 32)
#define MAX_HASH 24
#define MAX_NAME 4096 /* longest file name the globs look at */

struct hash_val {
	uint8_t len;
	uint8_t b[MAX_HASH];
};

struct crule {
	struct kp_content_rule_info info;
	bool has_app;
	uint32_t apps[APP_WORDS];
	char **words;       /* globs (file) or lowercase keywords (chat) */
	unsigned nwords;
	struct hash_val *hashes; /* sorted */
	unsigned nhashes;
};

struct rlist {
	struct crule *r;
	unsigned n, cap;
};

struct kp_content_rules {
	struct rlist file, chat;
};

const char *kp_content_action_name(enum kp_content_action a)
{
	switch (a) {
	case KP_CA_PASS:
		return "pass";
	case KP_CA_AUDIT:
		return "audit";
	case KP_CA_ALERT:
		return "alert";
	case KP_CA_BLOCK:
		return "block";
	default:
		return "none";
	}
}

struct kp_content_rules *kp_content_rules_new(void)
{
	return calloc(1, sizeof(struct kp_content_rules));
}

static void crule_free(struct crule *r)
{
	for (unsigned i = 0; i < r->nwords; i++)
		free(r->words[i]);
	free(r->words);
	free(r->hashes);
	free((char *)r->info.name);
	free((char *)r->info.file);
	free((char *)r->info.text);
}

static void rlist_free(struct rlist *l)
{
	for (unsigned i = 0; i < l->n; i++)
		crule_free(&l->r[i]);
	free(l->r);
}

void kp_content_rules_free(struct kp_content_rules *r)
{
	if (!r)
		return;
	rlist_free(&r->file);
	rlist_free(&r->chat);
	free(r);
}

int kp_hex_decode(const char *s, size_t len, uint8_t *out, size_t cap)
{
	if (len % 2 || len / 2 > cap)
		return -1;
	for (size_t i = 0; i < len; i += 2) {
		int v = 0;

		for (int k = 0; k < 2; k++) {
			char c = (char)tolower((unsigned char)s[i + (size_t)k]);

			if (c >= '0' && c <= '9')
				v = v * 16 + (c - '0');
			else if (c >= 'a' && c <= 'f')
				v = v * 16 + (c - 'a' + 10);
			else
				return -1;
		}
		out[i / 2] = (uint8_t)v;
	}
	return (int)(len / 2);
}

static int cmp_hash(const void *a, const void *b)
{
	const struct hash_val *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->b, y->b, x->len);
}

static int add_hash(struct crule *r, const char *s, size_t len)
{
	struct hash_val h = {0};
	int n;
	void *p;

	if (len != 32 && len != 40 && len != 48)
		return -1;
	n = kp_hex_decode(s, len, h.b, sizeof(h.b));
	if (n < 0)
		return -1;
	h.len = (uint8_t)n;
	p = realloc(r->hashes, (r->nhashes + 1) * sizeof(*r->hashes));
	if (!p)
		return -2;
	r->hashes = p;
	r->hashes[r->nhashes++] = h;
	return 0;
}

static int add_word(struct crule *r, const char *s, size_t len, bool lower)
{
	char *w = strndup(s, len);
	void *p;

	if (!w)
		return -2;
	if (lower)
		for (char *c = w; *c; c++)
			*c = (char)tolower((unsigned char)*c);
	p = realloc(r->words, (r->nwords + 1) * sizeof(*r->words));
	if (!p) {
		free(w);
		return -2;
	}
	r->words = p;
	r->words[r->nwords++] = w;
	return 0;
}

static void set_err(char *err, size_t errlen, const char *file, unsigned line, const char *fmt,
		    ...) __attribute__((format(printf, 5, 6)));
static void set_err(char *err, size_t errlen, const char *file, unsigned line, const char *fmt,
		    ...)
{
	va_list ap;
	int n = snprintf(err, errlen, "%s:%u: ", file ? file : "-", line);

	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/* Reads a hash list file into r. 0, or -1 with err set. */
static int load_hashes(struct crule *r, const char *path, const char *file, unsigned line,
		       char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char buf[256];
	unsigned ln = 0;

	if (!f) {
		set_err(err, errlen, file, line, "hashes=%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(buf, sizeof(buf), f)) {
		char *s = buf, *e;

		ln++;
		while (isspace((unsigned char)*s))
			s++;
		e = s;
		while (*e && !isspace((unsigned char)*e) && *e != '#')
			e++;
		if (e == s)
			continue;
		if (add_hash(r, s, (size_t)(e - s))) {
			set_err(err, errlen, file, line, "hashes=%s line %u: not a hash: %.*s", path,
				ln, (int)(e - s > 60 ? 60 : e - s), s);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

static bool name_ok(const char *v, size_t len)
{
	if (!len || len > 63)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)v[i]) && !strchr("_.:-", v[i]))
			return false;
	return true;
}

/* Splits v[0..len) at commas and calls fn for each non-empty item. */
static int each_item(const char *v, size_t len, struct crule *r,
		     int (*fn)(struct crule *, const char *, size_t, bool), bool flag)
{
	size_t i = 0;

	while (i < len) {
		size_t j = i;

		while (j < len && v[j] != ',')
			j++;
		if (j == i)
			return -1;
		if (fn(r, v + i, j - i, flag))
			return -1;
		i = j + 1;
	}
	return len ? 0 : -1;
}

static int add_hash_item(struct crule *r, const char *s, size_t len, bool unused)
{
	(void)unused;
	return add_hash(r, s, len);
}

static int add_rule(struct rlist *l, bool chat, const char *text, const char *file,
		    unsigned line, char *err, size_t errlen)
{
	struct crule r;
	const char *p = text;
	char *name = NULL;
	bool seen_glob = false, seen_hash = false;
	void *np;

	memset(&r, 0, sizeof(r));
	while (isspace((unsigned char)*p))
		p++;
	{
		const char *e = p;

		while (*e && !isspace((unsigned char)*e))
			e++;
		if (e - p == 4 && !strncmp(p, "pass", 4) && !chat)
			r.info.action = KP_CA_PASS;
		else if (e - p == 5 && !strncmp(p, "audit", 5))
			r.info.action = KP_CA_AUDIT;
		else if (e - p == 5 && !strncmp(p, "alert", 5) && chat)
			r.info.action = KP_CA_ALERT;
		else if (e - p == 5 && !strncmp(p, "block", 5))
			r.info.action = KP_CA_BLOCK;
		else {
			set_err(err, errlen, file, line, "%s rule: unknown action '%.*s' (%s)",
				chat ? "chat" : "file", (int)(e - p > 40 ? 40 : e - p), p,
				chat ? "audit, alert or block" : "pass, audit or block");
			return -1;
		}
		p = e;
	}
	for (;;) {
		const char *k, *eq, *e;
		size_t kl, vl;

		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		k = p;
		e = p;
		while (*e && !isspace((unsigned char)*e))
			e++;
		p = e;
		eq = memchr(k, '=', (size_t)(e - k));
		if (!eq) {
			if (e - k == 5 && !strncmp(k, "reset", 5) && r.info.action == KP_CA_BLOCK) {
				r.info.reset = true;
				continue;
			}
			set_err(err, errlen, file, line, "unknown word '%.*s'",
				(int)(e - k > 40 ? 40 : e - k), k);
			goto fail;
		}
		kl = (size_t)(eq - k);
		vl = (size_t)(e - eq - 1);
#define KEY(s) (kl == sizeof(s) - 1 && !strncmp(k, s, kl))
		if (KEY("name")) {
			if (!name_ok(eq + 1, vl) || name) {
				set_err(err, errlen, file, line, "bad or repeated name '%.*s'",
					(int)(vl > 64 ? 64 : vl), eq + 1);
				goto fail;
			}
			name = strndup(eq + 1, vl);
		} else if (KEY("app")) {
			size_t i = 0;
			const char *v = eq + 1;

			while (i < vl) {
				size_t j = i;
				char app[64];
				int id;

				while (j < vl && v[j] != ',')
					j++;
				snprintf(app, sizeof(app), "%.*s", (int)(j - i), v + i);
				id = kp_app_by_name(app);
				if (id < 0) {
					set_err(err, errlen, file, line, "unknown app '%s'", app);
					goto fail;
				}
				r.apps[id / 32] |= 1u << (id % 32);
				i = j + 1;
			}
			r.has_app = true;
		} else if (!chat && KEY("glob")) {
			if (each_item(eq + 1, vl, &r, add_word, false)) {
				set_err(err, errlen, file, line, "bad glob list '%.*s'",
					(int)(vl > 64 ? 64 : vl), eq + 1);
				goto fail;
			}
			seen_glob = true;
		} else if (!chat && KEY("hash")) {
			if (each_item(eq + 1, vl, &r, add_hash_item, false)) {
				set_err(err, errlen, file, line,
					"bad hash list '%.*s' (hex: 40 digits for an info_hash or "
					"SHA-1, 32 for eDonkey, 48 for a Tiger tree root)",
					(int)(vl > 64 ? 64 : vl), eq + 1);
				goto fail;
			}
			seen_hash = true;
		} else if (!chat && KEY("hashes")) {
			char path[1024];

			snprintf(path, sizeof(path), "%.*s", (int)vl, eq + 1);
			if (load_hashes(&r, path, file, line, err, errlen))
				goto fail;
			seen_hash = true;
		} else if (chat && KEY("keyword")) {
			if (each_item(eq + 1, vl, &r, add_word, true)) {
				set_err(err, errlen, file, line, "bad keyword list '%.*s'",
					(int)(vl > 64 ? 64 : vl), eq + 1);
				goto fail;
			}
		} else {
			set_err(err, errlen, file, line, "unknown key '%.*s' in a %s rule", (int)kl, k,
				chat ? "chat" : "file");
			goto fail;
		}
#undef KEY
	}
	(void)seen_glob;
	(void)seen_hash;
	if (r.nhashes)
		qsort(r.hashes, r.nhashes, sizeof(*r.hashes), cmp_hash);
	if (!name) {
		char buf[32];

		snprintf(buf, sizeof(buf), "%s%u", chat ? "chat" : "file", l->n + 1);
		name = strdup(buf);
	}
	r.info.name = name;
	name = NULL;
	r.info.file = strdup(file ? file : "-");
	r.info.line = line;
	{
		const char *s = text, *e = text + strlen(text);

		while (isspace((unsigned char)*s))
			s++;
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		r.info.text = strndup(s, (size_t)(e - s));
	}
	if (!r.info.name || !r.info.file || !r.info.text)
		goto oom;
	if (l->n == l->cap) {
		unsigned cap = l->cap ? l->cap * 2 : 8;

		np = realloc(l->r, cap * sizeof(*l->r));
		if (!np)
			goto oom;
		l->r = np;
		l->cap = cap;
	}
	l->r[l->n++] = r;
	return 0;
oom:
	set_err(err, errlen, file, line, "out of memory");
fail:
	free(name);
	crule_free(&r);
	return -1;
}

int kp_content_add_file_rule(struct kp_content_rules *r, const char *text, const char *file,
			     unsigned line, char *err, size_t errlen)
{
	return add_rule(&r->file, false, text, file, line, err, errlen);
}

int kp_content_add_chat_rule(struct kp_content_rules *r, const char *text, const char *file,
			     unsigned line, char *err, size_t errlen)
{
	return add_rule(&r->chat, true, text, file, line, err, errlen);
}

static bool app_ok(const struct crule *r, unsigned app)
{
	return !r->has_app || (app < KP_APP__COUNT && (r->apps[app / 32] & (1u << (app % 32))));
}

bool kp_content_files_for(const struct kp_content_rules *r, unsigned app)
{
	for (unsigned i = 0; r && i < r->file.n; i++)
		if (app_ok(&r->file.r[i], app))
			return true;
	return false;
}

bool kp_content_chat_for(const struct kp_content_rules *r, unsigned app)
{
	for (unsigned i = 0; r && i < r->chat.n; i++)
		if (app_ok(&r->chat.r[i], app))
			return true;
	return false;
}

static bool glob_hit(const struct crule *r, const char *name)
{
	for (unsigned i = 0; i < r->nwords; i++)
		if (!fnmatch(r->words[i], name, FNM_CASEFOLD))
			return true;
	return false;
}

const struct kp_content_rule_info *kp_content_match_name(const struct kp_content_rules *r,
							 unsigned app, const char *name,
							 size_t len)
{
	char full[MAX_NAME + 1];
	size_t n = len < MAX_NAME ? len : MAX_NAME, cut;

	if (!r)
		return NULL;
	/* the whole name with NULs made visible, and the name cut at its first NUL */
	cut = n;
	for (size_t i = 0; i < n; i++) {
		full[i] = name[i] ? name[i] : '\x01';
		if (!name[i] && cut == n)
			cut = i;
	}
	full[n] = 0;
	for (unsigned i = 0; i < r->file.n; i++) {
		const struct crule *c = &r->file.r[i];

		if (!app_ok(c, app))
			continue;
		if (!c->nwords && !c->nhashes)
			return &c->info;
		if (!c->nwords)
			continue;
		if (glob_hit(c, full))
			return &c->info;
		if (cut < n) {
			char saved = full[cut];
			bool hit;

			full[cut] = 0;
			hit = glob_hit(c, full);
			full[cut] = saved;
			if (hit)
				return &c->info;
		}
	}
	return NULL;
}

const struct kp_content_rule_info *kp_content_match_hash(const struct kp_content_rules *r,
							 unsigned app, const uint8_t *hash,
							 size_t len)
{
	struct hash_val key = {0};

	if (!r || !len || len > MAX_HASH)
		return NULL;
	key.len = (uint8_t)len;
	memcpy(key.b, hash, len);
	for (unsigned i = 0; i < r->file.n; i++) {
		const struct crule *c = &r->file.r[i];

		if (!app_ok(c, app) || !c->nhashes)
			continue;
		if (bsearch(&key, c->hashes, c->nhashes, sizeof(key), cmp_hash))
			return &c->info;
	}
	return NULL;
}

/* Case-insensitive substring search (ASCII). */
static bool has_word(const uint8_t *t, size_t len, const char *w)
{
	size_t wl = strlen(w);

	if (wl > len)
		return false;
	for (size_t i = 0; i + wl <= len; i++) {
		size_t k = 0;

		while (k < wl && tolower(t[i + k]) == (unsigned char)w[k])
			k++;
		if (k == wl)
			return true;
	}
	return false;
}

const struct kp_content_rule_info *kp_content_match_chat(const struct kp_content_rules *r,
							 unsigned app, const uint8_t *text,
							 size_t len)
{
	for (unsigned i = 0; r && i < r->chat.n; i++) {
		const struct crule *c = &r->chat.r[i];

		if (!app_ok(c, app))
			continue;
		if (!c->nwords)
			return &c->info;
		for (unsigned k = 0; k < c->nwords; k++)
			if (has_word(text, len, c->words[k]))
				return &c->info;
	}
	return NULL;
}

unsigned kp_content_file_rule_count(const struct kp_content_rules *r)
{
	return r ? r->file.n : 0;
}

unsigned kp_content_chat_rule_count(const struct kp_content_rules *r)
{
	return r ? r->chat.n : 0;
}

void kp_content_rules_describe(const struct kp_content_rules *r, FILE *out)
{
	for (unsigned i = 0; r && i < r->file.n; i++)
		fprintf(out, "  file %s (%s:%u): %s\n", r->file.r[i].info.name,
			r->file.r[i].info.file, r->file.r[i].info.line, r->file.r[i].info.text);
	for (unsigned i = 0; r && i < r->chat.n; i++)
		fprintf(out, "  chat %s (%s:%u): %s\n", r->chat.r[i].info.name,
			r->chat.r[i].info.file, r->chat.r[i].info.line, r->chat.r[i].info.text);
}
