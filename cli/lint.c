/* SPDX-License-Identifier: Apache-2.0 */
/* netward lint: placeholder until its issue lands (see issues). */
#include "cli.h"

int cmd_lint(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("netward lint: not available in this build yet\n", stderr);
	return EXIT_ENV;
}
