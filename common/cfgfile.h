/* cfgfile.h: table-driven INI configuration, shared by callcentred and
 * ccgateway. Each program describes its keys in one table of struct
 * cfg_key (section, name, type, the field's offset and size in its config
 * struct, the default and an integer's bounds); the functions here fill
 * the struct from the defaults, an INI file and section.key=value
 * overrides, refusing unknown keys and bad values with a clear message. */
#ifndef CC_CFGFILE_H
#define CC_CFGFILE_H

#include <stddef.h>

enum cfg_type { CFG_INT, CFG_STR, CFG_PATH };

struct cfg_key {
	const char *section;
	const char *name;
	enum cfg_type type;
	size_t offset;
	size_t size; /* for strings and paths */
	const char *def;
	long min, max; /* for ints */
};

/* Table rows for a field of struct type T: an int with bounds, a string, a
 * path (relative paths are taken from the config file's folder). */
#define CFG_INT_KEY(T, sec, key, field, d, lo, hi)                                                 \
	{                                                                                          \
		sec, key, CFG_INT, offsetof(T, field), 0, d, lo, hi                                \
	}
#define CFG_STR_KEY(T, sec, key, field, d)                                                         \
	{                                                                                          \
		sec, key, CFG_STR, offsetof(T, field), sizeof(((T *)0)->field), d, 0, 0            \
	}
#define CFG_PATH_KEY(T, sec, key, field, d)                                                        \
	{                                                                                          \
		sec, key, CFG_PATH, offsetof(T, field), sizeof(((T *)0)->field), d, 0, 0           \
	}

/* The key section.name of keys[0..n), or NULL. */
const struct cfg_key *cfg_find(const struct cfg_key *keys, size_t n, const char *section,
                               const char *name);
/* Store value into the field of cfg that k describes: 0, or -1 with err. */
int cfg_store(void *cfg, const struct cfg_key *k, const char *value, char *err, size_t errlen);
/* Every key's default into cfg (aborts when a default breaks its own
 * bounds: a bug in the table). */
void cfg_defaults(void *cfg, const struct cfg_key *keys, size_t n);
/* Read the INI file at path into cfg, and the file's folder into base_dir
 * (for relative paths): 0, or -1 with err ("path:line: what"). */
int cfg_load_file(void *cfg, const struct cfg_key *keys, size_t n, const char *path, char *base_dir,
                  size_t base_dir_size, char *err, size_t errlen);
/* A "section.key=value" override: 0, or -1 with err. */
int cfg_set(void *cfg, const struct cfg_key *keys, size_t n, const char *assignment, char *err,
            size_t errlen);
/* "host:port" or "[v6]:port" into host and *port (0..65535): 0 or -1. */
int cfg_split_addr(const char *addr, char *host, size_t hostlen, int *port);

#endif
