/* rfm.h: RFM (recency, frequency, monetary) scores, the segment they put a
 * customer in, and the value tier. Pure: order aggregates and "now" come in
 * as parameters, thresholds are data, nothing is read or kept.
 *
 * The rule, from order aggregates (the store computes them in SQL):
 *
 *   Orders that count: every order not cancelled. An order is "kept" when
 *   less than its whole amount was refunded (amount > refunded).
 *   Recency R: whole days from the last kept order to now; R = 5 within
 *     recency_days[0] days (30), 4 within [1] (90), 3 within [2] (180),
 *     2 within [3] (365), else 1.
 *   Frequency F: the number of kept orders; F = 5 from frequency[3] (10),
 *     4 from [2] (5), 3 from [1] (3), 2 from [0] (2), else 1.
 *   Monetary M: net spend (amounts less refunds, minor units); M = 5 from
 *     monetary[3] (15,000.00), 4 from [2] (5,000.00), 3 from [1] (2,000.00),
 *     2 from [0] (500.00), else 1.
 *   No kept order at all: no scores (0), segment "prospect".
 *
 *   Segment, from R and F (every cell of the 5x5 grid has exactly one):
 *     champions    R >= 4 and F >= 4   bought recently and often
 *     loyal        R == 3 and F >= 4   often, a little while ago
 *     new          R >= 4 and F == 1   one recent first purchase
 *     potential    R >= 3 and F <= 3   recent, not yet frequent (others)
 *     at_risk      R <= 2 and F >= 3   used to buy often, stopped
 *     hibernating  R == 2 and F <= 2   few purchases, long ago
 *     lost         R == 1 and F <= 2   few purchases, very long ago
 *
 *   Value tier (the tiers of the customers.value_tier column), first match:
 *     potential    no kept order yet
 *     new          first order less than new_days (90) days ago
 *     loyal        F >= 4, M >= 4 and R >= 3: high value and still active
 *     old          first order at least old_days (365) days ago
 *     regular      everyone else */
#ifndef CC_RFM_H
#define CC_RFM_H

#include <stdint.h>

/* Order aggregates of one customer (and the customers merged into it). */
struct rfm_orders {
	int64_t orders;       /* not cancelled */
	int64_t kept;         /* not cancelled and not wholly refunded */
	int64_t net_minor;    /* sum of amount - refunded over orders */
	int64_t last_kept_at; /* Unix seconds of the last kept order; 0: none */
	int64_t first_at;     /* Unix seconds of the first order; 0: none */
};

/* Score boundaries, each ascending. */
struct rfm_thresholds {
	int64_t recency_days[4];   /* at most this many days: 5, 4, 3, 2 */
	int64_t frequency[4];      /* at least this many kept orders: 2, 3, 4, 5 */
	int64_t monetary_minor[4]; /* at least this net spend: 2, 3, 4, 5 */
	int64_t new_days;          /* tier "new" while the first order is younger */
	int64_t old_days;          /* tier "old" once the first order is this old */
};

extern const struct rfm_thresholds rfm_default_thresholds;

struct rfm_result {
	int recency, frequency, monetary; /* 1..5; 0 when there is no kept order */
	const char *segment;              /* static string */
	const char *tier;                 /* static string, a customers.value_tier value */
};

/* Score o at time now (Unix seconds) with thresholds t. */
void rfm_score(const struct rfm_orders *o, const struct rfm_thresholds *t, int64_t now,
               struct rfm_result *out);
/* The segment of scores r and f (1..5); "prospect" when either is 0. */
const char *rfm_segment(int r, int f);

#endif
