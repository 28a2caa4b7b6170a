/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_strmap.c - unit tests of engine/strmap.c: the basic operations,
 * growth to 100,000 keys, tombstone reuse, and a 200,000-step random
 * sequence checked against a naive array model.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rng.h"
#include "strmap.h"

#define V(n) ((void *)(uintptr_t)(n))

/* Put, get, replace, delete and iterate on a few keys. */
static void
test_basic(void **state)
{
	struct strmap m;
	char key[8] = "a";
	const char *k;
	void *v;
	size_t pos = 0;
	int seen = 0;

	(void)state;
	strmap_init(&m);
	assert_null(strmap_get(&m, "a"));
	assert_null(strmap_del(&m, "a"));
	assert_int_equal(strmap_next(&m, &pos, &k, &v), 0);
	assert_int_equal(strmap_put(&m, key, V(1)), 0);
	key[0] = 'z';           /* the map keeps its own copy */
	assert_ptr_equal(strmap_get(&m, "a"), V(1));
	assert_null(strmap_get(&m, "z"));
	assert_int_equal(strmap_put(&m, "b", V(2)), 0);
	assert_int_equal(strmap_put(&m, "", V(3)), 0);
	assert_int_equal(strmap_put(&m, "a", V(4)), 0);
	assert_int_equal(m.count, 3);
	assert_ptr_equal(strmap_get(&m, "a"), V(4));
	assert_ptr_equal(strmap_get(&m, ""), V(3));
	assert_ptr_equal(strmap_del(&m, "b"), V(2));
	assert_null(strmap_del(&m, "b"));
	assert_null(strmap_get(&m, "b"));
	assert_int_equal(m.count, 2);
	pos = 0;
	while (strmap_next(&m, &pos, &k, &v)) {
		if (strcmp(k, "a") == 0)
			assert_ptr_equal(v, V(4));
		else if (strcmp(k, "") == 0)
			assert_ptr_equal(v, V(3));
		else
			fail_msg("unexpected key '%s'", k);
		seen++;
	}
	assert_int_equal(seen, 2);
	strmap_release(&m);
	assert_int_equal(m.cap, 0);
	assert_null(strmap_get(&m, "a"));
}

/* 100,000 keys: all found, capacity a power of two, load under 70%. */
static void
test_growth(void **state)
{
	struct strmap m;
	char key[32];
	const char *k;
	void *v;
	size_t pos = 0, n = 0;
	uintptr_t sum = 0;

	(void)state;
	strmap_init(&m);
	for (uintptr_t i = 1; i <= 100000; i++) {
		snprintf(key, sizeof(key), "key-%lu", (unsigned long)i);
		assert_int_equal(strmap_put(&m, key, V(i)), 0);
	}
	assert_int_equal(m.count, 100000);
	assert_int_equal(m.cap & (m.cap - 1), 0);
	assert_true(m.used * 10 < m.cap * 7);
	for (uintptr_t i = 1; i <= 100000; i++) {
		snprintf(key, sizeof(key), "key-%lu", (unsigned long)i);
		assert_ptr_equal(strmap_get(&m, key), V(i));
	}
	assert_null(strmap_get(&m, "key-0"));
	assert_null(strmap_get(&m, "key-100001"));
	while (strmap_next(&m, &pos, &k, &v)) {
		n++;
		sum += (uintptr_t)v;
	}
	assert_int_equal(n, 100000);
	assert_true(sum == (uintptr_t)100000 * 100001 / 2);
	strmap_release(&m);
}

/* Deleted slots are reused, and churn does not grow the table. */
static void
test_tombstones(void **state)
{
	struct strmap m;
	char key[32];
	size_t used, cap;

	(void)state;
	strmap_init(&m);
	assert_int_equal(strmap_put(&m, "a", V(1)), 0);
	assert_int_equal(strmap_put(&m, "b", V(2)), 0);
	assert_int_equal(strmap_put(&m, "c", V(3)), 0);
	assert_ptr_equal(strmap_del(&m, "b"), V(2));
	used = m.used;
	assert_int_equal(m.count, 2);
	assert_int_equal(strmap_put(&m, "b", V(5)), 0);
	assert_int_equal(m.used, used);          /* the tombstone was reused */
	assert_int_equal(m.count, 3);
	assert_ptr_equal(strmap_get(&m, "b"), V(5));
	cap = m.cap;
	for (unsigned long i = 0; i < 1000000; i++) {
		snprintf(key, sizeof(key), "churn-%lu", i);
		assert_int_equal(strmap_put(&m, key, V(i + 1)), 0);
		assert_ptr_equal(strmap_del(&m, key), V(i + 1));
	}
	assert_int_equal(m.count, 3);
	assert_int_equal(m.cap, cap);
	assert_ptr_equal(strmap_get(&m, "a"), V(1));
	assert_ptr_equal(strmap_get(&m, "b"), V(5));
	assert_ptr_equal(strmap_get(&m, "c"), V(3));
	strmap_release(&m);
}

#define MODEL_KEYS 5000
#define MODEL_OPS 200000

/* The map agrees with its model: every key's value, and the iteration. */
static void
check_model(const struct strmap *m, const uintptr_t *model)
{
	const char *k;
	void *v;
	size_t pos = 0, live = 0, n = 0;
	char *end;

	for (size_t i = 0; i < MODEL_KEYS; i++)
		live += model[i] != 0;
	assert_int_equal(m->count, live);
	while (strmap_next(m, &pos, &k, &v)) {
		unsigned long i = strtoul(k + 2, &end, 10);

		assert_true(*end == '\0' && i < MODEL_KEYS);
		assert_ptr_equal(v, V(model[i]));
		n++;
	}
	assert_int_equal(n, live);
}

/* 200,000 random puts, gets and deletes against an array model. */
static void
test_random_model(void **state)
{
	uintptr_t *model = calloc(MODEL_KEYS, sizeof(*model));
	struct strmap m;
	struct rng r;
	size_t live = 0;
	char key[32];

	(void)state;
	assert_non_null(model);
	strmap_init(&m);
	rng_seed(&r, 20240601);
	for (uintptr_t op = 1; op <= MODEL_OPS; op++) {
		size_t i = (size_t)(rng_next(&r) % MODEL_KEYS);
		unsigned kind = (unsigned)(rng_next(&r) % 10);

		snprintf(key, sizeof(key), "k-%zu", i);
		if (kind < 5) {
			assert_int_equal(strmap_put(&m, key, V(op)), 0);
			live += model[i] == 0;
			model[i] = op;
		} else if (kind < 8) {
			assert_ptr_equal(strmap_del(&m, key),
			    model[i] ? V(model[i]) : NULL);
			live -= model[i] != 0;
			model[i] = 0;
		} else
			assert_ptr_equal(strmap_get(&m, key),
			    model[i] ? V(model[i]) : NULL);
		assert_int_equal(m.count, live);
		if (op % 20000 == 0)
			check_model(&m, model);
	}
	check_model(&m, model);
	strmap_release(&m);
	free(model);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_tombstones),
		cmocka_unit_test(test_random_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
