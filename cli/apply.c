/* SPDX-License-Identifier: Apache-2.0 */
/* netward apply: program a node's table into the kernel, in one transaction. */
#include "cli.h"
#include "enforce_opts.h"

#include <netward/conntrack.h>
#include <netward/nft.h>

#include <errno.h>
#include <time.h>

static const char usage[] =
	"Usage: netward apply -f PATH... --node NODE [options]\n"
	"       netward apply --delete\n"
	"\n"
	"Programs the node's NetworkPolicy table (table inet netward) into the kernel of\n"
	"the current network namespace, in one nftables transaction: the old table is\n"
	"replaced atomically, never flushed first. Re-applying an unchanged plan sends\n"
	"nothing. Established connections the new rules deny are cut (their conntrack\n"
	"entries deleted). Needs root (CAP_NET_ADMIN).\n"
	"\n"
	"Options:\n"
	"      --delete            remove the table (rules stop being enforced)\n"
	"      --dry-run           build the transaction and print it, send nothing\n"
	"      --keep-connections  do not cut established connections the rules now deny\n" ENFORCE_OPTS_HELP
		CLI_COMMON_HELP
	"\n"
	"Exit status: 0 applied (or unchanged), 2 usage or input error, 3 environment\n"
	"error (no root, no nftables, the kernel rejected the table).\n";

enum {
	OPT_DELETE = OPT__NEXT,
	OPT_DRY_RUN,
	OPT_KEEP,
};

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static int open_nft(struct nw_nft **h)
{
	int r = nw_nft_open(h);

	if (r < 0) {
		fprintf(stderr, "netward apply: cannot open the netfilter netlink socket: %s%s\n", strerror(-r),
			r == -EPERM || r == -EACCES ? " (run as root: CAP_NET_ADMIN is needed)" : "");
		return EXIT_ENV;
	}
	return EXIT_OK;
}

static int do_delete(bool dry_run)
{
	struct nw_batch *b = nw_batch_new(true);
	struct nw_buf err = { 0 };
	struct nw_nft *h;
	int r, ret;

	nw_lower_delete(b);
	if (dry_run) {
		fputs(nw_batch_debug(b), stdout);
		nw_batch_free(b);
		return EXIT_OK;
	}
	ret = open_nft(&h);
	if (ret != EXIT_OK) {
		nw_batch_free(b);
		return ret;
	}
	r = nw_nft_commit(h, b, &err);
	if (r == -ENOENT) {
		printf("no table inet %s: nothing to delete\n", NW_TABLE);
		ret = EXIT_OK;
	} else if (r < 0) {
		fprintf(stderr, "netward apply --delete: %s\n", err.s);
		ret = EXIT_ENV;
	} else {
		printf("deleted table inet %s\n", NW_TABLE);
	}
	nw_buf_free(&err);
	nw_batch_free(b);
	nw_nft_close(h);
	return ret;
}

int cmd_apply(int argc, char **argv)
{
	static const struct option opts[] = { CLI_COMMON_OPTS, ENFORCE_OPTS,
					      { "delete", no_argument, NULL, OPT_DELETE },
					      { "dry-run", no_argument, NULL, OPT_DRY_RUN },
					      { "keep-connections", no_argument, NULL, OPT_KEEP },
					      { NULL, 0, NULL, 0 } };
	struct cli_common cc;
	struct enforce_opts eo;
	struct nw_cluster c;
	struct nw_plan plan;
	struct nw_buf err = { 0 };
	struct nw_nft *h = NULL;
	struct nw_batch *b;
	struct timespec t0;
	bool del = false, dry_run = false, keep = false;
	uint64_t digest;
	int ret, opt, r;

	cli_common_init(&cc);
	enforce_opts_init(&eo);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "f:o:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			fputs(usage, stdout);
			ret = EXIT_OK;
			goto out;
		case OPT_DELETE:
			del = true;
			continue;
		case OPT_DRY_RUN:
			dry_run = true;
			continue;
		case OPT_KEEP:
			keep = true;
			continue;
		}
		ret = enforce_opt(&eo, "apply", opt, optarg);
		if (ret < 0)
			ret = cli_common_opt(&cc, "apply", opt, optarg);
		if (ret != 0) {
			if (ret < 0)
				ret = cli_usage_error("apply", "unknown option");
			goto out;
		}
	}
	if (optind != argc) {
		ret = cli_usage_error("apply", "unexpected argument \"%s\"", argv[optind]);
		goto out;
	}
	if (del) {
		ret = do_delete(dry_run);
		goto out;
	}
	if (eo.node == NULL && !eo.all) {
		ret = cli_usage_error("apply", "--node NODE is required (or --all for every pod)");
		goto out;
	}
	ret = cli_load(&cc, "apply", &c);
	if (ret != EXIT_OK)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	enforce_plan(&eo, &c, &plan, NULL);
	digest = nw_plan_digest(&plan);
	b = nw_batch_new(dry_run);
	nw_lower_replace(b, &plan);
	if (dry_run) {
		fputs(nw_batch_debug(b), stdout);
		ret = EXIT_OK;
		goto out_batch;
	}
	ret = open_nft(&h);
	if (ret != EXIT_OK)
		goto out_batch;
	{
		uint64_t cur;
		if (nw_nft_table_digest(h, &cur) == 0 && cur == digest) {
			printf("unchanged: table inet %s already holds this plan (%016llx); nothing sent\n", NW_TABLE,
			       (unsigned long long)digest);
			goto out_batch;
		}
	}
	r = nw_nft_commit(h, b, &err);
	if (r < 0) {
		fprintf(stderr, "netward apply: %s\n", err.s);
		ret = EXIT_ENV;
		goto out_batch;
	}
	printf("applied table inet %s: %zu pods, %zu chains, %zu rules, %zu set elements in one transaction "
	       "(%zu messages, %zu bytes) in %.1f ms\n",
	       NW_TABLE, plan.pods.n, plan.chains.n, nw_plan_rule_count(&plan), nw_plan_elem_count(&plan),
	       nw_batch_messages(b), nw_batch_bytes(b), ms_since(&t0));
	if (!keep) {
		struct nw_ct_stats st;
		r = nw_ct_cleanup(&plan, &st, &err);
		if (r < 0)
			fprintf(stderr, "netward apply: conntrack cleanup: %s\n", err.s);
		else if (st.deleted)
			printf("cut %zu established connection%s the rules now deny\n", st.deleted,
			       st.deleted == 1 ? "" : "s");
	}
out_batch:
	nw_batch_free(b);
	nw_nft_close(h);
	nw_plan_free(&plan);
	nw_cluster_free(&c);
out:
	nw_buf_free(&err);
	enforce_opts_fini(&eo);
	cli_common_fini(&cc);
	return ret;
}
