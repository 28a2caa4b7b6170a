/* SPDX-License-Identifier: Apache-2.0 */
/*
 * report.h - a plan's figures per day (engine/snapshot.h) gathered from
 * the per-product day counters and HyperLogLogs, and the nightly T+1
 * snapshot job: at [schedule] snapshot_time in [schedule] timezone it
 * snapshots yesterday and re-snapshots the grace days before it (late
 * events count when a day is re-run), storing each plan's day in
 * sp:daily:<plan>:<date> and its products' in sp:daily:<plan>:<date>:products
 * and emitting daily_metrics to [kafka] metrics_topic.  A day re-run gives
 * the same figures from the same counters.
 *
 * daily_metrics are at least once with stable ids: a plan's day, its
 * products' rows and its messages (in sp:metrics:outbox, field =
 * metrics_id) are written in one MULTI/EXEC, and only then produced; a
 * message leaves the outbox once its delivery report says delivered, and
 * what is left there (a failed delivery, a restart) is sent again
 * (report_resume(), and every REPORT_RESEND_MS while the outbox is not
 * empty).  Each message carries metrics_id and revision (a hash of its
 * figures), so a consumer de-duplicates by the pair.
 */
#ifndef SP_REPORT_H
#define SP_REPORT_H

#include <event2/event.h>
#include <jansson.h>

#include "config.h"
#include "kafka.h"
#include "plans.h"
#include "snapshot.h"
#include "store.h"

#define REPORT_GRACE_DAYS 2     /* days before yesterday re-run nightly */
#define REPORT_OUTBOX_KEY "metrics:outbox"      /* after the key prefix */
#define REPORT_RETRY_MS 1000    /* a failed delivery is sent again after */
#define REPORT_RESEND_MS 5000   /* the outbox is read again while not empty */

struct report;

/* The rows of one plan over dates: plan rows, and product rows per date. */
struct report_rows {
	char plan_id[PLAN_ID_MAX];
	size_t ndays, nprod;
	char (*dates)[SNAPSHOT_DATE_MAX];
	struct snapshot_day *plan;      /* [ndays], derived */
	struct snapshot_day *prod;      /* [ndays * nprod], day-major */
	int *final;                     /* [ndays]: from a stored snapshot */
};

typedef void report_rows_cb(const struct report_rows *rows, const char *err,
    void *arg);
typedef void report_done_cb(const json_t *result, const char *err,
    void *arg);

struct report *report_new(struct event_base *base, struct store *st,
    struct plans *plans, const struct sp_config *cfg);
void report_free(struct report *rp);

/* The Kafka client for daily_metrics (set once it exists). */
void report_set_kafka(struct report *rp, struct kafka *k);

/*
 * A delivery report: 1 if opaque is one of this module's daily_metrics
 * messages (handled), 0 if it belongs to someone else.
 */
int report_delivered(struct report *rp, const rd_kafka_message_t *m,
    void *opaque);

/* The store is up (at start or after an outage): send again what waits in
 * the metrics outbox. */
void report_resume(struct report *rp);

/* A row's daily_metrics message (malloc'd): *id the metrics_id
 * "<plan>:<date>[:<product>]", *payload the JSON with metrics_id and
 * revision; 0, or -1 when out of memory. */
int report_metrics_message(const struct snapshot_day *row, char **id,
    char **payload);

/* Re-arm the nightly timer (after a reload). */
void report_configure(struct report *rp, const struct sp_config *cfg);

/*
 * Gather plan p's rows for dates (live from the counters; with stored
 * non-zero, a date with a stored snapshot uses it for the plan row and is
 * marked final).  The rows are valid during the callback.
 */
int report_gather(struct report *rp, const struct plan *p,
    const char (*dates)[SNAPSHOT_DATE_MAX], size_t ndates, int stored,
    report_rows_cb *cb, void *arg);

/* Snapshot date for plan_id (NULL: every plan running on that date). */
int report_snapshot(struct report *rp, const char *date, const char *plan_id,
    report_done_cb *cb, void *arg);

/* The plan's dates from its first to its last day (malloc'd), filtered by
 * from/to ("" for none); returns the count. */
size_t report_plan_dates(const struct plan *p, const char *from,
    const char *to, char (**dates)[SNAPSHOT_DATE_MAX]);

#endif
