/* config: the shipped firmware profiles load with the values their files state, the README's
 * key reference is the generated one, every refusal names the file and the JSON path, and
 * the agent config resolves paths, round-trips through config_save, and is saved atomically. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config.h"
#include "datum.h"
#include "log.h"
#include "rc.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/test_config.XXXXXX";

static int setup(void **state)
{
    (void)state;
    return mkdtemp(tmpdir) ? 0 : -1;
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static int teardown(void **state)
{
    (void)state;
    remove_tree(tmpdir);
    return 0;
}

/* Writes text to tmpdir/name and returns the path (static buffer). */
static const char *write_file(const char *name, const char *text)
{
    static char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    return path;
}

static void profile_refused(const char *json, const char *want_after_path)
{
    const char *path = write_file("p.json", json);
    struct config_profile p;
    memset(&p, 0x5a, sizeof p);
    struct config_profile before = p;
    char err[ERR_LEN] = "";
    int rc = config_profile_load(path, &p, err);
    char want[ERR_LEN + PATH_MAX];
    snprintf(want, sizeof want, "%s: %s", path, want_after_path);
    if (rc != RC_INVAL || strcmp(err, want) != 0)
        fail_msg("input %s\n  rc %d err '%s'\n  want '%s'", json, rc, err, want);
    assert_memory_equal(&p, &before, sizeof p);
}

static void tables_pass_self_check(void **state)
{
    (void)state;
    char err[ERR_LEN] = "";
    assert_int_equal(cfgmap_table_check(&config_profile_table, err), RC_OK);
    assert_int_equal(cfgmap_table_check(&config_agent_table, err), RC_OK);
}

static void every_shipped_profile_loads(void **state)
{
    (void)state;
    const char *dir = ROLLCALL_SOURCE_DIR "/firmware-profiles";
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct config_profile p;
        char err[ERR_LEN] = "";
        if (config_profile_load(path, &p, err) != RC_OK)
            fail_msg("%s", err);
        /* the file name is the model name */
        assert_int_equal(strncmp(e->d_name, p.model, len - 5), 0);
        assert_int_equal(strlen(p.model), len - 5);
        n++;
    }
    closedir(d);
    assert_true(n >= 3);
}

static void shipped_profiles_say_what_their_files_say(void **state)
{
    (void)state;
    struct config_profile p;
    char err[ERR_LEN] = "";
    assert_int_equal(
        config_profile_load(ROLLCALL_SOURCE_DIR "/firmware-profiles/x86-kiosk-ublox.json", &p, err),
        RC_OK);
    assert_int_equal(p.gnss.source, CONFIG_GNSS_GPSD);
    assert_string_equal(p.gnss.device, "/dev/ttyACM0");
    assert_int_equal(p.gnss.gpsd_port, 2947);
    assert_false(p.has_surveyed);
    assert_int_equal(p.n_cameras, 2);
    assert_string_equal(p.cameras[1].id, "rear");

    assert_int_equal(config_profile_load(
                         ROLLCALL_SOURCE_DIR "/firmware-profiles/rpi-checkin-serial.json", &p, err),
                     RC_OK);
    assert_string_equal(p.gnss.device, "/dev/serial0");
    assert_int_equal(p.gnss.speed_bps, 9600);
    assert_true(p.gnss.assumed_eph_m == 50.0);
    assert_int_equal(p.storage.max_db_mb, 64);
    assert_int_equal(p.n_cameras, 0);

    assert_int_equal(config_profile_load(ROLLCALL_SOURCE_DIR
                                         "/firmware-profiles/indoor-fixed-terminal.json",
                                         &p, err),
                     RC_OK);
    assert_int_equal(p.gnss.source, CONFIG_GNSS_NONE);
    assert_true(p.has_surveyed);
    assert_true(p.surveyed.lat == 39.12);
    assert_true(p.surveyed.lon == 117.2);
    assert_int_equal(p.surveyed.datum, DATUM_WGS84);
    assert_true(p.surveyed.eph_m == 5.0);
    /* gnss keys the file leaves out take the documented defaults */
    assert_string_equal(p.gnss.gpsd_host, "127.0.0.1");
    assert_int_equal(p.gnss.stale_after_s, 5);
    assert_true(p.gnss.assumed_eph_m == 25.0);
}

static void readme_table_is_the_generated_one(void **state)
{
    (void)state;
    char *readme = NULL;
    size_t len = 0;
    char err[ERR_LEN] = "";
    assert_int_equal(
        cfgmap_read_file(ROLLCALL_SOURCE_DIR "/firmware-profiles/README.md", &readme, &len, err),
        RC_OK);
    const char *begin_mark = "<!-- BEGIN rollcall-agent profile-doc -->\n";
    const char *end_mark = "<!-- END rollcall-agent profile-doc -->";
    char *begin = strstr(readme, begin_mark);
    assert_non_null(begin);
    begin += strlen(begin_mark);
    char *end = strstr(begin, end_mark);
    assert_non_null(end);
    *end = '\0';
    char *doc = NULL;
    assert_int_equal(config_profile_doc(&doc, err), RC_OK);
    if (strcmp(begin, doc) != 0)
        fail_msg("firmware-profiles/README.md's key table differs from `rollcall-agent "
                 "profile-doc`: regenerate it");
    /* every key of the table is in it, with its full path */
    assert_non_null(strstr(begin, "| `gnss.stale_after_s` | integer, 1 to 3600 | s | 5 |"));
    assert_non_null(strstr(begin, "| `surveyed.datum` | `\"WGS-84\"`, `\"GCJ-02\"`, `\"BD-09\"`"));
    assert_non_null(strstr(begin, "| `cameras[].suffix` |"));
    free(doc);
    free(readme);
}

static void profile_refusals_name_the_path(void **state)
{
    (void)state;
    profile_refused("{\"model\":\"m\",\"gnss\":{\"source\":\"gpsd\",\"fix_timeout\":3}}",
                    "$.gnss.fix_timeout: unknown key");
    profile_refused("{\"model\":\"m\",\"gnss\":{\"source\":\"gpsd\"},\"cameras\":[{\"id\":\"a\","
                    "\"dir\":\"/r\",\"fps\":25}]}",
                    "$.cameras[0].fps: unknown key");
    profile_refused("{\"model\":\"m\",\"gnss\":{\"source\":\"none\"},\"surveyed\":{\"lat\":39,"
                    "\"lon\":117,\"datum\":\"WGS-84\",\"height_m\":3}}",
                    "$.surveyed.height_m: unknown key");
    profile_refused("{\"model\":\"m\",\"gnss\":{\"source\":\"gpsd\",\"gpsd_port\":\"2947\"}}",
                    "$.gnss.gpsd_port: expected an integer from 1 to 65535");
    profile_refused("{\"model\":\"m\",\"gnss\":{\"source\":\"gpsd\",\"stale_after_s\":0}}",
                    "$.gnss.stale_after_s: expected an integer from 1 to 3600");
    profile_refused("{\"model\":\"m\",\"gnss\":{\"source\":\"gpsd\",\"stale_after_s\":3601}}",
                    "$.gnss.stale_after_s: expected an integer from 1 to 3600");
    profile_refused("{\"model\":\"m\",\"gnss\":{\"source\":\"gpsd\",\"assumed_eph_m\":1e999}}",
                    "$.gnss.assumed_eph_m: expected a number from 0.1 to 10000");
    profile_refused("{\"model\":\"m\",\"gnss\":{\"source\":\"gpsd\"},\"sync\":{\"batch_max_bytes\""
                    ":1e999}}",
                    "$.sync.batch_max_bytes: expected an integer from 4096 to 16777216");
    /* the collector takes at most 1000 lines per batch (server/ingest.h): a bigger batch could
     * never be delivered */
    profile_refused("{\"model\":\"m\",\"gnss\":{\"source\":\"gpsd\"},\"sync\":{\"batch_max_events\""
                    ":1001}}",
                    "$.sync.batch_max_events: expected an integer from 1 to 1000");
    profile_refused("{\"model\":\"m\",\"gnss\":{\"source\":\"glonass\"}}",
                    "$.gnss.source: expected one of \"gpsd\", \"none\"");
    profile_refused("{\"model\":\"m\",\"gnss\":{\"source\":\"none\"},\"surveyed\":{\"lat\":91,"
                    "\"lon\":117,\"datum\":\"WGS-84\"}}",
                    "$.surveyed.lat: expected a number from -90 to 90");
    profile_refused("{\"model\":\"m\",\"gnss\":{\"source\":\"none\"},\"surveyed\":{\"lat\":39,"
                    "\"lon\":-180.5,\"datum\":\"WGS-84\"}}",
                    "$.surveyed.lon: expected a number from -180 to 180");
    profile_refused("{\"model\":\"m\",\"gnss\":{\"source\":\"none\"},\"surveyed\":{\"lat\":39,"
                    "\"lon\":117,\"datum\":\"Krasovsky\"}}",
                    "$.surveyed.datum: expected one of \"WGS-84\", \"GCJ-02\", \"BD-09\"");
    profile_refused("{\"gnss\":{\"source\":\"gpsd\"}}", "$.model: missing required key");
    profile_refused("{\"model\":\"m\"}", "$.gnss: missing required key");
    profile_refused("{\"model\":\"m\",\"gnss\":{}}", "$.gnss.source: missing required key");
    profile_refused("{\"model\":\"m\",\"gnss\":{\"source\":\"none\"},\"surveyed\":{\"lat\":39,"
                    "\"lon\":117}}",
                    "$.surveyed.datum: missing required key");
    profile_refused("{\"model\":\"m\",\"gnss\":{\"source\":\"gpsd\"},\"cameras\":[{\"id\":\"a\"}]}",
                    "$.cameras[0].dir: missing required key");
    profile_refused("{\"model\":\"m\",\"gnss\":{\"source\":\"gpsd\",\"source\":\"none\"}}",
                    "$.gnss.source: duplicate key");
    profile_refused("{\"model\":\"m\",\"gnss\":{\"source\":\"gpsd\"},\"cameras\":[{\"id\":\"a\","
                    "\"dir\":\"recordings\"}]}",
                    "$.cameras[0].dir: expected an absolute path");
    profile_refused("{\"model\":\"m\",\"gnss\":{\"source\":\"gpsd\"},\"cameras\":[{\"id\":\"a\","
                    "\"dir\":\"/r\",\"suffix\":\"mp4\"}]}",
                    "$.cameras[0].suffix: expected a file suffix: '.' then letters or digits");
}

static void profile_cross_field_rules(void **state)
{
    (void)state;
    profile_refused("{\"model\":\"m\",\"gnss\":{\"source\":\"none\"}}",
                    "$.surveyed: required when gnss.source is \"none\" (without it every "
                    "sign-in is no_fix)");
    profile_refused("{\"model\":\"m\",\"gnss\":{\"source\":\"gpsd\"},\"sync\":{\"backoff_base_ms\":"
                    "5000,\"backoff_cap_ms\":4000}}",
                    "$.sync.backoff_base_ms: must not exceed sync.backoff_cap_ms");
    profile_refused("{\"model\":\"m\",\"gnss\":{\"source\":\"gpsd\"},\"cameras\":[{\"id\":\"a\","
                    "\"dir\":\"/r\"},{\"id\":\"b\",\"dir\":\"/r\"},{\"id\":\"a\",\"dir\":\"/s\"}]}",
                    "$.cameras[2].id: duplicate camera id");
    /* a surveyed position with a receiver is allowed (fallback), and equal backoffs too */
    const char *path = write_file("p.json", "{\"model\":\"m\",\"gnss\":{\"source\":\"gpsd\"},"
                                            "\"surveyed\":{\"lat\":39.1,\"lon\":117.2,\"datum\":"
                                            "\"GCJ-02\"},\"sync\":{\"backoff_base_ms\":2000,"
                                            "\"backoff_cap_ms\":2000}}");
    struct config_profile p;
    char err[ERR_LEN] = "";
    assert_int_equal(config_profile_load(path, &p, err), RC_OK);
    assert_int_equal(p.surveyed.datum, DATUM_GCJ02);
    assert_true(p.surveyed.eph_m == 10.0);
}

static const char agent_json[] =
    "{\"device_id\":\"kiosk-0001\",\"institution\":\"INST-0001\","
    "\"server\":\"https://collector.example.cn\",\"data_dir\":\"state\","
    "\"key_file\":\"keys/device.key\",\"fence_id\":\"hexi-centre\","
    "\"ca_file\":\"/etc/ssl/certs/ca.pem\",\"log_level\":\"debug\","
    "\"profile\":{\"model\":\"m\",\"gnss\":{\"source\":\"gpsd\"}}}";

static void agent_config_resolves_paths(void **state)
{
    (void)state;
    const char *path = write_file("agent.json", agent_json);
    struct config_agent c;
    char err[ERR_LEN] = "";
    if (config_load(path, &c, err) != RC_OK)
        fail_msg("%s", err);
    char real[PATH_MAX];
    assert_non_null(realpath(tmpdir, real));
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want, "%s/state", real);
    assert_string_equal(c.data_dir, want);
    snprintf(want, sizeof want, "%s/state/outbox.db", real);
    assert_string_equal(c.db, want);
    snprintf(want, sizeof want, "%s/keys/device.key", real); /* relative to the config's dir */
    assert_string_equal(c.key_file, want);
    snprintf(want, sizeof want, "%s/state/fence.geojson", real);
    assert_string_equal(c.fence_file, want);
    snprintf(want, sizeof want, "%s/state/control.sock", real);
    assert_string_equal(c.control_socket, want);
    assert_string_equal(c.ca_file, "/etc/ssl/certs/ca.pem");
    assert_string_equal(c.institution_key_file, "");
    assert_string_equal(c.pin_sha256, "");
    assert_false(c.allow_plain_http);
    assert_int_equal(c.log_level, LOG_LVL_DEBUG);
    assert_int_equal(c.profile.gnss.gpsd_port, 2947);
    assert_int_equal(c.profile.sync.batch_max_events, 500);
}

static void agent_config_default_data_dir(void **state)
{
    (void)state;
    const char *path = write_file(
        "agent.json", "{\"device_id\":\"k1\",\"institution\":\"I1\",\"server\":"
                      "\"http://127.0.0.1:8080\",\"allow_plain_http\":true,\"fence_id\":\"f\","
                      "\"profile\":{\"model\":\"m\",\"gnss\":{\"source\":\"gpsd\"}}}");
    struct config_agent c;
    char err[ERR_LEN] = "";
    assert_int_equal(config_load(path, &c, err), RC_OK);
    assert_string_equal(c.data_dir, "/var/lib/rollcall");
    assert_string_equal(c.db, "/var/lib/rollcall/outbox.db");
    assert_string_equal(c.key_file, "/var/lib/rollcall/device.key");
    assert_string_equal(c.control_socket, "/var/lib/rollcall/control.sock");
    assert_int_equal(c.log_level, LOG_LVL_INFO);
}

static void agent_refused(const char *json, const char *want_after_path)
{
    const char *path = write_file("agent.json", json);
    struct config_agent c;
    memset(&c, 0x5a, sizeof c);
    struct config_agent *before = malloc(sizeof c);
    assert_non_null(before);
    memcpy(before, &c, sizeof c);
    char err[ERR_LEN] = "";
    int rc = config_load(path, &c, err);
    char want[ERR_LEN + PATH_MAX];
    snprintf(want, sizeof want, "%s: %s", path, want_after_path);
    if (rc != RC_INVAL || strcmp(err, want) != 0)
        fail_msg("rc %d err '%s'\n  want '%s'", rc, err, want);
    assert_memory_equal(&c, before, sizeof c);
    free(before);
}

static void agent_config_refusals(void **state)
{
    (void)state;
    agent_refused("{\"device_id\":\"k1\",\"institution\":\"I1\",\"server\":\"https://s\","
                  "\"fence_id\":\"f\",\"profile\":{\"model\":\"m\",\"gnss\":{\"source\":\"gpsd\","
                  "\"stale_after_s\":0}}}",
                  "$.profile.gnss.stale_after_s: expected an integer from 1 to 3600");
    agent_refused(
        "{\"device_id\":\"k1\",\"institution\":\"I1\",\"server\":\"https://s\","
        "\"fence_id\":\"f\",\"profile\":{\"model\":\"m\",\"gnss\":{\"source\":\"none\"}}}",
        "$.profile.surveyed: required when gnss.source is \"none\" (without it every "
        "sign-in is no_fix)");
    agent_refused(
        "{\"device_id\":\"k1\",\"institution\":\"I1\",\"server\":\"http://s\","
        "\"fence_id\":\"f\",\"profile\":{\"model\":\"m\",\"gnss\":{\"source\":\"gpsd\"}}}",
        "$.server: an http:// URL needs allow_plain_http (use https://)");
    agent_refused(
        "{\"device_id\":\"k1\",\"institution\":\"I1\",\"server\":\"ftp://s\","
        "\"fence_id\":\"f\",\"profile\":{\"model\":\"m\",\"gnss\":{\"source\":\"gpsd\"}}}",
        "$.server: expected an https:// (or http://) URL without spaces");
    agent_refused(
        "{\"device_id\":\"k 1\",\"institution\":\"I1\",\"server\":\"https://s\","
        "\"fence_id\":\"f\",\"profile\":{\"model\":\"m\",\"gnss\":{\"source\":\"gpsd\"}}}",
        "$.device_id: expected letters, digits, '.', '_' or '-', starting with a "
        "letter or digit");
    agent_refused("{\"device_id\":\"k1\",\"institution\":\"I1\",\"server\":\"https://s\","
                  "\"pin_sha256\":\"abc\",\"fence_id\":\"f\",\"profile\":{\"model\":\"m\","
                  "\"gnss\":{\"source\":\"gpsd\"}}}",
                  "$.pin_sha256: expected 64 hex digits");
    agent_refused("{\"device_id\":\"k1\",\"institution\":\"I1\",\"server\":\"https://s\","
                  "\"fence_id\":\"f\",\"allow_plain_http\":\"yes\",\"profile\":{\"model\":\"m\","
                  "\"gnss\":{\"source\":\"gpsd\"}}}",
                  "$.allow_plain_http: expected true or false");
    agent_refused("{\"device_id\":\"k1\",\"institution\":\"I1\",\"server\":\"https://s\","
                  "\"fence_id\":\"f\"}",
                  "$.profile: missing required key");
    agent_refused("{\"device_id\":\"k1\",\"institution\":\"I1\",\"server\":\"https://s\","
                  "\"fence_id\":\"f\",\"log_level\":\"verbose\",\"profile\":{\"model\":\"m\","
                  "\"gnss\":{\"source\":\"gpsd\"}}}",
                  "$.log_level: expected one of \"error\", \"warn\", \"info\", \"debug\"");
    /* sun_path holds 107 bytes: a socket path that only becomes too long once resolved */
    char json[1024];
    char longdir[100];
    memset(longdir, 'd', sizeof longdir - 1);
    longdir[sizeof longdir - 1] = '\0';
    snprintf(json, sizeof json,
             "{\"device_id\":\"k1\",\"institution\":\"I1\",\"server\":\"https://s\","
             "\"fence_id\":\"f\",\"data_dir\":\"/%s\",\"profile\":{\"model\":\"m\","
             "\"gnss\":{\"source\":\"gpsd\"}}}",
             longdir);
    agent_refused(json, "$.control_socket: longer than 107 bytes once resolved");
}

static void count_entries(const char *dir, int *n, int *tmp)
{
    *n = 0;
    *tmp = 0;
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        (*n)++;
        if (e->d_name[0] == '.')
            (*tmp)++;
    }
    closedir(d);
}

static void save_and_load_round_trip(void **state)
{
    (void)state;
    const char *src = write_file("agent.json", agent_json);
    struct config_agent *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    assert_non_null(a);
    assert_non_null(b);
    char err[ERR_LEN] = "";
    assert_int_equal(config_load(src, a, err), RC_OK);
    /* the embedded profile is a shipped one, with cameras and a surveyed position */
    assert_int_equal(config_profile_load(ROLLCALL_SOURCE_DIR
                                         "/firmware-profiles/indoor-fixed-terminal.json",
                                         &a->profile, err),
                     RC_OK);

    char dir[PATH_MAX / 2], out[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/etc", tmpdir);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(out, sizeof out, "%s/agent.json", dir);
    umask(077);
    assert_int_equal(config_save(out, a, err), RC_OK);
    umask(022);
    struct stat st;
    assert_int_equal(stat(out, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    int n, tmp;
    count_entries(dir, &n, &tmp);
    assert_int_equal(n, 1);
    assert_int_equal(tmp, 0);

    if (config_load(out, b, err) != RC_OK)
        fail_msg("%s", err);
    assert_memory_equal(a, b, sizeof *a);

    /* saving over an existing file replaces it, still leaving one file */
    snprintf(a->device_id, sizeof a->device_id, "kiosk-0002");
    assert_int_equal(config_save(out, a, err), RC_OK);
    assert_int_equal(config_load(out, b, err), RC_OK);
    assert_string_equal(b->device_id, "kiosk-0002");
    count_entries(dir, &n, &tmp);
    assert_int_equal(n, 1);
    assert_int_equal(tmp, 0);
    free(a);
    free(b);
}

static void failed_saves_leave_nothing(void **state)
{
    (void)state;
    const char *src = write_file("agent.json", agent_json);
    struct config_agent *a = malloc(sizeof *a);
    assert_non_null(a);
    char err[ERR_LEN] = "";
    assert_int_equal(config_load(src, a, err), RC_OK);

    char dir[PATH_MAX / 2], out[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/save", tmpdir);
    assert_int_equal(mkdir(dir, 0755), 0);
    /* the target is a directory: the rename fails and the temporary file is removed */
    snprintf(out, sizeof out, "%s/taken", dir);
    assert_int_equal(mkdir(out, 0755), 0);
    assert_int_equal(config_save(out, a, err), RC_IO);
    int n, tmp;
    count_entries(dir, &n, &tmp);
    assert_int_equal(n, 1);
    assert_int_equal(tmp, 0);
    /* a missing directory */
    snprintf(out, sizeof out, "%s/nodir/agent.json", dir);
    assert_int_equal(config_save(out, a, err), RC_IO);
    /* an invalid config is refused before anything is written */
    snprintf(out, sizeof out, "%s/agent.json", dir);
    a->profile.gnss.stale_after_s = 0;
    assert_int_equal(config_save(out, a, err), RC_INVAL);
    assert_string_equal(err, "struct: $.profile.gnss.stale_after_s: expected an integer from 1 "
                             "to 3600");
    a->profile.gnss.stale_after_s = 5;
    a->profile.gnss.source = CONFIG_GNSS_NONE;
    a->profile.has_surveyed = false;
    assert_int_equal(config_save(out, a, err), RC_INVAL);
    count_entries(dir, &n, &tmp);
    assert_int_equal(n, 1);
    assert_int_equal(tmp, 0);
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tables_pass_self_check),
        cmocka_unit_test(every_shipped_profile_loads),
        cmocka_unit_test(shipped_profiles_say_what_their_files_say),
        cmocka_unit_test(readme_table_is_the_generated_one),
        cmocka_unit_test(profile_refusals_name_the_path),
        cmocka_unit_test(profile_cross_field_rules),
        cmocka_unit_test(agent_config_resolves_paths),
        cmocka_unit_test(agent_config_default_data_dir),
        cmocka_unit_test(agent_config_refusals),
        cmocka_unit_test(save_and_load_round_trip),
        cmocka_unit_test(failed_saves_leave_nothing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
