#include "log.h"

#include "rc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { LOG_LINE_MAX = 2048 };

/* The one piece of process state in core/: set once at program start, read-only after. */
static enum log_level log_max = LOG_LVL_INFO;
static const char *log_program = "rollcall";
static bool log_journal; /* stderr is the journal's stream: lines start with "<N>" */

/* systemd sets JOURNAL_STREAM=DEV:INODE when it connects stderr to journald; the variable is
 * inherited, so it only counts when stderr is still that very stream (not a pipe or file a
 * child's stderr was redirected to). */
static bool stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    if (!js || !*js)
        return false;
    char *end = NULL;
    errno = 0;
    unsigned long long dev = strtoull(js, &end, 10);
    if (errno || end == js || *end != ':')
        return false;
    const char *ino_s = end + 1;
    unsigned long long ino = strtoull(ino_s, &end, 10);
    if (errno || end == ino_s || *end != '\0')
        return false;
    struct stat st;
    if (fstat(STDERR_FILENO, &st) != 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_setup(const char *program, enum log_level level)
{
    log_program = program;
    log_max = level;
    log_journal = stderr_is_journal();
}

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int log_level_parse(const char *s, enum log_level *out)
{
    for (unsigned i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return RC_OK;
        }
    }
    return RC_INVAL;
}

enum log_level log_level_current(void)
{
    return log_max;
}

const char *log_level_name(enum log_level level)
{
    return level_names[level];
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    static const char *const tags[] = {"error", "warning", "info", "debug"};
    /* sd-daemon.h's SD_ERR, SD_WARNING, SD_INFO, SD_DEBUG: journald reads them as priorities. */
    static const char *const prio[] = {"<3>", "<4>", "<6>", "<7>"};
    if (level > log_max)
        return;
    char line[LOG_LINE_MAX];
    int n = snprintf(line, sizeof line, "%s%s: %s: ", log_journal ? prio[level] : "", log_program,
                     tags[level]);
    if (n < 0)
        return;
    size_t used = (size_t)n;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + used, sizeof line - used, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    used += (size_t)m;
    if (used > sizeof line - 2)
        used = sizeof line - 2;
    /* One message is one line: a newline inside would let input forge log lines. */
    for (size_t i = 0; i < used; i++) {
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    }
    line[used++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, used);
    (void)w;
}
