/* ui.c: the terminal. Interactive input goes through libedit's readline
 * callback interface, fed one character at a time from a libevent event on
 * standard input, so replies and server events are handled while the user
 * types. Anything printed while a prompt is on screen first erases the
 * prompt and the partial line (all the rows they wrap over), prints, and
 * then has libedit draw them again with the cursor where it was.
 *
 * libedit differs from GNU readline in one way that matters here: after the
 * line handler runs it leaves the terminal in cooked mode with the old line
 * still in its buffer, so the handler is installed again after every line. */
#include "ccagent.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wchar.h>

#include <editline/readline.h>
#include <openssl/crypto.h>

#include "sanitize.h"

static struct ui {
	struct event_base *base;
	int interactive;
	int quiet;
	int active;       /* the editor is installed */
	int held;         /* no more input wanted (quitting) */
	int prompt_shown; /* the prompt and partial line are on screen */
	char *prompt;
	void (*line_cb)(char *line);
	struct event *stdin_ev;
	struct event *sig_ev[5];
	char history[PATH_MAX];
} ui;

/* Terminal columns taken by the first n bytes of s. */
static size_t
ui_width(const char *s, size_t n)
{
	mbstate_t st;
	size_t w = 0;

	memset(&st, 0, sizeof st);
	while (n > 0) {
		wchar_t wc;
		size_t k = mbrtowc(&wc, s, n, &st);
		if (k == (size_t)-1 || k == (size_t)-2) {
			memset(&st, 0, sizeof st);
			k = 1;
			w++;
		} else if (k == 0) {
			break;
		} else {
			int cw = wcwidth(wc);
			w += cw > 0 ? (size_t)cw : 0;
		}
		s += k;
		n -= k;
	}
	return w;
}

/* Erase the prompt and partial line, leaving the cursor where it began. */
static void
ui_hide_line(void)
{
	int rows = 0, cols = 0;
	size_t at;

	rl_get_screen_size(&rows, &cols);
	if (cols <= 0)
		cols = 80;
	at = ui_width(ui.prompt, strlen(ui.prompt));
	if (rl_line_buffer != NULL && rl_point > 0 && (size_t)rl_point <= strlen(rl_line_buffer))
		at += ui_width(rl_line_buffer, (size_t)rl_point);
	fputs("\r", stdout);
	if (at / (size_t)cols > 0)
		fprintf(stdout, "\033[%zuA", at / (size_t)cols);
	fputs("\033[J", stdout);
	fflush(stdout);
}

/* Write text on f above the prompt; sanitised, newline-terminated. */
static void
ui_write(FILE *f, const char *text)
{
	char *safe = term_sanitize(text, strlen(text), 1);
	size_t n = strlen(safe);
	int hide = ui.active && ui.prompt_shown;

	if (hide)
		ui_hide_line();
	fputs(safe, f);
	if (n == 0 || safe[n - 1] != '\n')
		fputc('\n', f);
	fflush(f);
	if (hide) {
		rl_forced_update_display();
		fflush(stdout);
	}
	free(safe);
}

/* Output a result on stdout. */
void
ui_print(const char *text)
{
	ui_write(stdout, text);
}

/* A status line; --quiet drops it. */
void
ui_info(const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	if (ui.quiet)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	ui_write(ui.interactive ? stdout : stderr, buf);
}

/* An error or warning on stderr. */
void
ui_error(const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	fflush(stdout);
	ui_write(stderr, buf);
}

/* Find (and create, 0700) the history folder; fill ui.history. */
static int
ui_history_path(void)
{
	const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char dir[PATH_MAX];
	int n;

	if (state != NULL && state[0] == '/')
		n = snprintf(dir, sizeof dir, "%s/ccagent", state);
	else {
		if (home == NULL || home[0] != '/') {
			struct passwd *pw = getpwuid(getuid());
			if (pw == NULL)
				return -1;
			home = pw->pw_dir;
		}
		n = snprintf(dir, sizeof dir, "%s/.local/state/ccagent", home);
	}
	if (n < 0 || (size_t)n >= sizeof dir - sizeof "/history")
		return -1;
	for (char *p = dir + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return -1;
	if (snprintf(ui.history, sizeof ui.history, "%s/history", dir) >= (int)sizeof ui.history)
		return -1;
	return 0;
}

/* Write the history file, readable by its owner only. */
static void
ui_history_save(void)
{
	int fd;

	if (ui.history[0] == '\0')
		return;
	fd = open(ui.history, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || fchmod(fd, 0600) != 0 || write_history(ui.history) != 0)
		fprintf(stderr, "ccagent: cannot save history to %s: %s\n", ui.history,
		        strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* libedit: a complete line (NULL at end of input). */
static void
ui_line(char *line)
{
	ui.prompt_shown = 0;
	if (line == NULL) {
		fputs("\n", stdout);
		fflush(stdout);
		ui.line_cb(NULL);
		return;
	}
	if (cmd_history_ok(line)) {
		HIST_ENTRY *last = history_get(history_base + history_length - 1);
		if (last == NULL || strcmp(last->line, line) != 0)
			add_history(line);
	}
	ui.line_cb(line);
	OPENSSL_cleanse(line, strlen(line));
	free(line);
	if (ui.active && !ui.held) {
		rl_callback_handler_install(ui.prompt, ui_line);
		ui.prompt_shown = 1;
	}
}

/* Standard input is readable: one character to libedit. */
static void
ui_stdin_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	rl_callback_read_char();
}

/* Ctrl-Z: give the terminal back, stop, and redraw on the way back. */
static void
ui_suspend(void)
{
	char *saved = NULL;
	int point = rl_point;

	if (ui.prompt_shown) {
		saved = rl_copy_text(0, rl_end);
		ui_hide_line();
	}
	rl_callback_handler_remove();
	fflush(stdout);
	raise(SIGSTOP);
	/* continued */
	if (!ui.held) {
		rl_callback_handler_install(ui.prompt, ui_line);
		if (saved != NULL) {
			rl_insert_text(saved);
			rl_point = point;
			rl_forced_update_display();
		}
	}
	if (saved != NULL) {
		OPENSSL_cleanse(saved, strlen(saved));
		free(saved);
	}
}

/* Signals while the editor runs. */
static void
ui_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	switch (sig) {
	case SIGINT:
		if (ui.held) {
			client_exit(EXIT_OK);
			break;
		}
		/* like a shell: abandon the line, fresh prompt */
		fputs("^C\n", stdout);
		rl_callback_handler_remove();
		rl_callback_handler_install(ui.prompt, ui_line);
		ui.prompt_shown = 1;
		break;
	case SIGWINCH:
		rl_resize_terminal();
		break;
	case SIGTSTP:
		ui_suspend();
		break;
	case SIGTERM:
	case SIGHUP:
		if (ui.held)
			client_exit(EXIT_OK);
		else
			ui.line_cb(NULL);
		break;
	}
}

/* Complete the first word: commands and the server's ops. */
static char **
ui_complete(const char *text, int start, int end)
{
	(void)end;
	rl_attempted_completion_over = 1;
	if (start != 0)
		return NULL;
	return rl_completion_matches(text, cmd_complete);
}

/* Remember the mode; nothing is drawn yet. */
void
ui_init(struct event_base *base, int interactive, int quiet)
{
	memset(&ui, 0, sizeof ui);
	ui.base = base;
	ui.interactive = interactive;
	ui.quiet = quiet;
	ui.prompt = strdup("> ");
}

/* Start the line editor with prompt; lines go to line_cb. */
int
ui_start(const char *prompt, void (*line_cb)(char *line))
{
	static const int sigs[] = {SIGINT, SIGWINCH, SIGTSTP, SIGTERM, SIGHUP};

	ui.line_cb = line_cb;
	free(ui.prompt);
	ui.prompt = strdup(prompt);
	rl_catch_signals = 0; /* ours, through libevent */
	rl_readline_name = "ccagent";
	rl_attempted_completion_function = ui_complete;
	rl_initialize();
	stifle_history(AGENT_HISTORY_MAX);
	if (ui_history_path() == 0)
		read_history(ui.history);
	else
		ui.history[0] = '\0';
	ui.stdin_ev = event_new(ui.base, STDIN_FILENO, EV_READ | EV_PERSIST, ui_stdin_cb, NULL);
	if (ui.stdin_ev == NULL || event_add(ui.stdin_ev, NULL) != 0)
		return -1;
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		ui.sig_ev[i] = evsignal_new(ui.base, sigs[i], ui_signal_cb, NULL);
		if (ui.sig_ev[i] == NULL || evsignal_add(ui.sig_ev[i], NULL) != 0)
			return -1;
	}
	rl_callback_handler_install(ui.prompt, ui_line);
	ui.active = 1;
	ui.prompt_shown = 1;
	return 0;
}

/* Stop taking input (quitting): the prompt goes away. */
void
ui_hold(void)
{
	if (!ui.active || ui.held)
		return;
	ui.held = 1;
	event_del(ui.stdin_ev);
	if (ui.prompt_shown)
		ui_hide_line();
	ui.prompt_shown = 0;
}

/* Restore the terminal and save the history. */
void
ui_stop(void)
{
	if (ui.active) {
		ui_hold();
		rl_callback_handler_remove();
		ui_history_save();
		event_free(ui.stdin_ev);
		for (size_t i = 0; i < sizeof ui.sig_ev / sizeof ui.sig_ev[0]; i++)
			if (ui.sig_ev[i] != NULL)
				event_free(ui.sig_ev[i]);
		ui.active = 0;
	}
	free(ui.prompt);
	ui.prompt = NULL;
}

/* Change the prompt, redrawing it when it is on screen. */
void
ui_set_prompt(const char *prompt)
{
	char *p = strdup(prompt);

	if (p == NULL)
		return;
	if (ui.active && ui.prompt_shown)
		ui_hide_line();
	free(ui.prompt);
	ui.prompt = p;
	if (ui.active) {
		rl_set_prompt(ui.prompt);
		if (ui.prompt_shown)
			rl_forced_update_display();
		fflush(stdout);
	}
}
