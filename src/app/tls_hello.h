/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TLS ClientHello / ServerHello parsing shared by the TLS (tls.c) and QUIC
 * (quic.c) modules. Both hand over one complete or partial handshake message
 * (starting at the 4-byte handshake header) that they have reassembled from
 * TLS records or QUIC CRYPTO frames; the parser reads it through a bounded
 * cursor and keeps what the events need: server name, ALPN list, versions.
 */
#ifndef KP_APP_TLS_HELLO_H
#define KP_APP_TLS_HELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KP_TLS_HS_CLIENT_HELLO 1
#define KP_TLS_HS_SERVER_HELLO 2

/* Longest handshake message the modules reassemble (a ClientHello with post-quantum key shares
 * is ~2 KB; nothing sane comes near this). */
#define KP_TLS_HELLO_MAX 16384

#define KP_TLS_SNI_MAX 255
#define KP_TLS_ALPN_MAX 127

enum kp_tls_hello_res {
	KP_TLS_HELLO_OK = 0, /* the whole message was there and is well formed */
	KP_TLS_HELLO_SHORT,  /* well formed so far, message continues past len */
	KP_TLS_HELLO_BAD,    /* not a hello of the asked type, or malformed */
};

struct kp_tls_hello {
	uint8_t hs_type;	 /* KP_TLS_HS_* */
	uint16_t legacy_version; /* version field of the hello body */
	uint16_t version;	 /* best version: highest non-GREASE supported_versions entry
				  * (client) or selected one (server); else legacy_version */
	bool fixed_ok;		 /* the fixed part (through compression) was verified */
	bool has_sni;
	bool has_alpn;
	/* host_name of the server_name extension; NUL-terminated, may hold any byte but NUL
	 * (the JSON writer escapes them) */
	char sni[KP_TLS_SNI_MAX + 1];
	char alpn[KP_TLS_ALPN_MAX + 1]; /* ALPN protocol names joined by ',' (truncated) */
};

/*
 * Parses a ClientHello (want = KP_TLS_HS_CLIENT_HELLO) or ServerHello from p (len bytes),
 * which starts at the handshake message header. Fills *h as far as the bytes go.
 */
enum kp_tls_hello_res kp_tls_hello_parse(const uint8_t *p, size_t len, uint8_t want,
					 struct kp_tls_hello *h);

/* Checks an SSLv2-compatible ClientHello record (RFC 5246 E.2) at p; fills legacy_version. */
enum kp_tls_hello_res kp_tls_sslv2_hello_parse(const uint8_t *p, size_t len,
					       struct kp_tls_hello *h);

/* "TLS 1.2", "TLS 1.3", "SSLv3", "SSLv2", ... as Suricata's EVE writes them; NULL if unknown. */
const char *kp_tls_version_name(uint16_t v);

/* True for GREASE values (RFC 8701: 0x?a?a). */
static inline bool kp_tls_is_grease(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

#endif
