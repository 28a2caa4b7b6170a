/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.c - "<N>"-prefixed lines on stderr with repeat suppression and a
 * rate limit per message format.
 *
 * The rate limit is a token bucket per format string (per call site: the
 * format's address, so call sites that share a literal share a bucket):
 * LOG_RATE lines a second with bursts of LOG_BURST.  Lines over it are
 * counted, not formatted; the count is printed as "N similar messages
 * suppressed" at the level of the suppressed lines once the bucket has a
 * token again, on the next line logged or at log_flush().  err lines
 * (fatal) are never limited.
 */
#include "log.h"
#include "clock.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOG_RATE 10             /* lines per second per format */
#define LOG_BURST 50            /* lines in a burst per format */
#define LOG_SLOTS 128           /* formats tracked (more: not limited) */
#define LOG_FMT_SHOWN 80        /* bytes of a format in the summary */

/* One format's token bucket. */
struct log_bucket {
	const char *fmt;        /* NULL: free slot */
	enum log_level level;   /* of its last line */
	double tokens;
	int64_t last_ms;        /* of the last refill */
	unsigned suppressed;    /* lines counted since the last summary */
};

static enum log_level log_threshold = LOG_L_INFO;
static int log_limited = 1;     /* the rate limit is on */
static char log_last[1024];
static time_t log_last_time;
static unsigned log_repeats;
static struct log_bucket log_buckets[LOG_SLOTS];
static unsigned log_pending;    /* buckets with suppressed lines */

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

/* Turn the rate limit per format on (nonzero) or off. */
void
log_set_rate_limit(int on)
{
	log_limited = on != 0;
}

/* Nonzero if a message of this level is printed. */
int
log_enabled(enum log_level level)
{
	return level <= log_threshold;
}

/* The bucket of a format (open addressing on its address), or NULL. */
static struct log_bucket *
log_bucket(const char *fmt, int64_t now)
{
	size_t h = (size_t)(((uintptr_t)fmt >> 3) * 2654435761u) % LOG_SLOTS;

	for (size_t i = 0; i < LOG_SLOTS; i++) {
		struct log_bucket *b = &log_buckets[(h + i) % LOG_SLOTS];

		if (b->fmt == fmt)
			return b;
		if (b->fmt == NULL) {
			*b = (struct log_bucket){ fmt, LOG_L_INFO, LOG_BURST,
			    now, 0 };
			return b;
		}
	}
	return NULL;
}

/* Add the tokens earned since the last refill. */
static void
log_refill(struct log_bucket *b, int64_t now)
{
	b->tokens += (double)(now - b->last_ms) * LOG_RATE / 1000.0;
	if (b->tokens > LOG_BURST)
		b->tokens = LOG_BURST;
	b->last_ms = now;
}

/* Print a bucket's summary line and reset its count. */
static void
log_summary(struct log_bucket *b)
{
	fprintf(stderr, "<%d>%u similar messages suppressed: \"%.*s\"\n",
	    b->level, b->suppressed, LOG_FMT_SHOWN, b->fmt);
	b->suppressed = 0;
	log_pending--;
}

/* Summaries of every bucket that may log again (all when force). */
static void
log_summaries(int force)
{
	int64_t now = clock_mono_ms();

	for (size_t i = 0; log_pending > 0 && i < LOG_SLOTS; i++) {
		struct log_bucket *b = &log_buckets[i];

		if (b->fmt == NULL || b->suppressed == 0)
			continue;
		log_refill(b, now);
		if (force || b->tokens >= 1.0)
			log_summary(b);
	}
}

/* Report what was suppressed and may now be told (from a timer). */
void
log_flush(void)
{
	log_summaries(0);
}

/* Nonzero if a line of fmt at level is within its format's rate. */
static int
log_admit(enum log_level level, const char *fmt)
{
	int64_t now = clock_mono_ms();
	struct log_bucket *b;

	if (level <= LOG_L_ERR || !log_limited ||
	    (b = log_bucket(fmt, now)) == NULL)
		return 1;
	log_refill(b, now);
	b->level = level;
	if (b->tokens < 1.0) {
		if (b->suppressed++ == 0)
			log_pending++;
		return 0;
	}
	b->tokens -= 1.0;
	return 1;
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
	if (log_pending > 0)
		log_summaries(level <= LOG_L_ERR);
	if (!log_admit(level, fmt))
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
