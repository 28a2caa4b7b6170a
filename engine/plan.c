/* SPDX-License-Identifier: Apache-2.0 */
/*
 * plan.c - promotion plans: validation of a POST /v1/plans body, the plan
 * object the admin API shows, the flat fields of the Redis hash
 * `sp:plan:<id>`, and the lookups the engine makes per event (hash maps, so
 * a 10,000-product plan costs the same per lookup as a small one).
 */
#include "plan.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLAN_NSEGMENTS 5
#define PLAN_DAYS_MIN 7
#define PLAN_DAYS_MAX 365
#define PLAN_DAYS_DEFAULT 14
#define PLAN_ROI_MIN 1.0
#define PLAN_ROI_MAX 100.0
#define PLAN_BPS_MAX 10000
#define PLAN_TIME_MAX 253402300799999LL /* 9999-12-31T23:59:59.999Z */
#define PLAN_WHAT_MAX 192
#define PLAN_NFIELDS 19                 /* hash fields plan_to_fields() writes */

static const char *const plan_segment_names[PLAN_NSEGMENTS] = {
	"trending", "clearance", "best_selling", "non_competitive",
	"newly_listed"
};

static const char *const plan_request_keys[] = {
	"name", "shop_id", "products", "segments", "exclude", "days",
	"discount_min_pct", "discount_max_pct", "product_ranges", "roi_target",
	"budget", "start"
};

/* The hash fields of a plan, as given to plan_from_fields(). */
struct plan_fields {
	const char *const *names;
	const char *const *values;
	size_t n;
};

/* The wire name of a segment bit. */
const char *
plan_segment_name(unsigned bit)
{
	for (int i = 0; i < PLAN_NSEGMENTS; i++)
		if (bit == 1u << i)
			return plan_segment_names[i];
	return NULL;
}

/* The bit of a segment name, or 0 when unknown. */
static unsigned
plan_segment_bit(const char *name, size_t len)
{
	for (int i = 0; i < PLAN_NSEGMENTS; i++)
		if (strlen(plan_segment_names[i]) == len &&
		    memcmp(plan_segment_names[i], name, len) == 0)
			return 1u << i;
	return 0;
}

/* A zeroed plan with no budget and a neutral pacing multiplier. */
static void
plan_blank(struct plan *p)
{
	memset(p, 0, sizeof(*p));
	strmap_init(&p->index);
	strmap_init(&p->xindex);
	strmap_init(&p->rindex);
	p->budget = -1;
	p->rt.lambda = 1.0;
}

/* Free everything the plan owns and zero it. */
void
plan_release(struct plan *p)
{
	free(p->products);
	free(p->exclude);
	free(p->ranges);
	strmap_release(&p->index);
	strmap_release(&p->xindex);
	strmap_release(&p->rindex);
	memset(p, 0, sizeof(*p));
}

/* Nonzero if s (len bytes) is 1..max-1 bytes with no NUL or control byte. */
static int
plan_text_ok(const char *s, size_t len, size_t max, int is_id)
{
	if (len == 0 || len >= max || strlen(s) != len)
		return 0;
	if (!is_id)
		return 1;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* Copy a checked name or id into dst (max bytes); 0 or -1 with err. */
static int
plan_copy_text(const char *s, size_t len, const char *field, char *dst,
    size_t max, int is_id, char *err, size_t errlen)
{
	if (s == NULL || !plan_text_ok(s, len, max, is_id)) {
		if (is_id)
			return util_fail(err, errlen, "field \"%s\" must be an "
			    "id of 1 to %zu bytes without control characters",
			    field, max - 1);
		return util_fail(err, errlen, "field \"%s\" must be a string "
		    "of 1 to %zu bytes", field, max - 1);
	}
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

/* Check one id of a list and add it at arr[i], indexed in m; 0 or -1. */
static int
plan_add_id(char (*arr)[EVENT_ID_MAX], size_t i, struct strmap *m,
    const char *s, size_t len, const char *field, char *err, size_t errlen)
{
	if (s == NULL || !plan_text_ok(s, len, EVENT_ID_MAX, 1))
		return util_fail(err, errlen, "\"%s\" must hold product ids of "
		    "1 to %d bytes without control characters", field,
		    EVENT_ID_MAX - 1);
	if (strmap_get(m, s) != NULL)
		return util_fail(err, errlen, "duplicate product \"%s\" in "
		    "\"%s\"", s, field);
	memcpy(arr[i], s, len + 1);
	if (strmap_put(m, arr[i], arr[i]) == -1)
		return util_fail(err, errlen, "out of memory");
	return 0;
}

/* Check the size of an id list against minn..maxn; 0 or -1 with err. */
static int
plan_check_count(size_t n, const char *field, size_t minn, size_t maxn,
    char *err, size_t errlen)
{
	if (n >= minn && n <= maxn)
		return 0;
	if (minn == 0)
		return util_fail(err, errlen, "\"%s\" must hold at most %zu "
		    "product ids", field, maxn);
	return util_fail(err, errlen, "\"%s\" must hold %zu to %zu product "
	    "ids", field, minn, maxn);
}

/* Read a JSON array of unique ids into *out and map m; 0 or -1 with err. */
static int
plan_read_ids(const json_t *arr, const char *field, size_t minn, size_t maxn,
    char (**out)[EVENT_ID_MAX], size_t *nout, struct strmap *m, char *err,
    size_t errlen)
{
	size_t n = json_array_size(arr);

	if (!json_is_array(arr))
		return util_fail(err, errlen, "field \"%s\" must be an array "
		    "of product ids", field);
	if (plan_check_count(n, field, minn, maxn, err, errlen) == -1)
		return -1;
	if (n == 0)
		return 0;
	if ((*out = calloc(n, EVENT_ID_MAX)) == NULL)
		return util_fail(err, errlen, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_array_get(arr, i);

		if (plan_add_id(*out, i, m, json_string_value(e),
		    json_string_length(e), field, err, errlen) == -1)
			return -1;
		*nout = i + 1;
	}
	return 0;
}

/* Add one segment by name to the plan's bits; 0 or -1 with err. */
static int
plan_add_segment(struct plan *p, const char *name, size_t len, char *err,
    size_t errlen)
{
	unsigned bit = plan_segment_bit(name, len);

	if (bit == 0)
		return util_fail(err, errlen, "unknown segment \"%.*s\"",
		    util_utf8_prefix(name, len, 64), name);
	if (p->segments & bit)
		return util_fail(err, errlen, "duplicate segment \"%s\" in "
		    "\"segments\"", plan_segment_name(bit));
	p->segments |= bit;
	return 0;
}

/* Read the request's "segments" array; 0 or -1 with err. */
static int
plan_read_segments(struct plan *p, const json_t *arr, char *err,
    size_t errlen)
{
	size_t i;
	const json_t *e;

	if (!json_is_array(arr))
		return util_fail(err, errlen, "field \"segments\" must be an "
		    "array of segment names");
	if (json_array_size(arr) < 1 || json_array_size(arr) > PLAN_NSEGMENTS)
		return util_fail(err, errlen, "\"segments\" must hold 1 to %d "
		    "segment names", PLAN_NSEGMENTS);
	json_array_foreach(arr, i, e) {
		if (!json_is_string(e))
			return util_fail(err, errlen, "field \"segments\" must "
			    "be an array of segment names");
		if (plan_add_segment(p, json_string_value(e),
		    json_string_length(e), err, errlen) == -1)
			return -1;
	}
	return 0;
}

/*
 * A percentage with at most two decimals as basis points; what names the
 * subject for messages.  Values far above any cap become INT32_MAX.
 */
static int
plan_pct_bps(const json_t *v, const char *what, int32_t *bps, char *err,
    size_t errlen)
{
	double x, r;

	if (!json_is_number(v))
		return util_fail(err, errlen, "%s must be a number", what);
	x = json_number_value(v) * 100.0;
	if (!(x > 0.0))
		return util_fail(err, errlen, "%s must be greater than 0", what);
	if (x > 1e8) {
		*bps = INT32_MAX;
		return 0;
	}
	r = round(x);
	if (fabs(x - r) >= 1e-6 || r < 1.0)
		return util_fail(err, errlen, "%s must have at most 2 decimals",
		    what);
	*bps = (int32_t)r;
	return 0;
}

/* A member of obj, or NULL when absent or null. */
static json_t *
plan_opt(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_null(v) ? NULL : v;
}

/* A bps pair [min, max] from a range value (pct or bps); 0 or -1. */
static int
plan_range_pair(const json_t *val, const char *what, int bps_mode,
    int32_t pair[2], char *err, size_t errlen)
{
	if (!json_is_array(val) || json_array_size(val) != 2)
		return util_fail(err, errlen, "%s must be %s", what, bps_mode ?
		    "[min_bps, max_bps]" : "[min_pct, max_pct]");
	for (size_t i = 0; i < 2; i++) {
		const json_t *e = json_array_get(val, i);

		if (!bps_mode) {
			if (plan_pct_bps(e, what, &pair[i], err, errlen) == -1)
				return -1;
		} else if (!json_is_integer(e) || json_integer_value(e) < 1 ||
		    json_integer_value(e) > PLAN_BPS_MAX)
			return util_fail(err, errlen, "%s must hold basis "
			    "points from 1 to %d", what, PLAN_BPS_MAX);
		else
			pair[i] = (int32_t)json_integer_value(e);
	}
	return 0;
}

/*
 * Check and store one per-product range at r: percentages capped at cap_pct
 * in a request, basis points (cap_pct 0) in the hash; 0 or -1 with err.
 */
static int
plan_read_range(struct plan *p, const char *key, const json_t *val,
    int cap_pct, struct plan_range *r, char *err, size_t errlen)
{
	char what[PLAN_WHAT_MAX];
	int32_t pair[2];

	if (!plan_text_ok(key, strlen(key), EVENT_ID_MAX, 1))
		return util_fail(err, errlen, "\"product_ranges\" must be keyed "
		    "by product ids of 1 to %d bytes", EVENT_ID_MAX - 1);
	snprintf(what, sizeof(what), "product range for \"%s\"", key);
	if (p->segments == 0 && strmap_get(&p->index, key) == NULL)
		return util_fail(err, errlen, "%s names a product not in the "
		    "plan", what);
	if (plan_range_pair(val, what, cap_pct == 0, pair, err, errlen) == -1)
		return -1;
	if (pair[0] > pair[1])
		return util_fail(err, errlen, "%s has min above max", what);
	if (cap_pct != 0 && pair[1] > cap_pct * 100)
		return util_fail(err, errlen, "%s must be at most %d (the "
		    "configured cap)", what, cap_pct);
	memcpy(r->product_id, key, strlen(key) + 1);
	r->min_bps = pair[0];
	r->max_bps = pair[1];
	return 0;
}

/* Read a product_ranges object (cap_pct as above); 0 or -1 with err. */
static int
plan_read_ranges(struct plan *p, const json_t *obj, int cap_pct, char *err,
    size_t errlen)
{
	const char *key;
	json_t *val;
	size_t i = 0;

	if (!json_is_object(obj))
		return util_fail(err, errlen, "field \"product_ranges\" must be "
		    "an object");
	if (json_object_size(obj) > PLAN_MAX_PRODUCTS)
		return util_fail(err, errlen, "\"product_ranges\" must hold at "
		    "most %d products", PLAN_MAX_PRODUCTS);
	if (json_object_size(obj) == 0)
		return 0;
	p->ranges = calloc(json_object_size(obj), sizeof(*p->ranges));
	if (p->ranges == NULL)
		return util_fail(err, errlen, "out of memory");
	json_object_foreach((json_t *)obj, key, val) {
		struct plan_range *r = &p->ranges[i];

		if (plan_read_range(p, key, val, cap_pct, r, err, errlen) == -1)
			return -1;
		if (strmap_put(&p->rindex, r->product_id, r) == -1)
			return util_fail(err, errlen, "out of memory");
		p->nranges = ++i;
	}
	return 0;
}

/* Reject top-level members the API does not define; 0 or -1 with err. */
static int
plan_req_keys(const json_t *root, char *err, size_t errlen)
{
	const char *key;
	json_t *val;
	size_t i, nkeys = sizeof(plan_request_keys) / sizeof(*plan_request_keys);

	json_object_foreach((json_t *)root, key, val) {
		for (i = 0; i < nkeys; i++)
			if (strcmp(key, plan_request_keys[i]) == 0)
				break;
		if (i == nkeys)
			return util_fail(err, errlen, "unknown field \"%.*s\"",
			    util_utf8_prefix(key, strlen(key), 64), key);
	}
	return 0;
}

/* A required string member of the request into dst; 0 or -1 with err. */
static int
plan_req_text(const json_t *root, const char *field, char *dst, size_t max,
    int is_id, char *err, size_t errlen)
{
	json_t *v = plan_opt(root, field);

	if (v == NULL)
		return util_fail(err, errlen, "field \"%s\" is required", field);
	return plan_copy_text(json_string_value(v), json_string_length(v),
	    field, dst, max, is_id, err, errlen);
}

/* The request's "days" (default 14); 0 or -1 with err. */
static int
plan_req_days(struct plan *p, const json_t *root, char *err, size_t errlen)
{
	json_t *v = plan_opt(root, "days");

	p->days = PLAN_DAYS_DEFAULT;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < PLAN_DAYS_MIN ||
	    json_integer_value(v) > PLAN_DAYS_MAX)
		return util_fail(err, errlen, "field \"days\" must be an "
		    "integer from %d to %d", PLAN_DAYS_MIN, PLAN_DAYS_MAX);
	p->days = (int)json_integer_value(v);
	return 0;
}

/* A required percentage member of the request as bps; 0 or -1 with err. */
static int
plan_req_pct(const json_t *root, const char *field, int32_t *bps, char *err,
    size_t errlen)
{
	char what[PLAN_WHAT_MAX];
	json_t *v = plan_opt(root, field);

	if (v == NULL)
		return util_fail(err, errlen, "field \"%s\" is required", field);
	snprintf(what, sizeof(what), "field \"%s\"", field);
	return plan_pct_bps(v, what, bps, err, errlen);
}

/* The request's plan-wide discount range; 0 or -1 with err. */
static int
plan_req_discount(struct plan *p, const json_t *root,
    const struct plan_limits *lim, char *err, size_t errlen)
{
	if (plan_req_pct(root, "discount_min_pct", &p->min_bps, err,
	    errlen) == -1 ||
	    plan_req_pct(root, "discount_max_pct", &p->max_bps, err,
	    errlen) == -1)
		return -1;
	if (p->min_bps > p->max_bps)
		return util_fail(err, errlen, "\"discount_min_pct\" must not "
		    "exceed \"discount_max_pct\"");
	if (p->max_bps > (int64_t)lim->max_discount_pct * 100)
		return util_fail(err, errlen, "\"discount_max_pct\" must be at "
		    "most %d (the configured cap)", lim->max_discount_pct);
	return 0;
}

/* The request's products or segments, and exclude; 0 or -1 with err. */
static int
plan_req_members(struct plan *p, const json_t *root, char *err,
    size_t errlen)
{
	json_t *prod = plan_opt(root, "products");
	json_t *seg = plan_opt(root, "segments");
	json_t *ex = plan_opt(root, "exclude");

	if ((prod == NULL) == (seg == NULL))
		return util_fail(err, errlen, "give either \"products\" or "
		    "\"segments\"");
	if (seg != NULL && plan_read_segments(p, seg, err, errlen) == -1)
		return -1;
	if (prod != NULL && plan_read_ids(prod, "products", 1,
	    PLAN_MAX_PRODUCTS, &p->products, &p->nproducts, &p->index, err,
	    errlen) == -1)
		return -1;
	if (ex == NULL)
		return 0;
	return plan_read_ids(ex, "exclude", 0, PLAN_MAX_PRODUCTS, &p->exclude,
	    &p->nexclude, &p->xindex, err, errlen);
}

/* The request's roi_target, budget and start; 0 or -1 with err. */
static int
plan_req_money(struct plan *p, const json_t *root,
    const struct plan_limits *lim, int64_t now_ms, char *err, size_t errlen)
{
	json_t *roi = plan_opt(root, "roi_target");
	json_t *budget = plan_opt(root, "budget");
	json_t *start = plan_opt(root, "start");

	p->roi_target = lim->default_roi_target;
	if (roi != NULL && (!json_is_number(roi) ||
	    !(json_number_value(roi) >= PLAN_ROI_MIN &&
	    json_number_value(roi) <= PLAN_ROI_MAX)))
		return util_fail(err, errlen, "field \"roi_target\" must be "
		    "from 1 to 100");
	if (roi != NULL)
		p->roi_target = json_number_value(roi);
	if (budget != NULL && (!json_is_integer(budget) ||
	    json_integer_value(budget) <= 0))
		return util_fail(err, errlen, "field \"budget\" must be a "
		    "positive integer (minor units)");
	if (budget != NULL)
		p->budget = json_integer_value(budget);
	/* the longest plan must still end before PLAN_TIME_MAX */
	if (start != NULL && (!json_is_integer(start) ||
	    json_integer_value(start) <= 0 ||
	    json_integer_value(start) > PLAN_TIME_MAX - 366 * PLAN_DAY_MS))
		return util_fail(err, errlen, "field \"start\" must be a "
		    "positive integer (epoch ms)");
	if (start != NULL && !lim->allow_past_start &&
	    json_integer_value(start) < now_ms - PLAN_START_SLACK_MS)
		return util_fail(err, errlen, "field \"start\" must not be "
		    "in the past (plans start on publish; at most 5 minutes "
		    "before now)");
	p->start_ms = start != NULL ? json_integer_value(start) : now_ms;
	return 0;
}

/* Validate a parsed request object into p; 0 or -1 with err. */
static int
plan_req_parse(struct plan *p, const json_t *root,
    const struct plan_limits *lim, int64_t now_ms, char *err, size_t errlen)
{
	const json_t *ranges;

	if (plan_req_keys(root, err, errlen) == -1 ||
	    plan_req_text(root, "name", p->name, sizeof(p->name), 0, err,
	    errlen) == -1 ||
	    plan_req_text(root, "shop_id", p->shop_id, sizeof(p->shop_id), 1,
	    err, errlen) == -1 ||
	    plan_req_members(p, root, err, errlen) == -1 ||
	    plan_req_days(p, root, err, errlen) == -1 ||
	    plan_req_discount(p, root, lim, err, errlen) == -1)
		return -1;
	ranges = plan_opt(root, "product_ranges");     /* cap >= 1 here */
	if (ranges != NULL && plan_read_ranges(p, ranges,
	    lim->max_discount_pct, err, errlen) == -1)
		return -1;
	if (plan_req_money(p, root, lim, now_ms, err, errlen) == -1)
		return -1;
	p->end_ms = p->start_ms + p->days * PLAN_DAY_MS;
	p->created_ms = now_ms;
	p->status = PLAN_ACTIVE;
	return 0;
}

/* Build a plan from a POST /v1/plans body. */
int
plan_from_request(struct plan *p, const char *body, size_t len,
    const struct plan_limits *lim, int64_t now_ms, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root;
	int rc;

	plan_blank(p);
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		/* jansson quotes the input, maybe cut inside a character:
		 * keep the reason printable ASCII so it fits a JSON reply */
		for (char *c = je.text; *c != '\0'; c++)
			if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
				*c = '?';
		rc = util_fail(err, errlen, "body is not valid JSON: %s",
		    je.text);
	}
	else if (!json_is_object(root))
		rc = util_fail(err, errlen, "body must be a JSON object");
	else
		rc = plan_req_parse(p, root, lim, now_ms, err, errlen);
	json_decref(root);
	if (rc == -1)
		plan_release(p);
	return rc;
}

/* Set key of o to v (stolen); counts a failure in *bad. */
static void
plan_json_set(json_t *o, const char *key, json_t *v, int *bad)
{
	if (v == NULL || json_object_set_new(o, key, v) == -1)
		(*bad)++;
}

/* A basis-point value as the API's percentage (5, not 5.0; 7.25). */
static json_t *
plan_json_pct(int32_t bps)
{
	if (bps % 100 == 0)
		return json_integer(bps / 100);
	return json_real(bps / 100.0);
}

/* An id list as a JSON array. */
static json_t *
plan_json_ids(char (*ids)[EVENT_ID_MAX], size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a, json_string(ids[i])) == -1) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* The segment bits as an array of names. */
static json_t *
plan_json_segments(unsigned bits)
{
	json_t *a = json_array();

	for (int i = 0; a != NULL && i < PLAN_NSEGMENTS; i++)
		if ((bits & 1u << i) && json_array_append_new(a,
		    json_string(plan_segment_names[i])) == -1) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* The per-product ranges as {pid: [min, max]}, pct or bps. */
static json_t *
plan_json_ranges(const struct plan *p, int as_bps)
{
	json_t *o = json_object();
	int bad = 0;

	for (size_t i = 0; o != NULL && i < p->nranges; i++) {
		const struct plan_range *r = &p->ranges[i];
		json_t *pair = as_bps ? json_pack("[ii]", (int)r->min_bps,
		    (int)r->max_bps) : json_pack("[oo]",
		    plan_json_pct(r->min_bps), plan_json_pct(r->max_bps));

		plan_json_set(o, r->product_id, pair, &bad);
	}
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The plan object as the admin API shows it. */
json_t *
plan_to_json(const struct plan *p)
{
	json_t *o = json_object();
	int bad = 0, ended = p->status == PLAN_ENDED;

	if (o == NULL)
		return NULL;
	plan_json_set(o, "plan_id", json_string(p->plan_id), &bad);
	plan_json_set(o, "name", json_string(p->name), &bad);
	plan_json_set(o, "shop_id", json_string(p->shop_id), &bad);
	plan_json_set(o, "kind", json_string(p->segments ? "segment" :
	    "custom"), &bad);
	plan_json_set(o, "segments", plan_json_segments(p->segments), &bad);
	plan_json_set(o, "products", plan_json_ids(p->products, p->nproducts),
	    &bad);
	plan_json_set(o, "exclude", plan_json_ids(p->exclude, p->nexclude),
	    &bad);
	plan_json_set(o, "days", json_integer(p->days), &bad);
	plan_json_set(o, "discount_min_pct", plan_json_pct(p->min_bps), &bad);
	plan_json_set(o, "discount_max_pct", plan_json_pct(p->max_bps), &bad);
	plan_json_set(o, "product_ranges", plan_json_ranges(p, 0), &bad);
	plan_json_set(o, "roi_target", json_real(p->roi_target), &bad);
	plan_json_set(o, "budget", p->budget < 0 ? json_null() :
	    json_integer(p->budget), &bad);
	plan_json_set(o, "status", json_string(ended ? "ended" : "active"),
	    &bad);
	plan_json_set(o, "start", json_integer(p->start_ms), &bad);
	plan_json_set(o, "end", json_integer(p->end_ms), &bad);
	plan_json_set(o, "created_at", json_integer(p->created_ms), &bad);
	plan_json_set(o, "ended_at", ended ? json_integer(p->ended_ms) :
	    json_null(), &bad);
	plan_json_set(o, "end_reason", ended ? json_string(p->end_reason) :
	    json_null(), &bad);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* A malloc'd printf-formatted string, or NULL. */
static char *
plan_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
plan_strf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (s = malloc((size_t)n + 1)) == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* Compact JSON text of v (stolen), malloc'd, or NULL. */
static char *
plan_dump(json_t *v)
{
	char *s;

	if (v == NULL)
		return NULL;
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(v);
	return s;
}

/* The segment bits as "trending,clearance" (malloc'd), or NULL. */
static char *
plan_segments_text(unsigned bits)
{
	char buf[128];
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < PLAN_NSEGMENTS; i++)
		if (bits & 1u << i)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off,
			    "%s%s", off > 0 ? "," : "", plan_segment_names[i]);
	return strdup(buf);
}

/* Append field name = value (value taken) at *n; counts failures in bad. */
static void
plan_field_add(char **names, char **values, int *n, const char *name,
    char *value, int *bad)
{
	names[*n] = strdup(name);
	values[*n] = value;
	(*n)++;
	if (names[*n - 1] == NULL || value == NULL)
		(*bad)++;
}

/* Fill names/values with every hash field; returns the count. */
static int
plan_fields_fill(const struct plan *p, char **nm, char **val, int *bad)
{
	int n = 0, ended = p->status == PLAN_ENDED;

	plan_field_add(nm, val, &n, "plan_id", strdup(p->plan_id), bad);
	plan_field_add(nm, val, &n, "name", strdup(p->name), bad);
	plan_field_add(nm, val, &n, "shop_id", strdup(p->shop_id), bad);
	plan_field_add(nm, val, &n, "kind", strdup(p->segments ? "segment" :
	    "custom"), bad);
	plan_field_add(nm, val, &n, "segments",
	    plan_segments_text(p->segments), bad);
	plan_field_add(nm, val, &n, "products",
	    plan_dump(plan_json_ids(p->products, p->nproducts)), bad);
	plan_field_add(nm, val, &n, "exclude",
	    plan_dump(plan_json_ids(p->exclude, p->nexclude)), bad);
	plan_field_add(nm, val, &n, "days", plan_strf("%d", p->days), bad);
	plan_field_add(nm, val, &n, "discount_min_bps",
	    plan_strf("%" PRId32, p->min_bps), bad);
	plan_field_add(nm, val, &n, "discount_max_bps",
	    plan_strf("%" PRId32, p->max_bps), bad);
	plan_field_add(nm, val, &n, "product_ranges",
	    plan_dump(plan_json_ranges(p, 1)), bad);
	plan_field_add(nm, val, &n, "roi_target",
	    plan_strf("%.17g", p->roi_target), bad);
	plan_field_add(nm, val, &n, "budget", p->budget < 0 ? strdup("") :
	    plan_strf("%" PRId64, p->budget), bad);
	plan_field_add(nm, val, &n, "status", strdup(ended ? "ended" :
	    "active"), bad);
	plan_field_add(nm, val, &n, "start", plan_strf("%" PRId64,
	    p->start_ms), bad);
	plan_field_add(nm, val, &n, "end", plan_strf("%" PRId64, p->end_ms),
	    bad);
	plan_field_add(nm, val, &n, "created_at", plan_strf("%" PRId64,
	    p->created_ms), bad);
	plan_field_add(nm, val, &n, "ended_at", ended ? plan_strf("%" PRId64,
	    p->ended_ms) : strdup(""), bad);
	plan_field_add(nm, val, &n, "end_reason", strdup(ended ?
	    p->end_reason : ""), bad);
	return n;
}

/* The plan as flat hash fields; the count, or -1. */
int
plan_to_fields(const struct plan *p, char ***names, char ***values)
{
	char **nm = calloc(PLAN_NFIELDS, sizeof(*nm));
	char **val = calloc(PLAN_NFIELDS, sizeof(*val));
	int bad = 0, n;

	*names = *values = NULL;
	if (nm == NULL || val == NULL) {
		free(nm);
		free(val);
		return -1;
	}
	n = plan_fields_fill(p, nm, val, &bad);
	if (bad) {
		plan_fields_release(nm, val, n);
		return -1;
	}
	*names = nm;
	*values = val;
	return n;
}

/* Free what plan_to_fields() returned. */
void
plan_fields_release(char **names, char **values, int n)
{
	for (int i = 0; i < n; i++) {
		if (names != NULL)
			free(names[i]);
		if (values != NULL)
			free(values[i]);
	}
	free(names);
	free(values);
}

/* The value of hash field name (the last one given), or NULL. */
static const char *
plan_field_get(const struct plan_fields *f, const char *name)
{
	const char *v = NULL;

	for (size_t i = 0; i < f->n; i++)
		if (f->names[i] != NULL && strcmp(f->names[i], name) == 0)
			v = f->values[i];
	return v;
}

/* Parse a whole decimal integer; 0 or -1. */
static int
plan_parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (s == NULL || !(*s == '-' || (*s >= '0' && *s <= '9')))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* A required integer hash field within [lo, hi]; 0 or -1 with err. */
static int
plan_f_int(const struct plan_fields *f, const char *name, int64_t lo,
    int64_t hi, int64_t *out, char *err, size_t errlen)
{
	const char *s = plan_field_get(f, name);

	if (s == NULL)
		return util_fail(err, errlen, "field \"%s\" is required", name);
	if (plan_parse_i64(s, out) == -1 || *out < lo || *out > hi)
		return util_fail(err, errlen, "field \"%s\" must be an integer "
		    "from %" PRId64 " to %" PRId64, name, lo, hi);
	return 0;
}

/* An optional integer hash field ("" or absent: none); 0 or -1 with err. */
static int
plan_f_opt_int(const struct plan_fields *f, const char *name, int64_t none,
    int64_t *out, char *err, size_t errlen)
{
	const char *s = plan_field_get(f, name);

	*out = none;
	if (s == NULL || *s == '\0')
		return 0;
	if (plan_parse_i64(s, out) == -1 || *out <= 0)
		return util_fail(err, errlen, "field \"%s\" must be empty or a "
		    "positive integer", name);
	return 0;
}

/* A required text hash field into dst; 0 or -1 with err. */
static int
plan_f_text(const struct plan_fields *f, const char *name, char *dst,
    size_t max, int is_id, char *err, size_t errlen)
{
	const char *s = plan_field_get(f, name);
	json_t *utf8;

	if (s == NULL)
		return util_fail(err, errlen, "field \"%s\" is required", name);
	if ((utf8 = json_string(s)) == NULL)
		return util_fail(err, errlen, "field \"%s\" is not valid UTF-8",
		    name);
	json_decref(utf8);
	return plan_copy_text(s, strlen(s), name, dst, max, is_id, err,
	    errlen);
}

/* A JSON-text hash field parsed (absent: def); NULL with err on error. */
static json_t *
plan_f_json(const struct plan_fields *f, const char *name, const char *def,
    char *err, size_t errlen)
{
	const char *s = plan_field_get(f, name);
	json_error_t je;
	json_t *v;

	v = json_loads(s != NULL ? s : def, JSON_REJECT_DUPLICATES, &je);
	if (v == NULL)
		util_fail(err, errlen, "field \"%s\" is not valid JSON: %s",
		    name, je.text);
	return v;
}

/* The kind and comma-separated segments fields; 0 or -1 with err. */
static int
plan_f_segments(struct plan *p, const struct plan_fields *f, char *err,
    size_t errlen)
{
	const char *kind = plan_field_get(f, "kind");
	const char *s = plan_field_get(f, "segments"), *comma;
	int custom;

	if (kind == NULL || (strcmp(kind, "custom") != 0 &&
	    strcmp(kind, "segment") != 0))
		return util_fail(err, errlen, "field \"kind\" must be "
		    "\"custom\" or \"segment\"");
	custom = strcmp(kind, "custom") == 0;
	while (s != NULL && *s != '\0') {
		comma = strchr(s, ',');
		if (plan_add_segment(p, s, comma != NULL ? (size_t)(comma - s) :
		    strlen(s), err, errlen) == -1)
			return -1;
		s = comma != NULL ? comma + 1 : NULL;
	}
	if (custom != (p->segments == 0))
		return util_fail(err, errlen, "field \"segments\" must be %s "
		    "for a %s plan", custom ? "empty" : "given", kind);
	return 0;
}

/* The products, exclude and product_ranges fields; 0 or -1 with err. */
static int
plan_f_members(struct plan *p, const struct plan_fields *f, char *err,
    size_t errlen)
{
	json_t *prod, *ex = NULL, *ranges = NULL;
	int rc = -1;

	if ((prod = plan_f_json(f, "products", "[]", err, errlen)) == NULL ||
	    (ex = plan_f_json(f, "exclude", "[]", err, errlen)) == NULL ||
	    (ranges = plan_f_json(f, "product_ranges", "{}", err,
	    errlen)) == NULL)
		goto out;
	if (plan_read_ids(prod, "products", p->segments ? 0 : 1,
	    p->segments ? SIZE_MAX : PLAN_MAX_PRODUCTS, &p->products,
	    &p->nproducts, &p->index, err, errlen) == -1 ||
	    plan_read_ids(ex, "exclude", 0, PLAN_MAX_PRODUCTS, &p->exclude,
	    &p->nexclude, &p->xindex, err, errlen) == -1 ||
	    plan_read_ranges(p, ranges, 0, err, errlen) == -1)
		goto out;
	rc = 0;
out:
	json_decref(prod);
	json_decref(ex);
	json_decref(ranges);
	return rc;
}

/* days, the discount range, roi_target and budget; 0 or -1 with err. */
static int
plan_f_terms(struct plan *p, const struct plan_fields *f, char *err,
    size_t errlen)
{
	const char *roi = plan_field_get(f, "roi_target");
	int64_t days, lo, hi;
	char *end;

	if (plan_f_int(f, "days", PLAN_DAYS_MIN, PLAN_DAYS_MAX, &days, err,
	    errlen) == -1 ||
	    plan_f_int(f, "discount_min_bps", 1, PLAN_BPS_MAX, &lo, err,
	    errlen) == -1 ||
	    plan_f_int(f, "discount_max_bps", 1, PLAN_BPS_MAX, &hi, err,
	    errlen) == -1 ||
	    plan_f_opt_int(f, "budget", -1, &p->budget, err, errlen) == -1)
		return -1;
	if (lo > hi)
		return util_fail(err, errlen, "\"discount_min_bps\" must not "
		    "exceed \"discount_max_bps\"");
	p->days = (int)days;
	p->min_bps = (int32_t)lo;
	p->max_bps = (int32_t)hi;
	if (roi == NULL || *roi == '\0')
		return util_fail(err, errlen, "field \"roi_target\" is "
		    "required");
	p->roi_target = strtod(roi, &end);
	if (*end != '\0' || !(p->roi_target >= PLAN_ROI_MIN &&
	    p->roi_target <= PLAN_ROI_MAX))
		return util_fail(err, errlen, "field \"roi_target\" must be "
		    "from 1 to 100");
	return 0;
}

/* status, the times and end_reason; 0 or -1 with err. */
static int
plan_f_status(struct plan *p, const struct plan_fields *f, char *err,
    size_t errlen)
{
	const char *st = plan_field_get(f, "status");
	const char *why = plan_field_get(f, "end_reason");

	if (st == NULL || (strcmp(st, "active") != 0 &&
	    strcmp(st, "ended") != 0))
		return util_fail(err, errlen, "field \"status\" must be "
		    "\"active\" or \"ended\"");
	p->status = strcmp(st, "ended") == 0 ? PLAN_ENDED : PLAN_ACTIVE;
	if (plan_f_int(f, "start", 1, PLAN_TIME_MAX, &p->start_ms, err,
	    errlen) == -1 ||
	    plan_f_int(f, "end", 1, PLAN_TIME_MAX, &p->end_ms, err,
	    errlen) == -1 ||
	    plan_f_int(f, "created_at", 1, PLAN_TIME_MAX, &p->created_ms, err,
	    errlen) == -1 ||
	    plan_f_opt_int(f, "ended_at", 0, &p->ended_ms, err, errlen) == -1)
		return -1;
	if (p->end_ms <= p->start_ms)
		return util_fail(err, errlen, "field \"end\" must be after "
		    "\"start\"");
	if ((p->status == PLAN_ENDED) != (p->ended_ms > 0))
		return util_fail(err, errlen, "field \"ended_at\" must be set "
		    "exactly when \"status\" is \"ended\"");
	if (why == NULL || p->status != PLAN_ENDED)
		why = "";
	if (strlen(why) >= sizeof(p->end_reason))
		return util_fail(err, errlen, "field \"end_reason\" must be at "
		    "most %zu bytes", sizeof(p->end_reason) - 1);
	memcpy(p->end_reason, why, strlen(why) + 1);
	return 0;
}

/* Rebuild a plan from its hash fields. */
int
plan_from_fields(struct plan *p, const char *const *names,
    const char *const *values, size_t n, char *err, size_t errlen)
{
	struct plan_fields f = { names, values, n };

	plan_blank(p);
	if (plan_f_text(&f, "plan_id", p->plan_id, sizeof(p->plan_id), 1, err,
	    errlen) == -1 ||
	    plan_f_text(&f, "name", p->name, sizeof(p->name), 0, err,
	    errlen) == -1 ||
	    plan_f_text(&f, "shop_id", p->shop_id, sizeof(p->shop_id), 1, err,
	    errlen) == -1 ||
	    plan_f_segments(p, &f, err, errlen) == -1 ||
	    plan_f_members(p, &f, err, errlen) == -1 ||
	    plan_f_terms(p, &f, err, errlen) == -1 ||
	    plan_f_status(p, &f, err, errlen) == -1) {
		plan_release(p);
		return -1;
	}
	return 0;
}

/* Replace a segment plan's enrolled members. */
int
plan_set_products(struct plan *p, const char *const *ids, size_t n,
    char *err, size_t errlen)
{
	char (*arr)[EVENT_ID_MAX] = NULL;
	struct strmap m;

	if (p->segments == 0)
		return util_fail(err, errlen, "plan \"%s\" is not a segment "
		    "plan", p->plan_id);
	strmap_init(&m);
	if (n > 0 && (arr = calloc(n, EVENT_ID_MAX)) == NULL)
		return util_fail(err, errlen, "out of memory");
	for (size_t i = 0; i < n; i++)
		if (plan_add_id(arr, i, &m, ids[i], ids[i] != NULL ?
		    strlen(ids[i]) : 0, "products", err, errlen) == -1) {
			strmap_release(&m);
			free(arr);
			return -1;
		}
	free(p->products);
	strmap_release(&p->index);
	p->products = arr;
	p->nproducts = n;
	p->index = m;
	return 0;
}

/* Nonzero if the plan is active at event time ts. */
int
plan_is_active(const struct plan *p, int64_t ts)
{
	return p->status == PLAN_ACTIVE && p->start_ms <= ts && ts < p->end_ms;
}

/* Nonzero if product_id is listed and not excluded. */
int
plan_has_product(const struct plan *p, const char *product_id)
{
	return strmap_get(&p->index, product_id) != NULL &&
	    strmap_get(&p->xindex, product_id) == NULL;
}

/* The discount range of a product, per-product range first. */
void
plan_range_for(const struct plan *p, const char *product_id,
    int32_t *min_bps, int32_t *max_bps)
{
	const struct plan_range *r = strmap_get(&p->rindex, product_id);

	*min_bps = r != NULL ? r->min_bps : p->min_bps;
	*max_bps = r != NULL ? r->max_bps : p->max_bps;
}

/* ---- budget reservations across a restart ------------------------------ */

/* Append to buf what snprintf would; the running length. */
static size_t
plan_resv_put(char *buf, size_t len, size_t at, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(at < len ? buf + at : NULL, at < len ? len - at : 0,
	    fmt, ap);
	va_end(ap);
	return n > 0 ? at + (size_t)n : at;
}

/* The reservations line (format in plan.h). */
size_t
plan_resv_format(const struct plan_runtime *rt, char *buf, size_t len)
{
	size_t at = plan_resv_put(buf, len, 0, "1 %" PRId64 " %" PRId64,
	    rt->resv_upto, rt->overrun);

	for (int64_t t = rt->resv_upto + 1; t <= rt->resv_upto +
	    PLAN_RESV_SLOTS; t++) {
		const struct plan_resv *e = &rt->resv[t % PLAN_RESV_SLOTS];

		if (e->slot == t && (e->worst != 0 || e->exp != 0))
			at = plan_resv_put(buf, len, at, " %" PRId64 ":%"
			    PRId64 ":%.17g", e->slot, e->worst, e->exp);
	}
	if (len > 0 && at >= len)
		buf[len - 1] = '\0';
	return at;
}

/* Read an int64 at *s ending at a byte stop (or the line's end if stop
 * is a space); advance past stop. */
static int
plan_resv_i64(const char **s, int stop, int64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoll(*s, &end, 10);
	if (end == *s || errno != 0 ||
	    (*end != stop && !(stop == ' ' && *end == '\0')))
		return -1;
	*s = *end == '\0' ? end : end + 1;
	return 0;
}

/* Read one " <slot>:<worst>:<exp>" into a table of slots. */
static int
plan_resv_slot(const char **s, struct plan_resv *tab, int64_t upto)
{
	struct plan_resv e;
	struct plan_resv *d;
	char *end;

	if (plan_resv_i64(s, ':', &e.slot) == -1 ||
	    plan_resv_i64(s, ':', &e.worst) == -1)
		return -1;
	errno = 0;
	e.exp = strtod(*s, &end);
	if (end == *s || errno != 0 || (*end != ' ' && *end != '\0') ||
	    !isfinite(e.exp) || e.exp < 0 || e.worst < 0 ||
	    e.slot <= upto || e.slot > upto + PLAN_RESV_SLOTS)
		return -1;
	*s = end;
	d = &tab[e.slot % PLAN_RESV_SLOTS];
	if (d->slot != 0)
		return -1;      /* two entries for one slot */
	*d = e;
	return 0;
}

/* Restore a reservations line (plan.h). */
int
plan_resv_parse(struct plan_runtime *rt, const char *s, char *reason,
    size_t reasonlen)
{
	struct plan_resv tab[PLAN_RESV_SLOTS];
	int64_t upto, overrun, worst = 0;
	double exp = 0;
	const char *p = s;

	memset(tab, 0, sizeof(tab));
	if (strncmp(p, "1 ", 2) != 0)
		return util_fail(reason, reasonlen,
		    "unknown reservations format");
	p += 2;
	if (plan_resv_i64(&p, ' ', &upto) == -1 || upto < 0 ||
	    plan_resv_i64(&p, ' ', &overrun) == -1 || overrun < 0)
		return util_fail(reason, reasonlen, "bad reservations header");
	while (*p != '\0') {
		const char *at = p;

		if (plan_resv_slot(&p, tab, upto) == -1)
			return util_fail(reason, reasonlen, "bad reservation "
			    "at byte %zu", (size_t)(at - s));
		if (*p == ' ')
			p++;
	}
	for (size_t i = 0; i < PLAN_RESV_SLOTS; i++) {
		worst += tab[i].worst;
		exp += tab[i].exp;
	}
	memcpy(rt->resv, tab, sizeof(tab));
	rt->resv_upto = upto;
	rt->resv_worst = worst;
	rt->resv_exp = exp;
	rt->overrun = overrun;
	return 0;
}
