/* op-job.c: see op-job.h. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "op-args.h"
#include "op-job.h"
#include "proto.h"
#include "router.h"
#include "sla-run.h"
#include "store.h"

void *
op_job_new(size_t size, struct session *s, json_int_t id, const char *sub, const char *op,
           int write, op_job_fn run)
{
	struct op_job *j = calloc(1, size);

	if (j == NULL)
		abort();
	j->s = s;
	j->id = id;
	j->sub = sub;
	j->op = op;
	j->write = write;
	j->run = run;
	j->now_ms = now_ms();
	j->actor.agent_id = s->agent.id;
	j->actor.role = s->agent.role;
	snprintf(j->actor.user, sizeof j->actor.user, "%s", s->agent.user);
	snprintf(j->actor.site, sizeof j->actor.site, "%s", s->agent.site);
	j->actor.site_id = s->agent.site_id;
	j->actor.reopen_window_ms = (int64_t)s->srv->cfg.reopen_window * 86400000;
	return j;
}

void
op_job_free(struct op_job *j)
{
	json_decref(j->res.reply);
	free(j);
}

/* db worker */
static void
job_work(struct db_conn *c, void *arg)
{
	struct op_job *j = arg;
	MYSQL *m = db_conn_get(c, j->err, sizeof j->err);

	if (m == NULL) {
		j->rc = -1;
		j->db_down = 1;
		return;
	}
	j->rc = j->run(j, m);
	if (j->rc < 0) {
		j->db_errno = store_errno();
		j->db_down = db_conn_failed(c, j->db_errno);
	}
}

static _Atomic unsigned long long group_splits, many_runs, many_jobs, many_later;

unsigned long long
op_job_group_splits(void)
{
	return group_splits;
}

void
op_job_many_stats(unsigned long long *runs, unsigned long long *jobs, unsigned long long *later)
{
	*runs = many_runs;
	*jobs = many_jobs;
	*later = many_later;
}

/* db worker: the k jobs at jobs (the group's from *at on) that share a
 * run_many, at once; then those it left for later, each alone. 0, with
 * *at moved past them; -1 with *at at the job that failed, was refused or
 * must run alone. */
static int
job_many(struct db_conn *c, MYSQL *m, struct op_job **jobs, size_t k, size_t *at)
{
	size_t f = jobs[0]->run_many(jobs, k, m);

	if (f < k) {
		unsigned int e = store_errno();

		/* rolled back while the handle is still open: db_conn_failed
		 * closes a lost connection */
		store_tx_rollback(m);
		if (jobs[f]->rc < 0) {
			/* a database error is nobody's in particular (a key or a
			 * contact committed meanwhile, a deadlock): each of the
			 * run is filed alone when the group runs again */
			for (size_t j = 0; j < k; j++)
				jobs[j]->many_failed = 1;
			db_conn_failed(c, e);
		}
		*at += f;
		return -1;
	}
	many_runs++;
	many_jobs += k;
	for (size_t j = 0; j < k; j++) {
		if (!jobs[j]->later)
			continue;
		many_later++;
		jobs[j]->rc = jobs[j]->run(jobs[j], m);
		if (jobs[j]->rc < 0)
			db_conn_failed(c, store_errno());
		if (jobs[j]->rc != 0 || store_group_aborted()) {
			*at += j;
			return -1;
		}
	}
	if (store_group_aborted()) {
		*at += 0;
		return -1;
	}
	*at += k;
	return 0;
}

/* db worker: several writes in one transaction, the group commit of the
 * application (docs/ARCHITECTURE.md). The jobs run in their queue order,
 * each as if alone: one that is refused or fails aborts the group, which is
 * rolled back; then the jobs before it run again as a group, it runs alone
 * (its refusal or error is then its own), and the jobs after it as a group. */
static void
job_group(struct db_conn *c, struct op_job **jobs, size_t n)
{
	MYSQL *m;
	size_t i;

	if (n == 0)
		return;
	if (n == 1) {
		job_work(c, jobs[0]);
		return;
	}
	if ((m = db_conn_get(c, jobs[0]->err, sizeof jobs[0]->err)) == NULL) {
		for (i = 0; i < n; i++) {
			jobs[i]->rc = -1;
			jobs[i]->db_down = 1;
			if (i > 0)
				memcpy(jobs[i]->err, jobs[0]->err, sizeof jobs[i]->err);
		}
		return;
	}
	store_group_begin();
	for (i = 0; i < n;) {
		size_t k = 1;

		while (jobs[i]->run_many != NULL && !jobs[i]->many_failed && i + k < n &&
		       jobs[i + k]->run_many == jobs[i]->run_many && !jobs[i + k]->many_failed)
			k++;
		if (k > 1 && job_many(c, m, jobs + i, k, &i) != 0)
			break;
		if (k > 1)
			continue;
		jobs[i]->rc = jobs[i]->run(jobs[i], m);
		if (jobs[i]->rc < 0)
			db_conn_failed(c, store_errno()); /* a lost connection reconnects */
		if (jobs[i]->rc != 0 || store_group_aborted())
			break;
		i++;
	}
	if (i == n) {
		unsigned int e;

		if (store_group_end(m, 1, jobs[0]->err, sizeof jobs[0]->err) == 0)
			return;
		e = store_errno();
		if (db_conn_failed(c, e)) {
			/* the connection died in the COMMIT, which may or may not
			 * have landed: running the jobs again could write them
			 * twice, so each answers unavailable, as one job would */
			for (i = 0; i < n; i++) {
				jobs[i]->rc = -1;
				jobs[i]->db_down = 1;
				jobs[i]->db_errno = e;
				if (i > 0)
					memcpy(jobs[i]->err, jobs[0]->err, sizeof jobs[i]->err);
			}
			return;
		}
		/* the COMMIT was refused: nothing of the group is written */
		for (i = 0; i < n; i++)
			job_work(c, jobs[i]);
		return;
	}
	store_group_end(m, 0, NULL, 0);
	group_splits++;
	job_group(c, jobs, i);
	job_work(c, jobs[i]);
	job_group(c, jobs + i + 1, n - i - 1);
}

static void
job_batch(struct db_conn *c, void **args, size_t n)
{
	job_group(c, (struct op_job **)args, n);
}

/* loop: the job is back; answer it. */
static void
job_done(void *arg)
{
	struct op_job *j = arg;
	struct session *s = j->s;

	/* Clock and routing changes are committed whether or not the agent is
	 * still here. */
	if (j->rc == 0 && j->res.code == CC_OK && j->res.sla_ticket != 0)
		sla_run_arm(s->srv, j->res.sla_ticket, j->res.sla_wake_ms);
	if (j->rc == 0 && j->res.code == CC_OK && j->pre != NULL)
		j->pre(j);
	if (j->rc == 0 && j->res.code == CC_OK && j->write)
		router_ticket_changed(s->srv, json_object_get(j->res.reply, "ticket"));
	if (j->rc == 0 && j->res.code == CC_OK && j->post != NULL)
		j->post(j, j->res.reply);
	if (s->state == SESSION_OPEN) {
		if (j->rc < 0) {
			op_reply_db_error(s, j->id, j->sub, j->op, j->err, j->db_down, j->db_errno);
		} else if (j->res.code != CC_OK) {
			session_reply_error(s, j->id, j->res.code, j->res.msg);
		} else {
			json_t *r = proto_reply_ok(j->id);
			json_t *ref =
			    json_object_get(json_object_get(j->res.reply, "ticket"), "ref");
			json_object_update(r, j->res.reply);
			if (j->write)
				log_info(j->sub, "msg=\"changed\" op=%s ref=%s user=%s", j->op,
				         json_is_string(ref) ? json_string_value(ref) : "-",
				         j->actor.user);
			session_send(s, r);
		}
	}
	session_release(s);
	op_job_free(j);
}

void
op_job_submit(struct op_job *j)
{
	struct session *s = j->s;

	session_hold(s);
	if ((j->write ? db_pool_submit_batch(s->srv->db, job_batch, job_done, j)
	              : db_pool_submit(s->srv->db, job_work, job_done, j)) != 0) {
		session_reply_error(s, j->id, CC_ERR_UNAVAILABLE,
		                    "the server is overloaded; try again shortly");
		session_release(s);
		op_job_free(j);
	}
}
