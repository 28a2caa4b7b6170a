/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fault.h - spfault, the helper program of the fault tests
 * (tests/fault/run.sh).  tests/fault/run.sh compiles it against the built
 * build/libspengine.a and build/libspconfig.a:
 *
 *   spfault gen    writes the input event stream (JSON lines) and the
 *                  product lists of the plans the script creates
 *   spfault wait   polls the consumer group's committed offsets of the input
 *                  until a share of it is committed (progress and throughput)
 *   spfault check  replays the input through engine_apply() (the model) and
 *                  compares Redis and the output topics with the model
 *
 * Not pure: reads and writes files, talks to Redis (hiredis) and Kafka
 * (librdkafka).  Messages go to stderr prefixed "spfault: "; every command
 * returns its exit status (0 pass, 1 failure, 2 usage error).
 *
 * The model (model.c) owns everything it holds; model_release() frees it.
 */
#ifndef SP_FAULT_H
#define SP_FAULT_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "config.h"
#include "engine.h"
#include "strmap.h"

/* One key of the model keyspace: what Redis must hold under that name. */
struct model_key {
	char type;              /* 'h' hash, 's' set, 'p' HyperLogLog */
	struct strmap f;        /* field or member -> malloc'd value */
};

/* The input as the model saw it. */
struct model_input {
	long messages;          /* lines of the input file */
	long events;            /* decoded */
	long poison;            /* failed to decode: dead letters */
	long by_type[EV__COUNT];
	int partitions;         /* highest partition + 1 */
	long gaps;              /* offsets not following 0, 1, 2, ... */
};

struct model {
	const struct sp_config *cfg;
	struct engine_params ep;
	struct plan **plans;
	size_t nplans;
	struct strmap keys;     /* key name -> struct model_key * */
	struct strmap prods;    /* product_id -> struct product_state * */
	struct strmap offers;   /* offer_id -> malloc'd offer JSON */
	struct strmap others;   /* other messages of the offers topic
				   (promotion_deactivated), canonical JSON ->
				   malloc'd JSON */
	struct strmap dead;     /* "partition:offset" -> malloc'd reason */
	struct strmap buyers;   /* "shop\037customer" -> non-NULL */
	struct model_input in;
};

/* Commands; argv[0] is the command name. */
int gen_main(int argc, char **argv);
int wait_main(int argc, char **argv);
int check_main(int argc, char **argv);

/*
 * The model for cfg (kept by pointer) with the plans stored in Redis
 * (sp:plans, sp:plan:<id>); 0, or -1 with err.
 */
int model_init(struct model *m, const struct sp_config *cfg,
    redisContext *rc, char *err, size_t errlen);

/*
 * Replay the input file, one "PARTITION<tab>OFFSET<tab>PAYLOAD" line per
 * message (smartpromo-kafka consume --with-pos), in file order; then add
 * the writes every product's last state and the plans imply.  0, or -1
 * with err.
 */
int model_replay(struct model *m, const char *path, char *err,
    size_t errlen);

/* The active plan that enrolls a product, or NULL. */
struct plan *model_plan(const struct model *m, const char *product_id);

/* A JSON text with sorted keys, compact (malloc'd), or NULL. */
char *model_canonical(const char *json);

/* The plan of that id, or NULL. */
struct plan *model_plan_by_id(const struct model *m, const char *plan_id);

void model_release(struct model *m);

/* ---- helpers (fault.c) -------------------------------------------------- */

/* Print "spfault: " and the message to stderr. */
void fault_warnx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* Exit 1 with a message: only for out of memory. */
void fault_oom(void) __attribute__((noreturn));

/* strdup that cannot fail. */
char *fault_strdup(const char *s);

/* Parse a decimal integer within [min, max] into *out; 0 or -1. */
int fault_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

/* Parse a number within [min, max] into *out; 0 or -1. */
int fault_parse_dbl(const char *s, double min, double max, double *out);

/* Wall clock in ms, and a monotonic clock in seconds. */
int64_t fault_now_ms(void);
double fault_mono_s(void);

/* Read one line of any length into *buf (grown); its length, -1 at EOF. */
long fault_getline(char **buf, size_t *cap, FILE *fp);

/* Free every value of a map whose values are malloc'd, then the map. */
void fault_free_values(struct strmap *m);

#endif
