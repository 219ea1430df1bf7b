/* SPDX-License-Identifier: Apache-2.0 */
/* netward intents: placeholder until its issue lands (see issues). */
#include "cli.h"

int cmd_intents(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("netward intents: not available in this build yet\n", stderr);
	return EXIT_ENV;
}
