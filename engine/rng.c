/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rng.c - xoshiro256** (Blackman and Vigna) with the draws the learner
 * needs.  Gamma uses Marsaglia and Tsang's method; Beta is a ratio of gammas.
 */
#include "rng.h"

#include <math.h>

/* splitmix64 step, also used as a general mixer. */
uint64_t
rng_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Seed all four words from one value. */
void
rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++) {
		seed = rng_mix(seed);
		r->s[i] = seed;
	}
	if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
		r->s[0] = 1;
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256** next. */
uint64_t
rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* 53 random bits as a double in [0, 1). */
double
rng_uniform(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Box-Muller; one of the pair is dropped to keep the state simple. */
double
rng_normal(struct rng *r)
{
	double u1, u2;

	do
		u1 = rng_uniform(r);
	while (u1 <= 0.0);
	u2 = rng_uniform(r);
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* Marsaglia-Tsang for shape >= 1, boosted for shape < 1. */
double
rng_gamma(struct rng *r, double shape)
{
	double d, c, x, v, u;

	if (shape < 1.0) {
		double g = rng_gamma(r, shape + 1.0);

		do
			u = rng_uniform(r);
		while (u <= 0.0);
		return g * pow(u, 1.0 / shape);
	}
	d = shape - 1.0 / 3.0;
	c = 1.0 / sqrt(9.0 * d);
	for (;;) {
		do {
			x = rng_normal(r);
			v = 1.0 + c * x;
		} while (v <= 0.0);
		v = v * v * v;
		u = rng_uniform(r);
		if (u < 1.0 - 0.0331 * x * x * x * x)
			return d * v;
		if (u > 0.0 && log(u) < 0.5 * x * x + d * (1.0 - v + log(v)))
			return d * v;
	}
}

/* Beta as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b). */
double
rng_beta(struct rng *r, double a, double b)
{
	double x = rng_gamma(r, a);
	double y = rng_gamma(r, b);

	if (x + y <= 0.0)
		return a / (a + b);
	return x / (x + y);
}

#define RNG_FNV_BASIS 0xcbf29ce484222325ULL
#define RNG_FNV_PRIME 0x100000001b3ULL

/* FNV-1a, 64 bit, with a seed folded into the offset basis. */
uint64_t
rng_hash(const void *data, uint64_t len, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t h = RNG_FNV_BASIS ^ seed;

	for (uint64_t i = 0; i < len; i++)
		h = (h ^ p[i]) * RNG_FNV_PRIME;
	return h;
}

/* rng_hash(s, strlen(s), seed) in one pass. */
uint64_t
rng_hash_str(const char *s, uint64_t seed)
{
	const unsigned char *p = (const unsigned char *)s;
	uint64_t h = RNG_FNV_BASIS ^ seed;

	for (; *p != '\0'; p++)
		h = (h ^ *p) * RNG_FNV_PRIME;
	return h;
}
