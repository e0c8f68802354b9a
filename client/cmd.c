/* cmd.c: what the user can type. A table of the client's own commands and
 * of the ops it knows how to show, plus one generic form so that a new
 * server op works without a new client:
 *
 *	ticket.show id=42 note="two words" tags:='["a","b"]'
 *
 * sends {"op":"ticket.show","id":42,"note":"two words","tags":["a","b"]}.
 * Unquoted values that read as JSON integers, true or false keep that type;
 * everything else, and anything quoted, is a string; KEY:=JSON passes a JSON
 * value through. Commands on one line are separated by unquoted ';'. */
#include "ccagent.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <openssl/crypto.h>

#define CMD_MAX_PER_LINE 64
#define CMD_MAX_ARGS     256
#define CMD_MAX_KEY      64

struct cmd_entry {
	const char *name;
	const char *alias;
	const char *usage;  /* arguments, for help */
	const char *help;   /* one line */
	const char *detail; /* more, for "help NAME"; may be NULL */
	enum cmd_type type;
};

static const struct cmd_entry cmd_table[] = {
    {"help", NULL, "[COMMAND]", "list the commands, or describe one", NULL, CMD_HELP},
    {"hello", NULL, "", "server name, version, protocol and the ops you may use", NULL,
     CMD_REQUEST},
    {"ping", NULL, "", "check the server answers, and how fast", NULL, CMD_REQUEST},
    {"whoami", NULL, "", "who you are logged in as, and this session's address and TLS", NULL,
     CMD_REQUEST},
    {"logout", NULL, "", "end the session on the server",
     "Revokes the session's resume token. Interactive ccagent then exits; in a\n"
     "script, the commands after it run logged out.",
     CMD_REQUEST},
    {"quit", "exit", "", "leave ccagent (Ctrl-D does the same)",
     "Logs out first, so the session's resume token stops working.", CMD_QUIT},
    {"raw", NULL, "JSON", "send a JSON object as the request; ccagent fills in the id",
     "Example: raw {\"op\":\"whoami\"}", CMD_REQUEST},
    {"ready", NULL, "", "take routed calls and tickets (agent.ready)", NULL, CMD_REQUEST},
    {"pause", NULL, "REASON", "stop taking routed work (agent.pause reason=REASON)",
     "The reasons are listed by 'status'.", CMD_REQUEST},
    {"status", NULL, "", "your routing state and load (agent.status)", NULL, CMD_REQUEST},
    {"accept", NULL, "[TICKET]", "take the offer (offer.accept)",
     "Without TICKET: the ticket of the last offer shown.", CMD_REQUEST},
    {"decline", NULL, "[TICKET]", "refuse the offer; it goes to the next agent (offer.decline)",
     "Without TICKET: the ticket of the last offer shown.", CMD_REQUEST},
};

/* Shortcuts: a command word, the op it sends, and the name of its one
 * optional positional argument (NULL: none). */
static const struct {
	const char *name, *op, *arg;
	int required;
} cmd_shortcuts[] = {
    {"ready", "agent.ready", NULL, 0},         {"pause", "agent.pause", "reason", 1},
    {"status", "agent.status", NULL, 0},       {"accept", "offer.accept", "ticket", 0},
    {"decline", "offer.decline", "ticket", 0},
};

/* The ticket of the last offer shown; "" when none is pending. */
static char cmd_offer[64];

void
cmd_offer_set(const char *ref)
{
	snprintf(cmd_offer, sizeof cmd_offer, "%s", ref ? ref : "");
}

const char *
cmd_offer_get(void)
{
	return cmd_offer;
}
#define CMD_TABLE_SIZE (sizeof cmd_table / sizeof cmd_table[0])

static const char cmd_generic_help[] =
    "Any other name is sent as an op: OP [KEY=VALUE ...], e.g. ticket.show id=42\n"
    "  Unquoted 42, -7, true and false are sent as a JSON number or boolean and\n"
    "  anything else as a string; quote a value to keep spaces or to force a\n"
    "  string (\"42\"); KEY:=JSON sends a JSON value as it is (tags:='[\"a\"]').\n"
    "  Separate several commands with ';'.\n";

/* One word of a command, unquoted and unescaped. */
struct cmd_word {
	char *text;
	int eq;         /* offset of the first unquoted '=', or -1 */
	int json;       /* written KEY:=JSON */
	int quoted;     /* some of the value (after '=') was quoted */
	int key_quoted; /* a quote came before any '=' */
};

/* The table entry called name (or aliased so), or NULL. */
static const struct cmd_entry *
cmd_find(const char *name)
{
	for (size_t i = 0; i < CMD_TABLE_SIZE; i++)
		if (strcmp(cmd_table[i].name, name) == 0 ||
		    (cmd_table[i].alias != NULL && strcmp(cmd_table[i].alias, name) == 0))
			return &cmd_table[i];
	return NULL;
}

/* Read the next word at *pp; 1 with w filled, 0 at the end, -1 on error. */
static int
cmd_next_word(const char **pp, struct cmd_word *w, char *err, size_t errlen)
{
	const char *p = *pp;
	char state = 0;
	size_t n = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0') {
		*pp = p;
		return 0;
	}
	memset(w, 0, sizeof *w);
	w->eq = -1;
	if ((w->text = malloc(strlen(p) + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while (*p != '\0' && (state != 0 || (*p != ' ' && *p != '\t'))) {
		char c = *p++;
		if (state == '\'') {
			if (c == '\'')
				state = 0;
			else
				w->text[n++] = c;
		} else if (state == '"') {
			if (c == '"')
				state = 0;
			else if (c == '\\' && *p != '\0')
				w->text[n++] = *p++;
			else
				w->text[n++] = c;
		} else if (c == '\\' && *p != '\0') {
			w->text[n++] = *p++;
		} else if (c == '"' || c == '\'') {
			state = c;
			if (w->eq >= 0)
				w->quoted = 1;
			else
				w->key_quoted = 1;
		} else {
			if (c == '=' && w->eq < 0) {
				w->eq = (int)n;
				w->json = n > 0 && w->text[n - 1] == ':';
			}
			w->text[n++] = c;
		}
	}
	w->text[n] = '\0';
	*pp = p;
	if (state != 0) {
		snprintf(err, errlen, "unterminated %s quote", state == '"' ? "double" : "single");
		free(w->text);
		return -1;
	}
	return 1;
}

/* Whether s is a JSON integer: -?(0|[1-9][0-9]*). */
static int
cmd_is_integer(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		return s[1] == '\0';
	if (*s < '1' || *s > '9')
		return 0;
	while (*s >= '0' && *s <= '9')
		s++;
	return *s == '\0';
}

/* The JSON value for a KEY=VALUE word's value. */
static json_t *
cmd_value(const struct cmd_word *w, const char *key, const char *value, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *v;

	if (w->json) {
		v = json_loads(value, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
		if (v == NULL)
			snprintf(err, errlen, "%s: invalid JSON: %s", key, jerr.text);
		return v;
	}
	if (!w->quoted) {
		if (strcmp(value, "true") == 0)
			return json_true();
		if (strcmp(value, "false") == 0)
			return json_false();
		if (cmd_is_integer(value)) {
			errno = 0;
			long long i = strtoll(value, NULL, 10);
			if (errno == 0)
				return json_integer((json_int_t)i);
		}
	}
	if ((v = json_string(value)) == NULL)
		snprintf(err, errlen, "%s: not valid UTF-8", key);
	return v;
}

/* Whether key is a usable argument name. */
static int
cmd_key_valid(const char *key)
{
	size_t n = strlen(key);

	if (n == 0 || n > CMD_MAX_KEY)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = key[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return 0;
	}
	return 1;
}

/* Parse "raw JSON": the rest of the command is one JSON object. */
static int
cmd_parse_raw(const char *text, struct cmd *cmd, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *v;

	while (*text == ' ' || *text == '\t')
		text++;
	if (*text == '\0') {
		snprintf(err, errlen, "raw needs a JSON object, e.g. raw {\"op\":\"ping\"}");
		return -1;
	}
	v = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (v == NULL) {
		snprintf(err, errlen, "raw: invalid JSON at column %d: %s", jerr.column, jerr.text);
		return -1;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		snprintf(err, errlen, "raw: the request must be a JSON object");
		return -1;
	}
	json_object_del(v, "id");
	cmd->type = CMD_REQUEST;
	cmd->request = v;
	return 0;
}

/* A shortcut: op, and arg from the one word after it (or, for a ticket,
 * the last offer shown). */
static int
cmd_parse_shortcut(const char *const *op, const char *arg, int required, const struct cmd_entry *ce,
                   const char *p, struct cmd *cmd, char *err, size_t errlen)
{
	struct cmd_word w;
	json_t *req = json_pack("{s:s}", "op", *op);
	int r = cmd_next_word(&p, &w, err, errlen);

	if (r < 0) {
		json_decref(req);
		return -1;
	}
	if (r > 0 && arg == NULL) {
		free(w.text);
		snprintf(err, errlen, "usage: %s", ce->name);
		json_decref(req);
		return -1;
	}
	if (r > 0) {
		json_object_set_new(req, arg, json_string(w.text));
		free(w.text);
		if ((r = cmd_next_word(&p, &w, err, errlen)) != 0) {
			if (r > 0)
				free(w.text);
			snprintf(err, errlen, "usage: %s %s", ce->name, ce->usage);
			json_decref(req);
			return -1;
		}
	} else if (arg != NULL && strcmp(arg, "ticket") == 0 && cmd_offer[0] != '\0') {
		json_object_set_new(req, arg, json_string(cmd_offer));
	} else if (arg != NULL && (required || strcmp(arg, "ticket") == 0)) {
		snprintf(err, errlen, "usage: %s %s%s", ce->name, ce->usage,
		         strcmp(arg, "ticket") == 0 ? " (no offer is pending)" : "");
		json_decref(req);
		return -1;
	}
	cmd->type = CMD_REQUEST;
	cmd->request = req;
	return 1;
}

/* Parse one command (no ';' in it) into cmd. */
static int
cmd_parse_one(const char *text, struct cmd *cmd, char *err, size_t errlen)
{
	const struct cmd_entry *ce;
	struct cmd_word w;
	const char *p = text;
	json_t *req;
	int nargs = 0, r;

	memset(cmd, 0, sizeof *cmd);
	if ((r = cmd_next_word(&p, &w, err, errlen)) <= 0)
		return r; /* 0: an empty command */
	ce = w.key_quoted || w.quoted ? NULL : cmd_find(w.text);
	if (ce != NULL && ce->type == CMD_HELP) {
		free(w.text);
		cmd->type = CMD_HELP;
		if ((r = cmd_next_word(&p, &w, err, errlen)) < 0)
			return -1;
		if (r > 0)
			cmd->topic = w.text;
		if (r > 0 && (r = cmd_next_word(&p, &w, err, errlen)) != 0) {
			if (r > 0)
				free(w.text);
			snprintf(err, errlen, "usage: help [COMMAND]");
			free(cmd->topic);
			cmd->topic = NULL;
			return -1;
		}
		return 1;
	}
	if (ce != NULL && ce->type == CMD_QUIT) {
		free(w.text);
		cmd->type = CMD_QUIT;
		return 1;
	}
	for (size_t i = 0; ce != NULL && i < sizeof cmd_shortcuts / sizeof cmd_shortcuts[0]; i++) {
		if (strcmp(ce->name, cmd_shortcuts[i].name) != 0)
			continue;
		free(w.text);
		return cmd_parse_shortcut(&cmd_shortcuts[i].op, cmd_shortcuts[i].arg,
		                          cmd_shortcuts[i].required, ce, p, cmd, err, errlen);
	}
	if (ce != NULL && strcmp(ce->name, "raw") == 0) {
		free(w.text);
		return cmd_parse_raw(p, cmd, err, errlen) == 0 ? 1 : -1;
	}
	if (!proto_name_valid(w.text)) {
		snprintf(err, errlen, "unknown command '%.64s' (type help for the list)", w.text);
		free(w.text);
		return -1;
	}
	req = json_pack("{s:s}", "op", w.text);
	free(w.text);
	while ((r = cmd_next_word(&p, &w, err, errlen)) > 0) {
		const char *key = w.text, *value;
		size_t wlen = strlen(w.text);
		json_t *v;
		if (w.eq < 0 || w.key_quoted) {
			snprintf(err, errlen,
			         "expected KEY=VALUE, not '%.64s' (quote values with spaces)",
			         w.text);
			goto fail;
		}
		w.text[w.eq - (w.json ? 1 : 0)] = '\0';
		value = w.text + w.eq + 1;
		if (!cmd_key_valid(key)) {
			snprintf(err, errlen, "bad argument name '%.64s'", key);
			goto fail;
		}
		if (strcmp(key, "id") == 0 || strcmp(key, "op") == 0) {
			snprintf(err, errlen, "'%s' is set by ccagent, not as an argument", key);
			goto fail;
		}
		if (json_object_get(req, key) != NULL) {
			snprintf(err, errlen, "argument '%s' given twice", key);
			goto fail;
		}
		if (++nargs > CMD_MAX_ARGS) {
			snprintf(err, errlen, "more than %d arguments", CMD_MAX_ARGS);
			goto fail;
		}
		if ((v = cmd_value(&w, key, value, err, errlen)) == NULL)
			goto fail;
		json_object_set_new(req, key, v);
		OPENSSL_cleanse(w.text, wlen);
		free(w.text);
	}
	if (r < 0) {
		json_decref(req);
		return -1;
	}
	cmd->type = CMD_REQUEST;
	cmd->request = req;
	return 1;
fail:
	free(w.text);
	json_decref(req);
	return -1;
}

/* Parse a line of commands separated by unquoted ';'. */
int
cmd_parse(const char *text, struct cmd_list *out, char *err, size_t errlen)
{
	size_t len = strlen(text), start = 0;
	char state = 0;

	memset(out, 0, sizeof *out);
	for (size_t i = 0; i <= len; i++) {
		char c = text[i];
		if (c != '\0') {
			if (state == '\'') {
				if (c == '\'')
					state = 0;
				continue;
			}
			if (c == '\\' && text[i + 1] != '\0') {
				i++;
				continue;
			}
			if (state == '"') {
				if (c == '"')
					state = 0;
				continue;
			}
			if (c == '"' || c == '\'') {
				state = c;
				continue;
			}
			if (c != ';')
				continue;
		} else if (state != 0) {
			snprintf(err, errlen, "unterminated %s quote",
			         state == '"' ? "double" : "single");
			goto fail;
		}
		/* text[start..i) is one command */
		char *one = strndup(text + start, i - start);
		struct cmd cmd;
		int r;
		if (one == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		r = cmd_parse_one(one, &cmd, err, errlen);
		OPENSSL_cleanse(one, i - start);
		free(one);
		if (r < 0)
			goto fail;
		start = i + 1;
		if (r == 0)
			continue;
		if (out->n == CMD_MAX_PER_LINE) {
			snprintf(err, errlen, "more than %d commands on one line",
			         CMD_MAX_PER_LINE);
			json_decref(cmd.request);
			free(cmd.topic);
			goto fail;
		}
		struct cmd *v = realloc(out->v, (out->n + 1) * sizeof *v);
		if (v == NULL) {
			snprintf(err, errlen, "out of memory");
			json_decref(cmd.request);
			free(cmd.topic);
			goto fail;
		}
		out->v = v;
		out->v[out->n++] = cmd;
	}
	return 0;
fail:
	cmd_list_free(out);
	return -1;
}

/* Free a parsed command list. */
void
cmd_list_free(struct cmd_list *list)
{
	for (size_t i = 0; i < list->n; i++) {
		json_decref(list->v[i].request);
		free(list->v[i].topic);
	}
	free(list->v);
	list->v = NULL;
	list->n = 0;
}

/* Help for every command, or for the one called topic. */
char *
cmd_help(const char *topic)
{
	struct evbuffer *b = evbuffer_new();
	const char *const *ops = session_ops();
	char left[64];

	if (b == NULL)
		abort();
	if (topic != NULL) {
		const struct cmd_entry *ce = cmd_find(topic);
		if (ce == NULL) {
			evbuffer_add_printf(b, "%s", cmd_generic_help);
		} else {
			evbuffer_add_printf(b, "%s%s%s%s%s: %s\n", ce->name, ce->alias ? ", " : "",
			                    ce->alias ? ce->alias : "", *ce->usage ? " " : "",
			                    ce->usage, ce->help);
			if (ce->detail != NULL)
				evbuffer_add_printf(b, "%s\n", ce->detail);
		}
		return render_take(b);
	}
	evbuffer_add_printf(b, "Commands:\n");
	for (size_t i = 0; i < CMD_TABLE_SIZE; i++) {
		const struct cmd_entry *ce = &cmd_table[i];
		snprintf(left, sizeof left, "%s%s%s%s%s", ce->name, ce->alias ? ", " : "",
		         ce->alias ? ce->alias : "", *ce->usage ? " " : "", ce->usage);
		evbuffer_add_printf(b, "  %-18s %s\n", left, ce->help);
	}
	evbuffer_add_printf(b, "%s", cmd_generic_help);
	if (ops[0] != NULL) {
		evbuffer_add_printf(b, "Server ops:");
		for (size_t i = 0; ops[i] != NULL; i++)
			evbuffer_add_printf(b, "%s %s", i ? "," : "", ops[i]);
		evbuffer_add_printf(b, "\n");
	}
	return render_take(b);
}

/* Completion candidates: the table's names, then the server's other ops. */
char *
cmd_complete(const char *prefix, int state)
{
	static size_t next;
	const char *const *ops = session_ops();
	size_t plen = strlen(prefix);

	if (state == 0)
		next = 0;
	while (next < CMD_TABLE_SIZE * 2) {
		const struct cmd_entry *ce = &cmd_table[next / 2];
		const char *name = next % 2 == 0 ? ce->name : ce->alias;
		next++;
		if (name != NULL && strncmp(name, prefix, plen) == 0)
			return strdup(name);
	}
	for (;;) {
		const char *op = ops[next - CMD_TABLE_SIZE * 2];
		if (op == NULL)
			return NULL;
		next++;
		if (strncmp(op, prefix, plen) == 0 && cmd_find(op) == NULL)
			return strdup(op);
	}
}

/* Lines with secrets, or starting with a space, stay out of the history. */
int
cmd_history_ok(const char *line)
{
	if (*line == '\0' || *line == ' ')
		return 0;
	return strcasestr(line, "password") == NULL && strcasestr(line, "token") == NULL;
}
