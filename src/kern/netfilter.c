/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Installs and removes kp2padm's iptables / ip6tables rules (see netfilter.h). One rule
 * generator feeds both the installer and kp_nf_print_rules, so the documented rules are
 * the installed ones. Binaries run through posix_spawn with explicit argv; their stderr
 * becomes the error message. Removal works from `iptables -S`: every rule of a built-in
 * chain that jumps to one of our chains is deleted by its own specification, whatever
 * matches an older version put in front of the jump.
 */
#define _GNU_SOURCE
#include "kern/netfilter.h"
#include "util/err.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define ACCT_PATH "/proc/sys/net/netfilter/nf_conntrack_acct"
#define ACCT_TAG "kp2padm:acct="
#define MAX_ARGS 24
#define ARG_LEN 64
#define MAX_RULES 48
#define MAX_IFACES 16
#define OUT_MAX 65536
#define MAX_JUMP_DELETES 64

struct nf_rule {
	int argc;
	char argv[MAX_ARGS][ARG_LEN];
};

struct nf_rules {
	unsigned n;
	struct nf_rule r[MAX_RULES];
};

static const struct {
	const char *table, *builtin, *chain;
} nf_hooks[] = {
	{ "mangle", "PREROUTING", KP_NF_CHAIN_PRE },
	{ "mangle", "POSTROUTING", KP_NF_CHAIN_POST },
	{ "filter", "FORWARD", KP_NF_CHAIN_FWD },
};

/* Full path of an iptables binary, or NULL. */
static const char *find_binary(const char *name, char *buf, size_t len)
{
	static const char *const dirs[] = { "/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/bin",
					    "/bin" };

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(buf, len, "%s/%s", dirs[i], name);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return NULL;
}

/* Last non-empty line of s, trimmed, copied into dst. */
static void last_line(const char *s, char *dst, size_t len)
{
	const char *end = s + strlen(s), *start;

	while (end > s && (end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\r'))
		end--;
	start = end;
	while (start > s && start[-1] != '\n')
		start--;
	snprintf(dst, len, "%.*s", (int)(end - start), start);
}

/*
 * Runs bin with argv (argv[0] included), stdout into out (if non-NULL), stderr into errout.
 * Returns the exit status (0..255), or -errno when it could not run.
 */
static int run(const char *bin, char *const argv[], char *out, size_t outlen, char *errout,
	       size_t errlen)
{
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 }, status, ret;
	size_t no = 0, ne = 0;
	posix_spawn_file_actions_t fa;
	pid_t pid;

	if (out && outlen)
		out[0] = 0;
	if (errout && errlen)
		errout[0] = 0;
	if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC)) {
		ret = -errno;
		goto close;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	ret = posix_spawn(&pid, bin, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(po[1]);
	close(pe[1]);
	po[1] = pe[1] = -1;
	if (ret) {
		ret = -ret;
		goto close;
	}
	for (int open_fds = 2; open_fds > 0;) {
		struct pollfd p[2] = { { po[0], POLLIN, 0 }, { pe[0], POLLIN, 0 } };
		char tmp[4096];

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			ssize_t r;

			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = read(p[i].fd, tmp, sizeof(tmp));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				close(i ? pe[0] : po[0]);
				if (i)
					pe[0] = -1;
				else
					po[0] = -1;
				open_fds--;
				continue;
			}
			char *dst = i ? errout : out;
			size_t dlen = i ? errlen : outlen, *n = i ? &ne : &no;

			if (dst && dlen > *n + 1) {
				size_t c = (size_t)r < dlen - *n - 1 ? (size_t)r : dlen - *n - 1;

				memcpy(dst + *n, tmp, c);
				*n += c;
				dst[*n] = 0;
			}
		}
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			ret = -errno;
			goto close;
		}
	}
	if (WIFEXITED(status))
		ret = WEXITSTATUS(status);
	else
		ret = 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
close:
	for (int i = 0; i < 2; i++) {
		if (po[i] >= 0)
			close(po[i]);
		if (pe[i] >= 0)
			close(pe[i]);
	}
	return ret;
}

/* Runs "BIN -w ARGS..." from a NULL-terminated list or a rule. */
static int run_ipt(const char *bin, const char *const *args, int nargs, char *out, size_t outlen,
		   char *msg, size_t msglen)
{
	char *argv[MAX_ARGS + 3];
	char errout[1024];
	int k = 0, ret;

	argv[k++] = (char *)bin;
	argv[k++] = (char *)"-w";
	for (int i = 0; i < nargs && k < MAX_ARGS + 2; i++)
		argv[k++] = (char *)args[i];
	argv[k] = NULL;
	ret = run(bin, argv, out, outlen, errout, sizeof(errout));
	if (ret < 0)
		kp_set_err(msg, msglen, "%s: %s", bin, strerror(-ret));
	else if (ret > 0) {
		char line[512];

		last_line(errout, line, sizeof(line));
		kp_set_err(msg, msglen, "%s failed (exit %d)%s%s", bin, ret, line[0] ? ": " : "",
			line);
	}
	return ret;
}

static int run_rule(const char *bin, const struct nf_rule *r, char *msg, size_t msglen)
{
	const char *args[MAX_ARGS];

	for (int i = 0; i < r->argc; i++)
		args[i] = r->argv[i];
	return run_ipt(bin, args, r->argc, NULL, 0, msg, msglen);
}

static void rule_add(struct nf_rules *rs, ...)
{
	struct nf_rule *r;
	const char *a;
	va_list ap;

	if (rs->n >= MAX_RULES)
		return;
	r = &rs->r[rs->n++];
	r->argc = 0;
	va_start(ap, rs);
	while ((a = va_arg(ap, const char *)) && r->argc < MAX_ARGS)
		snprintf(r->argv[r->argc++], ARG_LEN, "%s", a);
	va_end(ap);
}

static int config_valid(const struct kp_nf_config *c, char *err, size_t errlen)
{
	if (!c->queue_count || (unsigned)c->queue_first + c->queue_count - 1 > 65535) {
		kp_set_err(err, errlen, "netfilter: bad queue range %u..%u", c->queue_first,
			c->queue_first + c->queue_count - 1);
		return -EINVAL;
	}
	if (c->bypass && !c->mark_mask) {
		kp_set_err(err, errlen, "netfilter: bypass needs a nonzero mark mask");
		return -EINVAL;
	}
	if (c->n_ifaces > MAX_IFACES || (c->n_ifaces && !c->ifaces)) {
		kp_set_err(err, errlen, "netfilter: at most %d interfaces", MAX_IFACES);
		return -EINVAL;
	}
	for (unsigned i = 0; i < c->n_ifaces; i++) {
		const char *n = c->ifaces[i];

		if (!n || !n[0] || strlen(n) >= 16 || strpbrk(n, " \t\n/'\"\\")) {
			kp_set_err(err, errlen, "netfilter: bad interface name '%s'", n ? n : "");
			return -EINVAL;
		}
	}
	return 0;
}

/* The NFQUEUE target's queue option and argument for count queues from first. */
static const char *queue_arg(unsigned first, unsigned count, char *buf, size_t len)
{
	if (count == 1)
		snprintf(buf, len, "%u", first);
	else
		snprintf(buf, len, "%u:%u", first, first + count - 1);
	return count == 1 ? "--queue-num" : "--queue-balance";
}

/* The install commands, in order: chains, their rules, then the jumps into them. */
static void gen_rules(const struct kp_nf_config *c, const char *comment, struct nf_rules *rs)
{
	char mask[16], nomark[24], blocked[24], queue[16];
	const char *qopt = queue_arg(c->queue_first, c->queue_count, queue, sizeof(queue));

	snprintf(mask, sizeof(mask), "0x%08x", c->mark_mask);
	snprintf(nomark, sizeof(nomark), "0/0x%08x", c->mark_mask);
	snprintf(blocked, sizeof(blocked), "0x%08x/0x%08x", c->mark_mask, c->mark_mask);
	rs->n = 0;
	if (c->bypass) {
		rule_add(rs, "-t", "mangle", "-N", KP_NF_CHAIN_PRE, NULL);
		rule_add(rs, "-t", "mangle", "-A", KP_NF_CHAIN_PRE, "-j", "CONNMARK",
			 "--restore-mark", "--mask", mask, NULL);
		rule_add(rs, "-t", "mangle", "-N", KP_NF_CHAIN_POST, NULL);
		rule_add(rs, "-t", "mangle", "-A", KP_NF_CHAIN_POST, "-m", "mark", "!", "--mark",
			 nomark, "-j", "CONNMARK", "--save-mark", "--mask", mask, NULL);
	}
	rule_add(rs, "-t", "filter", "-N", KP_NF_CHAIN_FWD, NULL);
	if (c->bypass) {
		/*
		 * Every mask bit set = blocked. The daemon's verdict repeats the hook
		 * with that mark (a dropped packet never reaches POSTROUTING's save):
		 * save it here, then drop this packet and the flow's later ones.
		 */
		rule_add(rs, "-t", "filter", "-A", KP_NF_CHAIN_FWD, "-m", "mark", "--mark", blocked,
			 "-j", "CONNMARK", "--save-mark", "--mask", mask, NULL);
		rule_add(rs, "-t", "filter", "-A", KP_NF_CHAIN_FWD, "-m", "mark", "--mark", blocked,
			 "-j", "DROP", NULL);
	}
	if (c->bypass && c->header_queues) {
		/* decided flows: to the header-only queues, hashed like the full ones */
		char hq[16];
		const char *hopt = queue_arg(c->queue_first + c->queue_count, c->queue_count, hq,
					     sizeof(hq));

		rule_add(rs, "-t", "filter", "-A", KP_NF_CHAIN_FWD, "-m", "mark", "!", "--mark",
			 nomark, "-j", "NFQUEUE", hopt, hq, "--queue-bypass", NULL);
	} else if (c->bypass) {
		rule_add(rs, "-t", "filter", "-A", KP_NF_CHAIN_FWD, "-m", "mark", "!", "--mark",
			 nomark, "-j", "RETURN", NULL);
	}
	for (unsigned i = 0; i < (c->n_ifaces ? c->n_ifaces : 1); i++) {
		if (c->n_ifaces)
			rule_add(rs, "-t", "filter", "-A", KP_NF_CHAIN_FWD, "-i", c->ifaces[i],
				 "-j", "NFQUEUE", qopt, queue, "--queue-bypass", NULL);
		else
			rule_add(rs, "-t", "filter", "-A", KP_NF_CHAIN_FWD, "-j", "NFQUEUE", qopt,
				 queue, "--queue-bypass", NULL);
	}
	if (c->bypass) {
		rule_add(rs, "-t", "mangle", "-I", "PREROUTING", "1", "-j", KP_NF_CHAIN_PRE, NULL);
		rule_add(rs, "-t", "mangle", "-I", "POSTROUTING", "1", "-j", KP_NF_CHAIN_POST,
			 NULL);
	}
	rule_add(rs, "-t", "filter", "-I", "FORWARD", "1", "-m", "comment", "--comment", comment,
		 "-j", KP_NF_CHAIN_FWD, NULL);
}

static int acct_read(void)
{
	char buf[16] = "";
	int fd = open(ACCT_PATH, O_RDONLY | O_CLOEXEC), v = -1;
	ssize_t r;

	if (fd < 0)
		return -1;
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (r > 0 && buf[0] >= '0' && buf[0] <= '9')
		v = atoi(buf);
	return v;
}

static int acct_write(int v)
{
	char buf[16];
	int fd = open(ACCT_PATH, O_WRONLY | O_CLOEXEC), n, ret = 0;

	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%d\n", v);
	if (write(fd, buf, (size_t)n) != n)
		ret = errno ? -errno : -EIO;
	close(fd);
	return ret;
}

/* Splits one line of `iptables -S` into argv (double quotes as iptables prints them). */
static int split_line(char *line, char **argv, int max)
{
	int n = 0;
	char *p = line;

	while (*p && n < max) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		if (*p == '"') {
			char *d = ++p;

			argv[n++] = d;
			while (*p && *p != '"') {
				if (*p == '\\' && p[1])
					p++;
				*d++ = *p++;
			}
			if (*p)
				p++;
			*d = 0;
			/* the terminator may overwrite the separator only after it was read */
			continue;
		}
		argv[n++] = p;
		while (*p && *p != ' ')
			p++;
		if (*p)
			*p++ = 0;
	}
	return n;
}

/*
 * Removes our rules and chains from one family. Keeps the first error in err, continues
 * past it. *acct receives the saved nf_conntrack_acct value found in a jump's comment.
 */
static int remove_family(const char *bin, int *acct, char *err, size_t errlen)
{
	char *out = malloc(OUT_MAX);
	int ret = 0;

	if (!out)
		return -ENOMEM;
	for (size_t h = 0; h < sizeof(nf_hooks) / sizeof(nf_hooks[0]); h++) {
		const char *t = nf_hooks[h].table, *b = nf_hooks[h].builtin;
		const char *ch = nf_hooks[h].chain;
		char msg[512];
		int rc;

		/* Exit 1: chain absent, so no jump to it can exist either. Anything else
		 * (4: permission denied, lock) is an error, not an absence. */
		const char *probe[] = { "-t", t, "-S", ch };

		rc = run_ipt(bin, probe, 4, NULL, 0, msg, sizeof(msg));
		if (rc == 1)
			continue;
		if (rc) {
			if (!ret) {
				kp_set_err(err, errlen, "%s", msg);
				ret = rc < 0 ? rc : -EIO;
			}
			continue;
		}
		for (int round = 0; round < MAX_JUMP_DELETES; round++) {
			const char *list[] = { "-t", t, "-S", b };
			char *line, *save = NULL, *del[MAX_ARGS + 3];
			bool found = false;

			rc = run_ipt(bin, list, 4, out, OUT_MAX, msg, sizeof(msg));
			if (rc) {
				if (!ret) {
					kp_set_err(err, errlen, "%s", msg);
					ret = -EIO;
				}
				break;
			}
			for (line = strtok_r(out, "\n", &save); line;
			     line = strtok_r(NULL, "\n", &save)) {
				char *args[MAX_ARGS];
				int n = split_line(line, args, MAX_ARGS), k = 0;
				bool jump = false;

				if (n < 2 || strcmp(args[0], "-A") || strcmp(args[1], b))
					continue;
				for (int i = 2; i + 1 < n; i++) {
					if ((!strcmp(args[i], "-j") || !strcmp(args[i], "-g")) &&
					    !strcmp(args[i + 1], ch))
						jump = true;
					if (acct && !strcmp(args[i], "--comment") &&
					    !strncmp(args[i + 1], ACCT_TAG, strlen(ACCT_TAG)))
						*acct = atoi(args[i + 1] + strlen(ACCT_TAG));
				}
				if (!jump)
					continue;
				del[k++] = (char *)"-t";
				del[k++] = (char *)t;
				del[k++] = (char *)"-D";
				for (int i = 1; i < n && k < MAX_ARGS; i++)
					del[k++] = args[i];
				rc = run_ipt(bin, (const char *const *)del, k, NULL, 0, msg,
					     sizeof(msg));
				if (rc) {
					if (!ret) {
						kp_set_err(err, errlen, "%s", msg);
						ret = -EIO;
					}
				} else {
					found = true;
				}
				break; /* rule numbers moved: list again */
			}
			if (!found)
				break;
		}
		const char *flush[] = { "-t", t, "-F", ch }, *del_chain[] = { "-t", t, "-X", ch };

		rc = run_ipt(bin, flush, 4, NULL, 0, msg, sizeof(msg));
		if (!rc)
			rc = run_ipt(bin, del_chain, 4, NULL, 0, msg, sizeof(msg));
		if (rc && !ret) {
			kp_set_err(err, errlen, "%s", msg);
			ret = -EIO;
		}
	}
	free(out);
	return ret;
}

int kp_nf_remove(char *err, size_t errlen)
{
	static const char *const bins[] = { "iptables", "ip6tables" };
	int acct = -1, ret = 0;

	if (err && errlen)
		err[0] = 0;
	for (size_t i = 0; i < 2; i++) {
		char path[128], msg[512];
		const char *bin = find_binary(bins[i], path, sizeof(path));
		int rc;

		if (!bin)
			continue;
		rc = remove_family(bin, &acct, msg, sizeof(msg));
		if (rc && !ret) {
			kp_set_err(err, errlen, "%s", msg);
			ret = rc;
		}
	}
	if (acct >= 0 && acct != acct_read()) {
		int rc = acct_write(acct);

		if (rc && !ret) {
			kp_set_err(err, errlen, "restoring %s=%d: %s", ACCT_PATH, acct, strerror(-rc));
			ret = rc;
		}
	}
	return ret;
}

int kp_nf_install(const struct kp_nf_config *c, char *err, size_t errlen)
{
	char path4[128], path6[128], comment[32], msg[512];
	const char *bin4, *bin6 = NULL;
	struct nf_rules *rs;
	int ret, acct;

	if (err && errlen)
		err[0] = 0;
	ret = config_valid(c, err, errlen);
	if (ret)
		return ret;
	bin4 = find_binary("iptables", path4, sizeof(path4));
	if (!bin4) {
		kp_set_err(err, errlen,
			"netfilter: iptables not found (install the iptables package)");
		return -ENOENT;
	}
	if (c->ipv6) {
		bin6 = find_binary("ip6tables", path6, sizeof(path6));
		if (!bin6) {
			kp_set_err(err, errlen, "netfilter: ip6tables not found");
			return -ENOENT;
		}
	}
	/* Leftovers of a killed daemon; this also restores the acct value they saved. */
	ret = kp_nf_remove(msg, sizeof(msg));
	if (ret) {
		kp_set_err(err, errlen, "netfilter: removing old rules: %s", msg);
		return ret;
	}
	acct = c->bypass ? acct_read() : -1; /* counters matter only for bypassed flows */
	if (acct >= 0)
		snprintf(comment, sizeof(comment), ACCT_TAG "%d", acct);
	else
		snprintf(comment, sizeof(comment), "kp2padm");
	rs = calloc(1, sizeof(*rs));
	if (!rs)
		return -ENOMEM;
	gen_rules(c, comment, rs);
	for (int f = 0; f < 2 && !ret; f++) {
		const char *bin = f ? bin6 : bin4;

		if (!bin)
			continue;
		for (unsigned i = 0; i < rs->n; i++) {
			if (run_rule(bin, &rs->r[i], msg, sizeof(msg))) {
				kp_set_err(err, errlen, "netfilter: %s", msg);
				ret = -EIO;
				break;
			}
		}
	}
	free(rs);
	if (!ret && acct >= 0 && acct != 1) {
		int rc = acct_write(1);

		if (rc) {
			kp_set_err(err, errlen, "netfilter: setting %s=1: %s", ACCT_PATH,
				strerror(-rc));
			ret = rc;
		}
	}
	if (ret)
		kp_nf_remove(msg, sizeof(msg));
	return ret;
}

static void print_arg(FILE *out, const char *a)
{
	if (a[0] && !strpbrk(a, " !'\"\\$`*?[]{}()<>|&;#~"))
		fputs(a, out);
	else
		fprintf(out, "'%s'", a);
}

void kp_nf_print_rules(const struct kp_nf_config *c, FILE *out)
{
	char err[256];
	struct nf_rules *rs;

	if (config_valid(c, err, sizeof(err))) {
		fprintf(out, "# %s\n", err);
		return;
	}
	rs = calloc(1, sizeof(*rs));
	if (!rs)
		return;
	gen_rules(c, "kp2padm", rs);
	fprintf(out, "# kp2padm netfilter rules"
		     " (kp2padm installs these itself unless --no-setup)\n");
	if (c->bypass)
		fprintf(out, "sysctl -w net.netfilter.nf_conntrack_acct=1\n");
	for (int f = 0; f < (c->ipv6 ? 2 : 1); f++) {
		for (unsigned i = 0; i < rs->n; i++) {
			fputs(f ? "ip6tables" : "iptables", out);
			for (int k = 0; k < rs->r[i].argc; k++) {
				fputc(' ', out);
				print_arg(out, rs->r[i].argv[k]);
			}
			fputc('\n', out);
		}
	}
	free(rs);
}

static bool have_net_admin(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) != 0)
		return geteuid() == 0;
	return data[CAP_NET_ADMIN / 32].effective & (1u << (CAP_NET_ADMIN % 32));
}

int kp_nf_check(char *err, size_t errlen)
{
	static const char *const chk = "KP2PADM-CHK";
	char path[128], msg[512];
	const char *bin;
	int rc;

	if (err && errlen)
		err[0] = 0;
	if (!have_net_admin()) {
		kp_set_err(err, errlen, "CAP_NET_ADMIN missing: run as root or give the capability");
		return -EPERM;
	}
	bin = find_binary("iptables", path, sizeof(path));
	if (!bin) {
		kp_set_err(err, errlen, "iptables not found (install the iptables package)");
		return -ENOENT;
	}
	const char *mk[] = { "-t", "filter", "-N", chk },
		   *q[] = { "-t", "filter", "-A", chk, "-j", "NFQUEUE", "--queue-num", "0",
			    "--queue-bypass" },
		   *cm[] = { "-t", "filter", "-A", chk, "-j", "CONNMARK", "--restore-mark",
			     "--mask", "0x1" },
		   *fl[] = { "-t", "filter", "-F", chk }, *x[] = { "-t", "filter", "-X", chk };

	run_ipt(bin, fl, 4, NULL, 0, msg, sizeof(msg));
	run_ipt(bin, x, 4, NULL, 0, msg, sizeof(msg));
	if (run_ipt(bin, mk, 4, NULL, 0, msg, sizeof(msg))) {
		kp_set_err(err, errlen, "iptables unusable: %s", msg);
		return -EIO;
	}
	rc = run_ipt(bin, q, 9, NULL, 0, msg, sizeof(msg));
	if (rc)
		kp_set_err(err, errlen, "NFQUEUE target unusable (nfnetlink_queue/xt_NFQUEUE): %s",
			msg);
	else if ((rc = run_ipt(bin, cm, 9, NULL, 0, msg, sizeof(msg))))
		kp_set_err(err, errlen, "CONNMARK target unusable (xt_CONNMARK): %s", msg);
	run_ipt(bin, fl, 4, NULL, 0, msg, sizeof(msg));
	run_ipt(bin, x, 4, NULL, 0, msg, sizeof(msg));
	return rc ? -EOPNOTSUPP : 0;
}
