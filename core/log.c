#include "log.h"

#include "rc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum { LOG_LINE_MAX = 2048 };

/* The one piece of process state in core/: set once at program start, read-only after. */
static enum log_level log_max = LOG_LVL_INFO;
static const char *log_program = "rollcall";

void log_setup(const char *program, enum log_level level)
{
    log_program = program;
    log_max = level;
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
    if (level > log_max)
        return;
    char line[LOG_LINE_MAX];
    int n = snprintf(line, sizeof line, "%s: %s: ", log_program, tags[level]);
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
