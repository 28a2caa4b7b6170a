/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapshot.c - the T+1 figures of a plan's day: counter sums, ROI, GMV per
 * view, incremental GMV against the control group with a compound-Poisson
 * confidence interval, and the day object, Redis hash and Kafka message
 * they are shown as.  Definitions in docs/metrics.md.
 */
#include "snapshot.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNAPSHOT_Z95 1.959964
#define SNAPSHOT_CV_MAX 10.0
#define SNAPSHOT_NOFF ((size_t)-1)
#define SNAPSHOT_VALUE_MAX 32

const char *const snapshot_counter_names[SNAPSHOT_NCOUNTERS] = {
	"pv_t", "pv_c", "offers", "ord_t", "units_t", "gmv_t", "cost",
	"ord_c", "units_c", "gmv_c", "ord_o", "gmv_o"
};

#define SD(m) offsetof(struct snapshot_day, m)

/* Where each counter of snapshot_counter_names lives. */
static const size_t snapshot_counter_off[SNAPSHOT_NCOUNTERS] = {
	SD(pv_t), SD(pv_c), SD(offers), SD(ord_t), SD(units_t), SD(gmv_t),
	SD(cost), SD(ord_c), SD(units_c), SD(gmv_c), SD(ord_o), SD(gmv_o)
};

/* How a hash field is written. */
enum snapshot_kind {
	SF_I64,         /* integer */
	SF_MONEY,       /* integer, null when its flag is 0 */
	SF_R4,          /* double rounded to 4 decimals, null when flag is 0 */
	SF_F17          /* double, every digit */
};

/* One field of sp:daily:<plan>:<date>. */
struct snapshot_field {
	const char *name;
	enum snapshot_kind kind;
	size_t off;
	size_t has;             /* offset of the int flag, or SNAPSHOT_NOFF */
	int optional;           /* may be absent: added after release */
};

/* The numeric hash fields, in the order they are written. */
static const struct snapshot_field snapshot_fields[] = {
	{ "page_views", SF_I64, SD(pv_t), SNAPSHOT_NOFF },
	{ "offers", SF_I64, SD(offers), SNAPSHOT_NOFF },
	{ "orders", SF_I64, SD(ord_t), SNAPSHOT_NOFF },
	{ "units", SF_I64, SD(units_t), SNAPSHOT_NOFF },
	{ "gmv", SF_I64, SD(gmv_t), SNAPSHOT_NOFF },
	{ "promotion_cost", SF_I64, SD(cost), SNAPSHOT_NOFF },
	{ "roi", SF_R4, SD(roi), SD(has_roi) },
	{ "customers", SF_I64, SD(customers_t), SNAPSHOT_NOFF },
	{ "offer_orders", SF_I64, SD(ord_o), SNAPSHOT_NOFF },
	{ "offer_gmv", SF_I64, SD(gmv_o), SNAPSHOT_NOFF },
	{ "gmv_per_view", SF_R4, SD(gpv_t), SD(has_gpv_t) },
	{ "control_page_views", SF_I64, SD(pv_c), SNAPSHOT_NOFF },
	{ "control_orders", SF_I64, SD(ord_c), SNAPSHOT_NOFF },
	{ "control_units", SF_I64, SD(units_c), SNAPSHOT_NOFF },
	{ "control_gmv", SF_I64, SD(gmv_c), SNAPSHOT_NOFF },
	{ "control_customers", SF_I64, SD(customers_c), SNAPSHOT_NOFF },
	{ "control_gmv_per_view", SF_R4, SD(gpv_c), SD(has_gpv_c) },
	{ "incremental_gmv", SF_MONEY, SD(incr_gmv), SD(has_incr) },
	{ "incremental_gmv_lo", SF_MONEY, SD(incr_lo), SD(has_incr) },
	{ "incremental_gmv_hi", SF_MONEY, SD(incr_hi), SD(has_incr) },
	{ "incremental_roi", SF_R4, SD(incr_roi), SD(has_incr_roi) },
	{ "incremental_roi_lo", SF_R4, SD(incr_roi_lo), SD(has_incr_roi), 1 },
	{ "incremental_roi_hi", SF_R4, SD(incr_roi_hi), SD(has_incr_roi), 1 },
	{ "parts", SF_I64, SD(parts), SNAPSHOT_NOFF },
	{ "sq_t", SF_F17, SD(sq_t), SNAPSHOT_NOFF },
	{ "sq_c", SF_F17, SD(sq_c), SNAPSHOT_NOFF },
};
#define SNAPSHOT_NFIELDS (sizeof(snapshot_fields) / sizeof(snapshot_fields[0]))

/* The defaults documented in snapshot.h and docs/metrics.md. */
void
snapshot_params_default(struct snapshot_params *sp)
{
	sp->z = SNAPSHOT_Z95;
	sp->line_cv = 0.5;
}

/* Check the parameters; 0 or -1 with err. */
int
snapshot_params_check(const struct snapshot_params *sp, char *err,
    size_t errlen)
{
	if (!(sp->z > 0 && sp->z <= 10))
		return util_fail(err, errlen, "\"z\" must be above 0 and "
		    "at most 10");
	if (!(sp->line_cv >= 0 && sp->line_cv <= SNAPSHOT_CV_MAX))
		return util_fail(err, errlen, "\"line_cv\" must be from 0 "
		    "to %g", SNAPSHOT_CV_MAX);
	return 0;
}

/* Nonzero if s is a plausible "YYYY-MM-DD". */
int
snapshot_date_ok(const char *s)
{
	int y, m, d;
	char tail;

	if (s == NULL || strlen(s) != SNAPSHOT_DATE_MAX - 1 || s[4] != '-' ||
	    s[7] != '-')
		return 0;
	for (int i = 0; i < SNAPSHOT_DATE_MAX - 1; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return 0;
	if (sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
		return 0;
	return m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

/* Zero d and set its identity. */
int
snapshot_init(struct snapshot_day *d, const char *date, const char *plan_id,
    const char *product_id, char *err, size_t errlen)
{
	memset(d, 0, sizeof(*d));
	if (product_id == NULL)
		product_id = "";
	if (!snapshot_date_ok(date))
		return util_fail(err, errlen, "date \"%s\" is not "
		    "YYYY-MM-DD", date != NULL ? date : "");
	if (plan_id == NULL || plan_id[0] == '\0' ||
	    strlen(plan_id) >= sizeof(d->plan_id))
		return util_fail(err, errlen, "plan id \"%s\" must be 1 to "
		    "%zu bytes", plan_id != NULL ? plan_id : "",
		    sizeof(d->plan_id) - 1);
	if (strlen(product_id) >= sizeof(d->product_id))
		return util_fail(err, errlen, "product id \"%s\" is too "
		    "long", product_id);
	memcpy(d->date, date, SNAPSHOT_DATE_MAX);
	memcpy(d->plan_id, plan_id, strlen(plan_id) + 1);
	memcpy(d->product_id, product_id, strlen(product_id) + 1);
	return 0;
}

/* Parse a whole decimal integer; 0 or -1. */
static int
snapshot_parse_i64(const char *s, int64_t *v)
{
	char *end;
	long long x;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*v = x;
	return 0;
}

/* The int64 member at off in d. */
static int64_t *
snapshot_i64(struct snapshot_day *d, size_t off)
{
	return (int64_t *)(void *)((char *)d + off);
}

/* The const int64 member at off in d. */
static int64_t
snapshot_i64_get(const struct snapshot_day *d, size_t off)
{
	return *(const int64_t *)(const void *)((const char *)d + off);
}

/* Set one counter from its day hash field. */
int
snapshot_set_counter(struct snapshot_day *d, const char *name,
    const char *value, char *err, size_t errlen)
{
	for (size_t i = 0; i < SNAPSHOT_NCOUNTERS; i++) {
		if (strcmp(name, snapshot_counter_names[i]) != 0)
			continue;
		if (value == NULL) {
			*snapshot_i64(d, snapshot_counter_off[i]) = 0;
			return 0;
		}
		if (snapshot_parse_i64(value, snapshot_i64(d,
		    snapshot_counter_off[i])) == -1)
			return util_fail(err, errlen, "day counter \"%s\" "
			    "is not an integer: \"%s\"", name, value);
		return 0;
	}
	return 0;
}

/* gmv^2 / ord of one raw row of a group, 0 without sales. */
static double
snapshot_sq(int64_t gmv, int64_t ord)
{
	if (gmv <= 0 || ord <= 0)
		return 0;
	return (double)gmv * (double)gmv / (double)ord;
}

/* Add in's counters and spread to out. */
static void
snapshot_add(struct snapshot_day *out, const struct snapshot_day *in)
{
	for (size_t i = 0; i < SNAPSHOT_NCOUNTERS; i++)
		*snapshot_i64(out, snapshot_counter_off[i]) +=
		    snapshot_i64_get(in, snapshot_counter_off[i]);
	out->customers_t += in->customers_t;
	out->customers_c += in->customers_c;
	if (in->parts > 0) {
		out->parts += in->parts;
		out->sq_t += in->sq_t;
		out->sq_c += in->sq_c;
	} else {
		out->parts += 1;
		out->sq_t += snapshot_sq(in->gmv_t, in->ord_t);
		out->sq_c += snapshot_sq(in->gmv_c, in->ord_c);
	}
}

/* Sum rows into out, keeping out's identity. */
void
snapshot_sum(struct snapshot_day *out, const struct snapshot_day *in,
    size_t n)
{
	struct snapshot_day id;

	memcpy(id.date, out->date, sizeof(id.date));
	memcpy(id.plan_id, out->plan_id, sizeof(id.plan_id));
	memcpy(id.product_id, out->product_id, sizeof(id.product_id));
	memset(out, 0, sizeof(*out));
	memcpy(out->date, id.date, sizeof(id.date));
	memcpy(out->plan_id, id.plan_id, sizeof(id.plan_id));
	memcpy(out->product_id, id.product_id, sizeof(id.product_id));
	for (size_t i = 0; i < n; i++)
		snapshot_add(out, &in[i]);
}

/* x rounded to 4 decimals. */
static double
snapshot_r4(double x)
{
	return round(x * 1e4) / 1e4;
}

/* num / den rounded to 4 decimals into *v; *has 0 when den <= 0. */
static void
snapshot_ratio(int64_t num, int64_t den, double *v, int *has)
{
	*has = den > 0;
	*v = den > 0 ? snapshot_r4((double)num / (double)den) : 0;
}

/*
 * The estimated variance of one group's GMV: (1 + cv^2) * sq, or, when the
 * group sold nothing, that of one line at the other group's mean value.
 */
static double
snapshot_var(double sq, int64_t ord, int64_t gmv, int64_t other_ord,
    int64_t other_gmv, double cv)
{
	double k = 1 + cv * cv, m;

	if (ord > 0 && gmv > 0)
		return k * sq;
	if (other_ord <= 0 || other_gmv <= 0)
		return 0;
	m = (double)other_gmv / (double)other_ord;
	return k * m * m;
}

/* The incremental ROI interval: the GMV interval over the (counted) cost. */
static void
snapshot_roi_ci(struct snapshot_day *d)
{
	int has;

	snapshot_ratio(d->incr_lo, d->cost, &d->incr_roi_lo, &has);
	snapshot_ratio(d->incr_hi, d->cost, &d->incr_roi_hi, &has);
	if (!d->has_incr_roi)
		d->incr_roi_lo = d->incr_roi_hi = 0;
}

/* Incremental GMV, its interval and incremental ROI. */
static void
snapshot_incremental(struct snapshot_day *d, const struct snapshot_params *sp)
{
	double r, incr, vt, vc, half;

	if (d->pv_t <= 0 || d->pv_c <= 0)
		return;
	r = (double)d->pv_t / (double)d->pv_c;
	incr = (double)d->gmv_t - (double)d->gmv_c * r;
	vt = snapshot_var(d->sq_t, d->ord_t, d->gmv_t, d->ord_c, d->gmv_c,
	    sp->line_cv);
	vc = snapshot_var(d->sq_c, d->ord_c, d->gmv_c, d->ord_t, d->gmv_t,
	    sp->line_cv);
	half = sp->z * sqrt(vt + r * r * vc);
	d->has_incr = 1;
	d->incr_gmv = llround(incr);
	d->incr_lo = llround(incr - half);
	d->incr_hi = llround(incr + half);
	snapshot_ratio(d->incr_gmv, d->cost, &d->incr_roi, &d->has_incr_roi);
	snapshot_roi_ci(d);
}

/* Fill the derived figures of d. */
void
snapshot_derive(struct snapshot_day *d, const struct snapshot_params *sp)
{
	if (d->parts == 0) {
		d->sq_t = snapshot_sq(d->gmv_t, d->ord_t);
		d->sq_c = snapshot_sq(d->gmv_c, d->ord_c);
	}
	snapshot_ratio(d->gmv_t, d->cost, &d->roi, &d->has_roi);
	snapshot_ratio(d->gmv_t, d->pv_t, &d->gpv_t, &d->has_gpv_t);
	snapshot_ratio(d->gmv_c, d->pv_c, &d->gpv_c, &d->has_gpv_c);
	d->has_incr = d->has_incr_roi = 0;
	d->incr_gmv = d->incr_lo = d->incr_hi = 0;
	d->incr_roi = d->incr_roi_lo = d->incr_roi_hi = 0;
	snapshot_incremental(d, sp);
}

/* A nullable real as JSON. */
static json_t *
snapshot_json_real(int has, double v)
{
	return has ? json_real(v) : json_null();
}

/* The control group's object. */
static json_t *
snapshot_json_control(const struct snapshot_day *d)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:o}",
	    "page_views", (json_int_t)d->pv_c,
	    "orders", (json_int_t)d->ord_c,
	    "units", (json_int_t)d->units_c,
	    "gmv", (json_int_t)d->gmv_c,
	    "customers", (json_int_t)d->customers_c,
	    "gmv_per_view", snapshot_json_real(d->has_gpv_c, d->gpv_c));
}

/* The incremental figures into o. */
static void
snapshot_json_incr(json_t *o, const struct snapshot_day *d)
{
	json_object_set_new(o, "incremental_gmv", d->has_incr ?
	    json_integer(d->incr_gmv) : json_null());
	json_object_set_new(o, "incremental_gmv_ci", d->has_incr ?
	    json_pack("[I, I]", (json_int_t)d->incr_lo,
	    (json_int_t)d->incr_hi) : json_null());
	json_object_set_new(o, "incremental_roi",
	    snapshot_json_real(d->has_incr_roi, d->incr_roi));
	json_object_set_new(o, "incremental_roi_ci", d->has_incr_roi ?
	    json_pack("[f, f]", d->incr_roi_lo, d->incr_roi_hi) :
	    json_null());
}

/* The admin API's day object. */
json_t *
snapshot_to_json(const struct snapshot_day *d)
{
	json_t *o = json_pack("{s:s}", "date", d->date);

	if (o == NULL)
		return NULL;
	if (d->product_id[0] != '\0')
		json_object_set_new(o, "product_id",
		    json_string(d->product_id));
	json_object_update_new(o, json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:o, s:I, s:I, s:I, s:o}",
	    "page_views", (json_int_t)d->pv_t,
	    "offers", (json_int_t)d->offers,
	    "orders", (json_int_t)d->ord_t,
	    "units", (json_int_t)d->units_t,
	    "gmv", (json_int_t)d->gmv_t,
	    "promotion_cost", (json_int_t)d->cost,
	    "roi", snapshot_json_real(d->has_roi, d->roi),
	    "customers", (json_int_t)d->customers_t,
	    "offer_orders", (json_int_t)d->ord_o,
	    "offer_gmv", (json_int_t)d->gmv_o,
	    "gmv_per_view", snapshot_json_real(d->has_gpv_t, d->gpv_t)));
	json_object_set_new(o, "control", snapshot_json_control(d));
	snapshot_json_incr(o, d);
	return o;
}

/* The daily_metrics message text. */
char *
snapshot_kafka_payload(const struct snapshot_day *d)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "type", "daily_metrics",
	    "date", d->date, "plan_id", d->plan_id);
	json_t *day = snapshot_to_json(d);
	char *s = NULL;

	if (o != NULL && day != NULL) {
		json_object_del(day, "date");
		json_object_update(o, day);
		s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15));
	}
	json_decref(o);
	json_decref(day);
	return s;
}

/* Format one numeric field of d into buf. */
static void
snapshot_format(const struct snapshot_day *d, const struct snapshot_field *f,
    char *buf, size_t len)
{
	const char *p = (const char *)d + f->off;

	if (f->has != SNAPSHOT_NOFF &&
	    *(const int *)(const void *)((const char *)d + f->has) == 0)
		buf[0] = '\0';
	else if (f->kind == SF_I64 || f->kind == SF_MONEY)
		snprintf(buf, len, "%" PRId64,
		    *(const int64_t *)(const void *)p);
	else if (f->kind == SF_R4)
		snprintf(buf, len, "%.4f", *(const double *)(const void *)p);
	else
		snprintf(buf, len, "%.17g", *(const double *)(const void *)p);
}

/* Append one field (copies of name and value); 0 or -1. */
static int
snapshot_field_add(char **nm, char **val, int *n, const char *name,
    const char *value)
{
	nm[*n] = strdup(name);
	val[*n] = strdup(value);
	if (nm[*n] == NULL || val[*n] == NULL) {
		free(nm[*n]);
		free(val[*n]);
		return -1;
	}
	(*n)++;
	return 0;
}

/* The hash fields of d. */
int
snapshot_to_fields(const struct snapshot_day *d, char ***names,
    char ***values)
{
	size_t cap = SNAPSHOT_NFIELDS + 3;
	char **nm = calloc(cap, sizeof(*nm)), **val = calloc(cap, sizeof(*val));
	char buf[SNAPSHOT_VALUE_MAX];
	int n = 0, rc = 0;

	if (nm == NULL || val == NULL)
		rc = -1;
	if (rc == 0)
		rc = snapshot_field_add(nm, val, &n, "date", d->date) |
		    snapshot_field_add(nm, val, &n, "plan_id", d->plan_id);
	if (rc == 0 && d->product_id[0] != '\0')
		rc = snapshot_field_add(nm, val, &n, "product_id",
		    d->product_id);
	for (size_t i = 0; rc == 0 && i < SNAPSHOT_NFIELDS; i++) {
		snapshot_format(d, &snapshot_fields[i], buf, sizeof(buf));
		rc = snapshot_field_add(nm, val, &n, snapshot_fields[i].name,
		    buf);
	}
	if (rc == -1) {
		snapshot_fields_release(nm, val, n);
		return -1;
	}
	*names = nm;
	*values = val;
	return n;
}

/* Free what snapshot_to_fields() returned. */
void
snapshot_fields_release(char **names, char **values, int n)
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

/* The value of field name, or NULL. */
static const char *
snapshot_lookup(const char *const *names, const char *const *values,
    size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return values[i];
	return NULL;
}

/* Parse a whole floating point number; 0 or -1. */
static int
snapshot_parse_double(const char *s, double *v)
{
	char *end;

	if (*s == '\0')
		return -1;
	errno = 0;
	*v = strtod(s, &end);
	return errno != 0 || *end != '\0' || !isfinite(*v) ? -1 : 0;
}

/* Parse one numeric field's value into d; 0 or -1. */
static int
snapshot_parse(struct snapshot_day *d, const struct snapshot_field *f,
    const char *s)
{
	char *p = (char *)d + f->off;

	if (f->has != SNAPSHOT_NOFF) {
		int *has = (int *)(void *)((char *)d + f->has);

		if (*s == '\0') {
			*has = 0;
			return 0;
		}
		*has = 1;
	}
	if (f->kind == SF_I64 || f->kind == SF_MONEY)
		return snapshot_parse_i64(s, (int64_t *)(void *)p);
	return snapshot_parse_double(s, (double *)(void *)p);
}

/* Rebuild d from hash fields. */
int
snapshot_from_fields(struct snapshot_day *d, const char *const *names,
    const char *const *values, size_t n, char *err, size_t errlen)
{
	const char *date = snapshot_lookup(names, values, n, "date");
	const char *plan = snapshot_lookup(names, values, n, "plan_id");
	const char *prod = snapshot_lookup(names, values, n, "product_id");

	if (snapshot_init(d, date, plan, prod, err, errlen) == -1)
		return -1;
	for (size_t i = 0; i < SNAPSHOT_NFIELDS; i++) {
		const struct snapshot_field *f = &snapshot_fields[i];
		const char *v = snapshot_lookup(names, values, n, f->name);

		if (v == NULL && f->optional)
			continue;
		if (v == NULL)
			return util_fail(err, errlen, "snapshot field "
			    "\"%s\" is missing", f->name);
		if (snapshot_parse(d, f, v) == -1)
			return util_fail(err, errlen, "snapshot field "
			    "\"%s\" has a bad value \"%s\"", f->name, v);
	}
	if (snapshot_lookup(names, values, n, "incremental_roi_lo") == NULL ||
	    snapshot_lookup(names, values, n, "incremental_roi_hi") == NULL)
		snapshot_roi_ci(d);
	return 0;
}
