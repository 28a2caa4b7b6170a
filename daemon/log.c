/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.c - "<N>"-prefixed lines on stderr with repeat suppression.
 */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum log_level log_threshold = LOG_L_INFO;
static char log_last[1024];
static time_t log_last_time;
static unsigned log_repeats;

/* Threshold by name. */
void
log_set_level(const char *name)
{
	static const struct { const char *name; enum log_level l; } t[] = {
		{ "err", LOG_L_ERR }, { "warning", LOG_L_WARNING },
		{ "notice", LOG_L_NOTICE }, { "info", LOG_L_INFO },
		{ "debug", LOG_L_DEBUG },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(name, t[i].name) == 0)
			log_threshold = t[i].l;
}

/* Nonzero if a message of this level is printed. */
int
log_enabled(enum log_level level)
{
	return level <= log_threshold;
}

/* Print one line unless it repeats the last one within a second. */
static void
log_emit(enum log_level level, const char *msg)
{
	time_t now = time(NULL);

	if (strcmp(msg, log_last) == 0 && now == log_last_time) {
		log_repeats++;
		return;
	}
	if (log_repeats > 0)
		fprintf(stderr, "<%d>last message repeated %u times\n",
		    LOG_L_NOTICE, log_repeats);
	log_repeats = 0;
	snprintf(log_last, sizeof(log_last), "%s", msg);
	log_last_time = now;
	fprintf(stderr, "<%d>%s\n", level, msg);
}

/* Format and emit, with strerror appended when errnum != 0. */
static void
log_vlog(enum log_level level, int errnum, const char *fmt, va_list ap)
{
	char buf[1024];
	int n;

	if (!log_enabled(level))
		return;
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (errnum != 0 && n >= 0 && (size_t)n < sizeof(buf))
		snprintf(buf + n, sizeof(buf) - (size_t)n, ": %s",
		    strerror(errnum));
	log_emit(level, buf);
}

#define LOG_DEFINE(name, level, witherr)			\
void								\
name(const char *fmt, ...)					\
{								\
	int e = errno;						\
	va_list ap;						\
								\
	va_start(ap, fmt);					\
	log_vlog(level, witherr ? e : 0, fmt, ap);		\
	va_end(ap);						\
	errno = e;						\
}

LOG_DEFINE(log_warn, LOG_L_WARNING, 1)
LOG_DEFINE(log_warnx, LOG_L_WARNING, 0)
LOG_DEFINE(log_notice, LOG_L_NOTICE, 0)
LOG_DEFINE(log_info, LOG_L_INFO, 0)
LOG_DEFINE(log_debug, LOG_L_DEBUG, 0)

/* Log with strerror and exit 1. */
void
fatal(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_L_ERR, e, fmt, ap);
	va_end(ap);
	exit(1);
}

/* Log and exit 1. */
void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_L_ERR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
