/* rfm.c: RFM scores, segments and value tiers (the rule is in rfm.h). */
#include "rfm.h"

#define DAY 86400

const struct rfm_thresholds rfm_default_thresholds = {
    .recency_days = {30, 90, 180, 365},
    .frequency = {2, 3, 5, 10},
    .monetary_minor = {50000, 200000, 500000, 1500000},
    .new_days = 90,
    .old_days = 365,
};

/* 5 for values at most bound[0], down to 1 above bound[3]. */
static int
score_at_most(int64_t v, const int64_t bound[4])
{
	for (int i = 0; i < 4; i++)
		if (v <= bound[i])
			return 5 - i;
	return 1;
}

/* 1 below bound[0], up to 5 from bound[3]. */
static int
score_at_least(int64_t v, const int64_t bound[4])
{
	int s = 1;

	for (int i = 0; i < 4; i++)
		if (v >= bound[i])
			s = i + 2;
	return s;
}

const char *
rfm_segment(int r, int f)
{
	if (r < 1 || f < 1)
		return "prospect";
	if (r >= 4 && f >= 4)
		return "champions";
	if (r == 3 && f >= 4)
		return "loyal";
	if (r >= 4 && f == 1)
		return "new";
	if (r >= 3)
		return "potential";
	if (f >= 3)
		return "at_risk";
	return r == 2 ? "hibernating" : "lost";
}

/* The value tier of scored aggregates (see rfm.h). */
static const char *
rfm_tier(const struct rfm_orders *o, const struct rfm_thresholds *t, int64_t now,
         const struct rfm_result *r)
{
	int64_t age;

	if (o->kept <= 0)
		return "potential";
	age = now - o->first_at;
	if (age < t->new_days * DAY)
		return "new";
	if (r->frequency >= 4 && r->monetary >= 4 && r->recency >= 3)
		return "loyal";
	if (age >= t->old_days * DAY)
		return "old";
	return "regular";
}

void
rfm_score(const struct rfm_orders *o, const struct rfm_thresholds *t, int64_t now,
          struct rfm_result *out)
{
	int64_t days;

	out->recency = out->frequency = out->monetary = 0;
	if (o->kept > 0) {
		/* an order time in the future (clock skew) counts as today */
		days = o->last_kept_at >= now ? 0 : (now - o->last_kept_at) / DAY;
		out->recency = score_at_most(days, t->recency_days);
		out->frequency = score_at_least(o->kept, t->frequency);
		out->monetary = score_at_least(o->net_minor, t->monetary_minor);
	}
	out->segment = rfm_segment(out->recency, out->frequency);
	out->tier = rfm_tier(o, t, now, out);
}
