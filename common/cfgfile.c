/* cfgfile.c: see cfgfile.h. */
#include "cfgfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

const struct cfg_key *
cfg_find(const struct cfg_key *keys, size_t n, const char *section, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

int
cfg_store(void *cfg, const struct cfg_key *k, const char *value, char *err, size_t errlen)
{
	char *field = (char *)cfg + k->offset;

	if (k->type == CFG_INT) {
		char *end;
		errno = 0;
		long v = strtol(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0') {
			snprintf(err, errlen, "%s.%s: \"%s\" is not an integer", k->section,
			         k->name, value);
			return -1;
		}
		if (v < k->min || v > k->max) {
			snprintf(err, errlen, "%s.%s: %ld is out of range %ld..%ld", k->section,
			         k->name, v, k->min, k->max);
			return -1;
		}
		*(int *)(void *)field = (int)v;
		return 0;
	}
	if (strlen(value) >= k->size) {
		snprintf(err, errlen, "%s.%s: value longer than %zu bytes", k->section, k->name,
		         k->size - 1);
		return -1;
	}
	memcpy(field, value, strlen(value) + 1);
	return 0;
}

void
cfg_defaults(void *cfg, const struct cfg_key *keys, size_t n)
{
	char err[64];

	for (size_t i = 0; i < n; i++)
		if (cfg_store(cfg, &keys[i], keys[i].def, err, sizeof err) != 0)
			abort(); /* a default out of its own bounds is a bug */
}

struct cfg_parse {
	void *cfg;
	const struct cfg_key *keys;
	size_t n;
	char *err;
	size_t errlen;
	int failed;
};

static int
cfg_ini_handler(void *user, const char *section, const char *name, const char *value)
{
	struct cfg_parse *p = user;
	const struct cfg_key *k;

	if (p->failed)
		return 0;
	if ((k = cfg_find(p->keys, p->n, section, name)) == NULL) {
		snprintf(p->err, p->errlen, "unknown key %s.%s", section, name);
		p->failed = 1;
		return 0;
	}
	if (cfg_store(p->cfg, k, value, p->err, p->errlen) != 0) {
		p->failed = 1;
		return 0;
	}
	return 1;
}

int
cfg_load_file(void *cfg, const struct cfg_key *keys, size_t n, const char *path, char *base_dir,
              size_t base_dir_size, char *err, size_t errlen)
{
	struct cfg_parse p = {cfg, keys, n, err, errlen, 0};
	char msg[512];
	FILE *f;
	int line;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	line = ini_parse_file(f, cfg_ini_handler, &p);
	fclose(f);
	if (line != 0) {
		if (p.failed)
			snprintf(msg, sizeof msg, "%s:%d: %s", path, line, err);
		else
			snprintf(msg, sizeof msg, "%s:%d: syntax error", path, line);
		snprintf(err, errlen, "%s", msg);
		return -1;
	}
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		snprintf(base_dir, base_dir_size, ".");
	else if (slash == path)
		snprintf(base_dir, base_dir_size, "/");
	else
		snprintf(base_dir, base_dir_size, "%.*s", (int)(slash - path), path);
	return 0;
}

int
cfg_set(void *cfg, const struct cfg_key *keys, size_t n, const char *assignment, char *err,
        size_t errlen)
{
	char section[64], name[64];
	const char *dot = strchr(assignment, '.');
	const char *eq = strchr(assignment, '=');
	const struct cfg_key *k;

	if (dot == NULL || eq == NULL || dot > eq || dot == assignment || eq == dot + 1 ||
	    (size_t)(dot - assignment) >= sizeof section || (size_t)(eq - dot - 1) >= sizeof name) {
		snprintf(err, errlen, "override \"%s\" is not section.key=value", assignment);
		return -1;
	}
	snprintf(section, sizeof section, "%.*s", (int)(dot - assignment), assignment);
	snprintf(name, sizeof name, "%.*s", (int)(eq - dot - 1), dot + 1);
	if ((k = cfg_find(keys, n, section, name)) == NULL) {
		snprintf(err, errlen, "unknown key %s.%s", section, name);
		return -1;
	}
	return cfg_store(cfg, k, eq + 1, err, errlen);
}

int
cfg_split_addr(const char *addr, char *host, size_t hostlen, int *port)
{
	const char *colon;
	size_t n;
	char *end;

	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');
		if (close == NULL || close[1] != ':')
			return -1;
		n = (size_t)(close - addr - 1);
		colon = close + 1;
		addr++;
	} else {
		if ((colon = strrchr(addr, ':')) == NULL)
			return -1;
		n = (size_t)(colon - addr);
	}
	if (n == 0 || n >= hostlen)
		return -1;
	memcpy(host, addr, n);
	host[n] = '\0';
	errno = 0;
	long p = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || end == colon + 1 || p < 0 || p > 65535)
		return -1;
	*port = (int)p;
	return 0;
}
