/* throttle.c: a fixed window of failures per key, then a lockout. The table
 * is capped so that a flood of made-up user names cannot grow it without
 * bound; uthash keeps insertion order, so eviction takes the oldest key. */
#include "throttle.h"

#include <stdlib.h>
#include <string.h>

#include <uthash.h>

struct throttle_entry {
	char *key;
	int failures;
	time_t window_start;
	time_t locked_until;
	UT_hash_handle hh;
};

struct throttle {
	struct throttle_entry *table;
	int max_failures;
	int window;
	int lockout;
	size_t max_keys;
};

struct throttle *
throttle_new(int max_failures, int window, int lockout, size_t max_keys)
{
	struct throttle *t = calloc(1, sizeof *t);

	if (t == NULL)
		abort();
	t->max_failures = max_failures;
	t->window = window;
	t->lockout = lockout;
	t->max_keys = max_keys;
	return t;
}

/* Remove and free one entry. */
static void
throttle_remove(struct throttle *t, struct throttle_entry *e)
{
	HASH_DEL(t->table, e);
	free(e->key);
	free(e);
}

void
throttle_free(struct throttle *t)
{
	struct throttle_entry *e, *tmp;

	if (t == NULL)
		return;
	HASH_ITER(hh, t->table, e, tmp)
	throttle_remove(t, e);
	free(t);
}

int
throttle_wait(struct throttle *t, const char *key, time_t now)
{
	struct throttle_entry *e;

	HASH_FIND_STR(t->table, key, e);
	if (e == NULL || e->locked_until <= now)
		return 0;
	return (int)(e->locked_until - now);
}

void
throttle_fail(struct throttle *t, const char *key, time_t now)
{
	struct throttle_entry *e;

	HASH_FIND_STR(t->table, key, e);
	if (e == NULL) {
		if (HASH_COUNT(t->table) >= t->max_keys)
			throttle_expire(t, now);
		if (HASH_COUNT(t->table) >= t->max_keys)
			throttle_remove(t, t->table); /* the oldest */
		if ((e = calloc(1, sizeof *e)) == NULL || (e->key = strdup(key)) == NULL)
			abort();
		e->window_start = now;
		HASH_ADD_KEYPTR(hh, t->table, e->key, strlen(e->key), e);
	}
	if (now - e->window_start >= t->window) {
		e->failures = 0;
		e->window_start = now;
	}
	if (++e->failures >= t->max_failures) {
		e->locked_until = now + t->lockout;
		e->failures = 0;
		e->window_start = now;
	}
}

void
throttle_clear(struct throttle *t, const char *key)
{
	struct throttle_entry *e;

	HASH_FIND_STR(t->table, key, e);
	if (e != NULL)
		throttle_remove(t, e);
}

void
throttle_expire(struct throttle *t, time_t now)
{
	struct throttle_entry *e, *tmp;

	HASH_ITER(hh, t->table, e, tmp)
	{
		if (e->locked_until <= now && now - e->window_start >= t->window)
			throttle_remove(t, e);
	}
}

size_t
throttle_count(const struct throttle *t)
{
	return HASH_COUNT(t->table);
}
