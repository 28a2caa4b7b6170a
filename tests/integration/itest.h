/* SPDX-License-Identifier: Apache-2.0 */
/*
 * itest.h - what the integration test files share on top of the harness:
 * failing the running cmocka test on a harness error (H_OK), event
 * skeletons and page views, product keys and day counters.  Include after
 * cmocka.h and harness.h.  A file sets ITEST_EVENT_PREFIX (the event_id
 * prefix of its events) and may set WAIT_MS before including it.
 */
#ifndef ITEST_H
#define ITEST_H

#ifndef WAIT_MS
#define WAIT_MS 30000           /* how long an expected effect may take */
#endif
#ifndef ITEST_EVENT_PREFIX
#define ITEST_EVENT_PREFIX "ev-"
#endif

/* Fail the running test with the harness's message if call returns -1. */
#define H_OK(h, call) do { \
	if ((call) == -1) \
		fail_msg("%s: %s", #call, (h)->err); \
} while (0)

/* A new event of type with a fresh event_id (product NULL: none). */
static inline json_t *
event_new(const char *type, const char *shop, const char *product,
    int64_t ts)
{
	static int seq;
	char id[64];
	json_t *ev;

	snprintf(id, sizeof(id), ITEST_EVENT_PREFIX "%d", ++seq);
	ev = json_pack("{s:s, s:s, s:I, s:s}", "type", type, "event_id", id,
	    "ts", (json_int_t)ts, "shop_id", shop);
	if (product != NULL)
		json_object_set_new(ev, "product_id", json_string(product));
	return ev;
}

/* A page_view event of customer (new reference). */
static inline json_t *
view_event(const char *shop, const char *product, const char *customer,
    int64_t ts)
{
	json_t *ev = event_new("page_view", shop, product, ts);

	json_object_set_new(ev, "customer_id", json_string(customer));
	return ev;
}

/* "sp:{P}:<what>" */
static inline void
pkey(char *buf, size_t len, const char *product, const char *what)
{
	snprintf(buf, len, "sp:{%s}:%s", product, what);
}

/* "sp:{P}:day:<date of ts>" */
static inline void
day_key(char *buf, size_t len, const char *product, int64_t ts)
{
	char date[16];

	harness_date(ts, date, sizeof(date));
	snprintf(buf, len, "sp:{%s}:day:%s", product, date);
}

/* One day counter of a product (0 when absent). */
static inline long long
day_counter(struct harness *h, const char *product, int64_t ts,
    const char *field)
{
	char key[256];
	long long v;

	day_key(key, sizeof(key), product, ts);
	H_OK(h, harness_hget_ll(h, key, field, &v));
	return v;
}

/* Wait until a day counter of a product reaches want; its value. */
static inline long long
wait_day_counter(struct harness *h, const char *product, int64_t ts,
    const char *field, long long want)
{
	char key[256];
	long long v;

	day_key(key, sizeof(key), product, ts);
	H_OK(h, harness_wait_hash_ge(h, key, field, want, WAIT_MS, &v));
	return v;
}

#endif
