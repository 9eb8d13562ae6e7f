/* Program-level logging: one line per message to stderr (journald picks it up), filtered by
 * level. Only agent/ and server/ call this; core/ modules report through err buffers.
 * Never pass a secret or a clear ID number. */
#ifndef ROLLCALL_LOG_H
#define ROLLCALL_LOG_H

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN = 1, LOG_LVL_INFO = 2, LOG_LVL_DEBUG = 3 };

/* Sets the most verbose level printed (default LOG_LVL_INFO) and the program name prefix.
 * When stderr is journald's stream (JOURNAL_STREAM names its device and inode), each line
 * then starts with its syslog priority ("<3>" error .. "<7>" debug) for journalctl -p. */
void log_setup(const char *program, enum log_level level);
/* Parses "error|warn|info|debug"; returns 0 and sets *out, or RC_INVAL. */
int log_level_parse(const char *s, enum log_level *out);
/* The level log_setup set. */
enum log_level log_level_current(void);
/* The name log_level_parse reads for level ("error" .. "debug"). */
const char *log_level_name(enum log_level level);
/* Prints "program: level: message" (after "<N>" for the journal) when level is enabled. Thread-safe (one write per line). */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
