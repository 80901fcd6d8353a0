/* SPDX-License-Identifier: GPL-2.0-or-later */
/* TCP resets to both sides of a blocked flow through raw sockets (see reset.h). */
#include "policy/reset.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "decode/decode.h"

#define TCP_F_RST 0x04
#define TCP_F_ACK 0x10
#define TCP_HLEN 20

struct kp_reset {
	int fd4, fd6;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

size_t kp_reset_build(uint8_t *buf, size_t cap, int family, const uint8_t *src, uint16_t sport,
		      const uint8_t *dst, uint16_t dport, uint32_t seq, bool with_ack,
		      uint32_t ack)
{
	size_t iph, alen;
	uint8_t *tcp;
	uint32_t sum;

	if (family == AF_INET) {
		iph = 20;
		alen = 4;
	} else if (family == AF_INET6) {
		iph = 40;
		alen = 16;
	} else {
		return 0;
	}
	if (cap < iph + TCP_HLEN)
		return 0;
	memset(buf, 0, iph + TCP_HLEN);
	if (family == AF_INET) {
		buf[0] = 0x45;
		put16(buf + 2, (uint16_t)(iph + TCP_HLEN));
		buf[6] = 0x40; /* DF */
		buf[8] = 64;
		buf[9] = IPPROTO_TCP;
		memcpy(buf + 12, src, alen);
		memcpy(buf + 16, dst, alen);
		put16(buf + 10, (uint16_t)~kp_csum_fold(kp_csum_add(0, buf, iph)));
	} else {
		buf[0] = 0x60;
		put16(buf + 4, TCP_HLEN);
		buf[6] = IPPROTO_TCP;
		buf[7] = 64;
		memcpy(buf + 8, src, alen);
		memcpy(buf + 24, dst, alen);
	}
	tcp = buf + iph;
	put16(tcp, sport);
	put16(tcp + 2, dport);
	put32(tcp + 4, seq);
	put32(tcp + 8, with_ack ? ack : 0);
	tcp[12] = (TCP_HLEN / 4) << 4;
	tcp[13] = TCP_F_RST | (with_ack ? TCP_F_ACK : 0);
	sum = kp_csum_pseudo(family, src, dst, IPPROTO_TCP, TCP_HLEN);
	put16(tcp + 16, (uint16_t)~kp_csum_fold(kp_csum_add(sum, tcp, TCP_HLEN)));
	return iph + TCP_HLEN;
}

int kp_reset_open(struct kp_reset **rp, char *err, size_t errlen)
{
	struct kp_reset *r = calloc(1, sizeof(*r));
	int e4 = 0, e6 = 0;

	*rp = NULL;
	if (!r) {
		snprintf(err, errlen, "reset: out of memory");
		return -ENOMEM;
	}
	r->fd4 = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (r->fd4 < 0)
		e4 = errno;
	r->fd6 = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (r->fd6 < 0)
		e6 = errno;
	if (r->fd4 < 0 && r->fd6 < 0) {
		snprintf(err, errlen, "reset: raw sockets: IPv4: %s; IPv6: %s (CAP_NET_RAW?)",
			 strerror(e4), strerror(e6));
		free(r);
		return -e4;
	}
	if (r->fd4 >= 0) {
		int one = 1;

		/* implied by IPPROTO_RAW; said explicitly */
		if (setsockopt(r->fd4, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)) < 0) {
			e4 = errno;
			snprintf(err, errlen, "reset: IP_HDRINCL: %s", strerror(e4));
			kp_reset_close(r);
			return -e4;
		}
	}
	*rp = r;
	return 0;
}

void kp_reset_close(struct kp_reset *r)
{
	if (!r)
		return;
	if (r->fd4 >= 0)
		close(r->fd4);
	if (r->fd6 >= 0)
		close(r->fd6);
	free(r);
}

static int send_one(struct kp_reset *r, int family, const uint8_t *src, uint16_t sport,
		    const uint8_t *dst, uint16_t dport, uint32_t seq, bool with_ack, uint32_t ack)
{
	uint8_t pkt[KP_RESET_MAX_LEN];
	size_t len = kp_reset_build(pkt, sizeof(pkt), family, src, sport, dst, dport, seq,
				    with_ack, ack);
	struct sockaddr_in a4;
	struct sockaddr_in6 a6;
	const struct sockaddr *sa;
	socklen_t salen;
	int fd;

	if (!len)
		return -EAFNOSUPPORT;
	if (family == AF_INET) {
		memset(&a4, 0, sizeof(a4));
		a4.sin_family = AF_INET;
		memcpy(&a4.sin_addr, dst, 4);
		sa = (const struct sockaddr *)&a4;
		salen = sizeof(a4);
		fd = r->fd4;
	} else {
		memset(&a6, 0, sizeof(a6));
		a6.sin6_family = AF_INET6;
		memcpy(&a6.sin6_addr, dst, 16);
		sa = (const struct sockaddr *)&a6;
		salen = sizeof(a6);
		fd = r->fd6;
	}
	if (fd < 0)
		return -EAFNOSUPPORT;
	if (sendto(fd, pkt, len, MSG_DONTWAIT, sa, salen) < 0)
		return -errno;
	return 0;
}

int kp_reset_send(struct kp_reset *r, int family, const uint8_t *caddr, uint16_t cport,
		  const uint8_t *saddr, uint16_t sport, uint32_t client_next_seq,
		  bool client_seq_known, uint32_t server_next_seq, bool server_seq_known)
{
	int sent = 0, first_err = 0, rc;

	if (client_seq_known) {
		rc = send_one(r, family, caddr, cport, saddr, sport, client_next_seq,
			      server_seq_known, server_next_seq);
		if (rc)
			first_err = rc;
		else
			sent++;
	}
	if (server_seq_known) {
		rc = send_one(r, family, saddr, sport, caddr, cport, server_next_seq,
			      client_seq_known, client_next_seq);
		if (rc && !first_err)
			first_err = rc;
		else if (!rc)
			sent++;
	}
	return first_err ? first_err : sent;
}
