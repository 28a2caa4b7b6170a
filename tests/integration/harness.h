/* SPDX-License-Identifier: Apache-2.0 */
/*
 * harness.h - the integration test harness: starts the real redis-server,
 * smartpromo-devbroker and smartpromod on private ports in a temporary
 * directory, talks to them (Kafka producer and consumer, Redis, admin HTTP
 * API) and tears everything down, as hiredis's test.sh and Redis's
 * start_server do.
 *
 * Not pure: forks, writes files, opens sockets.  Every function that can
 * fail returns 0 (or a count) on success and -1 with the reason in h->err,
 * the way hiredis keeps redisContext->errstr.  A failure that involves a
 * child process also prints which process it was and the tail of its log
 * to stderr.
 *
 * Children get SIGTERM when the test process dies (PR_SET_PDEATHSIG) and
 * harness_release() (also run at exit) kills what is left and removes the
 * directory unless SP_KEEP_TMP=1.  JSON returned to the caller is a new
 * reference (json_decref it); strings returned are malloc'd (free them).
 */
#ifndef SP_HARNESS_H
#define SP_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>

#define HARNESS_DIR_MAX 256
#define HARNESS_PATH_MAX 512
#define HARNESS_ERR_MAX 1024

/* The topics the daemon config names and the broker creates. */
#define HARNESS_TOPIC_EVENTS "smartpromo.events"
#define HARNESS_TOPIC_OFFERS "smartpromo.offers"
#define HARNESS_TOPIC_METRICS "smartpromo.metrics"
#define HARNESS_TOPIC_DEAD "smartpromo.dead-letter"

/* One child process and where its output goes. */
struct harness_proc {
	const char *name;               /* "redis-server", ... */
	pid_t pid;                      /* 0: not running */
	int status;                     /* waitpid status once it exited */
	char out[HARNESS_PATH_MAX];     /* stdout file */
	char log[HARNESS_PATH_MAX];     /* stderr file (may equal out) */
};

/* Where a produced message landed (filled by the delivery report). */
struct harness_pos {
	int32_t partition;
	int64_t offset;
	int done;                       /* delivery report seen */
	int error;                      /* rd_kafka_resp_err_t, 0: ok */
};

struct harness {
	char dir[HARNESS_DIR_MAX];      /* the temporary directory */
	char conf[HARNESS_PATH_MAX];    /* the daemon config file */
	char bootstrap[128];            /* HOST:PORT of the broker */
	int redis_port;
	int admin_port;
	char url[64];                   /* http://127.0.0.1:<admin_port> */
	struct harness_proc redis, broker, daemon;
	redisContext *rc;
	rd_kafka_t *producer;
	int failed_deliveries;          /* delivery reports with an error */
	int test_ok;                    /* set by harness_pass() */
	int any_failed;                 /* a test of the group failed */
	char extra_config[2048];        /* appended to the config ("": none) */
	char err[HARNESS_ERR_MAX];
};

/* Make the temporary directory (under $TMPDIR or /tmp); fills h->dir. */
int harness_init(struct harness *h);

/*
 * Kill every child, close connections, remove the directory unless
 * SP_KEEP_TMP=1 (then print where it is).  Safe on a partial harness and
 * twice.
 */
void harness_release(struct harness *h);

/* A free TCP port on 127.0.0.1 (bind port 0, read it, close). */
int harness_free_port(struct harness *h, int *port);

/* Start redis-server on a free port and wait until it answers PING. */
int harness_start_redis(struct harness *h);

/* Start the dev broker with the four topics; fills h->bootstrap. */
int harness_start_broker(struct harness *h);

/*
 * Write the daemon config file h->conf (picks the admin port if 0), then
 * h->extra_config as it is (set it after harness_init(), e.g. to add
 * [segments] or [plans] keys; a section may appear twice, a key may not).
 * [plans] require_shop_data = no is written first unless h->extra_config
 * names the key.
 */
int harness_write_config(struct harness *h);

/* Start smartpromod -c h->conf; wait until /v1/status says ready. */
int harness_start_daemon(struct harness *h);

/*
 * Stop the daemon (SIGTERM, then SIGKILL after 15 s); *status gets the
 * waitpid status.
 */
int harness_stop_daemon(struct harness *h, int *status);

/* Stop the daemon, expect exit status 0, start it again with h->conf. */
int harness_restart_daemon(struct harness *h);

/* Redis, broker, config and daemon: everything a test group needs. */
int harness_start_all(struct harness *h);

/* Nonzero while the process is running (reaps it if it exited). */
int harness_proc_alive(struct harness_proc *p);

/* Print the last lines of a process's log to stderr. */
void harness_log_tail(const struct harness_proc *p, int lines);

/*
 * Run argv (argv[0] a path) to completion with stdout and stderr into the
 * file out; *status gets the waitpid status.  Gives up after timeout_ms.
 */
int harness_run(struct harness *h, char *const argv[], const char *out,
    int timeout_ms, int *status);

/* Read a whole file (malloc'd, NUL-terminated) or NULL. */
char *harness_read_file(const char *path);

/* Write text to dir/name; fills path (may be NULL). */
int harness_write_file(struct harness *h, const char *name,
    const char *text, char *path, size_t pathlen);

/*
 * Queue one message (copied) for topic with key; pos, if not NULL, is
 * filled when harness_flush() returns.  Call harness_flush() to send.
 */
int harness_send(struct harness *h, const char *topic, const char *key,
    const void *payload, size_t len, struct harness_pos *pos);

/* Wait until every queued message is delivered; -1 if any failed. */
int harness_flush(struct harness *h);

/* harness_send() then harness_flush(). */
int harness_produce(struct harness *h, const char *topic, const char *key,
    const void *payload, size_t len, struct harness_pos *pos);

/* Serialise ev compactly and queue it to the input topic under key. */
int harness_send_event(struct harness *h, const char *key, json_t *ev);

/* Return nonzero if a consumed message is wanted. */
typedef int (*harness_match_fn)(json_t *msg, void *arg);

/*
 * Read topic from the beginning of every partition.  Each message becomes
 * {"partition", "offset", "key", "value"}; value is the parsed JSON, or
 * the raw text as a string (and "raw": true) when it is not JSON; text
 * that is not UTF-8 has its other bytes written as \xNN.  match
 * (NULL: all) picks the messages kept in *out (a new array).
 * want > 0: stop once want are kept, or after idle_ms without a message.
 * want == 0: stop once every partition is at its end (what is there now).
 * Returns the number kept, or -1.
 */
int harness_consume(struct harness *h, const char *topic,
    harness_match_fn match, void *arg, int want, int idle_ms, json_t **out);

/* HGET: *value is a malloc'd string or NULL when the field is absent. */
int harness_hget(struct harness *h, const char *key, const char *field,
    char **value);

/* HGET parsed as an integer; an absent field is 0. */
int harness_hget_ll(struct harness *h, const char *key, const char *field,
    long long *value);

/* HGETALL as a JSON object of strings (new reference; non-UTF-8 as \xNN). */
int harness_hgetall(struct harness *h, const char *key, json_t **out);

/* EXISTS: 1 or 0, -1 on error. */
int harness_exists(struct harness *h, const char *key);

/*
 * Poll HGET key field until it is >= want (absent counts 0) or timeout_ms
 * passes; *got gets the last value.  -1 on timeout, with the figures.
 */
int harness_wait_hash_ge(struct harness *h, const char *key,
    const char *field, long long want, int timeout_ms, long long *got);

/* Poll EXISTS key until it is 1 or timeout_ms passes. */
int harness_wait_exists(struct harness *h, const char *key, int timeout_ms);

/*
 * An admin API call: body may be NULL; *status is the HTTP status; *out
 * (may be NULL) gets the parsed JSON body (NULL if it is not JSON).
 */
int harness_http(struct harness *h, const char *method, const char *path,
    const char *body, int *status, json_t **out);

/*
 * The value of one sample of GET /metrics, the line "name value" with
 * name as given (labels included); -1 when absent or on an error.
 */
long long harness_metric(struct harness *h, const char *name);

/* Mark the running test as passed (its teardown then prints no logs). */
void harness_pass(struct harness *h);

/* Wall clock in epoch milliseconds. */
int64_t harness_now_ms(void);

/* Sleep for ms milliseconds. */
void harness_sleep_ms(int ms);

/* The UTC date "YYYY-MM-DD" of epoch ms ts (buf at least 11 bytes). */
void harness_date(int64_t ts, char *buf, size_t len);

/* ---- small helpers the test files share ---- */

/* Compact JSON text of o in one of four static buffers (for messages). */
const char *harness_jtext(const json_t *o);

/* A string field of an object, "" when absent. */
const char *harness_sfield(const json_t *o, const char *name);

/* FNV-1a 64 of a string: the documented holdout hash. */
uint64_t harness_fnv1a64(const char *s);

/* Nonzero if the documented rule puts customer_id in a pct % holdout. */
int harness_in_holdout(const char *customer_id, double pct);

/*
 * For a cmocka group setup: harness_init(h), extra (NULL: none) as
 * h->extra_config, harness_start_all(h); 0, or -1 with the reason on
 * stderr and h released.
 */
int harness_start_group(struct harness *h, const char *extra);

/* cmocka group teardown (state: the struct harness): release it. */
int harness_teardown_group(void **state);

/* cmocka per-test setup (state: the struct harness): not passed yet; a
 * dead daemon fails the test at once. */
int harness_setup_test(void **state);

/* cmocka per-test teardown: when the test failed, mark the group and show
 * the temporary directory and the daemon's log tail. */
int harness_teardown_test(void **state);

#endif
