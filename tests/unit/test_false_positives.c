/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * False positives on random payloads: flows whose bytes come from a fixed-seed
 * PRNG, of many lengths, TCP and UDP, one-way and two-way, go through the whole
 * pipeline (also TCP picked up mid-stream, where peer-wire messages without a
 * handshake are looked for); none may be labelled with a structural P2P label. The rate is
 * printed; the target is < 0.1% of flows.
 *
 * Random bytes are exactly what an encrypted BitTorrent (MSE/PE) handshake
 * looks like, so two-way exchanges whose first flights are 96..608 bytes each
 * way are MSE-shaped by construction: the behavioural rule is expected to call
 * some of them bittorrent. Their rate is printed apart (and bounded to the
 * share of MSE-shaped flows); everything else counts toward the 0.1% target.
 */
#include "pkt_build.h"
#include "tap.h"

static uint32_t rng = 2024;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static void fill(uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)rnd();
}

static unsigned count_p2p(const char *ev, unsigned *low_conf_bt)
{
	unsigned n = 0;
	const char *p = ev;

	*low_conf_bt = 0;
	while ((p = strstr(p, "\"app_proto\":\""))) {
		char lab[32];
		int conf = 0;
		const char *c;

		p += 13;
		sscanf(p, "%31[^\"]", lab);
		c = strstr(p, "\"app_proto_confidence\":");
		if (c)
			conf = atoi(c + 23);
		if (!strcmp(lab, "bittorrent") || !strcmp(lab, "edonkey") || !strcmp(lab, "gnutella") ||
		    !strcmp(lab, "fasttrack") || !strcmp(lab, "directconnect") ||
		    !strcmp(lab, "ares") || !strcmp(lab, "soulseek")) {
			if (!strcmp(lab, "bittorrent") && conf < 90)
				(*low_conf_bt)++;
			else
				n++;
		}
	}
	return n;
}

#define NFLOWS 6000

KP_TEST(random_payloads_are_not_p2p)
{
	struct tpipe t;
	uint8_t buf[1500];
	unsigned flows = 0, mse_shaped = 0, p2p, mse_hits;
	char *ev;

	tpipe_open(&t, NULL);
	for (int i = 0; i < NFLOWS; i++) {
		uint8_t ca = (uint8_t)(1 + i % 250), sa = (uint8_t)(1 + (i / 250) % 250);
		uint16_t cp = (uint16_t)(10000 + i), sp = (uint16_t)(1024 + rnd() % 60000);
		int kind = i % 5, npk = 1 + (int)(rnd() % 4);

		flows++;
		if (kind == 0 || kind == 1) { /* UDP: one-way or two-way datagrams */
			for (int k = 0; k < npk; k++) {
				size_t n = 1 + rnd() % 1400;

				fill(buf, n);
				tpipe_send(&t, IPPROTO_UDP, ca, cp, sa, sp, 0, 0, 0, buf, n,
					   kind == 0 ? 1 : !(k & 1));
			}
		} else if (kind == 4) { /* TCP picked up mid-stream: no handshake seen */
			uint32_t seq[2] = {rnd(), rnd()};

			for (int k = 0; k < npk + 1; k++) {
				size_t n = 1 + rnd() % 1400;
				int to_server = !(k & 1);

				fill(buf, n);
				tpipe_send(&t, IPPROTO_TCP, ca, cp, sa, sp, seq[!to_server],
					   seq[to_server], 0x18, buf, n, to_server);
				seq[!to_server] += (uint32_t)n;
			}
		} else { /* TCP: one-way, or a two-way exchange starting with the client */
			struct tconn c;
			size_t first[2] = {0, 0};

			tconn_open(&c, &t, ca, cp, sa, sp);
			for (int k = 0; k < npk + 1; k++) {
				size_t n = 1 + rnd() % 1400;
				int to_server = kind == 2 ? 1 : !(k & 1);

				if (k < 2 && kind == 3)
					first[k] = n;
				fill(buf, n);
				tconn_send(&c, to_server, buf, n);
			}
			if (kind == 3 && first[0] >= 96 && first[0] <= 608 && first[1] >= 96 &&
			    first[1] <= 608)
				mse_shaped++;
		}
	}
	ev = tpipe_close(&t);
	p2p = count_p2p(ev, &mse_hits);
	printf("random payloads: %u flows; structural P2P labels %u (%.3f%%); "
	       "behavioural bittorrent (MSE/PE) %u of %u MSE-shaped exchanges\n",
	       flows, p2p, 100.0 * p2p / flows, mse_hits, mse_shaped);
	CHECK(p2p * 1000 < flows); /* < 0.1% */
	CHECK(mse_hits <= mse_shaped);
	free(ev);
}

KP_TEST_MAIN()
