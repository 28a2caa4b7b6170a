/* SPDX-License-Identifier: Apache-2.0 */
/*
 * strmap.h - a string-keyed hash map (open addressing, linear probing).
 *
 * Pure.  The map copies keys; values are opaque pointers the caller owns.
 * strmap_release() frees the map's own memory, never the values.
 */
#ifndef SP_STRMAP_H
#define SP_STRMAP_H

#include <stddef.h>

struct strmap_slot {
	char *key;              /* NULL: empty; STRMAP_TOMB: deleted */
	void *value;
	size_t hash;            /* of a live key: probes compare it before
				   touching the key, and growth reuses it */
};

struct strmap {
	struct strmap_slot *slots;
	size_t cap;             /* power of two, or 0 */
	size_t count;           /* live keys */
	size_t used;            /* live keys + tombstones */
};

/* An empty map; no allocation until the first put. */
void strmap_init(struct strmap *m);

/* Free the map's memory (keys and slots), not the values. */
void strmap_release(struct strmap *m);

/* The value for key, or NULL. */
void *strmap_get(const struct strmap *m, const char *key);

/* Insert or replace; 0, or -1 when out of memory. */
int strmap_put(struct strmap *m, const char *key, void *value);

/* Remove key; returns its value, or NULL when absent. */
void *strmap_del(struct strmap *m, const char *key);

/*
 * Iterate: start with *pos = 0; returns 1 with key and value set while
 * entries remain, 0 at the end.  The map must not change meanwhile.
 */
int strmap_next(const struct strmap *m, size_t *pos, const char **key,
    void **value);

#endif
