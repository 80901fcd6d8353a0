/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the configuration reader: values, suffixes, and FILE:LINE errors. */
#include "engine/config.h"
#include "tap.h"

#include <unistd.h>

static const char *write_tmp(const char *text)
{
	static char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/kp-cfg-%d.conf", (int)getpid());
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

KP_TEST(config_defaults)
{
	struct kp_config c;

	kp_config_defaults(&c);
	CHECK_EQ(c.classify_packets, 8);
	CHECK_EQ(c.checksum, KP_CSUM_MODE_AUTO);
	CHECK_EQ(c.timeouts.s[KP_TC_TCP_EST], 600);
}

KP_TEST(config_file_values)
{
	struct kp_config c;
	char err[256] = "";
	const char *p = write_tmp("# comment\n\nclassify.packets = 12\nstream.memcap = 8M # trailing\n"
				  "flow.timeout.udp_new=5\nchecksum = strict\n"
				  "signatures.dir = /tmp/pats\n");

	kp_config_defaults(&c);
	CHECK_EQ(kp_config_load(&c, p, err, sizeof(err)), 0);
	CHECK_EQ(c.classify_packets, 12);
	CHECK_EQ(c.stream_memcap, 8ull << 20);
	CHECK_EQ(c.timeouts.s[KP_TC_UDP_NEW], 5);
	CHECK_EQ(c.checksum, KP_CSUM_MODE_STRICT);
	CHECK_STR(c.sig_dir, "/tmp/pats");
	unlink(p);
}

KP_TEST(config_errors_name_file_and_line)
{
	struct kp_config c;
	char err[512] = "", want[128];
	const char *p = write_tmp("classify.packets = 8\nno.such.key = 1\n");

	kp_config_defaults(&c);
	CHECK_EQ(kp_config_load(&c, p, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:2: unknown key", p);
	CHECK(strncmp(err, want, strlen(want)) == 0);

	p = write_tmp("classify.packets = many\n");
	CHECK_EQ(kp_config_load(&c, p, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:1: classify.packets", p);
	CHECK(strncmp(err, want, strlen(want)) == 0);

	p = write_tmp("classify.packets = 0\n"); /* below the minimum */
	CHECK_EQ(kp_config_load(&c, p, err, sizeof(err)), -1);

	p = write_tmp("checksum = maybe\n");
	CHECK_EQ(kp_config_load(&c, p, err, sizeof(err)), -1);
	CHECK(strstr(err, ":1:") != NULL);

	p = write_tmp("just words\n");
	CHECK_EQ(kp_config_load(&c, p, err, sizeof(err)), -1);
	CHECK(strstr(err, "expected 'key = value'") != NULL);
	unlink(p);

	CHECK_EQ(kp_config_load(&c, "/nonexistent/kp.conf", err, sizeof(err)), -1);
	CHECK(strstr(err, "/nonexistent/kp.conf") != NULL);
}

KP_TEST(config_size_suffix_overflow_rejected)
{
	struct kp_config c;
	char err[256];

	kp_config_defaults(&c);
	CHECK_EQ(kp_config_set(&c, "stream.memcap", "99999999999999999999G", err, sizeof(err)), -1);
	CHECK_EQ(kp_config_set(&c, "stream.memcap", "64K", err, sizeof(err)), 0);
	CHECK_EQ(c.stream_memcap, 65536);
	CHECK_EQ(kp_config_set(&c, "classify.buffer", "2K", err, sizeof(err)), 0);
	CHECK_EQ(c.classify_buffer, 2048);
}

KP_TEST_MAIN()
