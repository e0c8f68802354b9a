/* metrics.c: Prometheus text exposition of the server's counters. */
#include <event2/buffer.h>

#include "op-job.h"
#include "server.h"
#include "sla-run.h"
#include "stats-run.h"

/* One counter or gauge with its HELP and TYPE lines. */
static void
metric(struct evbuffer *out, const char *name, const char *type, const char *help,
       unsigned long long v)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type,
	                    name, v);
}

void
metrics_write(struct server *srv, struct evbuffer *out)
{
	const struct metrics *m = &srv->metrics;
	const struct db_latency *lat = db_pool_latency(srv->db);

	metric(out, "cc_connections", "gauge", "Open client connections.", srv->nsessions);
	metric(out, "cc_connections_total", "counter", "Client connections accepted.",
	       m->connections_total);
	metric(out, "cc_sessions_logged_in", "gauge", "Connections with a logged-in agent.",
	       srv->nlogged_in);
	metric(out, "cc_tls_handshake_failures_total", "counter", "TLS handshakes that failed.",
	       m->handshake_failures);
	metric(out, "cc_requests_total", "counter", "Request lines received.", m->requests_total);

	evbuffer_add_printf(out, "# HELP cc_logins_total Login attempts by result.\n"
	                         "# TYPE cc_logins_total counter\n");
	evbuffer_add_printf(out, "cc_logins_total{result=\"ok\"} %llu\n", m->logins_ok);
	evbuffer_add_printf(out, "cc_logins_total{result=\"failed\"} %llu\n", m->logins_failed);
	evbuffer_add_printf(out, "cc_logins_total{result=\"throttled\"} %llu\n",
	                    m->logins_throttled);

	evbuffer_add_printf(out, "# HELP cc_errors_total Error replies by code.\n"
	                         "# TYPE cc_errors_total counter\n");
	for (int i = 1; i < CC_ERR__COUNT; i++)
		evbuffer_add_printf(out, "cc_errors_total{code=\"%s\"} %llu\n",
		                    cc_err_slug((enum cc_err)i), m->errors[i]);

	evbuffer_add_printf(out, "# HELP cc_closes_total Connections closed by reason.\n"
	                         "# TYPE cc_closes_total counter\n");
	for (int i = 0; i < CLOSE__COUNT; i++)
		evbuffer_add_printf(out, "cc_closes_total{reason=\"%s\"} %llu\n",
		                    close_reason_name((enum close_reason)i), m->closes[i]);

	metric(out, "cc_db_queue_depth", "gauge", "Database jobs waiting for a worker.",
	       db_pool_queued(srv->db));
	metric(out, "cc_db_workers_connected", "gauge", "Database workers with a live connection.",
	       (unsigned long long)db_pool_connected(srv->db));
	metric(out, "cc_hash_queue_depth", "gauge", "Password checks waiting for a worker.",
	       db_pool_queued(srv->cpu));
	metric(out, "cc_db_jobs_total", "counter", "Database jobs completed.", lat->count);
	evbuffer_add_printf(out,
	                    "# HELP cc_db_job_seconds Time from queueing a database job to its "
	                    "completion.\n# TYPE cc_db_job_seconds histogram\n");
	for (int i = 0; i < DB_LATENCY_BUCKETS; i++)
		evbuffer_add_printf(out, "cc_db_job_seconds_bucket{le=\"%g\"} %llu\n",
		                    db_latency_bounds[i], lat->bucket[i]);
	evbuffer_add_printf(out, "cc_db_job_seconds_bucket{le=\"+Inf\"} %llu\n", lat->count);
	evbuffer_add_printf(out, "cc_db_job_seconds_sum %.6f\ncc_db_job_seconds_count %llu\n",
	                    lat->sum, lat->count);
	{
		struct db_batches b = db_pool_batches(srv->db);

		metric(out, "cc_db_write_groups_total", "counter",
		       "Transactions that carried queued writes together (group commit).",
		       b.batches);
		metric(out, "cc_db_write_group_jobs_total", "counter",
		       "Writes carried by those transactions.", b.jobs);
		metric(out, "cc_db_write_group_splits_total", "counter",
		       "Groups rolled back and run again in parts because one write was refused "
		       "or failed.",
		       op_job_group_splits());
	}
	{
		unsigned long long runs, jobs, later;

		op_job_many_stats(&runs, &jobs, &later);
		metric(out, "cc_db_write_batches_total", "counter",
		       "Runs of like writes inside a group done with multi-row statements "
		       "(complaint.file).",
		       runs);
		metric(out, "cc_db_write_batch_jobs_total", "counter",
		       "Writes carried by those runs.", jobs);
		metric(out, "cc_db_write_batch_later_total", "counter",
		       "Writes of those runs left to run on their own (a known contact or a "
		       "repeated key).",
		       later);
	}
	metric(out, "cc_database_up", "gauge", "1 when the last database check succeeded.",
	       srv->health.ok == 1);
	metric(out, "cc_draining", "gauge", "1 while shutting down.", (unsigned)srv->draining);
	sla_run_metrics(srv, out);
	stats_run_metrics(srv, out);
}
