/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_rng.c - unit tests of engine/rng.c: determinism and pinned values
 * (a replayed event must draw the same numbers on every machine), and the
 * moments of the uniform, normal, gamma and beta draws.  The statistical
 * tolerances are several standard errors wide, with a fixed seed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>

#include <cmocka.h>

#include "rng.h"

#define DRAWS 200000

/* The same seed gives the same sequence; another seed another one. */
static void
test_determinism(void **state)
{
	struct rng a, b, c;
	int same = 0;

	(void)state;
	rng_seed(&a, 12345);
	rng_seed(&b, 12345);
	rng_seed(&c, 12346);
	for (int i = 0; i < 10000; i++) {
		uint64_t x = rng_next(&a);

		assert_true(x == rng_next(&b));
		same += x == rng_next(&c);
	}
	assert_int_equal(same, 0);
	rng_seed(&a, 7);
	rng_seed(&b, 7);
	for (int i = 0; i < 1000; i++)
		assert_true(rng_beta(&a, 2.5, 0.7) == rng_beta(&b, 2.5, 0.7));
}

/* Pinned outputs: any change to the generators shows here. */
static void
test_pinned_values(void **state)
{
	struct rng r;

	(void)state;
	assert_true(rng_hash("abc", 3, 0) == 0xe71fa2190541574bULL);
	assert_true(rng_hash("abc", 3, 7) == 0xdcc36918fee83446ULL);
	assert_true(rng_hash("", 0, 0) == 0xcbf29ce484222325ULL);
	assert_true(rng_hash("abd", 3, 0) != rng_hash("abc", 3, 0));
	assert_true(rng_hash_str("abc", 0) == 0xe71fa2190541574bULL);
	assert_true(rng_hash_str("abc", 7) == 0xdcc36918fee83446ULL);
	assert_true(rng_hash_str("", 0) == 0xcbf29ce484222325ULL);
	assert_true(rng_mix(0) == 0xe220a8397b1dcdafULL);
	rng_seed(&r, 42);
	assert_true(rng_next(&r) == 0x5c8961e1f2055d33ULL);
	assert_true(rng_next(&r) == 0xe182e8e848466886ULL);
	assert_true(rng_next(&r) == 0x9f7313650e290a18ULL);
}

/* A million uniforms lie in [0, 1) with mean 1/2 and variance 1/12. */
static void
test_uniform(void **state)
{
	double sum = 0, sum2 = 0, mean, var;
	int low = 0;
	struct rng r;

	(void)state;
	rng_seed(&r, 1);
	for (int i = 0; i < 1000000; i++) {
		double u = rng_uniform(&r);

		assert_true(u >= 0.0 && u < 1.0);
		low += u < 0.1;
		sum += u;
		sum2 += u * u;
	}
	mean = sum / 1e6;
	var = sum2 / 1e6 - mean * mean;
	assert_true(fabs(mean - 0.5) < 0.005);
	assert_true(fabs(var - 1.0 / 12.0) < 0.002);
	assert_true(low > 98000 && low < 102000);
}

/* Standard normal: mean 0, variance 1. */
static void
test_normal(void **state)
{
	double sum = 0, sum2 = 0, mean;
	struct rng r;

	(void)state;
	rng_seed(&r, 2);
	for (int i = 0; i < DRAWS; i++) {
		double x = rng_normal(&r);

		sum += x;
		sum2 += x * x;
	}
	mean = sum / DRAWS;
	assert_true(fabs(mean) < 0.02);
	assert_true(fabs(sum2 / DRAWS - mean * mean - 1.0) < 0.03);
}

/* Gamma(k, 1): positive, mean k and variance k. */
static void
test_gamma(void **state)
{
	const double shapes[] = { 0.3, 1.0, 5.0, 50.0 };
	struct rng r;

	(void)state;
	rng_seed(&r, 3);
	for (size_t s = 0; s < sizeof(shapes) / sizeof(*shapes); s++) {
		double k = shapes[s], sum = 0, sum2 = 0, mean, var;

		for (int i = 0; i < DRAWS; i++) {
			double g = rng_gamma(&r, k);

			assert_true(g >= 0.0 && isfinite(g));
			sum += g;
			sum2 += g * g;
		}
		mean = sum / DRAWS;
		var = sum2 / DRAWS - mean * mean;
		if (fabs(mean - k) > 6 * sqrt(k / DRAWS))
			fail_msg("gamma(%g): mean %g", k, mean);
		if (fabs(var - k) > 0.1 * k)
			fail_msg("gamma(%g): variance %g", k, var);
	}
}

/* Beta(a, b): in [0, 1] with mean a / (a + b). */
static void
test_beta(void **state)
{
	const double pairs[][2] = {
		{ 1, 1 }, { 2, 5 }, { 0.5, 0.5 }, { 30, 70 }, { 0.2, 3 },
		{ 1, 200 },
	};
	struct rng r;

	(void)state;
	rng_seed(&r, 4);
	for (size_t p = 0; p < sizeof(pairs) / sizeof(*pairs); p++) {
		double a = pairs[p][0], b = pairs[p][1], sum = 0, want;

		for (int i = 0; i < DRAWS; i++) {
			double x = rng_beta(&r, a, b);

			assert_true(x >= 0.0 && x <= 1.0);
			sum += x;
		}
		want = a / (a + b);
		if (fabs(sum / DRAWS - want) > 6 * sqrt(want * (1 - want) /
		    DRAWS))
			fail_msg("beta(%g, %g): mean %g, want %g", a, b,
			    sum / DRAWS, want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_pinned_values),
		cmocka_unit_test(test_uniform),
		cmocka_unit_test(test_normal),
		cmocka_unit_test(test_gamma),
		cmocka_unit_test(test_beta),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
