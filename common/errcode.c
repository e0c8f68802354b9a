/* errcode.c: error code table. Slugs are part of the protocol: never rename. */
#include "errcode.h"

#include <string.h>

static const struct {
	const char *slug;
	const char *message;
} err_table[CC_ERR__COUNT] = {
    [CC_OK] = {"ok", "success"},
    [CC_ERR_BAD_REQUEST] = {"bad_request", "the request is malformed"},
    [CC_ERR_UNAUTHORIZED] = {"unauthorized", "log in first"},
    [CC_ERR_FORBIDDEN] = {"forbidden", "your role may not do this"},
    [CC_ERR_NOT_FOUND] = {"not_found", "no such object"},
    [CC_ERR_CONFLICT] = {"conflict", "the object changed since you read it"},
    [CC_ERR_TOO_LARGE] = {"too_large", "the request is too large"},
    [CC_ERR_RATE_LIMITED] = {"rate_limited", "too many attempts; wait and retry"},
    [CC_ERR_UNAVAILABLE] = {"unavailable", "the service is temporarily unavailable"},
    [CC_ERR_INTERNAL] = {"internal", "internal server error"},
};

const char *
cc_err_slug(enum cc_err code)
{
	if ((int)code < 0 || code >= CC_ERR__COUNT)
		return err_table[CC_ERR_INTERNAL].slug;
	return err_table[code].slug;
}

const char *
cc_err_message(enum cc_err code)
{
	if ((int)code < 0 || code >= CC_ERR__COUNT)
		return err_table[CC_ERR_INTERNAL].message;
	return err_table[code].message;
}

int
cc_err_from_slug(const char *slug)
{
	for (int i = 0; i < CC_ERR__COUNT; i++)
		if (slug != NULL && strcmp(slug, err_table[i].slug) == 0)
			return i;
	return -1;
}
