/* SPDX-License-Identifier: Apache-2.0 */
/*
 * harness.c - the integration test harness: real redis-server,
 * smartpromo-devbroker and smartpromod on private ports in a temporary
 * directory, with Kafka, Redis and HTTP helpers to drive and inspect them.
 * See harness.h for the rules (errors in h->err, ownership, cleanup).
 */
#define _XOPEN_SOURCE 700       /* nftw() */

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "httpc.h"

#define HARNESS_STOP_MS 15000
#define HARNESS_READY_MS 60000
#define HARNESS_REDIS_MS 10000
#define HARNESS_BROKER_MS 15000
#define HARNESS_ASSIGN_MS 15000
#define HARNESS_TAIL_LINES 40
#define HARNESS_MAX_LIVE 8

static struct harness *harness_live[HARNESS_MAX_LIVE];
static int harness_atexit_set;

/* Record a failure reason in h->err (printf-like). */
static int
harness_fail(struct harness *h, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(h->err, sizeof(h->err), fmt, ap);
	va_end(ap);
	return -1;
}

/* Record a failure of a child process and print its log. */
static int
harness_proc_fail(struct harness *h, struct harness_proc *p,
    const char *what)
{
	char how[64];

	if (p->pid > 0)
		snprintf(how, sizeof(how), "pid %ld", (long)p->pid);
	else if (WIFEXITED(p->status))
		snprintf(how, sizeof(how), "exit status %d",
		    WEXITSTATUS(p->status));
	else
		snprintf(how, sizeof(how), "killed by signal %d",
		    WTERMSIG(p->status));
	fprintf(stderr, "harness: %s \"%s\" (%s), log %s\n", what, p->name,
	    how, p->log);
	harness_log_tail(p, HARNESS_TAIL_LINES);
	return harness_fail(h, "%s \"%s\" (log %s)", what, p->name, p->log);
}

int64_t
harness_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Monotonic milliseconds, for timeouts. */
static int64_t
harness_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
harness_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

void
harness_date(int64_t ts, char *buf, size_t len)
{
	time_t t = (time_t)(ts / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d", &tm);
}

/* Release every harness still alive when the test program exits. */
static void
harness_atexit(void)
{
	int i;

	for (i = 0; i < HARNESS_MAX_LIVE; i++)
		if (harness_live[i] != NULL)
			harness_release(harness_live[i]);
}

/* Remember h so that exit() cleans it up. */
static void
harness_register(struct harness *h)
{
	int i;

	if (!harness_atexit_set) {
		atexit(harness_atexit);
		harness_atexit_set = 1;
	}
	for (i = 0; i < HARNESS_MAX_LIVE; i++)
		if (harness_live[i] == NULL || harness_live[i] == h) {
			harness_live[i] = h;
			return;
		}
}

/* Forget h (it was released). */
static void
harness_unregister(struct harness *h)
{
	int i;

	for (i = 0; i < HARNESS_MAX_LIVE; i++)
		if (harness_live[i] == h)
			harness_live[i] = NULL;
}

/* Name the child processes and where their output goes. */
static void
harness_procs_init(struct harness *h)
{
	h->redis.name = "redis-server";
	snprintf(h->redis.out, sizeof(h->redis.out), "%s/redis.log", h->dir);
	memcpy(h->redis.log, h->redis.out, sizeof(h->redis.log));
	h->broker.name = "smartpromo-devbroker";
	snprintf(h->broker.out, sizeof(h->broker.out), "%s/broker.out",
	    h->dir);
	snprintf(h->broker.log, sizeof(h->broker.log), "%s/broker.log",
	    h->dir);
	h->daemon.name = "smartpromod";
	snprintf(h->daemon.out, sizeof(h->daemon.out), "%s/daemon.log",
	    h->dir);
	memcpy(h->daemon.log, h->daemon.out, sizeof(h->daemon.log));
	snprintf(h->conf, sizeof(h->conf), "%s/smartpromod.conf", h->dir);
}

int
harness_init(struct harness *h)
{
	const char *tmp = getenv("TMPDIR");

	memset(h, 0, sizeof(*h));
	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(h->dir, sizeof(h->dir), "%s/smartpromo-itest.XXXXXX", tmp);
	if (mkdtemp(h->dir) == NULL) {
		harness_fail(h, "mkdtemp \"%s\": %s", h->dir, strerror(errno));
		h->dir[0] = '\0';
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	harness_procs_init(h);
	harness_register(h);
	return 0;
}

/* Remove one entry found by nftw (children first). */
static int
harness_rm_cb(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) == -1)
		fprintf(stderr, "harness: remove \"%s\": %s\n", path,
		    strerror(errno));
	return 0;
}

/* rm -rf h->dir, or keep it when SP_KEEP_TMP=1. */
static void
harness_remove_dir(struct harness *h)
{
	const char *keep = getenv("SP_KEEP_TMP");

	if (h->dir[0] == '\0')
		return;
	if (keep != NULL && strcmp(keep, "1") == 0)
		fprintf(stderr, "harness: kept \"%s\" (SP_KEEP_TMP=1)\n",
		    h->dir);
	else
		nftw(h->dir, harness_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	h->dir[0] = '\0';
}

/* Stop a child: signal, wait up to timeout_ms, then SIGKILL. */
static int
harness_stop_proc(struct harness_proc *p, int sig, int timeout_ms,
    int *status)
{
	int64_t deadline = harness_mono_ms() + timeout_ms;
	int killed = 0;

	if (p->pid > 0)
		kill(p->pid, sig);
	while (harness_proc_alive(p)) {
		if (harness_mono_ms() >= deadline && !killed) {
			fprintf(stderr, "harness: \"%s\" still running after "
			    "%d ms, SIGKILL\n", p->name, timeout_ms);
			kill(p->pid, SIGKILL);
			killed = 1;
			deadline = harness_mono_ms() + 5000;
		} else if (harness_mono_ms() >= deadline)
			break;
		harness_sleep_ms(20);
	}
	if (status != NULL)
		*status = p->status;
	return killed ? -1 : 0;
}

/* Drop the producer without waiting for undelivered messages. */
static void
harness_producer_release(struct harness *h)
{
	if (h->producer == NULL)
		return;
	rd_kafka_purge(h->producer, RD_KAFKA_PURGE_F_QUEUE |
	    RD_KAFKA_PURGE_F_INFLIGHT);
	rd_kafka_destroy(h->producer);
	h->producer = NULL;
}

void
harness_release(struct harness *h)
{
	harness_producer_release(h);
	if (h->rc != NULL) {
		redisFree(h->rc);
		h->rc = NULL;
	}
	harness_stop_proc(&h->daemon, SIGTERM, HARNESS_STOP_MS, NULL);
	harness_stop_proc(&h->broker, SIGTERM, HARNESS_STOP_MS, NULL);
	harness_stop_proc(&h->redis, SIGTERM, HARNESS_STOP_MS, NULL);
	harness_remove_dir(h);
	harness_unregister(h);
}

int
harness_free_port(struct harness *h, int *port)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	int fd;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return harness_fail(h, "socket: %s", strerror(errno));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &slen) == -1) {
		harness_fail(h, "bind port 0: %s", strerror(errno));
		close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	close(fd);
	return 0;
}

/* Point fd at the file path (append, create). */
static void
harness_child_redirect(const char *path, int fd)
{
	int f = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);

	if (f == -1)
		_exit(126);
	if (f != fd) {
		dup2(f, fd);
		close(f);
	}
}

/* In the child: die with the parent, redirect output, exec argv. */
static void
harness_child(const char *out, const char *log, char *const argv[])
{
	int devnull;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if ((devnull = open("/dev/null", O_RDONLY)) != -1) {
		dup2(devnull, 0);
		close(devnull);
	}
	harness_child_redirect(out, 1);
	if (strcmp(out, log) == 0)
		dup2(1, 2);
	else
		harness_child_redirect(log, 2);
	signal(SIGPIPE, SIG_DFL);
	execvp(argv[0], argv);
	fprintf(stderr, "harness: exec \"%s\": %s\n", argv[0],
	    strerror(errno));
	_exit(127);
}

/* Fork and exec argv as process p. */
static int
harness_spawn(struct harness *h, struct harness_proc *p, char *const argv[])
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1)
		return harness_fail(h, "fork \"%s\": %s", p->name,
		    strerror(errno));
	if (pid == 0)
		harness_child(p->out, p->log, argv);
	p->pid = pid;
	p->status = 0;
	return 0;
}

int
harness_proc_alive(struct harness_proc *p)
{
	int st;
	pid_t r;

	if (p->pid <= 0)
		return 0;
	r = waitpid(p->pid, &st, WNOHANG);
	if (r == 0)
		return 1;
	if (r == p->pid)
		p->status = st;
	p->pid = 0;
	return 0;
}

char *
harness_read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL)
		return NULL;
	do {
		if (len + 4096 + 1 > cap) {
			char *nb = realloc(buf, cap = len + 65536);

			if (nb == NULL)
				break;
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	fclose(f);
	if (buf != NULL)
		buf[len] = '\0';
	return buf;
}

void
harness_log_tail(const struct harness_proc *p, int lines)
{
	char *text = harness_read_file(p->log);
	size_t len;
	const char *s;
	int n = 0;

	fprintf(stderr, "---- %s: last %d lines of %s ----\n", p->name, lines,
	    p->log);
	if (text == NULL) {
		fprintf(stderr, "(no log)\n");
		return;
	}
	len = strlen(text);
	s = text + len;
	if (s > text && s[-1] == '\n')
		s--;
	while (s > text && n < lines)
		if (*--s == '\n')
			n++;
	if (*s == '\n')
		s++;
	fprintf(stderr, "%s%s---- end of %s ----\n", s,
	    len > 0 && text[len - 1] != '\n' ? "\n" : "", p->name);
	free(text);
}

int
harness_write_file(struct harness *h, const char *name, const char *text,
    char *path, size_t pathlen)
{
	char buf[HARNESS_PATH_MAX];
	FILE *f;

	if (snprintf(buf, sizeof(buf), "%s/%s", h->dir, name) >=
	    (int)sizeof(buf))
		return harness_fail(h, "path too long for \"%s\"", name);
	if ((f = fopen(buf, "w")) == NULL)
		return harness_fail(h, "open \"%s\": %s", buf,
		    strerror(errno));
	fputs(text, f);
	if (fclose(f) != 0)
		return harness_fail(h, "write \"%s\": %s", buf,
		    strerror(errno));
	if (path != NULL)
		snprintf(path, pathlen, "%s", buf);
	return 0;
}

/* One PING on a fresh connection; keeps it in h->rc on success. */
static int
harness_redis_ping(struct harness *h)
{
	struct timeval tv = { 0, 500000 };
	redisContext *c;
	redisReply *r;
	int ok;

	c = redisConnectWithTimeout("127.0.0.1", h->redis_port, tv);
	if (c == NULL || c->err) {
		if (c != NULL)
			redisFree(c);
		return -1;
	}
	r = redisCommand(c, "PING");
	ok = r != NULL && r->type == REDIS_REPLY_STATUS &&
	    strcmp(r->str, "PONG") == 0;
	if (r != NULL)
		freeReplyObject(r);
	if (!ok) {
		redisFree(c);
		return -1;
	}
	tv.tv_sec = 5;
	tv.tv_usec = 0;
	redisSetTimeout(c, tv);
	h->rc = c;
	return 0;
}

int
harness_start_redis(struct harness *h)
{
	char port[16];
	char *argv[] = { "redis-server", "--port", port, "--bind",
	    "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", h->dir,
	    "--daemonize", "no", NULL };
	int64_t deadline;

	if (harness_free_port(h, &h->redis_port) == -1)
		return -1;
	snprintf(port, sizeof(port), "%d", h->redis_port);
	if (harness_spawn(h, &h->redis, argv) == -1)
		return -1;
	deadline = harness_mono_ms() + HARNESS_REDIS_MS;
	while (harness_redis_ping(h) == -1) {
		if (!harness_proc_alive(&h->redis))
			return harness_proc_fail(h, &h->redis, "exited early");
		if (harness_mono_ms() > deadline)
			return harness_proc_fail(h, &h->redis,
			    "no PONG within 10 s from");
		harness_sleep_ms(50);
	}
	return 0;
}

/* Parse "bootstrap=HOST:PORT\n" from the start of the broker's stdout. */
static int
harness_broker_bootstrap(struct harness *h)
{
	char *text = harness_read_file(h->broker.out);
	char *nl;
	int ok = 0;

	if (text != NULL && (nl = strchr(text, '\n')) != NULL) {
		*nl = '\0';
		if (strncmp(text, "bootstrap=", 10) == 0 && text[10] != '\0' &&
		    strlen(text + 10) < sizeof(h->bootstrap)) {
			snprintf(h->bootstrap, sizeof(h->bootstrap), "%s",
			    text + 10);
			ok = 1;
		} else
			ok = -1;
	}
	free(text);
	return ok;
}

int
harness_start_broker(struct harness *h)
{
	char *argv[] = { SP_BIN_DIR "/smartpromo-devbroker",
	    "--topic", HARNESS_TOPIC_EVENTS ":4",
	    "--topic", HARNESS_TOPIC_OFFERS ":4",
	    "--topic", HARNESS_TOPIC_METRICS ":1",
	    "--topic", HARNESS_TOPIC_DEAD ":1", NULL };
	int64_t deadline;
	int r;

	if (harness_spawn(h, &h->broker, argv) == -1)
		return -1;
	deadline = harness_mono_ms() + HARNESS_BROKER_MS;
	while ((r = harness_broker_bootstrap(h)) == 0) {
		if (!harness_proc_alive(&h->broker))
			return harness_proc_fail(h, &h->broker, "exited early");
		if (harness_mono_ms() > deadline)
			return harness_proc_fail(h, &h->broker,
			    "no bootstrap= line within 15 s from");
		harness_sleep_ms(50);
	}
	if (r == -1)
		return harness_proc_fail(h, &h->broker,
		    "first stdout line is not bootstrap=HOST:PORT from");
	return 0;
}

/*
 * The session timeout is the smallest allowed: the dev broker (librdkafka's
 * mock cluster) keeps a member that left until its session expires, so a
 * restarted daemon would wait the default 45 s for its partitions.
 */
int
harness_write_config(struct harness *h)
{
	char text[2048];
	FILE *f;

	if (h->admin_port == 0 && harness_free_port(h, &h->admin_port) == -1)
		return -1;
	snprintf(h->url, sizeof(h->url), "http://127.0.0.1:%d",
	    h->admin_port);
	snprintf(text, sizeof(text),
	    "[kafka]\nbrokers = %s\ngroup_id = itest\n"
	    "session_timeout_ms = 6000\n"
	    "input_topic = " HARNESS_TOPIC_EVENTS "\n"
	    "offers_topic = " HARNESS_TOPIC_OFFERS "\n"
	    "metrics_topic = " HARNESS_TOPIC_METRICS "\n"
	    "dead_letter_topic = " HARNESS_TOPIC_DEAD "\n"
	    "[redis]\nhost = 127.0.0.1\nport = %d\nkey_prefix = sp:\n"
	    "[admin]\nlisten = 127.0.0.1:%d\n"
	    "[engine]\nholdout_pct = 10\n"
	    "[log]\nlevel = debug\n",
	    h->bootstrap, h->redis_port, h->admin_port);
	if ((f = fopen(h->conf, "w")) == NULL)
		return harness_fail(h, "open \"%s\": %s", h->conf,
		    strerror(errno));
	fputs(text, f);
	/* most groups test other things than eligibility: their shops send
	 * no "shop" event; a group that sets the key itself keeps its own */
	if (strstr(h->extra_config, "require_shop_data") == NULL)
		fputs("[plans]\nrequire_shop_data = no\n", f);
	fputs(h->extra_config, f);
	if (fclose(f) != 0)
		return harness_fail(h, "write \"%s\": %s", h->conf,
		    strerror(errno));
	return 0;
}

/* 1 if GET /v1/status says "ready": true, 0 if not (yet), with status. */
static int
harness_daemon_ready(struct harness *h, json_t **status)
{
	json_t *js = NULL;
	int code, ready;

	*status = NULL;
	if (harness_http(h, "GET", "/v1/status", NULL, &code, &js) == -1)
		return 0;
	ready = code == 200 && js != NULL &&
	    json_is_true(json_object_get(js, "ready"));
	*status = js;
	return ready;
}

/* The kafka.assigned_partitions of a status, -1 when absent. */
static json_int_t
harness_status_assigned(json_t *status)
{
	json_t *n = json_object_get(json_object_get(status, "kafka"),
	    "assigned_partitions");

	return json_is_integer(n) ? json_integer_value(n) : -1;
}

/*
 * Wait (bounded, not an error) for the consumer to own partitions, when
 * the status reports it, so that events produced next are not missed.
 */
static void
harness_wait_assigned(struct harness *h, json_t *status)
{
	int64_t deadline = harness_mono_ms() + HARNESS_ASSIGN_MS;
	json_t *js = json_incref(status);

	while (harness_status_assigned(js) == 0 &&
	    harness_mono_ms() < deadline) {
		json_decref(js);
		harness_sleep_ms(100);
		harness_daemon_ready(h, &js);
	}
	if (harness_status_assigned(js) == 0)
		fprintf(stderr, "harness: smartpromod ready but no partition "
		    "assigned after %d ms\n", HARNESS_ASSIGN_MS);
	json_decref(js);
}

/* Poll /v1/status until ready, the daemon dies, or 60 s pass. */
static int
harness_wait_daemon(struct harness *h)
{
	int64_t start = harness_mono_ms();
	json_t *status = NULL;

	while (!harness_daemon_ready(h, &status)) {
		json_decref(status);
		if (!harness_proc_alive(&h->daemon))
			return harness_proc_fail(h, &h->daemon, "exited early");
		if (harness_mono_ms() - start > HARNESS_READY_MS)
			return harness_proc_fail(h, &h->daemon,
			    "not ready within 60 s");
		harness_sleep_ms(200);
	}
	harness_wait_assigned(h, status);
	json_decref(status);
	fprintf(stderr, "harness: smartpromod ready after %lld ms\n",
	    (long long)(harness_mono_ms() - start));
	return 0;
}

int
harness_start_daemon(struct harness *h)
{
	char *argv[] = { SP_BIN_DIR "/smartpromod", "-c", h->conf, NULL };

	if (harness_spawn(h, &h->daemon, argv) == -1)
		return -1;
	return harness_wait_daemon(h);
}

int
harness_stop_daemon(struct harness *h, int *status)
{
	if (h->daemon.pid <= 0)
		return harness_fail(h, "\"smartpromod\" is not running");
	if (harness_stop_proc(&h->daemon, SIGTERM, HARNESS_STOP_MS,
	    status) == -1)
		return harness_proc_fail(h, &h->daemon,
		    "did not stop within 15 s of SIGTERM:");
	return 0;
}

int
harness_restart_daemon(struct harness *h)
{
	int st;

	if (harness_stop_daemon(h, &st) == -1)
		return -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		harness_proc_fail(h, &h->daemon, "bad exit status of");
		return harness_fail(h, "\"smartpromod\" stopped with %s %d",
		    WIFEXITED(st) ? "exit status" : "signal",
		    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	}
	return harness_start_daemon(h);
}

int
harness_start_all(struct harness *h)
{
	if (harness_start_redis(h) == -1 || harness_start_broker(h) == -1 ||
	    harness_write_config(h) == -1 || harness_start_daemon(h) == -1)
		return -1;
	fprintf(stderr, "harness: dir %s redis 127.0.0.1:%d broker %s "
	    "admin %s\n", h->dir, h->redis_port, h->bootstrap, h->url);
	return 0;
}

/* Wait for the child of harness_run() with a deadline. */
static int
harness_run_wait(struct harness *h, struct harness_proc *p, int timeout_ms)
{
	int64_t deadline = harness_mono_ms() + timeout_ms;

	while (harness_proc_alive(p))
		if (harness_mono_ms() > deadline) {
			harness_stop_proc(p, SIGKILL, 1000, NULL);
			return harness_proc_fail(h, p, "timed out:");
		} else
			harness_sleep_ms(10);
	return 0;
}

int
harness_run(struct harness *h, char *const argv[], const char *out,
    int timeout_ms, int *status)
{
	struct harness_proc p;

	memset(&p, 0, sizeof(p));
	p.name = argv[0];
	snprintf(p.out, sizeof(p.out), "%s", out);
	memcpy(p.log, p.out, sizeof(p.log));
	unlink(out);
	if (harness_spawn(h, &p, argv) == -1 ||
	    harness_run_wait(h, &p, timeout_ms) == -1)
		return -1;
	*status = p.status;
	return 0;
}

/* Delivery report: record where the message landed. */
static void
harness_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct harness *h = opaque;
	struct harness_pos *pos = m->_private;

	(void)rk;
	if (m->err) {
		h->failed_deliveries++;
		snprintf(h->err, sizeof(h->err), "delivery to \"%s\": %s",
		    rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
	}
	if (pos != NULL) {
		pos->partition = m->partition;
		pos->offset = m->offset;
		pos->error = m->err;
		pos->done = 1;
	}
}

/* Set one librdkafka property or fail. */
static int
harness_kconf(struct harness *h, rd_kafka_conf_t *conf, const char *name,
    const char *value)
{
	char errstr[256];

	if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) !=
	    RD_KAFKA_CONF_OK)
		return harness_fail(h, "kafka property \"%s\": %s", name,
		    errstr);
	return 0;
}

/* Create the producer on first use. */
static int
harness_producer(struct harness *h)
{
	rd_kafka_conf_t *conf;
	char errstr[256];

	if (h->producer != NULL)
		return 0;
	conf = rd_kafka_conf_new();
	if (harness_kconf(h, conf, "bootstrap.servers", h->bootstrap) == -1 ||
	    harness_kconf(h, conf, "linger.ms", "2") == -1 ||
	    harness_kconf(h, conf, "message.timeout.ms", "15000") == -1) {
		rd_kafka_conf_destroy(conf);
		return -1;
	}
	rd_kafka_conf_set_dr_msg_cb(conf, harness_dr_cb);
	rd_kafka_conf_set_opaque(conf, h);
	h->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr,
	    sizeof(errstr));
	if (h->producer == NULL)
		return harness_fail(h, "kafka producer: %s", errstr);
	return 0;
}

int
harness_send(struct harness *h, const char *topic, const char *key,
    const void *payload, size_t len, struct harness_pos *pos)
{
	size_t klen = key != NULL ? strlen(key) : 0;
	rd_kafka_resp_err_t err;

	if (harness_producer(h) == -1)
		return -1;
	if (pos != NULL)
		memset(pos, 0, sizeof(*pos));
	for (;;) {
		err = rd_kafka_producev(h->producer, RD_KAFKA_V_TOPIC(topic),
		    RD_KAFKA_V_KEY(key, klen),
		    RD_KAFKA_V_VALUE((void *)payload, len),
		    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		    RD_KAFKA_V_OPAQUE(pos), RD_KAFKA_V_END);
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			break;
		rd_kafka_poll(h->producer, 50);
	}
	if (err)
		return harness_fail(h, "produce to \"%s\": %s", topic,
		    rd_kafka_err2str(err));
	rd_kafka_poll(h->producer, 0);
	return 0;
}

int
harness_flush(struct harness *h)
{
	rd_kafka_resp_err_t err;

	if (h->producer == NULL)
		return 0;
	err = rd_kafka_flush(h->producer, 20000);
	if (err)
		return harness_fail(h, "flush: %s (broker %s)",
		    rd_kafka_err2str(err), h->bootstrap);
	if (h->failed_deliveries > 0) {
		h->failed_deliveries = 0;
		return -1;
	}
	return 0;
}

int
harness_produce(struct harness *h, const char *topic, const char *key,
    const void *payload, size_t len, struct harness_pos *pos)
{
	if (harness_send(h, topic, key, payload, len, pos) == -1)
		return -1;
	return harness_flush(h);
}

int
harness_send_event(struct harness *h, const char *key, json_t *ev)
{
	char *text = json_dumps(ev, JSON_COMPACT);
	int r;

	if (text == NULL)
		return harness_fail(h, "json_dumps failed");
	r = harness_send(h, HARNESS_TOPIC_EVENTS, key, text, strlen(text),
	    NULL);
	free(text);
	return r;
}

/* A consumer that reads by assignment and never commits. */
static rd_kafka_t *
harness_consumer_new(struct harness *h)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char errstr[256], group[64];
	static int seq;
	rd_kafka_t *rk;

	snprintf(group, sizeof(group), "itest-reader-%ld-%d", (long)getpid(),
	    ++seq);
	if (harness_kconf(h, conf, "bootstrap.servers", h->bootstrap) == -1 ||
	    harness_kconf(h, conf, "group.id", group) == -1 ||
	    harness_kconf(h, conf, "enable.auto.commit", "false") == -1 ||
	    harness_kconf(h, conf, "enable.partition.eof", "true") == -1) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	if (rk == NULL)
		harness_fail(h, "kafka consumer: %s", errstr);
	return rk;
}

/* The partition count of topic (retries while metadata is incomplete). */
static int
harness_partitions(struct harness *h, rd_kafka_t *rk, const char *topic)
{
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	const struct rd_kafka_metadata *md;
	rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
	int n = 0, tries;

	for (tries = 0; tries < 50 && n <= 0; tries++) {
		if (tries > 0)
			harness_sleep_ms(100);
		err = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
		if (err)
			continue;
		if (md->topic_cnt == 1 && !md->topics[0].err)
			n = md->topics[0].partition_cnt;
		else if (md->topic_cnt == 1)
			err = md->topics[0].err;
		rd_kafka_metadata_destroy(md);
	}
	rd_kafka_topic_destroy(rkt);
	if (n <= 0)
		return harness_fail(h, "no partitions for topic \"%s\": %s",
		    topic, rd_kafka_err2str(err));
	return n;
}

/* Assign partitions 0..n-1 of topic from the beginning. */
static int
harness_assign_all(struct harness *h, rd_kafka_t *rk, const char *topic,
    int n)
{
	rd_kafka_topic_partition_list_t *l;
	rd_kafka_resp_err_t err;
	int i;

	l = rd_kafka_topic_partition_list_new(n);
	for (i = 0; i < n; i++)
		rd_kafka_topic_partition_list_add(l, topic, i)->offset =
		    RD_KAFKA_OFFSET_BEGINNING;
	err = rd_kafka_assign(rk, l);
	rd_kafka_topic_partition_list_destroy(l);
	if (err)
		return harness_fail(h, "assign \"%s\": %s", topic,
		    rd_kafka_err2str(err));
	return 0;
}

/*
 * Bytes as a JSON string: as they are when valid UTF-8, else with every
 * byte outside printable ASCII written as \xNN (so it can be printed).
 */
static json_t *
harness_text_json(const void *buf, size_t len)
{
	const unsigned char *b = buf;
	json_t *s;
	char *esc;
	size_t i, n = 0;

	if ((s = json_stringn(buf, len)) != NULL)
		return s;
	if ((esc = malloc(len * 4 + 1)) == NULL)
		return json_null();
	for (i = 0; i < len; i++)
		if (b[i] >= 0x20 && b[i] < 0x7f)
			esc[n++] = (char)b[i];
		else
			n += (size_t)sprintf(esc + n, "\\x%02x", b[i]);
	s = json_stringn(esc, n);
	free(esc);
	return s;
}

/* A consumed message as {"partition", "offset", "key", "value"}. */
static json_t *
harness_msg_json(const rd_kafka_message_t *m)
{
	json_t *o = json_object(), *v;

	json_object_set_new(o, "partition", json_integer(m->partition));
	json_object_set_new(o, "offset", json_integer(m->offset));
	json_object_set_new(o, "key", m->key == NULL ? json_null() :
	    harness_text_json(m->key, m->key_len));
	v = json_loadb(m->payload, m->len, 0, NULL);
	if (v == NULL) {
		v = harness_text_json(m->payload, m->len);
		json_object_set_new(o, "raw", json_true());
	}
	json_object_set_new(o, "value", v);
	return o;
}

/* State of one harness_consume() run. */
struct harness_reader {
	harness_match_fn match;
	void *arg;
	int want, idle_ms, nparts;
	char eof[64];           /* per partition: at its end */
	json_t *out;
	int64_t last;           /* monotonic ms of the last message */
};

/* Nonzero when the read is complete. */
static int
harness_reader_done(const struct harness_reader *r)
{
	int i;

	if (r->want > 0 && (int)json_array_size(r->out) >= r->want)
		return 1;
	if (harness_mono_ms() - r->last > r->idle_ms)
		return 1;
	if (r->want > 0)
		return 0;
	for (i = 0; i < r->nparts; i++)
		if (!r->eof[i])
			return 0;
	return 1;
}

/* Take one polled message (or event) into the reader. */
static int
harness_reader_take(struct harness *h, struct harness_reader *r,
    rd_kafka_message_t *m)
{
	json_t *o;
	int p = m->partition >= 0 && m->partition < 64 ? m->partition : 0;

	if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
		r->eof[p] = 1;
		return 0;
	}
	if (m->err)
		return harness_fail(h, "consume: %s", rd_kafka_message_errstr(m));
	r->eof[p] = 0;
	r->last = harness_mono_ms();
	o = harness_msg_json(m);
	if (r->match == NULL || r->match(json_object_get(o, "value"), r->arg))
		json_array_append(r->out, o);
	json_decref(o);
	return 0;
}

/* Poll until the reader is done. */
static int
harness_reader_run(struct harness *h, rd_kafka_t *rk,
    struct harness_reader *r)
{
	rd_kafka_message_t *m;
	int rv = 0;

	r->last = harness_mono_ms();
	while (rv == 0 && !harness_reader_done(r)) {
		if ((m = rd_kafka_consumer_poll(rk, 50)) == NULL)
			continue;
		rv = harness_reader_take(h, r, m);
		rd_kafka_message_destroy(m);
	}
	return rv;
}

int
harness_consume(struct harness *h, const char *topic, harness_match_fn match,
    void *arg, int want, int idle_ms, json_t **out)
{
	struct harness_reader r;
	rd_kafka_t *rk;
	int rv = -1;

	memset(&r, 0, sizeof(r));
	r.match = match;
	r.arg = arg;
	r.want = want;
	r.idle_ms = idle_ms;
	*out = NULL;
	if ((rk = harness_consumer_new(h)) == NULL)
		return -1;
	rd_kafka_poll_set_consumer(rk);
	r.out = json_array();
	if ((r.nparts = harness_partitions(h, rk, topic)) > 0 &&
	    r.nparts <= 64 &&
	    harness_assign_all(h, rk, topic, r.nparts) == 0)
		rv = harness_reader_run(h, rk, &r);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	if (rv == -1) {
		json_decref(r.out);
		return -1;
	}
	*out = r.out;
	return (int)json_array_size(r.out);
}

/* Run one Redis command with a key and a field (field may be NULL). */
static redisReply *
harness_redis(struct harness *h, const char *cmd, const char *key,
    const char *field)
{
	redisReply *r;

	if (h->rc == NULL) {
		harness_fail(h, "no redis connection");
		return NULL;
	}
	if (field != NULL)
		r = redisCommand(h->rc, "%s %s %s", cmd, key, field);
	else
		r = redisCommand(h->rc, "%s %s", cmd, key);
	if (r == NULL)
		harness_fail(h, "redis %s \"%s\": %s", cmd, key, h->rc->errstr);
	else if (r->type == REDIS_REPLY_ERROR) {
		harness_fail(h, "redis %s \"%s\": %s", cmd, key, r->str);
		freeReplyObject(r);
		r = NULL;
	}
	return r;
}

int
harness_hget(struct harness *h, const char *key, const char *field,
    char **value)
{
	redisReply *r = harness_redis(h, "HGET", key, field);

	*value = NULL;
	if (r == NULL)
		return -1;
	if (r->type == REDIS_REPLY_STRING)
		*value = strdup(r->str);
	freeReplyObject(r);
	return 0;
}

int
harness_hget_ll(struct harness *h, const char *key, const char *field,
    long long *value)
{
	char *s, *end;

	*value = 0;
	if (harness_hget(h, key, field, &s) == -1)
		return -1;
	if (s == NULL)
		return 0;
	errno = 0;
	*value = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0') {
		harness_fail(h, "\"%s\" %s is not an integer: \"%s\"", key,
		    field, s);
		free(s);
		return -1;
	}
	free(s);
	return 0;
}

int
harness_hgetall(struct harness *h, const char *key, json_t **out)
{
	redisReply *r = harness_redis(h, "HGETALL", key, NULL);
	size_t i;

	*out = NULL;
	if (r == NULL)
		return -1;
	*out = json_object();
	for (i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements;
	    i += 2)
		json_object_set_new(*out, r->element[i]->str,
		    harness_text_json(r->element[i + 1]->str,
		    r->element[i + 1]->len));
	freeReplyObject(r);
	return 0;
}

int
harness_exists(struct harness *h, const char *key)
{
	redisReply *r = harness_redis(h, "EXISTS", key, NULL);
	int n;

	if (r == NULL)
		return -1;
	n = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
	freeReplyObject(r);
	return n;
}

int
harness_wait_hash_ge(struct harness *h, const char *key, const char *field,
    long long want, int timeout_ms, long long *got)
{
	int64_t deadline = harness_mono_ms() + timeout_ms;

	for (;;) {
		if (harness_hget_ll(h, key, field, got) == -1)
			return -1;
		if (*got >= want)
			return 0;
		if (harness_mono_ms() > deadline)
			return harness_fail(h, "\"%s\" %s is %lld after %d ms, "
			    "want >= %lld", key, field, *got, timeout_ms, want);
		harness_sleep_ms(100);
	}
}

int
harness_wait_exists(struct harness *h, const char *key, int timeout_ms)
{
	int64_t deadline = harness_mono_ms() + timeout_ms;
	int r;

	while ((r = harness_exists(h, key)) == 0) {
		if (harness_mono_ms() > deadline)
			return harness_fail(h, "no key \"%s\" after %d ms",
			    key, timeout_ms);
		harness_sleep_ms(100);
	}
	return r == 1 ? 0 : -1;
}

int
harness_http(struct harness *h, const char *method, const char *path,
    const char *body, int *status, json_t **out)
{
	struct httpc_response resp;
	char err[256];

	if (out != NULL)
		*out = NULL;
	if (httpc_request(h->url, method, path, body, NULL, 5000, &resp, err,
	    sizeof(err)) == -1)
		return harness_fail(h, "%s %s%s: %s", method, h->url, path,
		    err);
	*status = resp.status;
	if (out != NULL && resp.body != NULL)
		*out = json_loadb(resp.body, resp.len, 0, NULL);
	httpc_response_release(&resp);
	return 0;
}

long long
harness_metric(struct harness *h, const char *name)
{
	struct httpc_response resp;
	char err[256], *text, *p;
	long long v = -1;
	size_t n = strlen(name);

	if (httpc_request(h->url, "GET", "/metrics", NULL, NULL, 5000, &resp,
	    err, sizeof(err)) == -1) {
		harness_fail(h, "GET /metrics: %s", err);
		return -1;
	}
	text = resp.status == 200 ? strndup(resp.body != NULL ? resp.body :
	    "", resp.len) : NULL;
	httpc_response_release(&resp);
	for (p = text; p != NULL && *p != '\0'; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncmp(p, name, n) == 0 && p[n] == ' ')
			v = strtoll(p + n + 1, NULL, 10);
	}
	free(text);
	return v;
}

void
harness_pass(struct harness *h)
{
	h->test_ok = 1;
}

/* ---- small helpers the test files share ---- */

const char *
harness_jtext(const json_t *o)
{
	static char buf[4][8192];
	static int next;
	char *b = buf[next++ % 4];
	size_t n = o != NULL ? json_dumpb(o, b, sizeof(buf[0]) - 1,
	    JSON_COMPACT | JSON_ENCODE_ANY) : 0;

	b[n < sizeof(buf[0]) ? n : 0] = '\0';
	return b;
}

const char *
harness_sfield(const json_t *o, const char *name)
{
	const char *s = json_string_value(json_object_get(o, name));

	return s != NULL ? s : "";
}

uint64_t
harness_fnv1a64(const char *s)
{
	uint64_t x = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++) {
		x ^= (unsigned char)*s;
		x *= 0x100000001b3ULL;
	}
	return x;
}

int
harness_in_holdout(const char *customer_id, double pct)
{
	return (double)(harness_fnv1a64(customer_id) % 10000) < pct * 100;
}

int
harness_start_group(struct harness *h, const char *extra)
{
	if (harness_init(h) == -1) {
		fprintf(stderr, "harness: %s\n", h->err);
		return -1;
	}
	snprintf(h->extra_config, sizeof(h->extra_config), "%s",
	    extra != NULL ? extra : "");
	if (harness_start_all(h) == -1) {
		fprintf(stderr, "harness: %s\n", h->err);
		harness_release(h);
		return -1;
	}
	return 0;
}

int
harness_teardown_group(void **state)
{
	harness_release(*state);
	return 0;
}

int
harness_setup_test(void **state)
{
	struct harness *h = *state;

	h->test_ok = 0;
	if (!harness_proc_alive(&h->daemon)) {
		fprintf(stderr, "smartpromod is not running (wait status "
		    "0x%x)\n", (unsigned)h->daemon.status);
		harness_log_tail(&h->daemon, 80);
		return -1;
	}
	return 0;
}

int
harness_teardown_test(void **state)
{
	struct harness *h = *state;

	if (!h->test_ok) {
		h->any_failed = 1;
		fprintf(stderr, "test failed; temporary directory %s\n",
		    h->dir);
		if (access(h->daemon.log, F_OK) == 0)
			harness_log_tail(&h->daemon, 80);
	}
	return 0;
}
