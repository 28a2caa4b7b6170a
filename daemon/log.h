/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.h - logging to stderr with sd-daemon "<N>" priority prefixes, so the
 * journal keeps levels (OpenSMTPD log.h vocabulary): log_warn() appends
 * strerror(errno), log_warnx() does not; fatal()/fatalx() log and exit 1.
 * Repeats of the same message within a second are counted, not printed,
 * and each format (call site) may log 10 lines a second with bursts of 50:
 * lines over that are counted and reported as "N similar messages
 * suppressed" once the format may log again (on the next line logged, or
 * at log_flush(), which the daemon calls from a timer).  Not thread-safe:
 * call from the event loop only.
 */
#ifndef SP_LOG_H
#define SP_LOG_H

#include <stdarg.h>

enum log_level { LOG_L_ERR = 3, LOG_L_WARNING = 4, LOG_L_NOTICE = 5,
	LOG_L_INFO = 6, LOG_L_DEBUG = 7 };

/* Set the threshold from a name ("info"); unknown names keep the old one. */
void log_set_level(const char *name);

/* Turn the rate limit per message format on (nonzero) or off. */
void log_set_rate_limit(int on);
int log_enabled(enum log_level level);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print the suppression summaries that are due (from a timer). */
void log_flush(void);

void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2),
    noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2),
    noreturn));

#endif
