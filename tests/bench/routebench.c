/* routebench: the routing core in process, without I/O. Decisions per second
 * and the latency of each decision, in the two regimes a call centre
 * lives in:
 *
 *   scarce agents  every agent busy, a long line of waiting work: an agent
 *                  finishes, and route_item_done picks the first item it
 *                  may take across all its buckets (and a new item arrives
 *                  to keep the line long);
 *   scarce work    most agents free: an item arrives, and route_item_add
 *                  picks the best free agent (who accepts, finishes and is
 *                  free again).
 *
 * Usage: routebench [-a AGENTS] [-w WAITING] [-n DECISIONS] [-s SEED]
 *        routebench -g     (the growth series: 1k, 10k and 100k agents)
 *
 * Last, the baseline in the same run: the scarce-work decisions made by
 * scanning every agent per item, as a member-scanning router does.
 *
 * The shape: 50 skills, 3 sites, 20 queues; each queue has 3 requirement
 * sets (one or two of its skills with a minimum proficiency), so there are
 * at most 20 x 3 x (3 sites x 2 levels + 1) = 420 buckets; each agent serves
 * 3 queues and has 6 skills at proficiency 1-5. Priorities 1-9, one in five
 * items with an SLA due time, relax after 30 s and overflow after 60 s. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "route.h"

#define NSKILLS 50
#define NSITES  3
#define NQUEUES 20
#define NREQSET 3

static uint64_t rng_state;

static uint32_t
rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

static int64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* The skills of queue q: 4 consecutive skills out of 50. */
static uint16_t
queue_skill(uint32_t q, unsigned k)
{
	return (uint16_t)((q * 5 + k) % NSKILLS);
}

static void
make_item(struct route_item_in *in, uint64_t id, int64_t now)
{
	uint32_t q = rnd(NQUEUES), set = rnd(NREQSET);

	memset(in, 0, sizeof *in);
	in->id = id;
	in->queue = q + 1;
	in->site = (uint16_t)(1 + rnd(NSITES));
	in->channel = ROUTE_VOICE;
	in->priority = 1 + (int)rnd(9);
	in->enqueued_ms = now;
	in->sla_due_ms = rnd(5) == 0 ? now + 600000 + rnd(3600000) : 0;
	in->nreq = set == 2 ? 2 : 1;
	in->req[0].skill = queue_skill(q, set);
	in->req[0].prof = (uint8_t)(1 + set);
	in->req[1].skill = queue_skill(q, 3);
	in->req[1].prof = 1;
}

static void
make_agent(struct route_agent_cfg *a, uint32_t id)
{
	memset(a, 0, sizeof *a);
	a->id = id;
	a->site = (uint16_t)(1 + rnd(NSITES));
	a->capacity[ROUTE_VOICE] = 1;
	a->nqueues = 3;
	for (unsigned i = 0; i < 3; i++)
		a->queues[i] = 1 + (id + i * 7) % NQUEUES;
	/* the 4 skills of its first queue, and 2 more */
	for (unsigned k = 0; k < 4; k++) {
		a->skills[k].skill = queue_skill(a->queues[0] - 1, k);
		a->skills[k].prof = (uint8_t)(1 + rnd(5));
	}
	a->skills[4].skill = queue_skill(a->queues[1] - 1, rnd(4));
	a->skills[5].skill = queue_skill(a->queues[2] - 1, rnd(4));
	a->skills[4].prof = (uint8_t)(1 + rnd(5));
	a->skills[5].prof = (uint8_t)(1 + rnd(5));
	a->nskills = a->skills[5].skill == a->skills[4].skill ? 5 : 6;
	for (unsigned k = 4; k < a->nskills; k++)
		for (unsigned j = 0; j < 4; j++)
			if (a->skills[k].skill == a->skills[j].skill)
				a->skills[k].skill = (uint16_t)(NSKILLS - 1 - k); /* keep unique */
}

struct result {
	size_t decisions;
	double seconds;
	int64_t p50, p99, p999, max;
};

static void
summarise(int64_t *lat, size_t n, int64_t total_ns, struct result *res)
{
	qsort(lat, n, sizeof *lat, cmp64);
	res->decisions = n;
	res->seconds = (double)total_ns / 1e9;
	res->p50 = lat[n / 2];
	res->p99 = lat[n * 99 / 100];
	res->p999 = lat[n * 999 / 1000];
	res->max = lat[n - 1];
}

static struct route *
build(uint32_t agents, int64_t now)
{
	struct route_params p = {0};
	struct route *r = route_new(&p);

	if (r == NULL)
		exit(1);
	for (uint32_t q = 1; q <= NQUEUES; q++) {
		struct route_queue_cfg c = {.id = q,
		                            .strategy =
		                                (enum route_strategy)(q % ROUTE__STRATEGIES),
		                            .relax_ms = 30000,
		                            .overflow_ms = 60000};
		route_queue_set(r, &c);
	}
	for (uint32_t a = 1; a <= agents; a++) {
		struct route_agent_cfg c;
		make_agent(&c, a);
		if (route_agent_set(r, &c, now) != ROUTE_OK)
			exit(1);
	}
	return r;
}

/* Every agent busy, `waiting` items in line; each step one agent finishes
 * and takes the next item; a new item arrives. */
static void
run_scarce_agents(uint32_t agents, size_t waiting, size_t n, struct result *res)
{
	int64_t now = 1000000000, t0, total = 0;
	struct route *r = build(agents, now);
	int64_t *lat = malloc(n * sizeof *lat);
	uint64_t *work = calloc(agents + 1, sizeof *work); /* agent -> item */
	uint64_t next = 1;
	struct route_decision d;
	struct route_item_in in;
	size_t got = 0;

	/* ready agents fill up with work first, then the line builds */
	for (uint32_t a = 1; a <= agents; a++)
		route_agent_ready(r, a, now);
	while (route_waiting(r) < waiting + agents / 2) {
		make_item(&in, next++, now);
		route_item_add(r, &in, now);
		while (route_decision_next(r, &d))
			if (d.kind == ROUTE_DO_OFFER) {
				route_offer_accept(r, d.item, now);
				work[d.agent] = d.item;
			}
	}
	/* the wait steps have happened: everything is at its widest level */
	now += 120000;
	route_timer_run(r, now);
	while (route_decision_next(r, &d))
		if (d.kind == ROUTE_DO_OFFER) {
			route_offer_accept(r, d.item, now);
			work[d.agent] = d.item;
		}
	while (got < n) {
		uint32_t a = 1 + rnd(agents);
		int64_t dt;
		if (work[a] == 0)
			continue;
		now += 1;
		t0 = now_ns();
		route_item_done(r, work[a], now);
		dt = now_ns() - t0;
		work[a] = 0;
		while (route_decision_next(r, &d))
			if (d.kind == ROUTE_DO_OFFER) {
				route_offer_accept(r, d.item, now);
				work[d.agent] = d.item;
				lat[got++] = dt;
				total += dt;
				break;
			}
		make_item(&in, next++, now - 120000); /* arrives already widened */
		route_item_add(r, &in, now);
		while (route_decision_next(r, &d))
			if (d.kind == ROUTE_DO_OFFER) {
				route_offer_accept(r, d.item, now);
				work[d.agent] = d.item;
			}
	}
	summarise(lat, got, total, res);
	free(lat);
	free(work);
	route_free(r);
}

/* Most agents free; each step an item arrives and goes to the best free
 * agent, who accepts and finishes it. */
static void
run_scarce_work(uint32_t agents, size_t n, struct result *res)
{
	int64_t now = 1000000000, t0, total = 0;
	struct route *r = build(agents, now);
	int64_t *lat = malloc(n * sizeof *lat);
	uint64_t next = 1;
	struct route_decision d;
	struct route_item_in in;
	size_t got = 0;

	for (uint32_t a = 1; a <= agents; a++)
		route_agent_ready(r, a, now);
	/* make every bucket once, outside the measurement */
	for (int i = 0; i < 20000; i++) {
		make_item(&in, next++, now);
		route_item_add(r, &in, now);
		while (route_decision_next(r, &d))
			if (d.kind == ROUTE_DO_OFFER) {
				route_offer_accept(r, d.item, now);
				route_item_done(r, d.item, now);
			}
	}
	while (got < n) {
		int64_t dt;
		now += 1;
		make_item(&in, next++, now - 120000);
		t0 = now_ns();
		route_item_add(r, &in, now);
		dt = now_ns() - t0;
		while (route_decision_next(r, &d))
			if (d.kind == ROUTE_DO_OFFER) {
				lat[got++] = dt;
				total += dt;
				route_offer_accept(r, d.item, now);
				route_item_done(r, d.item, now);
			}
		route_timer_run(r, now);
		while (route_decision_next(r, &d))
			if (d.kind == ROUTE_DO_OFFER) {
				route_offer_accept(r, d.item, now);
				route_item_done(r, d.item, now);
			}
	}
	summarise(lat, got, total, res);
	free(lat);
	route_free(r);
}

/* The baseline: what a member scan per call costs (app_queue examines
 * every member of the queue for each waiting caller). Each arriving item
 * scans all agents for the longest-idle free one with the skills, takes
 * it and frees it again, as run_scarce_work does through the core. */
static void
run_scan(uint32_t agents, size_t n, struct result *res)
{
	struct route_agent_cfg *cfg = malloc((agents + 1) * sizeof *cfg);
	int64_t *idle = malloc((agents + 1) * sizeof *idle), total = 0, now = 1000000000;
	int64_t *lat = malloc(n * sizeof *lat);
	struct route_item_in in;
	size_t got = 0;
	uint64_t next = 1;

	for (uint32_t a = 1; a <= agents; a++) {
		make_agent(&cfg[a], a);
		idle[a] = now;
	}
	while (got < n) {
		int64_t t0, dt;
		uint32_t best = 0;
		now += 1;
		make_item(&in, next++, now);
		t0 = now_ns();
		for (uint32_t a = 1; a <= agents; a++) {
			const struct route_agent_cfg *c = &cfg[a];
			unsigned ok = 0;
			int serves = 0;
			for (unsigned q = 0; q < c->nqueues; q++)
				serves |= c->queues[q] == in.queue;
			if (!serves || (best != 0 && idle[a] >= idle[best]))
				continue;
			for (unsigned r = 0; r < in.nreq; r++)
				for (unsigned k = 0; k < c->nskills; k++)
					ok += c->skills[k].skill == in.req[r].skill;
			if (ok == in.nreq)
				best = a;
		}
		dt = now_ns() - t0;
		if (best != 0) {
			idle[best] = now; /* took the item and finished it */
			lat[got++] = dt;
			total += dt;
		}
	}
	summarise(lat, got, total, res);
	free(cfg);
	free(idle);
	free(lat);
}

static void
print(const char *regime, uint32_t agents, size_t waiting, const struct result *res)
{
	printf("%-14s agents=%-6u waiting=%-6zu decisions=%-7zu rate=%.0f/s "
	       "p50=%.2fus p99=%.2fus p99.9=%.2fus max=%.1fus\n",
	       regime, agents, waiting, res->decisions, (double)res->decisions / res->seconds,
	       (double)res->p50 / 1000, (double)res->p99 / 1000, (double)res->p999 / 1000,
	       (double)res->max / 1000);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	uint32_t agents = 10000;
	size_t waiting = 100000, n = 200000;
	int growth = 0, c;
	struct result res;

	rng_state = 0x9e3779b97f4a7c15ull;
	while ((c = getopt(argc, argv, "a:w:n:s:g")) != -1) {
		switch (c) {
		case 'a':
			agents = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'w':
			waiting = strtoul(optarg, NULL, 10);
			break;
		case 'n':
			n = strtoul(optarg, NULL, 10);
			break;
		case 's':
			rng_state = strtoull(optarg, NULL, 10) | 1;
			break;
		case 'g':
			growth = 1;
			break;
		default:
			fprintf(stderr, "usage: routebench [-a AGENTS] [-w WAITING] [-n DECISIONS] "
			                "[-s SEED] [-g]\n");
			return 2;
		}
	}
	if (agents == 0 || n == 0) {
		fprintf(stderr, "routebench: -a and -n must be positive\n");
		return 2;
	}
	if (growth) {
		static const uint32_t sizes[] = {1000, 10000, 100000};
		for (size_t i = 0; i < 3; i++) {
			run_scarce_agents(sizes[i], waiting, n, &res);
			print("scarce-agents", sizes[i], waiting, &res);
		}
		for (size_t i = 0; i < 3; i++) {
			run_scarce_work(sizes[i], n, &res);
			print("scarce-work", sizes[i], 0, &res);
		}
		for (size_t i = 0; i < 3; i++) {
			run_scan(sizes[i], n / (sizes[i] / 1000), &res);
			print("baseline-scan", sizes[i], 0, &res);
		}
		return 0;
	}
	run_scarce_agents(agents, waiting, n, &res);
	print("scarce-agents", agents, waiting, &res);
	run_scarce_work(agents, n, &res);
	print("scarce-work", agents, 0, &res);
	run_scan(agents, n / 10, &res);
	print("baseline-scan", agents, 0, &res);
	return 0;
}
