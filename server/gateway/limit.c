/* limit.c: token buckets per key (a client address, a contact) in a table
 * of fixed size. Keys are stored as the first 8 bytes of their SHA-256, so
 * a flood of made-up keys can neither grow memory nor aim at one slot; when
 * the probe window is full the least recently used bucket is forgotten,
 * which only ever errs towards letting a request through. A limit can be
 * checked before and charged after the work it guards (complaints are
 * charged only once callcentred has filed them).
 *
 * Tokens are counted in exact integers: an event costs period_ms units and
 * a millisecond brings rate units back, so the wait announced is the wait
 * that works (no rounding leaves a client one second short). */
#include "gw.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#define GW_LIMIT_PROBE 8

struct gw_bucket {
	uint64_t key; /* 0: empty */
	int64_t last_ms;
	int64_t tokens; /* units: an event is period_ms of them */
};

struct gw_limit {
	struct gw_bucket *slots;
	size_t mask;
	int64_t rate;   /* units back per millisecond: events per period */
	int64_t period; /* milliseconds; the cost of one event in units */
	int64_t burst;  /* rate * period: a full bucket */
};

struct gw_limit *
gw_limit_new(int rate, int64_t period_ms, size_t slots)
{
	struct gw_limit *l;
	size_t n = 64;

	/* rate * period * 2 must fit: the config allows 10^6 an hour */
	if (rate < 1 || period_ms < 1 || (int64_t)rate > INT64_MAX / 4 / period_ms)
		return NULL;
	if ((l = calloc(1, sizeof *l)) == NULL)
		return NULL;
	while (n < slots)
		n <<= 1;
	if ((l->slots = calloc(n, sizeof *l->slots)) == NULL) {
		free(l);
		return NULL;
	}
	l->mask = n - 1;
	l->rate = rate;
	l->period = period_ms;
	l->burst = (int64_t)rate * period_ms;
	return l;
}

void
gw_limit_free(struct gw_limit *l)
{
	if (l == NULL)
		return;
	free(l->slots);
	free(l);
}

/* The bucket of key, refilled up to now_ms (a new one when key is not
 * remembered). */
static struct gw_bucket *
gw_limit_bucket(struct gw_limit *l, const char *key, int64_t now_ms)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	uint64_t h;
	struct gw_bucket *b = NULL, *oldest = NULL;

	SHA256((const unsigned char *)key, strlen(key), md);
	memcpy(&h, md, sizeof h);
	if (h == 0)
		h = 1;
	for (size_t i = 0; i < GW_LIMIT_PROBE; i++) {
		struct gw_bucket *s = &l->slots[(h + i) & l->mask];
		if (s->key == h) {
			b = s;
			break;
		}
		if (s->key == 0 || oldest == NULL || s->last_ms < oldest->last_ms)
			oldest = s;
		if (s->key == 0)
			break;
	}
	if (b == NULL) {
		b = oldest;
		b->key = h;
		b->tokens = l->burst;
		b->last_ms = now_ms;
	}
	/* the wall clock may step back: time is never counted twice */
	if (now_ms > b->last_ms) {
		/* two periods refill from the deepest debt to full */
		int64_t elapsed = now_ms - b->last_ms;
		if (elapsed > 2 * l->period)
			elapsed = 2 * l->period;
		b->tokens += elapsed * l->rate;
		if (b->tokens > l->burst)
			b->tokens = l->burst;
		b->last_ms = now_ms;
	}
	return b;
}

/* The seconds b must wait for a whole token (0 when it has one). */
static int
gw_limit_wait(const struct gw_limit *l, const struct gw_bucket *b)
{
	if (b->tokens >= l->period)
		return 0;
	int64_t wait_ms = (l->period - b->tokens + l->rate - 1) / l->rate;
	int64_t s = (wait_ms + 999) / 1000;
	return s < 1 ? 1 : s > INT32_MAX ? INT32_MAX : (int)s;
}

int
gw_limit_take(struct gw_limit *l, const char *key, int64_t now_ms)
{
	struct gw_bucket *b = gw_limit_bucket(l, key, now_ms);
	int wait = gw_limit_wait(l, b);

	if (wait == 0)
		b->tokens -= l->period;
	return wait;
}

int
gw_limit_check(struct gw_limit *l, const char *key, int64_t now_ms)
{
	return gw_limit_wait(l, gw_limit_bucket(l, key, now_ms));
}

void
gw_limit_charge(struct gw_limit *l, const char *key, int64_t now_ms)
{
	struct gw_bucket *b = gw_limit_bucket(l, key, now_ms);

	b->tokens -= l->period;
	if (b->tokens < -l->burst)
		b->tokens = -l->burst;
}
