/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ops.c - operations tests: the real smartpromod driven as systemd
 * and an operator drive it.  Reload with a good and a bad file (SIGHUP),
 * a graceful stop under load with no event lost or applied twice, the
 * drain deadline, a second SIGINT, the sd_notify protocol (READY=1,
 * WATCHDOG=1 cadence, RELOADING=1, STOPPING=1, no READY=1 while the
 * broker is stopped) read from a datagram socket the test binds as
 * NOTIFY_SOCKET, the log format (<N> prefixes, repeat suppression, the
 * rate limit per format, plan lifecycle lines), and a Redis that hangs
 * (SIGSTOP) while the pipeline is idle: an admin read answers 503 within
 * [redis] timeout_ms and the daemon recovers after SIGCONT.  Uses the
 * integration harness (tests/integration/harness.h); docs/operations.md
 * describes what is checked and why.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "httpc.h"
#define ITEST_EVENT_PREFIX "ops-ev-"
#include "itest.h"

/* Shared helpers of the harness, under this file's short names. */
#define setup_test harness_setup_test
#define sfield(o, name) harness_sfield((o), (name))
#define fnv1a64(s) harness_fnv1a64(s)
#define in_holdout(c, pct) harness_in_holdout((c), (pct))

#define SETTLE_MS 2000          /* after a barrier, before "nothing came" */
#define DRAIN_DEADLINE_MS 30000 /* the daemon's SERVER_DRAIN_MS */
#define WD_USEC 2000000         /* WATCHDOG_USEC given to the daemon */
#define NOTIFY_MAX 512          /* notifications kept per test */

/* The settings of a config file this test writes. */
struct ops_conf {
	const char *group;
	int redis_port;
	int admin_port;
	double holdout_pct;
	const char *level;
	int session_timeout_ms;         /* a [kafka] key: needs a restart */
};

/* One sd_notify datagram and when it came (monotonic ms). */
struct notify_msg {
	int64_t t;
	char text[256];
};

/* What the daemon told the notify socket so far. */
struct notify_log {
	int fd;
	int n;
	struct notify_msg m[NOTIFY_MAX];
};

static struct harness_proc extra_proc;  /* a second daemon, if any */

/* Monotonic milliseconds. */
static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The next "<prefix>-<n>" treated at lo percent but held out at hi. */
static void
pick_customer(const char *prefix, int *seq, double lo, double hi, char *buf,
    size_t len)
{
	do
		snprintf(buf, len, "%s-%d", prefix, (*seq)++);
	while (in_holdout(buf, lo) || !in_holdout(buf, hi));
}

/* Queue an event keyed by its product; pos (may be NULL) gets its place. */
static void
send_event(struct harness *h, const char *product, json_t *ev,
    struct harness_pos *pos)
{
	char *text = json_dumps(ev, JSON_COMPACT);

	assert_non_null(text);
	H_OK(h, harness_send(h, HARNESS_TOPIC_EVENTS, product, text,
	    strlen(text), pos));
	free(text);
	json_decref(ev);
}

/* Send a catalog row per product and wait until each is stored. */
static void
catalog(struct harness *h, const char *shop, const char *const *products,
    int n)
{
	char key[256];
	json_t *ev;
	int i;

	for (i = 0; i < n; i++) {
		ev = event_new("product", shop, products[i], harness_now_ms());
		json_object_set_new(ev, "price", json_integer(5000));
		json_object_set_new(ev, "stock", json_integer(100));
		json_object_set_new(ev, "listed_at", json_integer(
		    harness_now_ms() - 86400000));
		send_event(h, products[i], ev, NULL);
	}
	H_OK(h, harness_flush(h));
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "sp:{%s}:product", products[i]);
		H_OK(h, harness_wait_exists(h, key, WAIT_MS));
	}
}

/* POST /v1/plans for products at 10-30 %; returns the new plan_id. */
static char *
create_plan(struct harness *h, const char *shop, const char *const *products,
    int n)
{
	json_t *list = json_array(), *body, *plan = NULL;
	char *text, *id;
	int i, status;

	for (i = 0; i < n; i++)
		json_array_append_new(list, json_string(products[i]));
	body = json_pack("{s:s, s:s, s:o, s:i, s:i}", "name", shop, "shop_id",
	    shop, "products", list, "discount_min_pct", 10,
	    "discount_max_pct", 30);
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	H_OK(h, harness_http(h, "POST", "/v1/plans", text, &status, &plan));
	free(text);
	if (status != 201 || sfield(plan, "plan_id")[0] == '\0')
		fail_msg("POST /v1/plans for \"%s\": status %d", shop, status);
	id = strdup(sfield(plan, "plan_id"));
	json_decref(plan);
	print_message("plan %s for %s\n", id, shop);
	return id;
}

/* POST /v1/plans/{id}/end and expect 200. */
static void
end_plan(struct harness *h, const char *id)
{
	char path[128];
	int status;

	snprintf(path, sizeof(path), "/v1/plans/%s/end", id);
	H_OK(h, harness_http(h, "POST", path, NULL, &status, NULL));
	assert_int_equal(status, 200);
}

/* Keep the offers of one product and customer. */
static int
match_offer(json_t *v, void *arg)
{
	const char *const *want = arg;

	return strcmp(sfield(v, "type"), "offer") == 0 &&
	    strcmp(sfield(v, "product_id"), want[0]) == 0 &&
	    strcmp(sfield(v, "customer_id"), want[1]) == 0;
}

/* The number of offers to customer on product (want, idle: see harness). */
static int
count_offers(struct harness *h, const char *product, const char *customer,
    int want, int idle_ms)
{
	const char *m[2] = { product, customer };
	json_t *out;
	int n;

	H_OK(h, n = harness_consume(h, HARNESS_TOPIC_OFFERS, match_offer, m,
	    want, idle_ms, &out));
	json_decref(out);
	return n;
}

/* Write a complete daemon config to path. */
static void
write_conf(struct harness *h, const char *path, const struct ops_conf *c)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		fail_msg("open \"%s\": %s", path, strerror(errno));
	/* require_shop_data = no, as harness.c: no "shop" events here */
	fprintf(f, "[kafka]\nbrokers = %s\ngroup_id = %s\n"
	    "session_timeout_ms = %d\n"
	    "input_topic = " HARNESS_TOPIC_EVENTS "\n"
	    "offers_topic = " HARNESS_TOPIC_OFFERS "\n"
	    "metrics_topic = " HARNESS_TOPIC_METRICS "\n"
	    "dead_letter_topic = " HARNESS_TOPIC_DEAD "\n"
	    "[redis]\nhost = 127.0.0.1\nport = %d\nkey_prefix = sp:\n"
	    "[admin]\nlisten = 127.0.0.1:%d\n"
	    "[engine]\nholdout_pct = %g\n[log]\nlevel = %s\n"
	    "[plans]\nrequire_shop_data = no\n", h->bootstrap,
	    c->group, c->session_timeout_ms, c->redis_port, c->admin_port,
	    c->holdout_pct, c->level);
	if (fclose(f) != 0)
		fail_msg("write \"%s\": %s", path, strerror(errno));
}

/* The settings the harness itself writes (holdout 10, level debug). */
static struct ops_conf
std_conf(struct harness *h)
{
	return (struct ops_conf){ "itest", h->redis_port, h->admin_port, 10,
	    "debug", 6000 };
}

/* The size of a file (0 when absent). */
static long
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* What a log file holds from byte off on (malloc'd, never NULL). */
static char *
log_since(const char *path, long off)
{
	char *text = harness_read_file(path), *out;
	size_t len = text != NULL ? strlen(text) : 0;

	out = strdup(off >= 0 && (size_t)off < len ? text + off : "");
	free(text);
	assert_non_null(out);
	return out;
}

/* Nonzero if the log holds needle after off. */
static int
log_has(const char *path, long off, const char *needle)
{
	char *text = log_since(path, off);
	int found = strstr(text, needle) != NULL;

	free(text);
	return found;
}

/* Wait until the log holds needle after off, or fail. */
static void
wait_log(const char *path, long off, const char *needle, int timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;

	while (!log_has(path, off, needle)) {
		if (mono_ms() > deadline)
			fail_msg("no \"%s\" in %s within %d ms", needle, path,
			    timeout_ms);
		harness_sleep_ms(50);
	}
}

/* Send sig to a running process or fail. */
static void
signal_proc(struct harness_proc *p, int sig)
{
	if (p->pid <= 0 || kill(p->pid, sig) == -1)
		fail_msg("cannot send signal %d to \"%s\"", sig, p->name);
}

/* Wait up to timeout_ms for p to exit; elapsed ms, or -1 if it did not. */
static int64_t
wait_exit(struct harness_proc *p, int timeout_ms, int *status)
{
	int64_t start = mono_ms();

	while (harness_proc_alive(p)) {
		if (mono_ms() - start > timeout_ms)
			return -1;
		harness_sleep_ms(10);
	}
	*status = p->status;
	return mono_ms() - start;
}

/* Fail unless p exits within timeout_ms with exit status code. */
static int64_t
expect_exit(struct harness_proc *p, int timeout_ms, int code)
{
	int64_t ms;
	int st = 0;

	if ((ms = wait_exit(p, timeout_ms, &st)) == -1)
		fail_msg("\"%s\" still running after %d ms", p->name,
		    timeout_ms);
	print_message("%s exited after %lld ms: %s %d\n", p->name,
	    (long long)ms, WIFEXITED(st) ? "status" : "signal",
	    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != code)
		fail_msg("\"%s\" did not exit with status %d", p->name, code);
	return ms;
}

/* Point fd at path (append). */
static void
child_redirect(const char *path, int fd)
{
	int f = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);

	if (f == -1)
		_exit(126);
	dup2(f, fd);
	close(f);
}

/* In the child: the watchdog environment, when notify is not NULL. */
static void
child_notify_env(const char *notify)
{
	char buf[32];

	if (notify == NULL)
		return;
	setenv("NOTIFY_SOCKET", notify, 1);
	snprintf(buf, sizeof(buf), "%d", WD_USEC);
	setenv("WATCHDOG_USEC", buf, 1);
	snprintf(buf, sizeof(buf), "%ld", (long)getpid());
	setenv("WATCHDOG_PID", buf, 1);
}

/*
 * Start smartpromod -c conf as p, output appended to p->log; notify (may
 * be NULL) becomes NOTIFY_SOCKET with a 2 s watchdog whose WATCHDOG_PID
 * is the daemon's own pid (set after fork, exec keeps the pid).
 */
static void
spawn_daemon(struct harness_proc *p, const char *conf, const char *notify)
{
	char *argv[] = { SP_BIN_DIR "/smartpromod", "-c", (char *)conf, NULL };
	int devnull;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if ((devnull = open("/dev/null", O_RDONLY)) != -1)
			dup2(devnull, 0);
		child_redirect(p->log, 1);
		dup2(1, 2);
		signal(SIGPIPE, SIG_DFL);
		child_notify_env(notify);
		execv(argv[0], argv);
		_exit(127);
	}
	p->pid = pid;
	p->status = 0;
}

/* ---- sd_notify socket ---- */

/* Bind a datagram socket at dir/notify.sock; fills path. */
static void
notify_open(struct harness *h, struct notify_log *nl, char *path, size_t len)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(path, len, "%s/notify.sock", h->dir) >= len ||
	    strlen(path) >= sizeof(sun.sun_path))
		fail_msg("socket path \"%s\" too long (set TMPDIR)", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	unlink(path);
	nl->n = 0;
	nl->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (nl->fd == -1 || bind(nl->fd, (struct sockaddr *)&sun,
	    sizeof(sun)) == -1)
		fail_msg("notify socket \"%s\": %s", path, strerror(errno));
}

/* Receive one datagram within ms; 1 if one came, 0 if not. */
static int
notify_recv(struct notify_log *nl, int ms)
{
	struct pollfd pfd = { nl->fd, POLLIN, 0 };
	struct notify_msg *m;
	ssize_t n;

	if (poll(&pfd, 1, ms < 0 ? 0 : ms) <= 0)
		return 0;
	if (nl->n >= NOTIFY_MAX)
		fail_msg("more than %d notifications", NOTIFY_MAX);
	m = &nl->m[nl->n];
	if ((n = recv(nl->fd, m->text, sizeof(m->text) - 1, 0)) < 0)
		fail_msg("recv on the notify socket: %s", strerror(errno));
	m->text[n] = '\0';
	m->t = mono_ms();
	nl->n++;
	return 1;
}

/* Nonzero if a datagram holds line as one of its lines. */
static int
notify_has_line(const char *text, const char *line)
{
	size_t len = strlen(line);
	const char *p;

	for (p = text; (p = strstr(p, line)) != NULL; p += len)
		if ((p == text || p[-1] == '\n') && (p[len] == '\0' ||
		    p[len] == '\n'))
			return 1;
	return 0;
}

/* Wait for a datagram (from index from on) holding line; its index. */
static int
notify_wait(struct notify_log *nl, int from, const char *line,
    int timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;
	int i;

	for (i = from;; i++) {
		while (i >= nl->n)
			if (!notify_recv(nl, (int)(deadline - mono_ms())))
				fail_msg("no \"%s\" on the notify socket "
				    "within %d ms", line, timeout_ms);
		if (notify_has_line(nl->m[i].text, line))
			return i;
	}
}

/* Receive everything for ms milliseconds. */
static void
notify_collect(struct notify_log *nl, int ms)
{
	int64_t deadline = mono_ms() + ms;

	while (mono_ms() < deadline)
		notify_recv(nl, (int)(deadline - mono_ms()));
}

/*
 * SIGHUP the daemon and wait for needle in its log.  The log counts a
 * line that repeats the previous one within the same second instead of
 * printing it, so a reload is never sent in the second of the last one.
 */
static void
reload(struct harness *h, const char *needle)
{
	static time_t last;
	long off;

	while (time(NULL) <= last)
		harness_sleep_ms(20);
	off = file_size(h->daemon.log);
	signal_proc(&h->daemon, SIGHUP);
	wait_log(h->daemon.log, off, needle, 10000);
	last = time(NULL);
}

/* Put the harness's standard config back and reload it. */
static void
restore_conf(struct harness *h)
{
	H_OK(h, harness_write_config(h));
	reload(h, "configuration reloaded from");
}

/* ---- test 1: a good reload applies at once ---- */

static void
test_reload_good(void **state)
{
	struct harness *h = *state;
	static const char *const prod[] = { "r1-p0" };
	struct ops_conf c = std_conf(h);
	char a[64], b[64], barrier[64], needle[256], *plan;
	long off;
	int64_t ts;
	int seq = 0;

	catalog(h, "shop-r1", prod, 1);
	off = file_size(h->daemon.log);
	plan = create_plan(h, "shop-r1", prod, 1);
	ts = harness_now_ms();
	snprintf(needle, sizeof(needle), "<6>plan \"%s\" created", plan);
	wait_log(h->daemon.log, off, needle, 5000);
	pick_customer("r1-a", &seq, 10, 50, a, sizeof(a));
	send_event(h, prod[0], view_event("shop-r1", prod[0], a, ts), NULL);
	H_OK(h, harness_flush(h));
	assert_int_equal(count_offers(h, prod[0], a, 1, WAIT_MS), 1);
	print_message("holdout 10%%: customer %s got an offer\n", a);

	c.holdout_pct = 50;
	c.level = "notice";
	c.session_timeout_ms = 7000;
	write_conf(h, h->conf, &c);
	off = file_size(h->daemon.log);
	reload(h, "<5>configuration reloaded from");
	assert_true(log_has(h->daemon.log, off,
	    "<4>reload: [kafka] changes need a restart"));
	assert_false(log_has(h->daemon.log, off, "[redis] changes"));

	pick_customer("r1-b", &seq, 10, 50, b, sizeof(b));
	pick_customer("r1-t", &seq, 50, 100, barrier, sizeof(barrier));
	send_event(h, prod[0], view_event("shop-r1", prod[0], b, ts), NULL);
	send_event(h, prod[0], view_event("shop-r1", prod[0], barrier, ts),
	    NULL);
	H_OK(h, harness_flush(h));
	assert_int_equal(count_offers(h, prod[0], barrier, 1, WAIT_MS), 1);
	wait_day_counter(h, prod[0], ts, "pv", 3);
	print_message("holdout 50%%: %s offers %d, pv_c %lld pv_t %lld\n", b,
	    count_offers(h, prod[0], b, 0, 3000), day_counter(h, prod[0], ts,
	    "pv_c"), day_counter(h, prod[0], ts, "pv_t"));
	assert_int_equal(count_offers(h, prod[0], b, 0, 3000), 0);
	assert_int_equal(day_counter(h, prod[0], ts, "pv_c"), 1);
	assert_int_equal(day_counter(h, prod[0], ts, "pv_t"), 2);

	/* [log] level = notice: the info line of a plan's end is not shown */
	off = file_size(h->daemon.log);
	end_plan(h, plan);
	harness_sleep_ms(500);
	snprintf(needle, sizeof(needle), "plan \"%s\" ended", plan);
	assert_false(log_has(h->daemon.log, off, needle));
	free(plan);
	restore_conf(h);
	harness_pass(h);
}

/* ---- test 2: a bad reload is refused as a whole ---- */

/* Write the bad file of test 2 (errors at lines 3 and 8). */
static void
write_bad_conf(struct harness *h)
{
	FILE *f = fopen(h->conf, "w");

	assert_non_null(f);
	fprintf(f, "[kafka]\n"                  /* 1 */
	    "brokers = %s\n"                    /* 2 */
	    "no_such_key = 1\n"                 /* 3: unknown key */
	    "group_id = itest\n"                /* 4 */
	    "session_timeout_ms = 6000\n"       /* 5 */
	    "[redis]\n"                         /* 6 */
	    "host = 127.0.0.1\n"                /* 7 */
	    "port = 99999\n"                    /* 8: out of range */
	    "[engine]\n"                        /* 9 */
	    "holdout_pct = 0\n"                 /* 10: valid, not applied */
	    "[log]\n"                           /* 11 */
	    "level = debug\n", h->bootstrap);   /* 12: valid, not applied */
	assert_int_equal(fclose(f), 0);
}

/* Expect the warning "<4>FILE:LINE: " after off. */
static void
expect_file_line(struct harness *h, long off, int line)
{
	char needle[HARNESS_PATH_MAX + 32];

	snprintf(needle, sizeof(needle), "<4>%s:%d: ", h->conf, line);
	if (!log_has(h->daemon.log, off, needle))
		fail_msg("no warning \"%s...\" in the log", needle);
}

static void
test_reload_bad(void **state)
{
	struct harness *h = *state;
	static const char *const prod[] = { "r2-p0" };
	struct ops_conf c = std_conf(h);
	char b[64], barrier[64], needle[256], *plan;
	int64_t ts;
	int status, seq = 0;
	long off;

	catalog(h, "shop-r2", prod, 1);
	c.holdout_pct = 50;
	c.level = "notice";
	write_conf(h, h->conf, &c);
	reload(h, "<5>configuration reloaded from");
	write_bad_conf(h);
	off = file_size(h->daemon.log);
	reload(h, "<4>reload: keeping the running configuration");
	expect_file_line(h, off, 3);
	expect_file_line(h, off, 8);
	assert_false(log_has(h->daemon.log, off, "configuration reloaded"));
	H_OK(h, harness_http(h, "GET", "/healthz", NULL, &status, NULL));
	assert_int_equal(status, 200);

	/* still holdout 50 and level notice */
	plan = create_plan(h, "shop-r2", prod, 1);
	ts = harness_now_ms();
	pick_customer("r2-b", &seq, 10, 50, b, sizeof(b));
	pick_customer("r2-t", &seq, 50, 100, barrier, sizeof(barrier));
	send_event(h, prod[0], view_event("shop-r2", prod[0], b, ts), NULL);
	send_event(h, prod[0], view_event("shop-r2", prod[0], barrier, ts),
	    NULL);
	H_OK(h, harness_flush(h));
	assert_int_equal(count_offers(h, prod[0], barrier, 1, WAIT_MS), 1);
	print_message("after a refused reload: %s (held out at 50%%) offers "
	    "%d\n", b, count_offers(h, prod[0], b, 0, 3000));
	assert_int_equal(count_offers(h, prod[0], b, 0, 3000), 0);
	snprintf(needle, sizeof(needle), "plan \"%s\" created", plan);
	assert_false(log_has(h->daemon.log, off, needle));
	free(plan);
	restore_conf(h);
	harness_pass(h);
}

/* ---- test 3: SIGTERM under load loses nothing, applies nothing twice ---- */

#define GS_PRODUCTS 8
#define GS_FIRST 24000          /* queued before SIGTERM */
#define GS_TOTAL 32000          /* the rest is sent after it */

static const char *const gs_products[GS_PRODUCTS] = { "gs-p0", "gs-p1",
    "gs-p2", "gs-p3", "gs-p4", "gs-p5", "gs-p6", "gs-p7" };
static struct harness_pos gs_pos[GS_TOTAL];

/* Queue views from..to-1, product i % GS_PRODUCTS (sent in background). */
static void
gs_send(struct harness *h, int from, int to, int64_t ts)
{
	char cust[64];
	int i;

	for (i = from; i < to; i++) {
		snprintf(cust, sizeof(cust), "gs-c%d", i);
		send_event(h, gs_products[i % GS_PRODUCTS], view_event(
		    "shop-gs", gs_products[i % GS_PRODUCTS], cust, ts),
		    &gs_pos[i]);
	}
}

/* The pv counters of the test's products, summed. */
static long long
gs_sum(struct harness *h, int64_t ts)
{
	long long sum = 0;
	int i;

	for (i = 0; i < GS_PRODUCTS; i++)
		sum += day_counter(h, gs_products[i], ts, "pv");
	return sum;
}

/* Wait until the sum is at least want; the sum. */
static long long
gs_wait_sum(struct harness *h, int64_t ts, long long want, int timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;
	long long sum;

	while ((sum = gs_sum(h, ts)) < want && mono_ms() < deadline)
		harness_sleep_ms(10);
	return sum;
}

/* Check each product's pv and kpos against what was produced. */
static void
gs_check_products(struct harness *h, int64_t ts)
{
	char key[256], want[64], *kpos;
	int i, j, last;

	for (i = 0; i < GS_PRODUCTS; i++) {
		last = -1;
		for (j = i; j < GS_TOTAL; j += GS_PRODUCTS)
			if (last == -1 || gs_pos[j].offset >
			    gs_pos[last].offset)
				last = j;
		snprintf(want, sizeof(want), "%d:%lld",
		    (int)gs_pos[last].partition,
		    (long long)gs_pos[last].offset);
		snprintf(key, sizeof(key), "sp:{%s}:product", gs_products[i]);
		H_OK(h, harness_hget(h, key, "kpos", &kpos));
		print_message("%s: pv %lld (want %d) kpos %s (want %s)\n",
		    gs_products[i], day_counter(h, gs_products[i], ts, "pv"),
		    GS_TOTAL / GS_PRODUCTS, kpos != NULL ? kpos : "(none)",
		    want);
		assert_int_equal(day_counter(h, gs_products[i], ts, "pv"),
		    GS_TOTAL / GS_PRODUCTS);
		assert_non_null(kpos);
		assert_string_equal(kpos, want);
		free(kpos);
	}
}

static void
test_graceful_stop(void **state)
{
	struct harness *h = *state;
	int64_t ts = harness_now_ms(), t0, ms;
	long long at_signal, at_exit, after;
	long off;
	int i, st = 0;

	catalog(h, "shop-gs", gs_products, GS_PRODUCTS);
	gs_send(h, 0, GS_FIRST, ts);
	assert_true(gs_wait_sum(h, ts, 1, WAIT_MS) >= 1);
	off = file_size(h->daemon.log);
	signal_proc(&h->daemon, SIGTERM);
	t0 = mono_ms();
	at_signal = gs_sum(h, ts);
	harness_sleep_ms(200);          /* the signal is handled by now */
	gs_send(h, GS_FIRST, GS_TOTAL, ts);
	H_OK(h, harness_flush(h));
	for (i = 0; i < GS_TOTAL; i++)
		if (!gs_pos[i].done || gs_pos[i].error != 0)
			fail_msg("event %d was not delivered to Kafka", i);
	if (wait_exit(&h->daemon, DRAIN_DEADLINE_MS + 15000, &st) == -1)
		fail_msg("smartpromod still running 45 s after SIGTERM");
	ms = mono_ms() - t0;
	at_exit = gs_sum(h, ts);
	print_message("SIGTERM with %lld of %d applied; exit after %lld ms "
	    "(status %d) with %lld applied\n", at_signal, GS_TOTAL,
	    (long long)ms, WIFEXITED(st) ? WEXITSTATUS(st) : -1, at_exit);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_true(ms < DRAIN_DEADLINE_MS);
	assert_true(at_exit < GS_TOTAL);
	assert_true(log_has(h->daemon.log, off, "<5>stopping: finishing"));
	assert_true(log_has(h->daemon.log, off, "<5>smartpromod stopped"));

	H_OK(h, harness_start_daemon(h));
	gs_wait_sum(h, ts, GS_TOTAL, 60000);
	harness_sleep_ms(SETTLE_MS);
	after = gs_sum(h, ts);
	print_message("after the restart: %lld applied (want %d)\n", after,
	    GS_TOTAL);
	assert_int_equal(after, GS_TOTAL);
	gs_check_products(h, ts);
	harness_pass(h);
}

/* ---- tests 4 and 5: a drain that cannot finish ---- */

/*
 * Freeze Redis (SIGSTOP) and send one view of product: the daemon takes
 * it and waits for Redis.  Returns once the daemon's Redis round timed
 * out, which proves the batch is in flight.
 */
static void
stuck_batch(struct harness *h, const char *product, int64_t ts)
{
	const char *const prods[] = { product };
	long off;

	catalog(h, "shop-stuck", prods, 1);
	off = file_size(h->daemon.log);
	assert_int_equal(kill(h->redis.pid, SIGSTOP), 0);
	send_event(h, product, view_event("shop-stuck", product, "stuck-c",
	    ts), NULL);
	H_OK(h, harness_flush(h));
	wait_log(h->daemon.log, off, "redis: no reply within", WAIT_MS);
}

/* Thaw Redis, start the daemon again, expect the view applied once. */
static void
stuck_recover(struct harness *h, const char *product, int64_t ts)
{
	assert_int_equal(kill(h->redis.pid, SIGCONT), 0);
	H_OK(h, harness_start_daemon(h));
	wait_day_counter(h, product, ts, "pv", 1);
	harness_sleep_ms(SETTLE_MS);
	print_message("after the restart: pv of %s %lld (want 1)\n", product,
	    day_counter(h, product, ts, "pv"));
	assert_int_equal(day_counter(h, product, ts, "pv"), 1);
}

static void
test_second_sigint(void **state)
{
	struct harness *h = *state;
	int64_t ts = harness_now_ms(), ms;
	long off;

	stuck_batch(h, "si-p0", ts);
	off = file_size(h->daemon.log);
	signal_proc(&h->daemon, SIGINT);
	wait_log(h->daemon.log, off, "<5>stopping: finishing", 5000);
	harness_sleep_ms(2000);
	assert_true(harness_proc_alive(&h->daemon));
	signal_proc(&h->daemon, SIGINT);
	ms = expect_exit(&h->daemon, 5000, 1);
	assert_true(ms < 1000);
	assert_true(log_has(h->daemon.log, off,
	    "<4>second interrupt: exiting now"));
	stuck_recover(h, "si-p0", ts);
	harness_pass(h);
}

static void
test_drain_deadline(void **state)
{
	struct harness *h = *state;
	int64_t ts = harness_now_ms(), ms;
	long off;

	stuck_batch(h, "dd-p0", ts);
	off = file_size(h->daemon.log);
	signal_proc(&h->daemon, SIGTERM);
	ms = expect_exit(&h->daemon, DRAIN_DEADLINE_MS + 15000, 1);
	assert_true(ms >= DRAIN_DEADLINE_MS - 1000);
	assert_true(ms < DRAIN_DEADLINE_MS + 10000);
	assert_true(log_has(h->daemon.log, off,
	    "<4>drain deadline passed"));
	stuck_recover(h, "dd-p0", ts);
	harness_pass(h);
}

/* ---- test 6: sd_notify and the watchdog ---- */

/* Check the WATCHDOG=1 pings from index from on: about one per second. */
static void
check_pings(const struct notify_log *nl, int from)
{
	int64_t prev = -1, gap, lo = INT64_MAX, hi = 0;
	int i, n = 0;

	for (i = from; i < nl->n; i++) {
		if (!notify_has_line(nl->m[i].text, "WATCHDOG=1"))
			continue;
		gap = prev >= 0 ? nl->m[i].t - prev : -1;
		if (gap >= 0 && gap < lo)
			lo = gap;
		if (gap > hi)
			hi = gap;
		prev = nl->m[i].t;
		n++;
	}
	print_message("%d WATCHDOG=1 in 5.5 s with WATCHDOG_USEC=%d: gaps "
	    "%lld-%lld ms\n", n, WD_USEC, (long long)lo, (long long)hi);
	assert_true(n >= 4 && n <= 7);
	assert_true(lo >= 600 && hi <= 1900);
}

static void
test_watchdog(void **state)
{
	struct harness *h = *state;
	struct notify_log *nl = calloc(1, sizeof(*nl));
	char path[HARNESS_PATH_MAX];
	int i, st;

	assert_non_null(nl);
	H_OK(h, harness_stop_daemon(h, &st));
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	notify_open(h, nl, path, sizeof(path));
	spawn_daemon(&h->daemon, h->conf, path);
	i = notify_wait(nl, 0, "READY=1", 60000);
	print_message("READY=1 (\"%s\")\n", nl->m[i].text);
	notify_collect(nl, 5500);
	check_pings(nl, i + 1);
	signal_proc(&h->daemon, SIGHUP);
	i = notify_wait(nl, nl->n, "RELOADING=1", 5000);
	notify_wait(nl, i + 1, "READY=1", 5000);
	signal_proc(&h->daemon, SIGTERM);
	notify_wait(nl, nl->n, "STOPPING=1", 5000);
	expect_exit(&h->daemon, DRAIN_DEADLINE_MS, 0);
	close(nl->fd);
	free(nl);
	H_OK(h, harness_start_daemon(h));
	harness_pass(h);
}

/*
 * READY=1 waits for Kafka: with the broker stopped (SIGSTOP: it accepts
 * connections in the kernel and answers nothing), a daemon that has Redis
 * and its plans does not report ready; once the broker runs again it
 * joins its group and does.
 */
static void
test_ready_waits_for_kafka(void **state)
{
	struct harness *h = *state;
	struct notify_log *nl = calloc(1, sizeof(*nl));
	char path[HARNESS_PATH_MAX];
	long off;
	int64_t t0;
	int i, st;

	assert_non_null(nl);
	H_OK(h, harness_stop_daemon(h, &st));
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	off = file_size(h->daemon.log);
	notify_open(h, nl, path, sizeof(path));
	assert_int_equal(kill(h->broker.pid, SIGSTOP), 0);
	spawn_daemon(&h->daemon, h->conf, path);
	wait_log(h->daemon.log, off, " plans loaded", 20000);
	notify_collect(nl, 4000);
	for (i = 0; i < nl->n; i++)
		if (notify_has_line(nl->m[i].text, "READY=1"))
			fail_msg("READY=1 with the broker stopped: \"%s\"",
			    nl->m[i].text);
	print_message("broker stopped: %d notifications in 4 s, no READY=1\n",
	    nl->n);
	t0 = mono_ms();
	assert_int_equal(kill(h->broker.pid, SIGCONT), 0);
	i = notify_wait(nl, nl->n, "READY=1", 60000);
	print_message("broker resumed: READY=1 after %lld ms (\"%s\")\n",
	    (long long)(nl->m[i].t - t0), nl->m[i].text);
	signal_proc(&h->daemon, SIGTERM);
	expect_exit(&h->daemon, DRAIN_DEADLINE_MS, 0);
	close(nl->fd);
	free(nl);
	H_OK(h, harness_start_daemon(h));
	harness_pass(h);
}

/* ---- test 7: the log's format ---- */

/* Fail unless every line of text starts with "<N>", N in 0..7. */
static void
check_prefixes(const char *text, const char *what)
{
	const char *p = text, *nl;
	int lines = 0;

	for (; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		if (nl > p && (nl - p < 3 || p[0] != '<' || p[1] < '0' ||
		    p[1] > '7' || p[2] != '>'))
			fail_msg("%s: line without a <N> prefix: \"%.*s\"",
			    what, (int)(nl - p), p);
		lines++;
		if (*nl == '\0')
			break;
	}
	print_message("%s: %d lines, all with a <N> prefix\n", what, lines);
}

/* The number of times needle occurs in text. */
static int
count_str(const char *text, const char *needle)
{
	int n = 0;

	for (; (text = strstr(text, needle)) != NULL; text += strlen(needle))
		n++;
	return n;
}

static void
test_log_lifecycle_and_prefixes(void **state)
{
	struct harness *h = *state;
	static const char *const prod[] = { "lg-p0" };
	char needle[256], *plan, *text;
	long off;

	catalog(h, "shop-lg", prod, 1);
	off = file_size(h->daemon.log);
	plan = create_plan(h, "shop-lg", prod, 1);
	end_plan(h, plan);
	snprintf(needle, sizeof(needle), "<6>plan \"%s\" created", plan);
	wait_log(h->daemon.log, off, needle, 5000);
	snprintf(needle, sizeof(needle), "<6>plan \"%s\" ended: ", plan);
	wait_log(h->daemon.log, off, needle, 5000);
	text = log_since(h->daemon.log, 0);
	check_prefixes(text, "daemon.log");
	free(text);
	free(plan);
	harness_pass(h);
}

/*
 * A daemon whose Redis port is closed retries with a backoff from 100 ms:
 * several identical "Connection refused" warnings fall in one second and
 * must be counted, not printed.
 */
static void
test_log_repeats(void **state)
{
	struct harness *h = *state;
	struct ops_conf c = std_conf(h);
	char conf[HARNESS_PATH_MAX], needle[128], *text;
	int64_t ms;

	H_OK(h, harness_free_port(h, &c.redis_port));
	H_OK(h, harness_free_port(h, &c.admin_port));
	c.group = "itest-log";
	c.level = "info";
	snprintf(conf, sizeof(conf), "%s/nored.conf", h->dir);
	write_conf(h, conf, &c);
	extra_proc.name = "smartpromod (no redis)";
	snprintf(extra_proc.log, sizeof(extra_proc.log), "%s/nored.log",
	    h->dir);
	memcpy(extra_proc.out, extra_proc.log, sizeof(extra_proc.out));
	spawn_daemon(&extra_proc, conf, NULL);
	harness_sleep_ms(3500);
	signal_proc(&extra_proc, SIGTERM);
	ms = expect_exit(&extra_proc, 20000, 0);
	assert_true(ms < DRAIN_DEADLINE_MS);
	text = log_since(extra_proc.log, 0);
	print_message("log of a daemon without Redis:\n%s", text);
	check_prefixes(text, "nored.log");
	snprintf(needle, sizeof(needle), "<4>redis 127.0.0.1:%d: ",
	    c.redis_port);
	assert_true(count_str(text, needle) >= 1);
	assert_non_null(strstr(text, "<5>last message repeated "));
	assert_null(strstr(text, " ready\n"));
	free(text);
	harness_pass(h);
}

#define RL_EVENTS 300           /* undecodable events sent at once */
#define RL_RATE 10              /* daemon/log.c LOG_RATE */
#define RL_BURST 50             /* daemon/log.c LOG_BURST */
#define RL_LINE "<6>dead letter at "
#define RL_SUMMARY " similar messages suppressed: \"dead letter at "

/* The sum of the counts of the summary lines holding needle (level 6). */
static long
sum_suppressed(const char *text, const char *needle, int *lines)
{
	const char *p, *q;
	long sum = 0;

	*lines = 0;
	for (p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle)) {
		for (q = p; q > text && q[-1] != '\n'; q--)
			;
		if (strncmp(q, "<6>", 3) != 0)  /* the dead letters' level */
			fail_msg("summary not at level 6: \"%.80s\"", q);
		sum += strtol(q + 3, NULL, 10);
		(*lines)++;
	}
	return sum;
}

/*
 * Rate limit per message format: RL_EVENTS undecodable events make as
 * many dead-letter lines (one format, every text different, so the repeat
 * counting does not apply) within about a second.  At most the burst
 * plus the rate over the time taken are printed, the rest are counted in
 * "N similar messages suppressed" lines at the same level, and printed
 * plus suppressed add up to every event.
 */
static void
test_log_rate_limit(void **state)
{
	struct harness *h = *state;
	long off = file_size(h->daemon.log), suppressed = 0;
	int64_t t0 = mono_ms(), deadline = t0 + 20000, took;
	int printed = 0, summaries = 0;
	char key[32], *text = NULL;

	for (int i = 0; i < RL_EVENTS; i++) {
		snprintf(key, sizeof(key), "rl-%d", i);
		H_OK(h, harness_send(h, HARNESS_TOPIC_EVENTS, key, "not json",
		    8, NULL));
	}
	H_OK(h, harness_flush(h));
	while (mono_ms() < deadline) {
		free(text);
		text = log_since(h->daemon.log, off);
		printed = count_str(text, RL_LINE);
		suppressed = sum_suppressed(text, RL_SUMMARY, &summaries);
		if (printed + suppressed >= RL_EVENTS)
			break;
		harness_sleep_ms(200);
	}
	took = mono_ms() - t0;
	print_message("%d dead-letter lines printed, %ld suppressed in %d "
	    "summary lines, %lld ms\n", printed, suppressed, summaries,
	    (long long)took);
	assert_int_equal(printed + suppressed, RL_EVENTS);
	assert_true(printed >= RL_BURST);
	assert_true(printed <= RL_BURST + RL_RATE * took / 1000 + 1);
	assert_true(summaries >= 1);
	check_prefixes(text, "daemon.log");
	free(text);
}

/* ---- test 9: a hung Redis while the pipeline is idle ---- */

#define HANG_TIMEOUT_MS 5000    /* [redis] timeout_ms: the default */

/* GET path with a client timeout longer than the daemon's; *ms gets how
 * long the answer took. */
static int
slow_get(struct harness *h, const char *path, int64_t *ms)
{
	struct httpc_response resp;
	char err[256];
	int64_t t0 = mono_ms();
	int status;

	if (httpc_request(h->url, "GET", path, NULL, NULL,
	    3 * HANG_TIMEOUT_MS, &resp, err, sizeof(err)) == -1)
		fail_msg("GET %s: %s (after %lld ms)", path, err,
		    (long long)(mono_ms() - t0));
	*ms = mono_ms() - t0;
	status = resp.status;
	print_message("GET %s: %d after %lld ms: %.200s\n", path, status,
	    (long long)*ms, resp.body != NULL ? resp.body : "");
	httpc_response_release(&resp);
	return status;
}

/*
 * Redis frozen (SIGSTOP) while no batch is in flight: an admin call that
 * reads Redis must answer 503 once its command is [redis] timeout_ms old,
 * not hang; a view sent meanwhile waits, and after SIGCONT the daemon
 * reconnects by itself and applies it once.  Before the store had a
 * deadline per command only the pipeline's rounds were timed, so the
 * request hung until the client gave up.
 */
static void
test_redis_hang_idle(void **state)
{
	struct harness *h = *state;
	static const char *const prod[] = { "hang-p0" };
	int64_t ts = harness_now_ms(), ms;
	char path[128], *plan;
	long off;
	int status;

	catalog(h, "shop-hang", prod, 1);
	plan = create_plan(h, "shop-hang", prod, 1);
	snprintf(path, sizeof(path), "/v1/plans/%s", plan);
	send_event(h, prod[0], view_event("shop-hang", prod[0], "hang-c1",
	    ts), NULL);
	H_OK(h, harness_flush(h));
	wait_day_counter(h, prod[0], ts, "pv", 1);
	assert_int_equal(slow_get(h, path, &ms), 200);
	harness_sleep_ms(500);          /* the flight's outbox cleanup */

	off = file_size(h->daemon.log);
	assert_int_equal(kill(h->redis.pid, SIGSTOP), 0);
	send_event(h, prod[0], view_event("shop-hang", prod[0], "hang-c2",
	    ts), NULL);
	H_OK(h, harness_flush(h));
	status = slow_get(h, path, &ms);
	assert_int_equal(status, 503);
	assert_true(ms <= HANG_TIMEOUT_MS + 2000);
	wait_log(h->daemon.log, off, "redis: no reply within", 2000);
	assert_true(log_has(h->daemon.log, off,
	    "resetting the connection"));
	/* reconnected meanwhile (the kernel completes the handshake) but
	 * the setup cannot finish: refused at once, or after the deadline */
	status = slow_get(h, path, &ms);
	assert_int_equal(status, 503);
	assert_true(ms <= HANG_TIMEOUT_MS + 2000);
	harness_sleep_ms(HANG_TIMEOUT_MS);

	assert_int_equal(kill(h->redis.pid, SIGCONT), 0);
	wait_day_counter(h, prod[0], ts, "pv", 2);
	assert_int_equal(slow_get(h, path, &ms), 200);
	send_event(h, prod[0], view_event("shop-hang", prod[0], "hang-c3",
	    ts), NULL);
	H_OK(h, harness_flush(h));
	wait_day_counter(h, prod[0], ts, "pv", 3);
	harness_sleep_ms(SETTLE_MS);
	print_message("after SIGCONT: pv %lld (want 3)\n", day_counter(h,
	    prod[0], ts, "pv"));
	assert_int_equal(day_counter(h, prod[0], ts, "pv"), 3);
	free(plan);
	harness_pass(h);
}

/* ---- fixtures ---- */

static struct harness harness_ops;

/* Start redis, the broker and the daemon for the group. */
static int
setup_group(void **state)
{
	*state = &harness_ops;
	return harness_start_group(&harness_ops, NULL);
}

/* After each test: thaw Redis, stop strays, show logs on failure. */
static int
teardown_test(void **state)
{
	struct harness *h = *state;

	if (h->redis.pid > 0)
		kill(h->redis.pid, SIGCONT);
	if (h->broker.pid > 0)
		kill(h->broker.pid, SIGCONT);
	if (harness_proc_alive(&extra_proc)) {
		kill(extra_proc.pid, SIGKILL);
		while (harness_proc_alive(&extra_proc))
			harness_sleep_ms(10);
	}
	if (!h->test_ok) {
		fprintf(stderr, "test failed; temporary directory %s\n",
		    h->dir);
		harness_log_tail(&h->daemon, 80);
		if (harness_write_config(h) == 0 && h->daemon.pid > 0)
			kill(h->daemon.pid, SIGHUP);
	}
	if (!harness_proc_alive(&h->daemon) &&
	    harness_start_daemon(h) == -1)
		fprintf(stderr, "cannot restart smartpromod: %s\n", h->err);
	return 0;
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_test, teardown_test)

int
main(void)
{
	const struct CMUnitTest ops[] = {
		T(test_reload_good),
		T(test_reload_bad),
		T(test_graceful_stop),
		T(test_second_sigint),
		T(test_drain_deadline),
		T(test_watchdog),
		T(test_ready_waits_for_kafka),
		T(test_log_lifecycle_and_prefixes),
		T(test_log_repeats),
		T(test_log_rate_limit),
		T(test_redis_hang_idle),
	};

	return cmocka_run_group_tests_name("ops", ops, setup_group,
	    harness_teardown_group) != 0;
}
