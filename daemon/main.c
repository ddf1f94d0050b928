/* main.c — vpc-failoverd: command line, then (for now) only --check. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon/cfg.h"
#include "daemon/log.h"

static void usage(FILE *fp)
{
	fprintf(fp, "usage: vpc-failoverd [-c FILE] [-f] [-v] [--check|-n] [-h]\n");
}

static void help(void)
{
	usage(stdout);
	printf("  -c, --config FILE  configuration file (default %s)\n"
	       "  -f, --foreground   stay in the foreground, log to stderr\n"
	       "  -v, --verbose      log debug messages\n"
	       "  -n, --check        check the configuration and exit\n"
	       "  -h, --help         this help\n",
	       CFG_PATH_DEFAULT);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"foreground", no_argument, NULL, 'f'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"check", no_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = CFG_PATH_DEFAULT;
	int ch, check = 0, foreground = 0;
	enum log_level level = LOG_LVL_INFO;
	struct cfg *cfg;

	while ((ch = getopt_long(argc, argv, "c:fvnh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'v':
			level = LOG_LVL_DEBUG;
			break;
		case 'n':
			check = 1;
			break;
		case 'h':
			help();
			return 0;
		default: /* getopt_long said what was wrong */
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vpc-failoverd: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		return 2;
	}
	/* --check reports to the person who ran it, not to syslog. */
	log_init("vpc-failoverd", foreground || check, level);
	if (!check) {
		fprintf(
		    stderr,
		    "vpc-failoverd: the daemon is not implemented yet; use --check\n");
		return 1;
	}
	if ((cfg = cfg_load(path)) == NULL)
		return 1;
	cfg_free(cfg);
	printf("configuration OK\n");
	return 0;
}
