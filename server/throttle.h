/* throttle.h: failed-login throttling by key (a user name or an address).
 * Pure: no clock reads, time is a parameter; bounded in size. */
#ifndef CC_THROTTLE_H
#define CC_THROTTLE_H

#include <stddef.h>
#include <time.h>

struct throttle;

/* max_failures within window seconds lock a key for lockout seconds; at
 * most max_keys keys are tracked (when full, the oldest key that is neither
 * locked nor busy is forgotten; locked keys are never forgotten early). */
struct throttle *throttle_new(int max_failures, int window, int lockout, size_t max_keys);
void throttle_free(struct throttle *t);
/* Seconds key must still wait before trying again; 0 when it may try now.
 * Attempts in flight (begun, not ended) count with the failures: when
 * together they reach the limit, the answer is 1 s. */
int throttle_wait(struct throttle *t, const char *key, time_t now);
/* An attempt by key starts; -1 when the table is full of locked or busy
 * keys (the caller refuses the attempt). Every begin needs one end. */
int throttle_begin(struct throttle *t, const char *key, time_t now);
/* The attempt is over; throttle_fail separately when it failed. */
void throttle_end(struct throttle *t, const char *key);
/* Record a failed attempt by key at now. */
void throttle_fail(struct throttle *t, const char *key, time_t now);
/* Forget key's failures after a successful login. */
void throttle_clear(struct throttle *t, const char *key);
/* Drop keys whose window and lockout have passed. */
void throttle_expire(struct throttle *t, time_t now);
/* Number of keys tracked. */
size_t throttle_count(const struct throttle *t);

#endif
