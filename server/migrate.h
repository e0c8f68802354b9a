/* migrate.h: schema migrations compiled in from schema/NNN_name.sql. */
#ifndef CC_MIGRATE_H
#define CC_MIGRATE_H

#include <stddef.h>

#include <mysql.h>

struct migration {
	const char *name; /* "001_initial.sql" */
	const char *sql;
	size_t len;
};

extern const struct migration migrations[];
extern const size_t migrations_count;

/* Apply pending migrations in order under the named lock. Returns the
 * number applied, or -1 with err naming the file and the SQL error. */
int migrate_apply(MYSQL *m, char *err, size_t errlen);

#endif
