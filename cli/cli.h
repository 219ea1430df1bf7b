/* SPDX-License-Identifier: Apache-2.0 */
/* The netward command line: one file per subcommand, shared helpers here. */
#ifndef NETWARD_CLI_H
#define NETWARD_CLI_H

#include <netward/eval.h>
#include <netward/model.h>

#include <getopt.h>
#include <stdio.h>

/* Exit codes, the same for every subcommand. */
enum {
	EXIT_OK = 0,	   /* ok, allowed, no findings, all tests passed */
	EXIT_DENIED = 1,   /* denied, findings, differences, failed tests */
	EXIT_USAGE = 2,	   /* usage or input error */
	EXIT_ENV = 3,	   /* environment error: no root, no nftables, API unreachable */
};

struct cli_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

/* Options most subcommands share. */
struct cli_common {
	NW_VEC(const char *) files;
	const char *output;
	int default_deny;
	int family; /* 0 = automatic */
	int verbose;
};

enum {
	OPT_DEFAULT_DENY = 1000,
	OPT_FAMILY,
	OPT__NEXT, /* subcommands number their own options from here */
};

#define CLI_COMMON_OPTS                                                                  \
	{ "filename", required_argument, NULL, 'f' }, { "output", required_argument, NULL, 'o' }, \
		{ "default-deny", required_argument, NULL, OPT_DEFAULT_DENY },                   \
		{ "family", required_argument, NULL, OPT_FAMILY },                               \
		{ "verbose", no_argument, NULL, 'v' }, { "help", no_argument, NULL, 'h' }

#define CLI_COMMON_HELP                                                                              \
	"  -f, --filename PATH     manifests: files, directories (recursive: .yaml .yml .json),\n"     \
	"                          multi-document YAML, kind: List, or - for stdin; repeatable\n"      \
	"      --default-deny MODE off (default), namespace (namespaces labelled\n"                     \
	"                          netward.io/default-deny=true) or cluster (every namespace but\n"     \
	"                          kube-system); DNS to kube-dns stays allowed\n"                       \
	"      --family 4|6        address family for ipBlock matching (default: IPv4 when pods\n"      \
	"                          have IPv4 addresses)\n"                                              \
	"  -v, --verbose           also list objects skipped because netward does not model them\n"   \
	"  -h, --help              show this help\n"

void cli_common_init(struct cli_common *cc);
void cli_common_fini(struct cli_common *cc);
/*
 * Handles a common option; returns 0 if handled, -1 if not common, EXIT_USAGE on
 * a bad value or on getopt's "?" (getopt printed what was wrong).
 */
int cli_common_opt(struct cli_common *cc, const char *cmd, int opt, const char *arg);
/* Prints "netward CMD: msg" and a hint; returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) NW_PRINTF(2, 3);
bool cli_output_is(const struct cli_common *cc, const char *fmt, const char *const *allowed, const char *cmd,
		   int *err);

/*
 * Loads -f inputs and default deny; prints diagnostics. Returns EXIT_OK or
 * EXIT_USAGE; on EXIT_USAGE nothing is left for the caller to free.
 */
int cli_load(struct cli_common *cc, const char *cmd, struct nw_cluster *c);
void cli_print_diags(const struct nw_diags *d);
int cli_family(const struct cli_common *cc, const struct nw_cluster *c);

/* SRC/DST of can: NS/POD, NS/KIND/NAME, or an address. */
struct cli_target {
	const char *text;
	NW_VEC(const struct nw_pod *) pods;
	const struct nw_workload *wl;
	const struct nw_service *svc;
	struct nw_addr addr; /* family != 0: an address outside the cluster */
};
int cli_target_resolve(const struct nw_cluster *c, const char *arg, struct cli_target *t, struct nw_buf *err);
void cli_target_fini(struct cli_target *t);

/* PORT[/PROTO]: number, range of one, or a named port. */
struct cli_port {
	int proto;
	uint16_t port;
	const char *name; /* named port, resolved on each destination pod */
};
bool cli_port_parse(const char *s, struct cli_port *p);
/* "80/TCP" */
void cli_port_format(int proto, uint16_t port, struct nw_buf *out);
/* Prints a buffer to stdout in one write; returns EXIT_ENV on a write error. */
int cli_write_stdout(const struct nw_buf *b);

/* x/a */
void cli_pod_name(const struct nw_pod *p, struct nw_buf *out);
/* "file:line:col" of a policy rule, or "" */
void cli_rule_path(const struct nw_policy *p, enum nw_dir dir, const struct nw_match *m, struct nw_buf *out);
/* Why one peer did not match an endpoint, in words. */
void cli_peer_mismatch(const struct nw_policy *p, const struct nw_peer *peer, const struct nw_endpoint *e,
		       struct nw_buf *out);
void cli_rule_ports_format(const struct nw_rule *r, const struct nw_pod *dst, struct nw_buf *out);
/*
 * Why a direction was denied: per isolating policy, its rules and why each
 * missed `peer` (the other end). Lines start with `indent`. no_port_proto:
 * when the question had no port of the protocol (can with a named port that
 * the pod lacks), that protocol; else 0. with_locs: file:line of policies
 * without rules.
 */
void cli_explain_no_match(const struct nw_dir_verdict *dv, enum nw_dir dir, const struct nw_endpoint *peer,
			  const struct nw_pod *dst, const char *indent, int no_port_proto, bool with_locs,
			  struct nw_buf *out);

int cmd_can(int argc, char **argv);
int cmd_matrix(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_compile(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_lab(int argc, char **argv);
int cmd_lab_demo(int argc, char **argv);
int cmd_agent(int argc, char **argv);
int cmd_intents(int argc, char **argv);
int cmd_learn(int argc, char **argv);
int cmd_test(int argc, char **argv);
int cmd_lint(int argc, char **argv);
int cmd_diff(int argc, char **argv);

#endif
