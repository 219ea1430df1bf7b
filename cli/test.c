/* SPDX-License-Identifier: Apache-2.0 */
/* netward test: placeholder until its issue lands (see issues). */
#include "cli.h"

int cmd_test(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("netward test: not available in this build yet\n", stderr);
	return EXIT_ENV;
}
