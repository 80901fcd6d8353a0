/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * XMPP internals shared with the unit tests: XML character data decoding
 * (entities and CDATA sections) as the module reads message bodies.
 */
#ifndef KP_APP_XMPP_H
#define KP_APP_XMPP_H

#include <stddef.h>
#include <stdint.h>

#define KP_XMPP_STANZA_MAX 65536 /* a stanza longer than this is skipped, not read */

/*
 * Decodes XML character data in place: the predefined entities (&lt; &gt;
 * &amp; &quot; &apos;), character references (&#NN; &#xNN;, as UTF-8) and
 * CDATA sections (copied raw); comments and processing instructions are
 * dropped, so are the tags of child elements (their text is kept). An unknown
 * or invalid reference is kept as written. Returns the decoded length (<= n).
 */
size_t kp_xmpp_text(uint8_t *s, size_t n);

#endif
