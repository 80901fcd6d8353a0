/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * eDonkey2000 / eMule / Kad.
 *
 * TCP: frames of protocol byte (0xE3 eDonkey, 0xC5 eMule extension, 0xD4 zlib
 * packed), uint32 LE length (opcode + body) and opcode. The probe walks the
 * frames it has of each direction: every frame must have a known opcode for its
 * protocol byte and, where the body has a fixed or self-described size
 * (OP_REQUESTPARTS = 16+24 bytes, OP_SERVERMESSAGE = u16 + text, a tag list that
 * must end where the frame ends ...), must agree with its length. A flow
 * matches on one such verified frame (hello, login, hello answer, file request
 * ...), or on two consecutive well-formed frames.
 *
 * UDP: eDonkey server UDP (0xE3), eMule UDP (0xC5) and Kad (0xE4 plain,
 * 0xE5 packed). Only opcodes whose datagram size can be verified match; for
 * the rest the probe waits for another datagram.
 *
 * Obfuscated eMule traffic (RC4) is not recognised here.
 *
 * The parser follows TCP frames per direction and keeps the user hash and
 * client name of the hello exchange, the client id given by a server, and the
 * file hashes (and names, from OP_REQFILENAMEANSWER) that the peers ask for.
 * While kp_app_files_wanted() it also reports (content.h): searches
 * (OP_SEARCHREQUEST keywords, UDP OP_GLOBSEARCHREQ), file lists (OP_SEARCHRESULT
 * 0x33, OP_OFFERFILES, OP_ASKSHAREDFILESANSWER: name, size, MD4 hash), the hashes of
 * file requests and OP_REQFILENAMEANSWER names, and part data as pieces
 * (OP_SENDINGPART, OP_SENDINGPART_I64, and OP_COMPRESSEDPART(_I64) inflated),
 * streamed; list frames up to 512 KiB are read whole (0xD4 packed ones inflated up
 * to 1 MiB), frames over 2 MiB are skipped unread.
 */
#include "app/app.h"
#include "app/zstream.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "content/content.h"
#include "output/json.h"

#define ED_EDONKEY 0xe3
#define ED_EMULE 0xc5
#define ED_PACKED 0xd4
#define ED_KAD 0xe4
#define ED_KAD_PACKED 0xe5

#define ED_MAX_FRAME (1u << 21) /* larger than any eMule packet (blocks are 180 KiB) */
#define ED_MAX_TAGS 64
#define ED_MAX_FILES 8
#define ED_HDR_CAP 320		 /* bytes of a frame the parser looks at */
#define ED_BIG_MAX (512u << 10)	 /* content: list frames read whole up to this */
#define ED_UNPACK_MAX (1u << 20) /* content: a packed (0xD4) body inflates to at most this */
#define ED_PART_SIZE 9728000ull	 /* eDonkey part size: piece index = offset / part size */
#define ED_TEXT_MAX 512		 /* search text reported */
#define ED_MAX_RESULTS 4096	 /* results per list frame */
#define ED_ZBLOCK_MAX (4u << 20) /* a compressed block inflates to at most this (180 KiB) */

/* op_check results */
#define OP_BAD -1   /* this is not a valid frame */
#define OP_WEAK 0   /* known opcode, nothing more checkable */
#define OP_STRONG 1 /* structure verified */
#define OP_WAIT 2   /* not enough bytes to decide yet */

struct ed_file {
	uint8_t hash[16];
	char name[96];
};

struct ed_tag_info {
	const uint8_t *name; /* CT_NAME / FT_FILENAME (0x01) string, or NULL */
	size_t name_len;
	uint32_t version; /* CT_VERSION (0x11) */
	bool have_version;
	uint64_t size; /* FT_FILESIZE (0x02) integer, FT_FILESIZE_HI (0x3A) upper half */
	bool have_size;
};

struct ed_dir {
	uint8_t hdr[ED_HDR_CAP];
	uint16_t hlen;
	uint32_t skip;
	bool dead;
	/* Content (files wanted): a whole frame being buffered ... */
	uint8_t *big;
	uint32_t blen, bwant;
	/* ... or the data of a part (OP_SENDINGPART) being streamed ... */
	uint32_t piece_left;
	uint64_t piece_off;
	uint8_t piece_hash[16];
	/* ... through zlib for eMule's compressed parts: one stream per block, cut in frames. */
	bool zpart;  /* the current piece frame is a slice of a compressed block */
	z_stream *z; /* the block's stream (NULL: none open) */
	uint64_t z_start, z_out;
};

struct edonkey_state {
	uint8_t transport; /* 1 tcp, 2 udp ed2k, 3 kad */
	uint8_t role;	   /* 1 client-client, 2 client-server */
	bool have_hash, have_peer_hash, have_id;
	uint8_t user_hash[16];
	uint8_t peer_hash[16];
	char client_name[64];
	char peer_name[64];
	uint32_t version;
	uint32_t client_id;
	uint8_t last_udp_proto, last_udp_op;
	uint32_t frames;
	uint32_t packed;
	uint8_t nfiles;
	struct ed_file files[ED_MAX_FILES];
	struct ed_dir dir[2];
	bool content; /* kp_app_files_wanted() at the last parse call */
	uint32_t searches, results, offers, parts;
	uint64_t part_bytes;
	bool have_req;
	uint64_t req_start[3], req_end[3]; /* last OP_REQUESTPARTS ranges */
};

/* ---- tags ---------------------------------------------------------------- */

/*
 * Walks `count` tags in b[0..n). Returns 1 when all were read (*end = bytes
 * used), 0 when the bytes ran out before (all read so far valid), -1 on a
 * malformed tag.
 */
static int ed_tags(const uint8_t *b, size_t n, uint32_t count, size_t *end,
		   struct ed_tag_info *info)
{
	struct kp_cur c = kp_cur_make(b, n);

	if (count > ED_MAX_TAGS)
		return -1;
	for (uint32_t i = 0; i < count; i++) {
		uint8_t t, type, id = 0;
		size_t vlen;
		const uint8_t *v;

		if (kp_cur_left(&c) == 0)
			return 0;
		t = kp_cur_u8(&c);
		type = t & 0x7f;
		if (t & 0x80) {
			id = kp_cur_u8(&c);
		} else {
			uint16_t nl = kp_cur_le16(&c);
			const uint8_t *nm;

			if (!c.err && (nl == 0 || nl > 255))
				return -1;
			nm = kp_cur_take(&c, nl);
			if (nm && nl == 1)
				id = nm[0];
		}
		if (c.err)
			return 0;
		switch (type) {
		case 0x01:
			vlen = 16;
			break;
		case 0x02:
			vlen = kp_cur_le16(&c);
			break;
		case 0x03:
		case 0x04:
			vlen = 4;
			break;
		case 0x05:
		case 0x09:
			vlen = 1;
			break;
		case 0x06:
			vlen = ((size_t)kp_cur_le16(&c) + 7) / 8;
			break;
		case 0x07:
			vlen = kp_cur_le32(&c);
			if (!c.err && vlen > n)
				return -1;
			break;
		case 0x08:
			vlen = 2;
			break;
		case 0x0a:
			vlen = kp_cur_u8(&c);
			break;
		case 0x0b:
			vlen = 8;
			break;
		default:
			if (type >= 0x11 && type <= 0x20) {
				vlen = type - 0x10u;
				type = 0x02;
				break;
			}
			return -1;
		}
		if (c.err)
			return 0;
		v = kp_cur_take(&c, vlen);
		if (!v)
			return 0;
		if (info && id == 0x01 && type == 0x02 && !info->name) {
			info->name = v;
			info->name_len = vlen;
		}
		if (info && id == 0x11 && vlen == 4 && (t & 0x7f) == 0x03) {
			info->version = kp_le32(v);
			info->have_version = true;
		}
		if (info && id == 0x02 &&
		    (type == 0x03 || type == 0x0b || type == 0x08 || type == 0x09)) {
			uint64_t sz = type == 0x03   ? kp_le32(v)
				      : type == 0x0b ? (uint64_t)kp_le32(v + 4) << 32 | kp_le32(v)
				      : type == 0x08 ? kp_le16(v)
						     : v[0];

			info->size = (info->size & 0xffffffff00000000ull) | sz;
			if (type == 0x0b)
				info->size = sz;
			info->have_size = true;
		}
		if (info && id == 0x3a && type == 0x03)
			info->size = (info->size & 0xffffffffu) | (uint64_t)kp_le32(v) << 32;
	}
	*end = c.off;
	return 1;
}

/*
 * A hello-like body: [0x10] hash16 id4 port2 u32 tagcount tags [tail bytes].
 * `lead` is 1 when the body starts with the hash size byte; `tail` is what
 * follows the tags (server ip + port in OP_HELLO / OP_HELLOANSWER).
 */
static int ed_hello_body(const uint8_t *b, size_t avail, size_t bl, size_t lead, size_t tail,
			 struct ed_tag_info *info)
{
	size_t toff = lead + 16 + 4 + 2, end = 0;
	uint32_t count;
	int r;

	if (bl < toff + 4 + tail)
		return OP_BAD;
	if (lead && avail >= 1 && b[0] != 0x10)
		return OP_BAD;
	if (avail < toff + 4)
		return OP_WAIT;
	count = kp_le32(b + toff);
	if (count > ED_MAX_TAGS)
		return OP_BAD;
	r = ed_tags(b + toff + 4, avail - toff - 4, count, &end, info);
	if (r < 0)
		return OP_BAD;
	if (r == 0) {
		/* The frame continues in a later segment: at least one tag must have been read. */
		if (count == 0 || avail < toff + 4 + 8)
			return OP_WAIT;
		return OP_STRONG;
	}
	end += toff + 4;
	if (avail == bl) {
		/* Complete: tags plus tail end exactly at the frame end (eMule may add more). */
		if (end + tail > bl)
			return OP_BAD;
		if (end + tail != bl && lead == 0 && tail == 0)
			return OP_BAD;
	}
	return OP_STRONG;
}

/*
 * Walks an eDonkey search expression tree (OP_SEARCHREQUEST, OP_GLOBSEARCHREQ): true when it is
 * whole and well formed, its length then in *used. With out, the keywords (string leaves) read
 * are joined there by spaces (as far as the walk went, cut to cap - 1; *olen their length).
 */
static bool ed_search_walk(const uint8_t *b, size_t n, size_t *used, char *out, size_t cap,
			   size_t *olen)
{
	struct kp_cur c = kp_cur_make(b, n);
	unsigned pending = 1, steps = 0;
	size_t o = 0;
	bool ok = true;

	while (pending > 0) {
		const uint8_t *v;
		uint16_t l;
		uint8_t t;

		if (++steps > 64) {
			ok = false;
			break;
		}
		t = kp_cur_u8(&c);
		if (c.err)
			break;
		switch (t) {
		case 0x00:
			if (kp_cur_u8(&c) > 2)
				ok = false; /* not an operator (the keywords read still count) */
			pending++;
			continue;
		case 0x01:
			l = kp_cur_le16(&c);
			v = kp_cur_take(&c, l);
			if (out && v && l) {
				if (o && o + 1 < cap)
					out[o++] = ' ';
				if (l > cap - 1 - o)
					l = (uint16_t)(cap - 1 - o);
				memcpy(out + o, v, l);
				o += l;
			}
			break;
		case 0x02:
			kp_cur_skip(&c, kp_cur_le16(&c));
			kp_cur_skip(&c, kp_cur_le16(&c));
			break;
		case 0x03:
			kp_cur_skip(&c, 5);
			kp_cur_skip(&c, kp_cur_le16(&c));
			break;
		case 0x08:
			kp_cur_skip(&c, 9);
			kp_cur_skip(&c, kp_cur_le16(&c));
			break;
		default:
			ok = false;
			pending = 0;
			continue;
		}
		if (c.err)
			break;
		pending--;
	}
	if (olen)
		*olen = o;
	if (!ok || c.err || pending)
		return false;
	*used = c.off;
	return true;
}

/* Whether b[0..n) is one whole search expression tree. */
static bool ed_search_tree(const uint8_t *b, size_t n, size_t *used)
{
	return ed_search_walk(b, n, used, NULL, 0, NULL);
}

/* The TCP opcodes known below, for frames packed with 0xD4 whose body is compressed. */
static const uint8_t ed_ops[] = {
    0x01, 0x05, 0x14, 0x15, 0x16, 0x18, 0x19, 0x1a, 0x1c, 0x21, 0x23, 0x32, 0x33, 0x34, 0x35, 0x36,
    0x38, 0x40, 0x41, 0x42, 0x43, 0x44, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f,
    0x50, 0x51, 0x52, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60, 0x61,
};
static const uint8_t emule_ops[] = {
    0x01, 0x02, 0x40, 0x60, 0x61, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x90,
    0x91, 0x92, 0x93, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0,
    0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xb1, 0xb2,
};

static int exact(size_t bl, size_t want) { return bl == want ? OP_STRONG : OP_BAD; }

/* u16 LE count/length at b[off] gives the whole body size: bl == base + f(n). */
static int u16_sized(const uint8_t *b, size_t avail, size_t bl, size_t off, size_t base,
		     size_t mult, bool bits)
{
	size_t n;

	if (bl < off + 2)
		return OP_BAD;
	if (avail < off + 2)
		return OP_WAIT;
	n = kp_le16(b + off);
	if (bits)
		n = (n + 7) / 8;
	return bl == base + n * mult ? OP_STRONG : OP_BAD;
}

/*
 * Checks one TCP frame's body against its opcode. b: body bytes present
 * (avail of them), bl: body length from the frame header.
 */
static int ed_tcp_op(uint8_t proto, uint8_t op, const uint8_t *b, size_t avail, size_t bl)
{
	if (proto == ED_PACKED) {
		/* Any eDonkey/eMule opcode, body is a zlib stream. */
		if (bl < 2)
			return OP_BAD;
		if (avail < 2)
			return OP_WAIT;
		if ((b[0] & 0x0f) != 8 || (b[0] >> 4) > 7 || ((unsigned)b[0] << 8 | b[1]) % 31)
			return OP_BAD;
		return memchr(ed_ops, op, sizeof(ed_ops)) ||
			       memchr(emule_ops, op, sizeof(emule_ops))
			   ? OP_STRONG
			   : OP_BAD;
	}
	if (proto == ED_EDONKEY) {
		switch (op) {
		case 0x01: { /* OP_HELLO (with hash size byte) or OP_LOGINREQUEST */
			int r = OP_BAD;

			if (avail == 0 || b[0] == 0x10)
				r = ed_hello_body(b, avail, bl, 1, 6, NULL);
			if (r == OP_BAD)
				r = ed_hello_body(b, avail, bl, 0, 0, NULL);
			return r;
		}
		case 0x4c: /* OP_HELLOANSWER */
			return ed_hello_body(b, avail, bl, 0, 6, NULL);
		case 0x41: /* OP_SERVERIDENT */
			return ed_hello_body(b, avail, bl, 0, 0, NULL);
		case 0x05:
		case 0x14:
		case 0x18:
		case 0x21:
		case 0x36: /* empty */
		case 0x4a:
		case 0x55:
		case 0x56:
		case 0x57:
		case 0x5d:
		case 0x61:
			return bl == 0 ? OP_WEAK : OP_BAD;
		case 0x54: /* OP_STARTUPLOADREQ: empty or file hash */
			return bl == 0 ? OP_WEAK : exact(bl, 16);
		case 0x19:
		case 0x23: /* OP_GETSOURCES(_OBFU): hash [+ size32 | + 0 + size64] */
			return bl == 16 || bl == 20 || bl == 28 ? OP_STRONG : OP_BAD;
		case 0x1c:
			return exact(bl, 4); /* OP_CALLBACKREQUEST */
		case 0x34:
			return exact(bl, 8); /* OP_SERVERSTATUS */
		case 0x40:		     /* OP_IDCHANGE: id [+ tcp flags [+ aux port]] */
			return bl == 4 || bl == 8 || bl == 12 ? OP_STRONG : OP_BAD;
		case 0x47:
			return exact(bl, 40); /* OP_REQUESTPARTS */
		case 0x48:
		case 0x49:
		case 0x4f:
		case 0x51:
			return exact(bl, 16); /* file hash only */
		case 0x4d:
			return exact(bl, 8); /* OP_CHANGE_CLIENT_ID */
		case 0x5c:
			return exact(bl, 4); /* OP_QUEUERANK */
		case 0x38:
		case 0x4e:
		case 0x5e: /* u16 length + text */
			return u16_sized(b, avail, bl, 0, 2, 1, false);
		case 0x59: /* OP_REQFILENAMEANSWER: hash + u16 + name */
			return u16_sized(b, avail, bl, 16, 18, 1, false);
		case 0x50: /* OP_FILESTATUS: hash + u16 parts + bitfield */
			return u16_sized(b, avail, bl, 16, 18, 1, true);
		case 0x52: /* OP_HASHSETANSWER: hash + u16 n + n hashes */
			return u16_sized(b, avail, bl, 16, 18, 16, false);
		case 0x32: /* OP_SERVERLIST: u8 n + n * (ip, port) */
			if (bl < 1)
				return OP_BAD;
			if (avail < 1)
				return OP_WAIT;
			return exact(bl, 1 + 6u * b[0]);
		case 0x42: /* OP_FOUNDSOURCES: hash + u8 n + n * (id, port) */
			if (bl < 17)
				return OP_BAD;
			if (avail < 17)
				return OP_WAIT;
			return exact(bl, 17 + 6u * b[16]);
		case 0x46: { /* OP_SENDINGPART: hash, start, end, data */
			uint32_t s, e;

			if (bl < 25)
				return OP_BAD;
			if (avail < 24)
				return OP_WAIT;
			s = kp_le32(b + 16);
			e = kp_le32(b + 20);
			return e > s && bl == 24 + (size_t)(e - s) ? OP_STRONG : OP_BAD;
		}
		case 0x58: /* OP_REQUESTFILENAME: hash [+ u16 parts + bitfield [+ u16 sources]] */
			if (bl == 16)
				return OP_STRONG;
			if (bl < 18)
				return OP_BAD;
			if (avail < 18)
				return OP_WAIT;
			{
				size_t bits = ((size_t)kp_le16(b + 16) + 7) / 8;

				return bl == 18 + bits || bl == 20 + bits ? OP_STRONG : OP_BAD;
			}
		case 0x16: { /* OP_SEARCHREQUEST */
			size_t used = 0;

			if (avail < bl)
				return bl < 3 ? OP_BAD : OP_WAIT;
			return ed_search_tree(b, bl, &used) && used == bl ? OP_STRONG : OP_BAD;
		}
		case 0x15:
		case 0x33:
		case 0x43:
		case 0x4b:
		case 0x5f:
		case 0x60:
			/* u32 count + entries */
			return bl >= 4 ? OP_WEAK : OP_BAD;
		case 0x1a:
		case 0x35:
		case 0x44:
		case 0x5b:
			return bl >= 1 ? OP_WEAK : OP_BAD;
		default:
			return OP_BAD;
		}
	}
	if (proto == ED_EMULE) {
		switch (op) {
		case 0x01:
		case 0x02: { /* OP_EMULEINFO(ANSWER): ver, protver, tags */
			size_t end = 0;
			int r;

			if (bl < 6)
				return OP_BAD;
			if (avail < 6)
				return OP_WAIT;
			r = ed_tags(b + 6, avail - 6, kp_le32(b + 2), &end, NULL);
			if (r < 0)
				return OP_BAD;
			if (r == 0)
				return avail >= 14 ? OP_STRONG : OP_WAIT;
			return avail < bl || 6 + end == bl ? OP_STRONG : OP_BAD;
		}
		case 0x60:
			return exact(bl, 12); /* OP_QUEUERANKING */
		case 0x61:		      /* OP_FILEDESC: rating + u32 len + text */
			if (bl < 5)
				return OP_BAD;
			if (avail < 5)
				return OP_WAIT;
			return exact(bl, 5 + (size_t)kp_le32(b + 1));
		case 0x81:
		case 0x90:
		case 0x9e: /* hash only */
			return exact(bl, 16);
		case 0x83:
			return exact(bl, 19); /* OP_REQUESTSOURCES2 */
		case 0x85:		      /* OP_PUBLICKEY: u8 len + key */
			if (bl < 1)
				return OP_BAD;
			if (avail < 1)
				return OP_WAIT;
			return exact(bl, 1 + (size_t)b[0]);
		case 0x86: /* OP_SIGNATURE: u8 len + sig [+ ip type] */
			if (bl < 1)
				return OP_BAD;
			if (avail < 1)
				return OP_WAIT;
			return bl == 1 + (size_t)b[0] || bl == 2 + (size_t)b[0] ? OP_STRONG
										: OP_BAD;
		case 0x87:
			return exact(bl, 5); /* OP_SECIDENTSTATE */
		case 0x98:
			return exact(bl, 4); /* OP_PUBLICIP_ANSWER */
		case 0x9d:
			return exact(bl, 36); /* OP_AICHFILEHASHANS */
		case 0xa3:
			return exact(bl, 64); /* OP_REQUESTPARTS_I64 */
		case 0xa2: {		      /* OP_SENDINGPART_I64 */
			uint64_t s, e;

			if (bl < 33)
				return OP_BAD;
			if (avail < 32)
				return OP_WAIT;
			s = (uint64_t)kp_le32(b + 20) << 32 | kp_le32(b + 16);
			e = (uint64_t)kp_le32(b + 28) << 32 | kp_le32(b + 24);
			return e > s && e - s == bl - 32 ? OP_STRONG : OP_BAD;
		}
		case 0x97:
		case 0x9f:
		case 0xa0:
		case 0xa8:
			return bl == 0 ? OP_WEAK : OP_BAD;
		case 0x40:
		case 0xa1: /* compressed parts */
			return bl > 24 ? OP_WEAK : OP_BAD;
		case 0x82:
		case 0x84:
		case 0x91:
		case 0x92:
		case 0x93:
		case 0x99:
		case 0x9a:
		case 0x9b:
		case 0x9c:
		case 0xa4:
		case 0xa5:
		case 0xa6:
		case 0xa7:
		case 0xa9:
		case 0xb1:
		case 0xb2:
			return bl >= 1 ? OP_WEAK : OP_BAD;
		default:
			return OP_BAD;
		}
	}
	return OP_BAD;
}

struct ed_walk {
	unsigned strong, weak, frames;
	bool partial;
};

/* Walks the frames of one direction's TCP prefix. Returns false on a bad frame. */
static bool ed_tcp_walk(const uint8_t *b, size_t len, struct ed_walk *w)
{
	size_t off = 0;

	memset(w, 0, sizeof(*w));
	while (off < len && w->frames < 32) {
		uint8_t proto = b[off], op;
		uint32_t flen;
		size_t avail;
		int r;

		if (proto != ED_EDONKEY && proto != ED_EMULE && proto != ED_PACKED)
			return false;
		if (len - off < 6) {
			w->partial = true;
			/* Length bytes seen so far must not already exceed the maximum. */
			if (len - off == 5 && kp_le32(b + off + 1) > ED_MAX_FRAME)
				return false;
			return true;
		}
		flen = kp_le32(b + off + 1);
		op = b[off + 5];
		if (flen == 0 || flen > ED_MAX_FRAME)
			return false;
		avail = len - off - 6;
		if (avail > flen - 1)
			avail = flen - 1;
		r = ed_tcp_op(proto, op, b + off + 6, avail, flen - 1);
		if (r == OP_BAD)
			return false;
		if (r == OP_STRONG)
			w->strong++;
		if (avail < flen - 1) {
			w->partial = true;
			return true;
		}
		if (r == OP_WEAK)
			w->weak++;
		w->frames++;
		off += 5 + (size_t)flen;
	}
	return true;
}

/* ---- UDP ----------------------------------------------------------------- */

static bool zlib_ok(const uint8_t *b, size_t n)
{
	return n >= 2 && (b[0] & 0x0f) == 8 && (b[0] >> 4) <= 7 &&
	       ((unsigned)b[0] << 8 | b[1]) % 31 == 0;
}

/* A Kad tag list: u8 count + tags, ending exactly at n. */
static bool kad_taglist_exact(const uint8_t *b, size_t n, size_t *used)
{
	size_t end = 0;

	if (n < 1)
		return false;
	if (ed_tags(b + 1, n - 1, b[0], &end, NULL) != 1)
		return false;
	*used = 1 + end;
	return true;
}

/* Returns a confidence, 0 for "cannot tell from this datagram", -1 for "not eDonkey". */
static int kad_udp(uint8_t op, const uint8_t *b, size_t len)
{
	const uint8_t *p = b + 2;
	size_t n = len - 2, used = 0;

	switch (op) {
	case 0x01:
	case 0x4c:
	case 0x59:
	case 0x60: /* bootstrap req, publish ack, fw ack, ping */
		return len == 2 ? KP_CONF_MEDIUM : -1;
	case 0x61:
		return len == 4 ? KP_CONF_MEDIUM : -1; /* KADEMLIA2_PONG */
	case 0x62:
		return len == 5 ? KP_CONF_MEDIUM : -1; /* KADEMLIA2_FIREWALLUDP */
	case 0x50:
		return len == 4 ? KP_CONF_MEDIUM : -1; /* KADEMLIA_FIREWALLED_REQ */
	case 0x58:
		return len == 6 ? KP_CONF_MEDIUM : -1; /* KADEMLIA_FIREWALLED_RES */
	case 0x53:
		return len == 21 ? KP_CONF_HIGH : -1; /* KADEMLIA_FIREWALLED2_REQ */
	case 0x4b:
		return len == 19 || len == 20 ? KP_CONF_HIGH : -1; /* KADEMLIA2_PUBLISH_RES */
	case 0x21:
	case 0x20: /* KADEMLIA2_REQ / KADEMLIA_REQ: type, target, receiver */
		return len == 35 && p[0] >= 1 && p[0] <= 0x1f ? KP_CONF_HIGH : -1;
	case 0x34:
		return len == 28 ? KP_CONF_HIGH : -1; /* KADEMLIA2_SEARCH_SOURCE_REQ */
	case 0x35:
		return len == 26 ? KP_CONF_HIGH : -1; /* KADEMLIA2_SEARCH_NOTES_REQ */
	case 0x33: /* KADEMLIA2_SEARCH_KEY_REQ: target + u16 start [+ search tree] */
		if (len < 20)
			return -1;
		if (len == 20)
			return KP_CONF_HIGH;
		return kp_le16(p + 16) & 0x8000 ? 0 : -1;
	case 0x51:
	case 0x52: /* KADEMLIA_FINDBUDDY_REQ, KADEMLIA_CALLBACK_REQ */
		return len == 36 ? KP_CONF_HIGH : (len > 36 && op == 0x52 ? 0 : -1);
	case 0x5a:
		return len == 36 || len == 37 ? KP_CONF_HIGH : -1; /* FINDBUDDY_RES */
	case 0x00:
	case 0x10:
	case 0x18: /* Kad1 bootstrap req, hello req/res: one contact */
		return len == 27 ? KP_CONF_HIGH : -1;
	case 0x08: /* Kad1 bootstrap res: u16 n + n contacts */
		return n >= 2 && n == 2 + 25u * kp_le16(p) && kp_le16(p) > 0 ? KP_CONF_HIGH : -1;
	case 0x28: /* Kad1 res: target + u8 n + n contacts */
		return n >= 17 && n == 17 + 25u * p[16] ? KP_CONF_HIGH : -1;
	case 0x29: /* KADEMLIA2_RES: target + u8 n + n contacts */
		return n >= 17 && n == 17 + 25u * p[16] ? KP_CONF_HIGH : -1;
	case 0x09: /* KADEMLIA2_BOOTSTRAP_RES: id, port, version, u16 n, n contacts */
		return n >= 21 && n == 21 + 25u * kp_le16(p + 19) ? KP_CONF_HIGH : -1;
	case 0x11:
	case 0x19: /* KADEMLIA2_HELLO_REQ/RES: id, port, version, tags */
		if (n < 20 || p[18] == 0 || p[18] > 0x10)
			return -1;
		return kad_taglist_exact(p + 19, n - 19, &used) && 19 + used == n ? KP_CONF_HIGH
										  : -1;
	case 0x22: /* KADEMLIA2_HELLO_RES_ACK: id, tags */
		if (n < 17)
			return -1;
		return kad_taglist_exact(p + 16, n - 16, &used) && 16 + used == n ? KP_CONF_HIGH
										  : -1;
	case 0x44:
	case 0x45: /* KADEMLIA2_PUBLISH_SOURCE/NOTES_REQ: file, source, tags */
		if (n < 33)
			return -1;
		return kad_taglist_exact(p + 32, n - 32, &used) && 32 + used == n ? KP_CONF_HIGH
										  : -1;
	case 0x43: { /* KADEMLIA2_PUBLISH_KEY_REQ: key, u16 n, n * (hash, tags) */
		size_t off = 18;
		unsigned cnt;

		if (n < 18)
			return -1;
		cnt = kp_le16(p + 16);
		if (cnt == 0 || cnt > 256)
			return -1;
		for (unsigned i = 0; i < cnt; i++) {
			if (off + 16 > n || !kad_taglist_exact(p + off + 16, n - off - 16, &used))
				return -1;
			off += 16 + used;
		}
		return off == n ? KP_CONF_HIGH : -1;
	}
	case 0x3b: { /* KADEMLIA2_SEARCH_RES: sender, target, u16 n, n * (answer, tags) */
		size_t off = 34;
		unsigned cnt;

		if (n < 34)
			return -1;
		cnt = kp_le16(p + 32);
		if (cnt > 512)
			return -1;
		for (unsigned i = 0; i < cnt; i++) {
			if (off + 16 > n || !kad_taglist_exact(p + off + 16, n - off - 16, &used))
				return -1;
			off += 16 + used;
		}
		return off == n ? KP_CONF_HIGH : -1;
	}
	default:
		return -1;
	}
}

static int ed2k_udp(uint8_t op, const uint8_t *b, size_t len)
{
	const uint8_t *p = b + 2;
	size_t n = len - 2, used = 0, end = 0;

	switch (op) {
	case 0x96: /* OP_GLOBSERVSTATREQ: challenge (eMule: low word 0x55AA) */
		if (len != 6)
			return -1;
		return p[0] == 0xaa && p[1] == 0x55 ? KP_CONF_HIGH : KP_CONF_MEDIUM;
	case 0x97: /* OP_GLOBSERVSTATRES: challenge, users, files [, more u32/u16 fields] */
		if (len < 14 || len > 50 || (len & 1))
			return -1;
		return p[0] == 0xaa && p[1] == 0x55 ? KP_CONF_HIGH : KP_CONF_MEDIUM;
	case 0x98:
	case 0x92: /* OP_GLOBSEARCHREQ(2): search tree */
		return ed_search_tree(p, n, &used) && used == n ? KP_CONF_HIGH : -1;
	case 0x90: /* OP_GLOBSEARCHREQ3: u32 tag count, tags, search tree */
		if (n < 5 || ed_tags(p + 4, n - 4, kp_le32(p), &end, NULL) != 1)
			return -1;
		return ed_search_tree(p + 4 + end, n - 4 - end, &used) && 4 + end + used == n
			   ? KP_CONF_HIGH
			   : -1;
	case 0x99: { /* OP_GLOBSEARCHRES: results, each after the first with its own E3 99 */
		size_t off = 0;

		for (unsigned i = 0; i < 64; i++) {
			if (off + 26 > n)
				return -1;
			if (ed_tags(p + off + 26, n - off - 26, kp_le32(p + off + 22), &end,
				    NULL) != 1)
				return -1;
			off += 26 + end;
			if (off == n)
				return KP_CONF_HIGH;
			if (off + 2 > n || p[off] != ED_EDONKEY || p[off + 1] != 0x99)
				return -1;
			off += 2;
		}
		return -1;
	}
	case 0x9a: /* OP_GLOBGETSOURCES: n hashes */
		return n >= 16 && n % 16 == 0 ? KP_CONF_MEDIUM : -1;
	case 0x94: /* OP_GLOBGETSOURCES2: n (hash, size) */
		return n >= 20 && n % 20 == 0 ? KP_CONF_MEDIUM : -1;
	case 0x9b: { /* OP_GLOBFOUNDSOURCES: hash, u8 n, n (id, port); may repeat */
		size_t off = 0;

		for (unsigned i = 0; i < 64; i++) {
			if (off + 17 > n)
				return -1;
			off += 17 + 6u * p[off + 16];
			if (off == n)
				return KP_CONF_HIGH;
			if (off + 2 > n || p[off] != ED_EDONKEY || p[off + 1] != 0x9b)
				return -1;
			off += 2;
		}
		return -1;
	}
	case 0xa2: /* OP_SERVER_DESC_REQ [challenge] */
		return len == 2 || len == 6 ? KP_CONF_MEDIUM : -1;
	case 0xa3: /* OP_SERVER_DESC_RES: old (two u16 strings) or challenge + tags */
		if (n >= 4 && 2u + kp_le16(p) + 2 <= n &&
		    n == 4u + kp_le16(p) + kp_le16(p + 2 + kp_le16(p)))
			return KP_CONF_HIGH;
		if (n >= 8 && ed_tags(p + 8, n - 8, kp_le32(p + 4), &end, NULL) == 1 &&
		    8 + end == n)
			return KP_CONF_HIGH;
		return -1;
	default:
		return -1;
	}
}

static int emule_udp(uint8_t op, const uint8_t *b, size_t len)
{
	const uint8_t *p = b + 2;
	size_t n = len - 2;

	switch (op) {
	case 0x90: /* OP_REASKFILEPING: hash [+ u16 parts + bits] [+ u16 sources] */
		if (n == 16 || n == 18)
			return KP_CONF_HIGH;
		if (n < 18)
			return -1;
		{
			size_t bits = ((size_t)kp_le16(p + 16) + 7) / 8;

			return n == 18 + bits || n == 20 + bits ? KP_CONF_HIGH : -1;
		}
	case 0x91: /* OP_REASKACK: [u16 parts + bits] + u16 rank */
		if (n == 2)
			return KP_CONF_MEDIUM;
		if (n < 4)
			return -1;
		return n == 4 + ((size_t)kp_le16(p) + 7) / 8 ? KP_CONF_HIGH : -1;
	case 0x92:
	case 0x93: /* OP_FILENOTFOUND, OP_QUEUEFULL */
		return len == 2 ? KP_CONF_MEDIUM : -1;
	case 0x95: /* OP_DIRECTCALLBACKREQ: port, user hash, options */
		return len == 21 ? KP_CONF_HIGH : -1;
	case 0x94: /* OP_REASKCALLBACKUDP: buddy id, file hash, ... */
		return len >= 34 ? 0 : -1;
	default:
		return -1;
	}
}

static bool kad_op_known(uint8_t op)
{
	static const uint8_t known[] = {0x00, 0x01, 0x08, 0x09, 0x10, 0x11, 0x18, 0x19,
					0x20, 0x21, 0x22, 0x28, 0x29, 0x33, 0x34, 0x35,
					0x3b, 0x43, 0x44, 0x45, 0x4b, 0x4c, 0x50, 0x51,
					0x52, 0x53, 0x58, 0x59, 0x5a, 0x60, 0x61, 0x62};

	return memchr(known, op, sizeof(known)) != NULL;
}

/* Returns a confidence, 0 (undecided), -1 (not eDonkey/Kad). */
static int ed_udp(const uint8_t *b, size_t len)
{
	if (len < 2)
		return -1;
	switch (b[0]) {
	case ED_KAD:
		return kad_udp(b[1], b, len);
	case ED_KAD_PACKED:
		return kad_op_known(b[1]) && len >= 4 && zlib_ok(b + 2, len - 2) ? KP_CONF_MEDIUM
										 : -1;
	case ED_EDONKEY:
		return ed2k_udp(b[1], b, len);
	case ED_EMULE:
		return emule_udp(b[1], b, len);
	default:
		return -1;
	}
}

/* ---- probe --------------------------------------------------------------- */

static enum kp_probe_result ed_tcp_dir(const uint8_t *b, size_t len, unsigned *conf)
{
	struct ed_walk w;

	if (len == 0)
		return KP_PROBE_NEED_MORE;
	if (!ed_tcp_walk(b, len, &w))
		return KP_PROBE_EXCLUDE;
	if (w.strong) {
		*conf = KP_CONF_HIGH;
		return KP_PROBE_MATCH;
	}
	if (w.weak >= 2) {
		*conf = KP_CONF_MEDIUM;
		return KP_PROBE_MATCH;
	}
	return KP_PROBE_NEED_MORE;
}

static enum kp_probe_result edonkey_probe(const struct kp_app_ctx *ctx, struct kp_match *m)
{
	if (ctx->l4 == IPPROTO_UDP) {
		const uint8_t *b = ctx->data ? ctx->data : ctx->buf[ctx->dir];
		size_t len = ctx->data ? ctx->len : ctx->buf_len[ctx->dir];
		int c = ed_udp(b, len);

		if (c < 0)
			return KP_PROBE_EXCLUDE;
		if (c == 0)
			return KP_PROBE_NEED_MORE;
		m->app = KP_APP_EDONKEY;
		m->confidence = (uint8_t)c;
		return KP_PROBE_MATCH;
	}
	if (ctx->l4 != IPPROTO_TCP)
		return KP_PROBE_EXCLUDE;

	unsigned conf[2] = {0, 0};
	enum kp_probe_result r[2];

	for (unsigned d = 0; d < 2; d++)
		r[d] = ed_tcp_dir(ctx->buf[d], ctx->buf_len[d], &conf[d]);
	/* A verified direction decides even if the other holds an opcode not known here. */
	if (r[0] == KP_PROBE_MATCH || r[1] == KP_PROBE_MATCH) {
		m->app = KP_APP_EDONKEY;
		m->confidence = (uint8_t)(conf[0] > conf[1] ? conf[0] : conf[1]);
		return KP_PROBE_MATCH;
	}
	if (r[0] == KP_PROBE_EXCLUDE || r[1] == KP_PROBE_EXCLUDE)
		return KP_PROBE_EXCLUDE;
	return KP_PROBE_NEED_MORE;
}

/* ---- parser -------------------------------------------------------------- */

static void copy_name(char *dst, size_t cap, const uint8_t *s, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, s, n);
	dst[n] = 0;
}

static struct ed_file *ed_file_note(struct edonkey_state *st, const uint8_t *hash)
{
	for (unsigned i = 0; i < st->nfiles; i++)
		if (memcmp(st->files[i].hash, hash, 16) == 0)
			return &st->files[i];
	if (st->nfiles >= ED_MAX_FILES)
		return NULL;
	memcpy(st->files[st->nfiles].hash, hash, 16);
	return &st->files[st->nfiles++];
}

static void ed_hello(struct edonkey_state *st, unsigned dir, uint8_t op, const uint8_t *b,
		     size_t avail, size_t bl)
{
	struct ed_tag_info info;
	size_t lead = 0;
	const uint8_t *hash;

	memset(&info, 0, sizeof(info));
	if (op == 0x01 && avail > 0 && b[0] == 0x10 &&
	    ed_hello_body(b, avail, bl, 1, 6, &info) == OP_STRONG) {
		lead = 1;
		st->role = 1;
	} else {
		memset(&info, 0, sizeof(info));
		if (ed_hello_body(b, avail, bl, 0, op == 0x4c ? 6 : 0, &info) != OP_STRONG)
			return;
		if (op == 0x01)
			st->role = 2;
	}
	hash = b + lead;
	if (dir == KP_DIR_TOSERVER) {
		memcpy(st->user_hash, hash, 16);
		st->have_hash = true;
		if (info.name)
			copy_name(st->client_name, sizeof(st->client_name), info.name,
				  info.name_len);
		if (info.have_version)
			st->version = info.version;
	} else {
		memcpy(st->peer_hash, hash, 16);
		st->have_peer_hash = true;
		if (info.name)
			copy_name(st->peer_name, sizeof(st->peer_name), info.name, info.name_len);
	}
}

/* ---- content (files wanted) ------------------------------------------------ */

/* The keywords (string leaves) of a search expression tree, joined by spaces. */
static size_t ed_search_text(const uint8_t *b, size_t n, char *out, size_t cap)
{
	size_t used, o;

	ed_search_walk(b, n, &used, out, cap, &o);
	return o;
}

/*
 * A file list: u32 count, then per file hash16, client id 4, port 2, u32 tag
 * count, tags (OP_SEARCHRESULT, OP_OFFERFILES, OP_ASKSHAREDFILESANSWER). Each
 * complete entry is reported; the list stops at the first malformed or cut one.
 */
static void ed_file_list(struct kp_app_ctx *ctx, struct edonkey_state *st, const char *what,
			 const uint8_t *b, size_t n)
{
	struct kp_cur c = kp_cur_make(b, n);
	uint32_t count = kp_cur_le32(&c);

	for (uint32_t i = 0; i < count && i < ED_MAX_RESULTS && !c.err; i++) {
		struct ed_tag_info info;
		const uint8_t *h = kp_cur_take(&c, 16);
		uint32_t tags;
		size_t end = 0;

		kp_cur_skip(&c, 6);
		tags = kp_cur_le32(&c);
		if (c.err || !h)
			return;
		memset(&info, 0, sizeof(info));
		if (ed_tags(kp_cur_ptr(&c), kp_cur_left(&c), tags, &end, &info) != 1)
			return;
		kp_cur_skip(&c, end);
		kp_app_file_listed(
		    ctx, what, (const char *)info.name, info.name ? info.name_len : 0,
		    info.have_size ? info.size : KP_FILE_SIZE_UNKNOWN, KP_HASH_ED2K, h, 16);
		if (what[0] == 's')
			st->results++;
		else
			st->offers++;
	}
}

/* A file hash asked for: every request reports it; the first one also lists it. */
static void ed_request(struct kp_app_ctx *ctx, struct edonkey_state *st, const uint8_t *hash,
		       bool list)
{
	bool known = false;

	for (unsigned i = 0; i < st->nfiles; i++)
		known |= memcmp(st->files[i].hash, hash, 16) == 0;
	kp_app_hash_seen(ctx, KP_HASH_ED2K, hash, 16);
	if (!known && ed_file_note(st, hash) && list)
		kp_app_file_listed(ctx, "request", "", 0, KP_FILE_SIZE_UNKNOWN, KP_HASH_ED2K, hash,
				   16);
}

/*
 * What one frame (body b[0..avail) of bl bytes) says about files and searches.
 * proto is ED_EDONKEY or ED_EMULE (a packed frame arrives here inflated, as
 * ED_EDONKEY).
 */
static void ed_content(struct kp_app_ctx *ctx, struct edonkey_state *st, unsigned dir,
		       uint8_t proto, uint8_t op, const uint8_t *b, size_t avail, size_t bl)
{
	if (proto == ED_EMULE) {
		switch (op) {
		case 0x81: /* OP_REQUESTSOURCES */
		case 0x83: /* OP_REQUESTSOURCES2 */
		case 0x9e: /* OP_AICHFILEHASHREQ */
		case 0xa3: /* OP_REQUESTPARTS_I64 */
			if (avail >= 16)
				ed_request(ctx, st, b, op == 0xa3);
			break;
		default:
			break;
		}
		return;
	}
	switch (op) {
	case 0x16: /* OP_SEARCHREQUEST (client to server) */
		if (dir == KP_DIR_TOSERVER && avail == bl) {
			char text[ED_TEXT_MAX];
			size_t n = ed_search_text(b, bl, text, sizeof(text));

			if (n) {
				kp_app_search(ctx, text, n);
				st->searches++;
			}
		}
		break;
	case 0x33: /* OP_SEARCHRESULT (server to client) */
		if (dir == KP_DIR_TOCLIENT)
			ed_file_list(ctx, st, "search_result", b, avail);
		break;
	case 0x15: /* OP_OFFERFILES (client to server) */
	case 0x4b: /* OP_ASKSHAREDFILESANSWER */
		ed_file_list(ctx, st, "offer", b, avail);
		break;
	case 0x47: /* OP_REQUESTPARTS: hash, 3 starts, 3 ends */
		if (avail >= 40) {
			for (unsigned k = 0; k < 3; k++) {
				st->req_start[k] = kp_le32(b + 16 + 4 * k);
				st->req_end[k] = kp_le32(b + 28 + 4 * k);
			}
			st->have_req = true;
		}
		/* fall through */
	case 0x58: /* OP_REQUESTFILENAME */
	case 0x4f: /* OP_SETREQFILEID */
	case 0x19: /* OP_GETSOURCES */
	case 0x23: /* OP_GETSOURCES_OBFU */
	case 0x51: /* OP_HASHSETREQUEST */
	case 0x54: /* OP_STARTUPLOADREQ with a hash */
		if (avail >= 16 && (op != 0x54 || bl == 16))
			ed_request(ctx, st, b, op == 0x58 || op == 0x4f || op == 0x47);
		break;
	case 0x59: /* OP_REQFILENAMEANSWER: hash, u16 length, name */
		if (avail >= 18) {
			size_t n = kp_le16(b + 16);

			if (n > avail - 18)
				n = avail - 18;
			kp_app_file_listed(ctx, "answer", (const char *)b + 18, n,
					   KP_FILE_SIZE_UNKNOWN, KP_HASH_ED2K, b, 16);
		}
		break;
	default:
		break;
	}
}

/* A packed frame (0xD4): the body inflated (up to ED_UNPACK_MAX), then read as eDonkey. */
static void ed_unpack(struct kp_app_ctx *ctx, struct edonkey_state *st, unsigned dir, uint8_t op,
		      const uint8_t *b, size_t bl)
{
	z_stream z;
	uint8_t *out;
	size_t cap = ED_UNPACK_MAX, got;
	int r;

	if (op != 0x15 && op != 0x16 && op != 0x33 && op != 0x4b)
		return;
	out = malloc(cap);
	if (!out)
		return;
	memset(&z, 0, sizeof(z));
	if (inflateInit(&z) != Z_OK) {
		free(out);
		return;
	}
	z.next_in = (Bytef *)(uintptr_t)b;
	z.avail_in = (uInt)bl;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	r = inflate(&z, Z_FINISH);
	got = cap - z.avail_out;
	inflateEnd(&z);
	if (r == Z_STREAM_END || r == Z_BUF_ERROR || r == Z_OK)
		ed_content(ctx, st, dir, ED_EDONKEY, op, out, got,
			   r == Z_STREAM_END ? got : got + 1);
	free(out);
}

static void ed_frame(struct kp_app_ctx *ctx, struct edonkey_state *st, unsigned dir,
		     const uint8_t *f, size_t have, uint32_t flen)
{
	uint8_t proto = f[0], op = f[5];
	const uint8_t *b = f + 6;
	size_t avail = have - 6, bl = flen - 1;

	st->frames++;
	if (proto == ED_PACKED) {
		st->packed++;
		if (st->content && avail == bl)
			ed_unpack(ctx, st, dir, op, b, bl);
		return;
	}
	if (st->content)
		ed_content(ctx, st, dir, proto, op, b, avail, bl);
	if (ed_tcp_op(proto, op, b, avail, bl) == OP_BAD)
		return;
	if (proto == ED_EDONKEY) {
		switch (op) {
		case 0x01:
		case 0x4c:
			ed_hello(st, dir, op, b, avail, bl);
			return;
		case 0x40:
			if (avail >= 4) {
				st->client_id = kp_le32(b);
				st->have_id = true;
				st->role = 2;
			}
			return;
		case 0x59: /* OP_REQFILENAMEANSWER: hash + name */
			if (avail >= 18) {
				struct ed_file *fi = ed_file_note(st, b);
				size_t n = kp_le16(b + 16);

				if (n > avail - 18)
					n = avail - 18;
				if (fi)
					copy_name(fi->name, sizeof(fi->name), b + 18, n);
			}
			return;
		case 0x19:
		case 0x23:
		case 0x46:
		case 0x47:
		case 0x48:
		case 0x49:
		case 0x4f:
		case 0x50:
		case 0x51:
		case 0x52:
		case 0x58:
			if (avail >= 16)
				ed_file_note(st, b);
			return;
		case 0x54:
			if (bl == 16 && avail >= 16)
				ed_file_note(st, b);
			return;
		default:
			return;
		}
	}
	switch (op) { /* eMule extensions naming a file by hash */
	case 0x40:
	case 0x81:
	case 0x83:
	case 0x90:
	case 0x92:
	case 0x9e:
	case 0xa1:
	case 0xa2:
	case 0xa3:
	case 0xa4:
	case 0xa9:
		if (avail >= 16)
			ed_file_note(st, b);
		break;
	default:
		break;
	}
}

/* Size of the part header (hash + offsets) of a data frame streamed as pieces, or 0. */
static size_t ed_piece_hdr(uint8_t proto, uint8_t op)
{
	if (proto == ED_EDONKEY && op == 0x46)
		return 24; /* OP_SENDINGPART: hash, start32, end32 */
	if (proto == ED_EMULE && op == 0xa2)
		return 32; /* OP_SENDINGPART_I64: hash, start64, end64 */
	if (proto == ED_EMULE && op == 0x40)
		return 24; /* OP_COMPRESSEDPART: hash, start32, packed size32 */
	if (proto == ED_EMULE && op == 0xa1)
		return 28; /* OP_COMPRESSEDPART_I64: hash, start64, packed size32 */
	return 0;
}

/* The next slice of a compressed block: inflated and reported as pieces. */
static void ed_zfeed(struct kp_app_ctx *ctx, struct edonkey_state *st, unsigned d, const uint8_t *p,
		     size_t n)
{
	struct ed_dir *ds = &st->dir[d];
	uint8_t out[16384];
	int r = Z_OK;

	if (!ds->z)
		return;
	ds->z->next_in = (Bytef *)(uintptr_t)p;
	ds->z->avail_in = (uInt)n;
	while (ds->z && (ds->z->avail_in > 0 || r == Z_OK)) {
		size_t got;

		ds->z->next_out = out;
		ds->z->avail_out = sizeof(out);
		r = inflate(ds->z, Z_NO_FLUSH);
		got = sizeof(out) - ds->z->avail_out;
		if (got) {
			kp_app_piece(ctx, (int)d, KP_HASH_ED2K, ds->piece_hash, 16,
				     (ds->z_start + ds->z_out) / ED_PART_SIZE,
				     ds->z_start + ds->z_out, out, got);
			st->part_bytes += got;
			ds->z_out += got;
		}
		if (r == Z_STREAM_END || (r != Z_OK && r != Z_BUF_ERROR) ||
		    ds->z_out > ED_ZBLOCK_MAX) {
			kp_zstream_free(&ds->z);
			break;
		}
		if (got == 0 && ds->z->avail_in == 0)
			break;
		if (r == Z_BUF_ERROR && got == 0)
			break;
	}
}

/* Frames whose whole body the content parser wants (lists, search expressions). */
static bool ed_big_op(uint8_t proto, uint8_t op)
{
	if (proto == ED_PACKED)
		return true;
	return proto == ED_EDONKEY && (op == 0x15 || op == 0x16 || op == 0x33 || op == 0x4b);
}

static void ed_tcp_feed(struct kp_app_ctx *ctx, struct edonkey_state *st, unsigned d,
			const uint8_t *p, size_t len)
{
	struct ed_dir *ds = &st->dir[d];
	size_t i = 0;

	while (i < len && !ds->dead) {
		size_t want, n, ph;
		uint32_t flen;

		if (ds->skip) {
			n = len - i < ds->skip ? len - i : ds->skip;
			ds->skip -= (uint32_t)n;
			i += n;
			continue;
		}
		if (ds->piece_left) {
			n = len - i < ds->piece_left ? len - i : ds->piece_left;
			if (ds->zpart) {
				ed_zfeed(ctx, st, d, p + i, n);
			} else {
				kp_app_piece(ctx, (int)d, KP_HASH_ED2K, ds->piece_hash, 16,
					     ds->piece_off / ED_PART_SIZE, ds->piece_off, p + i, n);
				st->part_bytes += n;
			}
			ds->piece_off += n;
			ds->piece_left -= (uint32_t)n;
			i += n;
			continue;
		}
		if (ds->bwant) {
			n = ds->bwant - ds->blen;
			if (n > len - i)
				n = len - i;
			memcpy(ds->big + ds->blen, p + i, n);
			ds->blen += (uint32_t)n;
			i += n;
			if (ds->blen == ds->bwant) {
				ed_frame(ctx, st, d, ds->big, ds->blen, kp_le32(ds->big + 1));
				free(ds->big);
				ds->big = NULL;
				ds->blen = ds->bwant = 0;
			}
			continue;
		}
		if (ds->hlen < 6) {
			n = 6 - ds->hlen;
			if (n > len - i)
				n = len - i;
			memcpy(ds->hdr + ds->hlen, p + i, n);
			ds->hlen += (uint16_t)n;
			i += n;
			if (ds->hlen < 6)
				break;
		}
		flen = kp_le32(ds->hdr + 1);
		if ((ds->hdr[0] != ED_EDONKEY && ds->hdr[0] != ED_EMULE &&
		     ds->hdr[0] != ED_PACKED) ||
		    flen == 0) {
			ds->dead = true;
			break;
		}
		if (flen > ED_MAX_FRAME) {
			/* Larger than any real frame: skipped unread when content is wanted. */
			if (!st->content) {
				ds->dead = true;
				break;
			}
			ds->skip = flen - 1;
			ds->hlen = 0;
			continue;
		}
		ph = st->content ? ed_piece_hdr(ds->hdr[0], ds->hdr[5]) : 0;
		if (ph && flen - 1 <= ph)
			ph = 0;
		if (!ph && st->content && ed_big_op(ds->hdr[0], ds->hdr[5]) &&
		    5 + (size_t)flen > ED_HDR_CAP && 5 + (size_t)flen <= ED_BIG_MAX &&
		    ds->hlen == 6) {
			ds->big = malloc(5 + (size_t)flen);
			if (ds->big) {
				memcpy(ds->big, ds->hdr, 6);
				ds->blen = 6;
				ds->bwant = 5 + flen;
				ds->hlen = 0;
				continue;
			}
		}
		want = ph ? 6 + ph : 5 + (size_t)flen;
		if (want > ED_HDR_CAP)
			want = ED_HDR_CAP;
		n = want - ds->hlen;
		if (n > len - i)
			n = len - i;
		memcpy(ds->hdr + ds->hlen, p + i, n);
		ds->hlen += (uint16_t)n;
		i += n;
		if (ds->hlen < want)
			break;
		ed_frame(ctx, st, d, ds->hdr, ds->hlen, flen);
		if (ph) {
			const uint8_t *h = ds->hdr + 6;
			bool wide = ph == 32 || ph == 28; /* the _I64 variants */
			uint64_t s = wide ? (uint64_t)kp_le32(h + 20) << 32 | kp_le32(h + 16)
					  : kp_le32(h + 16);

			/* The frame length bounds the data, whatever the end offset says. */
			ds->zpart =
			    ds->hdr[0] == ED_EMULE && (ds->hdr[5] == 0x40 || ds->hdr[5] == 0xa1);
			if (ds->zpart &&
			    (!ds->z || ds->z_start != s || memcmp(ds->piece_hash, h, 16) != 0)) {
				/* the first slice of a block: a new zlib stream */
				kp_zstream_free(&ds->z);
				ds->z = kp_zstream_new(MAX_WBITS);
				ds->z_start = s;
				ds->z_out = 0;
			}
			memcpy(ds->piece_hash, h, 16);
			ds->piece_off = s;
			ds->piece_left = flen - 1 - (uint32_t)ph;
			st->parts++;
		} else {
			ds->skip = (uint32_t)(5 + (size_t)flen - ds->hlen);
		}
		ds->hlen = 0;
	}
}

static enum kp_parse_result edonkey_parse(struct kp_app_ctx *ctx, void *state)
{
	struct edonkey_state *st = state;
	unsigned d = ctx->dir & 1;

	st->content = kp_app_files_wanted(ctx);
	if (ctx->l4 == IPPROTO_UDP) {
		if (ctx->len >= 2) {
			st->transport =
			    ctx->data[0] == ED_KAD || ctx->data[0] == ED_KAD_PACKED ? 3 : 2;
			st->last_udp_proto = ctx->data[0];
			st->last_udp_op = ctx->data[1];
			/* eMule UDP file reask names the file by hash. */
			if (ctx->data[0] == ED_EMULE && ctx->data[1] == 0x90 && ctx->len >= 18) {
				if (st->content)
					ed_request(ctx, st, ctx->data + 2, false);
				else
					ed_file_note(st, ctx->data + 2);
			}
			/* Server UDP search (OP_GLOBSEARCHREQ/2). */
			if (st->content && ctx->data[0] == ED_EDONKEY &&
			    (ctx->data[1] == 0x98 || ctx->data[1] == 0x92)) {
				char text[ED_TEXT_MAX];
				size_t n =
				    ed_search_text(ctx->data + 2, ctx->len - 2, text, sizeof(text));

				if (n) {
					kp_app_search(ctx, text, n);
					st->searches++;
				}
			}
		}
		if (st->content)
			return KP_PARSE_MORE;
		return ++st->frames >= 16 ? KP_PARSE_DONE : KP_PARSE_MORE;
	}
	st->transport = 1;
	if (ctx->gap) {
		st->dir[d].dead = true;
		st->dir[d].piece_left = 0;
		kp_zstream_free(&st->dir[d].z);
	}
	ed_tcp_feed(ctx, st, d, ctx->data, ctx->len);
	if (st->dir[0].dead && st->dir[1].dead)
		return KP_PARSE_DONE;
	if (st->frames >= 4096 && !st->content)
		return KP_PARSE_DONE;
	return KP_PARSE_MORE;
}

static void edonkey_free(void *state)
{
	struct edonkey_state *st = state;

	for (unsigned d = 0; d < 2; d++) {
		free(st->dir[d].big);
		st->dir[d].big = NULL;
		kp_zstream_free(&st->dir[d].z);
	}
}

static void edonkey_json(const void *state, const struct kp_flow *f, struct kp_json *j)
{
	const struct edonkey_state *st = state;
	static const char *const transports[] = {"unknown", "tcp", "udp", "kad"};

	(void)f;
	kp_json_obj(j, "edonkey");
	kp_json_str(j, "transport", transports[st->transport < 4 ? st->transport : 0]);
	if (st->role)
		kp_json_str(j, "role", st->role == 1 ? "client-client" : "client-server");
	if (st->have_hash)
		kp_json_hex(j, "user_hash", st->user_hash, 16);
	if (st->client_name[0])
		kp_json_str(j, "client_name", st->client_name);
	if (st->version)
		kp_json_u64(j, "version", st->version);
	if (st->have_peer_hash)
		kp_json_hex(j, "peer_hash", st->peer_hash, 16);
	if (st->peer_name[0])
		kp_json_str(j, "peer_name", st->peer_name);
	if (st->have_id)
		kp_json_u64(j, "client_id", st->client_id);
	if (st->transport >= 2) {
		kp_json_u64(j, "udp_proto", st->last_udp_proto);
		kp_json_u64(j, "udp_opcode", st->last_udp_op);
	}
	if (st->packed)
		kp_json_u64(j, "packed_frames", st->packed);
	if (st->searches)
		kp_json_u64(j, "searches", st->searches);
	if (st->results)
		kp_json_u64(j, "search_results", st->results);
	if (st->offers)
		kp_json_u64(j, "offered_files", st->offers);
	if (st->parts) {
		kp_json_u64(j, "parts", st->parts);
		kp_json_u64(j, "part_bytes", st->part_bytes);
	}
	if (st->have_req) {
		/* the last OP_REQUESTPARTS: up to three [start, end) ranges */
		kp_json_arr(j, "parts_requested");
		for (unsigned k = 0; k < 3; k++) {
			if (st->req_end[k] <= st->req_start[k])
				continue;
			kp_json_obj(j, NULL);
			kp_json_u64(j, "start", st->req_start[k]);
			kp_json_u64(j, "end", st->req_end[k]);
			kp_json_end(j);
		}
		kp_json_end_arr(j);
	}
	if (st->nfiles) {
		kp_json_arr(j, "files");
		for (unsigned i = 0; i < st->nfiles; i++) {
			kp_json_obj(j, NULL);
			kp_json_hex(j, "hash", st->files[i].hash, 16);
			if (st->files[i].name[0])
				kp_json_str(j, "name", st->files[i].name);
			kp_json_end(j);
		}
		kp_json_end_arr(j);
	}
	kp_json_end(j);
}

const struct kp_app_module kp_mod_edonkey = {
    .name = "edonkey",
    .l4 = KP_L4_TCP | KP_L4_UDP,
    .port_hints = {4662, 4661, 4672, 4665, 4242, 0},
    .probe = edonkey_probe,
    .state_size = sizeof(struct edonkey_state),
    .parse = edonkey_parse,
    .free_state = edonkey_free,
    .json = edonkey_json,
};
