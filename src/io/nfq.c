/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * NFQUEUE packet source over libmnl and libnetfilter_queue's mnl helpers (see nfq.h).
 *
 * A run reads up to cfg.batch packet messages, decides each through the
 * callback at once (the payload points into the receive buffer, which is only
 * valid during the callback), records the verdicts, and then writes them into
 * one buffer: per queue, a run of plain accepts becomes one NFQNL_MSG_VERDICT_BATCH
 * (id = the run's last id); a drop or a mark first closes its queue's run and
 * then gets its own NFQNL_MSG_VERDICT. The buffer goes out in one sendto
 * (netlink takes several messages per datagram).
 */
#include "io/nfq.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "decode/decode.h"

#define KP_NFQ_RXBUF (256 * 1024)  /* one packet message: up to 64 KB payload + attributes */
#define KP_NFQ_MSG_MAX 64          /* bytes of one verdict message (40 with a mark), rounded up */
#define KP_NFQ_MAX_QUEUES 64
#define KP_NFQ_ACK_TIMEOUT_MS 2000

static const uint8_t kp_nfq_empty[1]; /* data of a packet message without payload */

struct kp_nfq_vrec {
	uint32_t id;
	uint32_t mark;
	uint16_t qi;      /* index into q->queues */
	int verdict;
	bool set_mark;
};

struct kp_nfq_qstate {
	uint16_t num;
	bool run;         /* a run of plain accepts is open (during a flush) */
	bool seen;        /* some packet of this queue was seen: last_id is valid */
	uint32_t run_id;
	uint32_t last_id;
	uint32_t held;    /* packets held without a verdict (KP_NFQ_HOLD): no batch verdicts then */
};

struct kp_nfq {
	struct kp_nfq_config cfg;
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	struct kp_nfq_qstate queues[KP_NFQ_MAX_QUEUES];
	unsigned nq;
	uint8_t *rx;
	struct kp_nfq_vrec *v;   /* verdicts of this run, in arrival order */
	unsigned nv, vcap;
	char *tx;
	size_t txcap;
	struct kp_nfq_stats st;
	char err[256];
	struct kp_timing *tm;    /* the pipeline's stage times (NULL = none) */
	uint64_t rx_tick;        /* clock before the recv that brought a sampled packet, 0 = none */
};

static void set_err(struct kp_nfq *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(struct kp_nfq *q, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q->err, sizeof(q->err), fmt, ap);
	va_end(ap);
}

void kp_nfq_config_default(struct kp_nfq_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->queue_first = 0;
	cfg->queue_count = 1;
	cfg->copy_range = 0xffff;
	cfg->rcvbuf = 8u << 20;
	cfg->maxlen = 8192;
	cfg->gso = true;
	cfg->fail_open = true;
	cfg->batch = 64;
}

static int queue_index(const struct kp_nfq *q, uint16_t num)
{
	for (unsigned i = 0; i < q->nq; i++)
		if (q->queues[i].num == num)
			return (int)i;
	return -1;
}

/* ---- verdicts ---- */

static struct nlmsghdr *tx_put(struct kp_nfq *q, size_t *pos, int type, uint16_t queue)
{
	struct nlmsghdr *nlh;

	if (*pos + KP_NFQ_MSG_MAX > q->txcap)
		return NULL;
	nlh = nfq_nlmsg_put(q->tx + *pos, type, queue);
	return nlh;
}

static void tx_done(size_t *pos, const struct nlmsghdr *nlh)
{
	*pos += MNL_ALIGN(nlh->nlmsg_len);
}

static void put_batch(struct kp_nfq *q, size_t *pos, struct kp_nfq_qstate *qs)
{
	struct nlmsghdr *nlh = tx_put(q, pos, NFQNL_MSG_VERDICT_BATCH, qs->num);

	if (!nlh)
		return; /* cannot happen: txcap covers 2 messages per verdict + 1 per queue */
	nfq_nlmsg_verdict_put(nlh, (int)qs->run_id, NF_ACCEPT);
	tx_done(pos, nlh);
	qs->run = false;
	q->st.batch_msgs++;
	q->st.verdicts_sent++;
}

static int send_tx(struct kp_nfq *q, size_t len)
{
	if (!len)
		return 0;
	for (int tries = 0; tries < 3; tries++) {
		if (mnl_socket_sendto(q->nl, q->tx, len) >= 0)
			return 0;
		if (errno != EINTR && errno != ENOBUFS && errno != ENOMEM && errno != EAGAIN)
			break;
	}
	q->st.send_errors++;
	set_err(q, "nfq: sending verdicts: %s", strerror(errno));
	return -1;
}

/* Writes and sends the recorded verdicts (see the file comment). */
static int flush_verdicts(struct kp_nfq *q)
{
	size_t pos = 0;

	for (unsigned i = 0; i < q->nv; i++) {
		const struct kp_nfq_vrec *r = &q->v[i];
		struct kp_nfq_qstate *qs = &q->queues[r->qi];
		struct nlmsghdr *nlh;

		if (r->verdict == NF_ACCEPT && !r->set_mark && !qs->held) {
			qs->run = true;
			qs->run_id = r->id;
			continue;
		}
		if (qs->run)
			put_batch(q, &pos, qs);
		nlh = tx_put(q, &pos, NFQNL_MSG_VERDICT, qs->num);
		if (!nlh)
			continue;
		nfq_nlmsg_verdict_put(nlh, (int)r->id, r->verdict);
		if (r->set_mark)
			nfq_nlmsg_verdict_put_mark(nlh, r->mark);
		tx_done(&pos, nlh);
		q->st.verdicts_sent++;
	}
	for (unsigned i = 0; i < q->nq; i++)
		if (q->queues[i].run)
			put_batch(q, &pos, &q->queues[i]);
	if (q->tm && q->tm->nvpend && q->nv) {
		/* the send is shared by the batch: each sampled packet's verdict gets its part */
		uint64_t t0 = kp_timing_now(q->tm);
		int rc = send_tx(q, pos);

		kp_timing_verdicts_sent(q->tm, kp_timing_now(q->tm) - t0, q->nv);
		q->nv = 0;
		return rc;
	}
	q->nv = 0;
	return send_tx(q, pos);
}

/* ---- packets ---- */

static uint64_t now_realtime_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Parses one NFQNL_MSG_PACKET, asks cb (NULL: accept) and records the verdict; false when
 * the message is no packet to decide. */
static bool handle_packet_msg(struct kp_nfq *q, const struct nlmsghdr *nlh, kp_nfq_cb cb,
			      void *arg)
{
	struct nlattr *attr[NFQA_MAX + 1];
	const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);
	const struct nfqnl_msg_packet_hdr *ph;
	struct kp_nfq_pkt p;
	struct kp_nfq_vrec *r;
	uint32_t mark;
	bool set_mark = false;
	int qi, verdict = NF_ACCEPT;

	memset(attr, 0, sizeof(attr));
	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*nfg) || nfq_nlmsg_parse(nlh, attr) < 0 ||
	    !attr[NFQA_PACKET_HDR] ||
	    mnl_attr_get_payload_len(attr[NFQA_PACKET_HDR]) < sizeof(*ph)) {
		q->st.recv_errors++;
		return false;
	}
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	memset(&p, 0, sizeof(p));
	p.id = ntohl(ph->packet_id);
	p.queue = ntohs(nfg->res_id);
	qi = queue_index(q, p.queue);
	if (qi < 0) {
		q->st.recv_errors++;
		return false;
	}

	p.pkt.data = kp_nfq_empty;
	if (attr[NFQA_PAYLOAD]) {
		p.pkt.data = mnl_attr_get_payload(attr[NFQA_PAYLOAD]);
		p.pkt.caplen = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
	}
	p.pkt.len = p.pkt.caplen;
	if (attr[NFQA_CAP_LEN]) {
		uint32_t orig = ntohl(mnl_attr_get_u32(attr[NFQA_CAP_LEN]));

		if (orig > p.pkt.caplen) {
			p.pkt.len = orig;
			q->st.truncated++;
		}
	}
	p.pkt.dlt = KP_DLT_RAW;
	if (attr[NFQA_MARK])
		p.pkt.mark = ntohl(mnl_attr_get_u32(attr[NFQA_MARK]));
	if (attr[NFQA_SKB_INFO])
		p.skb_info = ntohl(mnl_attr_get_u32(attr[NFQA_SKB_INFO]));
	if (p.skb_info & NFQA_SKB_CSUMNOTREADY) {
		p.pkt.flags |= KP_PKT_CSUM_OK;
		q->st.csum_partial++;
	}
	if (p.skb_info & NFQA_SKB_GSO)
		q->st.gso++;
	if (attr[NFQA_IFINDEX_INDEV])
		p.indev = ntohl(mnl_attr_get_u32(attr[NFQA_IFINDEX_INDEV]));
	if (attr[NFQA_IFINDEX_OUTDEV])
		p.outdev = ntohl(mnl_attr_get_u32(attr[NFQA_IFINDEX_OUTDEV]));
	if (attr[NFQA_TIMESTAMP] &&
	    mnl_attr_get_payload_len(attr[NFQA_TIMESTAMP]) >= sizeof(struct nfqnl_msg_packet_timestamp)) {
		const struct nfqnl_msg_packet_timestamp *ts = mnl_attr_get_payload(attr[NFQA_TIMESTAMP]);

		p.pkt.ts_us = be64toh(ts->sec) * 1000000u + be64toh(ts->usec);
	} else {
		p.pkt.ts_us = now_realtime_us();
	}

	q->st.received++;
	q->st.bytes += p.pkt.len;
	q->st.copied += p.pkt.caplen;
	if (p.pkt.len > q->st.max_len)
		q->st.max_len = p.pkt.len;
	q->queues[qi].seen = true;
	q->queues[qi].last_id = p.id;

	mark = p.pkt.mark;
	if (cb)
		verdict = cb(arg, &p, &mark, &set_mark);
	if (q->tm)
		KP_TIMING_STAGE(q->tm, KP_TS_VERDICT);
	if (verdict == KP_NFQ_HOLD) {
		/* no verdict now: kp_nfq_release() gives it later; no batch may cover it meanwhile */
		q->queues[qi].held++;
		q->st.held++;
		return true;
	}
	if (verdict != NF_ACCEPT)
		q->st.drops += verdict == NF_DROP;
	if (set_mark)
		q->st.marks++;

	if (q->nv == q->vcap)
		flush_verdicts(q);
	r = &q->v[q->nv++];
	r->id = p.id;
	r->qi = (uint16_t)qi;
	r->verdict = verdict;
	r->mark = mark;
	r->set_mark = set_mark;
	return true;
}

/* handle_packet_msg() timed: the receive stage is the recv (when this packet's datagram was
 * read for it) and the parse; the verdict stage ends with the verdict recorded. */
static void handle_packet(struct kp_nfq *q, const struct nlmsghdr *nlh, kp_nfq_cb cb, void *arg)
{
	struct kp_timing *tm = cb ? q->tm : NULL;

	if (!tm) {
		handle_packet_msg(q, nlh, cb, arg);
		return;
	}
	kp_timing_begin(tm, q->rx_tick);
	q->rx_tick = 0;
	if (!handle_packet_msg(q, nlh, cb, arg)) {
		kp_timing_cancel(tm);
		return;
	}
	kp_timing_end(tm);
}

/*
 * Walks the messages of one datagram. Packets go to cb; an NLMSG_ERROR whose
 * sequence is ack_seq (nonzero) is returned through *ack (0 or -errno) and
 * makes the function return 1; other errors are counted.
 */
static int walk_msgs(struct kp_nfq *q, const uint8_t *buf, size_t n, kp_nfq_cb cb, void *arg,
		     int *handled, uint32_t ack_seq, int *ack)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int len = (int)n, got_ack = 0;

	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		if (nlh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*e))
				continue;
			if (ack_seq && nlh->nlmsg_seq == ack_seq) {
				*ack = e->error;
				got_ack = 1;
			} else if (e->error) {
				q->st.nl_errors++;
			}
			continue;
		}
		if (nlh->nlmsg_type == ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET)) {
			handle_packet(q, nlh, cb, arg);
			if (handled)
				(*handled)++;
		}
	}
	return got_ack;
}

int kp_nfq_run_once(struct kp_nfq *q, int timeout_ms, kp_nfq_cb cb, void *arg)
{
	struct pollfd pfd = { .fd = mnl_socket_get_fd(q->nl), .events = POLLIN };
	int r, handled = 0, fatal = 0;
	unsigned spins = 0;

	r = poll(&pfd, 1, timeout_ms);
	if (r < 0) {
		if (errno == EINTR)
			return 0;
		set_err(q, "nfq: poll: %s", strerror(errno));
		return -1;
	}
	if (r == 0)
		return 0;
	while ((uint32_t)handled < q->cfg.batch && spins++ < 2 * q->cfg.batch + 8) {
		ssize_t n;

		/* the next packet is sampled: its receive stage starts with this recv */
		q->rx_tick = q->tm && kp_timing_next_sampled(q->tm) ? kp_timing_now(q->tm) : 0;
		n = recv(pfd.fd, q->rx, KP_NFQ_RXBUF, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				break;
			if (errno == ENOBUFS) {
				q->st.enobufs++;
				continue;
			}
			q->st.recv_errors++;
			set_err(q, "nfq: recv: %s", strerror(errno));
			fatal = 1;
			break;
		}
		if (n == 0)
			break;
		walk_msgs(q, q->rx, (size_t)n, cb, arg, &handled, 0, NULL);
	}
	flush_verdicts(q);
	return fatal ? -1 : handled;
}

int kp_nfq_release(struct kp_nfq *q, uint16_t queue, uint32_t id, int verdict)
{
	struct nlmsghdr *nlh;
	size_t pos;
	int qi = queue_index(q, queue);

	if (qi < 0)
		return -1;
	/* verdicts recorded so far go first, then this one alone */
	flush_verdicts(q);
	pos = 0;
	nlh = tx_put(q, &pos, NFQNL_MSG_VERDICT, queue);
	if (!nlh)
		return -1;
	nfq_nlmsg_verdict_put(nlh, (int)id, verdict);
	tx_done(&pos, nlh);
	q->st.verdicts_sent++;
	if (verdict == NF_DROP)
		q->st.drops++;
	if (q->queues[qi].held)
		q->queues[qi].held--;
	q->st.released++;
	return send_tx(q, pos);
}

int kp_nfq_release_upto(struct kp_nfq *q, uint16_t queue, uint32_t id, uint32_t held_count)
{
	struct kp_nfq_qstate *qs;
	size_t pos = 0;
	int qi = queue_index(q, queue);

	if (qi < 0)
		return -1;
	qs = &q->queues[qi];
	flush_verdicts(q);
	qs->run_id = id;
	put_batch(q, &pos, qs);
	qs->held = qs->held > held_count ? qs->held - held_count : 0;
	q->st.released += held_count;
	return send_tx(q, pos);
}

/* ---- configuration ---- */

/* Sends the config message in q->tx with an ack request and waits for the kernel's answer.
 * Packets arriving meanwhile are accepted. Returns 0 or -errno. */
static int cfg_request(struct kp_nfq *q, struct nlmsghdr *nlh)
{
	int fd = mnl_socket_get_fd(q->nl), ack = -ETIMEDOUT;
	struct timespec t0, t;

	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = ++q->seq;
	if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long el;
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &t);
		el = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (el >= KP_NFQ_ACK_TIMEOUT_MS)
			break;
		if (poll(&pfd, 1, (int)(KP_NFQ_ACK_TIMEOUT_MS - el)) <= 0)
			continue;
		n = recv(fd, q->rx, KP_NFQ_RXBUF, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == ENOBUFS)
				q->st.enobufs++;
			continue;
		}
		if (walk_msgs(q, q->rx, (size_t)n, NULL, NULL, NULL, q->seq, &ack))
			break;
	}
	if (q->nv)
		flush_verdicts(q);
	return ack;
}

static int cfg_cmd(struct kp_nfq *q, uint16_t queue, uint8_t cmd)
{
	char buf[256];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue);

	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, cmd);
	return cfg_request(q, nlh);
}

static int cfg_params(struct kp_nfq *q, uint16_t queue, uint32_t range, uint32_t maxlen)
{
	char buf[256];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue);

	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, (int)range);
	if (maxlen)
		nfq_nlmsg_cfg_put_qmaxlen(nlh, maxlen);
	return cfg_request(q, nlh);
}

static int cfg_flags(struct kp_nfq *q, uint16_t queue, uint32_t flags)
{
	char buf[256];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue);

	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(flags));
	return cfg_request(q, nlh);
}

static const char *flag_name(uint32_t f)
{
	return f == NFQA_CFG_F_GSO ? "GSO" : f == NFQA_CFG_F_FAIL_OPEN ? "FAIL_OPEN" : "?";
}

/* Asks for each wanted flag separately so that one refusal does not cost the other. */
static void set_flags(struct kp_nfq *q, uint16_t queue)
{
	static const uint32_t all[] = { NFQA_CFG_F_GSO, NFQA_CFG_F_FAIL_OPEN };

	for (unsigned i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		uint32_t f = all[i];
		int r;

		if ((f == NFQA_CFG_F_GSO && !q->cfg.gso) ||
		    (f == NFQA_CFG_F_FAIL_OPEN && !q->cfg.fail_open))
			continue;
		r = cfg_flags(q, queue, f);
		if (r == 0) {
			q->st.flags_granted |= f;
		} else {
			q->st.flags_refused |= f;
			set_err(q, "nfq: warning: queue %u: kernel refused NFQA_CFG_F_%s (%s); "
				"continuing without it", queue, flag_name(f), strerror(-r));
		}
	}
}

static void set_rcvbuf(struct kp_nfq *q)
{
	int fd = mnl_socket_get_fd(q->nl), v = (int)q->cfg.rcvbuf, got = 0;
	socklen_t sl = sizeof(got);

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) == 0)
		q->st.rcvbuf_forced = true;
	else
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &sl) == 0)
		q->st.rcvbuf = (uint32_t)got;
	if (!q->st.rcvbuf_forced && (uint32_t)got < q->cfg.rcvbuf)
		set_err(q, "nfq: warning: SO_RCVBUFFORCE refused, receive buffer %d bytes instead "
			"of %u (raise net.core.rmem_max)", got, q->cfg.rcvbuf);
}

static int add_queue(struct kp_nfq *q, uint16_t num)
{
	if (queue_index(q, num) >= 0)
		return 0;
	if (q->nq == KP_NFQ_MAX_QUEUES)
		return -1;
	q->queues[q->nq++].num = num;
	return 0;
}

static void nfq_free(struct kp_nfq *q)
{
	if (q->nl)
		mnl_socket_close(q->nl);
	free(q->rx);
	free(q->v);
	free(q->tx);
	free(q);
}

int kp_nfq_open(struct kp_nfq **out, const struct kp_nfq_config *cfg, char *err, size_t errlen)
{
	struct kp_nfq *q;
	unsigned bound = 0;
	int r;

	*out = NULL;
	q = calloc(1, sizeof(*q));
	if (!q) {
		snprintf(err, errlen, "nfq: out of memory");
		return -1;
	}
	q->cfg = *cfg;
	if (!q->cfg.copy_range || q->cfg.copy_range > 0xffff)
		q->cfg.copy_range = 0xffff;
	if (!q->cfg.rcvbuf)
		q->cfg.rcvbuf = 8u << 20;
	if (!q->cfg.maxlen)
		q->cfg.maxlen = 8192;
	if (!q->cfg.batch)
		q->cfg.batch = 64;
	if (q->cfg.batch > 65536)
		q->cfg.batch = 65536;
	for (uint32_t i = 0; i < cfg->queue_count; i++)
		if (add_queue(q, (uint16_t)(cfg->queue_first + i)) < 0)
			goto too_many;
	for (uint16_t i = 0; i < cfg->extra_count && cfg->extra_queues; i++)
		if (add_queue(q, cfg->extra_queues[i]) < 0)
			goto too_many;
	if (!q->nq) {
		snprintf(err, errlen, "nfq: no queue to bind");
		nfq_free(q);
		return -1;
	}
	q->cfg.extra_queues = NULL; /* not kept: the caller's array */
	q->vcap = q->cfg.batch;
	q->txcap = (2 * (size_t)q->vcap + q->nq + 4) * KP_NFQ_MSG_MAX;
	q->rx = malloc(KP_NFQ_RXBUF);
	q->v = calloc(q->vcap, sizeof(*q->v));
	q->tx = malloc(q->txcap);
	if (!q->rx || !q->v || !q->tx) {
		snprintf(err, errlen, "nfq: out of memory");
		nfq_free(q);
		return -1;
	}

	q->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!q->nl) {
		snprintf(err, errlen, "nfq: netlink socket: %s", strerror(errno));
		nfq_free(q);
		return -1;
	}
	if (mnl_socket_bind(q->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, errlen, "nfq: netlink bind: %s", strerror(errno));
		nfq_free(q);
		return -1;
	}
	q->portid = mnl_socket_get_portid(q->nl);
	set_rcvbuf(q);

	for (bound = 0; bound < q->nq; bound++) {
		uint16_t num = q->queues[bound].num;

		r = cfg_cmd(q, num, NFQNL_CFG_CMD_BIND);
		if (r < 0) {
			snprintf(err, errlen, "nfq: binding queue %u: %s%s", num, strerror(-r),
				 r == -EBUSY ? " (another process holds it)" :
				 r == -EPERM ? " (needs CAP_NET_ADMIN)" : "");
			goto fail;
		}
		r = cfg_params(q, num,
			       bound >= cfg->queue_count && cfg->extra_copy_range ?
				       cfg->extra_copy_range : q->cfg.copy_range,
			       q->cfg.maxlen);
		if (r < 0) {
			snprintf(err, errlen, "nfq: queue %u: setting copy mode/queue length: %s",
				 num, strerror(-r));
			bound++;
			goto fail;
		}
		set_flags(q, num);
	}
	if (q->err[0])
		snprintf(err, errlen, "%s", q->err);
	else if (errlen)
		err[0] = '\0';
	*out = q;
	return 0;

too_many:
	snprintf(err, errlen, "nfq: more than %d queues on one socket", KP_NFQ_MAX_QUEUES);
	nfq_free(q);
	return -1;
fail:
	while (bound-- > 0)
		cfg_cmd(q, q->queues[bound].num, NFQNL_CFG_CMD_UNBIND);
	nfq_free(q);
	return -1;
}

int kp_nfq_set_copy_range(struct kp_nfq *q, uint32_t copy_range)
{
	size_t pos = 0;

	if (!copy_range || copy_range > 0xffff)
		copy_range = 0xffff;
	for (unsigned i = 0; i < q->nq; i++) {
		struct nlmsghdr *nlh = tx_put(q, &pos, NFQNL_MSG_CONFIG, q->queues[i].num);

		if (!nlh)
			break;
		nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, (int)copy_range);
		tx_done(&pos, nlh);
	}
	q->cfg.copy_range = copy_range;
	return send_tx(q, pos);
}

int kp_nfq_fd(const struct kp_nfq *q)
{
	return mnl_socket_get_fd(q->nl);
}

void kp_nfq_set_timing(struct kp_nfq *q, struct kp_timing *tm)
{
	q->tm = tm && tm->st.sample ? tm : NULL;
	if (q->tm)
		kp_timing_defer_verdicts(q->tm); /* counted when flush_verdicts() sends them */
}

const struct kp_nfq_stats *kp_nfq_stats(const struct kp_nfq *q)
{
	return &q->st;
}

const char *kp_nfq_error(const struct kp_nfq *q)
{
	return q->err;
}

void kp_nfq_close(struct kp_nfq *q)
{
	int fd;
	size_t pos = 0;

	if (!q)
		return;
	fd = mnl_socket_get_fd(q->nl);
	/* Accept what is still in the socket, then everything up to the last id seen per queue
	 * (covers messages lost to ENOBUFS): unbinding would otherwise drop queued packets. */
	for (int i = 0; i < 4096; i++) {
		ssize_t n = recv(fd, q->rx, KP_NFQ_RXBUF, MSG_DONTWAIT);

		if (n < 0 && errno == ENOBUFS) {
			q->st.enobufs++;
			continue;
		}
		if (n <= 0)
			break;
		walk_msgs(q, q->rx, (size_t)n, NULL, NULL, NULL, 0, NULL);
	}
	flush_verdicts(q);
	for (unsigned i = 0; i < q->nq; i++) {
		if (!q->queues[i].seen)
			continue;
		q->queues[i].run_id = q->queues[i].last_id;
		put_batch(q, &pos, &q->queues[i]);
	}
	send_tx(q, pos);
	for (unsigned i = 0; i < q->nq; i++)
		cfg_cmd(q, q->queues[i].num, NFQNL_CFG_CMD_UNBIND);
	nfq_free(q);
}
