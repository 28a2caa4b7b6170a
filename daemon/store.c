/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.c - hiredis async connection with reconnect and script loading,
 * and the one-step read of a product's state.  Commands are formatted
 * here (store_format) and handed to hiredis ready to send.
 */
#include "store.h"
#include "clock.h"
#include "log.h"
#include "stats.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/adapters/libevent.h>

/*
 * Apply a batch's writes to one product if nobody moved it meanwhile.
 * KEYS[1] is the product hash.  ARGV: expected kpos, new kpos (written
 * last; "": none, or the caller wrote it as the last field of the last
 * HSET on KEYS[1]), TTL seconds for keys first created here, comma list
 * of key indexes that get the TTL, then operations: "H" key n f1 v1 ... fn
 * vn (HSET), "I" key n f1 d1 ... fn dn (HINCRBY of each field by its
 * delta, n >= 1), "P" key n e1 ... en (PFADD), keys as indexes into
 * KEYS.  Returns 1, or an error "CONFLICT <kpos>", or "INVALID <key>:
 * <why>; nothing written".
 *
 * Redis does not roll a script back: a command that fails midway leaves
 * the writes before it.  So before writing anything the script checks
 * what could make a write fail (the type of every key an operation
 * touches, and that each counter it increments holds an integer the way
 * HINCRBY parses one and stays within 64 bits); a key that fails the check
 * fails the call with nothing changed.  (Past maxmemory Redis refuses a
 * script's first write, never one after it.)
 *
 * Each check is a command the script needs anyway, or the cheapest that
 * fails on the wrong type, through redis.pcall: the HGET of kpos checks
 * KEYS[1]; the HMGET of the counters a hash's increments need checks that
 * hash; the TTL a dated key needs says whether it exists (a key that does
 * not needs no check); GETRANGE 0 3 checks a HyperLogLog ("HYLL", or none);
 * HLEN any other hash.  The key of the first write is not checked before:
 * that write is the first change, so its own WRONGTYPE fails the call
 * with nothing written, and once it succeeded the key has the type.
 *
 * It runs once per product and batch, so it is written for Redis's Lua:
 * globals read once into locals, one-digit numbers read with string.byte
 * (tonumber costs about 0.1 us), one table for the parsed operations, and
 * the overflow sum only when a value or delta has 19 or more characters
 * (shorter ones cannot reach 2^63).
 */
static const char store_lua_write[] =
"local K, A = KEYS, ARGV\n"
"local call, pcall = redis.call, redis.pcall\n"
"local byte, tonumber, unpack = string.byte, tonumber, unpack\n"
"local function bad(k, why)\n"
"  return redis.error_reply('INVALID ' .. k .. ': ' .. why .. '; nothing written')\n"
"end\n"
"local cur = pcall('HGET', K[1], 'kpos')\n"
"if type(cur) == 'table' and cur.err ~= nil then return bad(K[1], 'not a hash') end\n"
"cur = cur or ''\n"
"if cur ~= A[1] then return redis.error_reply('CONFLICT ' .. cur) end\n"
"local want, flds, dels, order, ops = {}, {}, {}, {}, {}\n"
"local nops, i, nargv = 0, 5, #A\n"
"while i <= nargv do\n"
"  local op, x, n = A[i], A[i + 1], A[i + 2]\n"
"  x = #x == 1 and byte(x) - 48 or tonumber(x)\n"
"  n = #n == 1 and byte(n) - 48 or tonumber(n)\n"
"  local w = op == 'P' and 'hll' or 'hash'\n"
"  ops[nops + 1] = i; ops[nops + 2] = x; ops[nops + 3] = n; nops = nops + 3\n"
"  if want[x] == nil then want[x] = w; order[#order + 1] = x\n"
"  elseif want[x] ~= w then return bad(K[x], 'both a hash and a HyperLogLog') end\n"
"  if op == 'I' then\n"
"    local f, d = flds[x], dels[x]\n"
"    if f == nil then f = {}; d = {}; flds[x] = f; dels[x] = d end\n"
"    for j = i + 3, i + 1 + 2 * n, 2 do\n"
"      f[#f + 1] = A[j]\n"
"      d[#d + 1] = A[j + 1]\n"
"    end\n"
"    i = i + 3 + 2 * n\n"
"  elseif op == 'H' then i = i + 3 + 2 * n\n"
"  else i = i + 3 + n end\n"
"end\n"
"if want[1] == 'hll' then return bad(K[1], 'both a hash and a HyperLogLog') end\n"
"local known, gone, exp = {}, {}, {}\n"
"local function dated(x)\n"
"  local t = call('TTL', K[x])\n"
"  known[x] = true\n"
"  gone[x] = t == -2\n"
"  if t == -1 or (t == -2 and want[x] ~= nil) then exp[#exp + 1] = K[x] end\n"
"end\n"
"local tl = A[4]\n"
"if #tl == 1 then dated(byte(tl) - 48)\n"
"elseif tl ~= '' then\n"
"  for idx in string.gmatch(tl, '%d+') do dated(tonumber(idx)) end\n"
"end\n"
"local first = ops[2]\n"
"for _, x in ipairs(order) do\n"
"  local k, f = K[x], flds[x]\n"
"  if gone[x] or (f == nil and (x == 1 or x == first)) then\n"
"  elseif want[x] == 'hll' then\n"
"    local g = pcall('GETRANGE', k, 0, 3)\n"
"    if (type(g) == 'table' and g.err ~= nil) or (g ~= 'HYLL' and\n"
"        (g ~= '' or known[x] or call('EXISTS', k) == 1)) then\n"
"      return bad(k, 'not a HyperLogLog')\n"
"    end\n"
"  elseif f == nil then\n"
"    local r = pcall('HLEN', k)\n"
"    if type(r) == 'table' and r.err ~= nil then return bad(k, 'not a hash') end\n"
"  else\n"
"    local v = pcall('HMGET', k, unpack(f))\n"
"    if v.err ~= nil then return bad(k, 'not a hash') end\n"
"    local d = dels[x]\n"
"    for j = 1, #f do\n"
"      local s = v[j]\n"
"      if s then\n"
"        local n = #s\n"
"        if n > 20 or (s ~= '0' and not string.match(s, '^%-?[1-9]%d*$')) then\n"
"          return bad(k, 'field ' .. f[j] .. ' is not an integer')\n"
"        end\n"
"        if n > 18 or #d[j] > 18 then\n"
"          local sum = tonumber(s) + tonumber(d[j])\n"
"          if sum >= 9.2e18 or sum <= -9.2e18 then\n"
"            return bad(k, 'field ' .. f[j] .. ' would overflow')\n"
"          end\n"
"        end\n"
"      end\n"
"    end\n"
"  end\n"
"end\n"
"local c = pcall\n"
"for o = 1, nops, 3 do\n"
"  local i, n = ops[o], ops[o + 2]\n"
"  local op, k, r = A[i], K[ops[o + 1]]\n"
"  if op == 'I' then\n"
"    r = c('HINCRBY', k, A[i + 3], A[i + 4])\n"
"  elseif op == 'H' then\n"
"    r = c('HSET', k, unpack(A, i + 3, i + 2 + 2 * n))\n"
"  else\n"
"    r = c('PFADD', k, unpack(A, i + 3, i + 2 + n))\n"
"  end\n"
"  if c ~= call then\n"
"    if type(r) == 'table' and r.err ~= nil then\n"
"      if string.sub(r.err, 1, 9) ~= 'WRONGTYPE' then return r end\n"
"      return bad(k, op == 'P' and 'not a HyperLogLog' or 'not a hash')\n"
"    end\n"
"    c = call\n"
"  end\n"
"  if op == 'I' then\n"
"    for j = i + 5, i + 1 + 2 * n, 2 do\n"
"      call('HINCRBY', k, A[j], A[j + 1])\n"
"    end\n"
"  end\n"
"end\n"
"if #exp > 0 then\n"
"  local ttl = tonumber(A[3])\n"
"  for _, k in ipairs(exp) do call('EXPIRE', k, ttl) end\n"
"end\n"
"if A[2] ~= '' then call('HSET', K[1], 'kpos', A[2]) end\n"
"return 1\n";

/*
 * Record a shop's latest performance figures unless newer ones are there.
 * KEYS[1] sp:shop:<shop>.  ARGV: event time, sps, orders_90d (-1: unknown).
 */
static const char store_lua_shop[] =
"local t = tonumber(redis.call('HGET', KEYS[1], 'ts') or '-1')\n"
"if tonumber(ARGV[1]) < t then return 0 end\n"
"redis.call('HSET', KEYS[1], 'ts', ARGV[1], 'sps', ARGV[2])\n"
"if ARGV[3] ~= '-1' then redis.call('HSET', KEYS[1], 'orders_90d', ARGV[3]) end\n"
"return 1\n";

/*
 * Record a creator's content item: its kind, category and the day it was
 * first seen; a later "removed" marks it with the day that was seen.
 * KEYS[1] sp:pps:content:<creator>.  ARGV: content_id, kind, category,
 * date, removed (0/1).  Value "kind|date|removed|removed_date|category".
 */
static const char store_lua_content[] =
"local cur = redis.call('HGET', KEYS[1], ARGV[1])\n"
"if not cur then\n"
"  local rd = ARGV[5] == '1' and ARGV[4] or ''\n"
"  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '|' .. ARGV[4] .. '|' .. ARGV[5] .. '|' .. rd .. '|' .. ARGV[3])\n"
"  return 1\n"
"end\n"
"local kind, day, rem, rd, cat = string.match(cur, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|(.*)$')\n"
"if ARGV[5] == '1' and rem ~= '1' then\n"
"  redis.call('HSET', KEYS[1], ARGV[1], kind .. '|' .. day .. '|1|' .. ARGV[4] .. '|' .. cat)\n"
"end\n"
"return 1\n";

/* A command waiting for its reply: the caller's callback and when it was
 * queued; the list of them is in queueing order, so its head is the
 * oldest and sets the deadline. */
struct store_cmd {
	struct store *st;
	redisCallbackFn *fn;
	void *priv;
	int64_t queued_ms;
	struct store_cmd *prev, *next;
};

struct store {
	struct event_base *base;
	const struct config_redis *cfg;
	store_state_cb *cb;
	void *arg;
	redisAsyncContext *ac;
	struct event *retry_ev;
	struct event *deadline_ev;      /* oldest command or the connect */
	struct store_cmd *head, *tail;  /* waiting for their replies */
	int connecting;                 /* connect(2) not finished yet */
	int64_t connect_ms;             /* when the attempt started */
	int backoff_ms;
	int up;
	int pending_setup;
	char sha_write[48], sha_shop[48], sha_content[48];
	char *out;                      /* a command in the protocol's form */
	size_t outcap;
	size_t *lens;                   /* argument lengths when not given */
	size_t lenscap;
	const char **argv;              /* store_load()'s HMGET arguments */
	size_t argvcap;
};

static void store_connect(struct store *st);

#define STORE_OUT_KEEP (1 << 20)        /* scratch bytes kept between
					   commands */

/* Key name with the prefix. */
const char *
store_key(const struct store *st, char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(buf, len, "%s", st->cfg->key_prefix);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < len)
		vsnprintf(buf + n, len - (size_t)n, fmt, ap);
	va_end(ap);
	return buf;
}

/* Key name with the prefix, from strings (see store.h). */
size_t
store_keycat(const struct store *st, char *buf, size_t len, ...)
{
	va_list ap;
	const char *s = st->cfg->key_prefix;
	size_t n = 0;

	if (len == 0)
		return 0;
	va_start(ap, len);
	for (; s != NULL; s = va_arg(ap, const char *)) {
		size_t l = strlen(s);

		if (l > len - 1 - n)
			l = len - 1 - n;
		memcpy(buf + n, s, l);
		n += l;
	}
	va_end(ap);
	buf[n] = '\0';
	return n;
}

/* Decimal text of an integer (see store.h). */
size_t
store_fmt_int(char *buf, long long v)
{
	return (size_t)(util_fmt_i64(buf, (int64_t)v) - buf);
}

/* Make room for need bytes in a scratch buffer of the store. */
static void *
store_room(void *p, size_t *cap, size_t need, size_t sz)
{
	if (need <= *cap)
		return p;
	*cap = need * 2;
	if ((p = realloc(p, *cap * sz)) == NULL)
		fatalx("out of memory");
	return p;
}

/*
 * A command in the protocol's form (*argc, then $len and the bytes per
 * argument) into st->out; returns its length.  hiredis would format it
 * with sdscatfmt() and, without lens, a strlen() per argument.
 */
static size_t
store_format(struct store *st, int argc, const char **argv,
    const size_t *lens)
{
	size_t need = 16, o;

	if (lens == NULL) {
		st->lens = store_room(st->lens, &st->lenscap, (size_t)argc + 1,
		    sizeof(*st->lens));
		for (int i = 0; i < argc; i++)
			st->lens[i] = strlen(argv[i]);
		lens = st->lens;
	}
	for (int i = 0; i < argc; i++)
		need += lens[i] + 26;   /* "$", 20 digits, 2 CRLF */
	st->out = store_room(st->out, &st->outcap, need, 1);
	st->out[0] = '*';
	o = 1 + store_fmt_int(st->out + 1, argc);
	for (int i = 0; i < argc; i++) {
		memcpy(st->out + o, "\r\n$", 3);
		o += 3;
		o += store_fmt_int(st->out + o, (long long)lens[i]);
		memcpy(st->out + o, "\r\n", 2);
		memcpy(st->out + o + 2, argv[i], lens[i]);
		o += 2 + lens[i];
	}
	memcpy(st->out + o, "\r\n", 2);
	return o + 2;
}

/* Error reply starting with word. */
int
store_reply_is(const redisReply *r, const char *word)
{
	return r != NULL && r->type == REDIS_REPLY_ERROR &&
	    strncmp(r->str, word, strlen(word)) == 0;
}

/* Mark down and tell the owner once. */
static void
store_set_down(struct store *st)
{
	int was = st->up;

	st->up = 0;
	st->ac = NULL;
	st->connecting = 0;
	if (was && st->cb != NULL)
		st->cb(0, st->arg);
}

/* Try again after the backoff, doubling it up to 5 s. */
static void
store_schedule_retry(struct store *st)
{
	struct timeval tv = { st->backoff_ms / 1000,
	    (st->backoff_ms % 1000) * 1000 };

	if (st->retry_ev == NULL)       /* store_free() */
		return;
	evtimer_add(st->retry_ev, &tv);
	st->backoff_ms = st->backoff_ms * 2 > 5000 ? 5000 : st->backoff_ms * 2;
}

/* The connection is gone (or given up): down, and reconnect later. */
static void
store_lost(struct store *st)
{
	store_set_down(st);
	store_schedule_retry(st);
}

/* Make sure the deadline timer runs by ms from now at the latest (an
 * earlier pending one stays: it re-arms itself for what is then due). */
static void
store_arm(struct store *st, int64_t ms)
{
	struct timeval tv;

	if (st->deadline_ev == NULL || evtimer_pending(st->deadline_ev, NULL))
		return;
	if (ms < 1)
		ms = 1;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(st->deadline_ev, &tv);
}

/* When the connection is overdue (monotonic ms), or -1: nothing waits. */
static int64_t
store_due(const struct store *st)
{
	if (st->ac == NULL)
		return -1;
	if (st->connecting)
		return st->connect_ms + st->cfg->timeout_ms;
	if (st->head != NULL)
		return st->head->queued_ms + st->cfg->timeout_ms;
	return -1;
}

/*
 * The deadline: the connect attempt, or the oldest command (Redis answers
 * in order, so it is the one every later reply waits behind), had no
 * answer within [redis] timeout_ms.  Dropping the connection gives every
 * waiting callback its NULL reply and reconnects.
 */
static void
store_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store *st = arg;
	int64_t due = store_due(st), now = clock_mono_ms();

	(void)fd;
	(void)what;
	if (due < 0)
		return;
	if (due > now) {
		store_arm(st, due - now);
		return;
	}
	if (st->connecting)
		log_warnx("redis: not connected within %d ms (%s:%d)",
		    st->cfg->timeout_ms, st->cfg->host, st->cfg->port);
	else
		log_warnx("redis: no reply within %d ms (%s:%d)",
		    st->cfg->timeout_ms, st->cfg->host, st->cfg->port);
	store_reset(st);
}

/* A reply (or NULL: the connection dropped): hand it to the caller. */
static void
store_reply_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct store_cmd *c = priv;
	struct store *st = c->st;
	redisCallbackFn *fn = c->fn;
	void *fpriv = c->priv;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		st->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		st->tail = c->prev;
	free(c);
	if (fn != NULL)
		fn(ac, r, fpriv);
}

/* Queue a command on the connection with a deadline; 0 or -1. */
static int
store_send(struct store *st, redisCallbackFn *fn, void *priv, int argc,
    const char **argv, const size_t *lens)
{
	struct store_cmd *c;

	if (st->ac == NULL)
		return -1;
	if ((c = malloc(sizeof(*c))) == NULL)
		fatalx("out of memory");
	*c = (struct store_cmd){ st, fn, priv, clock_mono_ms(), st->tail,
	    NULL };
	if (redisAsyncFormattedCommand(st->ac, store_reply_cb, c,
	    st->out, store_format(st, argc, argv, lens)) != REDIS_OK) {
		free(c);
		return -1;
	}
	if (st->outcap > STORE_OUT_KEEP) {      /* after a huge command */
		free(st->out);
		st->out = NULL;
		st->outcap = 0;
	}
	if (st->tail != NULL)
		st->tail->next = c;
	else
		st->head = c;
	st->tail = c;
	if (c->prev == NULL)
		store_arm(st, st->cfg->timeout_ms);
	return 0;
}

/* Reply to SELECT or SCRIPT LOAD during setup. */
static void
store_setup_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct store *st = ac->data;
	redisReply *reply = r;
	char *sha = priv;

	if (reply == NULL || ac != st->ac)
		return;
	if (reply->type == REDIS_REPLY_ERROR) {
		log_warnx("redis setup failed: %s", reply->str);
		stats.redis_errors++;
		redisAsyncDisconnect(ac);
		return;
	}
	if (sha != NULL && reply->type == REDIS_REPLY_STRING)
		snprintf(sha, 48, "%s", reply->str);
	if (--st->pending_setup == 0) {
		st->up = 1;
		st->backoff_ms = 100;
		log_info("redis %s:%d connected", st->cfg->host, st->cfg->port);
		if (st->cb != NULL)
			st->cb(1, st->arg);
	}
}

/* Connected: select the database and load the scripts. */
static void
store_connect_cb(const redisAsyncContext *cac, int status)
{
	redisAsyncContext *ac = (redisAsyncContext *)cac;
	struct store *st = ac->data;
	const char *const scripts[3] = { store_lua_write, store_lua_shop,
	    store_lua_content };
	char *const shas[3] = { st->sha_write, st->sha_shop, st->sha_content };
	char db[16];
	const char *argv[3] = { "SELECT", db, NULL };

	if (ac != st->ac)               /* given up on already */
		return;
	if (status != REDIS_OK) {
		log_warnx("redis %s:%d: %s", st->cfg->host, st->cfg->port,
		    ac->errstr);
		stats.redis_errors++;
		store_lost(st);         /* hiredis frees the context */
		return;
	}
	st->connecting = 0;
	st->pending_setup = 4;
	snprintf(db, sizeof(db), "%d", st->cfg->db);
	if (store_send(st, store_setup_cb, NULL, 2, argv, NULL) == -1)
		st->pending_setup = -1;
	argv[0] = "SCRIPT";
	argv[1] = "LOAD";
	for (int i = 0; i < 3; i++) {
		argv[2] = scripts[i];
		if (store_send(st, store_setup_cb, shas[i], 3, argv,
		    NULL) == -1)
			st->pending_setup = -1;
	}
	if (st->pending_setup < 0) {
		log_warnx("redis %s:%d: cannot queue the setup commands",
		    st->cfg->host, st->cfg->port);
		redisAsyncDisconnect(ac);
	}
}

/* Lost: report and reconnect. */
static void
store_disconnect_cb(const redisAsyncContext *ac, int status)
{
	struct store *st = ac->data;

	if (ac != st->ac)               /* dropped by store_reset() */
		return;
	if (status != REDIS_OK) {
		log_warnx("redis %s:%d disconnected: %s", st->cfg->host,
		    st->cfg->port, ac->errstr);
		stats.redis_errors++;
	}
	store_lost(st);
}

/* Reconnect timer. */
static void
store_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	store_connect(arg);
}

/* Start one connection attempt, with TCP keepalive and a deadline. */
static void
store_connect(struct store *st)
{
	redisAsyncContext *ac = redisAsyncConnect(st->cfg->host, st->cfg->port);

	if (ac == NULL || ac->err) {
		log_warnx("redis %s:%d: %s", st->cfg->host, st->cfg->port,
		    ac ? ac->errstr : "out of memory");
		stats.redis_errors++;
		if (ac != NULL)
			redisAsyncFree(ac);
		store_schedule_retry(st);
		return;
	}
	if (redisEnableKeepAlive(&ac->c) != REDIS_OK)
		log_warnx("redis %s:%d: cannot enable TCP keepalive: %s",
		    st->cfg->host, st->cfg->port, ac->c.errstr);
	ac->data = st;
	redisLibeventAttach(ac, st->base);
	redisAsyncSetConnectCallback(ac, store_connect_cb);
	redisAsyncSetDisconnectCallback(ac, store_disconnect_cb);
	st->ac = ac;
	st->connecting = 1;
	st->connect_ms = clock_mono_ms();
	store_arm(st, st->cfg->timeout_ms);
}

/* A store that connects in the background. */
struct store *
store_new(struct event_base *base, const struct config_redis *cfg,
    store_state_cb *cb, void *arg)
{
	struct store *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return NULL;
	st->base = base;
	st->cfg = cfg;
	st->cb = cb;
	st->arg = arg;
	st->backoff_ms = 100;
	st->retry_ev = evtimer_new(base, store_retry_cb, st);
	st->deadline_ev = evtimer_new(base, store_deadline_cb, st);
	if (st->retry_ev == NULL || st->deadline_ev == NULL) {
		if (st->retry_ev != NULL)
			event_free(st->retry_ev);
		if (st->deadline_ev != NULL)
			event_free(st->deadline_ev);
		free(st);
		return NULL;
	}
	store_connect(st);
	return st;
}

/* Disconnect for good. */
void
store_free(struct store *st)
{
	redisAsyncContext *ac;

	if (st == NULL)
		return;
	event_free(st->retry_ev);
	st->retry_ev = NULL;
	event_free(st->deadline_ev);
	st->deadline_ev = NULL;
	st->cb = NULL;
	if ((ac = st->ac) != NULL) {
		st->ac = NULL;
		redisAsyncFree(ac);
	}
	free(st->out);
	free(st->lens);
	free(st->argv);
	free(st);
}

/* Up? */
int
store_up(const struct store *st)
{
	return st->up && st->ac != NULL;
}

/* Queue one command. */
int
store_command(struct store *st, redisCallbackFn *fn, void *priv, int argc,
    const char **argv, const size_t *lens)
{
	if (!store_up(st))
		return -1;
	return store_send(st, fn, priv, argc, argv, lens);
}

/* Drop the connection; pending callbacks get NULL, then it reconnects. */
void
store_reset(struct store *st)
{
	redisAsyncContext *ac = st->ac;

	if (ac == NULL)
		return;
	log_warnx("redis %s:%d: resetting the connection", st->cfg->host,
	    st->cfg->port);
	stats.redis_errors++;
	store_lost(st);         /* first: callbacks below see the store down */
	redisAsyncFree(ac);
}

/* One command of a transaction; its reply ("QUEUED") is not needed. */
static int
store_queued(struct store *st, int argc, const char **argv)
{
	return store_command(st, NULL, NULL, argc, argv, NULL);
}

/* HMGET key of n fields inside a transaction (none: nothing is sent). */
static int
store_queued_hmget(struct store *st, const char *key,
    const char *const *fields, size_t n)
{
	if (n == 0)
		return 0;
	st->argv = store_room(st->argv, &st->argvcap, n + 2,
	    sizeof(*st->argv));
	st->argv[0] = "HMGET";
	st->argv[1] = key;
	memcpy(st->argv + 2, fields, n * sizeof(*st->argv));
	return store_queued(st, (int)n + 2, st->argv);
}

/* Read a product's state in one step (see store.h). */
int
store_load(struct store *st, const char *product_id,
    const struct store_load_ask *ask, redisCallbackFn *fn, void *priv)
{
	static const char *const kinds[STORE_LOAD_PARTS] = { "}:product",
	    "}:arms", "}:offers", "}:orders", "}:views", "}:outbox",
	    "}:offers" };
	const char *multi[1] = { "MULTI" }, *exec[1] = { "EXEC" };
	const char *hgetall[2] = { "HGETALL", NULL };
	char keys[STORE_LOAD_PARTS][400];
	int bad = 0;

	for (int k = 0; k < STORE_LOAD_ALL_OFFERS; k++)
		store_keycat(st, keys[k], sizeof(keys[k]), "{", product_id,
		    kinds[k], (const char *)NULL);
	memcpy(keys[STORE_LOAD_ALL_OFFERS], keys[STORE_LOAD_OFFERS],
	    sizeof(keys[0]));
	if (store_queued(st, 1, multi) == -1)
		return -1;
	for (int k = STORE_LOAD_PRODUCT; k <= STORE_LOAD_ARMS; k++) {
		hgetall[1] = keys[k];
		bad |= store_queued(st, 2, hgetall);
	}
	bad |= store_queued_hmget(st, keys[STORE_LOAD_OFFERS], ask->customers,
	    ask->nc);
	bad |= store_queued_hmget(st, keys[STORE_LOAD_ORDERS], ask->orders,
	    ask->no);
	bad |= store_queued_hmget(st, keys[STORE_LOAD_VIEWS], ask->customers,
	    ask->nc);
	bad |= store_queued_hmget(st, keys[STORE_LOAD_OUTBOX], ask->outbox,
	    ask->nout);
	if (ask->all_offers) {
		hgetall[1] = keys[STORE_LOAD_ALL_OFFERS];
		bad |= store_queued(st, 2, hgetall);
	}
	if (bad) {              /* never leave the connection inside MULTI */
		store_reset(st);
		return -1;
	}
	return store_command(st, fn, priv, 1, exec, NULL);
}

/* Spread a store_load() reply into its parts (see store.h). */
int
store_load_parts(const redisReply *r, const struct store_load_ask *ask,
    const redisReply **part)
{
	static const redisReply none = { .type = REDIS_REPLY_ARRAY };
	const int asked[STORE_LOAD_PARTS] = { 1, 1, ask->nc > 0, ask->no > 0,
	    ask->nc > 0, ask->nout > 0, ask->all_offers };
	size_t e = 0, want = 0;

	for (int i = 0; i < STORE_LOAD_PARTS; i++)
		want += asked[i] != 0;
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != want)
		return -1;
	for (int i = 0; i < STORE_LOAD_PARTS; i++) {
		part[i] = asked[i] ? r->element[e++] : &none;
		if (part[i]->type == REDIS_REPLY_ERROR)
			return -1;
	}
	return 0;
}

const char *
store_sha_write(const struct store *st)
{
	return st->sha_write;
}

const char *
store_sha_shop(const struct store *st)
{
	return st->sha_shop;
}

const char *
store_sha_content(const struct store *st)
{
	return st->sha_content;
}
