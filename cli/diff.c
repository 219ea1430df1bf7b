/* SPDX-License-Identifier: Apache-2.0 */
/* netward diff: placeholder until its issue lands (see issues). */
#include "cli.h"

int cmd_diff(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("netward diff: not available in this build yet\n", stderr);
	return EXIT_ENV;
}
