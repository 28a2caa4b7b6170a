/* SPDX-License-Identifier: Apache-2.0 */
/*
 * spkafka.c - smartpromo-kafka: a small kafkacat-like command-line tool on
 * librdkafka, used by tests, demos and benchmarks.  Three commands:
 * "produce" sends one message per input line (keyed by a top-level JSON
 * string field found by a tiny scanner, or a fixed key), "consume" prints
 * message values one per line until a count or an idle timeout, either from
 * every partition (assign mode, no group) or as a member of a consumer
 * group that commits its offsets before exit, and "count" prints the sum of
 * the high minus low watermarks over the topic's partitions.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "event.h"
#include "util.h"

#define SPKAFKA_LINE_MAX	(1024 * 1024)
#define SPKAFKA_MAX_PROPS	64
#define SPKAFKA_MAX_FIELDS	8
#define SPKAFKA_META_TIMEOUT	10000

enum spkafka_cmd {
	SPKAFKA_PRODUCE,
	SPKAFKA_CONSUME,
	SPKAFKA_COUNT,
};

struct spkafka_opts {
	enum spkafka_cmd cmd;
	const char	*brokers;
	const char	*topic;
	const char	*file;
	const char	*keyfields;
	const char	*raw_key;
	const char	*group;
	long		 count;
	long		 timeout_ms;
	long		 join_timeout_ms;
	int		 from_beginning;
	int		 from_end;
	int		 with_key;
	int		 with_pos;
	int		 decode;
	const char	*props[SPKAFKA_MAX_PROPS];
	size_t		 nprops;
};

/* What the delivery reports of a produce run add up to. */
struct spkafka_dr {
	long		 delivered;
	long		 failed;
	char		 first_error[256];
};

/* The assignment state of a consume run, seen by the rebalance callback. */
struct spkafka_consumer {
	int		 assigned;
	int		 ever_assigned;
	int		 join_timed_out;
	struct timespec	 start;
	struct timespec	 last;
	struct timespec	 first;         /* --decode: the first message */
	long		 rejected;      /* --decode: messages not events */
};

static volatile sig_atomic_t spkafka_stop;

/* Print the usage text to fp. */
static void
spkafka_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: smartpromo-kafka -b BROKERS [-X PROP=VALUE]... COMMAND ...\n"
	    "\n"
	    "  produce -t TOPIC [-k FIELD[,FIELD...] | --raw-key KEY] "
	    "[-f FILE]\n"
	    "      one message per input line (FILE or stdin, at most 1 MiB,\n"
	    "      empty lines skipped); -k: key = the first top-level JSON\n"
	    "      string field present (e.g. -k product_id,shop_id), else no\n"
	    "      key; idempotent producer; prints \"produced N\" on stderr\n"
	    "      and exits 1 if any delivery failed\n"
	    "  consume -t TOPIC [-n COUNT] [--timeout-ms MS] [-g GROUP]\n"
	    "          [--join-timeout-ms MS] [--from-beginning] [--from-end]\n"
	    "          [--with-key] [--with-pos] [--decode]\n"
	    "      print each message value as a line (--with-key: KEY<tab>\n"
	    "      VALUE; --with-pos: PARTITION<tab>OFFSET<tab> first); stop\n"
	    "      after COUNT messages or MS (default 5000)\n"
	    "      without a message; without -g read every partition from\n"
	    "      the beginning (--from-end: from the end), no group; with -g\n"
	    "      join GROUP (a new group starts at the end unless\n"
	    "      --from-beginning), count idle time only once partitions\n"
	    "      are assigned, fail if none are within --join-timeout-ms\n"
	    "      (default 30000), and commit offsets before exit; --decode:\n"
	    "      print nothing per message but decode each as the daemon\n"
	    "      does, then print \"decoded N messages (R rejected) in S s\n"
	    "      (first message to last: F messages/s): M messages/s\", M\n"
	    "      from the assignment to the last message\n"
	    "  count -t TOPIC\n"
	    "      print the number of messages held (sum of high - low\n"
	    "      watermarks over all partitions)\n"
	    "\n"
	    "  -b BROKERS         bootstrap list, HOST:PORT[,...]\n"
	    "  -X PROP=VALUE      extra librdkafka property (repeatable)\n"
	    "  -h, --help         this text\n"
	    "Exit status: 0 success, 1 failure, 2 usage error.\n");
}

/* Take the value of option argv[*i], or NULL when it is missing. */
static const char *
spkafka_optval(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc) {
		fprintf(stderr, "smartpromo-kafka: option \"%s\" needs a "
		    "value\n", argv[*i]);
		return NULL;
	}
	return argv[++*i];
}

/* Parse a numeric option value into *out. */
static int
spkafka_opt_num(int argc, char **argv, int *i, long min, long max,
    long *out)
{
	const char *opt = argv[*i], *v;

	if ((v = spkafka_optval(argc, argv, i)) == NULL)
		return -1;
	if (util_parse_long(v, min, max, out) == -1) {
		fprintf(stderr, "smartpromo-kafka: invalid value \"%s\" for "
		    "\"%s\"\n", v, opt);
		return -1;
	}
	return 0;
}

/* Parse an option that takes a string value into *out. */
static int
spkafka_opt_str(int argc, char **argv, int *i, const char **out)
{
	return (*out = spkafka_optval(argc, argv, i)) != NULL ? 0 : -1;
}

/* Handle a flag without value; 0, or 1 when a is not such a flag. */
static int
spkafka_flag(const char *a, struct spkafka_opts *o)
{
	if (strcmp(a, "--from-beginning") == 0)
		o->from_beginning = 1;
	else if (strcmp(a, "--from-end") == 0)
		o->from_end = 1;
	else if (strcmp(a, "--with-key") == 0)
		o->with_key = 1;
	else if (strcmp(a, "--with-pos") == 0)
		o->with_pos = 1;
	else if (strcmp(a, "--decode") == 0)
		o->decode = 1;
	else
		return 1;
	return 0;
}

/* Handle one option of a command; 0, or -1 on an error. */
static int
spkafka_cmd_opt(int argc, char **argv, int *i, struct spkafka_opts *o)
{
	const char *a = argv[*i];

	if (spkafka_flag(a, o) == 0)
		return 0;
	if (strcmp(a, "-t") == 0)
		return spkafka_opt_str(argc, argv, i, &o->topic);
	if (strcmp(a, "-f") == 0 && o->cmd == SPKAFKA_PRODUCE)
		return spkafka_opt_str(argc, argv, i, &o->file);
	if (strcmp(a, "-k") == 0 && o->cmd == SPKAFKA_PRODUCE)
		return spkafka_opt_str(argc, argv, i, &o->keyfields);
	if (strcmp(a, "--raw-key") == 0 && o->cmd == SPKAFKA_PRODUCE)
		return spkafka_opt_str(argc, argv, i, &o->raw_key);
	if (strcmp(a, "-g") == 0 && o->cmd == SPKAFKA_CONSUME)
		return spkafka_opt_str(argc, argv, i, &o->group);
	if (strcmp(a, "-n") == 0 && o->cmd == SPKAFKA_CONSUME)
		return spkafka_opt_num(argc, argv, i, 1, LONG_MAX, &o->count);
	if (strcmp(a, "--timeout-ms") == 0 && o->cmd == SPKAFKA_CONSUME)
		return spkafka_opt_num(argc, argv, i, 1, 86400000,
		    &o->timeout_ms);
	if (strcmp(a, "--join-timeout-ms") == 0 && o->cmd == SPKAFKA_CONSUME)
		return spkafka_opt_num(argc, argv, i, 1, 86400000,
		    &o->join_timeout_ms);
	fprintf(stderr, "smartpromo-kafka: unknown option \"%s\"\n", a);
	return -1;
}

/* Handle one global option; 0, 1 for -h, or -1 on an error. */
static int
spkafka_global_opt(int argc, char **argv, int *i, struct spkafka_opts *o)
{
	const char *a = argv[*i];

	if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
		return 1;
	if (strcmp(a, "-b") == 0)
		return spkafka_opt_str(argc, argv, i, &o->brokers);
	if (strcmp(a, "-X") == 0) {
		if (o->nprops == SPKAFKA_MAX_PROPS) {
			fprintf(stderr, "smartpromo-kafka: too many -X\n");
			return -1;
		}
		return spkafka_opt_str(argc, argv, i, &o->props[o->nprops++]);
	}
	fprintf(stderr, "smartpromo-kafka: unknown option \"%s\"\n", a);
	return -1;
}

/* Name the command in a, or fail. */
static int
spkafka_cmd_name(const char *a, struct spkafka_opts *o)
{
	if (strcmp(a, "produce") == 0)
		o->cmd = SPKAFKA_PRODUCE;
	else if (strcmp(a, "consume") == 0)
		o->cmd = SPKAFKA_CONSUME;
	else if (strcmp(a, "count") == 0)
		o->cmd = SPKAFKA_COUNT;
	else {
		fprintf(stderr, "smartpromo-kafka: unknown command \"%s\"\n",
		    a);
		return -1;
	}
	return 0;
}

/* Check the combination of options once they are all read. */
static int
spkafka_check_opts(const struct spkafka_opts *o)
{
	const char *why = NULL;

	if (o->brokers == NULL)
		why = "-b BROKERS is required";
	else if (o->topic == NULL)
		why = "-t TOPIC is required";
	else if (o->keyfields != NULL && o->raw_key != NULL)
		why = "-k and --raw-key exclude each other";
	else if (o->group != NULL && o->from_end)
		why = "--from-end is for assign mode (without -g)";
	else if (o->group == NULL && o->from_end && o->from_beginning)
		why = "--from-beginning and --from-end exclude each other";
	if (why != NULL) {
		fprintf(stderr, "smartpromo-kafka: %s\n", why);
		return -1;
	}
	return 0;
}

/* Parse the command line; 0, 1 when help was asked for, or -1. */
static int
spkafka_parse_args(int argc, char **argv, struct spkafka_opts *o)
{
	int i, rc, have_cmd = 0;

	for (i = 1; i < argc; i++) {
		if (!have_cmd && argv[i][0] != '-') {
			if (spkafka_cmd_name(argv[i], o) == -1)
				return -1;
			have_cmd = 1;
		} else if (!have_cmd || strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			if ((rc = spkafka_global_opt(argc, argv, &i, o)) != 0)
				return rc;
		} else if (spkafka_cmd_opt(argc, argv, &i, o) == -1)
			return -1;
	}
	if (!have_cmd) {
		fprintf(stderr, "smartpromo-kafka: no command given\n");
		return -1;
	}
	return spkafka_check_opts(o);
}

/* Set one "PROP=VALUE" property on conf. */
static int
spkafka_conf_prop(rd_kafka_conf_t *conf, const char *prop, char *errstr,
    size_t errlen)
{
	const char *eq = strchr(prop, '=');
	char name[256];

	if (eq == NULL || eq == prop || (size_t)(eq - prop) >= sizeof(name)) {
		snprintf(errstr, errlen, "invalid property \"%s\" (want "
		    "PROP=VALUE)", prop);
		return -1;
	}
	memcpy(name, prop, (size_t)(eq - prop));
	name[eq - prop] = '\0';
	if (rd_kafka_conf_set(conf, name, eq + 1, errstr, errlen) !=
	    RD_KAFKA_CONF_OK)
		return -1;
	return 0;
}

/* Set a list of NULL-terminated name, value pairs on conf. */
static int
spkafka_conf_pairs(rd_kafka_conf_t *conf, const char **pairs, char *errstr,
    size_t errlen)
{
	for (; pairs[0] != NULL; pairs += 2) {
		if (rd_kafka_conf_set(conf, pairs[0], pairs[1], errstr,
		    errlen) != RD_KAFKA_CONF_OK)
			return -1;
	}
	return 0;
}

/* Make a handle of type with the defaults in pairs, then -b and -X. */
static rd_kafka_t *
spkafka_new(rd_kafka_type_t type, rd_kafka_conf_t *conf,
    const struct spkafka_opts *o, const char **pairs, char *errstr,
    size_t errlen)
{
	rd_kafka_t *rk;
	size_t i;

	if (spkafka_conf_pairs(conf, pairs, errstr, errlen) == -1 ||
	    rd_kafka_conf_set(conf, "bootstrap.servers", o->brokers, errstr,
	    errlen) != RD_KAFKA_CONF_OK)
		goto fail;
	for (i = 0; i < o->nprops; i++) {
		if (spkafka_conf_prop(conf, o->props[i], errstr, errlen) == -1)
			goto fail;
	}
	if ((rk = rd_kafka_new(type, conf, errstr, errlen)) != NULL)
		return rk;
fail:
	rd_kafka_conf_destroy(conf);
	return NULL;
}

/* Skip a JSON string starting at p[0] == '"'; the index after it, or -1. */
static long
spkafka_json_string_end(const char *p, size_t len, size_t i)
{
	for (i++; i < len; i++) {
		if (p[i] == '\\')
			i++;
		else if (p[i] == '"')
			return (long)i + 1;
	}
	return -1;
}

/* Skip JSON white space from index i. */
static size_t
spkafka_json_ws(const char *p, size_t len, size_t i)
{
	while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' ||
	    p[i] == '\n'))
		i++;
	return i;
}

/* After key ending at i, take a string value; 0 or -1 if not a string. */
static int
spkafka_json_value(const char *p, size_t len, size_t i, const char **valp,
    size_t *vlenp)
{
	long end;

	i = spkafka_json_ws(p, len, i);
	if (i >= len || p[i] != ':')
		return -1;
	i = spkafka_json_ws(p, len, i + 1);
	if (i >= len || p[i] != '"' ||
	    (end = spkafka_json_string_end(p, len, i)) == -1)
		return -1;
	*valp = p + i + 1;
	*vlenp = (size_t)end - i - 2;
	return 0;
}

/*
 * Find the string value of top-level field in a JSON object; 0 or -1.
 * Escapes in the value are left as they are.
 */
static int
spkafka_json_field(const char *p, size_t len, const char *field,
    const char **valp, size_t *vlenp)
{
	size_t i, flen = strlen(field);
	int depth = 0, want_key = 0;
	long end;

	for (i = 0; i < len; i++) {
		if (p[i] == '"') {
			if ((end = spkafka_json_string_end(p, len, i)) == -1)
				return -1;
			if (depth == 1 && want_key && (size_t)end - i - 2 ==
			    flen && memcmp(p + i + 1, field, flen) == 0)
				return spkafka_json_value(p, len, (size_t)end,
				    valp, vlenp);
			want_key = 0;
			i = (size_t)end - 1;
		} else if (p[i] == '{' || p[i] == '[') {
			want_key = ++depth == 1 && p[i] == '{';
		} else if (p[i] == '}' || p[i] == ']') {
			depth--;
		} else if (p[i] == ',')
			want_key = depth == 1;
	}
	return -1;
}

/* Pick the key: the first of the comma-separated fields present. */
static void
spkafka_key(const char *line, size_t len, const char *fields,
    const char **keyp, size_t *klenp)
{
	char name[256];
	const char *f, *comma;
	size_t n;

	*keyp = NULL;
	*klenp = 0;
	for (f = fields; *f != '\0'; f = comma != NULL ? comma + 1 : f + n) {
		comma = strchr(f, ',');
		n = comma != NULL ? (size_t)(comma - f) : strlen(f);
		if (n == 0 || n >= sizeof(name))
			continue;
		memcpy(name, f, n);
		name[n] = '\0';
		if (spkafka_json_field(line, len, name, keyp, klenp) == 0)
			return;
	}
}

/* Count delivery results; remember the first failure. */
static void
spkafka_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct spkafka_dr *dr = opaque;

	(void)rk;
	if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
		dr->delivered++;
		return;
	}
	if (dr->failed++ == 0)
		snprintf(dr->first_error, sizeof(dr->first_error), "%s",
		    rd_kafka_err2str(m->err));
}

/* Report client errors on stderr; a fatal one stops the run. */
static void
spkafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	char buf[256];

	(void)opaque;
	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		rd_kafka_fatal_error(rk, buf, sizeof(buf));
		fprintf(stderr, "smartpromo-kafka: fatal: %s\n", buf);
		spkafka_stop = 1;
		return;
	}
	fprintf(stderr, "smartpromo-kafka: %s: %s\n",
	    rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

/* Queue one message, waiting while the local queue is full. */
static int
spkafka_produce_one(rd_kafka_t *rk, const char *topic, const char *line,
    size_t len, const char *key, size_t klen, char *errstr, size_t errlen)
{
	rd_kafka_resp_err_t err;

	for (;;) {
		err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
		    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		    RD_KAFKA_V_KEY(key, klen),
		    RD_KAFKA_V_VALUE((void *)(uintptr_t)line, len),
		    RD_KAFKA_V_END);
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			break;
		rd_kafka_poll(rk, 100);
	}
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(errstr, errlen, "cannot produce to \"%s\": %s", topic,
		    rd_kafka_err2str(err));
		return -1;
	}
	rd_kafka_poll(rk, 0);
	return 0;
}

/* Produce every line of fp; the number of lines queued, or -1. */
static long
spkafka_produce_lines(rd_kafka_t *rk, const struct spkafka_opts *o,
    FILE *fp, char *errstr, size_t errlen)
{
	const char *key = o->raw_key;
	size_t cap = 0, klen = key ? strlen(key) : 0, len;
	char *line = NULL;
	long lineno = 0, queued = 0;
	ssize_t n;

	while (!spkafka_stop && (n = getline(&line, &cap, fp)) != -1) {
		lineno++;
		len = (size_t)n;
		while (len > 0 && (line[len - 1] == '\n' ||
		    line[len - 1] == '\r'))
			len--;
		if (len == 0)
			continue;
		if (len > SPKAFKA_LINE_MAX) {
			snprintf(errstr, errlen, "line %ld longer than %d "
			    "bytes", lineno, SPKAFKA_LINE_MAX);
			queued = -1;
			break;
		}
		if (o->keyfields != NULL)
			spkafka_key(line, len, o->keyfields, &key, &klen);
		if (spkafka_produce_one(rk, o->topic, line, len, key, klen,
		    errstr, errlen) == -1) {
			queued = -1;
			break;
		}
		queued++;
	}
	if (queued != -1 && ferror(fp) && !spkafka_stop) {
		snprintf(errstr, errlen, "read error: %s", strerror(errno));
		queued = -1;
	}
	free(line);
	return queued;
}

/* Wait until every queued message is delivered or has failed. */
static void
spkafka_flush(rd_kafka_t *rk)
{
	while (rd_kafka_outq_len(rk) > 0)
		rd_kafka_flush(rk, 1000);
}

/* Open the input named by -f ("-" or none: stdin). */
static FILE *
spkafka_open_input(const char *path, char *errstr, size_t errlen)
{
	FILE *fp;

	if (path == NULL || strcmp(path, "-") == 0)
		return stdin;
	if ((fp = fopen(path, "r")) == NULL)
		snprintf(errstr, errlen, "cannot open \"%s\": %s", path,
		    strerror(errno));
	return fp;
}

/* Make the idempotent producer for a produce run. */
static rd_kafka_t *
spkafka_producer_new(const struct spkafka_opts *o, struct spkafka_dr *dr,
    char *errstr, size_t errlen)
{
	static const char *pairs[] = {
		"enable.idempotence", "true",
		"linger.ms", "5",
		"message.timeout.ms", "60000",
		"message.max.bytes", "1049600",
		"client.id", "smartpromo-kafka",
		NULL
	};
	rd_kafka_conf_t *conf = rd_kafka_conf_new();

	rd_kafka_conf_set_opaque(conf, dr);
	rd_kafka_conf_set_dr_msg_cb(conf, spkafka_dr_cb);
	rd_kafka_conf_set_error_cb(conf, spkafka_error_cb);
	return spkafka_new(RD_KAFKA_PRODUCER, conf, o, pairs, errstr, errlen);
}

/* The produce command; the exit status. */
static int
spkafka_produce(const struct spkafka_opts *o)
{
	struct spkafka_dr dr = { 0 };
	char errstr[512];
	rd_kafka_t *rk;
	FILE *fp;
	long queued;

	if ((fp = spkafka_open_input(o->file, errstr, sizeof(errstr))) ==
	    NULL || (rk = spkafka_producer_new(o, &dr, errstr,
	    sizeof(errstr))) == NULL) {
		fprintf(stderr, "smartpromo-kafka: %s\n", errstr);
		if (fp != NULL && fp != stdin)
			fclose(fp);
		return 1;
	}
	queued = spkafka_produce_lines(rk, o, fp, errstr, sizeof(errstr));
	if (fp != stdin)
		fclose(fp);
	spkafka_flush(rk);
	rd_kafka_destroy(rk);
	if (queued == -1)
		fprintf(stderr, "smartpromo-kafka: %s\n", errstr);
	if (dr.failed > 0)
		fprintf(stderr, "smartpromo-kafka: %ld deliveries failed, "
		    "first: %s\n", dr.failed, dr.first_error);
	fprintf(stderr, "produced %ld\n", dr.delivered);
	return queued == -1 || dr.failed > 0 || spkafka_stop ? 1 : 0;
}

/* Milliseconds from a to b. */
static long
spkafka_ms_between(const struct timespec *a, const struct timespec *b)
{
	return (long)(b->tv_sec - a->tv_sec) * 1000 +
	    (b->tv_nsec - a->tv_nsec) / 1000000;
}

/* Get the partition count of topic from the cluster metadata. */
static int
spkafka_partitions(rd_kafka_t *rk, const char *topic, int *cntp,
    char *errstr, size_t errlen)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_t *rkt;
	rd_kafka_resp_err_t err;

	if ((rkt = rd_kafka_topic_new(rk, topic, NULL)) == NULL) {
		snprintf(errstr, errlen, "invalid topic \"%s\"", topic);
		return -1;
	}
	*cntp = 0;
	err = rd_kafka_metadata(rk, 0, rkt, &md, SPKAFKA_META_TIMEOUT);
	rd_kafka_topic_destroy(rkt);
	if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
		if (md->topic_cnt == 1) {
			err = md->topics[0].err;
			*cntp = md->topics[0].partition_cnt;
		}
		rd_kafka_metadata_destroy(md);
	}
	if (err == RD_KAFKA_RESP_ERR_NO_ERROR && *cntp == 0)
		err = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(errstr, errlen, "no metadata for topic \"%s\": %s",
		    topic, rd_kafka_err2str(err));
		return -1;
	}
	return 0;
}

/* Apply a group assignment change, eager or cooperative. */
static void
spkafka_rebalance_apply(rd_kafka_t *rk, rd_kafka_resp_err_t err,
    rd_kafka_topic_partition_list_t *parts)
{
	rd_kafka_error_t *error = NULL;
	int assign = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS;

	if (strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0) {
		error = assign ? rd_kafka_incremental_assign(rk, parts) :
		    rd_kafka_incremental_unassign(rk, parts);
	} else
		err = rd_kafka_assign(rk, assign ? parts : NULL);
	if (error != NULL) {
		fprintf(stderr, "smartpromo-kafka: rebalance: %s\n",
		    rd_kafka_error_string(error));
		rd_kafka_error_destroy(error);
	} else if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err !=
	    RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS && err !=
	    RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
		fprintf(stderr, "smartpromo-kafka: rebalance: %s\n",
		    rd_kafka_err2str(err));
}

/* Follow group rebalances and restart the idle clock. */
static void
spkafka_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
    rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	struct spkafka_consumer *c = opaque;

	spkafka_rebalance_apply(rk, err, parts);
	c->assigned = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS;
	if (c->assigned)
		c->ever_assigned = 1;
	clock_gettime(CLOCK_MONOTONIC, &c->last);
}

/*
 * Make the consumer.  In group mode it commits what it printed every second
 * (so a failed final commit during a rebalance loses little) and once more
 * synchronously before exit; in assign mode it never commits.
 */
static rd_kafka_t *
spkafka_consumer_new(const struct spkafka_opts *o, struct spkafka_consumer *c,
    char *errstr, size_t errlen)
{
	const char *pairs[] = {
		"group.id", o->group != NULL ? o->group : "smartpromo-kafka",
		"enable.auto.commit", o->group != NULL ? "true" : "false",
		"auto.commit.interval.ms", "1000",
		"enable.auto.offset.store", o->group != NULL ? "true" : "false",
		"auto.offset.reset", o->group == NULL || o->from_beginning ?
		    "earliest" : "latest",
		"client.id", "smartpromo-kafka",
		"session.timeout.ms", "6000",
		"fetch.wait.max.ms", "100",
		NULL
	};
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;

	rd_kafka_conf_set_opaque(conf, c);
	rd_kafka_conf_set_error_cb(conf, spkafka_error_cb);
	if (o->group != NULL)
		rd_kafka_conf_set_rebalance_cb(conf, spkafka_rebalance_cb);
	rk = spkafka_new(RD_KAFKA_CONSUMER, conf, o, pairs, errstr, errlen);
	if (rk != NULL)
		rd_kafka_poll_set_consumer(rk);
	return rk;
}

/* Assign every partition of the topic, from the beginning or the end. */
static int
spkafka_assign_all(rd_kafka_t *rk, const struct spkafka_opts *o,
    char *errstr, size_t errlen)
{
	rd_kafka_topic_partition_list_t *parts;
	rd_kafka_resp_err_t err;
	int cnt, i;

	if (spkafka_partitions(rk, o->topic, &cnt, errstr, errlen) == -1)
		return -1;
	parts = rd_kafka_topic_partition_list_new(cnt);
	for (i = 0; i < cnt; i++)
		rd_kafka_topic_partition_list_add(parts, o->topic, i)->offset =
		    o->from_end ? RD_KAFKA_OFFSET_END :
		    RD_KAFKA_OFFSET_BEGINNING;
	err = rd_kafka_assign(rk, parts);
	rd_kafka_topic_partition_list_destroy(parts);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(errstr, errlen, "cannot assign \"%s\": %s", o->topic,
		    rd_kafka_err2str(err));
		return -1;
	}
	return 0;
}

/* Join the group with a subscription to the topic. */
static int
spkafka_subscribe(rd_kafka_t *rk, const struct spkafka_opts *o, char *errstr,
    size_t errlen)
{
	rd_kafka_topic_partition_list_t *topics;
	rd_kafka_resp_err_t err;

	topics = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(topics, o->topic,
	    RD_KAFKA_PARTITION_UA);
	err = rd_kafka_subscribe(rk, topics);
	rd_kafka_topic_partition_list_destroy(topics);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(errstr, errlen, "cannot subscribe to \"%s\": %s",
		    o->topic, rd_kafka_err2str(err));
		return -1;
	}
	return 0;
}

/*
 * Print one message as a line: the value, after PARTITION<tab>OFFSET<tab>
 * and KEY<tab> if asked.
 */
static void
spkafka_print(const rd_kafka_message_t *m, const struct spkafka_opts *o)
{
	if (o->with_pos)
		printf("%" PRId32 "\t%" PRId64 "\t", m->partition, m->offset);
	if (o->with_key) {
		if (m->key != NULL)
			fwrite(m->key, 1, m->key_len, stdout);
		putchar('\t');
	}
	if (m->payload != NULL)
		fwrite(m->payload, 1, m->len, stdout);
	putchar('\n');
}

/* Decode a message as the daemon does (the decode ceiling); 0 or -1. */
static int
spkafka_decode(const rd_kafka_message_t *m)
{
	static struct event ev;
	char reason[EVENT_REASON_MAX];

	return event_decode(m->payload, m->len, &ev, reason, sizeof(reason));
}

/*
 * The --decode figures: messages, rejected, and the rate from the start
 * of consumption (partitions assigned) to the last message.  Timing from
 * the first message instead would leave out what librdkafka fetched
 * before it and overstate the rate; that figure is printed in brackets.
 */
static void
spkafka_decode_report(const struct spkafka_consumer *c, long got)
{
	double s = got > 0 ? spkafka_ms_between(&c->start, &c->last) /
	    1000.0 : 0;
	double f = got > 1 ? spkafka_ms_between(&c->first, &c->last) /
	    1000.0 : 0;

	printf("decoded %ld messages (%ld rejected) in %.3f s "
	    "(first message to last: %.0f messages/s): %.0f messages/s\n",
	    got, c->rejected, s, f > 0 ? (got - 1) / f : 0,
	    s > 0 ? got / s : 0);
}

/* Tell whether the consumer has waited long enough for a message. */
static int
spkafka_idle(const struct spkafka_opts *o, struct spkafka_consumer *c,
    const struct timespec *now)
{
	if (o->group != NULL && !c->ever_assigned) {
		c->join_timed_out = spkafka_ms_between(&c->start, now) >=
		    o->join_timeout_ms;
		return c->join_timed_out;
	}
	return spkafka_ms_between(&c->last, now) >= o->timeout_ms;
}

/* Print messages until the count is reached or the consumer is idle. */
static long
spkafka_consume_loop(rd_kafka_t *rk, const struct spkafka_opts *o,
    struct spkafka_consumer *c)
{
	rd_kafka_message_t *m;
	struct timespec now;
	long got = 0;

	clock_gettime(CLOCK_MONOTONIC, &c->start);
	c->last = c->start;
	while (!spkafka_stop && (o->count == 0 || got < o->count)) {
		m = rd_kafka_consumer_poll(rk, 100);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (m != NULL && m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
			if (got == 0)
				c->first = now;
			if (o->decode)
				c->rejected += spkafka_decode(m) == -1;
			else
				spkafka_print(m, o);
			got++;
			c->last = now;
		} else if (m != NULL)
			fprintf(stderr, "smartpromo-kafka: consume: %s\n",
			    rd_kafka_message_errstr(m));
		if (m != NULL)
			rd_kafka_message_destroy(m);
		else if (spkafka_idle(o, c, &now))
			break;
	}
	return got;
}

/* Commit the offsets of what was printed, synchronously. */
static int
spkafka_commit(rd_kafka_t *rk, char *errstr, size_t errlen)
{
	rd_kafka_resp_err_t err;

	err = rd_kafka_commit(rk, NULL, 0);
	if (err == RD_KAFKA_RESP_ERR_NO_ERROR ||
	    err == RD_KAFKA_RESP_ERR__NO_OFFSET)
		return 0;
	snprintf(errstr, errlen, "cannot commit offsets: %s",
	    rd_kafka_err2str(err));
	return -1;
}

/* The consume command; the exit status. */
static int
spkafka_consume(const struct spkafka_opts *o)
{
	struct spkafka_consumer c = { 0 };
	char errstr[512];
	rd_kafka_t *rk;
	int rc;

	if ((rk = spkafka_consumer_new(o, &c, errstr, sizeof(errstr))) ==
	    NULL) {
		fprintf(stderr, "smartpromo-kafka: %s\n", errstr);
		return 1;
	}
	if (o->group != NULL)
		rc = spkafka_subscribe(rk, o, errstr, sizeof(errstr));
	else
		rc = spkafka_assign_all(rk, o, errstr, sizeof(errstr));
	if (rc == 0) {
		long got = spkafka_consume_loop(rk, o, &c);

		if (o->decode)
			spkafka_decode_report(&c, got);
		if (c.join_timed_out) {
			snprintf(errstr, sizeof(errstr), "no partitions "
			    "assigned in group \"%s\" within %ld ms", o->group,
			    o->join_timeout_ms);
			rc = -1;
		} else if (fflush(stdout) == EOF) {
			snprintf(errstr, sizeof(errstr), "cannot write "
			    "output: %s", strerror(errno));
			rc = -1;
		}
	}
	if (rc == 0 && o->group != NULL)
		rc = spkafka_commit(rk, errstr, sizeof(errstr));
	if (rc == -1)
		fprintf(stderr, "smartpromo-kafka: %s\n", errstr);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return rc == 0 ? 0 : 1;
}

/* Sum high minus low watermarks over every partition of the topic. */
static int
spkafka_sum_watermarks(rd_kafka_t *rk, const char *topic, long long *sump,
    char *errstr, size_t errlen)
{
	rd_kafka_resp_err_t err;
	int64_t lo, hi;
	int cnt, i;

	if (spkafka_partitions(rk, topic, &cnt, errstr, errlen) == -1)
		return -1;
	*sump = 0;
	for (i = 0; i < cnt; i++) {
		err = rd_kafka_query_watermark_offsets(rk, topic, i, &lo, &hi,
		    SPKAFKA_META_TIMEOUT);
		if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
			snprintf(errstr, errlen, "no watermarks for \"%s\" "
			    "[%d]: %s", topic, i, rd_kafka_err2str(err));
			return -1;
		}
		*sump += hi - lo;
	}
	return 0;
}

/* The count command; the exit status. */
static int
spkafka_count(const struct spkafka_opts *o)
{
	static const char *pairs[] = {
		"group.id", "smartpromo-kafka",
		"client.id", "smartpromo-kafka",
		NULL
	};
	char errstr[512];
	rd_kafka_t *rk;
	long long sum;
	int rc;

	rk = spkafka_new(RD_KAFKA_CONSUMER, rd_kafka_conf_new(), o, pairs,
	    errstr, sizeof(errstr));
	if (rk == NULL) {
		fprintf(stderr, "smartpromo-kafka: %s\n", errstr);
		return 1;
	}
	rc = spkafka_sum_watermarks(rk, o->topic, &sum, errstr,
	    sizeof(errstr));
	rd_kafka_destroy(rk);
	if (rc == -1) {
		fprintf(stderr, "smartpromo-kafka: %s\n", errstr);
		return 1;
	}
	printf("%lld\n", sum);
	return 0;
}

/* Record that a stop signal arrived. */
static void
spkafka_signal_cb(int sig)
{
	(void)sig;
	spkafka_stop = 1;
}

int
main(int argc, char **argv)
{
	struct spkafka_opts o = { .timeout_ms = 5000,
	    .join_timeout_ms = 30000 };
	struct sigaction sa;
	int rc;

	if ((rc = spkafka_parse_args(argc, argv, &o)) != 0) {
		if (rc == 1)
			spkafka_usage(stdout);
		else
			fprintf(stderr, "try \"smartpromo-kafka -h\"\n");
		return rc == 1 ? 0 : 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = spkafka_signal_cb;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (o.cmd == SPKAFKA_PRODUCE)
		return spkafka_produce(&o);
	if (o.cmd == SPKAFKA_CONSUME)
		return spkafka_consume(&o);
	return spkafka_count(&o);
}
