/* page.c: see page.h. */
#include "page.h"
