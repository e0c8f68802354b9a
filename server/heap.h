/* heap.h: an indexed binary heap ordered by (k1, k2, tie), smallest first,
 * for the routing core (route.c: waiting items, free agents, timers) and
 * the statistics core (stats.c: waiting contacts per scope).
 *
 * The keys live in the heap's array next to the node pointer, so sifting
 * compares neighbouring memory instead of chasing a pointer per level. A
 * node records its index, so removing it or changing its keys costs
 * O(log n). The functions are small and on the cores' hot paths, so they
 * are static inline here rather than calls into another file. */
#ifndef CC_HEAP_H
#define CC_HEAP_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define HEAP_OUT SIZE_MAX /* hnode.idx of a node in no heap */

struct hnode {
	size_t idx; /* HEAP_OUT when out */
};

struct hent {
	int64_t k1, k2;
	uint64_t tie;
	struct hnode *n;
};

struct heap {
	struct hent *a;
	size_t n, cap;
};

static inline int
heap_less(const struct hent *x, const struct hent *y)
{
	if (x->k1 != y->k1)
		return x->k1 < y->k1;
	if (x->k2 != y->k2)
		return x->k2 < y->k2;
	return x->tie < y->tie;
}

static inline void
heap_set_(struct heap *h, size_t i, const struct hent *e)
{
	h->a[i] = *e;
	e->n->idx = i;
}

static inline void
heap_up_(struct heap *h, size_t i)
{
	struct hent e = h->a[i];

	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!heap_less(&e, &h->a[p]))
			break;
		heap_set_(h, i, &h->a[p]);
		i = p;
	}
	heap_set_(h, i, &e);
}

static inline void
heap_down_(struct heap *h, size_t i)
{
	struct hent e = h->a[i];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && heap_less(&h->a[c + 1], &h->a[c]))
			c++;
		if (!heap_less(&h->a[c], &e))
			break;
		heap_set_(h, i, &h->a[c]);
		i = c;
	}
	heap_set_(h, i, &e);
}

/* Restore the order around entry i after its keys changed. */
static inline void
heap_fix_(struct heap *h, size_t i)
{
	if (i > 0 && heap_less(&h->a[i], &h->a[(i - 1) / 2]))
		heap_up_(h, i);
	else
		heap_down_(h, i);
}

/* Make room for one more entry: 0, or -1 when memory runs out. */
static inline int
heap_reserve(struct heap *h)
{
	size_t cap;
	struct hent *a;

	if (h->n < h->cap)
		return 0;
	cap = h->cap ? h->cap * 2 : 16;
	a = realloc(h->a, cap * sizeof *a);
	if (a == NULL)
		return -1;
	h->a = a;
	h->cap = cap;
	return 0;
}

/* Insert n with its keys, or change its keys when it is in already. The
 * array grows as needed, and running out of memory aborts: a caller that
 * must refuse instead reserves room first with heap_reserve. */
static inline void
heap_put(struct heap *h, struct hnode *n, int64_t k1, int64_t k2, uint64_t tie)
{
	struct hent e = {k1, k2, tie, n};

	if (n->idx != HEAP_OUT) {
		h->a[n->idx] = e;
		heap_fix_(h, n->idx);
		return;
	}
	if (heap_reserve(h) != 0)
		abort(); /* the cores' state must stay whole */
	heap_set_(h, h->n++, &e);
	heap_up_(h, n->idx);
}

/* Take n out (nothing when it is out). */
static inline void
heap_remove(struct heap *h, struct hnode *n)
{
	size_t i = n->idx;

	if (i == HEAP_OUT)
		return;
	n->idx = HEAP_OUT;
	if (i == --h->n)
		return;
	heap_set_(h, i, &h->a[h->n]);
	heap_fix_(h, i);
}

/* The smallest entry, or NULL. */
static inline const struct hent *
heap_top(const struct heap *h)
{
	return h->n ? &h->a[0] : NULL;
}

/* The second smallest (the smaller child of the root), or NULL. */
static inline const struct hent *
heap_second(const struct heap *h)
{
	if (h->n < 2)
		return NULL;
	if (h->n > 2 && heap_less(&h->a[2], &h->a[1]))
		return &h->a[2];
	return &h->a[1];
}

/* Free the array (the nodes are the caller's). */
static inline void
heap_free(struct heap *h)
{
	free(h->a);
	h->a = NULL;
	h->n = h->cap = 0;
}

#endif
