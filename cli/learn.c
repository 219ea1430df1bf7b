/* SPDX-License-Identifier: Apache-2.0 */
/* netward learn: placeholder until its issue lands (see issues). */
#include "cli.h"

int cmd_learn(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("netward learn: not available in this build yet\n", stderr);
	return EXIT_ENV;
}
