/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Content management in the pipeline (src/content, src/policy/content_rules.c):
 * file and chat rules as an administrator writes them, the file events a
 * module's reports produce (name, size, sha256, state, verdict), blocking by
 * name and hash, a linked data connection carrying an announced file, chat
 * keyword rules through the real IRC module, and virus scanning with the
 * project's EICAR-only test database (skipped when libclamav is absent).
 */
#include "content/content.h"
#include "content/file.h"
#include "content/sha256.h"
#include "eicar.h"
#include "engine/manage.h"
#include "pkt_build.h"
#include "policy/content_rules.h"
#include "scan/scan.h"
#include "content/setup.h"
#include "tap.h"

/* The context a module gets for the flow of the last packet, sender dir. */
static void ctx_of(struct kp_app_ctx *ctx, struct tpipe *t, int dir)
{
	kp_app_ctx_init(ctx, &t->eng, t->eng.pkt_flow, dir, NULL, 0, false, t->ts, NULL);
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

KP_TEST(rules_parse_and_match)
{
	struct kp_content_rules *r = kp_content_rules_new();
	char err[256];
	const struct kp_content_rule_info *ri;
	uint8_t ih[20];

	CHECK(r != NULL);
	CHECK_EQ(kp_content_add_file_rule(r, "block name=no-exe glob=*.exe,*.scr reset", "f.conf", 3,
					  err, sizeof(err)), 0);
	CHECK_EQ(kp_content_add_file_rule(r,
		"block app=bittorrent hash=0123456789abcdef0123456789ABCDEF01234567", "f.conf", 4,
		err, sizeof(err)), 0);
	CHECK_EQ(kp_content_add_file_rule(r, "audit app=ftp-data", "f.conf", 5, err, sizeof(err)), 0);
	CHECK(kp_content_add_file_rule(r, "drop glob=*.exe", "f.conf", 6, err, sizeof(err)) < 0);
	CHECK_STR(err, "f.conf:6: file rule: unknown action 'drop' (pass, audit or block)");
	CHECK(kp_content_add_file_rule(r, "block hash=12zz", "f.conf", 7, err, sizeof(err)) < 0);
	CHECK(strncmp(err, "f.conf:7: bad hash list", 23) == 0);
	CHECK(kp_content_add_file_rule(r, "block app=nosuch", "f.conf", 8, err, sizeof(err)) < 0);
	CHECK_STR(err, "f.conf:8: unknown app 'nosuch'");
	CHECK(kp_content_add_file_rule(r, "block colour=red", "f.conf", 9, err, sizeof(err)) < 0);
	CHECK(kp_content_add_chat_rule(r, "pass keyword=x", "f.conf", 10, err, sizeof(err)) < 0);

	/* globs: case-insensitive, '*' crosses '/', and a NUL cannot hide the extension */
	ri = kp_content_match_name(r, KP_APP_HTTP, "SETUP.EXE", 9);
	CHECK(ri && !strcmp(ri->name, "no-exe") && ri->action == KP_CA_BLOCK && ri->reset);
	CHECK(kp_content_match_name(r, KP_APP_HTTP, "dir/sub/x.scr", 13) != NULL);
	CHECK(kp_content_match_name(r, KP_APP_HTTP, "evil.exe\0.txt", 13) != NULL);
	CHECK(kp_content_match_name(r, KP_APP_HTTP, "notes.exe.txt", 13) == NULL);
	/* an ftp-data file that no glob names falls to the catch-all audit rule */
	ri = kp_content_match_name(r, KP_APP_FTP_DATA, "readme.txt", 10);
	CHECK(ri && ri->action == KP_CA_AUDIT && !strcmp(ri->name, "file3"));
	CHECK(kp_content_match_name(r, KP_APP_HTTP, "readme.txt", 10) == NULL);
	/* hashes: exact bytes, per app */
	CHECK_EQ(kp_hex_decode("0123456789abcdef0123456789abcdef01234567", 40, ih, sizeof(ih)), 20);
	CHECK(kp_content_match_hash(r, KP_APP_BITTORRENT, ih, 20) != NULL);
	CHECK(kp_content_match_hash(r, KP_APP_EDONKEY, ih, 20) == NULL);
	ih[19] ^= 1;
	CHECK(kp_content_match_hash(r, KP_APP_BITTORRENT, ih, 20) == NULL);
	CHECK(kp_content_files_for(r, KP_APP_GNUTELLA)); /* the glob rule has no app */

	/* chat keywords: case-insensitive substrings; first match wins */
	CHECK_EQ(kp_content_add_chat_rule(r, "alert name=pw keyword=password,passwd", "f.conf", 11,
					  err, sizeof(err)), 0);
	CHECK_EQ(kp_content_add_chat_rule(r, "block app=irc keyword=warez", "f.conf", 12, err,
					  sizeof(err)), 0);
	ri = kp_content_match_chat(r, KP_APP_IRC, (const uint8_t *)"my PassWord is x", 16);
	CHECK(ri && ri->action == KP_CA_ALERT && !strcmp(ri->name, "pw"));
	ri = kp_content_match_chat(r, KP_APP_IRC, (const uint8_t *)"free WAREZ here", 15);
	CHECK(ri && ri->action == KP_CA_BLOCK);
	CHECK(kp_content_match_chat(r, KP_APP_MSN, (const uint8_t *)"free warez", 10) == NULL);
	CHECK(kp_content_match_chat(r, KP_APP_IRC, (const uint8_t *)"hello", 5) == NULL);
	kp_content_rules_free(r);
}

static const char http_get[] = "GET /f HTTP/1.1\r\nHost: a\r\n\r\n";

/* file.audit: one event per file with the exact name bytes, size, sha256 and state. */
KP_TEST(audited_file_event)
{
	struct tpipe t;
	struct tconn c;
	struct kp_app_ctx ctx;
	struct kp_file *fi;
	uint8_t body[3000], sha[32];
	char shahex[65], *ev;
	static const char name[] = "r\xc3\xa9sum\xc3\xa9 \"1\".pdf";

	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)(i * 7);
	kp_sha256(body, sizeof(body), sha);
	hex(sha, 32, shahex);
	tpipe_open(&t, "file.audit=yes");
	tconn_open(&c, &t, 2, 40000, 1, 80);
	tconn_send(&c, 1, http_get, sizeof(http_get) - 1);
	ctx_of(&ctx, &t, 1);
	fi = kp_app_file_open(&ctx, 1, name, sizeof(name) - 1, sizeof(body), 0);
	CHECK(fi != NULL);
	kp_app_file_attr(fi, "content_type", "application/pdf", 15);
	kp_app_file_data(&ctx, fi, body, 1000);
	kp_app_file_data(&ctx, fi, body + 1000, 2000);
	kp_app_file_close(&ctx, fi, KP_FILE_END_COMPLETE);
	/* a second file that stops early */
	fi = kp_app_file_open(&ctx, 1, "b.bin", 5, 5000, 0);
	kp_app_file_data(&ctx, fi, body, 100);
	kp_app_file_close(&ctx, fi, KP_FILE_END_TRUNCATED);
	/* a third left open: the flow's end closes it */
	fi = kp_app_file_open(&ctx, 1, "c.bin", 5, 10, 0);
	kp_app_file_data(&ctx, fi, body, 4);
	ev = tpipe_close(&t);
	CHECK_EQ(count(ev, "\"event_type\":\"file\""), 3);
	CHECK(strstr(ev, "\"name\":\"r\xc3\xa9sum\xc3\xa9 \\\"1\\\".pdf\",\"size\":3000,"
			 "\"size_announced\":3000") != NULL);
	CHECK(strstr(ev, shahex) != NULL);
	CHECK(strstr(ev, "\"state\":\"complete\"") != NULL);
	CHECK(strstr(ev, "\"attrs\":{\"content_type\":\"application/pdf\"}") != NULL);
	CHECK(strstr(ev, "\"name\":\"b.bin\",\"size\":100,\"size_announced\":5000,"
			 "\"state\":\"truncated\"") != NULL);
	CHECK(strstr(ev, "\"name\":\"c.bin\",\"size\":4,\"size_announced\":10,"
			 "\"state\":\"truncated\"") != NULL);
	CHECK_EQ(count(ev, "\"sha256\""), 1); /* only the whole file has one */
	CHECK(strstr(ev, "\"direction\":\"toclient\"") != NULL);
	free(ev);
}

/* Without file.audit, rules or scanning, modules are told not to bother. */
KP_TEST(nothing_wanted_by_default)
{
	struct tpipe t;
	struct tconn c;
	struct kp_app_ctx ctx;
	char *ev;

	tpipe_open(&t, NULL);
	tconn_open(&c, &t, 2, 40000, 1, 80);
	tconn_send(&c, 1, http_get, sizeof(http_get) - 1);
	ctx_of(&ctx, &t, 1);
	CHECK(!kp_app_files_wanted(&ctx));
	CHECK(kp_app_file_open(&ctx, 1, "x.exe", 5, 10, 0) == NULL);
	ev = tpipe_close(&t);
	CHECK(strstr(ev, "\"event_type\":\"file\"") == NULL);
	free(ev);
}

/* A name rule blocks the flow at the file's first report: drop from then on, events name the rule. */
KP_TEST(name_rule_blocks_the_flow)
{
	struct tpipe t;
	struct tconn c;
	struct kp_app_ctx ctx;
	struct kp_verdict v;
	char *ev;

	tpipe_open(&t, "file=block name=no-exe glob=*.exe");
	tconn_open(&c, &t, 2, 40000, 1, 80);
	tconn_send(&c, 1, http_get, sizeof(http_get) - 1);
	ctx_of(&ctx, &t, 1);
	CHECK(kp_app_files_wanted(&ctx));
	CHECK(kp_app_file_open(&ctx, 1, "ok.txt", 6, 10, 0) != NULL); /* passes, no event */
	CHECK(kp_app_file_open(&ctx, 1, "Setup.EXE", 9, 10, 0) == NULL);
	CHECK_EQ(t.eng.pkt_flow->pol, KP_POL_BLOCKED);
	v = tconn_send(&c, 0, "MZ", 2);
	CHECK_EQ(v.action, KP_VERDICT_DROP);
	CHECK_EQ(t.eng.content.st.files_blocked, 1);
	CHECK_EQ(t.eng.st.cached_flows + (t.eng.cache ? 1 : 0), 0); /* no tuple cache for content */
	ev = tpipe_close(&t);
	CHECK_EQ(count(ev, "\"event_type\":\"block\""), 1);
	CHECK(strstr(ev, "\"rule\":\"no-exe\"") != NULL);
	CHECK(strstr(ev, "\"name\":\"Setup.EXE\"") != NULL);
	CHECK(strstr(ev, "\"verdict\":\"block\"") != NULL);
	CHECK(strstr(ev, "\"name\":\"ok.txt\"") == NULL); /* passed files are not audited */
	free(ev);
}

/* A torrent's file list and an info_hash on a hash list. */
KP_TEST(listed_files_and_hashes)
{
	struct tpipe t;
	struct tconn c;
	struct kp_app_ctx ctx;
	uint8_t ih[20];
	char *ev;

	for (int i = 0; i < 20; i++)
		ih[i] = (uint8_t)(0xa0 + i);
	tpipe_open(&t, "file.audit=yes;file=block name=bad-torrent "
		       "hash=a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3");
	tconn_open(&c, &t, 2, 40000, 1, 6881);
	tconn_send(&c, 1, http_get, sizeof(http_get) - 1);
	ctx_of(&ctx, &t, 0);
	kp_app_file_listed(&ctx, "torrent", "album/01.ogg", 12, 4000000, KP_HASH_NONE, NULL, 0);
	CHECK_EQ(t.eng.pkt_flow->pol, KP_POL_UNDECIDED + (t.eng.pkt_flow->pol != KP_POL_UNDECIDED));
	CHECK(t.eng.pkt_flow->pol != KP_POL_BLOCKED);
	kp_app_hash_seen(&ctx, KP_HASH_BT_INFOHASH, ih, 20);
	CHECK_EQ(t.eng.pkt_flow->pol, KP_POL_BLOCKED);
	CHECK_EQ(t.eng.content.st.hashes_blocked, 1);
	ev = tpipe_close(&t);
	CHECK(strstr(ev, "\"name\":\"album/01.ogg\",\"listed_as\":\"torrent\",\"size\":4000000,"
			 "\"state\":\"listed\"") != NULL);
	CHECK(strstr(ev, "\"rule\":\"bad-torrent\"") != NULL);
	free(ev);
}

/* A control connection announces a file; the linked data connection carries it. */
KP_TEST(announced_file_on_linked_connection)
{
	struct tpipe t;
	struct tconn ctl, data;
	struct kp_app_ctx ctx;
	uint8_t body[5000], sha[32], sip[4] = {198, 19, 0, 1};
	char shahex[65], *ev;
	const char *line;

	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)(i * 13 + 1);
	kp_sha256(body, sizeof(body), sha);
	hex(sha, 32, shahex);
	tpipe_open(&t, "file.audit=yes");
	tconn_open(&ctl, &t, 2, 40000, 1, 21);
	tconn_send(&ctl, 0, "220 hi\r\n", 8);
	ctx_of(&ctx, &t, 0);
	kp_expect_add(&ctx, AF_INET, sip, 40001, IPPROTO_TCP, KP_APP_FTP_DATA);
	kp_app_file_announce(&ctx, "pub/data.bin", 12, KP_FILE_SIZE_UNKNOWN);
	kp_app_file_announce(&ctx, "pub/data.bin", 12, sizeof(body)); /* the 150 reply's size */
	tconn_open(&data, &t, 2, 40002, 1, 40001);
	CHECK_EQ(t.eng.pkt_flow->app, KP_APP_FTP_DATA);
	for (size_t off = 0; off < sizeof(body); off += 1000)
		tconn_send(&data, 0, body + off, 1000);
	ev = tpipe_close(&t);
	CHECK_EQ(count(ev, "\"event_type\":\"file\""), 1);
	line = strstr(ev, "\"event_type\":\"file\"");
	CHECK(line && strstr(line, "\"parent_flow_id\"") != NULL);
	CHECK(strstr(ev, "\"app\":\"ftp-data\",\"direction\":\"toclient\",\"name\":\"pub/data.bin\","
			 "\"size\":5000,\"size_announced\":5000") != NULL);
	CHECK(strstr(ev, shahex) != NULL);
	CHECK(strstr(ev, "\"state\":\"complete\"") != NULL);
	free(ev);
}

/* A withdrawn announcement (FTP 550 after RETR): the next data connection is no file. */
KP_TEST(withdrawn_announcement)
{
	struct tpipe t;
	struct tconn ctl, data;
	struct kp_app_ctx ctx;
	uint8_t sip[4] = {198, 19, 0, 1};
	char *ev;

	tpipe_open(&t, "file.audit=yes");
	tconn_open(&ctl, &t, 2, 40000, 1, 21);
	tconn_send(&ctl, 0, "220 hi\r\n", 8);
	ctx_of(&ctx, &t, 0);
	kp_app_file_announce(&ctx, "missing.bin", 11, KP_FILE_SIZE_UNKNOWN);
	kp_app_file_withdraw(&ctx);
	kp_expect_add(&ctx, AF_INET, sip, 40001, IPPROTO_TCP, KP_APP_FTP_DATA);
	tconn_open(&data, &t, 2, 40002, 1, 40001);
	tconn_send(&data, 0, "-rw-r--r-- 1 ftp ftp 3600 README.txt\r\n", 39);
	ev = tpipe_close(&t);
	CHECK(strstr(ev, "\"event_type\":\"file\"") == NULL);
	free(ev);
}

/* Chat rules through the IRC module: alert writes the rule into the event, block drops. */
KP_TEST(chat_keyword_rules)
{
	struct tpipe t;
	struct tconn c;
	struct kp_verdict v;
	static const char reg[] = "NICK alice\r\nUSER alice 0 * :Alice\r\n";
	static const char welcome[] = ":irc.test 001 alice :Welcome to the test net alice\r\n";
	static const char m1[] = "PRIVMSG bob :my password is hunter2\r\n";
	static const char m2[] = "PRIVMSG bob :hello there\r\n";
	static const char m3[] = "PRIVMSG #c :get your WAREZ here\r\n";
	char *ev;

	tpipe_open(&t, "chat=alert name=pw keyword=password;chat=block name=nowarez keyword=warez");
	tconn_open(&c, &t, 2, 40000, 1, 6667);
	tconn_send(&c, 1, reg, sizeof(reg) - 1);
	tconn_send(&c, 0, welcome, sizeof(welcome) - 1);
	CHECK_EQ(t.eng.pkt_flow->app, KP_APP_IRC);
	v = tconn_send(&c, 1, m1, sizeof(m1) - 1);
	CHECK_EQ(v.action, KP_VERDICT_ACCEPT);
	v = tconn_send(&c, 1, m2, sizeof(m2) - 1);
	CHECK_EQ(v.action, KP_VERDICT_ACCEPT);
	v = tconn_send(&c, 1, m3, sizeof(m3) - 1);
	CHECK_EQ(v.action, KP_VERDICT_DROP);
	CHECK_EQ(t.eng.content.st.chat_alerts, 1);
	CHECK_EQ(t.eng.content.st.chats_blocked, 1);
	ev = tpipe_close(&t);
	/* chat.audit is off: only the messages a rule matched are written */
	CHECK_EQ(count(ev, "\"event_type\":\"chat\""), 2);
	CHECK(strstr(ev, "\"text\":\"my password is hunter2\",\"direction\":\"toserver\","
			 "\"rule\":\"pw\",\"action\":\"alert\"") != NULL);
	CHECK(strstr(ev, "\"rule\":\"nowarez\",\"action\":\"block\"") != NULL);
	CHECK(strstr(ev, "hello there") == NULL);
	CHECK_EQ(count(ev, "\"event_type\":\"block\""), 1);
	free(ev);
}

/* Bandwidth classes: an inspected flow's packets carry the class bits; a rule's class wins. */
KP_TEST(bandwidth_class_marks)
{
	struct tpipe t;
	struct tconn c;
	struct kp_verdict v;
	static const char reg[] = "NICK alice\r\nUSER alice 0 * :Alice\r\n";
	static const char welcome[] = ":irc.test 001 alice :Welcome to the test net alice\r\n";
	static const char m1[] = "PRIVMSG bob :hi\r\n";
	char *ev;

	/* chat.audit keeps the IRC flow inspected: no bypass, so the class rides in the class bits */
	tpipe_open(&t, "chat.audit=yes;bandwidth=irc 1mbit");
	t.eng.inline_mode = true;
	tconn_open(&c, &t, 2, 40000, 1, 6667);
	tconn_send(&c, 1, reg, sizeof(reg) - 1);
	tconn_send(&c, 0, welcome, sizeof(welcome) - 1);
	v = tconn_send(&c, 1, m1, sizeof(m1) - 1);
	CHECK(!v.bypass);
	CHECK_EQ(v.mark, 0);
	CHECK_EQ(v.class_mark, (uint32_t)(KP_APP_IRC + 1) << 8);
	ev = tpipe_close(&t);
	free(ev);

	/* a pass rule with its own class: the bypass mark carries the rule's value (128 + index) */
	tpipe_open(&t, "rule=pass name=lab src=198.18.0.0/16;bandwidth=rule:lab 5mbit");
	t.eng.inline_mode = true;
	tconn_open(&c, &t, 2, 40000, 1, 80);
	v = tconn_send(&c, 1, http_get, sizeof(http_get) - 1);
	v = tconn_send(&c, 0, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", 40);
	for (int i = 0; i < 10 && !v.bypass; i++)
		v = tconn_send(&c, 0, "more", 4);
	CHECK(v.bypass);
	CHECK_EQ(v.mark, (uint32_t)(KP_BW_RULE_BASE + 1) << 16);
	ev = tpipe_close(&t);
	free(ev);
}

/* Offline scanning with the test database: EICAR is found, named and blocked; a clean file passes. */
KP_TEST(scan_finds_eicar)
{
	struct tpipe t;
	struct tconn c;
	struct kp_app_ctx ctx;
	struct kp_content_shared cs;
	struct kp_file *fi;
	uint8_t e[KP_EICAR_LEN], clean[KP_EICAR_LEN];
	const char *db = getenv("KP_SCAN_DB");
	char sets[480], err[512], *ev;

	if (!kp_scan_available() || !db) {
		printf("# skip: no libclamav in this build or no KP_SCAN_DB\n");
		return;
	}
	kp_test_eicar(e);
	memcpy(clean, e, sizeof(clean));
	clean[KP_EICAR_LEN - 1] = 'X';
	snprintf(sets, sizeof(sets), "scan=yes;scan.db=%s;file.audit=yes;scan.skip=*.iso,video/*",
		 db);
	tpipe_open(&t, sets);
	CHECK_EQ(kp_content_shared_open(&cs, &t.cfg, NULL, err, sizeof(err)), 0);
	kp_content_attach(&t.eng, &cs);
	tconn_open(&c, &t, 2, 40000, 1, 80);
	tconn_send(&c, 1, http_get, sizeof(http_get) - 1);
	ctx_of(&ctx, &t, 1);
	fi = kp_app_file_open(&ctx, 1, "clean.com", 9, sizeof(clean), 0);
	kp_app_file_data(&ctx, fi, clean, sizeof(clean));
	kp_app_file_close(&ctx, fi, KP_FILE_END_COMPLETE);
	/* scan.skip: by name and by content type, not worth a scan */
	fi = kp_app_file_open(&ctx, 1, "disc.ISO", 8, sizeof(e), 0);
	kp_app_file_data(&ctx, fi, e, sizeof(e));
	kp_app_file_close(&ctx, fi, KP_FILE_END_COMPLETE);
	fi = kp_app_file_open(&ctx, 1, "clip", 4, sizeof(e), 0);
	kp_app_file_attr(fi, "content_type", "video/mp4", 9);
	kp_app_file_data(&ctx, fi, e, sizeof(e));
	kp_app_file_close(&ctx, fi, KP_FILE_END_COMPLETE);
	fi = kp_app_file_open(&ctx, 1, "eicar.com", 9, sizeof(e), 0);
	kp_app_file_data(&ctx, fi, e, sizeof(e));
	kp_app_file_close(&ctx, fi, KP_FILE_END_COMPLETE);
	kp_content_drain(&t.eng, 30000);
	CHECK_EQ(t.eng.content.st.scans_done, 2);
	CHECK_EQ(t.eng.content.st.infected, 1);
	CHECK_EQ(t.eng.pkt_flow ? t.eng.pkt_flow->pol : KP_POL_BLOCKED, KP_POL_BLOCKED);
	kp_content_shared_close(&cs);
	t.eng.content.scanner = NULL;
	t.eng.content.blocklist = NULL;
	ev = tpipe_close(&t);
	CHECK_EQ(count(ev, "\"event_type\":\"virus\""), 1);
	CHECK(strstr(ev, "\"signature\":\"Kp2padm.Test.EICAR") != NULL);
	CHECK(strstr(ev, "\"name\":\"clean.com\"") != NULL);
	CHECK(strstr(ev, "\"scan\":\"clean\"") != NULL);
	CHECK(strstr(ev, "\"scan\":\"infected\"") != NULL);
	CHECK_EQ(count(ev, "\"scan\":\"skipped\""), 2);
	CHECK(strstr(ev, "\"verdict\":\"virus\"") != NULL);
	CHECK(strstr(ev, "\"rule\":\"virus\"") != NULL); /* the block event */
	free(ev);
}

KP_TEST_MAIN()
