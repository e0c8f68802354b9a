/* prompt.c: asking for the user name and password on the controlling
 * terminal, before the event loop starts. The password prompt turns echo
 * off; a signal that arrives meanwhile (Ctrl-C, Ctrl-Z, hang-up) first gets
 * the terminal's echo back and is then delivered as usual, so an
 * interrupted prompt never leaves the terminal silent. */
#include "ccagent.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

static volatile sig_atomic_t prompt_signo;

static const int prompt_signals[] = {SIGALRM, SIGHUP,  SIGINT,  SIGPIPE, SIGQUIT,
                                     SIGTERM, SIGTSTP, SIGTTIN, SIGTTOU};
#define PROMPT_NSIG (sizeof prompt_signals / sizeof prompt_signals[0])

/* Note the signal; the read returns EINTR and the prompt cleans up. */
static void
prompt_on_signal(int sig)
{
	prompt_signo = sig;
}

/* Read one line from fd into buf. 0, or -1 (error, EOF, too long). */
static int
prompt_read_line(int fd, char *buf, size_t len, size_t *n)
{
	int too_long = 0;
	char c;

	*n = 0;
	for (;;) {
		ssize_t r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR && prompt_signo == 0)
			continue;
		if (r <= 0)
			return -1;
		if (c == '\n')
			break;
		if (*n + 1 < len)
			buf[(*n)++] = c;
		else
			too_long = 1;
	}
	if (*n > 0 && buf[*n - 1] == '\r')
		(*n)--;
	buf[*n] = '\0';
	return too_long ? -1 : 0;
}

/* Ask question on /dev/tty; echo off for secrets. */
int
prompt_tty(const char *question, int echo, char *buf, size_t len, char *err, size_t errlen)
{
	struct sigaction sa, saved[PROMPT_NSIG];
	struct termios old, quiet;
	int fd, have_termios, rc;
	size_t n;

again:
	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "no terminal to ask on (/dev/tty: %s)", strerror(errno));
		return -1;
	}
	prompt_signo = 0;
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = prompt_on_signal; /* no SA_RESTART: read must return */
	for (size_t i = 0; i < PROMPT_NSIG; i++)
		sigaction(prompt_signals[i], &sa, &saved[i]);
	have_termios = tcgetattr(fd, &old) == 0;
	if (!echo && have_termios) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
		tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	if (write(fd, question, strlen(question)) < 0) {
		/* the read below fails the same way */
	}
	rc = prompt_read_line(fd, buf, len, &n);
	if (!echo && write(fd, "\n", 1) < 0) {
		/* nothing to do: the line was read */
	}
	if (!echo && have_termios)
		tcsetattr(fd, TCSAFLUSH, &old);
	close(fd);
	for (size_t i = 0; i < PROMPT_NSIG; i++)
		sigaction(prompt_signals[i], &saved[i], NULL);
	if (prompt_signo != 0) {
		int sig = prompt_signo;
		OPENSSL_cleanse(buf, len);
		kill(getpid(), sig);
		/* still here: stopped and continued (Ctrl-Z, fg), or ignored */
		if (sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
			goto again;
		snprintf(err, errlen, "interrupted");
		return -1;
	}
	if (rc != 0) {
		OPENSSL_cleanse(buf, len);
		snprintf(err, errlen, n + 1 >= len ? "answer too long" : "no answer");
		return -1;
	}
	return 0;
}
