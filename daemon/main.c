/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c - smartpromod's command line: -c FILE, -n (check the config),
 * -V (version).  Everything else is server_run().
 */
#include "config.h"
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Print usage and exit 2. */
static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: smartpromod [-nV] [-c file]\n");
	exit(2);
}

/* Load the file (or the embedded defaults); print errors; 0 or -1. */
static int
main_load(struct sp_config *cfg, const char *path)
{
	struct config_errors errs = { 0 };

	if (path == NULL) {
		config_defaults(cfg);
		return 0;
	}
	if (config_load(cfg, path, &errs) == 0)
		return 0;
	for (size_t i = 0; i < errs.count; i++)
		fprintf(stderr, "%s\n", errs.msg[i]);
	config_errors_release(&errs);
	return -1;
}

int
main(int argc, char **argv)
{
	static struct sp_config cfg;
	const char *path = NULL;
	int ch, check = 0;

	while ((ch = getopt(argc, argv, "c:nVh")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'V':
			printf("smartpromod %s\n", SP_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (main_load(&cfg, path) == -1)
		return 1;
	if (check) {
		printf("configuration OK\n");
		return 0;
	}
	return server_run(&cfg, path);
}
