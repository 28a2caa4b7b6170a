/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.h - the Redis connection: hiredis async on the daemon's libevent
 * loop, reconnect with backoff, the read of a product's state
 * (store_load) and the Lua script of its conditional write, and the key
 * names of docs/keyspace.md.
 *
 * store_command() queues a command; its callback gets NULL when the
 * connection drops before the reply.  While the store is down,
 * store_command() fails and the state callback has said so.
 *
 * Every command has a deadline of [redis] timeout_ms from when it was
 * queued, and so has each connection attempt (TCP keepalive is on): when
 * the oldest command waiting (Redis answers in order) or the connect is
 * past it, the connection is dropped as by store_reset(), so no caller
 * waits longer than that for its callback.
 */
#ifndef SP_STORE_H
#define SP_STORE_H

#include <stddef.h>

#include <event2/event.h>
#include <hiredis/async.h>

#include "config.h"

struct store;

/* Called with up = 1 once connected and scripts loaded, 0 when lost. */
typedef void store_state_cb(int up, void *arg);

/* Connect (asynchronously); NULL only when out of memory. */
struct store *store_new(struct event_base *base, const struct config_redis *cfg,
    store_state_cb *cb, void *arg);
void store_free(struct store *st);

/* Nonzero when commands may be sent. */
int store_up(const struct store *st);

/* Queue a command; 0, or -1 when the store is down.  lens (NULL: strlen
 * of each) gives the arguments' lengths; the store formats the protocol
 * itself and the arguments may be freed once this returns. */
int store_command(struct store *st, redisCallbackFn *fn, void *priv,
    int argc, const char **argv, const size_t *lens);

/* Drop the connection; every waiting callback gets NULL, the state
 * callback 0, and it reconnects after the backoff. */
void store_reset(struct store *st);

/* What store_load() reads besides the product and arms hashes. */
struct store_load_ask {
	const char *const *customers;   /* their offer and last view */
	size_t nc;
	const char *const *orders;      /* their order records */
	size_t no;
	const char *const *outbox;      /* "<partition>:<offset>" entries */
	size_t nout;
	int all_offers;                 /* also every offer record (HGETALL,
					   for a campaign event) */
};

/* The parts of a load, in this order. */
enum store_load_part { STORE_LOAD_PRODUCT, STORE_LOAD_ARMS,
	STORE_LOAD_OFFERS, STORE_LOAD_ORDERS, STORE_LOAD_VIEWS,
	STORE_LOAD_OUTBOX, STORE_LOAD_ALL_OFFERS, STORE_LOAD_PARTS };

/*
 * Read a product's state in one step, with plain reads in a transaction:
 * MULTI, HGETALL of sp:{P}:product and :arms, HMGET of the asked customers'
 * offers and last views, of the asked orders and outbox entries (each only
 * when asked for), EXEC.  No script: Redis would copy every field into Lua
 * and back.  fn gets the EXEC reply; 0, or -1 when the store is down (a
 * send failing inside the transaction drops the connection, so it never
 * stays inside MULTI).
 */
int store_load(struct store *st, const char *product_id,
    const struct store_load_ask *ask, redisCallbackFn *fn, void *priv);

/* Spread a store_load() reply for ask into part[STORE_LOAD_PARTS], an
 * empty array for what was not asked; -1 if it has the wrong shape or
 * holds an error. */
int store_load_parts(const redisReply *r, const struct store_load_ask *ask,
    const redisReply **part);

/* The SHA1 of the write script (valid while up). */
const char *store_sha_write(const struct store *st);
/* ... and of the shop figures script (newest event time wins). */
const char *store_sha_shop(const struct store *st);
/* ... and of the creator content script. */
const char *store_sha_content(const struct store *st);

/* Key names: prefix + ... into buf; return buf. */
const char *store_key(const struct store *st, char *buf, size_t len,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The same without a format, for the hot paths: prefix and the strings
 * up to a NULL into buf (cut to len - 1 bytes, NUL-terminated); returns
 * the length written. */
size_t store_keycat(const struct store *st, char *buf, size_t len, ...)
    __attribute__((sentinel));

/* The decimal text of v into buf (at least 21 bytes, NUL-terminated);
 * returns its length. */
size_t store_fmt_int(char *buf, long long v);

/* Nonzero if the reply is an error whose text starts with word. */
int store_reply_is(const redisReply *r, const char *word);

#endif
