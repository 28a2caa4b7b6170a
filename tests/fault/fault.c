/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fault.c - spfault's main(): picks the command, and the small helpers the
 * commands share.  See fault.h.
 */
#include "fault.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Print "spfault: " and the message to stderr. */
void
fault_warnx(const char *fmt, ...)
{
	va_list ap;

	fputs("spfault: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Out of memory: nothing sensible is left to do in a test tool. */
void
fault_oom(void)
{
	fault_warnx("out of memory");
	exit(1);
}

/* strdup that cannot fail. */
char *
fault_strdup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		fault_oom();
	return d;
}

/* Parse a decimal integer within [min, max]. */
int
fault_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Parse a number within [min, max]. */
int
fault_parse_dbl(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v) || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Wall clock in epoch ms. */
int64_t
fault_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Monotonic clock in seconds. */
double
fault_mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Read one line of any length, without its newline. */
long
fault_getline(char **buf, size_t *cap, FILE *fp)
{
	size_t n = 0;
	int c;

	while ((c = getc(fp)) != EOF && c != '\n') {
		if (n + 2 > *cap) {
			size_t nc = *cap ? *cap * 2 : 4096;
			char *nb = realloc(*buf, nc);

			if (nb == NULL)
				fault_oom();
			*buf = nb;
			*cap = nc;
		}
		(*buf)[n++] = (char)c;
	}
	if (c == EOF && n == 0)
		return -1;
	if (*buf == NULL && (*buf = malloc(*cap = 16)) == NULL)
		fault_oom();
	(*buf)[n] = '\0';
	return (long)n;
}

/* Free every malloc'd value of a map, then the map. */
void
fault_free_values(struct strmap *m)
{
	size_t pos = 0;
	const char *k;
	void *v;

	while (strmap_next(m, &pos, &k, &v))
		free(v);
	strmap_release(m);
}

/* spfault port: print a free TCP port of 127.0.0.1 (bind 0, read, close). */
static int
fault_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd == -1 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) == -1) {
		fault_warnx("no free port: %s", strerror(errno));
		if (fd != -1)
			close(fd);
		return 1;
	}
	printf("%d\n", ntohs(sa.sin_port));
	close(fd);
	return 0;
}

/* The usage text. */
static void
fault_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: spfault gen [options]     write the input event stream\n"
	    "       spfault wait [options]    wait for committed input offsets\n"
	    "       spfault check [options]   compare Redis and the topics "
	    "with the model\n"
	    "       spfault port              print a free TCP port\n"
	    "each command with -h prints its options\n");
}

/* Pick the command. */
int
main(int argc, char **argv)
{
	if (argc < 2) {
		fault_usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "gen") == 0)
		return gen_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "wait") == 0)
		return wait_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "check") == 0)
		return check_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "port") == 0)
		return fault_port();
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fault_usage(stdout);
		return 0;
	}
	fault_usage(stderr);
	return 2;
}
