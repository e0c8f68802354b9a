/* migrate.c: apply schema/NNN_name.sql in order, once each.
 *
 * Several servers may start at once against one database, so the whole run
 * holds GET_LOCK('callcentre.migrate'). Each applied file is recorded with
 * its SHA-256; a recorded file whose text changed is refused, because the
 * database would no longer match what the file says. DDL commits implicitly
 * in MariaDB and MySQL, so a migration is recorded only after all of its
 * statements succeeded. */
#include "migrate.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "log.h"

#define MIGRATE_LOCK_TIMEOUT 60

/* Hex SHA-256 of a migration's text. */
static void
migrate_digest(const struct migration *mg, char hex[65])
{
	unsigned char d[32];
	unsigned int n = sizeof d;

	EVP_Digest(mg->sql, mg->len, d, &n, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

/* Run a statement that returns nothing or one value; drains results. */
static int
migrate_simple(MYSQL *m, const char *sql, char *value, size_t vlen)
{
	MYSQL_RES *r;
	MYSQL_ROW row;

	if (mysql_query(m, sql) != 0)
		return -1;
	if ((r = mysql_store_result(m)) != NULL) {
		if (value && (row = mysql_fetch_row(r)) != NULL && row[0] != NULL)
			snprintf(value, vlen, "%s", row[0]);
		mysql_free_result(r);
	}
	return 0;
}

/* Run a multi-statement script, draining every result. */
static int
migrate_script(MYSQL *m, const struct migration *mg)
{
	int status = mysql_real_query(m, mg->sql, (unsigned long)mg->len);

	while (status == 0) {
		MYSQL_RES *r = mysql_store_result(m);
		if (r)
			mysql_free_result(r);
		else if (mysql_field_count(m) != 0)
			return -1;
		status = mysql_next_result(m);
		if (status > 0)
			return -1;
	}
	return status > 0 ? -1 : 0;
}

/* Look up a recorded migration's checksum; 1 found, 0 not, -1 error. */
static int
migrate_recorded(MYSQL *m, const char *name, char *sum, size_t sumlen)
{
	MYSQL_STMT *st = mysql_stmt_init(m);
	MYSQL_BIND p[1], r[1];
	unsigned long nlen = (unsigned long)strlen(name), slen = 0;
	const char *sql = "SELECT checksum FROM schema_migrations WHERE name = ?";
	int rc;

	if (st == NULL)
		return -1;
	memset(p, 0, sizeof p);
	memset(r, 0, sizeof r);
	p[0].buffer_type = MYSQL_TYPE_STRING;
	p[0].buffer = (void *)(uintptr_t)name;
	p[0].buffer_length = nlen;
	p[0].length = &nlen;
	r[0].buffer_type = MYSQL_TYPE_STRING;
	r[0].buffer = sum;
	r[0].buffer_length = (unsigned long)sumlen;
	r[0].length = &slen;
	if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0 || mysql_stmt_bind_param(st, p) != 0 ||
	    mysql_stmt_execute(st) != 0 || mysql_stmt_bind_result(st, r) != 0 ||
	    mysql_stmt_store_result(st) != 0) {
		mysql_stmt_close(st);
		return -1;
	}
	rc = mysql_stmt_fetch(st);
	mysql_stmt_close(st);
	if (rc == MYSQL_NO_DATA)
		return 0;
	if (rc != 0)
		return -1;
	sum[slen < sumlen ? slen : sumlen - 1] = '\0';
	return 1;
}

/* Record an applied migration. */
static int
migrate_record(MYSQL *m, const char *name, const char *sum)
{
	MYSQL_STMT *st = mysql_stmt_init(m);
	MYSQL_BIND p[2];
	unsigned long nlen = (unsigned long)strlen(name), slen = (unsigned long)strlen(sum);
	const char *sql = "INSERT INTO schema_migrations (name, checksum) VALUES (?, ?)";
	int rc;

	if (st == NULL)
		return -1;
	memset(p, 0, sizeof p);
	p[0].buffer_type = p[1].buffer_type = MYSQL_TYPE_STRING;
	p[0].buffer = (void *)(uintptr_t)name;
	p[0].buffer_length = nlen;
	p[0].length = &nlen;
	p[1].buffer = (void *)(uintptr_t)sum;
	p[1].buffer_length = slen;
	p[1].length = &slen;
	rc = mysql_stmt_prepare(st, sql, strlen(sql)) == 0 && mysql_stmt_bind_param(st, p) == 0 &&
	             mysql_stmt_execute(st) == 0
	         ? 0
	         : -1;
	mysql_stmt_close(st);
	return rc;
}

int
migrate_apply(MYSQL *m, char *err, size_t errlen)
{
	char got[8] = "";
	int applied = 0;

	if (migrate_simple(m,
	                   "CREATE TABLE IF NOT EXISTS schema_migrations ("
	                   " name VARCHAR(128) NOT NULL PRIMARY KEY,"
	                   " checksum CHAR(64) NOT NULL,"
	                   " applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)"
	                   ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
	                   NULL, 0) != 0) {
		snprintf(err, errlen, "cannot create schema_migrations: %s", mysql_error(m));
		return -1;
	}
	char lock_sql[96];
	snprintf(lock_sql, sizeof lock_sql, "SELECT GET_LOCK('callcentre.migrate', %d)",
	         MIGRATE_LOCK_TIMEOUT);
	if (migrate_simple(m, lock_sql, got, sizeof got) != 0 || strcmp(got, "1") != 0) {
		snprintf(err, errlen, "cannot take the migration lock within %ds: %s",
		         MIGRATE_LOCK_TIMEOUT, mysql_errno(m) ? mysql_error(m) : "held elsewhere");
		return -1;
	}
	for (size_t i = 0; i < migrations_count; i++) {
		const struct migration *mg = &migrations[i];
		char sum[65], have[80];
		int rc;

		migrate_digest(mg, sum);
		if ((rc = migrate_recorded(m, mg->name, have, sizeof have)) < 0) {
			snprintf(err, errlen, "schema_migrations: %s", mysql_error(m));
			goto fail;
		}
		if (rc == 1) {
			if (strcmp(have, sum) != 0) {
				snprintf(err, errlen,
				         "migration %s was applied with checksum %.12s but the "
				         "file now has %.12s: never edit an applied migration, "
				         "add a new one",
				         mg->name, have, sum);
				goto fail;
			}
			continue;
		}
		log_info("migrate", "msg=\"applying\" file=%s", mg->name);
		if (migrate_script(m, mg) != 0) {
			snprintf(err, errlen, "migration %s failed: %s (mysql error %u)", mg->name,
			         mysql_error(m), mysql_errno(m));
			goto fail;
		}
		if (migrate_record(m, mg->name, sum) != 0) {
			snprintf(err, errlen, "recording migration %s: %s", mg->name,
			         mysql_error(m));
			goto fail;
		}
		applied++;
	}
	migrate_simple(m, "SELECT RELEASE_LOCK('callcentre.migrate')", NULL, 0);
	return applied;
fail:
	migrate_simple(m, "SELECT RELEASE_LOCK('callcentre.migrate')", NULL, 0);
	return -1;
}
