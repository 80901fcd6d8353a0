/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Live check of kp_reset_send, run by tests/live/reset-live.sh inside the router
 * namespace: waits (bounded) for one client->server TCP segment with payload to PORT,
 * takes the sequence state from it (server next = ack; client next = seq + len when the
 * router forwards the segment, seq when it drops it: `reset_live PORT drop`), and resets
 * the connection on both sides from the router. Prints what it sent.
 */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "decode/decode.h"
#include "policy/reset.h"

int main(int argc, char **argv)
{
	struct kp_decoder d;
	struct kp_reset *r;
	char err[256];
	uint8_t buf[65536];
	int fd, port, rc;
	bool dropped;
	time_t end;

	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "drop"))) {
		fprintf(stderr, "usage: %s SERVER_PORT [drop]\n", argv[0]);
		return 2;
	}
	port = atoi(argv[1]);
	dropped = argc == 3;
	fd = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL));
	if (fd < 0) {
		perror("AF_PACKET");
		return 1;
	}
	if (kp_reset_open(&r, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	kp_decoder_init(&d, KP_CSUM_MODE_OFF, 0);
	printf("ready\n");
	fflush(stdout);
	end = time(NULL) + 20;
	while (time(NULL) < end) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		struct kp_pkt_info pi;
		ssize_t n;

		if (poll(&pfd, 1, 500) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			continue;
		if (kp_decode_ip(&d, buf, (size_t)n, 0, &pi) != KP_DEC_OK || pi.l4 != IPPROTO_TCP ||
		    pi.dport != port || pi.payload_len == 0)
			continue;
		rc = kp_reset_send(r, pi.family, pi.src, pi.sport, pi.dst, pi.dport,
				   dropped ? pi.seq : pi.seq + pi.payload_len, true, pi.ack, true);
		printf("seen seq=%u len=%u ack=%u; kp_reset_send: %d\n", pi.seq, pi.payload_len,
		       pi.ack, rc);
		kp_reset_close(r);
		kp_decoder_fini(&d);
		close(fd);
		return rc == 2 ? 0 : 1;
	}
	fprintf(stderr, "no client segment seen\n");
	return 1;
}
