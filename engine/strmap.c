/* SPDX-License-Identifier: Apache-2.0 */
/*
 * strmap.c - open-addressing string map with tombstones; grows at 70% use.
 */
#include "strmap.h"
#include "rng.h"

#include <stdlib.h>
#include <string.h>

static char strmap_tomb;
#define STRMAP_TOMB (&strmap_tomb)

/* An empty map. */
void
strmap_init(struct strmap *m)
{
	memset(m, 0, sizeof(*m));
}

/* Free keys and slots. */
void
strmap_release(struct strmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key != NULL && m->slots[i].key != STRMAP_TOMB)
			free(m->slots[i].key);
	free(m->slots);
	strmap_init(m);
}

/* The key's hash. */
static size_t
strmap_hash(const char *key)
{
	return (size_t)rng_hash_str(key, 0);
}

/* The slot holding key (of hash h), or the first free slot on its probe
 * path. */
static struct strmap_slot *
strmap_find(const struct strmap *m, const char *key, size_t h,
    int for_insert)
{
	size_t mask = m->cap - 1, i = h & mask;
	struct strmap_slot *tomb = NULL;

	for (;;) {
		struct strmap_slot *s = &m->slots[i];

		if (s->key == NULL)
			return for_insert && tomb != NULL ? tomb :
			    (for_insert ? s : NULL);
		if (s->key == STRMAP_TOMB) {
			if (tomb == NULL)
				tomb = s;
		} else if (s->hash == h && strcmp(s->key, key) == 0)
			return s;
		i = (i + 1) & mask;
	}
}

/* Rehash into a table of newcap slots. */
static int
strmap_grow(struct strmap *m, size_t newcap)
{
	struct strmap old = *m;

	m->slots = calloc(newcap, sizeof(*m->slots));
	if (m->slots == NULL) {
		*m = old;
		return -1;
	}
	m->cap = newcap;
	m->count = m->used = 0;
	for (size_t i = 0; i < old.cap; i++) {
		struct strmap_slot *o = &old.slots[i];

		if (o->key == NULL || o->key == STRMAP_TOMB)
			continue;
		*strmap_find(m, o->key, o->hash, 1) = *o;
		m->count++;
		m->used++;
	}
	free(old.slots);
	return 0;
}

/* Value for key, or NULL. */
void *
strmap_get(const struct strmap *m, const char *key)
{
	struct strmap_slot *s;

	if (m->cap == 0)
		return NULL;
	s = strmap_find(m, key, strmap_hash(key), 0);
	return s != NULL ? s->value : NULL;
}

/* Insert or replace. */
int
strmap_put(struct strmap *m, const char *key, void *value)
{
	struct strmap_slot *s;
	size_t h = strmap_hash(key);

	if ((m->used + 1) * 10 >= m->cap * 7 &&
	    strmap_grow(m, m->cap == 0 ? 16 : (m->count * 2 >= m->cap ?
	    m->cap * 2 : m->cap)) == -1)
		return -1;
	s = strmap_find(m, key, h, 1);
	if (s->key != NULL && s->key != STRMAP_TOMB) {
		s->value = value;
		return 0;
	}
	if (s->key == NULL)
		m->used++;
	s->key = strdup(key);
	if (s->key == NULL) {
		s->key = STRMAP_TOMB;
		return -1;
	}
	s->value = value;
	s->hash = h;
	m->count++;
	return 0;
}

/* Remove key, leaving a tombstone. */
void *
strmap_del(struct strmap *m, const char *key)
{
	struct strmap_slot *s;
	void *v;

	if (m->cap == 0 || (s = strmap_find(m, key, strmap_hash(key),
	    0)) == NULL)
		return NULL;
	v = s->value;
	free(s->key);
	s->key = STRMAP_TOMB;
	s->value = NULL;
	m->count--;
	return v;
}

/* Iterate over live entries. */
int
strmap_next(const struct strmap *m, size_t *pos, const char **key,
    void **value)
{
	while (*pos < m->cap) {
		struct strmap_slot *s = &m->slots[(*pos)++];

		if (s->key != NULL && s->key != STRMAP_TOMB) {
			*key = s->key;
			*value = s->value;
			return 1;
		}
	}
	return 0;
}
