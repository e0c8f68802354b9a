/* log.h: levelled key=value logging to stderr, safe from any thread. */
#ifndef CC_LOG_H
#define CC_LOG_H

#include <stdarg.h>

enum log_level { LOGL_DEBUG, LOGL_INFO, LOGL_WARN, LOGL_ERROR };

/* Set the lowest level printed. */
void log_set_level(enum log_level level);
/* Parse "debug", "info", "warn", "error"; -1 when unknown. */
int log_level_parse(const char *name);
/* Print "ts=... level=... sub=... <fmt>" as one line. */
void log_msg(enum log_level level, const char *sub, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(sub, ...) log_msg(LOGL_DEBUG, sub, __VA_ARGS__)
#define log_info(sub, ...)  log_msg(LOGL_INFO, sub, __VA_ARGS__)
#define log_warn(sub, ...)  log_msg(LOGL_WARN, sub, __VA_ARGS__)
#define log_error(sub, ...) log_msg(LOGL_ERROR, sub, __VA_ARGS__)

#endif
