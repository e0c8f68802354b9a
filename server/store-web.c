/* store-web.c: see store-web.h. */
#include "store-web.h"
