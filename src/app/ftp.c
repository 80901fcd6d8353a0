/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * FTP control connections. The probe wants the server's "220"/"220-" greeting
 * plus FTP-specific evidence, because SMTP greets with 220 too: the client's
 * first command is an FTP command (USER, AUTH, FEAT, SYST, OPTS, PASV, ...)
 * (high confidence), or the greeting says "FTP" and not "SMTP" (medium, used
 * only when the client stays silent past the server's second packet). A client
 * that answers with EHLO/HELO excludes the flow.
 *
 * The parser follows the whole control connection (it is small): it counts
 * commands, keeps the user name (never the password) and the last few
 * RETR/STOR names, and announces every data connection to the engine with
 * kp_expect_add(..., KP_APP_FTP_DATA): PASV (227 reply), EPSV (229 reply, at the
 * control connection's server address), PORT and EPRT. It stops at the server's
 * 221 (goodbye) or once AUTH TLS has been accepted (234: the rest is TLS).
 *
 * When the policy wants files (kp_app_files_wanted), every RETR/STOR/APPE names
 * the file of the next data connection (kp_app_file_announce), announced again
 * with the size of the 150 reply ("(N bytes)"); a STOU's name comes with the
 * 150 reply ("FILE: name"). The core feeds the linked data connection's body.
 */
#include "app/ftp.h"

#include "app/app.h"
#include "content/content.h"
#include "output/json.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#define FTP_PROBE_LINE_MAX 256

static const char *const ftp_commands[] = {
	"USER", "AUTH", "FEAT", "SYST", "OPTS", "PASS", "PASV", "EPSV", "PWD", "XPWD", "CWD",
	"TYPE", "LIST", "NLST", "RETR", "STOR", "CLNT", "PBSZ", "PROT", "PORT", "EPRT", "SIZE",
	"MDTM", "MLSD", "MLST", "SITE", "ACCT", "CDUP", "STOU", "APPE", NULL,
};
static const char *const smtp_commands[] = {"EHLO", "HELO", "LHLO", "MAIL", "STARTTLS", NULL};

/* True if the line's first token is one of list (case-insensitive, whole token). */
static bool ftp_tok_in(const uint8_t *l, size_t n, const char *const *list)
{
	size_t t = kp_tok_len(l, n);

	for (unsigned i = 0; list[i]; i++)
		if (strlen(list[i]) == t && kp_starts_ci(l, n, list[i]))
			return true;
	return false;
}

static enum kp_probe_result ftp_probe(const struct kp_app_ctx *ctx, struct kp_match *m)
{
	const uint8_t *s = ctx->buf[1], *c = ctx->buf[0];
	size_t sl = ctx->buf_len[1], cl = ctx->buf_len[0];
	bool greet_ftp = false, greet_smtp = false, cmd_ftp = false;

	if (ctx->l4 != IPPROTO_TCP)
		return KP_PROBE_EXCLUDE;
	if (sl == 0)
		return cl ? KP_PROBE_EXCLUDE : KP_PROBE_NEED_MORE; /* FTP servers speak first */
	if (memcmp(s, "220", sl < 3 ? sl : 3) != 0 || (sl >= 4 && s[3] != ' ' && s[3] != '-'))
		return KP_PROBE_EXCLUDE;
	if (sl >= 4) {
		size_t gl = sl < 1024 ? sl : 1024;

		greet_smtp = kp_find_ci(s, gl, "SMTP") != NULL;
		greet_ftp = !greet_smtp && kp_find_ci(s, gl, "FTP") != NULL;
	}
	if (cl) {
		long ll = kp_line_len(c, cl);

		if (ll < 0) {
			if (cl > FTP_PROBE_LINE_MAX)
				return KP_PROBE_EXCLUDE;
		} else if (ftp_tok_in(c, (size_t)ll, smtp_commands)) {
			return KP_PROBE_EXCLUDE;
		} else if (ftp_tok_in(c, (size_t)ll, ftp_commands)) {
			cmd_ftp = true;
		} else if (!greet_ftp) {
			return KP_PROBE_EXCLUDE;
		}
	}
	/*
	 * A greeting that names FTP is enough once the server has sent a second
	 * packet or the client has begun a line; until then wait for the client's
	 * first command, which confirms FTP with more certainty.
	 */
	if (greet_ftp && !cmd_ftp && cl == 0 && ctx->npkts[1] < 2)
		return KP_PROBE_NEED_MORE;
	if (sl >= 4 && (cmd_ftp || greet_ftp)) {
		m->app = KP_APP_FTP;
		m->confidence = cmd_ftp ? KP_CONF_HIGH : KP_CONF_MEDIUM;
		return KP_PROBE_MATCH;
	}
	if (greet_smtp)
		return KP_PROBE_EXCLUDE;
	return KP_PROBE_NEED_MORE;
}

/* Parses a decimal number of at most 5 digits at s[*i]; -1 if none. */
static long ftp_num(const uint8_t *s, size_t n, size_t *i)
{
	long v = 0;
	size_t st = *i;

	while (*i < n && s[*i] >= '0' && s[*i] <= '9' && *i - st < 5)
		v = v * 10 + (s[(*i)++] - '0');
	if (*i == st || (*i < n && s[*i] >= '0' && s[*i] <= '9'))
		return -1;
	return v;
}

bool kp_ftp_parse_hostport(const uint8_t *s, size_t n, uint8_t addr[4], uint16_t *port)
{
	for (size_t at = 0; at < n; at++) {
		size_t i = at;
		long v[6];
		int k;

		if (s[at] < '0' || s[at] > '9' || (at > 0 && s[at - 1] >= '0' && s[at - 1] <= '9'))
			continue;
		for (k = 0; k < 6; k++) {
			i = kp_skip_sp(s, n, i);
			v[k] = ftp_num(s, n, &i);
			if (v[k] < 0 || v[k] > 255)
				break;
			i = kp_skip_sp(s, n, i);
			if (k < 5) {
				if (i >= n || s[i] != ',')
					break;
				i++;
			}
		}
		if (k < 6)
			continue;
		for (k = 0; k < 4; k++)
			addr[k] = (uint8_t)v[k];
		*port = (uint16_t)(v[4] << 8 | v[5]);
		return true;
	}
	return false;
}

bool kp_ftp_parse_epsv(const uint8_t *s, size_t n, uint16_t *port)
{
	const uint8_t *p = memchr(s, '(', n);
	size_t i;
	uint8_t d;
	long v;

	if (!p)
		return false;
	i = (size_t)(p - s) + 1;
	if (n - i < 5)
		return false;
	d = s[i];
	if (d < 33 || d > 126 || (d >= '0' && d <= '9') || s[i + 1] != d || s[i + 2] != d)
		return false;
	i += 3;
	v = ftp_num(s, n, &i);
	if (v <= 0 || v > 65535 || i >= n || s[i] != d)
		return false;
	*port = (uint16_t)v;
	return true;
}

bool kp_ftp_parse_eprt(const uint8_t *s, size_t n, int *family, uint8_t addr[16],
		       uint16_t *port)
{
	char a[64];
	size_t i = 0, st;
	uint8_t d;
	long v;

	i = kp_skip_sp(s, n, i);
	if (n - i < 8)
		return false;
	d = s[i++];
	if (d < 33 || d > 126 || (d >= '0' && d <= '9'))
		return false;
	if (s[i] == '1')
		*family = AF_INET;
	else if (s[i] == '2')
		*family = AF_INET6;
	else
		return false;
	if (s[i + 1] != d)
		return false;
	i += 2;
	st = i;
	while (i < n && s[i] != d)
		i++;
	if (i >= n || i == st || i - st >= sizeof(a))
		return false;
	memcpy(a, s + st, i - st);
	a[i - st] = '\0';
	if (inet_pton(*family, a, addr) != 1)
		return false;
	i++;
	v = ftp_num(s, n, &i);
	if (v <= 0 || v > 65535 || i >= n || s[i] != d)
		return false;
	*port = (uint16_t)v;
	return true;
}

struct ftp_pctx {
	struct kp_app_ctx *ctx;
	struct kp_ftp_state *st;
};

static void ftp_expect(struct ftp_pctx *p, int family, const uint8_t *addr, uint16_t port)
{
	struct kp_ftp_state *st = p->st;

	if (port == 0)
		return;
	st->expects++;
	st->last.family = family;
	memset(st->last.addr, 0, sizeof(st->last.addr));
	memcpy(st->last.addr, addr, family == AF_INET6 ? 16 : 4);
	st->last.port = port;
	kp_expect_add(p->ctx, family, addr, port, IPPROTO_TCP, KP_APP_FTP_DATA);
}

/* The argument of a command line (after the command and its spaces). */
static size_t ftp_arg(const uint8_t *l, size_t n)
{
	return kp_skip_sp(l, n, kp_tok_len(l, n));
}

static void ftp_add_file(struct kp_ftp_state *st, const uint8_t *name, size_t n)
{
	if (n == 0)
		return;
	kp_copy_field(st->files[st->file_next], KP_FTP_NAME_MAX, name, n);
	st->file_next = (uint8_t)((st->file_next + 1) % KP_FTP_FILES);
	if (st->nfiles < KP_FTP_FILES)
		st->nfiles++;
}

static bool ftp_files(struct ftp_pctx *p)
{
	if (p->st->files_mode == 0)
		p->st->files_mode = kp_app_files_wanted(p->ctx) ? 2 : 1;
	return p->st->files_mode == 2;
}

/* A transfer command: its name is the next data connection's file. */
static void ftp_pend(struct ftp_pctx *p, const uint8_t *name, size_t n, bool stou)
{
	struct kp_ftp_state *st = p->st;

	st->pend_len = (uint16_t)kp_copy_field(st->pend, sizeof(st->pend), name, n);
	st->pend_stou = stou;
	st->pend_size = KP_FILE_SIZE_UNKNOWN;
	if (!stou && ftp_files(p))
		kp_app_file_announce(p->ctx, st->pend, st->pend_len, KP_FILE_SIZE_UNKNOWN);
}

/* "(N bytes)" in a 150 reply; false if none. */
static bool ftp_150_size(const uint8_t *l, size_t n, uint64_t *size)
{
	for (size_t at = 0; at < n; at++) {
		size_t i = at + 1, d = 0;
		uint64_t v = 0;

		if (l[at] != '(')
			continue;
		while (i < n && l[i] >= '0' && l[i] <= '9' && d < 19) {
			v = v * 10 + (uint64_t)(l[i++] - '0');
			d++;
		}
		if (d > 0 && d < 19 && kp_starts(l + i, n - i, " bytes)")) {
			*size = v;
			return true;
		}
	}
	return false;
}

/* The 150 reply opening the data connection of the pending transfer. */
static void ftp_150(struct ftp_pctx *p, const uint8_t *l, size_t n)
{
	struct kp_ftp_state *st = p->st;
	const uint8_t *fn;
	uint64_t size;

	if (st->pend_stou) {
		/* vsftpd, ProFTPD: "150 FILE: name" */
		fn = kp_find(l, n, "FILE: ", 6);
		if (!fn)
			return;
		fn += 6;
		st->pend_len = (uint16_t)kp_copy_field(st->pend, sizeof(st->pend), fn,
						       (size_t)(l + n - fn));
		ftp_add_file(st, fn, (size_t)(l + n - fn));
		st->pend_stou = false;
		if (ftp_files(p))
			kp_app_file_announce(p->ctx, st->pend, st->pend_len, KP_FILE_SIZE_UNKNOWN);
		return;
	}
	if (st->pend_len == 0 || !ftp_150_size(l, n, &size))
		return;
	st->pend_size = size;
	if (ftp_files(p))
		kp_app_file_announce(p->ctx, st->pend, st->pend_len, size);
}

static uint32_t ftp_client_line(void *arg, const uint8_t *l, size_t n)
{
	struct ftp_pctx *p = arg;
	struct kp_ftp_state *st = p->st;
	size_t a = ftp_arg(l, n), t = kp_tok_len(l, n);
	uint8_t addr[16];
	uint16_t port;
	int fam;

	if (n == 0)
		return 0;
	st->commands++;
	if (t != 4)
		return 0;
	if (kp_starts_ci(l, n, "USER")) {
		kp_copy_field(st->user, sizeof(st->user), l + a, n - a);
	} else if (kp_starts_ci(l, n, "RETR") || kp_starts_ci(l, n, "STOR") ||
		   kp_starts_ci(l, n, "APPE")) {
		ftp_add_file(st, l + a, n - a);
		if (n > a)
			ftp_pend(p, l + a, n - a, false);
	} else if (kp_starts_ci(l, n, "STOU")) {
		ftp_add_file(st, l + a, n - a);
		ftp_pend(p, l + a, n - a, true);
	} else if (kp_starts_ci(l, n, "PORT")) {
		if (kp_ftp_parse_hostport(l + a, n - a, addr, &port))
			ftp_expect(p, AF_INET, addr, port);
	} else if (kp_starts_ci(l, n, "EPRT")) {
		if (kp_ftp_parse_eprt(l + a, n - a, &fam, addr, &port))
			ftp_expect(p, fam, addr, port);
	} else if (kp_starts_ci(l, n, "AUTH")) {
		st->auth_tls = kp_starts_ci(l + a, n - a, "TLS") ||
			       kp_starts_ci(l + a, n - a, "SSL");
	}
	return 0;
}

static uint32_t ftp_server_line(void *arg, const uint8_t *l, size_t n)
{
	struct ftp_pctx *p = arg;
	struct kp_ftp_state *st = p->st;
	struct kp_app_ctx *ctx = p->ctx;
	uint8_t addr[4];
	uint16_t port;

	if (n < 4 || l[3] != ' ')
		return 0; /* continuation lines of multi-line replies carry nothing we use */
	if (kp_starts(l, n, "227")) {
		if (kp_ftp_parse_hostport(l + 4, n - 4, addr, &port)) {
			ftp_expect(p, AF_INET, addr, port);
			/* A server behind NAT announces its private address: also expect
			 * the connection at the address the control connection used. */
			if (ctx->family == AF_INET && ctx->saddr &&
			    memcmp(ctx->saddr, addr, 4) != 0)
				ftp_expect(p, AF_INET, ctx->saddr, port);
		}
	} else if (kp_starts(l, n, "229")) {
		if (kp_ftp_parse_epsv(l + 4, n - 4, &port)) {
			if (ctx->saddr && (ctx->family == AF_INET || ctx->family == AF_INET6)) {
				ftp_expect(p, ctx->family, ctx->saddr, port);
			} else {
				/* No address known (unit tests): keep the port for inspection. */
				st->expects++;
				st->last.family = 0;
				st->last.port = port;
			}
		}
	} else if (kp_starts(l, n, "150")) {
		ftp_150(p, l, n);
	} else if (kp_starts(l, n, "226")) {
		st->transfers++;
		st->pend_len = 0;
		st->pend_stou = false;
	} else if ((l[0] == '4' || l[0] == '5') && st->pend_len) {
		/* the transfer was refused or failed ("550 Failed to open file") */
		if (kp_app_files_wanted(p->ctx))
			kp_app_file_withdraw(p->ctx);
		st->pend_len = 0;
		st->pend_stou = false;
	} else if (kp_starts(l, n, "234") && st->auth_tls) {
		st->done = true;
		return KP_LINE_STOP;
	} else if (kp_starts(l, n, "221")) {
		st->done = true;
		return KP_LINE_STOP;
	}
	return 0;
}

static enum kp_parse_result ftp_parse(struct kp_app_ctx *ctx, void *state)
{
	struct kp_ftp_state *st = state;
	struct ftp_pctx p = {ctx, st};
	unsigned dir = ctx->dir ? 1 : 0;

	if (st->done)
		return KP_PARSE_DONE;
	if (ctx->gap)
		kp_linebuf_reset(&st->lb[dir]);
	kp_linebuf_feed(&st->lb[dir], ctx->data, ctx->len, dir ? ftp_server_line : ftp_client_line,
			&p);
	return st->done ? KP_PARSE_DONE : KP_PARSE_MORE;
}

static void ftp_json(const void *state, const struct kp_flow *f, struct kp_json *j)
{
	const struct kp_ftp_state *st = state;

	(void)f;
	kp_json_obj(j, "ftp");
	if (st->user[0])
		kp_json_str(j, "user", st->user);
	kp_json_u64(j, "commands", st->commands);
	if (st->nfiles) {
		unsigned first = (st->file_next + KP_FTP_FILES - st->nfiles) % KP_FTP_FILES;

		kp_json_arr(j, "files");
		for (unsigned i = 0; i < st->nfiles; i++)
			kp_json_str(j, NULL, st->files[(first + i) % KP_FTP_FILES]);
		kp_json_end_arr(j);
	}
	kp_json_end(j);
}

const struct kp_app_module kp_mod_ftp = {
	.name = "ftp",
	.l4 = KP_L4_TCP,
	.port_hints = {21, 0},
	.probe = ftp_probe,
	.state_size = sizeof(struct kp_ftp_state),
	.parse = ftp_parse,
	.free_state = NULL,
	.json = ftp_json,
};
