/* SPDX-License-Identifier: Apache-2.0 */
/* netward compile: a node's nftables table, printed, touching nothing. */
#include "cli.h"
#include "enforce_opts.h"

#include <netward/plan.h>

static const char usage[] =
	"Usage: netward compile -f PATH... --node NODE [options]\n"
	"\n"
	"Prints the nftables table netward would program on NODE (the pods whose\n"
	"spec.nodeName is NODE), as `nft -f` input or as the plan in JSON. Touches\n"
	"nothing: no root needed.\n"
	"\n"
	"Options:\n"
	"  -o, --output FORMAT     nft (default) or json\n"
	"      --replace           start the nft text with a delete of the old table, so\n"
	"                          `nft -f` replaces it in one transaction\n" ENFORCE_OPTS_HELP CLI_COMMON_HELP
	"\n"
	"Exit status: 0 printed, 2 usage or input error.\n";

int cmd_compile(int argc, char **argv)
{
	static const struct option opts[] = { CLI_COMMON_OPTS, ENFORCE_OPTS, { "replace", no_argument, NULL, 'R' },
					      { NULL, 0, NULL, 0 } };
	static const char *const formats[] = { "nft", "json", NULL };
	struct cli_common cc;
	struct enforce_opts eo;
	struct nw_cluster c;
	struct nw_plan plan;
	struct nw_buf out = { 0 };
	bool replace = false;
	int ret, opt, fmt_err = 0;

	cli_common_init(&cc);
	enforce_opts_init(&eo);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "f:o:vh", opts, NULL)) != -1) {
		if (opt == 'h') {
			fputs(usage, stdout);
			ret = EXIT_OK;
			goto out;
		}
		if (opt == 'R') {
			replace = true;
			continue;
		}
		ret = enforce_opt(&eo, "compile", opt, optarg);
		if (ret < 0)
			ret = cli_common_opt(&cc, "compile", opt, optarg);
		if (ret != 0) {
			if (ret < 0)
				ret = cli_usage_error("compile", "unknown option");
			goto out;
		}
	}
	cli_output_is(&cc, "nft", formats, "compile", &fmt_err);
	if (fmt_err) {
		ret = fmt_err;
		goto out;
	}
	if (optind != argc) {
		ret = cli_usage_error("compile", "unexpected argument \"%s\"", argv[optind]);
		goto out;
	}
	if (eo.node == NULL && !eo.all) {
		ret = cli_usage_error("compile", "--node NODE is required (or --all for every pod)");
		goto out;
	}
	ret = cli_load(&cc, "compile", &c);
	if (ret != EXIT_OK)
		goto out;
	enforce_plan(&eo, &c, &plan, NULL);
	if (cc.output != NULL && strcmp(cc.output, "json") == 0)
		nw_plan_format_json(&plan, &out);
	else
		nw_plan_format_nft(&plan, replace, &out);
	ret = cli_write_stdout(&out);
	nw_plan_free(&plan);
	nw_cluster_free(&c);
out:
	nw_buf_free(&out);
	enforce_opts_fini(&eo);
	cli_common_fini(&cc);
	return ret;
}
