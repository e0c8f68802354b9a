/* op-job.h: the plumbing of an op that runs one store call on a db worker.
 *
 * An op checks its arguments on the loop, fills a job, and submits it; the
 * worker runs the job's run function inside the store, and the loop answers
 * when it is back: a database error as unavailable or internal (logged,
 * never sent), a refusal with its code and message, or ok with the members
 * the store built. A write is answered ok only after its COMMIT. A module's
 * job struct starts with a struct op_job, followed by its own input. */
#ifndef CC_OP_JOB_H
#define CC_OP_JOB_H

#include <stddef.h>
#include <stdint.h>

#include <mysql.h>

#include "server.h"
#include "store-ticket.h"

struct op_job;

/* Worker: run the job's store call; 0 (done or refused, see j->res) or -1
 * on a database error (j->err). */
typedef int (*op_job_fn)(struct op_job *j, MYSQL *m);

struct op_job {
	struct session *s;
	json_int_t id;
	const char *sub; /* log subsystem ("ticket") */
	const char *op;  /* the op's name, for logs */
	int write;       /* a change: logged when it succeeds */
	struct ticket_actor actor;
	int64_t now_ms; /* the time of the change, taken on the loop */
	op_job_fn run;
	/* Loop, after a successful write: pre before the router hears of the
	 * ticket, post after it (and may add members to the reply). NULL: none. */
	void (*pre)(struct op_job *j);
	void (*post)(struct op_job *j, json_t *reply);
	/* Worker, optional: run several jobs of the same op at once inside a
	 * group (op-job.c), with multi-row statements. Returns n when each
	 * job is done (rc and res set) or marked later (then run alone with
	 * run, after the others), else the index of the first job that
	 * failed (rc -1) or must run alone: the group is then rolled back
	 * and split there. */
	size_t (*run_many)(struct op_job **jobs, size_t n, MYSQL *m);
	int later;       /* run_many left it to run alone */
	int many_failed; /* a run_many with it failed: it runs alone from now on */

	int rc; /* 0, or -1 on a database error */
	int db_down;
	unsigned int db_errno;
	char err[256];
	struct ticket_result res;
};

/* A zeroed job of size bytes (a struct that starts with struct op_job) for
 * the logged-in agent of s; aborts when out of memory. */
void *op_job_new(size_t size, struct session *s, json_int_t id, const char *sub, const char *op,
                 int write, op_job_fn run);
/* Queue the job, or answer "unavailable" and free it. */
void op_job_submit(struct op_job *j);
/* Groups of writes that were rolled back and split because one of them was
 * refused or failed (op-job.c). */
unsigned long long op_job_group_splits(void);
/* Batches run with run_many (runs), the jobs in them, and those of them
 * left to run alone (later). */
void op_job_many_stats(unsigned long long *runs, unsigned long long *jobs,
                       unsigned long long *later);
/* Free a job that was never submitted (its arguments were refused). */
void op_job_free(struct op_job *j);

#endif
