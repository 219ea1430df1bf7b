/* SPDX-License-Identifier: Apache-2.0 */
/* netward agent: placeholder until its issue lands (see issues). */
#include "cli.h"

int cmd_agent(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("netward agent: not available in this build yet\n", stderr);
	return EXIT_ENV;
}
