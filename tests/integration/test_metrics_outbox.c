/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_metrics_outbox.c - daily_metrics delivered exactly once per
 * (metrics_id, revision) through the metrics outbox (issue 6), with the
 * real smartpromod, redis-server and smartpromo-devbroker
 * (tests/integration/harness.h).  The broker is started here with
 * --control-stdin so that the test can inject faults.
 *
 * Group "metrics_outbox": a plan of three products with page views on
 * three past days (event time today-3 .. today-1, UTC).
 *
 *   test_rejected_produce  the broker fails the next Produce requests
 *                          (TOPIC_AUTHORIZATION_FAILED) while POST
 *                          /v1/snapshots runs for today-3 and today-2: the
 *                          day is stored, its messages wait in
 *                          sp:metrics:outbox, and once the broker accepts
 *                          again every expected message is on the topic
 *                          exactly once per (metrics_id, revision) and
 *                          the outbox is empty;
 *   test_restart_resends   with the broker down, POST /v1/snapshots for
 *                          today-1, kill -9 of the daemon: the outbox
 *                          holds the day's messages; broker up, daemon
 *                          started again: they arrive, exactly once, and
 *                          the outbox empties; nothing sent before is
 *                          sent again.
 *
 * docs/testing.md says what each test proves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "harness.h"

#define ITEST_EVENT_PREFIX "mo-"
#include "itest.h"

#define DAY_MS 86400000LL
#define HOUR_MS 3600000LL
#define NDAYS 3                 /* today-3 .. today-1 */
#define NPROD 3
#define NCUST 6                 /* shoppers per product and day */
#define SHOP "mo-shop"
#define OUTBOX "sp:metrics:outbox"
#define REJECTED 6              /* Produce requests the broker fails */
#define REJECT_ERR "MSG_SIZE_TOO_LARGE"     /* permanent, not sticky */

static const char *const prod_ids[NPROD] = { "mo-p0", "mo-p1", "mo-p2" };

static struct harness harness_o;
static int broker_ctl_fd = -1;  /* the broker's control input */
static int64_t day0_ms;         /* midnight of today-3 */
static char plan_id[64];

/* ---- the broker with a control input ---- */

/* In the child: stdin from the pipe, output to files, exec the broker. */
static void
broker_child(struct harness *h, int in)
{
	char *argv[] = { SP_BIN_DIR "/smartpromo-devbroker",
	    "--topic", HARNESS_TOPIC_EVENTS ":4",
	    "--topic", HARNESS_TOPIC_OFFERS ":4",
	    "--topic", HARNESS_TOPIC_METRICS ":1",
	    "--topic", HARNESS_TOPIC_DEAD ":1", "--control-stdin", NULL };
	int out, log;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	out = open(h->broker.out, O_WRONLY | O_CREAT | O_APPEND, 0644);
	log = open(h->broker.log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (out == -1 || log == -1)
		_exit(126);
	dup2(in, 0);
	dup2(out, 1);
	dup2(log, 2);
	execv(argv[0], argv);
	_exit(127);
}

/* Lines in the broker's stdout so far (-1: none yet). */
static int
broker_lines(struct harness *h, char **last)
{
	char *text = harness_read_file(h->broker.out), *p, *start;
	int n = 0;

	if (last != NULL)
		*last = NULL;
	if (text == NULL)
		return -1;
	for (p = start = text; *p != '\0'; p++)
		if (*p == '\n') {
			if (last != NULL) {
				free(*last);
				*last = strndup(start, (size_t)(p - start));
			}
			start = p + 1;
			n++;
		}
	free(text);
	return n;
}

/* Start the broker with a control pipe; fills h->bootstrap. */
static int
start_broker(struct harness *h)
{
	int fds[2];
	char *first = NULL;
	pid_t pid;

	if (pipe(fds) == -1)
		return -1;
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		close(fds[1]);
		broker_child(h, fds[0]);
	}
	close(fds[0]);
	broker_ctl_fd = fds[1];
	h->broker.pid = pid;
	for (int i = 0; i < 300 && broker_lines(h, NULL) < 1; i++)
		harness_sleep_ms(50);
	if (broker_lines(h, &first) < 1 || first == NULL ||
	    strncmp(first, "bootstrap=", 10) != 0) {
		fprintf(stderr, "harness: no bootstrap= line from the broker\n");
		free(first);
		return -1;
	}
	snprintf(h->bootstrap, sizeof(h->bootstrap), "%s", first + 10);
	free(first);
	return 0;
}

/* One control command; fails the test unless the broker answers "ok". */
static void
broker_ctl(struct harness *h, const char *cmd)
{
	int n = broker_lines(h, NULL), m = n;
	char *last = NULL;
	size_t len = strlen(cmd);

	if (write(broker_ctl_fd, cmd, len) != (ssize_t)len ||
	    write(broker_ctl_fd, "\n", 1) != 1)
		fail_msg("broker control \"%s\": %s", cmd, strerror(errno));
	for (int i = 0; i < 100 && (m = broker_lines(h, &last)) <= n; i++) {
		free(last);
		last = NULL;
		harness_sleep_ms(50);
	}
	if (m <= n || last == NULL || strcmp(last, "ok") != 0)
		fail_msg("broker control \"%s\": answer \"%s\"", cmd,
		    last ? last : "(none)");
	free(last);
}

/* ---- the scenario ---- */

/* "YYYY-MM-DD" of scenario day d. */
static void
sc_date(int d, char *buf)
{
	harness_date(day0_ms + d * DAY_MS, buf, 16);
}

/* The plan over the three products, from day 0's midnight. */
static void
create_plan(struct harness *h)
{
	json_t *body = json_pack("{s:s, s:s, s:[s, s, s], s:i, s:i, s:i, "
	    "s:I}", "name", "outbox", "shop_id", SHOP, "products",
	    prod_ids[0], prod_ids[1], prod_ids[2], "discount_min_pct", 5,
	    "discount_max_pct", 30, "days", 7, "start",
	    (json_int_t)day0_ms), *plan = NULL;
	char *text = json_dumps(body, JSON_COMPACT);
	int status = 0;

	json_decref(body);
	H_OK(h, harness_http(h, "POST", "/v1/plans", text, &status, &plan));
	if (status != 201 || harness_sfield(plan, "plan_id")[0] == '\0')
		fail_msg("POST /v1/plans %s: %d", text, status);
	snprintf(plan_id, sizeof(plan_id), "%s", harness_sfield(plan, "plan_id"));
	free(text);
	json_decref(plan);
}

/* Catalog rows, then NCUST views per product and day; wait until counted. */
static void
feed(struct harness *h)
{
	char cust[32], key[128];

	for (int p = 0; p < NPROD; p++) {
		json_t *ev = event_new("product", SHOP, prod_ids[p], day0_ms);

		json_object_set_new(ev, "price", json_integer(1000 + 500 * p));
		json_object_set_new(ev, "stock", json_integer(100));
		json_object_set_new(ev, "listed_at", json_integer(day0_ms -
		    30 * DAY_MS));
		H_OK(h, harness_send_event(h, prod_ids[p], ev));
		json_decref(ev);
	}
	H_OK(h, harness_flush(h));
	for (int p = 0; p < NPROD; p++) {
		snprintf(key, sizeof(key), "sp:{%s}:product", prod_ids[p]);
		H_OK(h, harness_wait_exists(h, key, WAIT_MS));
	}
	for (int d = 0; d < NDAYS; d++)
		for (int p = 0; p < NPROD; p++)
			for (int c = 0; c < NCUST; c++) {
				json_t *ev;

				snprintf(cust, sizeof(cust), "mo-c%d-%d", d, c);
				ev = view_event(SHOP, prod_ids[p], cust,
				    day0_ms + d * DAY_MS + (8 + c) * HOUR_MS);
				H_OK(h, harness_send_event(h, prod_ids[p], ev));
				json_decref(ev);
			}
	H_OK(h, harness_flush(h));
	for (int d = 0; d < NDAYS; d++)
		for (int p = 0; p < NPROD; p++)
			wait_day_counter(h, prod_ids[p], day0_ms + d * DAY_MS +
			    8 * HOUR_MS, "pv", NCUST);
	harness_sleep_ms(1000); /* the views' offers go out meanwhile */
}

/* POST /v1/snapshots for day d and the plan; must answer 200. */
static void
post_snapshot(struct harness *h, int d)
{
	char path[160], date[16];
	json_t *out = NULL;
	int status = 0;

	sc_date(d, date);
	snprintf(path, sizeof(path), "/v1/snapshots?date=%s&plan=%s", date,
	    plan_id);
	H_OK(h, harness_http(h, "POST", path, NULL, &status, &out));
	if (status != 200)
		fail_msg("POST %s answered %d: %s", path, status, harness_jtext(out));
	json_decref(out);
}

/* HLEN of the outbox. */
static long long
outbox_len(struct harness *h)
{
	redisReply *r = redisCommand(h->rc, "HLEN " OUTBOX);
	long long n;

	if (r == NULL || r->type != REDIS_REPLY_INTEGER)
		fail_msg("HLEN " OUTBOX ": %s", r ? r->str : h->rc->errstr);
	n = r->integer;
	freeReplyObject(r);
	return n;
}

/* Wait until the outbox is empty. */
static void
wait_outbox_empty(struct harness *h, int timeout_ms)
{
	long long n = 0;

	for (int64_t end = harness_now_ms() + timeout_ms;
	    (n = outbox_len(h)) > 0 && harness_now_ms() < end;)
		harness_sleep_ms(100);
	if (n > 0)
		fail_msg("%lld messages still in " OUTBOX " after %d ms", n,
		    timeout_ms);
}

/* Keep the daily_metrics messages. */
static int
match_metrics(json_t *v, void *arg)
{
	(void)arg;
	return strcmp(harness_sfield(v, "type"), "daily_metrics") == 0;
}

/* The metrics_id a row of day d and product p (-1: the plan) must have. */
static void
want_id(int d, int p, char *buf, size_t len)
{
	char date[16];

	sc_date(d, date);
	if (p < 0)
		snprintf(buf, len, "%s:%s", plan_id, date);
	else
		snprintf(buf, len, "%s:%s:%s", plan_id, date, prod_ids[p]);
}

/*
 * Every message on the metrics topic: each (metrics_id, revision) once,
 * the id matching the message's own plan, date and product, keyed by the
 * plan; the rows of days [0, ndays) all there (one per id), no other.
 */
static void
check_topic(struct harness *h, int ndays)
{
	json_t *msgs = NULL, *m, *seen = json_object(), *ids = json_object();
	char id[192], pair[256];
	size_t i;
	int n, bad = 0;

	H_OK(h, n = harness_consume(h, HARNESS_TOPIC_METRICS, match_metrics,
	    NULL, 0, 10000, &msgs));
	json_array_foreach(msgs, i, m) {
		json_t *v = json_object_get(m, "value");
		const char *mid = harness_sfield(v, "metrics_id");
		const char *rev = harness_sfield(v, "revision");
		const char *pid = harness_sfield(v, "product_id");

		snprintf(id, sizeof(id), "%s:%s%s%s", harness_sfield(v, "plan_id"),
		    harness_sfield(v, "date"), pid[0] ? ":" : "", pid);
		snprintf(pair, sizeof(pair), "%s/%s", mid, rev);
		if (strcmp(mid, id) != 0 || strlen(rev) != 16 ||
		    strcmp(harness_sfield(m, "key"), plan_id) != 0) {
			print_error("bad message: %s\n", harness_jtext(m));
			bad++;
		}
		if (json_object_get(seen, pair) != NULL) {
			print_error("sent twice: %s\n", pair);
			bad++;
		}
		json_object_set_new(seen, pair, json_true());
		json_object_set_new(ids, mid, json_true());
	}
	print_message("%d daily_metrics messages, %zu ids\n", n,
	    json_object_size(ids));
	for (int d = 0; d < ndays; d++)
		for (int p = -1; p < NPROD; p++) {
			want_id(d, p, id, sizeof(id));
			if (json_object_get(ids, id) == NULL) {
				print_error("missing: %s\n", id);
				bad++;
			}
		}
	if ((int)json_object_size(ids) != ndays * (NPROD + 1) ||
	    n != ndays * (NPROD + 1))
		bad++;
	json_decref(msgs);
	json_decref(seen);
	json_decref(ids);
	if (bad)
		fail_msg("%d problems on the metrics topic (%d messages, want "
		    "%d, each once)", bad, n, ndays * (NPROD + 1));
}

/* How many times the daemon's log says a daily_metrics delivery failed. */
static int
failed_deliveries(struct harness *h)
{
	char *text = harness_read_file(h->daemon.log), *p;
	int n = 0;

	for (p = text; p != NULL && (p = strstr(p, "delivery of "
	    "daily_metrics")) != NULL; p++)
		n++;
	free(text);
	return n;
}

/* The broker fails produce meanwhile; every message arrives once after. */
static void
test_rejected_produce(void **state)
{
	struct harness *h = *state;
	char cmd[96], key[192], date[16];
	long long n;
	int before;

	create_plan(h);
	feed(h);
	before = failed_deliveries(h);
	snprintf(cmd, sizeof(cmd), "request-errors Produce %d " REJECT_ERR,
	    REJECTED);
	broker_ctl(h, cmd);
	for (int d = 0; d < 2; d++) {
		post_snapshot(h, d);
		sc_date(d, date);
		snprintf(key, sizeof(key), "sp:daily:%s:%s", plan_id, date);
		if (harness_exists(h, key) != 1)
			fail_msg("%s not stored", key);
	}
	n = outbox_len(h);
	print_message("outbox after the snapshots: %lld messages\n", n);
	wait_outbox_empty(h, WAIT_MS);
	print_message("failed deliveries logged: %d\n", failed_deliveries(h) -
	    before);
	check_topic(h, 2);
	if (failed_deliveries(h) <= before)
		fail_msg("no failed delivery was seen: the fault did not hit");
	if (n < 1)
		fail_msg("the outbox was empty while the broker rejected");
	harness_pass(h);
}

/* Messages left in the outbox by a kill -9 go out after the restart. */
static void
test_restart_resends(void **state)
{
	struct harness *h = *state;
	char id[192];
	long long n;
	int st;

	if (plan_id[0] == '\0')
		fail_msg("needs test_rejected_produce first");
	broker_ctl(h, "broker-down 1");
	post_snapshot(h, 2);
	harness_sleep_ms(500);
	kill(h->daemon.pid, SIGKILL);
	harness_stop_daemon(h, &st);
	n = outbox_len(h);
	print_message("outbox after kill -9: %lld messages\n", n);
	if (n != NPROD + 1)
		fail_msg("outbox holds %lld messages after the kill, want %d",
		    n, NPROD + 1);
	for (int p = -1; p < NPROD; p++) {
		redisReply *r;

		want_id(2, p, id, sizeof(id));
		r = redisCommand(h->rc, "HEXISTS " OUTBOX " %s", id);
		if (r == NULL || r->type != REDIS_REPLY_INTEGER ||
		    r->integer != 1)
			fail_msg("%s not in the outbox", id);
		freeReplyObject(r);
	}
	broker_ctl(h, "broker-up 1");
	H_OK(h, harness_start_daemon(h));
	wait_outbox_empty(h, WAIT_MS);
	check_topic(h, 3);
	harness_pass(h);
}

/* ---- fixtures ---- */

/* Redis, the broker with its control input, the daemon; the nightly
 * snapshot twelve hours away, so that only the test takes snapshots. */
static int
setup_group(void **state)
{
	struct harness *h = &harness_o;
	int64_t now = harness_now_ms(), at = (now + 12 * HOUR_MS) % DAY_MS /
	    60000;

	*state = h;
	day0_ms = (now / DAY_MS - NDAYS) * DAY_MS;
	if (harness_init(h) == -1)
		return -1;
	snprintf(h->extra_config, sizeof(h->extra_config), "[schedule]\n"
	    "timezone = UTC\nsnapshot_time = %02d:%02d\n[engine]\n"
	    "late_view_offers = yes\n[plans]\nallow_past_start = yes\n",
	    (int)(at / 60), (int)(at % 60));
	if (harness_start_redis(h) == -1 || start_broker(h) == -1 ||
	    harness_write_config(h) == -1 || harness_start_daemon(h) == -1) {
		fprintf(stderr, "harness: %s\n", h->err);
		harness_release(h);
		return -1;
	}
	return 0;
}

/* Release everything and close the control input. */
static int
teardown_group(void **state)
{
	harness_release(*state);
	if (broker_ctl_fd != -1)
		close(broker_ctl_fd);
	broker_ctl_fd = -1;
	return 0;
}

#define T(f) cmocka_unit_test_setup_teardown(f, harness_setup_test, \
    harness_teardown_test)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_rejected_produce),
		T(test_restart_resends),
	};

	return cmocka_run_group_tests_name("metrics_outbox", tests,
	    setup_group, teardown_group) != 0;
}
