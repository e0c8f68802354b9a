/* store-stats.h: the statistics rollups in stats_intervals (schema 009):
 * the interval writer, the restore of the day's figures at start-up, and
 * the report of stats.report. Functions run on a db worker. */
#ifndef CC_STORE_STATS_H
#define CC_STORE_STATS_H

#include <stddef.h>
#include <stdint.h>

#include <mysql.h>

#include "stats.h"
#include "store-ticket.h"

/* The counters of a stats_intervals row, in the table's column order. */
enum roll_field {
	RF_OFFERED,
	RF_PRESENTED,
	RF_ANSWERED,
	RF_ANSWERED_WITHIN,
	RF_ABANDONED,
	RF_ABANDONED_WITHIN,
	RF_SHORT_ABANDONED,
	RF_TRANSFERRED_IN,
	RF_TRANSFERRED_OUT,
	RF_WAIT_MS_SUM,
	RF_ABANDON_WAIT_MS_SUM,
	RF_TALK_MS_SUM,
	RF_WRAPUP_MS_SUM,
	RF_HANDLED,
	RF_WRAPUPS,
	RF_BUSY_MS,
	RF_WRAPUP_MS,
	RF_RESERVED_MS,
	RF_AVAILABLE_MS,
	RF_PAUSED_MS,
	RF_CSAT_SUM,
	RF_CSAT_COUNT,
	RF_COMPLAINTS_1,
	RF_COMPLAINTS_2,
	RF_COMPLAINTS_3,
	RF_COMPLAINTS_4,
	RF_SLA_WARNINGS,
	RF_SLA_BREACHES,
	RF__COUNT
};

/* The column name of a field. */
const char *roll_field_name(enum roll_field f);

/* One scope's counters over an interval (or summed over several). */
struct roll_row {
	enum stats_scope scope;
	uint32_t id;   /* site, queue, agent or skill id; 0 for overall */
	uint32_t site; /* the site the figures count in; 0 for overall */
	uint64_t v[RF__COUNT];
};

/* Fill v from a scope's live figures (today's counters and time per
 * state), and the other way round for a restore. */
void roll_from_view(const struct stats_view *sv, uint64_t v[RF__COUNT]);
void roll_from_agent(const struct stats_agent_view *av, uint64_t v[RF__COUNT]);
void roll_to_counts(const uint64_t v[RF__COUNT], struct stats_counts *c,
                    int64_t state_ms[ROUTE__AGENT_STATES]);

/* Write the rows of the interval that starts at start (ms), one
 * transaction; a row written again gets the same values. 0 or -1. */
int store_stats_write(MYSQL *m, int64_t start, const struct roll_row *rows, size_t n, char *err,
                      size_t errlen);

/* The sums per scope of the rows of site from from_ms on (every scope
 * but overall): *out (malloc'd, the caller frees) and *n. 0 or -1. */
int store_stats_restore(MYSQL *m, uint32_t site, int64_t from_ms, struct roll_row **out, size_t *n,
                        char *err, size_t errlen);

/* The start of the last interval written for site from from_ms on: 1 and
 * *start, 0 none, -1. */
int store_stats_last(MYSQL *m, uint32_t site, int64_t from_ms, int64_t *start, char *err,
                     size_t errlen);

/* The rows of the interval that starts at start, every scope: *out
 * (malloc'd, the caller frees; site is 0 in them) and *n. 0 or -1. */
int store_stats_interval(MYSQL *m, int64_t start, struct roll_row **out, size_t *n, char *err,
                         size_t errlen);

enum report_by {
	REPORT_QUEUE,
	REPORT_SITE,
	REPORT_AGENT,
	REPORT_DAY,
	REPORT_INTERVAL,
	REPORT_SKILL
};

#define REPORT_DAYS_MAX 368 /* local day starts: 366 days and the ends */
#define REPORT_ROWS_MAX 10000

/* A stats.report request, checked on the loop. */
struct report_req {
	enum report_by by;
	int64_t from, to; /* [from, to), ms */
	uint32_t site;    /* rows of this site only (a named site or the fence); 0: all */
	uint32_t queue;   /* 0: all */
	int site_named;   /* scope site (else overall) for day and interval */
	/* by day: the local midnights from the first day to past the last,
	 * and each day's name */
	size_t ndays;
	int64_t day_start[REPORT_DAYS_MAX];
	char day_name[REPORT_DAYS_MAX][11];
};

/* Answer stats.report in res->reply: rows and totals (docs/PROTOCOL.md).
 * 0 (done or refused) or -1. */
int store_stats_report(MYSQL *m, const struct report_req *q, struct ticket_result *res, char *err,
                       size_t errlen);

#endif
