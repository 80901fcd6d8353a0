/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the tls, quic, dns and ssh modules (and the shared TLS hello
 * parser) on real traffic. Most tests read nDPI's corpus captures at test time
 * with libpcap, rebuild each flow's per-direction byte stream (TCP in sequence
 * order, UDP datagram by datagram), drive the module as the classifier would
 * (probe on each new piece until a verdict, then parse, then json) and compare
 * the server names with those nDPI found (corpus/ndpi/expected/<capture>.out).
 * They print "skip: ... absent" when the corpus is missing. A few payloads are
 * embedded below (capture and frame named) so that the truncation, mutation
 * and negative tests run everywhere, with the one QUIC v1 client Initial we
 * have (the corpus has none): the RFC 9001 Appendix A.2 test vector.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app/app.h"
#include "app/tls_hello.h"
#include "app_probe_util.h"
#include "corpus_pcap.h"
#include "output/json.h"
#include "tap.h"

/* tls_alert.pcap frame 4, 192.168.1.192:63158 -> 192.168.1.20:443: ClientHello, SNI
 * www.google-analytics.com */
static const uint8_t tls_alert_ch[199] = {
	0x16, 0x03, 0x01, 0x00, 0xc2, 0x01, 0x00, 0x00, 0xbe, 0x03, 0x01, 0x52,
	0xdb, 0x35, 0xf3, 0xea, 0xa1, 0x18, 0x8b, 0xf1, 0xe1, 0x93, 0xfc, 0xcf,
	0x33, 0x3e, 0x58, 0x73, 0xf4, 0x35, 0xbb, 0xdc, 0x1c, 0x48, 0x18, 0x17,
	0x85, 0x3f, 0x54, 0x76, 0x25, 0x6a, 0x3a, 0x00, 0x00, 0x12, 0x00, 0x2f,
	0x00, 0x33, 0x00, 0x35, 0x00, 0x39, 0xc0, 0x09, 0xc0, 0x0a, 0xc0, 0x13,
	0xc0, 0x14, 0x56, 0x00, 0x01, 0x00, 0x00, 0x83, 0xff, 0x01, 0x00, 0x01,
	0x00, 0x00, 0x00, 0x00, 0x1d, 0x00, 0x1b, 0x00, 0x00, 0x18, 0x77, 0x77,
	0x77, 0x2e, 0x67, 0x6f, 0x6f, 0x67, 0x6c, 0x65, 0x2d, 0x61, 0x6e, 0x61,
	0x6c, 0x79, 0x74, 0x69, 0x63, 0x73, 0x2e, 0x63, 0x6f, 0x6d, 0x00, 0x17,
	0x00, 0x00, 0x00, 0x05, 0x00, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00, 0x33,
	0x74, 0x00, 0x00, 0x00, 0x12, 0x00, 0x00, 0x00, 0x10, 0x00, 0x30, 0x00,
	0x2e, 0x02, 0x68, 0x32, 0x05, 0x68, 0x32, 0x2d, 0x31, 0x36, 0x05, 0x68,
	0x32, 0x2d, 0x31, 0x35, 0x05, 0x68, 0x32, 0x2d, 0x31, 0x34, 0x08, 0x73,
	0x70, 0x64, 0x79, 0x2f, 0x33, 0x2e, 0x31, 0x06, 0x73, 0x70, 0x64, 0x79,
	0x2f, 0x33, 0x08, 0x68, 0x74, 0x74, 0x70, 0x2f, 0x31, 0x2e, 0x31, 0x00,
	0x0b, 0x00, 0x02, 0x01, 0x00, 0x00, 0x0a, 0x00, 0x0a, 0x00, 0x08, 0x00,
	0x1d, 0x00, 0x17, 0x00, 0x18, 0x00, 0x19,
};
/* tls_alert.pcap frame 12, 192.168.2.100:37780 -> 160.44.202.202:443: one encrypted alert record,
 * no handshake seen */
static const uint8_t tls_alert_rec[31] = {
	0x15, 0x03, 0x03, 0x00, 0x1a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x02, 0xf7, 0xa8, 0x63, 0x64, 0x65, 0x4f, 0x35, 0xeb, 0x79, 0x94, 0x00,
	0xee, 0xe0, 0x96, 0x5a, 0x59, 0x9b, 0xf5,
};
/* dns.pcap frame 4, 82.178.113.245:47255 -> 82.178.158.181:53: query A e7.whatsapp.net */
static const uint8_t dns_wa_query[33] = {
	0x78, 0x43, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x02, 0x65, 0x37, 0x08, 0x77, 0x68, 0x61, 0x74, 0x73, 0x61, 0x70, 0x70,
	0x03, 0x6e, 0x65, 0x74, 0x00, 0x00, 0x01, 0x00, 0x01,
};
/* dns.pcap frame 5, 82.178.158.181:53 -> 82.178.113.245:47255: its response */
static const uint8_t dns_wa_resp[161] = {
	0x78, 0x43, 0x81, 0x80, 0x00, 0x01, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00,
	0x02, 0x65, 0x37, 0x08, 0x77, 0x68, 0x61, 0x74, 0x73, 0x61, 0x70, 0x70,
	0x03, 0x6e, 0x65, 0x74, 0x00, 0x00, 0x01, 0x00, 0x01, 0xc0, 0x0c, 0x00,
	0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0xeb, 0x00, 0x04, 0xa9, 0x2d, 0xdb,
	0xeb, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0xeb, 0x00,
	0x04, 0xa9, 0x2f, 0x28, 0x8e, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00,
	0x00, 0x01, 0xeb, 0x00, 0x04, 0xa9, 0x2d, 0xf8, 0x79, 0xc0, 0x0c, 0x00,
	0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0xeb, 0x00, 0x04, 0x6c, 0xa8, 0xb0,
	0xea, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0xeb, 0x00,
	0x04, 0xa9, 0x2d, 0xf8, 0xbd, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00,
	0x00, 0x01, 0xeb, 0x00, 0x04, 0xa9, 0x2d, 0xf8, 0xb4, 0xc0, 0x0c, 0x00,
	0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0xeb, 0x00, 0x04, 0xa9, 0x35, 0x51,
	0x4f, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0xeb, 0x00,
	0x04, 0xa9, 0x2d, 0xdb, 0xe8,
};
/* ssh.pcap frame 4, 172.16.238.168:22 -> 172.16.238.1:58395: server identification */
static const uint8_t ssh_server_banner[21] = {
	0x53, 0x53, 0x48, 0x2d, 0x32, 0x2e, 0x30, 0x2d, 0x4f, 0x70, 0x65, 0x6e,
	0x53, 0x53, 0x48, 0x5f, 0x35, 0x2e, 0x33, 0x0d, 0x0a,
};

/* RFC 9001 Appendix A.2: the protected client Initial of the QUIC v1 test vectors
 * (DCID 8394c8f03e515708, ClientHello for example.com, ALPN "alpn"). */
static const uint8_t rfc9001_a2_initial[1200] = {
	0xc0, 0x00, 0x00, 0x00, 0x01, 0x08, 0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51,
	0x57, 0x08, 0x00, 0x00, 0x44, 0x9e, 0x7b, 0x9a, 0xec, 0x34, 0xd1, 0xb1,
	0xc9, 0x8d, 0xd7, 0x68, 0x9f, 0xb8, 0xec, 0x11, 0xd2, 0x42, 0xb1, 0x23,
	0xdc, 0x9b, 0xd8, 0xba, 0xb9, 0x36, 0xb4, 0x7d, 0x92, 0xec, 0x35, 0x6c,
	0x0b, 0xab, 0x7d, 0xf5, 0x97, 0x6d, 0x27, 0xcd, 0x44, 0x9f, 0x63, 0x30,
	0x00, 0x99, 0xf3, 0x99, 0x1c, 0x26, 0x0e, 0xc4, 0xc6, 0x0d, 0x17, 0xb3,
	0x1f, 0x84, 0x29, 0x15, 0x7b, 0xb3, 0x5a, 0x12, 0x82, 0xa6, 0x43, 0xa8,
	0xd2, 0x26, 0x2c, 0xad, 0x67, 0x50, 0x0c, 0xad, 0xb8, 0xe7, 0x37, 0x8c,
	0x8e, 0xb7, 0x53, 0x9e, 0xc4, 0xd4, 0x90, 0x5f, 0xed, 0x1b, 0xee, 0x1f,
	0xc8, 0xaa, 0xfb, 0xa1, 0x7c, 0x75, 0x0e, 0x2c, 0x7a, 0xce, 0x01, 0xe6,
	0x00, 0x5f, 0x80, 0xfc, 0xb7, 0xdf, 0x62, 0x12, 0x30, 0xc8, 0x37, 0x11,
	0xb3, 0x93, 0x43, 0xfa, 0x02, 0x8c, 0xea, 0x7f, 0x7f, 0xb5, 0xff, 0x89,
	0xea, 0xc2, 0x30, 0x82, 0x49, 0xa0, 0x22, 0x52, 0x15, 0x5e, 0x23, 0x47,
	0xb6, 0x3d, 0x58, 0xc5, 0x45, 0x7a, 0xfd, 0x84, 0xd0, 0x5d, 0xff, 0xfd,
	0xb2, 0x03, 0x92, 0x84, 0x4a, 0xe8, 0x12, 0x15, 0x46, 0x82, 0xe9, 0xcf,
	0x01, 0x2f, 0x90, 0x21, 0xa6, 0xf0, 0xbe, 0x17, 0xdd, 0xd0, 0xc2, 0x08,
	0x4d, 0xce, 0x25, 0xff, 0x9b, 0x06, 0xcd, 0xe5, 0x35, 0xd0, 0xf9, 0x20,
	0xa2, 0xdb, 0x1b, 0xf3, 0x62, 0xc2, 0x3e, 0x59, 0x6d, 0x11, 0xa4, 0xf5,
	0xa6, 0xcf, 0x39, 0x48, 0x83, 0x8a, 0x3a, 0xec, 0x4e, 0x15, 0xda, 0xf8,
	0x50, 0x0a, 0x6e, 0xf6, 0x9e, 0xc4, 0xe3, 0xfe, 0xb6, 0xb1, 0xd9, 0x8e,
	0x61, 0x0a, 0xc8, 0xb7, 0xec, 0x3f, 0xaf, 0x6a, 0xd7, 0x60, 0xb7, 0xba,
	0xd1, 0xdb, 0x4b, 0xa3, 0x48, 0x5e, 0x8a, 0x94, 0xdc, 0x25, 0x0a, 0xe3,
	0xfd, 0xb4, 0x1e, 0xd1, 0x5f, 0xb6, 0xa8, 0xe5, 0xeb, 0xa0, 0xfc, 0x3d,
	0xd6, 0x0b, 0xc8, 0xe3, 0x0c, 0x5c, 0x42, 0x87, 0xe5, 0x38, 0x05, 0xdb,
	0x05, 0x9a, 0xe0, 0x64, 0x8d, 0xb2, 0xf6, 0x42, 0x64, 0xed, 0x5e, 0x39,
	0xbe, 0x2e, 0x20, 0xd8, 0x2d, 0xf5, 0x66, 0xda, 0x8d, 0xd5, 0x99, 0x8c,
	0xca, 0xbd, 0xae, 0x05, 0x30, 0x60, 0xae, 0x6c, 0x7b, 0x43, 0x78, 0xe8,
	0x46, 0xd2, 0x9f, 0x37, 0xed, 0x7b, 0x4e, 0xa9, 0xec, 0x5d, 0x82, 0xe7,
	0x96, 0x1b, 0x7f, 0x25, 0xa9, 0x32, 0x38, 0x51, 0xf6, 0x81, 0xd5, 0x82,
	0x36, 0x3a, 0xa5, 0xf8, 0x99, 0x37, 0xf5, 0xa6, 0x72, 0x58, 0xbf, 0x63,
	0xad, 0x6f, 0x1a, 0x0b, 0x1d, 0x96, 0xdb, 0xd4, 0xfa, 0xdd, 0xfc, 0xef,
	0xc5, 0x26, 0x6b, 0xa6, 0x61, 0x17, 0x22, 0x39, 0x5c, 0x90, 0x65, 0x56,
	0xbe, 0x52, 0xaf, 0xe3, 0xf5, 0x65, 0x63, 0x6a, 0xd1, 0xb1, 0x7d, 0x50,
	0x8b, 0x73, 0xd8, 0x74, 0x3e, 0xeb, 0x52, 0x4b, 0xe2, 0x2b, 0x3d, 0xcb,
	0xc2, 0xc7, 0x46, 0x8d, 0x54, 0x11, 0x9c, 0x74, 0x68, 0x44, 0x9a, 0x13,
	0xd8, 0xe3, 0xb9, 0x58, 0x11, 0xa1, 0x98, 0xf3, 0x49, 0x1d, 0xe3, 0xe7,
	0xfe, 0x94, 0x2b, 0x33, 0x04, 0x07, 0xab, 0xf8, 0x2a, 0x4e, 0xd7, 0xc1,
	0xb3, 0x11, 0x66, 0x3a, 0xc6, 0x98, 0x90, 0xf4, 0x15, 0x70, 0x15, 0x85,
	0x3d, 0x91, 0xe9, 0x23, 0x03, 0x7c, 0x22, 0x7a, 0x33, 0xcd, 0xd5, 0xec,
	0x28, 0x1c, 0xa3, 0xf7, 0x9c, 0x44, 0x54, 0x6b, 0x9d, 0x90, 0xca, 0x00,
	0xf0, 0x64, 0xc9, 0x9e, 0x3d, 0xd9, 0x79, 0x11, 0xd3, 0x9f, 0xe9, 0xc5,
	0xd0, 0xb2, 0x3a, 0x22, 0x9a, 0x23, 0x4c, 0xb3, 0x61, 0x86, 0xc4, 0x81,
	0x9e, 0x8b, 0x9c, 0x59, 0x27, 0x72, 0x66, 0x32, 0x29, 0x1d, 0x6a, 0x41,
	0x82, 0x11, 0xcc, 0x29, 0x62, 0xe2, 0x0f, 0xe4, 0x7f, 0xeb, 0x3e, 0xdf,
	0x33, 0x0f, 0x2c, 0x60, 0x3a, 0x9d, 0x48, 0xc0, 0xfc, 0xb5, 0x69, 0x9d,
	0xbf, 0xe5, 0x89, 0x64, 0x25, 0xc5, 0xba, 0xc4, 0xae, 0xe8, 0x2e, 0x57,
	0xa8, 0x5a, 0xaf, 0x4e, 0x25, 0x13, 0xe4, 0xf0, 0x57, 0x96, 0xb0, 0x7b,
	0xa2, 0xee, 0x47, 0xd8, 0x05, 0x06, 0xf8, 0xd2, 0xc2, 0x5e, 0x50, 0xfd,
	0x14, 0xde, 0x71, 0xe6, 0xc4, 0x18, 0x55, 0x93, 0x02, 0xf9, 0x39, 0xb0,
	0xe1, 0xab, 0xd5, 0x76, 0xf2, 0x79, 0xc4, 0xb2, 0xe0, 0xfe, 0xb8, 0x5c,
	0x1f, 0x28, 0xff, 0x18, 0xf5, 0x88, 0x91, 0xff, 0xef, 0x13, 0x2e, 0xef,
	0x2f, 0xa0, 0x93, 0x46, 0xae, 0xe3, 0x3c, 0x28, 0xeb, 0x13, 0x0f, 0xf2,
	0x8f, 0x5b, 0x76, 0x69, 0x53, 0x33, 0x41, 0x13, 0x21, 0x19, 0x96, 0xd2,
	0x00, 0x11, 0xa1, 0x98, 0xe3, 0xfc, 0x43, 0x3f, 0x9f, 0x25, 0x41, 0x01,
	0x0a, 0xe1, 0x7c, 0x1b, 0xf2, 0x02, 0x58, 0x0f, 0x60, 0x47, 0x47, 0x2f,
	0xb3, 0x68, 0x57, 0xfe, 0x84, 0x3b, 0x19, 0xf5, 0x98, 0x40, 0x09, 0xdd,
	0xc3, 0x24, 0x04, 0x4e, 0x84, 0x7a, 0x4f, 0x4a, 0x0a, 0xb3, 0x4f, 0x71,
	0x95, 0x95, 0xde, 0x37, 0x25, 0x2d, 0x62, 0x35, 0x36, 0x5e, 0x9b, 0x84,
	0x39, 0x2b, 0x06, 0x10, 0x85, 0x34, 0x9d, 0x73, 0x20, 0x3a, 0x4a, 0x13,
	0xe9, 0x6f, 0x54, 0x32, 0xec, 0x0f, 0xd4, 0xa1, 0xee, 0x65, 0xac, 0xcd,
	0xd5, 0xe3, 0x90, 0x4d, 0xf5, 0x4c, 0x1d, 0xa5, 0x10, 0xb0, 0xff, 0x20,
	0xdc, 0xc0, 0xc7, 0x7f, 0xcb, 0x2c, 0x0e, 0x0e, 0xb6, 0x05, 0xcb, 0x05,
	0x04, 0xdb, 0x87, 0x63, 0x2c, 0xf3, 0xd8, 0xb4, 0xda, 0xe6, 0xe7, 0x05,
	0x76, 0x9d, 0x1d, 0xe3, 0x54, 0x27, 0x01, 0x23, 0xcb, 0x11, 0x45, 0x0e,
	0xfc, 0x60, 0xac, 0x47, 0x68, 0x3d, 0x7b, 0x8d, 0x0f, 0x81, 0x13, 0x65,
	0x56, 0x5f, 0xd9, 0x8c, 0x4c, 0x8e, 0xb9, 0x36, 0xbc, 0xab, 0x8d, 0x06,
	0x9f, 0xc3, 0x3b, 0xd8, 0x01, 0xb0, 0x3a, 0xde, 0xa2, 0xe1, 0xfb, 0xc5,
	0xaa, 0x46, 0x3d, 0x08, 0xca, 0x19, 0x89, 0x6d, 0x2b, 0xf5, 0x9a, 0x07,
	0x1b, 0x85, 0x1e, 0x6c, 0x23, 0x90, 0x52, 0x17, 0x2f, 0x29, 0x6b, 0xfb,
	0x5e, 0x72, 0x40, 0x47, 0x90, 0xa2, 0x18, 0x10, 0x14, 0xf3, 0xb9, 0x4a,
	0x4e, 0x97, 0xd1, 0x17, 0xb4, 0x38, 0x13, 0x03, 0x68, 0xcc, 0x39, 0xdb,
	0xb2, 0xd1, 0x98, 0x06, 0x5a, 0xe3, 0x98, 0x65, 0x47, 0x92, 0x6c, 0xd2,
	0x16, 0x2f, 0x40, 0xa2, 0x9f, 0x0c, 0x3c, 0x87, 0x45, 0xc0, 0xf5, 0x0f,
	0xba, 0x38, 0x52, 0xe5, 0x66, 0xd4, 0x45, 0x75, 0xc2, 0x9d, 0x39, 0xa0,
	0x3f, 0x0c, 0xda, 0x72, 0x19, 0x84, 0xb6, 0xf4, 0x40, 0x59, 0x1f, 0x35,
	0x5e, 0x12, 0xd4, 0x39, 0xff, 0x15, 0x0a, 0xab, 0x76, 0x13, 0x49, 0x9d,
	0xbd, 0x49, 0xad, 0xab, 0xc8, 0x67, 0x6e, 0xef, 0x02, 0x3b, 0x15, 0xb6,
	0x5b, 0xfc, 0x5c, 0xa0, 0x69, 0x48, 0x10, 0x9f, 0x23, 0xf3, 0x50, 0xdb,
	0x82, 0x12, 0x35, 0x35, 0xeb, 0x8a, 0x74, 0x33, 0xbd, 0xab, 0xcb, 0x90,
	0x92, 0x71, 0xa6, 0xec, 0xbc, 0xb5, 0x8b, 0x93, 0x6a, 0x88, 0xcd, 0x4e,
	0x8f, 0x2e, 0x6f, 0xf5, 0x80, 0x01, 0x75, 0xf1, 0x13, 0x25, 0x3d, 0x8f,
	0xa9, 0xca, 0x88, 0x85, 0xc2, 0xf5, 0x52, 0xe6, 0x57, 0xdc, 0x60, 0x3f,
	0x25, 0x2e, 0x1a, 0x8e, 0x30, 0x8f, 0x76, 0xf0, 0xbe, 0x79, 0xe2, 0xfb,
	0x8f, 0x5d, 0x5f, 0xbb, 0xe2, 0xe3, 0x0e, 0xca, 0xdd, 0x22, 0x07, 0x23,
	0xc8, 0xc0, 0xae, 0xa8, 0x07, 0x8c, 0xdf, 0xcb, 0x38, 0x68, 0x26, 0x3f,
	0xf8, 0xf0, 0x94, 0x00, 0x54, 0xda, 0x48, 0x78, 0x18, 0x93, 0xa7, 0xe4,
	0x9a, 0xd5, 0xaf, 0xf4, 0xaf, 0x30, 0x0c, 0xd8, 0x04, 0xa6, 0xb6, 0x27,
	0x9a, 0xb3, 0xff, 0x3a, 0xfb, 0x64, 0x49, 0x1c, 0x85, 0x19, 0x4a, 0xab,
	0x76, 0x0d, 0x58, 0xa6, 0x06, 0x65, 0x4f, 0x9f, 0x44, 0x00, 0xe8, 0xb3,
	0x85, 0x91, 0x35, 0x6f, 0xbf, 0x64, 0x25, 0xac, 0xa2, 0x6d, 0xc8, 0x52,
	0x44, 0x25, 0x9f, 0xf2, 0xb1, 0x9c, 0x41, 0xb9, 0xf9, 0x6f, 0x3c, 0xa9,
	0xec, 0x1d, 0xde, 0x43, 0x4d, 0xa7, 0xd2, 0xd3, 0x92, 0xb9, 0x05, 0xdd,
	0xf3, 0xd1, 0xf9, 0xaf, 0x93, 0xd1, 0xaf, 0x59, 0x50, 0xbd, 0x49, 0x3f,
	0x5a, 0xa7, 0x31, 0xb4, 0x05, 0x6d, 0xf3, 0x1b, 0xd2, 0x67, 0xb6, 0xb9,
	0x0a, 0x07, 0x98, 0x31, 0xaa, 0xf5, 0x79, 0xbe, 0x0a, 0x39, 0x01, 0x31,
	0x37, 0xaa, 0xc6, 0xd4, 0x04, 0xf5, 0x18, 0xcf, 0xd4, 0x68, 0x40, 0x64,
	0x7e, 0x78, 0xbf, 0xe7, 0x06, 0xca, 0x4c, 0xf5, 0xe9, 0xc5, 0x45, 0x3e,
	0x9f, 0x7c, 0xfd, 0x2b, 0x8b, 0x4c, 0x8d, 0x16, 0x9a, 0x44, 0xe5, 0x5c,
	0x88, 0xd4, 0xa9, 0xa7, 0xf9, 0x47, 0x42, 0x41, 0xe2, 0x21, 0xaf, 0x44,
	0x86, 0x00, 0x18, 0xab, 0x08, 0x56, 0x97, 0x2e, 0x19, 0x4c, 0xd9, 0x34,
};

/* ---- reading corpus captures ---- */

#define T_MAX_FLOWS 1024
#define T_MAX_EVENTS 256
#define T_PROBE_BUF 4096 /* what the classifier buffers per direction while probing */

struct t_event {
	uint8_t dir;
	bool gap;
	uint8_t *data;
	size_t len;
};

struct t_flow {
	uint8_t l4;
	int family;
	uint8_t addr[2][16];
	uint16_t port[2];
	uint32_t next_seq[2];
	bool seq_init[2];
	struct t_event ev[T_MAX_EVENTS];
	unsigned nev;
};

struct t_cap {
	struct t_flow *fl;
	unsigned n;
};

static void t_add_event(struct t_flow *f, uint8_t dir, const uint8_t *p, size_t n, bool gap)
{
	struct t_event *e;

	if (f->nev >= T_MAX_EVENTS || n == 0)
		return;
	e = &f->ev[f->nev++];
	e->dir = dir;
	e->gap = gap;
	e->len = n;
	e->data = malloc(n);
	memcpy(e->data, p, n);
}

static struct t_flow *t_flow_get(struct t_cap *c, uint8_t l4, int family, const uint8_t *src,
				 const uint8_t *dst, uint16_t sp, uint16_t dp, uint8_t *dir)
{
	size_t al = family == AF_INET ? 4 : 16;

	for (unsigned i = 0; i < c->n; i++) {
		struct t_flow *f = &c->fl[i];

		if (f->l4 != l4 || f->family != family)
			continue;
		if (!memcmp(f->addr[0], src, al) && !memcmp(f->addr[1], dst, al) &&
		    f->port[0] == sp && f->port[1] == dp) {
			*dir = 0;
			return f;
		}
		if (!memcmp(f->addr[1], src, al) && !memcmp(f->addr[0], dst, al) &&
		    f->port[1] == sp && f->port[0] == dp) {
			*dir = 1;
			return f;
		}
	}
	if (c->n >= T_MAX_FLOWS)
		return NULL;
	struct t_flow *f = &c->fl[c->n++];
	memset(f, 0, sizeof(*f));
	f->l4 = l4;
	f->family = family;
	memcpy(f->addr[0], src, al);
	memcpy(f->addr[1], dst, al);
	f->port[0] = sp;
	f->port[1] = dp;
	*dir = 0;
	return f;
}

/* tc_pcap_each callback: adds a packet's payload to its flow, TCP in sequence order. */
static void t_packet(void *arg, unsigned frame, int dlt, const struct kp_pkt_info *pi)
{
	struct t_cap *c = arg;
	const uint8_t *pl = pi->payload;
	size_t pn = pi->payload_len;
	struct t_flow *f;
	bool gap = false;
	uint8_t dir;
	int32_t d;

	(void)frame;
	(void)dlt;
	f = t_flow_get(c, pi->l4, pi->family, pi->src, pi->dst, pi->sport, pi->dport, &dir);
	if (!f)
		return;
	if (pi->l4 == IPPROTO_UDP) {
		t_add_event(f, dir, pl, pn, false);
		return;
	}
	if (pi->tcp_flags & 0x02) { /* SYN */
		f->next_seq[dir] = pi->seq + 1;
		f->seq_init[dir] = true;
		return;
	}
	if (!f->seq_init[dir]) {
		f->next_seq[dir] = pi->seq;
		f->seq_init[dir] = true;
	}
	d = (int32_t)(pi->seq - f->next_seq[dir]);
	if (d < 0) { /* retransmission or overlap: keep only new bytes */
		if ((size_t)-d >= pn)
			return;
		pl += -d;
		pn -= (size_t)-d;
	} else if (d > 0) {
		gap = true; /* lost bytes: the module is told */
	}
	t_add_event(f, dir, pl, pn, gap);
	f->next_seq[dir] = pi->seq + pi->payload_len;
	if (pi->tcp_flags & 0x01)
		f->next_seq[dir]++;
}

/* Loads a corpus capture into flows; NULL (and a skip line) when the corpus is absent. */
static struct t_cap *cap_load(const char *name)
{
	char rel[256], path[1100], err[PCAP_ERRBUF_SIZE];
	struct t_cap *c;

	snprintf(rel, sizeof(rel), "ndpi/pcap/%s", name);
	if (!tc_path(rel, path, sizeof(path)))
		return NULL;
	c = calloc(1, sizeof(*c));
	c->fl = calloc(T_MAX_FLOWS, sizeof(*c->fl));
	if (!tc_pcap_each(path, t_packet, c, err)) {
		printf("skip: %s absent (%s)\n", path, err);
		free(c->fl);
		free(c);
		return NULL;
	}
	return c;
}

static void cap_free(struct t_cap *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < c->n; i++)
		for (unsigned k = 0; k < c->fl[i].nev; k++)
			free(c->fl[i].ev[k].data);
	free(c->fl);
	free(c);
}

/* The flow whose either end uses `port` (and has payload), starting at index *from. */
static const struct t_flow *cap_flow_port(const struct t_cap *c, uint16_t port, unsigned nth)
{
	for (unsigned i = 0; i < c->n; i++) {
		const struct t_flow *f = &c->fl[i];

		if ((f->port[0] == port || f->port[1] == port) && f->nev > 0 && nth-- == 0)
			return f;
	}
	return NULL;
}

/* ---- driving a module as the classifier does ---- */

struct t_run {
	enum kp_probe_result pr;
	struct kp_match m;
	unsigned at; /* event index of the verdict */
	bool parse_done;
	char json[4096];
};

static void run_parse_chunk(const struct kp_app_module *mod, struct kp_app_ctx *ctx, void *st,
			    uint8_t dir, const uint8_t *d, size_t n, bool gap, bool *done)
{
	if (*done || !mod->parse)
		return;
	ctx->dir = dir;
	ctx->data = d;
	ctx->len = n;
	ctx->gap = gap;
	if (mod->parse(ctx, st) == KP_PARSE_DONE)
		*done = true;
}

static void run_flow(const struct kp_app_module *mod, const struct t_flow *f, struct t_run *r)
{
	uint8_t *pb[2] = {calloc(1, T_PROBE_BUF), calloc(1, T_PROBE_BUF)};
	size_t pl[2] = {0, 0};
	struct kp_app_ctx ctx;
	unsigned i;

	memset(r, 0, sizeof(*r));
	memset(&ctx, 0, sizeof(ctx));
	ctx.l4 = f->l4;
	ctx.family = f->family;
	ctx.caddr = f->addr[0];
	ctx.saddr = f->addr[1];
	ctx.cport = f->port[0];
	ctx.sport = f->port[1];
	r->pr = KP_PROBE_NEED_MORE;
	for (i = 0; i < f->nev; i++) {
		const struct t_event *e = &f->ev[i];

		if (f->l4 == IPPROTO_TCP) {
			size_t k =
			    e->len < T_PROBE_BUF - pl[e->dir] ? e->len : T_PROBE_BUF - pl[e->dir];
			memcpy(pb[e->dir] + pl[e->dir], e->data, k);
			pl[e->dir] += k;
		} else if (pl[e->dir] == 0) {
			pl[e->dir] = e->len < T_PROBE_BUF ? e->len : T_PROBE_BUF;
			memcpy(pb[e->dir], e->data, pl[e->dir]);
		}
		ctx.npkts[e->dir]++;
		ctx.flight[e->dir] = (uint32_t)pl[e->dir];
		ctx.dir = e->dir;
		ctx.data = e->data;
		ctx.len = e->len;
		ctx.buf[0] = pb[0];
		ctx.buf[1] = pb[1];
		ctx.buf_len[0] = pl[0];
		ctx.buf_len[1] = pl[1];
		r->pr = mod->probe(&ctx, &r->m);
		if (r->pr != KP_PROBE_NEED_MORE)
			break;
	}
	r->at = i;
	if (r->pr == KP_PROBE_MATCH) {
		void *st = calloc(1, mod->state_size ? mod->state_size : 1);
		struct kp_match label = r->m;
		bool done = false;
		struct kp_json j;

		memset(ctx.buf, 0, sizeof(ctx.buf));
		memset(ctx.buf_len, 0, sizeof(ctx.buf_len));
		ctx.label = &label;
		/* Everything buffered so far, client side first, then the new chunks. */
		for (uint8_t d = 0; d < 2; d++) {
			if (f->l4 == IPPROTO_TCP) {
				uint8_t *all = malloc(64 * 1024);
				size_t n = 0;
				bool gap = false;

				for (unsigned k = 0; k <= i; k++)
					if (f->ev[k].dir == d && n + f->ev[k].len <= 64 * 1024) {
						gap |= f->ev[k].gap;
						memcpy(all + n, f->ev[k].data, f->ev[k].len);
						n += f->ev[k].len;
					}
				if (n)
					run_parse_chunk(mod, &ctx, st, d, all, n, gap, &done);
				free(all);
			} else {
				for (unsigned k = 0; k <= i; k++)
					if (f->ev[k].dir == d)
						run_parse_chunk(mod, &ctx, st, d, f->ev[k].data,
								f->ev[k].len, false, &done);
			}
		}
		for (unsigned k = i + 1; k < f->nev && !done; k++)
			run_parse_chunk(mod, &ctx, st, f->ev[k].dir, f->ev[k].data, f->ev[k].len,
					f->ev[k].gap, &done);
		r->parse_done = done;
		r->m = label;
		kp_json_init(&j);
		kp_json_begin(&j);
		if (mod->json)
			mod->json(st, NULL, &j);
		kp_json_end(&j);
		snprintf(r->json, sizeof(r->json), "%s", j.buf ? j.buf : "");
		kp_json_free(&j);
		if (mod->free_state)
			mod->free_state(st);
		free(st);
	}
	free(pb[0]);
	free(pb[1]);
}

/* True if the flow's event JSON holds "key":"value". */
static bool json_has(const struct t_run *r, const char *key, const char *value)
{
	char pat[512];

	snprintf(pat, sizeof(pat), "\"%s\":\"%s\"", key, value);
	return strstr(r->json, pat) != NULL;
}

#define CHECK_JSON(r, k, v)                                                                        \
	do {                                                                                       \
		if (!json_has(r, k, v)) {                                                          \
			fprintf(stderr, "  %s:%d: want \"%s\":\"%s\" in %s\n", __FILE__, __LINE__, \
				k, v, (r)->json);                                                  \
			(*kp_failed)++;                                                            \
		}                                                                                  \
	} while (0)

/* Runs mod on the nth flow using port and expects a match of `conf` at least. */
static bool run_port(const struct t_cap *c, const struct kp_app_module *mod, uint16_t port,
		     unsigned nth, struct t_run *r)
{
	const struct t_flow *f = cap_flow_port(c, port, nth);

	memset(r, 0, sizeof(*r));
	if (!f)
		return false;
	run_flow(mod, f, r);
	return true;
}

/* Every other module of this file on every flow of a capture: none may match. */
static int others_never_match(const struct t_cap *c, const struct kp_app_module *owner)
{
	const struct kp_app_module *mods[] = {&kp_mod_tls, &kp_mod_quic, &kp_mod_dns, &kp_mod_ssh};
	int bad = 0;

	for (unsigned i = 0; i < c->n; i++) {
		for (size_t k = 0; k < 4; k++) {
			struct t_run r;
			uint8_t l4 = mods[k]->l4;

			if (mods[k] == owner || c->fl[i].nev == 0)
				continue;
			if (!((c->fl[i].l4 == IPPROTO_TCP && (l4 & KP_L4_TCP)) ||
			      (c->fl[i].l4 == IPPROTO_UDP && (l4 & KP_L4_UDP))))
				continue;
			run_flow(mods[k], &c->fl[i], &r);
			if (r.pr == KP_PROBE_MATCH) {
				fprintf(stderr, "  %s matched flow %u (port %u->%u)\n",
					mods[k]->name, i, c->fl[i].port[0], c->fl[i].port[1]);
				bad++;
			}
		}
	}
	return bad;
}

/* ---- TLS ---- */

struct sni_case {
	const char *pcap;
	uint16_t port;
	unsigned nth;
	const char *sni; /* as nDPI found it (expected/<pcap>.out); NULL: none */
	const char *version;
	const char *alpn;
};

static void tls_cases(int *kp_failed, const struct sni_case *cs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct t_cap *c = cap_load(cs[i].pcap);
		struct t_run r;

		if (!c)
			continue;
		CHECK(run_port(c, &kp_mod_tls, cs[i].port, cs[i].nth, &r));
		CHECK_EQ(r.pr, KP_PROBE_MATCH);
		CHECK_EQ(r.m.app, KP_APP_TLS);
		CHECK_EQ(r.m.confidence, KP_CONF_HIGH);
		if (cs[i].sni)
			CHECK_JSON(&r, "sni", cs[i].sni);
		else
			CHECK(strstr(r.json, "\"sni\"") == NULL);
		if (cs[i].version)
			CHECK_JSON(&r, "version", cs[i].version);
		if (cs[i].alpn)
			CHECK_JSON(&r, "alpn", cs[i].alpn);
		printf("  %s: %s\n", cs[i].pcap, r.json);
		CHECK_EQ(others_never_match(c, &kp_mod_tls), 0);
		cap_free(c);
	}
}

KP_TEST(tls_sni_equals_ndpi)
{
	static const struct sni_case cs[] = {
	    {"443-curl.pcap", 443, 0, "www.ntop.org", "TLS 1.2", "h2,http/1.1"},
	    {"tls_verylong_certificate.pcap", 443, 0, "feodotracker.abuse.ch", "TLS 1.2",
	     "http/1.1"},
	    {"tls_alert.pcap", 443, 0, "www.google-analytics.com", "TLSv1",
	     "h2,h2-16,h2-15,h2-14,spdy/3.1,spdy/3,http/1.1"},
	    {"imaps.pcap", 993, 0, "mail.ntop.org", NULL, NULL},
	    {"imaps.pcap", 993, 1, "imap.asia.secureserver.net", NULL, NULL},
	    /* nDPI: "Missing SNI TLS Extn" */
	    {"smtps.pcapng", 465, 0, NULL, NULL, NULL},
	    /* SSLv2-compatible ClientHello offering TLS 1.0; nDPI matched it by port only */
	    {"google_ssl.pcap", 443, 0, NULL, "TLSv1", NULL},
	};

	tls_cases(kp_failed, cs, sizeof(cs) / sizeof(cs[0]));
}

KP_TEST(tls_midstream_alert_low_confidence)
{
	struct probe_case pc = {
	    IPPROTO_TCP, tls_alert_rec, sizeof(tls_alert_rec), NULL, 0, 0, 37780, 443};
	struct kp_match m;
	struct t_cap *c;
	struct t_run r;

	/* A lone encrypted alert record: TLS, but only by record framing. */
	CHECK_EQ(probe_run(&kp_mod_tls, &pc, &m), KP_PROBE_MATCH);
	CHECK_EQ(m.confidence, KP_CONF_LOW);
	/* Half a record header is not enough, a wrong version byte is not TLS. */
	pc.c2s_len = 3;
	CHECK_EQ(probe_run(&kp_mod_tls, &pc, &m), KP_PROBE_NEED_MORE);
	uint8_t bad[sizeof(tls_alert_rec)];
	memcpy(bad, tls_alert_rec, sizeof(bad));
	bad[1] = 2;
	pc.c2s = bad;
	pc.c2s_len = sizeof(bad);
	CHECK_EQ(probe_run(&kp_mod_tls, &pc, &m), KP_PROBE_EXCLUDE);

	c = cap_load("tls_alert.pcap");
	if (!c)
		return;
	CHECK(run_port(c, &kp_mod_tls, 37780, 0, &r));
	CHECK_EQ(r.pr, KP_PROBE_MATCH);
	CHECK_EQ(r.m.confidence, KP_CONF_LOW);
	CHECK(strstr(r.json, "sni") == NULL);
	cap_free(c);
}

KP_TEST(tls_truncated_hello_needs_more_then_matches)
{
	struct probe_case pc = {IPPROTO_TCP, tls_alert_ch, 0, NULL, 0, 0, 63158, 443};
	struct kp_tls_hello h;
	struct kp_match m;
	/* 5 record + 4 handshake + 2 version + 32 random + 1+0 session + 2+18 suites + 1+1 comp */
	const size_t fixed = 5 + 4 + 2 + 32 + 1 + 2 + 18 + 2;

	for (size_t n = 0; n < sizeof(tls_alert_ch); n++) {
		pc.c2s_len = n;
		enum kp_probe_result pr = probe_run(&kp_mod_tls, &pc, &m);

		if (n < fixed)
			CHECK_EQ(pr, KP_PROBE_NEED_MORE);
		else
			CHECK_EQ(pr, KP_PROBE_MATCH);
		/* The hello parser calls a cut hello SHORT, never BAD, and finds no SNI before
		 * the server_name extension is complete. */
		if (n >= 5) {
			enum kp_tls_hello_res hr =
			    kp_tls_hello_parse(tls_alert_ch + 5, n - 5, KP_TLS_HS_CLIENT_HELLO, &h);
			CHECK_EQ(hr, KP_TLS_HELLO_SHORT);
		}
	}
	pc.c2s_len = sizeof(tls_alert_ch);
	CHECK_EQ(probe_run(&kp_mod_tls, &pc, &m), KP_PROBE_MATCH);
	CHECK_EQ(m.app, KP_APP_TLS);
	CHECK_EQ(m.confidence, KP_CONF_HIGH);
	CHECK_EQ(kp_tls_hello_parse(tls_alert_ch + 5, sizeof(tls_alert_ch) - 5,
				    KP_TLS_HS_CLIENT_HELLO, &h),
		 KP_TLS_HELLO_OK);
	CHECK(h.has_sni);
	CHECK_STR(h.sni, "www.google-analytics.com");
	CHECK_EQ(h.version, 0x0301);
	/* An extension block longer or shorter than the message is malformed. */
	uint8_t ch[sizeof(tls_alert_ch)];
	memcpy(ch, tls_alert_ch, sizeof(ch));
	CHECK_EQ(kp_be16(ch + 66), 0x83); /* extensions length */
	ch[67] = 0x84;
	CHECK_EQ(kp_tls_hello_parse(ch + 5, sizeof(ch) - 5, KP_TLS_HS_CLIENT_HELLO, &h),
		 KP_TLS_HELLO_BAD);
	ch[67] = 0x82;
	CHECK_EQ(kp_tls_hello_parse(ch + 5, sizeof(ch) - 5, KP_TLS_HS_CLIENT_HELLO, &h),
		 KP_TLS_HELLO_BAD);
	pc.c2s = ch;
	CHECK_EQ(probe_run(&kp_mod_tls, &pc, &m), KP_PROBE_EXCLUDE);
	pc.c2s = tls_alert_ch;
	/* Asked for a ServerHello, a ClientHello is BAD. */
	CHECK_EQ(kp_tls_hello_parse(tls_alert_ch + 5, sizeof(tls_alert_ch) - 5,
				    KP_TLS_HS_SERVER_HELLO, &h),
		 KP_TLS_HELLO_BAD);
}

/* The parser reassembles a hello delivered one byte per chunk and across records. */
KP_TEST(tls_parse_across_segments_and_records)
{
	struct kp_app_ctx ctx;
	struct kp_match label = {KP_APP_TLS, KP_CONF_HIGH};
	struct kp_json j;
	void *st = calloc(1, kp_mod_tls.state_size);
	/* Same hello split into two handshake records of 100 and 94 payload bytes. */
	const size_t body = sizeof(tls_alert_ch) - 5, first = 100;
	uint8_t two[sizeof(tls_alert_ch) + 5];

	memcpy(two, tls_alert_ch, 5 + first);
	two[3] = 0;
	two[4] = (uint8_t)first;
	memcpy(two + 5 + first, tls_alert_ch, 5);
	two[5 + first + 3] = 0;
	two[5 + first + 4] = (uint8_t)(body - first);
	memcpy(two + 10 + first, tls_alert_ch + 5 + first, body - first);

	memset(&ctx, 0, sizeof(ctx));
	ctx.l4 = IPPROTO_TCP;
	ctx.label = &label;
	for (size_t i = 0; i < sizeof(two); i++) {
		ctx.dir = KP_DIR_TOSERVER;
		ctx.data = two + i;
		ctx.len = 1;
		kp_mod_tls.parse(&ctx, st);
	}
	kp_json_init(&j);
	kp_json_begin(&j);
	kp_mod_tls.json(st, NULL, &j);
	kp_json_end(&j);
	CHECK(strstr(j.buf, "\"sni\":\"www.google-analytics.com\"") != NULL);
	kp_json_free(&j);
	kp_mod_tls.free_state(st);
	free(st);
}

/* ---- negative and robustness tests ---- */

KP_TEST(random_payloads_never_match_tls_quic_ssh)
{
	uint64_t seed = 0x6b703270616d6431ull;
	uint8_t *a = malloc(2048), *b = malloc(2048);
	int matches = 0, runs = 0;

	for (int iter = 0; iter < 4000; iter++) {
		size_t la = (size_t)(tc_rng_next(&seed) % 1500), lb = (size_t)(tc_rng_next(&seed) % 1500);
		struct kp_match m;

		if (iter % 4 == 0)
			la = (size_t)(iter / 4) % 64; /* plenty of short ones too */
		tc_rng_fill(&seed, a, la);
		tc_rng_fill(&seed, b, lb);
		struct probe_case tcp1 = {IPPROTO_TCP, a, la, NULL, 0, 0, 40000, 443};
		struct probe_case tcp2 = {IPPROTO_TCP, a, la, b, lb, 1, 40000, 22};
		struct probe_case udp = {IPPROTO_UDP, a, la, NULL, 0, 0, 40000, 443};
		struct probe_case udp2 = {IPPROTO_UDP, a, la, b, lb, 1, 40000, 443};

		matches += probe_run(&kp_mod_tls, &tcp1, &m) == KP_PROBE_MATCH;
		matches += probe_run(&kp_mod_tls, &tcp2, &m) == KP_PROBE_MATCH;
		matches += probe_run(&kp_mod_ssh, &tcp1, &m) == KP_PROBE_MATCH;
		matches += probe_run(&kp_mod_ssh, &tcp2, &m) == KP_PROBE_MATCH;
		matches += probe_run(&kp_mod_quic, &udp, &m) == KP_PROBE_MATCH;
		matches += probe_run(&kp_mod_quic, &udp2, &m) == KP_PROBE_MATCH;
		/* DNS may in principle match random bytes; it must not crash on them. */
		probe_run(&kp_mod_dns, &udp, &m);
		struct probe_case dtcp = {IPPROTO_TCP, a, la, NULL, 0, 0, 40000, 53};
		probe_run(&kp_mod_dns, &dtcp, &m);
		runs += 6;
	}
	printf("  %d random probes, %d matches\n", runs, matches);
	CHECK_EQ(matches, 0);
	free(a);
	free(b);
}

/* Feeds a byte string through probe, parse and json of mod: must not crash. */
static void drive_bytes(const struct kp_app_module *mod, uint8_t l4, const uint8_t *p, size_t n)
{
	struct probe_case pc = {l4, p, n, p, n, 0, 40000, 443};
	struct kp_match m, label = {0, 0};
	struct kp_app_ctx ctx;
	struct kp_json j;
	void *st;

	probe_run(mod, &pc, &m);
	if (!mod->parse)
		return;
	st = calloc(1, mod->state_size);
	memset(&ctx, 0, sizeof(ctx));
	ctx.l4 = l4;
	ctx.label = &label;
	for (uint8_t d = 0; d < 2; d++) {
		ctx.dir = d;
		ctx.data = p;
		ctx.len = n;
		mod->parse(&ctx, st);
	}
	kp_json_init(&j);
	kp_json_begin(&j);
	mod->json(st, NULL, &j);
	kp_json_end(&j);
	kp_json_free(&j);
	if (mod->free_state)
		mod->free_state(st);
	free(st);
}

KP_TEST(mutated_real_payloads_do_not_crash)
{
	uint64_t seed = 12345;
	uint8_t buf[2048];
	const struct {
		const struct kp_app_module *mod;
		uint8_t l4;
		const uint8_t *p;
		size_t n;
	} seeds[] = {
	    {&kp_mod_tls, IPPROTO_TCP, tls_alert_ch, sizeof(tls_alert_ch)},
	    {&kp_mod_dns, IPPROTO_UDP, dns_wa_query, sizeof(dns_wa_query)},
	    {&kp_mod_dns, IPPROTO_UDP, dns_wa_resp, sizeof(dns_wa_resp)},
	    {&kp_mod_ssh, IPPROTO_TCP, ssh_server_banner, sizeof(ssh_server_banner)},
	};

	for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
		for (int iter = 0; iter < 3000; iter++) {
			size_t n = seeds[s].n;

			memcpy(buf, seeds[s].p, n);
			for (int k = 0; k < 1 + iter % 4; k++)
				buf[tc_rng_next(&seed) % n] = (uint8_t)tc_rng_next(&seed);
			if (iter % 5 == 0)
				n = (size_t)(tc_rng_next(&seed) % (n + 1)); /* truncated */
			drive_bytes(seeds[s].mod, seeds[s].l4, buf, n);
		}
	}
	CHECK(1); /* reaching here under ASan/UBSan is the assertion */
}

/* ---- QUIC ---- */

struct quic_case {
	const char *pcap;
	uint16_t port; /* a port of the flow */
	unsigned nth;
	const char *version;
	const char *sni; /* nDPI's Hostname/SNI; NULL: none */
	int conf;
};

KP_TEST(quic_version_and_sni_equal_ndpi)
{
	static const struct quic_case cs[] = {
	    {"quic-v2.pcapng", 4443, 0, "v2", "test", KP_CONF_HIGH},
	    {"quic-27.pcap", 443, 0, "draft-27", "play.google.com", KP_CONF_HIGH},
	    {"quic_t51.pcap", 443, 0, "T051", "www.google.com", KP_CONF_HIGH},
	    {"quic.pcap", 57833, 0, "Q024", "mail.google.com", KP_CONF_HIGH},
	    {"quic.pcap", 35236, 0, "Q030", "www.youtube.com", KP_CONF_HIGH},
	    {"quic.pcap", 40134, 0, "Q033", NULL, KP_CONF_HIGH}, /* CHLO without SNI */
	    {"quic.pcap", 34438, 0, "Q025", "www.youtube.com", KP_CONF_HIGH},
	    {"quic.pcap", 40030, 0, "Q025", "fonts.gstatic.com", KP_CONF_HIGH},
	    {"quic.pcap", 55934, 0, "Q025", "s.ytimg.com", KP_CONF_HIGH},
	    {"quic.pcap", 45669, 0, "Q025", "www.google.com", KP_CONF_HIGH},
	    {"quic.pcap", 48445, 0, "Q025", "i.ytimg.com", KP_CONF_HIGH},
	    {"quic.pcap", 53817, 0, "Q025", "yt3.ggpht.com", KP_CONF_HIGH},
	};

	for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
		struct t_cap *c = cap_load(cs[i].pcap);
		struct t_run r;

		if (!c)
			continue;
		CHECK(run_port(c, &kp_mod_quic, cs[i].port, cs[i].nth, &r));
		CHECK_EQ(r.pr, KP_PROBE_MATCH);
		CHECK_EQ(r.m.app, KP_APP_QUIC);
		CHECK_EQ(r.m.confidence, cs[i].conf);
		CHECK_JSON(&r, "version", cs[i].version);
		if (cs[i].sni)
			CHECK_JSON(&r, "sni", cs[i].sni);
		else
			CHECK(strstr(r.json, "\"sni\"") == NULL);
		printf("  %s port %u: %s\n", cs[i].pcap, cs[i].port, r.json);
		CHECK_EQ(others_never_match(c, &kp_mod_quic), 0);
		cap_free(c);
	}
}

KP_TEST(quic_initial_tamper_and_truncation)
{
	struct t_cap *c = cap_load("quic-27.pcap");
	const struct t_flow *f;
	struct kp_match m;
	uint8_t *p;
	size_t n;

	if (!c)
		return;
	f = cap_flow_port(c, 443, 0);
	CHECK(f != NULL);
	if (!f) {
		cap_free(c);
		return;
	}
	n = f->ev[0].len;
	p = malloc(n);
	memcpy(p, f->ev[0].data, n);
	struct probe_case pc = {IPPROTO_UDP, p, n, NULL, 0, 0, 64229, 443};
	CHECK_EQ(probe_run(&kp_mod_quic, &pc, &m), KP_PROBE_MATCH);
	CHECK_EQ(m.confidence, KP_CONF_HIGH);
	/* One flipped ciphertext bit: the AEAD tag fails, the header still says QUIC. */
	p[n - 40] ^= 1;
	CHECK_EQ(probe_run(&kp_mod_quic, &pc, &m), KP_PROBE_MATCH);
	CHECK_EQ(m.confidence, KP_CONF_MEDIUM);
	p[n - 40] ^= 1;
	/* A client Initial below 1200 bytes is not one. */
	pc.c2s_len = 1199;
	CHECK_EQ(probe_run(&kp_mod_quic, &pc, &m), KP_PROBE_EXCLUDE);
	/* A DCID length over 20 is not QUIC v1-style. */
	pc.c2s_len = n;
	p[5] = 21;
	CHECK_EQ(probe_run(&kp_mod_quic, &pc, &m), KP_PROBE_EXCLUDE);
	p[5] = f->ev[0].data[5];
	/* Every truncation and a few thousand mutations go through probe/parse cleanly. */
	uint64_t seed = 99;
	for (size_t k = 0; k < n; k += 7)
		drive_bytes(&kp_mod_quic, IPPROTO_UDP, p, k);
	for (int iter = 0; iter < 300; iter++) {
		memcpy(p, f->ev[0].data, n);
		p[tc_rng_next(&seed) % 64] = (uint8_t)tc_rng_next(&seed);
		drive_bytes(&kp_mod_quic, IPPROTO_UDP, p, n);
	}
	free(p);
	cap_free(c);
}

/* ---- DNS ---- */

KP_TEST(dns_names_equal_ndpi)
{
	struct t_cap *c = cap_load("dns.pcap");
	struct t_run r;

	if (c) {
		CHECK(run_port(c, &kp_mod_dns, 47255, 0, &r));
		CHECK_EQ(r.pr, KP_PROBE_MATCH);
		CHECK_EQ(r.m.app, KP_APP_DNS);
		CHECK_EQ(r.m.confidence, KP_CONF_HIGH); /* response answered the query's id */
		CHECK_JSON(&r, "rrname", "e7.whatsapp.net");
		CHECK_JSON(&r, "rrtype", "A");
		CHECK_JSON(&r, "rcode", "NOERROR");
		printf("  dns.pcap 47255: %s\n", r.json);
		/* This flow starts with a response from port 53 (nDPI names it the client). */
		CHECK(run_port(c, &kp_mod_dns, 32795, 0, &r));
		CHECK_EQ(r.pr, KP_PROBE_MATCH);
		CHECK_JSON(&r, "rrname", "www.l.google.com");
		printf("  dns.pcap 32795: %s\n", r.json);
		CHECK_EQ(others_never_match(c, &kp_mod_dns), 0);
		cap_free(c);
	}
	c = cap_load("malformed_dns.pcap");
	if (c) {
		CHECK(run_port(c, &kp_mod_dns, 50435, 0, &r));
		CHECK_EQ(r.pr, KP_PROBE_MATCH);
		CHECK_JSON(&r, "rrname", "www.xt.com");
		printf("  malformed_dns.pcap: %s\n", r.json);
		CHECK_EQ(others_never_match(c, &kp_mod_dns), 0);
		cap_free(c);
	}
}

KP_TEST(dns_embedded_query_response_and_tcp)
{
	struct probe_case pc = {IPPROTO_UDP,
				dns_wa_query,
				sizeof(dns_wa_query),
				dns_wa_resp,
				sizeof(dns_wa_resp),
				1,
				47255,
				53};
	struct kp_match m;
	uint8_t tcp[2 + sizeof(dns_wa_query)], other[sizeof(dns_wa_resp)];

	CHECK_EQ(probe_run(&kp_mod_dns, &pc, &m), KP_PROBE_MATCH);
	CHECK_EQ(m.confidence, KP_CONF_HIGH);
	/* A response to another id: still DNS, not the pair */
	memcpy(other, dns_wa_resp, sizeof(other));
	other[0] ^= 0x55;
	pc.s2c = other;
	CHECK_EQ(probe_run(&kp_mod_dns, &pc, &m), KP_PROBE_MATCH);
	CHECK_EQ(m.confidence, KP_CONF_MEDIUM);
	/* Over TCP with the length prefix; cut short it waits, whole it matches. */
	tcp[0] = 0;
	tcp[1] = sizeof(dns_wa_query);
	memcpy(tcp + 2, dns_wa_query, sizeof(dns_wa_query));
	struct probe_case tc = {IPPROTO_TCP, tcp, sizeof(tcp), NULL, 0, 0, 40000, 53};
	CHECK_EQ(probe_run(&kp_mod_dns, &tc, &m), KP_PROBE_MATCH);
	tc.c2s_len = 20;
	CHECK_EQ(probe_run(&kp_mod_dns, &tc, &m), KP_PROBE_NEED_MORE);
	/* Over UDP the same bytes without the prefix are not DNS. */
	struct probe_case uc = {IPPROTO_UDP, tcp, sizeof(tcp), NULL, 0, 0, 40000, 53};
	CHECK(probe_run(&kp_mod_dns, &uc, &m) != KP_PROBE_MATCH);
	/* Z bit, opcode 3, a query with an rcode, a 64-byte label: not DNS. */
	uint8_t q[sizeof(dns_wa_query)];
	struct probe_case qc = {IPPROTO_UDP, q, sizeof(q), NULL, 0, 0, 40000, 53};
	memcpy(q, dns_wa_query, sizeof(q));
	q[3] |= 0x40;
	CHECK_EQ(probe_run(&kp_mod_dns, &qc, &m), KP_PROBE_EXCLUDE);
	memcpy(q, dns_wa_query, sizeof(q));
	q[2] = (uint8_t)((q[2] & 0x87) | (3 << 3));
	CHECK_EQ(probe_run(&kp_mod_dns, &qc, &m), KP_PROBE_EXCLUDE);
	memcpy(q, dns_wa_query, sizeof(q));
	q[3] |= 0x03;
	CHECK_EQ(probe_run(&kp_mod_dns, &qc, &m), KP_PROBE_EXCLUDE);
	memcpy(q, dns_wa_query, sizeof(q));
	q[12] = 64;
	CHECK_EQ(probe_run(&kp_mod_dns, &qc, &m), KP_PROBE_EXCLUDE);
}

KP_TEST(dns_compression_loops_terminate)
{
	/* Header: id, flags 0x8180 (response), qd 1, an 1; question www.x. A IN;
	 * the answer's owner is a pointer... that points at itself, forward, or in a ring. */
	static const uint8_t base[] = {
	    0x12,	   0x34, 0x81, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00,
	    0x00,
	    /* 12 */ 0x03, 'w',	 'w',  'w',  0x01, 'x',	 0x00, 0x00, 0x01, 0x00, 0x01,
	    /* 23 */ 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00,
	    0x04,	   1,	 2,    3,    4,
	};
	uint8_t b[sizeof(base)];
	struct kp_match m;
	struct probe_case pc = {IPPROTO_UDP, b, sizeof(b), NULL, 0, 0, 40000, 53};

	memcpy(b, base, sizeof(b));
	CHECK_EQ(probe_run(&kp_mod_dns, &pc, &m), KP_PROBE_MATCH); /* the sane message */
	/* Question name is a pointer to itself. */
	b[12] = 0xc0;
	b[13] = 12;
	CHECK_EQ(probe_run(&kp_mod_dns, &pc, &m), KP_PROBE_EXCLUDE);
	/* Question: label then a pointer back to its own start (a ring). */
	memcpy(b, base, sizeof(b));
	b[16] = 0xc0;
	b[17] = 12;
	CHECK_EQ(probe_run(&kp_mod_dns, &pc, &m), KP_PROBE_EXCLUDE);
	/* Pointer forward, past the end, into the header. */
	memcpy(b, base, sizeof(b));
	b[12] = 0xc0;
	b[13] = 30;
	CHECK_EQ(probe_run(&kp_mod_dns, &pc, &m), KP_PROBE_EXCLUDE);
	b[13] = 0xff;
	CHECK_EQ(probe_run(&kp_mod_dns, &pc, &m), KP_PROBE_EXCLUDE);
	b[13] = 2;
	CHECK_EQ(probe_run(&kp_mod_dns, &pc, &m), KP_PROBE_EXCLUDE);
	/* The parser and json on each of them, and on a name of 127 chained pointers. */
	uint8_t chain[12 + 2 + 2 * 127 + 4];
	memset(chain, 0, sizeof(chain));
	chain[5] = 1; /* qd 1 */
	chain[12] = 0x01;
	chain[13] = 'a'; /* "a" then a pointer chain walking back */
	for (int k = 0; k < 127; k++) {
		size_t at = 14 + 2 * (size_t)k;
		chain[at] = 0xc0;
		chain[at + 1] = (uint8_t)(at - 2);
	}
	drive_bytes(&kp_mod_dns, IPPROTO_UDP, chain, sizeof(chain));
	struct probe_case cc = {IPPROTO_UDP, chain, sizeof(chain), NULL, 0, 0, 40000, 53};
	CHECK(probe_run(&kp_mod_dns, &cc, &m) != KP_PROBE_MATCH);
}

/* ---- SSH ---- */

KP_TEST(ssh_versions_equal_ndpi)
{
	struct t_cap *c = cap_load("ssh.pcap");
	struct t_run r;

	if (!c)
		return;
	CHECK(run_port(c, &kp_mod_ssh, 22, 0, &r));
	CHECK_EQ(r.pr, KP_PROBE_MATCH);
	CHECK_EQ(r.m.app, KP_APP_SSH);
	CHECK_EQ(r.m.confidence, KP_CONF_HIGH);
	/* nDPI: "SSH-2.0-OpenSSH_5.3" (server); the client said OpenSSH_5.6 */
	CHECK(strstr(r.json, "\"server\":{\"proto_version\":\"2.0\",\"software_version\":"
			     "\"OpenSSH_5.3\"}") != NULL);
	CHECK(strstr(r.json, "\"client\":{\"proto_version\":\"2.0\",\"software_version\":"
			     "\"OpenSSH_5.6\"}") != NULL);
	CHECK(r.parse_done);
	printf("  ssh.pcap :22: %s\n", r.json);
	CHECK(run_port(c, &kp_mod_ssh, 8000, 0, &r));
	CHECK_EQ(r.pr, KP_PROBE_MATCH);
	/* nDPI: "SSH-2.0-OpenSSH_8.2p1 Ubuntu-4ubuntu0.11": the comment is not the version */
	CHECK_JSON(&r, "software_version", "OpenSSH_8.2p1");
	printf("  ssh.pcap :8000: %s\n", r.json);
	CHECK_EQ(others_never_match(c, &kp_mod_ssh), 0);
	cap_free(c);
}

KP_TEST(ssh_identification_rules)
{
	static const char *const yes[] = {
	    "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n",
	    "SSH-1.99-Cisco-1.25\r\n",
	    "SSH-1.5-1.2.27\n",
	    "SSH-2.0-dropbear_2022.83\r\n",
	};
	static const char *const no[] = {
	    "SSH-3.0-x\r\n",	       "SSH-2.0-\r\n",
	    "SSH-2.0- space\r\n",      "GET / HTTP/1.1\r\n",
	    "SSH-2.0-Open\x01SSH\r\n", "ssh-2.0-lower\r\n",
	};
	static const char *const more[] = {"S", "SSH-", "SSH-2.", "SSH-2.0-OpenSSH_9"};
	struct kp_match m;

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		struct probe_case pc = {IPPROTO_TCP,	NULL, 0,     (const uint8_t *)yes[i],
					strlen(yes[i]), 1,    40000, 22};
		CHECK_EQ(probe_run(&kp_mod_ssh, &pc, &m), KP_PROBE_MATCH);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		struct probe_case pc = {
		    IPPROTO_TCP, (const uint8_t *)no[i], strlen(no[i]), NULL, 0, 0, 40000, 22};
		CHECK_EQ(probe_run(&kp_mod_ssh, &pc, &m), KP_PROBE_EXCLUDE);
	}
	for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++) {
		struct probe_case pc = {
		    IPPROTO_TCP, (const uint8_t *)more[i], strlen(more[i]), NULL, 0, 0, 40000, 22};
		CHECK_EQ(probe_run(&kp_mod_ssh, &pc, &m), KP_PROBE_NEED_MORE);
	}
	/* A server may greet with other lines first; a client may not. */
	static const char pre[] = "Welcome\r\nauthorised use only\r\nSSH-2.0-OpenSSH_9.2\r\n";
	struct probe_case sp = {IPPROTO_TCP, NULL, 0,	  (const uint8_t *)pre,
				strlen(pre), 1,	   40000, 22};
	CHECK_EQ(probe_run(&kp_mod_ssh, &sp, &m), KP_PROBE_MATCH);
	struct probe_case cp = {IPPROTO_TCP, (const uint8_t *)pre, strlen(pre), NULL, 0, 0, 40000,
				22};
	CHECK_EQ(probe_run(&kp_mod_ssh, &cp, &m), KP_PROBE_EXCLUDE);
	/* The embedded server banner (ssh.pcap frame 4). */
	struct probe_case eb = {IPPROTO_TCP, NULL,  0, ssh_server_banner, sizeof(ssh_server_banner),
				1,	     58395, 22};
	CHECK_EQ(probe_run(&kp_mod_ssh, &eb, &m), KP_PROBE_MATCH);
}

KP_TEST(tls_version_names)
{
	CHECK_STR(kp_tls_version_name(0x0303), "TLS 1.2");
	CHECK_STR(kp_tls_version_name(0x0304), "TLS 1.3");
	CHECK_STR(kp_tls_version_name(0x0300), "SSLv3");
	CHECK(kp_tls_version_name(0x1234) == NULL);
	CHECK(kp_tls_is_grease(0x0a0a) && kp_tls_is_grease(0xdada) && !kp_tls_is_grease(0x0a1a));
}

KP_TEST(dns_not_netbios_name_service)
{
	/* NBNS query for "WORKGROUP<1d>" (RFC 1002 4.2.12 layout): DNS format, not DNS. */
	static const uint8_t nbns[] = "\x80\x01\x01\x10\x00\x01\x00\x00\x00\x00\x00\x00"
				     "\x20" "FHEPFCELEHFCEPFFFACACACACACACABN"
				     "\x00\x00\x20\x00\x01";
	struct probe_case pc = {IPPROTO_UDP, nbns, sizeof(nbns) - 1, NULL, 0, 0, 137, 137};
	struct kp_match m;

	CHECK_EQ(probe_run(&kp_mod_dns, &pc, &m), KP_PROBE_EXCLUDE);
}

KP_TEST(quic_v1_rfc9001_vector)
{
	struct t_flow *f = calloc(1, sizeof(*f));
	struct kp_match m;
	struct t_run r;
	struct probe_case pc = {IPPROTO_UDP, rfc9001_a2_initial, sizeof(rfc9001_a2_initial),
				NULL, 0, 0, 40000, 443};

	/* The AEAD tag only verifies with the v1 salt and labels: proof, not structure. */
	CHECK_EQ(probe_run(&kp_mod_quic, &pc, &m), KP_PROBE_MATCH);
	CHECK_EQ(m.app, KP_APP_QUIC);
	CHECK_EQ(m.confidence, KP_CONF_HIGH);
	f->l4 = IPPROTO_UDP;
	f->family = AF_INET;
	f->port[0] = 40000;
	f->port[1] = 443;
	t_add_event(f, 0, rfc9001_a2_initial, sizeof(rfc9001_a2_initial), false);
	run_flow(&kp_mod_quic, f, &r);
	CHECK_EQ(r.pr, KP_PROBE_MATCH);
	CHECK_JSON(&r, "version", "v1");
	CHECK_JSON(&r, "sni", "example.com");
	CHECK_JSON(&r, "alpn", "alpn");
	CHECK(r.parse_done);
	/* The same bytes claimed as draft-29 use another salt: structure only. */
	uint8_t d29[sizeof(rfc9001_a2_initial)];
	memcpy(d29, rfc9001_a2_initial, sizeof(d29));
	d29[1] = 0xff;
	d29[4] = 29;
	pc.c2s = d29;
	CHECK_EQ(probe_run(&kp_mod_quic, &pc, &m), KP_PROBE_MATCH);
	CHECK_EQ(m.confidence, KP_CONF_MEDIUM);
	free(f->ev[0].data);
	free(f);
}

KP_TEST_MAIN()
