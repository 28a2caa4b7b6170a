/* SPDX-License-Identifier: Apache-2.0 */
/*
 * devbroker.c - smartpromo-devbroker: a local, single-process Kafka-protocol
 * broker for demos, development and tests, built on librdkafka's mock
 * cluster (rdkafka_mock.h).  It creates the topics named on the command
 * line, prints "bootstrap=HOST:PORT[,...]" as its first line on stdout and
 * runs until SIGTERM or SIGINT.  With --control-stdin it reads
 * fault-injection commands from stdin, one per line, and answers each with
 * "ok" or "error: ..." on stdout.  Everything lives in memory; the log of
 * each partition is bounded by librdkafka (older message sets are dropped).
 */
#include <sys/select.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "util.h"

#define DEVBROKER_MAX_TOPICS	128
#define DEVBROKER_MAX_BROKERS	16
#define DEVBROKER_MAX_PARTS	1024
#define DEVBROKER_TOPIC_MAX	249
#define DEVBROKER_LINE_MAX	1024
#define DEVBROKER_MAX_ARGS	4

struct devbroker_opts {
	int		 brokers;
	int		 partitions;
	int		 quiet;
	int		 control;
	const char	*port_file;
	const char	*topics[DEVBROKER_MAX_TOPICS];
	size_t		 ntopics;
};

/* A fault-control command: its name, argument count and handler. */
struct devbroker_cmd {
	const char	*name;
	int		 argc;
	const char	*args;
	int		(*fn)(rd_kafka_mock_cluster_t *, char **, char *, size_t);
};

/* A Kafka API key by name, for request-errors. */
struct devbroker_api {
	const char	*name;
	int16_t		 key;
};

static const struct devbroker_api devbroker_apis[] = {
	{ "Produce", 0 },		{ "Fetch", 1 },
	{ "ListOffsets", 2 },		{ "Metadata", 3 },
	{ "OffsetCommit", 8 },		{ "OffsetFetch", 9 },
	{ "FindCoordinator", 10 },	{ "JoinGroup", 11 },
	{ "Heartbeat", 12 },		{ "LeaveGroup", 13 },
	{ "SyncGroup", 14 },		{ "ApiVersions", 18 },
	{ "CreateTopics", 19 },		{ "InitProducerId", 22 },
	{ "AddPartitionsToTxn", 24 },	{ "AddOffsetsToTxn", 25 },
	{ "EndTxn", 26 },		{ "TxnOffsetCommit", 28 },
};

static volatile sig_atomic_t devbroker_stop;
static int devbroker_quiet;
static int devbroker_partitions = 4;

/* Print the usage text to fp. */
static void
devbroker_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: smartpromo-devbroker [--brokers N] [--partitions N]\n"
	    "           [--topic NAME[:PARTITIONS]]... [--port-file FILE]\n"
	    "           [--control-stdin] [--quiet] [-h]\n"
	    "\n"
	    "A local Kafka-protocol broker on librdkafka's in-memory mock\n"
	    "cluster, for demos, development and tests; not for production.\n"
	    "Prints \"bootstrap=HOST:PORT[,...]\" as the first line on stdout\n"
	    "and runs until SIGTERM or SIGINT.\n"
	    "\n"
	    "  --brokers N          number of mock brokers (default 1)\n"
	    "  --partitions N       default partitions per topic (default 4)\n"
	    "  --topic NAME[:P]     create topic NAME with P partitions\n"
	    "                       (repeatable)\n"
	    "  --port-file FILE     also write the bootstrap list to FILE\n"
	    "                       (atomically; removed at exit)\n"
	    "  --control-stdin      read fault-injection commands from stdin\n"
	    "  --quiet              no informational output on stderr\n"
	    "  -h, --help           this text\n"
	    "\n"
	    "Control commands (answer \"ok\" or \"error: ...\"):\n"
	    "  broker-down ID | broker-up ID | rtt ID MS\n"
	    "  topic-error TOPIC ERRNAME | topic-create NAME[:P]\n"
	    "  request-errors APIKEY CNT ERRNAME\n"
	    "The listen address is 127.0.0.1 with a port chosen by the\n"
	    "kernel: librdkafka 2.0.2 offers no way to choose it.\n");
}

/* Check that name is a valid Kafka topic name. */
static int
devbroker_topic_valid(const char *name, size_t len)
{
	size_t i;

	if (len == 0 || len > DEVBROKER_TOPIC_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		if (!isalnum((unsigned char)name[i]) && name[i] != '.' &&
		    name[i] != '_' && name[i] != '-')
			return -1;
	}
	return 0;
}

/* Split "NAME[:PARTITIONS]" into name and partition count. */
static int
devbroker_topic_spec(const char *spec, int defparts, char *name,
    size_t namelen, int *parts, char *errstr, size_t errlen)
{
	const char *colon = strchr(spec, ':');
	size_t len = colon != NULL ? (size_t)(colon - spec) : strlen(spec);
	long n = defparts;

	if (devbroker_topic_valid(spec, len) == -1 || len >= namelen) {
		snprintf(errstr, errlen, "invalid topic name \"%.*s\"",
		    (int)len, spec);
		return -1;
	}
	if (colon != NULL && util_parse_long(colon + 1, 1,
	    DEVBROKER_MAX_PARTS, &n) == -1) {
		snprintf(errstr, errlen, "invalid partition count \"%s\"",
		    colon + 1);
		return -1;
	}
	memcpy(name, spec, len);
	name[len] = '\0';
	*parts = (int)n;
	return 0;
}

/* Take the value of option argv[*i], or fail when it is missing. */
static const char *
devbroker_optval(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc) {
		fprintf(stderr, "smartpromo-devbroker: option \"%s\" needs a "
		    "value\n", argv[*i]);
		return NULL;
	}
	return argv[++*i];
}

/* Parse an option with a numeric value into *out. */
static int
devbroker_opt_num(int argc, char **argv, int *i, long max, int *out)
{
	const char *opt = argv[*i], *v;
	long n;

	if ((v = devbroker_optval(argc, argv, i)) == NULL)
		return -1;
	if (util_parse_long(v, 1, max, &n) == -1) {
		fprintf(stderr, "smartpromo-devbroker: invalid value \"%s\" "
		    "for \"%s\" (1-%ld)\n", v, opt, max);
		return -1;
	}
	*out = (int)n;
	return 0;
}

/* Handle one command-line option; 0, 1 for -h, or -1. */
static int
devbroker_opt(int argc, char **argv, int *i, struct devbroker_opts *o)
{
	const char *a = argv[*i];

	if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
		return 1;
	if (strcmp(a, "--brokers") == 0)
		return devbroker_opt_num(argc, argv, i,
		    DEVBROKER_MAX_BROKERS, &o->brokers);
	if (strcmp(a, "--partitions") == 0)
		return devbroker_opt_num(argc, argv, i, DEVBROKER_MAX_PARTS,
		    &o->partitions);
	if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
		o->quiet = 1;
		return 0;
	}
	if (strcmp(a, "--control-stdin") == 0) {
		o->control = 1;
		return 0;
	}
	if (strcmp(a, "--port-file") == 0)
		return (o->port_file = devbroker_optval(argc, argv, i)) ?
		    0 : -1;
	if (strcmp(a, "--topic") == 0) {
		if (o->ntopics == DEVBROKER_MAX_TOPICS) {
			fprintf(stderr, "smartpromo-devbroker: too many "
			    "topics (at most %d)\n", DEVBROKER_MAX_TOPICS);
			return -1;
		}
		return (o->topics[o->ntopics++] = devbroker_optval(argc,
		    argv, i)) ? 0 : -1;
	}
	fprintf(stderr, "smartpromo-devbroker: unknown option \"%s\"\n", a);
	return -1;
}

/* Parse the command line; 0, 1 when help was printed, or -1. */
static int
devbroker_parse_args(int argc, char **argv, struct devbroker_opts *o)
{
	int i, rc;

	for (i = 1; i < argc; i++) {
		if ((rc = devbroker_opt(argc, argv, &i, o)) != 0) {
			if (rc == 1)
				devbroker_usage(stdout);
			else
				devbroker_usage(stderr);
			return rc;
		}
	}
	return 0;
}

/* Find a Kafka error code by name (REQUEST_TIMED_OUT, ERR_..., or 7). */
static int
devbroker_err_lookup(const char *name, rd_kafka_resp_err_t *errp)
{
	const struct rd_kafka_err_desc *descs;
	size_t cnt, i;
	long n;

	if (util_parse_long(name, 0, INT16_MAX, &n) == 0) {
		*errp = (rd_kafka_resp_err_t)n;
		return 0;
	}
	if (strncasecmp(name, "RD_KAFKA_RESP_", 14) == 0)
		name += 14;
	if (strncasecmp(name, "ERR_", 4) == 0)
		name += 4;
	rd_kafka_get_err_descs(&descs, &cnt);
	for (i = 0; i < cnt; i++) {
		/* only errors a broker can send: no internal ones (< 0) */
		if (descs[i].name == NULL || descs[i].code < 0)
			continue;
		if (strcasecmp(descs[i].name, name) == 0) {
			*errp = descs[i].code;
			return 0;
		}
	}
	return -1;
}

/* Look up an error name, with the reason in errstr on failure. */
static int
devbroker_err_arg(const char *name, rd_kafka_resp_err_t *errp, char *errstr,
    size_t errlen)
{
	if (devbroker_err_lookup(name, errp) == -1) {
		snprintf(errstr, errlen, "unknown broker error \"%s\"", name);
		return -1;
	}
	return 0;
}

/* Find a Kafka API key by name or number. */
static int
devbroker_api_lookup(const char *name, int16_t *keyp, char *errstr,
    size_t errlen)
{
	size_t i;
	long n;

	if (util_parse_long(name, 0, INT16_MAX, &n) == 0) {
		*keyp = (int16_t)n;
		return 0;
	}
	for (i = 0; i < sizeof(devbroker_apis) / sizeof(devbroker_apis[0]);
	    i++) {
		if (strcasecmp(devbroker_apis[i].name, name) == 0) {
			*keyp = devbroker_apis[i].key;
			return 0;
		}
	}
	snprintf(errstr, errlen, "unknown api key \"%s\"", name);
	return -1;
}

/* Parse a broker id argument. */
static int
devbroker_broker_arg(const char *s, int32_t *idp, char *errstr,
    size_t errlen)
{
	long n;

	if (util_parse_long(s, 1, INT32_MAX, &n) == -1) {
		snprintf(errstr, errlen, "invalid broker id \"%s\"", s);
		return -1;
	}
	*idp = (int32_t)n;
	return 0;
}

/* Turn a mock API result into 0 or -1 with the reason. */
static int
devbroker_result(rd_kafka_resp_err_t err, const char *what, char *errstr,
    size_t errlen)
{
	if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
		return 0;
	snprintf(errstr, errlen, "%s: %s", what, rd_kafka_err2str(err));
	return -1;
}

/* broker-down ID: close the broker's listener and connections. */
static int
devbroker_cmd_down(rd_kafka_mock_cluster_t *mc, char **argv, char *errstr,
    size_t errlen)
{
	int32_t id;

	if (devbroker_broker_arg(argv[1], &id, errstr, errlen) == -1)
		return -1;
	return devbroker_result(rd_kafka_mock_broker_set_down(mc, id),
	    "broker-down", errstr, errlen);
}

/* broker-up ID: let the broker accept connections again. */
static int
devbroker_cmd_up(rd_kafka_mock_cluster_t *mc, char **argv, char *errstr,
    size_t errlen)
{
	int32_t id;

	if (devbroker_broker_arg(argv[1], &id, errstr, errlen) == -1)
		return -1;
	return devbroker_result(rd_kafka_mock_broker_set_up(mc, id),
	    "broker-up", errstr, errlen);
}

/* rtt ID MS: delay every response of the broker by MS milliseconds. */
static int
devbroker_cmd_rtt(rd_kafka_mock_cluster_t *mc, char **argv, char *errstr,
    size_t errlen)
{
	int32_t id;
	long ms;

	if (devbroker_broker_arg(argv[1], &id, errstr, errlen) == -1)
		return -1;
	if (util_parse_long(argv[2], 0, 3600000, &ms) == -1) {
		snprintf(errstr, errlen, "invalid rtt \"%s\"", argv[2]);
		return -1;
	}
	return devbroker_result(rd_kafka_mock_broker_set_rtt(mc, id,
	    (int)ms), "rtt", errstr, errlen);
}

/* topic-error TOPIC ERRNAME: fail metadata of TOPIC (NO_ERROR clears). */
static int
devbroker_cmd_topic_error(rd_kafka_mock_cluster_t *mc, char **argv,
    char *errstr, size_t errlen)
{
	rd_kafka_resp_err_t err;

	if (devbroker_topic_valid(argv[1], strlen(argv[1])) == -1) {
		snprintf(errstr, errlen, "invalid topic name \"%s\"", argv[1]);
		return -1;
	}
	if (devbroker_err_arg(argv[2], &err, errstr, errlen) == -1)
		return -1;
	rd_kafka_mock_topic_set_error(mc, argv[1], err);
	return 0;
}

/* request-errors APIKEY CNT ERRNAME: fail the next CNT such requests. */
static int
devbroker_cmd_req_errors(rd_kafka_mock_cluster_t *mc, char **argv,
    char *errstr, size_t errlen)
{
	rd_kafka_resp_err_t err, *errs;
	int16_t key;
	long cnt, i;

	if (devbroker_api_lookup(argv[1], &key, errstr, errlen) == -1)
		return -1;
	if (util_parse_long(argv[2], 1, 100000, &cnt) == -1) {
		snprintf(errstr, errlen, "invalid count \"%s\"", argv[2]);
		return -1;
	}
	if (devbroker_err_arg(argv[3], &err, errstr, errlen) == -1)
		return -1;
	if ((errs = calloc((size_t)cnt, sizeof(*errs))) == NULL) {
		snprintf(errstr, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < cnt; i++)
		errs[i] = err;
	rd_kafka_mock_push_request_errors_array(mc, key, (size_t)cnt, errs);
	free(errs);
	return 0;
}

/* Create one topic on the mock cluster. */
static int
devbroker_topic_create(rd_kafka_mock_cluster_t *mc, const char *spec,
    int defparts, char *errstr, size_t errlen)
{
	char name[DEVBROKER_TOPIC_MAX + 1];
	rd_kafka_resp_err_t err;
	int parts;

	if (devbroker_topic_spec(spec, defparts, name, sizeof(name), &parts,
	    errstr, errlen) == -1)
		return -1;
	err = rd_kafka_mock_topic_create(mc, name, parts, 1);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(errstr, errlen, "cannot create topic \"%s\": %s",
		    name, rd_kafka_err2str(err));
		return -1;
	}
	if (!devbroker_quiet)
		fprintf(stderr, "smartpromo-devbroker: topic \"%s\" with %d "
		    "partition(s)\n", name, parts);
	return 0;
}

/* topic-create NAME[:P]: create a topic (default: --partitions). */
static int
devbroker_cmd_topic_create(rd_kafka_mock_cluster_t *mc, char **argv,
    char *errstr, size_t errlen)
{
	return devbroker_topic_create(mc, argv[1], devbroker_partitions,
	    errstr, errlen);
}

static const struct devbroker_cmd devbroker_cmds[] = {
	{ "broker-down", 1, "ID", devbroker_cmd_down },
	{ "broker-up", 1, "ID", devbroker_cmd_up },
	{ "rtt", 2, "ID MS", devbroker_cmd_rtt },
	{ "topic-error", 2, "TOPIC ERRNAME", devbroker_cmd_topic_error },
	{ "topic-create", 1, "NAME[:PARTITIONS]", devbroker_cmd_topic_create },
	{ "request-errors", 3, "APIKEY CNT ERRNAME", devbroker_cmd_req_errors },
};

/* Split line into at most DEVBROKER_MAX_ARGS words; the count or -1. */
static int
devbroker_split(char *line, char **argv)
{
	char *p, *last;
	int argc = 0;

	for (p = strtok_r(line, " \t\r", &last); p != NULL;
	    p = strtok_r(NULL, " \t\r", &last)) {
		if (argc == DEVBROKER_MAX_ARGS)
			return -1;
		argv[argc++] = p;
	}
	return argc;
}

/* Run one control line; 0 or -1 with the reason in errstr. */
static int
devbroker_command(rd_kafka_mock_cluster_t *mc, char *line, char *errstr,
    size_t errlen)
{
	char *argv[DEVBROKER_MAX_ARGS];
	const struct devbroker_cmd *c;
	size_t i;
	int argc;

	if ((argc = devbroker_split(line, argv)) <= 0) {
		snprintf(errstr, errlen, argc == 0 ? "empty command" :
		    "too many arguments");
		return -1;
	}
	for (i = 0; i < sizeof(devbroker_cmds) / sizeof(devbroker_cmds[0]);
	    i++) {
		c = &devbroker_cmds[i];
		if (strcmp(c->name, argv[0]) != 0)
			continue;
		if (argc - 1 != c->argc) {
			snprintf(errstr, errlen, "usage: %s %s", c->name,
			    c->args);
			return -1;
		}
		return c->fn(mc, argv, errstr, errlen);
	}
	snprintf(errstr, errlen, "unknown command \"%s\"", argv[0]);
	return -1;
}

/* Run one control line and answer "ok" or "error: ..." on stdout. */
static void
devbroker_answer(rd_kafka_mock_cluster_t *mc, char *line)
{
	char errstr[512];

	if (devbroker_command(mc, line, errstr, sizeof(errstr)) == 0)
		printf("ok\n");
	else
		printf("error: %s\n", errstr);
	fflush(stdout);
}

/* Read what stdin has and run every complete line; -1 at end of file. */
static int
devbroker_read_control(rd_kafka_mock_cluster_t *mc, char *buf, size_t *lenp)
{
	char *nl;
	ssize_t n;

	n = read(STDIN_FILENO, buf + *lenp, DEVBROKER_LINE_MAX - *lenp);
	if (n == -1)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	if (n == 0)
		return -1;
	*lenp += (size_t)n;
	while ((nl = memchr(buf, '\n', *lenp)) != NULL) {
		*nl = '\0';
		devbroker_answer(mc, buf);
		*lenp -= (size_t)(nl + 1 - buf);
		memmove(buf, nl + 1, *lenp);
	}
	if (*lenp == DEVBROKER_LINE_MAX) {
		printf("error: line longer than %d bytes\n", DEVBROKER_LINE_MAX);
		fflush(stdout);
		*lenp = 0;
	}
	return 0;
}

/* Wait for a signal, running control commands meanwhile if asked to. */
static void
devbroker_run(rd_kafka_mock_cluster_t *mc, int control,
    const sigset_t *waitmask)
{
	char buf[DEVBROKER_LINE_MAX];
	size_t len = 0;
	fd_set rfds;
	int n;

	while (!devbroker_stop) {
		FD_ZERO(&rfds);
		if (control)
			FD_SET(STDIN_FILENO, &rfds);
		n = pselect(control ? STDIN_FILENO + 1 : 0, &rfds, NULL, NULL,
		    NULL, waitmask);
		if (n <= 0)
			continue;
		if (devbroker_read_control(mc, buf, &len) == -1) {
			if (!devbroker_quiet)
				fprintf(stderr, "smartpromo-devbroker: end of "
				    "control input, still running\n");
			control = 0;
		}
	}
}

/* Record that a stop signal arrived. */
static void
devbroker_signal_cb(int sig)
{
	(void)sig;
	devbroker_stop = 1;
}

/* Block SIGTERM and SIGINT (threads inherit this) and install handlers. */
static void
devbroker_signals(sigset_t *waitmask)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = devbroker_signal_cb;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, waitmask);
	sigdelset(waitmask, SIGTERM);
	sigdelset(waitmask, SIGINT);
}

/* Log librdkafka warnings and errors to stderr unless --quiet. */
static void
devbroker_log_cb(const rd_kafka_t *rk, int level, const char *fac,
    const char *buf)
{
	(void)rk;
	if (devbroker_quiet || level > LOG_WARNING ||
	    strcmp(fac, "CONFWARN") == 0)
		return;
	fprintf(stderr, "smartpromo-devbroker: %s: %s\n", fac, buf);
}

/* Create the librdkafka handle that owns the mock cluster. */
static rd_kafka_t *
devbroker_handle_new(char *errstr, size_t errlen)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;

	rd_kafka_conf_set_log_cb(conf, devbroker_log_cb);
	if (rd_kafka_conf_set(conf, "client.id", "smartpromo-devbroker",
	    errstr, errlen) != RD_KAFKA_CONF_OK) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	if ((rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr,
	    errlen)) == NULL)
		rd_kafka_conf_destroy(conf);
	return rk;
}

/* Write the bootstrap list to path through a temporary file and rename. */
static int
devbroker_port_file(const char *path, const char *bootstrap, char *errstr,
    size_t errlen)
{
	char tmp[PATH_MAX];
	FILE *fp;
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path,
	    (long)getpid()) >= (int)sizeof(tmp)) {
		snprintf(errstr, errlen, "path too long \"%s\"", path);
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1 ||
	    (fp = fdopen(fd, "w")) == NULL) {
		snprintf(errstr, errlen, "cannot create \"%.256s\": %s", tmp,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	fprintf(fp, "%s\n", bootstrap);
	if (fclose(fp) == EOF || rename(tmp, path) == -1) {
		snprintf(errstr, errlen, "cannot write \"%s\": %s", path,
		    strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Create the topics, announce the bootstrap list, write the port file. */
static int
devbroker_setup(rd_kafka_mock_cluster_t *mc, const struct devbroker_opts *o,
    char *errstr, size_t errlen)
{
	const char *bootstrap;
	size_t i;

	for (i = 0; i < o->ntopics; i++) {
		if (devbroker_topic_create(mc, o->topics[i], o->partitions,
		    errstr, errlen) == -1)
			return -1;
	}
	bootstrap = rd_kafka_mock_cluster_bootstraps(mc);
	if (o->port_file != NULL && devbroker_port_file(o->port_file,
	    bootstrap, errstr, errlen) == -1)
		return -1;
	printf("bootstrap=%s\n", bootstrap);
	fflush(stdout);
	if (!o->quiet)
		fprintf(stderr, "smartpromo-devbroker: %d broker(s) at %s, "
		    "pid %ld\n", o->brokers, bootstrap, (long)getpid());
	return 0;
}

int
main(int argc, char **argv)
{
	struct devbroker_opts o = { .brokers = 1, .partitions = 4 };
	rd_kafka_mock_cluster_t *mc;
	char errstr[512];
	sigset_t waitmask;
	rd_kafka_t *rk;
	int rc;

	if ((rc = devbroker_parse_args(argc, argv, &o)) != 0)
		return rc == 1 ? 0 : 2;
	devbroker_quiet = o.quiet;
	devbroker_partitions = o.partitions;
	devbroker_signals(&waitmask);
	if ((rk = devbroker_handle_new(errstr, sizeof(errstr))) == NULL) {
		fprintf(stderr, "smartpromo-devbroker: %s\n", errstr);
		return 1;
	}
	if ((mc = rd_kafka_mock_cluster_new(rk, o.brokers)) == NULL) {
		fprintf(stderr, "smartpromo-devbroker: cannot create the mock "
		    "cluster\n");
		rd_kafka_destroy(rk);
		return 1;
	}
	rc = devbroker_setup(mc, &o, errstr, sizeof(errstr));
	if (rc == 0)
		devbroker_run(mc, o.control, &waitmask);
	else
		fprintf(stderr, "smartpromo-devbroker: %s\n", errstr);
	if (rc == 0 && o.port_file != NULL)
		unlink(o.port_file);
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	if (rc == 0 && !o.quiet)
		fprintf(stderr, "smartpromo-devbroker: stopped\n");
	return rc == 0 ? 0 : 1;
}
