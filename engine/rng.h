/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rng.h - deterministic random numbers for the engine: xoshiro256** seeded
 * through splitmix64, with uniform, normal, gamma and beta draws.
 *
 * Pure: the state is the caller's; the same seed gives the same draws on
 * every machine, which is what lets a replayed event make the same decision.
 */
#ifndef SP_RNG_H
#define SP_RNG_H

#include <stdint.h>

struct rng {
	uint64_t s[4];
};

/* Seed from one 64-bit value. */
void rng_seed(struct rng *r, uint64_t seed);

/* Next raw 64-bit value. */
uint64_t rng_next(struct rng *r);

/* Uniform in [0, 1). */
double rng_uniform(struct rng *r);

/* Standard normal. */
double rng_normal(struct rng *r);

/* Gamma(shape, 1); shape > 0. */
double rng_gamma(struct rng *r, double shape);

/* Beta(a, b); a, b > 0. */
double rng_beta(struct rng *r, double a, double b);

/* 64-bit FNV-1a of a byte string, for stable hashing of ids. */
uint64_t rng_hash(const void *data, uint64_t len, uint64_t seed);

/* rng_hash() of a NUL-terminated string, without a strlen() first. */
uint64_t rng_hash_str(const char *s, uint64_t seed);

/* splitmix64 finaliser: mixes one value into a well-spread one. */
uint64_t rng_mix(uint64_t x);

#endif
