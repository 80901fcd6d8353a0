/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the clear-text modules: http, ftp, irc, msn, xmpp and mail
 * (smtp/pop3/imap). Probes and parsers run on real payloads: a few frames
 * embedded below (each names its capture, frame and ports), and, when present,
 * whole TCP flows read with libpcap from nDPI's pcaps and l7-filter's raw
 * payload samples ($KP_CORPUS, /work/shared/corpus or ../shared/corpus) and
 * from the project's own captures (tests/captures/pcap: vsftpd with PASV, EPSV,
 * PORT and EPRT; ngircd with a DCC SEND), each skipped with a message when
 * absent. The parser functions are also checked on the example lines of
 * RFC 2428 and of the DCC specification. Random and hostile bytes must neither
 * crash a parser nor match a probe.
 */
#define _GNU_SOURCE
#include "tap.h"
#include "app_probe_util.h"
#include "corpus_pcap.h"

#include "app/ftp.h"
#include "app/irc.h"
#include "output/json.h"

#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

KP_TEST_MAIN()

static const struct kp_app_module *const text_mods[] = {
	&kp_mod_http, &kp_mod_ftp, &kp_mod_irc, &kp_mod_msn, &kp_mod_xmpp, &kp_mod_mail,
};
#define NMODS (sizeof(text_mods) / sizeof(text_mods[0]))

/* ---- Frames embedded from nDPI's captures (shared/corpus/ndpi/pcap) ---- */
/* bt-http.pcapng, frame 4, 46882 -> 80: client GET /announce (Transmission) (370 bytes) */
static const uint8_t bt_http_f4[] = {
	0x47, 0x45, 0x54, 0x20, 0x2f, 0x61, 0x6e, 0x6e, 0x6f, 0x75, 0x6e, 0x63,
	0x65, 0x3f, 0x69, 0x6e, 0x66, 0x6f, 0x5f, 0x68, 0x61, 0x73, 0x68, 0x3d,
	0x25, 0x61, 0x61, 0x37, 0x69, 0x25, 0x63, 0x34, 0x53, 0x25, 0x30, 0x64,
	0x25, 0x64, 0x65, 0x25, 0x30, 0x36, 0x25, 0x32, 0x34, 0x25, 0x31, 0x38,
	0x73, 0x25, 0x64, 0x61, 0x25, 0x64, 0x34, 0x25, 0x33, 0x61, 0x25, 0x62,
	0x35, 0x25, 0x63, 0x63, 0x25, 0x65, 0x63, 0x25, 0x32, 0x63, 0x25, 0x65,
	0x36, 0x25, 0x32, 0x32, 0x26, 0x70, 0x65, 0x65, 0x72, 0x5f, 0x69, 0x64,
	0x3d, 0x2d, 0x54, 0x52, 0x32, 0x39, 0x34, 0x30, 0x2d, 0x63, 0x68, 0x68,
	0x6f, 0x39, 0x32, 0x63, 0x35, 0x36, 0x70, 0x75, 0x6c, 0x26, 0x70, 0x6f,
	0x72, 0x74, 0x3d, 0x35, 0x31, 0x34, 0x31, 0x33, 0x26, 0x75, 0x70, 0x6c,
	0x6f, 0x61, 0x64, 0x65, 0x64, 0x3d, 0x30, 0x26, 0x64, 0x6f, 0x77, 0x6e,
	0x6c, 0x6f, 0x61, 0x64, 0x65, 0x64, 0x3d, 0x30, 0x26, 0x6c, 0x65, 0x66,
	0x74, 0x3d, 0x32, 0x38, 0x32, 0x30, 0x35, 0x30, 0x35, 0x36, 0x30, 0x26,
	0x6e, 0x75, 0x6d, 0x77, 0x61, 0x6e, 0x74, 0x3d, 0x38, 0x30, 0x26, 0x6b,
	0x65, 0x79, 0x3d, 0x33, 0x62, 0x35, 0x35, 0x30, 0x32, 0x63, 0x63, 0x26,
	0x63, 0x6f, 0x6d, 0x70, 0x61, 0x63, 0x74, 0x3d, 0x31, 0x26, 0x73, 0x75,
	0x70, 0x70, 0x6f, 0x72, 0x74, 0x63, 0x72, 0x79, 0x70, 0x74, 0x6f, 0x3d,
	0x31, 0x26, 0x72, 0x65, 0x71, 0x75, 0x69, 0x72, 0x65, 0x63, 0x72, 0x79,
	0x70, 0x74, 0x6f, 0x3d, 0x31, 0x26, 0x65, 0x76, 0x65, 0x6e, 0x74, 0x3d,
	0x73, 0x74, 0x61, 0x72, 0x74, 0x65, 0x64, 0x20, 0x48, 0x54, 0x54, 0x50,
	0x2f, 0x31, 0x2e, 0x31, 0x0d, 0x0a, 0x48, 0x6f, 0x73, 0x74, 0x3a, 0x20,
	0x74, 0x72, 0x61, 0x63, 0x6b, 0x65, 0x72, 0x2e, 0x74, 0x72, 0x61, 0x63,
	0x6b, 0x65, 0x72, 0x66, 0x69, 0x78, 0x2e, 0x63, 0x6f, 0x6d, 0x0d, 0x0a,
	0x55, 0x73, 0x65, 0x72, 0x2d, 0x41, 0x67, 0x65, 0x6e, 0x74, 0x3a, 0x20,
	0x54, 0x72, 0x61, 0x6e, 0x73, 0x6d, 0x69, 0x73, 0x73, 0x69, 0x6f, 0x6e,
	0x2f, 0x32, 0x2e, 0x39, 0x34, 0x0d, 0x0a, 0x41, 0x63, 0x63, 0x65, 0x70,
	0x74, 0x3a, 0x20, 0x2a, 0x2f, 0x2a, 0x0d, 0x0a, 0x41, 0x63, 0x63, 0x65,
	0x70, 0x74, 0x2d, 0x45, 0x6e, 0x63, 0x6f, 0x64, 0x69, 0x6e, 0x67, 0x3a,
	0x20, 0x67, 0x7a, 0x69, 0x70, 0x3b, 0x71, 0x3d, 0x31, 0x2e, 0x30, 0x2c,
	0x20, 0x64, 0x65, 0x66, 0x6c, 0x61, 0x74, 0x65, 0x2c, 0x20, 0x69, 0x64,
	0x65, 0x6e, 0x74, 0x69, 0x74, 0x79, 0x0d, 0x0a, 0x0d, 0x0a,
};
/* bt-http.pcapng, frame 5, 80 -> 46882: server 307 redirect (340 bytes) */
static const uint8_t bt_http_f5[] = {
	0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e, 0x31, 0x20, 0x33, 0x30, 0x37,
	0x20, 0x54, 0x65, 0x6d, 0x70, 0x6f, 0x72, 0x61, 0x72, 0x79, 0x20, 0x52,
	0x65, 0x64, 0x69, 0x72, 0x65, 0x63, 0x74, 0x0d, 0x0a, 0x43, 0x6f, 0x6e,
	0x6e, 0x65, 0x63, 0x74, 0x69, 0x6f, 0x6e, 0x3a, 0x20, 0x63, 0x6c, 0x6f,
	0x73, 0x65, 0x0d, 0x0a, 0x50, 0x72, 0x61, 0x67, 0x6d, 0x61, 0x3a, 0x20,
	0x6e, 0x6f, 0x2d, 0x63, 0x61, 0x63, 0x68, 0x65, 0x0d, 0x0a, 0x63, 0x61,
	0x63, 0x68, 0x65, 0x2d, 0x63, 0x6f, 0x6e, 0x74, 0x72, 0x6f, 0x6c, 0x3a,
	0x20, 0x6e, 0x6f, 0x2d, 0x63, 0x61, 0x63, 0x68, 0x65, 0x0d, 0x0a, 0x4c,
	0x6f, 0x63, 0x61, 0x74, 0x69, 0x6f, 0x6e, 0x3a, 0x20, 0x2f, 0x61, 0x6e,
	0x6e, 0x6f, 0x75, 0x6e, 0x63, 0x65, 0x3f, 0x69, 0x6e, 0x66, 0x6f, 0x5f,
	0x68, 0x61, 0x73, 0x68, 0x3d, 0x25, 0x61, 0x61, 0x37, 0x69, 0x25, 0x63,
	0x34, 0x53, 0x25, 0x30, 0x64, 0x25, 0x64, 0x65, 0x25, 0x30, 0x36, 0x25,
	0x32, 0x34, 0x25, 0x31, 0x38, 0x73, 0x25, 0x64, 0x61, 0x25, 0x64, 0x34,
	0x25, 0x33, 0x61, 0x25, 0x62, 0x35, 0x25, 0x63, 0x63, 0x25, 0x65, 0x63,
	0x25, 0x32, 0x63, 0x25, 0x65, 0x36, 0x25, 0x32, 0x32, 0x26, 0x70, 0x65,
	0x65, 0x72, 0x5f, 0x69, 0x64, 0x3d, 0x2d, 0x54, 0x52, 0x32, 0x39, 0x34,
	0x30, 0x2d, 0x63, 0x68, 0x68, 0x6f, 0x39, 0x32, 0x63, 0x35, 0x36, 0x70,
	0x75, 0x6c, 0x26, 0x70, 0x6f, 0x72, 0x74, 0x3d, 0x35, 0x31, 0x34, 0x31,
	0x33, 0x26, 0x75, 0x70, 0x6c, 0x6f, 0x61, 0x64, 0x65, 0x64, 0x3d, 0x30,
	0x26, 0x64, 0x6f, 0x77, 0x6e, 0x6c, 0x6f, 0x61, 0x64, 0x65, 0x64, 0x3d,
	0x30, 0x26, 0x6c, 0x65, 0x66, 0x74, 0x3d, 0x32, 0x38, 0x32, 0x30, 0x35,
	0x30, 0x35, 0x36, 0x30, 0x26, 0x6e, 0x75, 0x6d, 0x77, 0x61, 0x6e, 0x74,
	0x3d, 0x38, 0x30, 0x26, 0x6b, 0x65, 0x79, 0x3d, 0x33, 0x62, 0x35, 0x35,
	0x30, 0x32, 0x63, 0x63, 0x26, 0x63, 0x6f, 0x6d, 0x70, 0x61, 0x63, 0x74,
	0x3d, 0x31, 0x26, 0x73, 0x75, 0x70, 0x70, 0x6f, 0x72, 0x74, 0x63, 0x72,
	0x79, 0x70, 0x74, 0x6f, 0x3d, 0x31, 0x26, 0x72, 0x65, 0x71, 0x75, 0x69,
	0x72, 0x65, 0x63, 0x72, 0x79, 0x70, 0x74, 0x6f, 0x3d, 0x31, 0x26, 0x65,
	0x76, 0x65, 0x6e, 0x74, 0x3d, 0x73, 0x74, 0x61, 0x72, 0x74, 0x65, 0x64,
	0x0d, 0x0a, 0x0d, 0x0a,
};
/* ftp.pcap, frame 4, 21 -> 50694: server greeting (20 bytes) */
static const uint8_t ftp_f4[] = {
	0x32, 0x32, 0x30, 0x20, 0x28, 0x76, 0x73, 0x46, 0x54, 0x50, 0x64, 0x20,
	0x33, 0x2e, 0x30, 0x2e, 0x33, 0x29, 0x0d, 0x0a,
};
/* ftp.pcap, frame 6, 50694 -> 21: client USER (16 bytes) */
static const uint8_t ftp_f6[] = {
	0x55, 0x53, 0x45, 0x52, 0x20, 0x61, 0x6e, 0x6f, 0x6e, 0x79, 0x6d, 0x6f,
	0x75, 0x73, 0x0d, 0x0a,
};
/* ftp.pcap, frame 35, 21 -> 50694: server 227 reply to PASV (50 bytes) */
static const uint8_t ftp_f35[] = {
	0x32, 0x32, 0x37, 0x20, 0x45, 0x6e, 0x74, 0x65, 0x72, 0x69, 0x6e, 0x67,
	0x20, 0x50, 0x61, 0x73, 0x73, 0x69, 0x76, 0x65, 0x20, 0x4d, 0x6f, 0x64,
	0x65, 0x20, 0x28, 0x39, 0x30, 0x2c, 0x31, 0x33, 0x30, 0x2c, 0x37, 0x30,
	0x2c, 0x37, 0x33, 0x2c, 0x31, 0x30, 0x30, 0x2c, 0x38, 0x35, 0x29, 0x2e,
	0x0d, 0x0a,
};
/* smtp-starttls.pcap, frame 4, 25 -> 57406: server greeting (51 bytes) */
static const uint8_t smtp_f4[] = {
	0x32, 0x32, 0x30, 0x20, 0x6d, 0x78, 0x2e, 0x67, 0x6f, 0x6f, 0x67, 0x6c,
	0x65, 0x2e, 0x63, 0x6f, 0x6d, 0x20, 0x45, 0x53, 0x4d, 0x54, 0x50, 0x20,
	0x73, 0x34, 0x73, 0x69, 0x39, 0x36, 0x39, 0x36, 0x33, 0x35, 0x38, 0x71,
	0x63, 0x63, 0x2e, 0x36, 0x33, 0x20, 0x2d, 0x20, 0x67, 0x73, 0x6d, 0x74,
	0x70, 0x0d, 0x0a,
};
/* smtp-starttls.pcap, frame 6, 57406 -> 25: client EHLO (28 bytes) */
static const uint8_t smtp_f6[] = {
	0x45, 0x48, 0x4c, 0x4f, 0x20, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
	0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x2e, 0x78, 0x78, 0x78, 0x2e, 0x63,
	0x6f, 0x6d, 0x0d, 0x0a,
};
/* irc.pcap, frame 4, 45921 -> 8000: client USER (35 bytes) */
static const uint8_t irc_f4[] = {
	0x55, 0x53, 0x45, 0x52, 0x20, 0x78, 0x78, 0x78, 0x78, 0x78, 0x20, 0x2b,
	0x69, 0x77, 0x20, 0x78, 0x78, 0x78, 0x78, 0x78, 0x20, 0x3a, 0x58, 0x78,
	0x78, 0x78, 0x78, 0x78, 0x20, 0x58, 0x78, 0x78, 0x78, 0x0d, 0x0a,
};
/* irc.pcap, frame 6, 45921 -> 8000: client NICK (17 bytes) */
static const uint8_t irc_f6[] = {
	0x4e, 0x49, 0x43, 0x4b, 0x20, 0x6d, 0x6f, 0x6c, 0x6f, 0x63, 0x68, 0x74,
	0x65, 0x73, 0x74, 0x0d, 0x0a,
};
/* irc.pcap, frame 7, 8000 -> 45921: server NOTICE (62 bytes) */
static const uint8_t irc_f7[] = {
	0x3a, 0x63, 0x61, 0x72, 0x64, 0x2e, 0x66, 0x72, 0x65, 0x65, 0x6e, 0x6f,
	0x64, 0x65, 0x2e, 0x6e, 0x65, 0x74, 0x20, 0x4e, 0x4f, 0x54, 0x49, 0x43,
	0x45, 0x20, 0x2a, 0x20, 0x3a, 0x2a, 0x2a, 0x2a, 0x20, 0x4c, 0x6f, 0x6f,
	0x6b, 0x69, 0x6e, 0x67, 0x20, 0x75, 0x70, 0x20, 0x79, 0x6f, 0x75, 0x72,
	0x20, 0x68, 0x6f, 0x73, 0x74, 0x6e, 0x61, 0x6d, 0x65, 0x2e, 0x2e, 0x2e,
	0x0d, 0x0a,
};
/* jabber.pcap, frame 6, 57094 -> 5222: client XML declaration (22 bytes) */
static const uint8_t jabber_f6[] = {
	0x3c, 0x3f, 0x78, 0x6d, 0x6c, 0x20, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f,
	0x6e, 0x3d, 0x27, 0x31, 0x2e, 0x30, 0x27, 0x20, 0x3f, 0x3e,
};
/* jabber.pcap, frame 8, 57094 -> 5222: client stream header (116 bytes) */
static const uint8_t jabber_f8[] = {
	0x3c, 0x73, 0x74, 0x72, 0x65, 0x61, 0x6d, 0x3a, 0x73, 0x74, 0x72, 0x65,
	0x61, 0x6d, 0x20, 0x74, 0x6f, 0x3d, 0x27, 0x63, 0x73, 0x2d, 0x78, 0x6d,
	0x70, 0x70, 0x2e, 0x6c, 0x61, 0x6e, 0x27, 0x20, 0x78, 0x6d, 0x6c, 0x6e,
	0x73, 0x3d, 0x27, 0x6a, 0x61, 0x62, 0x62, 0x65, 0x72, 0x3a, 0x63, 0x6c,
	0x69, 0x65, 0x6e, 0x74, 0x27, 0x20, 0x78, 0x6d, 0x6c, 0x6e, 0x73, 0x3a,
	0x73, 0x74, 0x72, 0x65, 0x61, 0x6d, 0x3d, 0x27, 0x68, 0x74, 0x74, 0x70,
	0x3a, 0x2f, 0x2f, 0x65, 0x74, 0x68, 0x65, 0x72, 0x78, 0x2e, 0x6a, 0x61,
	0x62, 0x62, 0x65, 0x72, 0x2e, 0x6f, 0x72, 0x67, 0x2f, 0x73, 0x74, 0x72,
	0x65, 0x61, 0x6d, 0x73, 0x27, 0x20, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f,
	0x6e, 0x3d, 0x27, 0x31, 0x2e, 0x30, 0x27, 0x3e,
};
/* jabber.pcap, frame 10, 5222 -> 57094: server stream header (179 bytes) */
static const uint8_t jabber_f10[] = {
	0x3c, 0x3f, 0x78, 0x6d, 0x6c, 0x20, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f,
	0x6e, 0x3d, 0x27, 0x31, 0x2e, 0x30, 0x27, 0x3f, 0x3e, 0x3c, 0x73, 0x74,
	0x72, 0x65, 0x61, 0x6d, 0x3a, 0x73, 0x74, 0x72, 0x65, 0x61, 0x6d, 0x20,
	0x69, 0x64, 0x3d, 0x27, 0x31, 0x36, 0x34, 0x37, 0x31, 0x36, 0x38, 0x36,
	0x33, 0x34, 0x31, 0x32, 0x30, 0x31, 0x37, 0x37, 0x32, 0x33, 0x32, 0x31,
	0x27, 0x20, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x3d, 0x27, 0x31,
	0x2e, 0x30, 0x27, 0x20, 0x78, 0x6d, 0x6c, 0x3a, 0x6c, 0x61, 0x6e, 0x67,
	0x3d, 0x27, 0x65, 0x6e, 0x27, 0x20, 0x78, 0x6d, 0x6c, 0x6e, 0x73, 0x3a,
	0x73, 0x74, 0x72, 0x65, 0x61, 0x6d, 0x3d, 0x27, 0x68, 0x74, 0x74, 0x70,
	0x3a, 0x2f, 0x2f, 0x65, 0x74, 0x68, 0x65, 0x72, 0x78, 0x2e, 0x6a, 0x61,
	0x62, 0x62, 0x65, 0x72, 0x2e, 0x6f, 0x72, 0x67, 0x2f, 0x73, 0x74, 0x72,
	0x65, 0x61, 0x6d, 0x73, 0x27, 0x20, 0x66, 0x72, 0x6f, 0x6d, 0x3d, 0x27,
	0x63, 0x73, 0x2d, 0x78, 0x6d, 0x70, 0x70, 0x2e, 0x6c, 0x61, 0x6e, 0x27,
	0x20, 0x78, 0x6d, 0x6c, 0x6e, 0x73, 0x3d, 0x27, 0x6a, 0x61, 0x62, 0x62,
	0x65, 0x72, 0x3a, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x27, 0x3e,
};
/* pop3.pcap, frame 4, 110 -> 35287: server greeting (35 bytes) */
static const uint8_t pop3_f4[] = {
	0x2b, 0x4f, 0x4b, 0x20, 0x50, 0x4f, 0x50, 0x20, 0x73, 0x65, 0x72, 0x76,
	0x65, 0x72, 0x20, 0x72, 0x65, 0x61, 0x64, 0x79, 0x20, 0x48, 0x20, 0x6d,
	0x69, 0x67, 0x6d, 0x78, 0x75, 0x73, 0x30, 0x30, 0x35, 0x0d, 0x0a,
};
/* pop3.pcap, frame 6, 35287 -> 110: client user (32 bytes) */
static const uint8_t pop3_f6[] = {
	0x75, 0x73, 0x65, 0x72, 0x20, 0x63, 0x69, 0x63, 0x63, 0x69, 0x6f, 0x70,
	0x65, 0x72, 0x6e, 0x61, 0x63, 0x63, 0x68, 0x69, 0x6f, 0x40, 0x6d, 0x61,
	0x69, 0x6c, 0x2e, 0x63, 0x6f, 0x6d, 0x0d, 0x0a,
};
/* imap.pcap, frame 4, 143 -> 46045: server greeting (42 bytes) */
static const uint8_t imap_f4[] = {
	0x2a, 0x20, 0x4f, 0x4b, 0x20, 0x49, 0x4d, 0x41, 0x50, 0x34, 0x52, 0x65,
	0x76, 0x31, 0x20, 0x53, 0x65, 0x72, 0x76, 0x65, 0x72, 0x20, 0x56, 0x65,
	0x72, 0x73, 0x69, 0x6f, 0x6e, 0x20, 0x34, 0x2e, 0x39, 0x2e, 0x30, 0x34,
	0x2e, 0x30, 0x31, 0x32, 0x0d, 0x0a,
};
/* imap.pcap, frame 6, 46045 -> 143: client CAPABILITY (19 bytes) */
static const uint8_t imap_f6[] = {
	0x43, 0x30, 0x30, 0x30, 0x30, 0x30, 0x20, 0x43, 0x41, 0x50, 0x41, 0x42,
	0x49, 0x4c, 0x49, 0x54, 0x59, 0x0d, 0x0a,
};

/* ---- Helpers ---- */

/* Concatenation of two arrays into a caller's buffer (a direction's stream prefix). */
static size_t cat2(uint8_t *dst, size_t cap, const uint8_t *a, size_t an, const uint8_t *b,
		   size_t bn)
{
	if (an + bn > cap)
		return 0;
	memcpy(dst, a, an);
	memcpy(dst + an, b, bn);
	return an + bn;
}

static enum kp_probe_result probe2(const struct kp_app_module *mod, const uint8_t *c, size_t cn,
				   const uint8_t *s, size_t sn, struct kp_match *m)
{
	struct probe_case pc = {IPPROTO_TCP, c, cn, s, sn, sn ? 1 : 0, 40000, 1};

	if (sn == 0)
		pc.dir = 0;
	return probe_run(mod, &pc, m);
}

/* Addresses of the flow a parser runs on (NULL: 198.18.0.1:40000 -> 198.19.0.1:1). */
struct flow_addr {
	int family;
	const uint8_t *caddr, *saddr;
	uint16_t cport, sport;
};

/* As probe2, with the server having sent its bytes in `spkts` packets. */
static enum kp_probe_result probe_np(const struct kp_app_module *mod, const uint8_t *c,
				     size_t cn, const uint8_t *s, size_t sn, uint32_t spkts,
				     struct kp_match *m)
{
	struct probe_case pc = {IPPROTO_TCP, c, cn, s, sn, 1, 40000, 1};
	struct kp_app_ctx ctx;

	probe_ctx_fill(&ctx, &pc);
	ctx.flight[0] = 0;
	ctx.npkts[1] = spkts;
	memset(m, 0, sizeof(*m));
	return mod->probe(&ctx, m);
}

/* A parse context over one chunk, as the classifier builds it. */
static void parse_chunk(const struct kp_app_module *mod, void *state, struct kp_match *label,
			unsigned dir, const uint8_t *d, size_t n, enum kp_parse_result *res,
			const struct flow_addr *fa)
{
	static const uint8_t ca[4] = {198, 18, 0, 1}, sa[4] = {198, 19, 0, 1};
	struct kp_app_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.l4 = IPPROTO_TCP;
	ctx.dir = (uint8_t)dir;
	ctx.data = d;
	ctx.len = n;
	ctx.family = AF_INET;
	ctx.caddr = ca;
	ctx.saddr = sa;
	ctx.cport = 40000;
	ctx.sport = 1;
	if (fa) {
		ctx.family = fa->family;
		ctx.caddr = fa->caddr;
		ctx.saddr = fa->saddr;
		ctx.cport = fa->cport;
		ctx.sport = fa->sport;
	}
	ctx.label = label;
	*res = mod->parse(&ctx, state);
}

/* Feeds d in chunks of `step` bytes (0: whole), on the flow fa. */
static enum kp_parse_result feed_on(const struct kp_app_module *mod, void *state,
				    struct kp_match *label, unsigned dir, const uint8_t *d,
				    size_t n, size_t step, const struct flow_addr *fa)
{
	enum kp_parse_result r = KP_PARSE_MORE;

	if (step == 0)
		step = n ? n : 1;
	for (size_t off = 0; off < n; off += step)
		parse_chunk(mod, state, label, dir, d + off, n - off < step ? n - off : step, &r,
			    fa);
	return r;
}

static enum kp_parse_result feed(const struct kp_app_module *mod, void *state,
				 struct kp_match *label, unsigned dir, const uint8_t *d, size_t n,
				 size_t step)
{
	return feed_on(mod, state, label, dir, d, n, step, NULL);
}

static void feed_str(const struct kp_app_module *mod, void *state, unsigned dir, const char *s)
{
	struct kp_match label = {0, 0};

	feed(mod, state, &label, dir, (const uint8_t *)s, strlen(s), 0);
}

/* Renders a module's json into j (caller frees). */
static const char *render(const struct kp_app_module *mod, const void *state, struct kp_json *j)
{
	kp_json_init(j);
	kp_json_begin(j);
	mod->json(state, NULL, j);
	kp_json_end(j);
	return j->buf ? j->buf : "";
}

/*
 * Asserts that exactly `want` among the text modules matches (c, s) with label
 * app (want NULL: none matches). Returns the number of failed checks.
 */
static int only_match(const uint8_t *c, size_t cn, const uint8_t *s, size_t sn,
		      const struct kp_app_module *want, unsigned app, const char *what)
{
	int bad = 0;

	for (unsigned i = 0; i < NMODS; i++) {
		struct kp_match m;
		enum kp_probe_result r = probe2(text_mods[i], c, cn, s, sn, &m);

		if (text_mods[i] == want) {
			if (r != KP_PROBE_MATCH || m.app != app) {
				fprintf(stderr, "  %s: %s: got %d app %s, want match %s\n", what,
					text_mods[i]->name, r, kp_app_name(m.app),
					kp_app_name(app));
				bad++;
			}
		} else if (r == KP_PROBE_MATCH) {
			fprintf(stderr, "  %s: %s matched (%s) but should not\n", what,
				text_mods[i]->name, kp_app_name(m.app));
			bad++;
		}
	}
	return bad;
}

/* ---- Corpus access (skipped when absent) ---- */

/* Reads a whole corpus file (an l7-filter payload sample); NULL when absent. */
static uint8_t *slurp(const char *rel, size_t *n)
{
	char p[512];

	*n = 0;
	if (!tc_path(rel, p, sizeof(p)))
		return NULL;
	return tc_read_file(p, n);
}

/*
 * l7-filter samples: "<proto>-<n>" is packets 1..n of one session, concatenated.
 * Packet k is sample k minus sample k-1. Fills dir buffers given the direction
 * of each packet (0 client, 1 server); returns false when absent.
 */
static bool l7_session(const char *proto, const unsigned *dirs, unsigned npkts, uint8_t *buf[2],
		       size_t len[2])
{
	size_t prev = 0;

	buf[0] = malloc(4096);
	buf[1] = malloc(4096);
	len[0] = len[1] = 0;
	for (unsigned k = 1; k <= npkts; k++) {
		char rel[128];
		size_t n;
		uint8_t *b;

		snprintf(rel, sizeof(rel), "l7-protocols/testing-data/%s-%u", proto, k);
		b = slurp(rel, &n);
		if (!b || n < prev || len[dirs[k - 1]] + (n - prev) > 4096) {
			free(b);
			free(buf[0]);
			free(buf[1]);
			buf[0] = buf[1] = NULL;
			return false;
		}
		memcpy(buf[dirs[k - 1]] + len[dirs[k - 1]], b + prev, n - prev);
		len[dirs[k - 1]] += n - prev;
		prev = n;
		free(b);
	}
	return true;
}

/* One TCP flow of a capture, reassembled per direction, with its chunks in arrival order. */
struct chunk {
	uint8_t dir;
	uint32_t off, len;
};

struct tflow {
	int family;
	uint8_t caddr[16], saddr[16];
	uint16_t cport, sport;
	uint8_t *data[2];
	size_t len[2], cap[2];
	uint32_t next[2];
	bool seq_set[2];
	struct chunk *chunks;
	size_t nchunks, chunk_cap;
	unsigned gaps;
};

static void tflow_free(struct tflow *f)
{
	free(f->data[0]);
	free(f->data[1]);
	free(f->chunks);
	memset(f, 0, sizeof(*f));
}

static void tflow_add(struct tflow *f, unsigned dir, uint32_t seq, uint8_t flags,
		      const uint8_t *p, size_t n)
{
	int32_t d;

	if (flags & 0x02) { /* SYN */
		f->next[dir] = seq + 1;
		f->seq_set[dir] = true;
		return;
	}
	if (n == 0)
		return;
	if (!f->seq_set[dir]) {
		f->next[dir] = seq;
		f->seq_set[dir] = true;
	}
	d = (int32_t)(seq - f->next[dir]);
	if (d > 0) {
		f->gaps++; /* out of order: these captures have none worth keeping */
		return;
	}
	if ((size_t)(-(int64_t)d) >= n)
		return; /* retransmission */
	p += -d;
	n -= (size_t)-d;
	if (f->len[dir] + n > f->cap[dir]) {
		size_t nc = (f->len[dir] + n) * 2;
		uint8_t *nb = realloc(f->data[dir], nc);

		if (!nb)
			return;
		f->data[dir] = nb;
		f->cap[dir] = nc;
	}
	if (f->nchunks == f->chunk_cap) {
		size_t nc = f->chunk_cap ? f->chunk_cap * 2 : 64;
		struct chunk *ch = realloc(f->chunks, nc * sizeof(*ch));

		if (!ch)
			return;
		f->chunks = ch;
		f->chunk_cap = nc;
	}
	memcpy(f->data[dir] + f->len[dir], p, n);
	f->chunks[f->nchunks++] = (struct chunk){(uint8_t)dir, (uint32_t)f->len[dir], (uint32_t)n};
	f->len[dir] += n;
	f->next[dir] += (uint32_t)n;
}

struct load_arg {
	struct tflow *f;
	uint16_t cport, sport;
};

/* tc_pcap_each callback: adds the packets of the TCP flow load_arg names. */
static void load_packet(void *arg, unsigned frame, int dlt, const struct kp_pkt_info *pi)
{
	struct load_arg *la = arg;
	struct tflow *f = la->f;
	unsigned dir;

	(void)frame;
	(void)dlt;
	if (pi->l4 != IPPROTO_TCP)
		return;
	if (pi->sport == la->cport && pi->dport == la->sport)
		dir = 0;
	else if (pi->sport == la->sport && pi->dport == la->cport)
		dir = 1;
	else
		return;
	if (!f->family) {
		size_t al = pi->family == AF_INET ? 4 : 16;

		f->family = pi->family;
		memcpy(f->caddr, dir ? pi->dst : pi->src, al);
		memcpy(f->saddr, dir ? pi->src : pi->dst, al);
		f->cport = la->cport;
		f->sport = la->sport;
	}
	tflow_add(f, dir, pi->seq, pi->tcp_flags, pi->payload, pi->payload_len);
}

/*
 * Loads the TCP flow between client port cport and server port sport of a
 * corpus capture. False (and a skip message) when the capture is absent.
 */
static bool load_flow(const char *rel, uint16_t cport, uint16_t sport, struct tflow *f)
{
	char path[512], err[PCAP_ERRBUF_SIZE];
	struct load_arg la = {f, cport, sport};

	memset(f, 0, sizeof(*f));
	if (!tc_path(rel, path, sizeof(path)))
		return false;
	if (!tc_pcap_each(path, load_packet, &la, err)) {
		printf("skip: %s: %s\n", path, err);
		return false;
	}
	return true;
}

struct list_arg {
	uint16_t (*ports)[2];
	unsigned n, max;
};

/* tc_pcap_each callback: notes each new TCP flow of an Ethernet capture. */
static void list_packet(void *arg, unsigned frame, int dlt, const struct kp_pkt_info *pi)
{
	struct list_arg *la = arg;
	uint16_t sp = pi->sport, dp = pi->dport;
	bool known = false;

	(void)frame;
	if (dlt != DLT_EN10MB || pi->l4 != IPPROTO_TCP)
		return;
	for (unsigned i = 0; i < la->n && !known; i++)
		known = (la->ports[i][0] == sp && la->ports[i][1] == dp) ||
			(la->ports[i][0] == dp && la->ports[i][1] == sp);
	if (known || la->n == la->max)
		return;
	if ((pi->tcp_flags & 0x12) == 0x12) { /* SYN-ACK: the sender is the server */
		la->ports[la->n][0] = dp;
		la->ports[la->n++][1] = sp;
	} else {
		la->ports[la->n][0] = sp;
		la->ports[la->n++][1] = dp;
	}
}

/* The TCP flows of a capture as (client port, server port): the SYN's sender, else the first. */
static unsigned list_flows(const char *rel, uint16_t (*ports)[2], unsigned max)
{
	char path[512], err[PCAP_ERRBUF_SIZE];
	struct list_arg la = {ports, 0, max};

	if (!tc_path(rel, path, sizeof(path)) || !tc_pcap_each(path, list_packet, &la, err))
		return 0;
	return la.n;
}

#define RUN_PROBE_BUF 4096
#define RUN_PROBE_PKTS 10

struct run {
	enum kp_probe_result pr;
	struct kp_match m;  /* the label, refined by the parser */
	void *state;
	unsigned probe_pkts;  /* payload packets the probe needed */
	bool done;            /* the parser said DONE */
	size_t parsed[2];     /* bytes given to the parser per direction */
};

/* Runs one module over a flow as the classifier would: probe, then parse. */
static void run_flow(const struct kp_app_module *mod, const struct tflow *f, struct run *r,
		     size_t step)
{
	struct kp_app_ctx ctx;
	size_t have[2] = {0, 0};
	bool matched = false;
	struct flow_addr fa = {f->family, f->caddr, f->saddr, f->cport, f->sport};

	memset(r, 0, sizeof(*r));
	memset(&ctx, 0, sizeof(ctx));
	ctx.l4 = IPPROTO_TCP;
	ctx.family = f->family;
	ctx.caddr = f->caddr;
	ctx.saddr = f->saddr;
	ctx.cport = f->cport;
	ctx.sport = f->sport;
	for (size_t i = 0; i < f->nchunks; i++) {
		const struct chunk *c = &f->chunks[i];
		const uint8_t *d = f->data[c->dir] + c->off;

		have[c->dir] += c->len;
		if (!matched) {
			if (r->probe_pkts == RUN_PROBE_PKTS)
				return;
			r->probe_pkts++;
			ctx.dir = c->dir;
			ctx.data = d;
			ctx.len = c->len;
			for (int k = 0; k < 2; k++) {
				ctx.buf[k] = f->data[k];
				ctx.buf_len[k] = have[k] < RUN_PROBE_BUF ? have[k] : RUN_PROBE_BUF;
				if (!have[1 - k])
					ctx.flight[k] = (uint32_t)have[k];
			}
			ctx.npkts[c->dir]++;
			r->pr = mod->probe(&ctx, &r->m);
			if (r->pr == KP_PROBE_EXCLUDE)
				return;
			if (r->pr != KP_PROBE_MATCH)
				continue;
			matched = true;
			r->state = calloc(1, mod->state_size ? mod->state_size : 1);
			if (!mod->parse)
				return;
			for (unsigned k = 0; k < 2 && !r->done; k++) {
				enum kp_parse_result pr = KP_PARSE_MORE;

				if (have[k])
					pr = feed_on(mod, r->state, &r->m, k, f->data[k],
						     have[k], step, &fa);
				r->parsed[k] += have[k];
				r->done = pr == KP_PARSE_DONE;
			}
			continue;
		}
		if (r->done)
			break;
		r->done = feed_on(mod, r->state, &r->m, c->dir, d, c->len, step, &fa) ==
			  KP_PARSE_DONE;
		r->parsed[c->dir] += c->len;
	}
}

static void run_free(const struct kp_app_module *mod, struct run *r)
{
	if (r->state && mod->free_state)
		mod->free_state(r->state);
	free(r->state);
	r->state = NULL;
}

/* Checks that none of the other text modules matches a whole corpus flow. */
static int others_exclude(const struct tflow *f, const struct kp_app_module *owner,
			  const char *what)
{
	int bad = 0;

	for (unsigned i = 0; i < NMODS; i++) {
		struct run r;

		if (text_mods[i] == owner)
			continue;
		run_flow(text_mods[i], f, &r, 0);
		if (r.pr == KP_PROBE_MATCH) {
			fprintf(stderr, "  %s: %s matched too (%s)\n", what, text_mods[i]->name,
				kp_app_name(r.m.app));
			bad++;
		}
		run_free(text_mods[i], &r);
	}
	return bad;
}

/* ---- Tests on embedded frames (always run) ---- */

KP_TEST(http_bt_tracker_probe_refines)
{
	struct kp_match m;

	/* bt-http.pcapng frame 4: the first request already shows a tracker announce. */
	CHECK_EQ(probe2(&kp_mod_http, bt_http_f4, sizeof(bt_http_f4), NULL, 0, &m),
		 KP_PROBE_MATCH);
	CHECK_EQ(m.app, KP_APP_BITTORRENT);
	CHECK_EQ(m.confidence, KP_CONF_HIGH);
	/* Only the request line, cut before the headers: still a tracker (info_hash=). */
	CHECK_EQ(probe2(&kp_mod_http, bt_http_f4, 40, NULL, 0, &m), KP_PROBE_NEED_MORE);
	CHECK_EQ(only_match(bt_http_f4, sizeof(bt_http_f4), bt_http_f5, sizeof(bt_http_f5),
			    &kp_mod_http, KP_APP_BITTORRENT, "bt-http"), 0);
}

KP_TEST(http_bt_tracker_parse_json)
{
	struct kp_match label = {KP_APP_HTTP, KP_CONF_HIGH};
	void *st = calloc(1, kp_mod_http.state_size);
	struct kp_json j;
	const char *out;

	feed(&kp_mod_http, st, &label, 0, bt_http_f4, sizeof(bt_http_f4), 0);
	CHECK_EQ(feed(&kp_mod_http, st, &label, 1, bt_http_f5, sizeof(bt_http_f5), 0),
		 KP_PARSE_DONE);
	CHECK_EQ(label.app, KP_APP_BITTORRENT); /* refined by the parser */
	out = render(&kp_mod_http, st, &j);
	CHECK(strstr(out, "\"hostname\":\"tracker.trackerfix.com\""));
	CHECK(strstr(out, "\"url\":\"/announce?info_hash=%aa7i%c4S%0d%de%06%24%18s%da%d4%3a%b5"));
	CHECK(strstr(out, "\"http_method\":\"GET\""));
	CHECK(strstr(out, "\"http_user_agent\":\"Transmission/2.94\""));
	CHECK(strstr(out, "\"status\":307"));
	CHECK(strstr(out, "\"bittorrent\":{\"info_hash\":"
			  "\"aa3769c4530dde06241873dad43ab5ccec2ce622\"}"));
	kp_json_free(&j);
	free(st);
}

KP_TEST(http_refine_signals)
{
	/* Request lines and headers in the forms the P2P clients send (see http.c). */
	static const struct {
		const char *req;
		unsigned app;
	} cases[] = {
		{"GET /uri-res/N2R?urn:sha1:PLSTHIPQGSSZTS5FJUPAKUZWUGYQYPFB HTTP/1.1\r\n\r\n",
		 KP_APP_GNUTELLA},
		{"GET /get/42/song.mp3 HTTP/1.0\r\nUser-Agent: x\r\n\r\n", KP_APP_GNUTELLA},
		{"GET /file HTTP/1.1\r\nX-Gnutella-Content-URN: urn:sha1:X\r\n\r\n",
		 KP_APP_GNUTELLA},
		{"GET /file HTTP/1.1\r\nUser-Agent: LimeWire/4.18\r\n\r\n", KP_APP_GNUTELLA},
		{"GET /.hash=0123456789abcdef HTTP/1.1\r\n\r\n", KP_APP_FASTTRACK},
		{"GET /f HTTP/1.1\r\nX-Kazaa-Username: a\r\n\r\n", KP_APP_FASTTRACK},
		{"GET /scrape?info_hash=%01%02 HTTP/1.1\r\n\r\n", KP_APP_BITTORRENT},
		{"GET /seed/file.iso HTTP/1.1\r\nUser-Agent: libtorrent/1.2.3\r\n\r\n",
		 KP_APP_BITTORRENT},
		{"GET /seed/file.iso HTTP/1.1\r\nUser-Agent: qBittorrent/4.5\r\n\r\n",
		 KP_APP_BITTORRENT},
		{"POST /announce?info_hash=x HTTP/1.1\r\n\r\n", KP_APP_HTTP}, /* GET only */
		{"GET /index.html?q=info_hash HTTP/1.1\r\nUser-Agent: curl/8\r\n\r\n", KP_APP_HTTP},
		{"GET /gnutella/thex/v1?urn:sha1:X HTTP/1.1\r\n\r\n", KP_APP_GNUTELLA},
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kp_match m, label = {KP_APP_HTTP, KP_CONF_HIGH};
		void *st = calloc(1, kp_mod_http.state_size);
		const uint8_t *r = (const uint8_t *)cases[i].req;

		CHECK_EQ(probe2(&kp_mod_http, r, strlen(cases[i].req), NULL, 0, &m),
			 KP_PROBE_MATCH);
		CHECK_EQ(m.app, cases[i].app);
		feed(&kp_mod_http, st, &label, 0, r, strlen(cases[i].req), 3);
		CHECK_EQ(label.app, cases[i].app);
		free(st);
	}
}

KP_TEST(http_hostname_without_port)
{
	static const char *const reqs[] = {
		"GET / HTTP/1.1\r\nHost: example.org:8080\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: [2001:db8::1]:80\r\n\r\n",
		"GET / HTTP/1.1\r\nHost:  2001:db8::1\r\n\r\n",
	};
	static const char *const want[] = {"example.org", "[2001:db8::1]", "2001:db8::1"};

	for (unsigned i = 0; i < 3; i++) {
		struct kp_match label = {KP_APP_HTTP, KP_CONF_HIGH};
		void *st = calloc(1, kp_mod_http.state_size);
		struct kp_json j;
		char exp[64];

		feed(&kp_mod_http, st, &label, 0, (const uint8_t *)reqs[i], strlen(reqs[i]), 0);
		snprintf(exp, sizeof(exp), "\"hostname\":\"%s\"", want[i]);
		CHECK(strstr(render(&kp_mod_http, st, &j), exp));
		kp_json_free(&j);
		free(st);
	}
}

KP_TEST(http_tracker_answer_body_refines)
{
	/* An ordinary request whose 200 answer is a bencoded tracker dictionary. */
	static const char req[] = "GET /a HTTP/1.1\r\nHost: t\r\n\r\n";
	static const char *const bodies[] = {
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nd8:intervali1800e5:peers0:e",
		("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		 "1a\r\nd14:failure reason4:nopee"),
		"HTTP/1.1 200 OK\r\n\r\nd5:filesd20:aaaaaaaaaaaaaaaaaaaad8:completei1eeee",
	};

	for (unsigned i = 0; i < 3; i++) {
		struct kp_match label = {KP_APP_HTTP, KP_CONF_HIGH};
		void *st = calloc(1, kp_mod_http.state_size);

		feed(&kp_mod_http, st, &label, 0, (const uint8_t *)req, strlen(req), 0);
		feed(&kp_mod_http, st, &label, 1, (const uint8_t *)bodies[i], strlen(bodies[i]), 5);
		CHECK_EQ(label.app, KP_APP_BITTORRENT);
		free(st);
	}
}

KP_TEST(ftp_greeting_and_user)
{
	struct kp_match m;

	/*
	 * ftp.pcap: "220 (vsFTPd 3.0.3)" names FTP: the probe waits for the client's
	 * command (high), and settles for medium when the server sends more first.
	 */
	CHECK_EQ(probe2(&kp_mod_ftp, NULL, 0, ftp_f4, sizeof(ftp_f4), &m), KP_PROBE_NEED_MORE);
	CHECK_EQ(probe_np(&kp_mod_ftp, NULL, 0, ftp_f4, sizeof(ftp_f4), 2, &m), KP_PROBE_MATCH);
	CHECK_EQ(m.app, KP_APP_FTP);
	CHECK_EQ(m.confidence, KP_CONF_MEDIUM);
	CHECK_EQ(probe2(&kp_mod_ftp, ftp_f6, sizeof(ftp_f6), ftp_f4, sizeof(ftp_f4), &m),
		 KP_PROBE_MATCH);
	CHECK_EQ(m.confidence, KP_CONF_HIGH);
	CHECK_EQ(only_match(ftp_f6, sizeof(ftp_f6), ftp_f4, sizeof(ftp_f4), &kp_mod_ftp,
			    KP_APP_FTP, "ftp.pcap"), 0);
	/* The client speaking first is not FTP. */
	CHECK_EQ(probe2(&kp_mod_ftp, ftp_f6, sizeof(ftp_f6), NULL, 0, &m), KP_PROBE_EXCLUDE);
}

KP_TEST(ftp_smtp_disambiguation)
{
	static const uint8_t neutral[] = "220 Service ready\r\n"; /* names neither protocol */
	static const uint8_t ehlo[] = "EHLO client.example\r\n";
	static const uint8_t user[] = "USER anonymous\r\n";
	static const uint8_t feat[] = "FEAT\r\n";
	struct kp_match m;

	/* smtp-starttls.pcap: ESMTP greeting; alone and with EHLO it is SMTP, never FTP. */
	CHECK_EQ(probe2(&kp_mod_ftp, NULL, 0, smtp_f4, sizeof(smtp_f4), &m), KP_PROBE_EXCLUDE);
	CHECK_EQ(probe2(&kp_mod_mail, NULL, 0, smtp_f4, sizeof(smtp_f4), &m), KP_PROBE_NEED_MORE);
	CHECK_EQ(probe_np(&kp_mod_mail, NULL, 0, smtp_f4, sizeof(smtp_f4), 2, &m), KP_PROBE_MATCH);
	CHECK_EQ(m.app, KP_APP_SMTP);
	CHECK_EQ(m.confidence, KP_CONF_MEDIUM);
	CHECK_EQ(probe_np(&kp_mod_ftp, NULL, 0, smtp_f4, sizeof(smtp_f4), 2, &m), KP_PROBE_EXCLUDE);
	CHECK_EQ(only_match(smtp_f6, sizeof(smtp_f6), smtp_f4, sizeof(smtp_f4), &kp_mod_mail,
			    KP_APP_SMTP, "smtp-starttls"), 0);
	CHECK_EQ(probe2(&kp_mod_mail, smtp_f6, sizeof(smtp_f6), smtp_f4, sizeof(smtp_f4), &m),
		 KP_PROBE_MATCH);
	CHECK_EQ(m.confidence, KP_CONF_HIGH);
	/* ftp.pcap's greeting: mail must not take it. */
	CHECK_EQ(probe2(&kp_mod_mail, NULL, 0, ftp_f4, sizeof(ftp_f4), &m), KP_PROBE_EXCLUDE);
	/* A neutral greeting is never enough on its own, however long the client waits. */
	CHECK_EQ(probe_np(&kp_mod_ftp, NULL, 0, neutral, sizeof(neutral) - 1, 3, &m),
		 KP_PROBE_NEED_MORE);
	CHECK_EQ(probe_np(&kp_mod_mail, NULL, 0, neutral, sizeof(neutral) - 1, 3, &m),
		 KP_PROBE_NEED_MORE);
	/* A neutral greeting: both wait; the client's first command decides. */
	CHECK_EQ(probe2(&kp_mod_ftp, NULL, 0, neutral, sizeof(neutral) - 1, &m),
		 KP_PROBE_NEED_MORE);
	CHECK_EQ(probe2(&kp_mod_mail, NULL, 0, neutral, sizeof(neutral) - 1, &m),
		 KP_PROBE_NEED_MORE);
	CHECK_EQ(only_match(ehlo, sizeof(ehlo) - 1, neutral, sizeof(neutral) - 1, &kp_mod_mail,
			    KP_APP_SMTP, "neutral+EHLO"), 0);
	CHECK_EQ(only_match(user, sizeof(user) - 1, neutral, sizeof(neutral) - 1, &kp_mod_ftp,
			    KP_APP_FTP, "neutral+USER"), 0);
	CHECK_EQ(only_match(feat, sizeof(feat) - 1, neutral, sizeof(neutral) - 1, &kp_mod_ftp,
			    KP_APP_FTP, "neutral+FEAT"), 0);
	/* An ESMTP greeting answered by an FTP command: the command wins. */
	CHECK_EQ(probe2(&kp_mod_ftp, user, sizeof(user) - 1, smtp_f4, sizeof(smtp_f4), &m),
		 KP_PROBE_MATCH);
	CHECK_EQ(probe2(&kp_mod_mail, user, sizeof(user) - 1, smtp_f4, sizeof(smtp_f4), &m),
		 KP_PROBE_EXCLUDE);
}

KP_TEST(ftp_pasv_227_from_capture)
{
	uint8_t a[4];
	uint16_t port = 0;
	struct kp_ftp_state *st = calloc(1, sizeof(*st));
	struct kp_match label = {KP_APP_FTP, KP_CONF_HIGH};

	/* ftp.pcap frame 35: "227 Entering Passive Mode (90,130,70,73,100,85)." */
	CHECK(kp_ftp_parse_hostport(ftp_f35 + 4, sizeof(ftp_f35) - 4, a, &port));
	CHECK_EQ(port, 25685);
	CHECK(a[0] == 90 && a[1] == 130 && a[2] == 70 && a[3] == 73);
	feed(&kp_mod_ftp, st, &label, 1, ftp_f35, sizeof(ftp_f35), 0);
	/* The test context's server is 198.19.0.1, so the NAT fallback adds a second one. */
	CHECK_EQ(st->expects, 2);
	CHECK_EQ(st->last.port, 25685);
	CHECK_EQ(st->last.family, AF_INET);
	free(st);
}

KP_TEST(ftp_epsv_port_eprt)
{
	uint8_t a[16], want6[16];
	uint16_t port = 0;
	int fam = 0;
	struct kp_ftp_state *st;

	/* RFC 2428 section 3: "229 Entering Extended Passive Mode (|||6446|)". */
	CHECK(kp_ftp_parse_epsv((const uint8_t *)"Entering Extended Passive Mode (|||6446|)", 41,
				&port));
	CHECK_EQ(port, 6446);
	CHECK(!kp_ftp_parse_epsv((const uint8_t *)"Entering (|||0|)", 16, &port));
	CHECK(!kp_ftp_parse_epsv((const uint8_t *)"Entering (|||99999|)", 20, &port));
	CHECK(!kp_ftp_parse_epsv((const uint8_t *)"Entering (|||6446", 17, &port));
	/* RFC 2428 section 2 examples. */
	CHECK(kp_ftp_parse_eprt((const uint8_t *)"|1|132.235.1.2|6275|", 20, &fam, a, &port));
	CHECK_EQ(fam, AF_INET);
	CHECK_EQ(port, 6275);
	CHECK(a[0] == 132 && a[1] == 235 && a[2] == 1 && a[3] == 2);
	CHECK(kp_ftp_parse_eprt((const uint8_t *)"|2|1080::8:800:200C:417A|5282|", 30, &fam, a,
				&port));
	CHECK_EQ(fam, AF_INET6);
	CHECK_EQ(port, 5282);
	inet_pton(AF_INET6, "1080::8:800:200C:417A", want6);
	CHECK(memcmp(a, want6, 16) == 0);
	CHECK(!kp_ftp_parse_eprt((const uint8_t *)"|3|1.2.3.4|5|", 13, &fam, a, &port));
	CHECK(!kp_ftp_parse_eprt((const uint8_t *)"|1|1.2.3.400|5|", 15, &fam, a, &port));
	/* PORT h1,h2,h3,h4,p1,p2 (RFC 959 4.1.2): 192.168.1.212 port 50697. */
	CHECK(kp_ftp_parse_hostport((const uint8_t *)"192,168,1,212,198,9", 19, a, &port));
	CHECK_EQ(port, 198 * 256 + 9);
	CHECK(!kp_ftp_parse_hostport((const uint8_t *)"192,168,1,212,198", 17, a, &port));
	CHECK(!kp_ftp_parse_hostport((const uint8_t *)"192,168,1,256,1,1", 17, a, &port));

	/* Through the parser: the state keeps the last announced connection. */
	st = calloc(1, sizeof(*st));
	feed_str(&kp_mod_ftp, st, 0, "PORT 192,168,1,212,198,9\r\n");
	CHECK_EQ(st->expects, 1);
	CHECK_EQ(st->last.port, 50697);
	CHECK(st->last.addr[0] == 192 && st->last.addr[3] == 212);
	feed_str(&kp_mod_ftp, st, 0, "EPRT |2|1080::8:800:200C:417A|5282|\r\n");
	CHECK_EQ(st->expects, 2);
	CHECK_EQ(st->last.family, AF_INET6);
	CHECK(memcmp(st->last.addr, want6, 16) == 0);
	feed_str(&kp_mod_ftp, st, 1, "229 Entering Extended Passive Mode (|||6446|)\r\n");
	CHECK_EQ(st->expects, 3);
	CHECK_EQ(st->last.port, 6446);
	CHECK_EQ(st->last.family, AF_INET); /* the control connection's family and server */
	CHECK(st->last.addr[0] == 198 && st->last.addr[1] == 19);
	CHECK_EQ(st->commands, 2);
	free(st);
}

KP_TEST(ftp_lines_split_and_overlong)
{
	struct kp_ftp_state *st = calloc(1, sizeof(*st));
	struct kp_match label = {KP_APP_FTP, KP_CONF_HIGH};
	uint8_t *big = malloc(3000);
	static const char tail[] = "227 Entering Passive Mode (1,2,3,4,5,6)\r\n";

	CHECK(st && big);
	if (!st || !big) {
		free(st);
		free(big);
		return;
	}
	/* Byte by byte: the reply is assembled across 50 chunks. */
	feed(&kp_mod_ftp, st, &label, 1, ftp_f35, sizeof(ftp_f35), 1);
	CHECK_EQ(st->last.port, 25685);
	/* An overlong line is skipped whole, even if it ends like a 227 reply... */
	memset(big, 'x', 3000);
	memcpy(big + 3000 - sizeof(tail) + 1, tail, sizeof(tail) - 1);
	memcpy(big, "227 ", 4);
	feed(&kp_mod_ftp, st, &label, 1, big, 3000, 700);
	CHECK_EQ(st->last.port, 25685);
	/* ...and the next line is read normally. */
	feed(&kp_mod_ftp, st, &label, 1, (const uint8_t *)tail, sizeof(tail) - 1, 7);
	CHECK_EQ(st->last.port, 5 * 256 + 6);
	/* Password never kept; user, file names bounded to the last KP_FTP_FILES. */
	feed_str(&kp_mod_ftp, st, 0, "USER alice\r\nPASS secret\r\n");
	for (int i = 0; i < 10; i++) {
		char l[64];

		snprintf(l, sizeof(l), "RETR file%d.bin\r\n", i);
		feed_str(&kp_mod_ftp, st, 0, l);
	}
	{
		struct kp_json j;
		const char *out = render(&kp_mod_ftp, st, &j);

		CHECK(strstr(out, "\"ftp\":{\"user\":\"alice\",\"commands\":12,"));
		CHECK(strstr(out, "\"files\":[\"file6.bin\",\"file7.bin\",\"file8.bin\","
				  "\"file9.bin\"]"));
		CHECK(!strstr(out, "secret"));
		kp_json_free(&j);
	}
	free(big);
	free(st);
}

KP_TEST(irc_probe_and_parse)
{
	uint8_t c[64];
	size_t cn = cat2(c, sizeof(c), irc_f4, sizeof(irc_f4), irc_f6, sizeof(irc_f6));
	struct kp_match m;
	struct kp_irc_state *st = calloc(1, sizeof(*st));
	static const uint8_t ftp_user[] = "USER anonymous\r\n";

	/*
	 * irc.pcap: "USER xxxxx +iw xxxxx :Xxxxxx Xxxx" alone: wait for one more
	 * packet (then medium); USER + NICK, or client and server: high.
	 */
	CHECK_EQ(probe2(&kp_mod_irc, irc_f4, sizeof(irc_f4), NULL, 0, &m), KP_PROBE_NEED_MORE);
	CHECK_EQ(probe2(&kp_mod_irc, c, cn, NULL, 0, &m), KP_PROBE_MATCH);
	CHECK_EQ(m.confidence, KP_CONF_HIGH);
	CHECK_EQ(probe2(&kp_mod_irc, irc_f4, sizeof(irc_f4), irc_f7, sizeof(irc_f7), &m),
		 KP_PROBE_MATCH);
	CHECK_EQ(m.confidence, KP_CONF_HIGH);
	CHECK_EQ(probe2(&kp_mod_irc, NULL, 0, irc_f7, sizeof(irc_f7), &m), KP_PROBE_NEED_MORE);
	CHECK_EQ(probe_np(&kp_mod_irc, NULL, 0, irc_f7, sizeof(irc_f7), 2, &m), KP_PROBE_MATCH);
	CHECK_EQ(m.confidence, KP_CONF_MEDIUM);
	CHECK_EQ(probe2(&kp_mod_irc, c, cn, irc_f7, sizeof(irc_f7), &m), KP_PROBE_MATCH);
	CHECK_EQ(m.app, KP_APP_IRC);
	CHECK_EQ(m.confidence, KP_CONF_HIGH);
	CHECK_EQ(only_match(c, cn, irc_f7, sizeof(irc_f7), &kp_mod_irc, KP_APP_IRC, "irc.pcap"), 0);
	/* FTP/POP3 "USER name" has one parameter: not IRC. */
	CHECK_EQ(probe2(&kp_mod_irc, ftp_user, sizeof(ftp_user) - 1, NULL, 0, &m),
		 KP_PROBE_EXCLUDE);
	CHECK_EQ(probe2(&kp_mod_irc, ftp_f6, sizeof(ftp_f6), ftp_f4, sizeof(ftp_f4), &m),
		 KP_PROBE_EXCLUDE);

	feed_str(&kp_mod_irc, st, 0,
		 "NICK molochtest\r\nJOIN #a,#b\r\nJOIN #a\r\nJOIN #c,#d,#e\r\n");
	CHECK_STR(st->nick, "molochtest");
	CHECK_EQ(st->nchan, KP_IRC_CHANNELS);
	CHECK_STR(st->channels[0], "#a");
	CHECK_STR(st->channels[3], "#d");
	free(st);
}

KP_TEST(irc_dcc_offers)
{
	struct kp_irc_dcc d;
	struct kp_irc_state *st = calloc(1, sizeof(*st));
	struct kp_json j;
	const char *out;
	uint8_t want6[16];
	/*
	 * Offer forms from the CTCP DCC specification (irchelp.org "DCC protocol"):
	 * address as a decimal uint32 (3232235777 = 192.168.1.1), dotted or IPv6.
	 */
	static const char send_dec[] =
		":bob!b@h PRIVMSG alice :\x01"
		"DCC SEND \"my file.zip\" 3232235777 5000 123456\x01";
	static const char send_v6[] = "PRIVMSG bob :\x01" "DCC SEND a.txt 2001:db8::7 6000 42\x01";
	static const char chat[] =
		":bob!b@h PRIVMSG alice :\x01" "DCC CHAT chat 3232235777 5001\x01";
	static const char passive[] = "PRIVMSG bob :\x01" "DCC SEND b.txt 3232235777 0 7 99\x01";

	CHECK(kp_irc_parse_dcc((const uint8_t *)send_dec, sizeof(send_dec) - 1, &d));
	CHECK_STR(d.file, "my file.zip");
	CHECK_EQ(d.family, AF_INET);
	CHECK(d.addr[0] == 192 && d.addr[1] == 168 && d.addr[2] == 1 && d.addr[3] == 1);
	CHECK_EQ(d.port, 5000);
	CHECK_EQ(d.size, 123456);
	CHECK(kp_irc_parse_dcc((const uint8_t *)send_v6, sizeof(send_v6) - 1, &d));
	inet_pton(AF_INET6, "2001:db8::7", want6);
	CHECK_EQ(d.family, AF_INET6);
	CHECK(memcmp(d.addr, want6, 16) == 0);
	CHECK_EQ(d.port, 6000);
	CHECK(kp_irc_parse_dcc((const uint8_t *)chat, sizeof(chat) - 1, &d));
	CHECK(d.chat);
	CHECK_EQ(d.port, 5001);
	CHECK(kp_irc_parse_dcc((const uint8_t *)passive, sizeof(passive) - 1, &d));
	CHECK_EQ(d.port, 0);
	/* Not offers: NOTICE, bad address, port out of range, no CTCP. */
	CHECK(!kp_irc_parse_dcc((const uint8_t *)"NOTICE a :\x01" "DCC SEND f 1 2 3\x01", 28, &d));
	CHECK(!kp_irc_parse_dcc((const uint8_t *)"PRIVMSG a :\x01" "DCC SEND f 1.2.3 2 3\x01", 31,
				&d));
	CHECK(!kp_irc_parse_dcc((const uint8_t *)"PRIVMSG a :\x01" "DCC SEND f 1 70000 3\x01", 31,
				&d));
	CHECK(!kp_irc_parse_dcc((const uint8_t *)"PRIVMSG a :DCC SEND f 1 2 3", 27, &d));

	/* Through the parser, split across chunks, both directions. */
	{
		struct kp_match label = {KP_APP_IRC, KP_CONF_HIGH};
		char line[256];
		size_t n = (size_t)snprintf(line, sizeof(line), "%s\r\n", send_dec);

		feed(&kp_mod_irc, st, &label, 1, (const uint8_t *)line, n, 3);
		n = (size_t)snprintf(line, sizeof(line), "%s\r\n", chat);
		feed(&kp_mod_irc, st, &label, 0, (const uint8_t *)line, n, 0);
	}
	CHECK_EQ(st->ndcc, 2);
	out = render(&kp_mod_irc, st, &j);
	CHECK(strstr(out, "\"dcc\":[{\"type\":\"send\",\"file\":\"my file.zip\",\"size\":123456},"
			  "{\"type\":\"chat\"}]"));
	kp_json_free(&j);
	free(st);
}

KP_TEST(xmpp_stream_headers)
{
	uint8_t c[256];
	size_t cn = cat2(c, sizeof(c), jabber_f6, sizeof(jabber_f6), jabber_f8, sizeof(jabber_f8));
	struct kp_match m, label = {KP_APP_XMPP, KP_CONF_HIGH};
	void *st = calloc(1, kp_mod_xmpp.state_size);
	struct kp_json j;

	/* jabber.pcap frame 6 is only "<?xml version='1.0' ?>": wait. */
	CHECK_EQ(probe2(&kp_mod_xmpp, jabber_f6, sizeof(jabber_f6), NULL, 0, &m),
		 KP_PROBE_NEED_MORE);
	CHECK_EQ(only_match(c, cn, NULL, 0, &kp_mod_xmpp, KP_APP_XMPP, "jabber client"), 0);
	CHECK_EQ(only_match(c, cn, jabber_f10, sizeof(jabber_f10), &kp_mod_xmpp, KP_APP_XMPP,
			    "jabber both"), 0);
	CHECK_EQ(probe2(&kp_mod_xmpp, c, cn, NULL, 0, &m), KP_PROBE_MATCH);
	CHECK_EQ(m.confidence, KP_CONF_HIGH);
	/* The stream tag cut in the middle: wait for its end. */
	CHECK_EQ(probe2(&kp_mod_xmpp, c, sizeof(jabber_f6) + 40, NULL, 0, &m), KP_PROBE_NEED_MORE);
	feed(&kp_mod_xmpp, st, &label, 0, c, cn, 9);
	CHECK(strstr(render(&kp_mod_xmpp, st, &j), "\"xmpp\":{\"to\":\"cs-xmpp.lan\"}"));
	kp_json_free(&j);
	free(st);
}

KP_TEST(pop3_imap_smtp_embedded)
{
	struct kp_match m;
	void *st;
	struct kp_json j;

	CHECK_EQ(only_match(pop3_f6, sizeof(pop3_f6), pop3_f4, sizeof(pop3_f4), &kp_mod_mail,
			    KP_APP_POP3, "pop3.pcap"), 0);
	CHECK_EQ(only_match(imap_f6, sizeof(imap_f6), imap_f4, sizeof(imap_f4), &kp_mod_mail,
			    KP_APP_IMAP, "imap.pcap"), 0);
	CHECK_EQ(probe2(&kp_mod_mail, imap_f6, sizeof(imap_f6), imap_f4, sizeof(imap_f4), &m),
		 KP_PROBE_MATCH);
	CHECK_EQ(m.confidence, KP_CONF_HIGH);
	/* Greetings naming their protocol: medium once the server sent a second packet. */
	CHECK_EQ(probe2(&kp_mod_mail, NULL, 0, pop3_f4, sizeof(pop3_f4), &m), KP_PROBE_NEED_MORE);
	CHECK_EQ(probe_np(&kp_mod_mail, NULL, 0, pop3_f4, sizeof(pop3_f4), 2, &m), KP_PROBE_MATCH);
	CHECK_EQ(m.app, KP_APP_POP3);
	CHECK_EQ(probe_np(&kp_mod_mail, NULL, 0, imap_f4, sizeof(imap_f4), 2, &m), KP_PROBE_MATCH);
	CHECK_EQ(m.app, KP_APP_IMAP);
	/* A POP3 greeting answered by an IMAP command is neither. */
	CHECK_EQ(probe2(&kp_mod_mail, imap_f6, sizeof(imap_f6), pop3_f4, sizeof(pop3_f4), &m),
		 KP_PROBE_EXCLUDE);

	st = calloc(1, kp_mod_mail.state_size);
	{
		struct kp_match label = {KP_APP_POP3, KP_CONF_HIGH};

		feed(&kp_mod_mail, st, &label, 0, pop3_f6, sizeof(pop3_f6), 4);
	}
	CHECK(strstr(render(&kp_mod_mail, st, &j),
		     "\"pop3\":{\"user\":\"cicciopernacchio@mail.com\"}"));
	kp_json_free(&j);
	free(st);

	st = calloc(1, kp_mod_mail.state_size);
	{
		struct kp_match label = {KP_APP_SMTP, KP_CONF_HIGH};
		static const char cli[] = "MAIL FROM:<a@example.org> SIZE=10\r\n"
					  "RCPT TO:<b@example.org>\r\nRCPT TO:<c@example.org>\r\n"
					  "DATA\r\n";
		static const char body[] = "Subject: x\r\nRCPT TO:<not@this>\r\n.\r\n";

		feed(&kp_mod_mail, st, &label, 0, smtp_f6, sizeof(smtp_f6), 0);
		feed(&kp_mod_mail, st, &label, 0, (const uint8_t *)cli, strlen(cli), 5);
		feed(&kp_mod_mail, st, &label, 1, (const uint8_t *)"354 go\r\n", 8, 0);
		CHECK_EQ(feed(&kp_mod_mail, st, &label, 0, (const uint8_t *)body, strlen(body), 0),
			 KP_PARSE_DONE);
	}
	CHECK(strstr(render(&kp_mod_mail, st, &j),
		     "\"smtp\":{\"helo\":\"xxxxxxxxxxxxx.xxx.com\",\"mail_from\":\"a@example.org\","
		     "\"rcpt_to\":[\"b@example.org\",\"c@example.org\"]}"));
	kp_json_free(&j);
	free(st);
}

KP_TEST(msn_msnp_lines)
{
	/*
	 * MSNP lines in the forms of the MSN Messenger protocol documentation
	 * (hypothetic.org "MSN Messenger Protocol", version 8): no capture of
	 * MSN is in the corpus.
	 */
	static const uint8_t ver_c[] = "VER 1 MSNP8 CVR0\r\n";
	static const uint8_t ver_s[] = "VER 1 MSNP8 CVR0\r\n";
	static const uint8_t usr_c[] = "USR 3 TWN I example@passport.com\r\n";
	static const uint8_t usr_s[] = "USR 3 TWN S lc=1033,id=507,tw=40\r\n";
	static const uint8_t ans_c[] =
		"ANS 1 example@passport.com 849102291.520491113 11752013\r\n";
	static const uint8_t iro_s[] = "IRO 1 1 1 name@passport.com Name\r\n";
	static const uint8_t msg_s[] = "MSG name@passport.com Name 89\r\nMIME-Version: 1.0\r\n";
	struct kp_match m, label = {KP_APP_MSN, KP_CONF_HIGH};
	void *st = calloc(1, kp_mod_msn.state_size);
	struct kp_json j;

	CHECK_EQ(only_match(ver_c, sizeof(ver_c) - 1, NULL, 0, &kp_mod_msn, KP_APP_MSN, "VER"), 0);
	CHECK_EQ(probe2(&kp_mod_msn, usr_c, sizeof(usr_c) - 1, NULL, 0, &m), KP_PROBE_NEED_MORE);
	CHECK_EQ(probe2(&kp_mod_msn, usr_c, sizeof(usr_c) - 1, usr_s, sizeof(usr_s) - 1, &m),
		 KP_PROBE_MATCH);
	CHECK_EQ(m.confidence, KP_CONF_MEDIUM);
	/* The server answering another transaction id is not MSNP. */
	CHECK_EQ(probe2(&kp_mod_msn, ans_c, sizeof(ans_c) - 1, usr_s, sizeof(usr_s) - 1, &m),
		 KP_PROBE_EXCLUDE);
	CHECK_EQ(probe2(&kp_mod_msn, ans_c, sizeof(ans_c) - 1, NULL, 0, &m), KP_PROBE_NEED_MORE);
	/* A switchboard answers ANS with IRO lines of the same transaction id. */
	CHECK_EQ(probe2(&kp_mod_msn, ans_c, sizeof(ans_c) - 1, iro_s, sizeof(iro_s) - 1, &m),
		 KP_PROBE_MATCH);
	CHECK_EQ(m.confidence, KP_CONF_MEDIUM);
	CHECK_EQ(probe2(&kp_mod_msn, usr_c, sizeof(usr_c) - 1, iro_s, sizeof(iro_s) - 1, &m),
		 KP_PROBE_EXCLUDE);
	CHECK_EQ(probe2(&kp_mod_msn, NULL, 0, msg_s, sizeof(msg_s) - 1, &m), KP_PROBE_MATCH);

	feed(&kp_mod_msn, st, &label, 0, ver_c, sizeof(ver_c) - 1, 0);
	feed(&kp_mod_msn, st, &label, 1, ver_s, sizeof(ver_s) - 1, 0);
	feed(&kp_mod_msn, st, &label, 1, msg_s, sizeof(msg_s) - 1, 0); /* payload skipped */
	CHECK_EQ(feed(&kp_mod_msn, st, &label, 0, usr_c, sizeof(usr_c) - 1, 2), KP_PARSE_DONE);
	CHECK(strstr(render(&kp_mod_msn, st, &j),
		     "\"msn\":{\"version\":\"MSNP8\",\"user\":\"example@passport.com\"}"));
	kp_json_free(&j);
	free(st);
}

/* ---- l7-filter raw payload samples ---- */

KP_TEST(l7_samples)
{
	static const struct {
		const char *proto;
		unsigned dirs[6];
		unsigned npkts;
		const struct kp_app_module *mod;
		unsigned app;
	} cases[] = {
		{"ftp", {1, 0, 1, 0, 1}, 4, &kp_mod_ftp, KP_APP_FTP},
		{"imap", {1, 1, 0, 1, 0, 1}, 6, &kp_mod_mail, KP_APP_IMAP},
		{"jabber", {0, 1}, 2, &kp_mod_xmpp, KP_APP_XMPP},
		{"http-digg-304", {0, 1}, 2, &kp_mod_http, KP_APP_HTTP},
		{"http-wunderground", {0, 1}, 2, &kp_mod_http, KP_APP_HTTP},
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *b[2];
		size_t n[2];
		char what[64];

		if (!l7_session(cases[i].proto, cases[i].dirs, cases[i].npkts, b, n))
			continue;
		snprintf(what, sizeof(what), "l7 %s", cases[i].proto);
		CHECK_EQ(only_match(b[0], n[0], b[1], n[1], cases[i].mod, cases[i].app, what), 0);
		free(b[0]);
		free(b[1]);
	}
	/* ftp-5: the kernel.org session, parsed: user, commands, no password. */
	{
		static const unsigned dirs[] = {1, 0, 1, 0, 1};
		uint8_t *b[2];
		size_t n[2];

		if (l7_session("ftp", dirs, 5, b, n)) {
			struct kp_ftp_state *st = calloc(1, sizeof(*st));
			struct kp_match label = {KP_APP_FTP, KP_CONF_HIGH};

			feed(&kp_mod_ftp, st, &label, 0, b[0], n[0], 0);
			feed(&kp_mod_ftp, st, &label, 1, b[1], n[1], 0);
			CHECK_STR(st->user, "anonymous");
			CHECK_EQ(st->commands, 2);
			free(st);
			free(b[0]);
			free(b[1]);
		}
	}
}

/* ---- Whole flows of nDPI's captures ---- */

struct pcap_case {
	const char *file;
	uint16_t cport, sport;
	const struct kp_app_module *mod;
	unsigned app;
	const char *json[4]; /* substrings the module's json must hold */
};

static const struct pcap_case pcap_cases[] = {
	{"ndpi/pcap/http.pcapng", 42170, 80, &kp_mod_http, KP_APP_HTTP,
	 {"\"hostname\":\"google.com\",\"url\":\"/\",\"http_method\":\"GET\","
	  "\"http_user_agent\":\"curl/7.68.0\",\"status\":301,"
	  "\"http_content_type\":\"text/html; charset=UTF-8\"}"}},
	{"ndpi/pcap/http_auth.pcap", 54337, 80, &kp_mod_http, KP_APP_HTTP,
	 {"\"http_method\":\"GET\"", "\"status\":"}},
	{"ndpi/pcap/exe_download.pcap", 49165, 80, &kp_mod_http, KP_APP_HTTP,
	 {"\"http_method\":\"GET\"", "\"status\":200"}},
	{"ndpi/pcap/bt-http.pcapng", 46882, 80, &kp_mod_http, KP_APP_BITTORRENT,
	 {"\"hostname\":\"tracker.trackerfix.com\"",
	  "\"info_hash\":\"aa3769c4530dde06241873dad43ab5ccec2ce622\""}},
	{"ndpi/pcap/ftp.pcap", 50694, 21, &kp_mod_ftp, KP_APP_FTP,
	 {"\"ftp\":{\"user\":\"anonymous\",\"commands\":16,\"files\":[\"1MB.zip\"]}"}},
	{"ndpi/pcap/ftp_failed.pcap", 44724, 21, &kp_mod_ftp, KP_APP_FTP,
	 {"\"ftp\":{\"user\":\"hello\",\"commands\":3}"}},
	{"ndpi/pcap/irc.pcap", 45921, 8000, &kp_mod_irc, KP_APP_IRC,
	 {"\"irc\":{\"nick\":\"molochtest\",\"channels\":[\"#moloch-fpc\"]}"}},
	{"ndpi/pcap/jabber.pcap", 57094, 5222, &kp_mod_xmpp, KP_APP_XMPP,
	 {"\"xmpp\":{\"to\":\"cs-xmpp.lan\"}"}},
	{"ndpi/pcap/jabber.pcap", 53460, 5222, &kp_mod_xmpp, KP_APP_XMPP,
	 {"\"xmpp\":{\"to\":\"192.168.58.153\"}"}},
	/* Captured mid-stream: stanzas only, or only the stream's end. */
	{"ndpi/pcap/jabber.pcap", 57129, 5222, &kp_mod_xmpp, KP_APP_XMPP, {"\"xmpp\":{}"}},
	{"ndpi/pcap/jabber.pcap", 57149, 5222, &kp_mod_xmpp, KP_APP_XMPP, {"\"xmpp\":{}"}},
	{"ndpi/pcap/jabber.pcap", 57126, 5222, &kp_mod_xmpp, KP_APP_XMPP, {"\"xmpp\":{}"}},
	{"ndpi/pcap/pop3.pcap", 35287, 110, &kp_mod_mail, KP_APP_POP3,
	 {"\"pop3\":{\"user\":\"cicciopernacchio@mail.com\"}"}},
	{"ndpi/pcap/pop3.pcap", 26383, 110, &kp_mod_mail, KP_APP_POP3, {"\"pop3\":{"}},
	{"ndpi/pcap/imap.pcap", 46045, 143, &kp_mod_mail, KP_APP_IMAP,
	 {"\"imap\":{\"user\":\"samir\"}"}},
	{"ndpi/pcap/smtp-starttls.pcap", 57406, 25, &kp_mod_mail, KP_APP_SMTP,
	 {"\"smtp\":{\"helo\":\"xxxxxxxxxxxxx.xxx.com\"}"}},
	{"ndpi/pcap/smtp-starttls.pcap", 7562, 25, &kp_mod_mail, KP_APP_SMTP,
	 {"\"smtp\":{\"helo\":"}},
	/* The project's captures (tests/captures/make-ftp.sh, make-irc.sh, make-http.sh). */
	{"captures/ftp-vsftpd.pcap", 56994, 21, &kp_mod_ftp, KP_APP_FTP,
	 {"\"ftp\":{\"user\":\"anonymous\",\"commands\":29,\"files\":[\"pub/README.txt\","
	  "\"pub/data-100k.bin\",\"pub/data-30k.bin\",\"incoming/upload-20k.bin\"]}"}},
	{"captures/ftp-vsftpd.pcap", 57000, 21, &kp_mod_ftp, KP_APP_FTP,
	 {"\"files\":[\"data-8k.bin\"]"}},
	{"captures/irc-ngircd.pcap", 49206, 6667, &kp_mod_irc, KP_APP_IRC,
	 {"\"irc\":{\"nick\":\"alice\"", "\"dcc\":[{\"type\":\"send\",\"file\":\"kp2padm-dcc.bin\","
	  "\"size\":16384}]"}},
	{"captures/http-nginx.pcap", 36596, 80, &kp_mod_http, KP_APP_HTTP,
	 {"\"url\":\"/index.html\"", "\"status\":200"}},
};

KP_TEST(pcap_flows)
{
	for (unsigned i = 0; i < sizeof(pcap_cases) / sizeof(pcap_cases[0]); i++) {
		const struct pcap_case *pc = &pcap_cases[i];
		struct tflow f;
		struct run r, r1;
		struct kp_json j, j1;
		const char *out, *out1;
		char what[96];

		if (!load_flow(pc->file, pc->cport, pc->sport, &f))
			continue;
		snprintf(what, sizeof(what), "%s %u", pc->file, pc->cport);
		if (f.nchunks == 0) {
			fprintf(stderr, "  %s: flow not found\n", what);
			CHECK(f.nchunks > 0);
			continue;
		}
		run_flow(pc->mod, &f, &r, 0);
		CHECK_EQ(r.pr, KP_PROBE_MATCH);
		CHECK_EQ(r.m.app, pc->app);
		if (r.pr != KP_PROBE_MATCH || r.m.app != pc->app)
			fprintf(stderr, "  %s: pr %d app %s\n", what, r.pr, kp_app_name(r.m.app));
		out = r.state ? render(pc->mod, r.state, &j) : "";
		for (unsigned k = 0; k < 4 && pc->json[k]; k++) {
			if (!strstr(out, pc->json[k])) {
				fprintf(stderr, "  %s: json %s lacks %s\n", what, out, pc->json[k]);
				CHECK(strstr(out, pc->json[k]));
			}
		}
		/* The same flow fed in 1- and 5-byte chunks gives the same event. */
		for (size_t step = 1; step <= 5; step += 4) {
			run_flow(pc->mod, &f, &r1, step);
			out1 = r1.state ? render(pc->mod, r1.state, &j1) : "";
			CHECK_STR(out1, out);
			CHECK_EQ(r1.m.app, r.m.app);
			if (r1.state)
				kp_json_free(&j1);
			run_free(pc->mod, &r1);
		}
		CHECK_EQ(others_exclude(&f, pc->mod, what), 0);
		if (r.state)
			kp_json_free(&j);
		if (pc->mod == &kp_mod_ftp && pc->sport == 21 && pc->cport == 50694) {
			const struct kp_ftp_state *st = r.state;

			/* Two PASV replies: (90,130,70,73,100,85) and (...,95,203). */
			CHECK_EQ(st->expects, 2);
			CHECK_EQ(st->last.port, 95 * 256 + 203);
			CHECK(memcmp(st->last.addr, f.saddr, 4) == 0);
		}
		if (pc->mod == &kp_mod_ftp && strstr(pc->file, "vsftpd") && pc->cport == 56994) {
			const struct kp_ftp_state *st = r.state;

			/* lftp: LIST, RETR over PASV; RETR over EPSV, PORT; STOR over PASV. */
			CHECK_EQ(st->expects, 5);
			CHECK_EQ(st->last.family, AF_INET);
			CHECK(memcmp(st->last.addr, f.saddr, 4) == 0);
		}
		if (pc->mod == &kp_mod_ftp && strstr(pc->file, "vsftpd") && pc->cport == 57000) {
			const struct kp_ftp_state *st = r.state;

			/* curl -P: EPRT |1|198.18.0.1|50010| */
			CHECK_EQ(st->expects, 1);
			CHECK_EQ(st->last.family, AF_INET);
			CHECK_EQ(st->last.port, 50010);
			CHECK(memcmp(st->last.addr, f.caddr, 4) == 0);
		}
		if (pc->mod == &kp_mod_irc && strstr(pc->file, "ngircd")) {
			const struct kp_irc_state *st = r.state;

			/* alice offers DCC SEND at 3323068417 (198.18.0.1) port 45000. */
			CHECK_EQ(st->ndcc_total, 1);
			CHECK_EQ(st->dcc[0].port, 45000);
			CHECK_EQ(st->dcc[0].family, AF_INET);
			CHECK(memcmp(st->dcc[0].addr, f.caddr, 4) == 0);
		}
		if (pc->mod == &kp_mod_mail && pc->sport == 25)
			CHECK(r.done); /* stopped at STARTTLS: the rest is TLS */
		if (pc->mod == &kp_mod_ftp || pc->mod == &kp_mod_mail || pc->mod == &kp_mod_http ||
		    pc->mod == &kp_mod_irc)
			CHECK_EQ(r.m.confidence, KP_CONF_HIGH); /* the client's command was seen */
		run_free(pc->mod, &r);
		tflow_free(&f);
	}
}

KP_TEST(pcap_p2p_and_tls_flows)
{
	/*
	 * Every TCP flow of captures that hold no clear-text protocol of these
	 * modules (BitTorrent, eDonkey, TLS mail, XMPP over TLS): nothing matches.
	 * gnutella.pcap: the Gnutella handshakes ("GNUTELLA CONNECT/0.6") match
	 * nothing, and the HTTP downloads (/uri-res/N2R, THEX, gtk-gnutella and
	 * Foxy agents) match http refined to gnutella, never plain http.
	 */
	static const char *const files[] = {
		"ndpi/pcap/bittorrent.pcap", "ndpi/pcap/edonkey.pcap", "ndpi/pcap/smtps.pcapng",
		"ndpi/pcap/imaps.pcap", "ndpi/pcap/jabber.pcap", "ndpi/pcap/gnutella.pcap",
	};
	static uint16_t ports[512][2];

	for (unsigned fi = 0; fi < sizeof(files) / sizeof(files[0]); fi++) {
		unsigned nf = list_flows(files[fi], ports, 512), seen = 0, http = 0;
		bool gnutella = strstr(files[fi], "gnutella") != NULL;

		for (unsigned i = 0; i < nf; i++) {
			struct tflow f;
			char what[128];

			if (!load_flow(files[fi], ports[i][0], ports[i][1], &f))
				break;
			if (f.nchunks == 0 || (!gnutella && strstr(files[fi], "jabber") &&
					       ports[i][1] != 5223)) {
				tflow_free(&f);
				continue;
			}
			seen++;
			snprintf(what, sizeof(what), "%s %u->%u", files[fi], ports[i][0],
				 ports[i][1]);
			if (gnutella) {
				struct run r;

				run_flow(&kp_mod_http, &f, &r, 0);
				if (r.pr == KP_PROBE_MATCH) {
					http++;
					CHECK_EQ(r.m.app, KP_APP_GNUTELLA);
				}
				run_free(&kp_mod_http, &r);
				CHECK_EQ(others_exclude(&f, &kp_mod_http, what), 0);
			} else {
				CHECK_EQ(others_exclude(&f, NULL, what), 0);
			}
			tflow_free(&f);
		}
		printf("  %s: %u flows, %u with payload, %u http\n", files[fi], nf, seen, http);
		if (nf)
			CHECK(seen > 0);
		if (nf && gnutella)
			CHECK(http >= 3); /* 2 N2R downloads and 1 THEX fetch */
	}
}

/* ---- Random and hostile bytes ---- */

KP_TEST(random_payloads_never_match)
{
	uint64_t seed = 0x6b7032706164ULL; /* fixed: reproducible */
	uint8_t *a = malloc(4096), *b = malloc(4096);
	unsigned matches = 0;

	for (size_t len = 1; len <= 4096; len += (len < 64 ? 1 : len / 8)) {
		for (int rep = 0; rep < 8; rep++) {
			size_t bl = (size_t)(tc_rng_next(&seed) % 4096) + 1;

			tc_rng_fill(&seed, a, len);
			tc_rng_fill(&seed, b, bl);
			for (unsigned i = 0; i < NMODS; i++) {
				struct kp_match m;

				if (probe2(text_mods[i], a, len, NULL, 0, &m) == KP_PROBE_MATCH ||
				    probe2(text_mods[i], NULL, 0, a, len, &m) == KP_PROBE_MATCH ||
				    probe2(text_mods[i], a, len, b, bl, &m) == KP_PROBE_MATCH) {
					fprintf(stderr, "  %s matched random len %zu\n",
						text_mods[i]->name, len);
					matches++;
				}
			}
		}
	}
	CHECK_EQ(matches, 0);
	free(a);
	free(b);
}

KP_TEST(hostile_bytes_into_parsers)
{
	/* Parsers fed random, NUL-laden and non-UTF-8 bytes must not crash or overrun (ASan). */
	uint64_t seed = 42;
	uint8_t *buf = malloc(8192);
#define SEED(x) {x, sizeof(x) - 1}
	static const struct {
		const char *s;
		size_t n;
	} seeds[] = {
		SEED("GET /\x00\xff announce?info_hash=%zz HTTP/1.1\r\nHost: \xc3\x28\r\n\r\n"),
		SEED("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\xff\xfe\r\nd8:int"),
		SEED("227 (999,1,1,1,1,1)\r\n229 (|||\x00|)\r\n"
		     "EPRT |2|::::::::::::::::::::1|1|\r\n"),
		SEED("PRIVMSG x :\x01" "DCC SEND \"\x00\xff\" 99999999999 1 1\x01\r\n"),
		SEED("USR 1 TWN I \xff\x00@\r\nMSG a b 4294967295\r\nVER 1 MSNP\r\n"),
		SEED("<stream:stream to='\x00\xff\r\n"),
		SEED("a LOGIN \"\xff\r\nMAIL FROM:<\r\nBDAT 99999999999\r\n"),
	};

	for (unsigned i = 0; i < NMODS; i++) {
		const struct kp_app_module *mod = text_mods[i];
		static const unsigned labels[] = {KP_APP_SMTP, KP_APP_POP3, KP_APP_IMAP,
						  KP_APP_HTTP};

		for (unsigned l = 0; l < 4; l++) {
			struct kp_match label = {(uint16_t)labels[l], KP_CONF_HIGH};
			void *st = calloc(1, mod->state_size);
			struct kp_json j;

			for (unsigned s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++)
				for (unsigned dir = 0; dir < 2; dir++)
					feed(mod, st, &label, dir, (const uint8_t *)seeds[s].s,
					     seeds[s].n, (size_t)s + 1);
			for (int k = 0; k < 200; k++) {
				size_t n = (size_t)(tc_rng_next(&seed) % 8192);

				tc_rng_fill(&seed, buf, n);
				/* Sprinkle line ends and spaces so the line parsers see lines. */
				for (size_t q = 0; q < n / 16; q++) {
					size_t at = (size_t)(tc_rng_next(&seed) % (n ? n : 1));
					buf[at] = "\n \r:|\x01,"[tc_rng_next(&seed) % 7];
				}
				feed(mod, st, &label, (unsigned)k & 1, buf, n,
				     (size_t)(tc_rng_next(&seed) % 600) + 1);
			}
			render(mod, st, &j);
			CHECK(!j.oom);
			kp_json_free(&j);
			if (mod->free_state)
				mod->free_state(st);
			free(st);
		}
	}
	free(buf);
}
