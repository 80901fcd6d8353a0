/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The pipeline's side of virus scanning: hands files and piece runs to the
 * scanner, holds the packet that completes a file until its verdict (inline),
 * drops the sender's further packets of that direction meanwhile, and acts on
 * the verdicts: release or drop the held packet, block and reset the flow,
 * put the object id on the block list, write the virus and file events.
 */
#include "content/file.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "content/blocklist.h"
#include "engine/engine.h"
#include "engine/manage.h"
#include "output/eve.h"

int kp_content_pipe_init(struct kp_engine *e)
{
	if (kp_scan_doneq_init(&e->content.doneq))
		return -errno;
	e->content.doneq_ok = true;
	return 0;
}

static struct kp_hold *hold_find(struct kp_engine *e, uint64_t id)
{
	for (struct kp_hold *h = e->content.holds; h; h = h->next)
		if (h->id == id)
			return h;
	return NULL;
}

static void hold_remove(struct kp_engine *e, struct kp_hold *h)
{
	struct kp_hold **pp;

	for (pp = &e->content.holds; *pp; pp = &(*pp)->next) {
		if (*pp == h) {
			*pp = h->next;
			free(h);
			return;
		}
	}
}

/* The live flow a record or hold belongs to, or NULL when it ended. */
static struct kp_flow *live_flow(struct kp_engine *e, const struct kp_flow_key *k, uint64_t id)
{
	struct kp_flow *f = kp_flow_table_find(&e->ft, k);

	return f && f->id == id && !f->ended ? f : NULL;
}

/* Lets the held packet go (accept) or drops it; clears the flow's held bit. */
static void hold_release(struct kp_engine *e, struct kp_hold *h, bool accept)
{
	struct kp_flow *f = live_flow(e, &h->key, h->flow_id);

	if (h->released)
		return;
	h->released = true;
	kp_timing_wait(&e->tm, KP_TS_SCAN_WAIT, h->since_tick);
	if (f && f->content)
		f->content->held &= (uint8_t)~(1u << h->dir);
	if (accept)
		e->content.st.released++;
	else
		e->content.st.hold_dropped++;
	if (e->content.release)
		e->content.release(e->content.release_arg, h->id, accept);
}

bool kp_content_scan_file(struct kp_engine *e, struct kp_flow *f, struct kp_file *fi, bool hold)
{
	struct kp_scan_job *job;

	if (!e->content.scanner || !fi->buf || !fi->blen)
		return false;
	job = calloc(1, sizeof(*job));
	if (!job)
		return false;
	job->buf = fi->buf;
	job->len = fi->blen;
	if (fi->have_sha256)
		memcpy(job->sha256, fi->sha256, 32);
	else
		kp_sha256(fi->buf, fi->blen, job->sha256);
	job->have_sha256 = true;
	job->cookie = fi->id;
	job->user = fi;
	job->submit_us = e->now_us;
	job->doneq = &e->content.doneq;
	if (kp_scanner_submit(e->content.scanner, job)) {
		e->content.st.scan_rejected++;
		fi->scan_note = "queue_full";
		free(job);
		return false;
	}
	/* the scanner owns the bytes now */
	e->content.buffered -= fi->bcap;
	fi->buf = NULL;
	fi->bcap = 0;
	e->content.outstanding++;
	e->content.st.scans_submitted++;
	if (hold && e->inline_mode && e->cfg->scan_hold && e->pkt_flow == f && f->content) {
		struct kp_hold *h = calloc(1, sizeof(*h));

		if (h) {
			h->id = fi->id;
			h->key = f->key;
			h->flow_id = f->id;
			h->dir = e->pkt_dir;
			h->seq = e->pkt_seq;
			h->ack = e->pkt_ack;
			h->since_us = e->now_us;
			h->since_tick = kp_timing_now(&e->tm);
			h->next = e->content.holds;
			e->content.holds = h;
			e->content.hold_now = h->id;
			f->content->held |= (uint8_t)(1u << h->dir);
			fi->hold_id = h->id;
			e->content.st.held++;
		}
	}
	return true;
}

/* A virus in f's content: block it (reset from the held packet if any), list its object id. */
static void virus_block(struct kp_engine *e, struct kp_file *fi, struct kp_hold *h)
{
	struct kp_flow *f = live_flow(e, &fi->ident.key, fi->ident.id);
	struct kp_policy_rule_info ri = {0};
	struct kp_held_pkt hp;
	char text[200];

	if (fi->hlen)
		kp_blocklist_add(e->content.blocklist, fi->hash, fi->hlen, fi->virus);
	if (!f)
		return;
	snprintf(text, sizeof(text), "virus %s", fi->virus);
	ri.name = "virus";
	ri.text = text;
	ri.reset = true;
	if (h) {
		hp.dir = h->dir;
		hp.seq = h->seq;
		hp.ack = h->ack;
	}
	kp_manage_block_content(e, f, &ri, h ? &hp : NULL);
}

static void job_done(struct kp_engine *e, struct kp_scan_job *job)
{
	struct kp_file *fi = job->user;
	struct kp_hold *h = fi->hold_id ? hold_find(e, fi->hold_id) : NULL;
	bool infected = job->result == KP_SCAN_INFECTED;

	e->content.outstanding--;
	e->content.st.scans_done++;
	fi->scan_result = job->result;
	fi->scan_cached = job->cached;
	if (job->cached)
		e->content.st.scans_cached++;
	if (job->result == KP_SCAN_ERROR)
		e->content.st.scan_errors++;
	if (infected) {
		e->content.st.infected++;
		snprintf(fi->virus, sizeof(fi->virus), "%s", job->virus);
		fi->verdict = KP_FV_VIRUS;
		snprintf(fi->rule, sizeof(fi->rule), "virus");
		if (e->out) {
			kp_eve_virus(e, fi);
			e->st.events++;
		}
		virus_block(e, fi, h && !h->released ? h : NULL);
	}
	if (h) {
		if (!h->released)
			hold_release(e, h, !infected && !(job->result == KP_SCAN_ERROR &&
							  e->cfg->scan_fail_closed));
		hold_remove(e, h);
	}
	kp_content_file_event(e, fi);
	kp_file_free(fi);
	kp_scan_job_free(job);
}

void kp_content_poll(struct kp_engine *e)
{
	struct kp_scan_job *job, *next;

	if (!e->content.doneq_ok || !e->content.outstanding)
		return;
	job = kp_scan_doneq_take(&e->content.doneq);
	for (; job; job = next) {
		next = job->next;
		job->next = NULL;
		job_done(e, job);
	}
}

void kp_content_tick(struct kp_engine *e)
{
	uint64_t limit = (uint64_t)e->cfg->scan_timeout * 1000000u;

	for (struct kp_hold *h = e->content.holds; h; h = h->next) {
		if (h->released || e->now_us < h->since_us + limit)
			continue;
		e->content.st.hold_timeouts++;
		if (e->cfg->scan_fail_closed) {
			struct kp_flow *f = live_flow(e, &h->key, h->flow_id);
			struct kp_policy_rule_info ri = {0};
			struct kp_held_pkt hp = {h->dir, h->seq, h->ack};

			ri.name = "scan.fail";
			ri.text = "scan timed out (scan.fail = closed)";
			ri.reset = true;
			if (f)
				kp_manage_block_content(e, f, &ri, &hp);
		}
		hold_release(e, h, !e->cfg->scan_fail_closed);
	}
}

void kp_content_drain(struct kp_engine *e, int timeout_ms)
{
	int waited = 0;

	while (e->content.outstanding && waited < timeout_ms) {
		struct pollfd p = {.fd = e->content.doneq.efd, .events = POLLIN};

		if (poll(&p, 1, 100) < 0 && errno != EINTR)
			break;
		waited += 100;
		kp_content_poll(e);
	}
}

void kp_content_pipe_fini(struct kp_engine *e)
{
	if (!e->content.doneq_ok)
		return;
	/* results still due: wait for them (their events must not be lost) */
	kp_content_drain(e, 60000);
	while (e->content.holds) {
		struct kp_hold *h = e->content.holds;

		hold_release(e, h, !e->cfg->scan_fail_closed);
		hold_remove(e, h);
	}
	kp_scan_doneq_fini(&e->content.doneq);
	e->content.doneq_ok = false;
}
