/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of what the chat modules report (issue 4 §1): IRC chat and DCC
 * SEND offers (listed and announced), MSN MSG payloads (text, base64, members
 * of the switchboard session, file invitations, MSNP2P offers) and XMPP
 * message stanzas (entities, CDATA, the bound JID, STARTTLS). The modules
 * (irc.c, msn.c, xmpp.c) are linked alone with a recording fake of the
 * services they call (content_fake.c), and fed the TCP payloads of the project's
 * own captures (tests/captures/pcap: irc-ngircd, msn-switchboard,
 * xmpp-prosody; skipped with a message when absent), whole and cut into small
 * chunks; hostile inputs must neither crash nor over-read (ASan build).
 */
#define _GNU_SOURCE
#include "tap.h"
#include "content_fake.h"

#include "app/app.h"
#include "app/irc.h"
#include "app/msn.h"
#include "app/xmpp.h"
#include "content/content.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

KP_TEST_MAIN()

/* ---- replay of one capture's TCP flows to a server port through one module ---- */

#define RFLOWS 8

struct rflow {
	uint8_t caddr[4], saddr[4];
	uint16_t cport, sport;
	uint32_t next[2];
	bool seen[2];
	bool done;
	void *state;
	struct kp_match label;
};

static const char *cap_path(const char *name, char *buf, size_t n)
{
	const char *src = getenv("KP_SRC");
	struct stat sb;

	snprintf(buf, n, "%s/tests/captures/pcap/%s", src ? src : ".", name);
	if (stat(buf, &sb) == 0)
		return buf;
	snprintf(buf, n, "../tests/captures/pcap/%s", name);
	return stat(buf, &sb) == 0 ? buf : NULL;
}

static void feed_chunk(const struct kp_app_module *mod, struct rflow *f, unsigned dir,
		       const uint8_t *d, size_t n, size_t step)
{
	if (step == 0)
		step = n;
	for (size_t off = 0; off < n && !f->done; off += step) {
		struct kp_app_ctx ctx;
		size_t len = n - off < step ? n - off : step;
		/* each chunk in its own exact heap block: ASan sees any read past it */
		uint8_t *chunk = malloc(len);

		memcpy(chunk, d + off, len);
		memset(&ctx, 0, sizeof(ctx));
		ctx.l4 = IPPROTO_TCP;
		ctx.dir = (uint8_t)dir;
		ctx.data = chunk;
		ctx.len = len;
		ctx.cport = f->cport;
		ctx.sport = f->sport;
		ctx.family = AF_INET;
		ctx.caddr = f->caddr;
		ctx.saddr = f->saddr;
		ctx.label = &f->label;
		if (mod->parse(&ctx, f->state) == KP_PARSE_DONE)
			f->done = true;
		free(chunk);
	}
}

/*
 * Feeds every TCP flow to `port` of capture `name` to mod, payloads in capture
 * order, in chunks of `step` bytes (0: as captured). Returns the number of
 * flows, or -1 when the capture is absent.
 */
static int replay(const char *name, uint16_t port, const struct kp_app_module *mod, size_t step)
{
	char path[512], err[PCAP_ERRBUF_SIZE];
	struct rflow fl[RFLOWS];
	struct pcap_pkthdr *h;
	const uint8_t *p;
	unsigned nf = 0;
	pcap_t *pc;

	if (!cap_path(name, path, sizeof(path))) {
		printf("skip: %s absent\n", name);
		return -1;
	}
	pc = pcap_open_offline(path, err);
	if (!pc)
		return -1;
	memset(fl, 0, sizeof(fl));
	while (pcap_next_ex(pc, &h, &p) == 1) {
		size_t n = h->caplen, ihl, thl, tot;
		const uint8_t *ip, *tcp;
		uint16_t sp, dp;
		uint32_t seq;
		unsigned dir, k;
		struct rflow *f = NULL;

		if (n < 14 + 20 || p[12] != 0x08 || p[13] != 0x00)
			continue;
		ip = p + 14;
		ihl = (size_t)(ip[0] & 15) * 4;
		tot = (size_t)ip[2] << 8 | ip[3];
		if (ip[9] != IPPROTO_TCP || ihl < 20 || tot > n - 14 || tot < ihl + 20)
			continue;
		tcp = ip + ihl;
		thl = (size_t)(tcp[12] >> 4) * 4;
		if (thl < 20 || ihl + thl > tot)
			continue;
		sp = (uint16_t)(tcp[0] << 8 | tcp[1]);
		dp = (uint16_t)(tcp[2] << 8 | tcp[3]);
		seq = (uint32_t)tcp[4] << 24 | (uint32_t)tcp[5] << 16 | (uint32_t)tcp[6] << 8 |
		      tcp[7];
		if (sp != port && dp != port)
			continue;
		dir = sp == port ? KP_DIR_TOCLIENT : KP_DIR_TOSERVER;
		for (k = 0; k < nf; k++)
			if ((dir ? fl[k].cport == dp : fl[k].cport == sp))
				f = &fl[k];
		if (!f) {
			if (nf == RFLOWS || !(tcp[13] & 0x02) || dir != KP_DIR_TOSERVER)
				continue;
			f = &fl[nf++];
			memcpy(f->caddr, ip + 12, 4);
			memcpy(f->saddr, ip + 16, 4);
			f->cport = sp;
			f->sport = dp;
			f->state = calloc(1, mod->state_size);
			f->label.app = 0;
		}
		if (tcp[13] & 0x02) {
			f->next[dir] = seq + 1;
			f->seen[dir] = true;
			continue;
		}
		if (!f->seen[dir] || tot == ihl + thl)
			continue;
		{
			const uint8_t *d = tcp + thl;
			size_t len = tot - ihl - thl;
			uint32_t skip = f->next[dir] - seq;

			if ((int32_t)skip < 0 || skip >= len)
				continue; /* ahead (none in these captures) or a retransmission */
			f->next[dir] += (uint32_t)(len - skip);
			feed_chunk(mod, f, dir, d + skip, len - skip, step);
		}
	}
	pcap_close(pc);
	for (unsigned k = 0; k < nf; k++) {
		if (mod->free_state)
			mod->free_state(fl[k].state);
		free(fl[k].state);
	}
	return (int)nf;
}

/* Feeds one direction's bytes (a string) to a fresh-or-given state. */
static void feed_str(const struct kp_app_module *mod, void *state, unsigned dir, const char *s,
		     size_t n, size_t step)
{
	struct rflow f;

	memset(&f, 0, sizeof(f));
	f.state = state;
	f.cport = 40000;
	f.sport = 1;
	feed_chunk(mod, &f, dir, (const uint8_t *)s, n, step);
}

/* Forgets the calls and sets what the fake answers for chats and files. */
static void reset(bool chat, bool files)
{
	fake_reset();
	fake_chat_wanted = chat;
	fake_files_wanted = files;
}

static int chat_is(unsigned i, const char *cmd, const char *from, const char *to,
		   const char *text, int dir)
{
	const struct fake_ev *c = fake_nth(FK_CHAT, i);

	if (c && !strcmp(c->what, cmd) && !strcmp(c->from, from) && !strcmp(c->to, to) &&
	    c->name_len == strlen(text) && memcmp(c->name, text, c->name_len) == 0 && c->dir == dir)
		return 0;
	fprintf(stderr, "  chat %u: want %s \"%s\" -> \"%s\" [%s] dir %d\n", i, cmd, from, to, text,
		dir);
	if (c)
		fprintf(stderr, "          got %s \"%s\" -> \"%s\" [%.*s] dir %d\n", c->what,
			c->from, c->to, (int)c->name_len, (const char *)c->name, c->dir);
	else
		fprintf(stderr, "          got none\n");
	return 1;
}

static int listed_is(unsigned i, const char *what, const char *name, uint64_t size)
{
	const struct fake_ev *c = fake_nth(FK_LISTED, i);

	if (c && !strcmp(c->what, what) && c->name_len == strlen(name) &&
	    memcmp(c->name, name, c->name_len) == 0 && c->size == size)
		return 0;
	fprintf(stderr, "  listed %u: want %s \"%s\" %llu; got %s\n", i, what, name,
		(unsigned long long)size, c ? (const char *)c->name : "none");
	return 1;
}

/* ---- IRC ---- */

static const size_t steps[] = {0, 1, 7, 100};

KP_TEST(irc_dcc_offer_from_capture)
{
	for (unsigned s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		const struct fake_ev *a, *e;

		reset(true, true);
		if (replay("irc-ngircd.pcap", 6667, &kp_mod_irc, steps[s]) < 0)
			return;
		/*
		 * irc-ngircd.pcap, alice's session: "PRIVMSG bob :\x01DCC SEND
		 * kp2padm-dcc.bin 3323068417 45000 16384\x01" (toserver).
		 */
		CHECK_EQ(fake_count(FK_LISTED), 1);
		*kp_failed += listed_is(0, "offer", "kp2padm-dcc.bin", 16384);
		CHECK_EQ(fake_nth(FK_LISTED, 0)->dir, KP_DIR_TOSERVER);
		a = fake_nth(FK_ANNOUNCE, 0);
		CHECK_EQ(fake_count(FK_ANNOUNCE), 1);
		CHECK(a && a->name_len == 15 && memcmp(a->name, "kp2padm-dcc.bin", 15) == 0 &&
		      a->size == 16384);
		e = fake_nth(FK_EXPECT, 0);
		CHECK(e && e->port == 45000 && e->family == AF_INET &&
		      memcmp(e->addr, "\xc6\x12\x00\x01", 4) == 0);
		/* the announcement comes before the expectation of the data connection */
		CHECK(a && e && a < e);
		/* and the chat of the session (checked exactly by tests/cli too) */
		CHECK_EQ(fake_count(FK_CHAT), 7);
		*kp_failed += chat_is(0, "PRIVMSG", "alice", "#kp2padm",
				      "Hello bob, this is alice on the kp2padm test channel.", 0);
		*kp_failed += chat_is(4, "NOTICE", "bob", "alice", "ready when you are", 1);
	}
	/* Files not wanted: no listed file, no announcement; the expectation stays. */
	reset(true, false);
	replay("irc-ngircd.pcap", 6667, &kp_mod_irc, 0);
	CHECK_EQ(fake_count(FK_LISTED) + fake_count(FK_ANNOUNCE), 0);
	CHECK_EQ(fake_count(FK_EXPECT), 1);
}

KP_TEST(irc_dcc_offer_forms)
{
	struct kp_irc_state *st = calloc(1, sizeof(*st));
	/* DCC specification forms: a quoted name with spaces, an IPv6 address, passive, no size */
	static const char lines[] =
		":bob!b@h PRIVMSG alice :\x01" "DCC SEND \"my holiday file.zip\" 3232235777 5000 "
		"123456\x01\r\n"
		":bob!b@h PRIVMSG alice :\x01" "DCC SEND report.pdf 2001:db8::5 6000 "
		"987654321012\x01\r\n"
		":bob!b@h PRIVMSG alice :\x01" "DCC SEND passive.bin 3232235777 0 77 12\x01\r\n"
		":bob!b@h PRIVMSG alice :\x01" "DCC SEND nosize.txt 3232235777 5001\x01\r\n"
		":bob!b@h PRIVMSG alice :\x01" "DCC CHAT chat 3232235777 5002\x01\r\n";

	reset(true, true);
	feed_str(&kp_mod_irc, st, 1, lines, sizeof(lines) - 1, 3);
	CHECK_EQ(fake_count(FK_LISTED), 4);
	*kp_failed += listed_is(0, "offer", "my holiday file.zip", 123456);
	*kp_failed += listed_is(1, "offer", "report.pdf", 987654321012ull);
	*kp_failed += listed_is(2, "offer", "passive.bin", 77);
	*kp_failed += listed_is(3, "offer", "nosize.txt", KP_FILE_SIZE_UNKNOWN);
	/* passive DCC (port 0) has no linked connection: listed, not announced */
	CHECK_EQ(fake_count(FK_ANNOUNCE), 3);
	CHECK(fake_nth(FK_ANNOUNCE, 1) && fake_nth(FK_ANNOUNCE, 1)->size == 987654321012ull);
	CHECK_EQ(fake_count(FK_EXPECT), 4); /* 5000, 6000 (IPv6), 5001, DCC CHAT 5002 */
	CHECK(fake_nth(FK_EXPECT, 1) && fake_nth(FK_EXPECT, 1)->family == AF_INET6);
	CHECK_EQ(fake_count(FK_CHAT), 0); /* CTCP is not chat */
	free(st);
}

/* ---- MSN ---- */

KP_TEST(msn_switchboard_capture)
{
	for (unsigned s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		reset(true, true);
		if (replay("msn-switchboard.pcap", 1863, &kp_mod_msn, steps[s]) < 0)
			return;
		/* msn-switchboard.pcap: alice's switchboard session (msn_fake.py) */
		CHECK_EQ(fake_count(FK_CHAT), 8);
		*kp_failed += chat_is(0, "MSG", "alice@kp2padm.test", "bob@kp2padm.test",
				      "hello bob", 0);
		*kp_failed += chat_is(1, "MSG", "bob@kp2padm.test", "alice@kp2padm.test",
				      "hi alice", 1);
		/* sent with Content-Transfer-Encoding: base64 */
		*kp_failed += chat_is(2, "MSG", "alice@kp2padm.test", "bob@kp2padm.test",
				      "Grüße <b>&amp;</b> \"quoted\"\r\nline two 😀", 0);
		*kp_failed += chat_is(3, "MSG", "bob@kp2padm.test", "alice@kp2padm.test",
				      "ok 👍 <tag> & \"q\"\nnext", 1);
		/* carol joined (JOI): three in the session */
		*kp_failed += chat_is(4, "MSG", "carol@kp2padm.test",
				      "alice@kp2padm.test,bob@kp2padm.test", "hello both", 1);
		*kp_failed += chat_is(5, "MSG", "alice@kp2padm.test",
				      "bob@kp2padm.test,carol@kp2padm.test", "hi carol & bob", 0);
		/* carol left (BYE) */
		*kp_failed += chat_is(6, "MSG", "alice@kp2padm.test", "bob@kp2padm.test",
				      "carol left", 0);
		*kp_failed += chat_is(7, "MSG", "bob@kp2padm.test", "alice@kp2padm.test",
				      "bye alice", 1);
		/* the File Transfer invitation and the MSNP2P offer; typing, CANCEL: nothing */
		CHECK_EQ(fake_count(FK_LISTED), 2);
		*kp_failed += listed_is(0, "offer", "kp2padm report.pdf", 123456);
		*kp_failed += listed_is(1, "offer", "vacation photo ü.jpg", 2345678);
		CHECK_EQ(fake_count(FK_ANNOUNCE), 0);
	}
	/* Neither chats nor files wanted: nothing reported */
	reset(false, false);
	replay("msn-switchboard.pcap", 1863, &kp_mod_msn, 0);
	CHECK_EQ(fake_n, 0);
	/* chats only: no listed files */
	reset(true, false);
	replay("msn-switchboard.pcap", 1863, &kp_mod_msn, 0);
	CHECK_EQ(fake_count(FK_CHAT), 8);
	CHECK_EQ(fake_count(FK_LISTED), 0);
}

KP_TEST(msn_hostile)
{
	struct kp_msn_state *st = calloc(1, sizeof(*st));
	char *big = malloc(70000 + 64);
	uint8_t b64[] = "aGVsbG8=";
	size_t n;

	CHECK_EQ(kp_msn_b64_decode(b64, sizeof(b64) - 1), 5);
	CHECK(memcmp(b64, "hello", 5) == 0);
	CHECK_EQ(kp_msn_b64_decode((uint8_t[]){'a', '*', 'b'}, 3), -1);

	if (!big || !st) {
		CHECK(big && st);
		return;
	}
	reset(true, true);
	/* a payload over the cap is skipped whole; the next message is read */
	n = (size_t)sprintf(big, "MSG a@b A 65537\r\n");
	memset(big + n, 'x', 65537);
	n += 65537;
	n += (size_t)sprintf(big + n,
			     "MSG x@y X 45\r\nContent-Type: text/plain\r\n\r\nafter the big one");
	feed_str(&kp_mod_msn, st, 1, big, n, 1000);
	CHECK_EQ(fake_count(FK_CHAT), 1);
	*kp_failed += chat_is(0, "MSG", "x@y", "", "after the big one", 1);
	/* no header end, bad base64, empty payload, lying P2P lengths, BYE of a stranger */
	{
		static const char bad[] =
			"MSG a@b A 20\r\nContent-Type: text/p"
			"MSG a@b A 0\r\n"
			"MSG a@b A 76\r\nContent-Type: text/plain\r\n"
			"Content-Transfer-Encoding: base64\r\n\r\n*#*#*#"
			"BYE nobody@x\r\n"
			"JOI 01234567890123456789012345678901234567890123456789"
			"01234567890123456789"
			"0123456789012345678901234567890123456789 N\r\n"
			"MSG a@b A 120\r\nContent-Type: application/x-msnmsgrp2p\r\n\r\n"
			"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\xff\xff\xff\xff"
			"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
			"INVITE MSNMSGR:{5D3E02AB-6190-11D3-BBBB-00C04F795683}Context: QUJD\r\n";

		feed_str(&kp_mod_msn, st, 1, bad, sizeof(bad) - 1, 0);
		feed_str(&kp_mod_msn, st, 1, bad, sizeof(bad) - 1, 1);
	}
	CHECK_EQ(fake_count(FK_LISTED), 0);
	kp_mod_msn.free_state(st);
	free(st);
	/* random bytes and random MSG payloads: no crash, no over-read */
	{
		uint64_t seed = 0x6b716d2d6d736eull;
		uint8_t *r = malloc(4096);

		for (int it = 0; it < 300; it++) {
			st = calloc(1, sizeof(*st));
			n = (size_t)sprintf((char *)r, "MSG a@b A 3000\r\nContent-Type: %s\r\n",
					    it % 3 == 0 ? "text/plain" : it % 3 == 1
					    ? "text/x-msmsgsinvite" : "application/x-msnmsgrp2p");
			for (size_t k = n; k < 4096; k++) {
				seed = seed * 6364136223846793005ull + 1442695040888963407ull;
				r[k] = (uint8_t)(seed >> 56);
				if (it & 1 && r[k] < 40)
					r[k] = "\r\n: \r\n\r\nINVITE MSNMSGR:Context: ="[r[k] % 30];
			}
			feed_str(&kp_mod_msn, st, it & 1, (const char *)r, 4096,
				 (size_t)(it % 17) + 1);
			kp_mod_msn.free_state(st);
			free(st);
		}
		free(r);
	}
	free(big);
}

/* ---- XMPP ---- */

KP_TEST(xmpp_prosody_capture)
{
	for (unsigned s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		reset(true, true);
		/* two streams: alice's plain one and the STARTTLS one (nothing after <proceed/>) */
		if (replay("xmpp-prosody.pcap", 5222, &kp_mod_xmpp, steps[s]) < 0)
			return;
		CHECK_EQ(fake_count(FK_CHAT), 10);
		/* alice's stanzas have no from=: the JID bound to the stream */
		*kp_failed += chat_is(0, "message", "alice@kp2padm.test/kqm", "bob@kp2padm.test",
				      "hello bob", 0);
		*kp_failed += chat_is(1, "message", "bob@kp2padm.test/kqm",
				      "alice@kp2padm.test/kqm", "hi alice", 1);
		*kp_failed += chat_is(2, "message", "alice@kp2padm.test/kqm", "bob@kp2padm.test",
				      "He said \"hi\" & left <now> 'ok'", 0);
		*kp_failed += chat_is(3, "message", "bob@kp2padm.test/kqm",
				      "alice@kp2padm.test/kqm", "quotes \" and ' and <tag> & amp",
				      1);
		/* two CDATA sections, the first ending in "]]" */
		*kp_failed += chat_is(4, "message", "alice@kp2padm.test/kqm", "bob@kp2padm.test",
				      "raw <b>bold</b> & \"quotes\" ]]> end", 0);
		*kp_failed += chat_is(5, "message", "bob@kp2padm.test/kqm",
				      "alice@kp2padm.test/kqm", "unicode éè 中文 🚀", 1);
		*kp_failed += chat_is(6, "message", "alice@kp2padm.test/kqm", "bob@kp2padm.test",
				      "char refs: AB😀 été", 0);
		*kp_failed += chat_is(7, "message", "bob@kp2padm.test/kqm",
				      "alice@kp2padm.test/kqm", "multi\nline\nreply", 1);
		*kp_failed += chat_is(8, "message", "alice@kp2padm.test/kqm", "bob@kp2padm.test",
				      "Grüße 日本語 🎉\nsecond line\r\n\tthird", 0);
		*kp_failed += chat_is(9, "message", "bob@kp2padm.test/kqm",
				      "alice@kp2padm.test/kqm", "<![CDATA[ not cdata ]]> & done",
				      1);
	}
	reset(false, false);
	replay("xmpp-prosody.pcap", 5222, &kp_mod_xmpp, 0);
	CHECK_EQ(fake_n, 0);
	/* files wanted, chats not: XMPP has no files to report, it stops after the stream header */
	{
		static const char hdr[] = "<?xml version='1.0'?><stream:stream to='kp2padm.test' "
					  "xmlns='jabber:client' "
					  "xmlns:stream='http://etherx.jabber.org/streams'>";
		void *st = calloc(1, kp_mod_xmpp.state_size);
		struct kp_app_ctx ctx;

		reset(false, true);
		memset(&ctx, 0, sizeof(ctx));
		ctx.l4 = IPPROTO_TCP;
		ctx.data = (const uint8_t *)hdr;
		ctx.len = sizeof(hdr) - 1;
		CHECK_EQ(kp_mod_xmpp.parse(&ctx, st), KP_PARSE_DONE);
		fake_chat_wanted = true;
		memset(st, 0, kp_mod_xmpp.state_size);
		CHECK_EQ(kp_mod_xmpp.parse(&ctx, st), KP_PARSE_MORE);
		kp_mod_xmpp.free_state(st);
		free(st);
	}
}

KP_TEST(xmpp_text_decoding)
{
	static const struct { const char *in, *out; } cases[] = {
		{"a&lt;b&gt;c&amp;d&quot;e&apos;f", "a<b>c&d\"e'f"},
		{"&#65;&#x41;&#X41;&#x1F600;", "AA&#X41;😀"},
		{"&#0;&#xD800;&#1114112;&#;&#x;&am;&", "&#0;&#xD800;&#1114112;&#;&#x;&am;&"},
		{"&#x10FFFF;", "\xf4\x8f\xbf\xbf"},
		{"x<![CDATA[<&>]]>y<![CDATA[unclosed", "x<&>yunclosed"},
		{"a<!-- c -->b<?pi x?>c<i>d</i>e", "abcde"},
		{"&#99999999999999999999;", "&#99999999999999999999;"},
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = strlen(cases[i].in);
		uint8_t *b = malloc(n ? n : 1);

		memcpy(b, cases[i].in, n);
		n = kp_xmpp_text(b, n);
		if (n != strlen(cases[i].out) || memcmp(b, cases[i].out, n) != 0) {
			fprintf(stderr, "  case %u: got [%.*s]\n", i, (int)n, (const char *)b);
			(*kp_failed)++;
		}
		free(b);
	}
}

KP_TEST(xmpp_stream_edges)
{
	void *st = calloc(1, kp_mod_xmpp.state_size);
	char *big = malloc(200000);
	size_t n = 0;

	if (!big || !st) {
		CHECK(big && st);
		return;
	}
	reset(true, false);
	/* a capture starting mid-stream, comments, a 70 KB stanza (skipped, followed), a message */
	n += (size_t)sprintf(big + n, "<!-- x > y --><message to='a@b' from=\"c@d/r\">"
			     "<body>one</body></message>");
	n += (size_t)sprintf(big + n, "<message to='a@b'><body>");
	memset(big + n, 'z', 70000);
	n += 70000;
	n += (size_t)sprintf(big + n, "</body></message><presence/>");
	n += (size_t)sprintf(big + n, "<message to='a@b' type='error'><body>echo</body></message>");
	n += (size_t)sprintf(big + n, "<message to='x&amp;y@b' from='q'>"
			     "<html><body>xhtml</body></html><subject>s</subject>"
			     "<body xml:lang='en'>two &amp; <![CDATA[<3]]></body></message>");
	feed_str(&kp_mod_xmpp, st, 1, big, n, 0);
	CHECK_EQ(fake_count(FK_CHAT), 2);
	*kp_failed += chat_is(0, "message", "c@d/r", "a@b", "one", 1);
	*kp_failed += chat_is(1, "message", "q", "x&y@b", "two & <3", 1);
	kp_mod_xmpp.free_state(st);
	free(st);

	/* one tag longer than the buffer: the direction gives up, without reading past */
	st = calloc(1, kp_mod_xmpp.state_size);
	n = (size_t)sprintf(big, "<message to='");
	memset(big + n, 'a', 140000);
	n += 140000;
	feed_str(&kp_mod_xmpp, st, 0, big, n, 4096);
	kp_mod_xmpp.free_state(st);
	free(st);

	/* deep nesting, unbalanced ends, quotes with '>' inside */
	st = calloc(1, kp_mod_xmpp.state_size);
	n = 0;
	for (int i = 0; i < 3000 && n < 190000; i++)
		n += (size_t)sprintf(big + n, "<a x='>'>");
	for (int i = 0; i < 3500 && n < 199000; i++)
		n += (size_t)sprintf(big + n, "</a>");
	n += (size_t)sprintf(big + n, "<message from='e'><body>after</body></message>");
	feed_str(&kp_mod_xmpp, st, 1, big, n, 333);
	kp_mod_xmpp.free_state(st);
	free(st);

	/* random bytes rich in markup: no crash, no over-read */
	{
		static const char alpha[] = "<>/'\"=&#;x![]CDATA-?bodymessage \n";
		uint64_t seed = 0x6b716d2d786d7070ull;

		for (int it = 0; it < 200; it++) {
			st = calloc(1, kp_mod_xmpp.state_size);
			for (size_t k = 0; k < 8192; k++) {
				seed = seed * 6364136223846793005ull + 1442695040888963407ull;
				big[k] = alpha[(seed >> 33) % (sizeof(alpha) - 1)];
			}
			feed_str(&kp_mod_xmpp, st, it & 1, big, 8192, (size_t)(it % 13) + 1);
			kp_mod_xmpp.free_state(st);
			free(st);
		}
	}
	free(big);
}
