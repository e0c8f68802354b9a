/* throttle.c: a fixed window of failures per key, then a lockout. The table
 * is capped so that a flood of made-up user names cannot grow it without
 * bound; uthash keeps insertion order, so eviction takes the oldest key
 * that is neither locked nor busy. */
#include "throttle.h"

#include <stdlib.h>
#include <string.h>

#include <uthash.h>

struct throttle_entry {
	char *key;
	int failures;
	int pending; /* attempts begun and not yet ended */
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
	if (e == NULL)
		return 0;
	if (e->locked_until > now)
		return (int)(e->locked_until - now);
	/* attempts still being checked count, so that parallel guesses
	 * cannot all slip in before the first failure is recorded */
	if (e->failures + e->pending >= t->max_failures)
		return 1;
	return 0;
}

/* Make room for one more key: expired ones first, then the oldest that
 * is neither locked nor has attempts in flight. 0, or -1 when full. */
static int
throttle_make_room(struct throttle *t, time_t now)
{
	struct throttle_entry *e, *tmp;

	if (HASH_COUNT(t->table) < t->max_keys)
		return 0;
	throttle_expire(t, now);
	if (HASH_COUNT(t->table) < t->max_keys)
		return 0;
	HASH_ITER(hh, t->table, e, tmp)
	{
		if (e->locked_until <= now && e->pending == 0) {
			throttle_remove(t, e);
			return 0;
		}
	}
	return -1;
}

/* The entry for key, created when absent; NULL when the table is full. */
static struct throttle_entry *
throttle_entry(struct throttle *t, const char *key, time_t now)
{
	struct throttle_entry *e;

	HASH_FIND_STR(t->table, key, e);
	if (e != NULL)
		return e;
	if (throttle_make_room(t, now) != 0)
		return NULL;
	if ((e = calloc(1, sizeof *e)) == NULL || (e->key = strdup(key)) == NULL)
		abort();
	e->window_start = now;
	HASH_ADD_KEYPTR(hh, t->table, e->key, strlen(e->key), e);
	return e;
}

int
throttle_begin(struct throttle *t, const char *key, time_t now)
{
	struct throttle_entry *e = throttle_entry(t, key, now);

	if (e == NULL)
		return -1;
	e->pending++;
	return 0;
}

void
throttle_end(struct throttle *t, const char *key)
{
	struct throttle_entry *e;

	HASH_FIND_STR(t->table, key, e);
	if (e != NULL && e->pending > 0)
		e->pending--;
}

void
throttle_fail(struct throttle *t, const char *key, time_t now)
{
	struct throttle_entry *e;

	if ((e = throttle_entry(t, key, now)) == NULL)
		return; /* full of locked keys: those stay locked */
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
		if (e->locked_until <= now && now - e->window_start >= t->window && e->pending == 0)
			throttle_remove(t, e);
	}
}

size_t
throttle_count(const struct throttle *t)
{
	return HASH_COUNT(t->table);
}
