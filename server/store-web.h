/* store-web.h: the database side of the ops behind ccgateway (op-web.c). */
#ifndef CC_STORE_WEB_H
#define CC_STORE_WEB_H

#include <mysql.h>

#include "store-ticket.h"

#endif
