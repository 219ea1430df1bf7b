/* SPDX-License-Identifier: Apache-2.0 */
/* netward: the command table and dispatch. */
#include "cli.h"

#include <stdlib.h>

#ifndef NETWARD_VERSION
#define NETWARD_VERSION "0.0.0"
#endif

static int cmd_help(int argc, char **argv);

static bool is_help(const char *arg)
{
	return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

static int cmd_version(int argc, char **argv)
{
	if (argc > 1 && is_help(argv[1])) {
		fputs("Usage: netward version\n\nPrints the version of netward.\n", stdout);
		return EXIT_OK;
	}
	if (argc > 1)
		return cli_usage_error("version", "unexpected argument \"%s\"", argv[1]);
	printf("netward %s\n", NETWARD_VERSION);
	return EXIT_OK;
}

static const struct cli_cmd commands[] = {
	{ "can", cmd_can, "can SRC reach DST on PORT? Which policy and rule decided (offline)" },
	{ "matrix", cmd_matrix, "reachability of every pod pair, per port (offline)" },
	{ "explain", cmd_explain, "the policies selecting a pod and its effective rules (offline)" },
	{ "compile", cmd_compile, "a node's nftables table, as nft -f text or JSON (touches nothing)" },
	{ "apply", cmd_apply, "program a node's table into the kernel in one transaction (root)" },
	{ "agent", cmd_agent, "the node agent: watch the cluster, keep this node's table in step (root)" },
	{ "lab", cmd_lab, "a cluster of network namespaces running the real enforcer; probe it (root)" },
	{ "intents", cmd_intents, "ClientIntents (\"client calls server\") to least-privilege NetworkPolicies" },
	{ "learn", cmd_learn, "observe traffic (libpcap) and propose least-privilege NetworkPolicies" },
	{ "test", cmd_test, "run connectivity assertions: offline, in the lab, or in a cluster" },
	{ "lint", cmd_lint, "find mistakes in NetworkPolicies: dead selectors, missing DNS, shadowed rules" },
	{ "diff", cmd_diff, "the connectivity that changes between two sets of manifests" },
	{ "version", cmd_version, "print the version" },
	{ "help", cmd_help, "help on a command: netward help COMMAND" },
};

static void usage(FILE *f)
{
	fputs("Usage: netward COMMAND [options] [args]\n"
	      "\n"
	      "netward enforces Kubernetes NetworkPolicy with nftables and answers, offline,\n"
	      "who can reach whom.\n"
	      "\n"
	      "Commands:\n",
	      f);
	for (size_t i = 0; i < NW_ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fputs("\nRun 'netward COMMAND --help' for a command's options.\n"
	      "Exit status: 0 ok/allowed, 1 denied/findings/failures, 2 usage or input error,\n"
	      "3 environment error.\n",
	      f);
}

static const struct cli_cmd *find(const char *name)
{
	for (size_t i = 0; i < NW_ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int cmd_help(int argc, char **argv)
{
	const struct cli_cmd *c;
	char *args[] = { NULL, (char *)"--help", NULL };

	if (argc < 2) {
		usage(stdout);
		return EXIT_OK;
	}
	if (is_help(argv[1])) {
		fputs("Usage: netward help [COMMAND]\n\n"
		      "Without COMMAND, lists the commands; with one, prints its help (the same as\n"
		      "'netward COMMAND --help').\n",
		      stdout);
		return EXIT_OK;
	}
	if (argc > 2)
		return cli_usage_error("help", "unexpected argument \"%s\"", argv[2]);
	c = find(argv[1]);
	if (c == NULL)
		return cli_usage_error("help", "no command \"%s\"", argv[1]);
	args[0] = argv[1];
	return c->fn(2, args);
}

int main(int argc, char **argv)
{
	static char argv0[32];
	const struct cli_cmd *c;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (is_help(argv[1])) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(0, NULL);
	c = find(argv[1]);
	if (c == NULL) {
		fprintf(stderr, "netward: \"%s\" is not a command\n\n", argv[1]);
		usage(stderr);
		return EXIT_USAGE;
	}
	/* getopt names the program argv[0] in its messages: make that "netward CMD". */
	snprintf(argv0, sizeof(argv0), "netward %s", c->name);
	argv[1] = argv0;
	return c->fn(argc - 1, argv + 1);
}
