/* errcode.h: the protocol's stable error codes. */
#ifndef CC_ERRCODE_H
#define CC_ERRCODE_H

enum cc_err {
	CC_OK = 0,
	CC_ERR_BAD_REQUEST,
	CC_ERR_UNAUTHORIZED,
	CC_ERR_FORBIDDEN,
	CC_ERR_NOT_FOUND,
	CC_ERR_CONFLICT,
	CC_ERR_TOO_LARGE,
	CC_ERR_RATE_LIMITED,
	CC_ERR_UNAVAILABLE,
	CC_ERR_INTERNAL,
	CC_ERR__COUNT
};

/* The wire slug of a code ("bad_request"); "internal" for out-of-range. */
const char *cc_err_slug(enum cc_err code);
/* A human sentence for a code, used when a handler gives none. */
const char *cc_err_message(enum cc_err code);
/* The code for a slug; -1 when the slug is unknown. */
int cc_err_from_slug(const char *slug);

#endif
