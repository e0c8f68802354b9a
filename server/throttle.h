/* throttle.h: failed-login throttling by key (a user name or an address).
 * Pure: no clock reads, time is a parameter; bounded in size. */
#ifndef CC_THROTTLE_H
#define CC_THROTTLE_H

#include <stddef.h>
#include <time.h>

struct throttle;

/* max_failures within window seconds lock a key for lockout seconds; at
 * most max_keys keys are tracked (the oldest is forgotten first). */
struct throttle *throttle_new(int max_failures, int window, int lockout, size_t max_keys);
void throttle_free(struct throttle *t);
/* Seconds key must still wait before trying again; 0 when it may try now. */
int throttle_wait(struct throttle *t, const char *key, time_t now);
/* Record a failed attempt by key at now. */
void throttle_fail(struct throttle *t, const char *key, time_t now);
/* Forget key's failures after a successful login. */
void throttle_clear(struct throttle *t, const char *key);
/* Drop keys whose window and lockout have passed. */
void throttle_expire(struct throttle *t, time_t now);
/* Number of keys tracked. */
size_t throttle_count(const struct throttle *t);

#endif
