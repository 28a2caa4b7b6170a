/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_plan.c - libFuzzer target for the admin API's plan request bodies
 * (engine/plan.c: plan_from_request() and the conversions after it).
 *
 * For every input, with the default limits (roi_target 5, cap 80 %):
 * - a rejected body gives a non-empty message that is valid UTF-8 (the
 *   daemon sends it back inside JSON) and leaves the plan zeroed;
 * - an accepted plan keeps every rule of docs/admin-api.md (name, shop,
 *   exactly one of products or segments, unique ids, days 7..365,
 *   0 < min <= max <= cap, ranges inside the cap, roi 1..100, budget,
 *   start and end) and its lookup maps agree with its arrays;
 * - the API view, less the fields the server sets, posted again gives the
 *   same plan (plan_to_json, json_dumps, plan_from_request);
 * - the Redis hash fields give the same plan back (plan_to_fields,
 *   plan_from_fields), for the active plan and once it has ended;
 * - plan_release() frees everything (ASan's leak check) and zeroes it.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "strmap.h"

#define FUZZ_NOW_MS 1764000000000LL
#define FUZZ_ENDED_MS (FUZZ_NOW_MS + 3600000)
#define FUZZ_PLAN_ID "pl-6f1c2a9e4b7d"
#define FUZZ_CAP_PCT 80
#define FUZZ_TIME_MAX 253402300799999LL
#define FUZZ_ERR_MAX 512                /* as the admin API's buffer */

#define CHECK(c)	fuzz_check((c), #c, __LINE__)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct plan_limits fuzz_limits = { 5.0, FUZZ_CAP_PCT };

/* Members of the API view that a request may not carry. */
static const char *const fuzz_server_keys[] = {
	"plan_id", "kind", "status", "end", "created_at", "ended_at",
	"end_reason"
};

/* Abort with the failed condition when c is false. */
static void
fuzz_check(int c, const char *what, int line)
{
	if (c)
		return;
	fprintf(stderr, "fuzz_plan.c:%d: invariant violated: %s\n", line,
	    what);
	abort();
}

/* Nonzero if every byte of p is zero. */
static int
fuzz_is_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

/* Nonzero if s is NUL-terminated within max and 1..max-1 bytes of UTF-8. */
static int
fuzz_text_ok(const char *s, size_t max, int is_id)
{
	json_t *utf8;
	size_t n;

	if (memchr(s, '\0', max) == NULL || (n = strlen(s)) == 0)
		return 0;
	for (size_t i = 0; is_id && i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	if ((utf8 = json_string(s)) == NULL)
		return 0;
	json_decref(utf8);
	return 1;
}

/* A list of ids: each valid, unique, and found at its place in the map. */
static void
fuzz_check_ids(char (*ids)[EVENT_ID_MAX], size_t n,
    const struct strmap *m)
{
	CHECK(n <= PLAN_MAX_PRODUCTS);
	CHECK(n == 0 || ids != NULL);
	CHECK(m->count == n);
	for (size_t i = 0; i < n; i++) {
		CHECK(fuzz_text_ok(ids[i], EVENT_ID_MAX, 1));
		CHECK(strmap_get(m, ids[i]) == ids[i]);
	}
}

/* The products, exclusions and per-product ranges. */
static void
fuzz_check_members(const struct plan *p)
{
	int32_t lo, hi;

	CHECK((p->segments == 0) == (p->nproducts > 0));
	CHECK((p->segments & ~(unsigned)0x1f) == 0);
	fuzz_check_ids(p->products, p->nproducts, &p->index);
	fuzz_check_ids(p->exclude, p->nexclude, &p->xindex);
	for (size_t i = 0; i < p->nproducts; i++)
		CHECK(plan_has_product(p, p->products[i]) ==
		    (strmap_get(&p->xindex, p->products[i]) == NULL));
	CHECK(p->rindex.count == p->nranges);
	for (size_t i = 0; i < p->nranges; i++) {
		const struct plan_range *r = &p->ranges[i];

		CHECK(fuzz_text_ok(r->product_id, EVENT_ID_MAX, 1));
		CHECK(strmap_get(&p->rindex, r->product_id) == r);
		CHECK(p->segments != 0 ||
		    strmap_get(&p->index, r->product_id) != NULL);
		CHECK(1 <= r->min_bps && r->min_bps <= r->max_bps &&
		    r->max_bps <= FUZZ_CAP_PCT * 100);
		plan_range_for(p, r->product_id, &lo, &hi);
		CHECK(lo == r->min_bps && hi == r->max_bps);
	}
}

/* Every rule an accepted plan keeps. */
static void
fuzz_check_plan(const struct plan *p)
{
	CHECK(fuzz_text_ok(p->name, sizeof(p->name), 0));
	CHECK(fuzz_text_ok(p->shop_id, sizeof(p->shop_id), 1));
	fuzz_check_members(p);
	CHECK(p->days >= 7 && p->days <= 365);
	CHECK(1 <= p->min_bps && p->min_bps <= p->max_bps &&
	    p->max_bps <= FUZZ_CAP_PCT * 100);
	CHECK(p->roi_target >= 1.0 && p->roi_target <= 100.0);
	CHECK(p->budget == -1 || p->budget > 0);
	CHECK(p->status == PLAN_ACTIVE);
	CHECK(p->start_ms >= 1 && p->start_ms <= FUZZ_TIME_MAX);
	CHECK(p->end_ms == p->start_ms + p->days * PLAN_DAY_MS);
	CHECK(p->created_ms == FUZZ_NOW_MS && p->ended_ms == 0);
	CHECK(plan_is_active(p, p->start_ms) && !plan_is_active(p, p->end_ms));
}

/* Nonzero if two id lists are equal, in order. */
static int
fuzz_same_ids(char (*a)[EVENT_ID_MAX], size_t na, char (*b)[EVENT_ID_MAX],
    size_t nb)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return 0;
	return 1;
}

/* Nonzero if two lists of per-product ranges are equal, in order. */
static int
fuzz_same_ranges(const struct plan *a, const struct plan *b)
{
	if (a->nranges != b->nranges)
		return 0;
	for (size_t i = 0; i < a->nranges; i++)
		if (strcmp(a->ranges[i].product_id, b->ranges[i].product_id) ||
		    a->ranges[i].min_bps != b->ranges[i].min_bps ||
		    a->ranges[i].max_bps != b->ranges[i].max_bps)
			return 0;
	return 1;
}

/* Nonzero if two plans hold the same terms, members and state. */
static int
fuzz_same_plan(const struct plan *a, const struct plan *b)
{
	return strcmp(a->plan_id, b->plan_id) == 0 &&
	    strcmp(a->name, b->name) == 0 &&
	    strcmp(a->shop_id, b->shop_id) == 0 &&
	    a->segments == b->segments &&
	    fuzz_same_ids(a->products, a->nproducts, b->products,
	    b->nproducts) &&
	    fuzz_same_ids(a->exclude, a->nexclude, b->exclude, b->nexclude) &&
	    a->days == b->days && a->min_bps == b->min_bps &&
	    a->max_bps == b->max_bps && fuzz_same_ranges(a, b) &&
	    a->roi_target == b->roi_target && a->budget == b->budget &&
	    a->status == b->status && a->start_ms == b->start_ms &&
	    a->end_ms == b->end_ms && a->created_ms == b->created_ms &&
	    a->ended_ms == b->ended_ms &&
	    strcmp(a->end_reason, b->end_reason) == 0 &&
	    memcmp(&a->rt, &b->rt, sizeof(a->rt)) == 0;
}

/* The API view as a request body: server-set and empty members dropped. */
static char *
fuzz_view_as_request(const struct plan *p)
{
	json_t *j = plan_to_json(p);
	char *text;

	CHECK(j != NULL);
	CHECK(json_is_string(json_object_get(j, "kind")));
	CHECK(strcmp(json_string_value(json_object_get(j, "kind")),
	    p->segments ? "segment" : "custom") == 0);
	for (size_t i = 0; i < sizeof(fuzz_server_keys) /
	    sizeof(fuzz_server_keys[0]); i++)
		CHECK(json_object_del(j, fuzz_server_keys[i]) == 0);
	CHECK(json_object_del(j, p->segments ? "products" : "segments") == 0);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	CHECK(text != NULL);
	return text;
}

/* The API view posted again gives the same plan. */
static void
fuzz_check_view(const struct plan *p)
{
	struct plan *q = malloc(sizeof(*q));
	char err[FUZZ_ERR_MAX];
	char *body = fuzz_view_as_request(p);

	CHECK(q != NULL);
	if (plan_from_request(q, body, strlen(body), &fuzz_limits,
	    FUZZ_NOW_MS, err, sizeof(err)) == -1) {
		fprintf(stderr, "API view rejected: %s\n%s\n", err, body);
		abort();
	}
	memcpy(q->plan_id, p->plan_id, sizeof(q->plan_id));
	if (!fuzz_same_plan(p, q))
		fprintf(stderr, "API view gives another plan:\n%s\n", body);
	CHECK(fuzz_same_plan(p, q));
	plan_release(q);
	free(q);
	free(body);
}

/* The Redis hash fields give the same plan back. */
static void
fuzz_check_fields(const struct plan *p)
{
	struct plan *q = malloc(sizeof(*q));
	char err[FUZZ_ERR_MAX], **names, **values;
	int n = plan_to_fields(p, &names, &values);

	CHECK(q != NULL);
	CHECK(n > 0 && names != NULL && values != NULL);
	if (plan_from_fields(q, (const char *const *)names,
	    (const char *const *)values, (size_t)n, err, sizeof(err)) == -1) {
		fprintf(stderr, "hash fields rejected: %s\n", err);
		for (int i = 0; i < n; i++)
			fprintf(stderr, "  %s = %s\n", names[i], values[i]);
		abort();
	}
	CHECK(fuzz_same_plan(p, q));
	plan_release(q);
	CHECK(fuzz_is_zero(q, sizeof(*q)));
	free(q);
	plan_fields_release(names, values, n);
}

/* A rejected body: a message fit for a JSON reply, nothing to free. */
static void
fuzz_check_rejected(const struct plan *p, const char *err)
{
	json_t *utf8;

	CHECK(memchr(err, '\0', FUZZ_ERR_MAX) != NULL);
	CHECK(err[0] != '\0');
	utf8 = json_string(err);
	if (utf8 == NULL)
		fprintf(stderr, "message is not valid UTF-8: %s\n", err);
	CHECK(utf8 != NULL);
	json_decref(utf8);
	CHECK(fuzz_is_zero(p, sizeof(*p)));
}

/* One input: validate, check, convert both ways, end, convert again. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct plan *p = malloc(sizeof(*p));
	char err[FUZZ_ERR_MAX];

	CHECK(p != NULL);
	memset(err, 'x', sizeof(err));
	if (plan_from_request(p, (const char *)data, size, &fuzz_limits,
	    FUZZ_NOW_MS, err, sizeof(err)) == -1) {
		fuzz_check_rejected(p, err);
		free(p);
		return 0;
	}
	fuzz_check_plan(p);
	memcpy(p->plan_id, FUZZ_PLAN_ID, sizeof(FUZZ_PLAN_ID));
	fuzz_check_view(p);
	fuzz_check_fields(p);
	p->status = PLAN_ENDED;
	p->ended_ms = FUZZ_ENDED_MS;
	snprintf(p->end_reason, sizeof(p->end_reason), "ended by request");
	fuzz_check_fields(p);
	plan_release(p);
	CHECK(fuzz_is_zero(p, sizeof(*p)));
	free(p);
	return 0;
}
