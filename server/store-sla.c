/* store-sla.c: see store-sla.h. */
#include "store-sla.h"

int
store_sla_apply(MYSQL *m, const struct sla_change *c, int64_t now_ms, int64_t *wake_ms, char *err,
                size_t errlen)
{
	(void)m;
	(void)c;
	(void)now_ms;
	(void)err;
	(void)errlen;
	*wake_ms = SLA_NEVER;
	return 0;
}
