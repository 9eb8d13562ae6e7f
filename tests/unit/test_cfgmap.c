/* cfgmap: the declarative loader. Every refusal is checked by its exact one-line message,
 * written out by hand here from the table below, and the serialiser and documentation
 * generator against hand-written expected text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cfgmap.h"
#include "rc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct t_cam {
    char id[8];
    int64_t settle_s;
};

struct t_net {
    char host[16];
    int64_t port;
    bool tls;
};

struct t_pos {
    double lat;
    double lon;
};

struct t_conf {
    char name[8];
    int64_t count;
    double ratio;
    bool on;
    int mode;
    struct t_net net;
    bool has_pos;
    struct t_pos pos;
    size_t n_cams;
    struct t_cam cams[2];
    char tag[16];
};

static const char *const modes[] = {"fast", "slow", NULL};

static const struct cfgmap_entry cam_entries[] = {
    {.key = "id", CFGMAP_F_STRING(struct t_cam, id), .required = true, .help = "camera id"},
    {.key = "settle_s",
     CFGMAP_F_INT(struct t_cam, settle_s),
     .imin = 0,
     .imax = 60,
     .idef = 5,
     .unit = "s",
     .help = "settle time"},
    {.key = NULL},
};
static const struct cfgmap_table cam_table = {cam_entries, sizeof(struct t_cam)};

static const struct cfgmap_entry net_entries[] = {
    {.key = "host", CFGMAP_F_STRING(struct t_net, host), .sdef = "127.0.0.1", .help = "host"},
    {.key = "port",
     CFGMAP_F_INT(struct t_net, port),
     .imin = 1,
     .imax = 65535,
     .idef = 2947,
     .help = "TCP port"},
    {.key = "tls", CFGMAP_F_BOOL(struct t_net, tls), .bdef = true, .help = "use | TLS"},
    {.key = NULL},
};
static const struct cfgmap_table net_table = {net_entries, sizeof(struct t_net)};

static const struct cfgmap_entry pos_entries[] = {
    {.key = "lat",
     CFGMAP_F_DOUBLE(struct t_pos, lat),
     .required = true,
     .dmin = -90,
     .dmax = 90,
     .unit = "degrees",
     .help = "latitude"},
    {.key = "lon",
     CFGMAP_F_DOUBLE(struct t_pos, lon),
     .required = true,
     .dmin = -180,
     .dmax = 180,
     .unit = "degrees",
     .help = "longitude"},
    {.key = NULL},
};
static const struct cfgmap_table pos_table = {pos_entries, sizeof(struct t_pos)};

static const struct cfgmap_entry conf_entries[] = {
    {.key = "name", CFGMAP_F_STRING(struct t_conf, name), .required = true, .help = "name"},
    {.key = "count",
     CFGMAP_F_INT(struct t_conf, count),
     .imin = 1,
     .imax = 3600,
     .idef = 10,
     .unit = "s",
     .help = "a count"},
    {.key = "ratio",
     CFGMAP_F_DOUBLE(struct t_conf, ratio),
     .dmin = 0,
     .dmax = 1,
     .ddef = 0.25,
     .help = "a ratio"},
    {.key = "on", CFGMAP_F_BOOL(struct t_conf, on), .help = "a switch"},
    {.key = "mode", CFGMAP_F_ENUM(struct t_conf, mode, modes), .idef = 1, .help = "a mode"},
    {.key = "net", CFGMAP_F_OBJECT(struct t_conf, net, &net_table), .help = "network"},
    {.key = "pos",
     CFGMAP_F_OPTIONAL_OBJECT(struct t_conf, pos, has_pos, &pos_table),
     .help = "position"},
    {.key = "cams", CFGMAP_F_ARRAY(struct t_conf, cams, n_cams, &cam_table), .help = "cameras"},
    {.key = "tag",
     CFGMAP_F_STRING(struct t_conf, tag),
     .check = cfgmap_check_id,
     .doc_default = "the name",
     .help = "a tag"},
    {.key = NULL},
};
static const struct cfgmap_table conf_table = {conf_entries, sizeof(struct t_conf)};

static int load(const char *json, struct t_conf *out, char *err)
{
    return cfgmap_load_buffer(&conf_table, json, strlen(json), "t.json", out, err);
}

/* Loads json, expects RC_INVAL with exactly the message want, and the struct untouched. */
static void refused(const char *json, const char *want)
{
    struct t_conf c;
    memset(&c, 0xa5, sizeof c);
    struct t_conf before = c;
    char err[ERR_LEN] = "";
    int rc = load(json, &c, err);
    if (rc != RC_INVAL || strcmp(err, want) != 0)
        fail_msg("input %s\n  rc %d err '%s'\n  want '%s'", json, rc, err, want);
    assert_memory_equal(&c, &before, sizeof c);
}

static void table_passes_self_check(void **state)
{
    (void)state;
    char err[ERR_LEN] = "";
    assert_int_equal(cfgmap_table_check(&conf_table, err), RC_OK);
}

static void minimal_object_takes_defaults(void **state)
{
    (void)state;
    struct t_conf c;
    char err[ERR_LEN] = "";
    assert_int_equal(load("{\"name\": \"k1\"}", &c, err), RC_OK);
    assert_string_equal(c.name, "k1");
    assert_int_equal(c.count, 10);
    assert_true(c.ratio == 0.25);
    assert_false(c.on);
    assert_int_equal(c.mode, 1);
    assert_string_equal(c.net.host, "127.0.0.1");
    assert_int_equal(c.net.port, 2947);
    assert_true(c.net.tls);
    assert_false(c.has_pos);
    assert_int_equal(c.n_cams, 0);
    assert_string_equal(c.tag, "");
}

static void full_object_loads_every_type(void **state)
{
    (void)state;
    struct t_conf c;
    char err[ERR_LEN] = "";
    const char *json = "{\"name\":\"k1\",\"count\":3600,\"ratio\":1,\"on\":true,\"mode\":\"fast\","
                       "\"net\":{\"host\":\"gps.local\",\"port\":1,\"tls\":false},"
                       "\"pos\":{\"lat\":-39.12,\"lon\":117.2e0},"
                       "\"cams\":[{\"id\":\"c1\"},{\"id\":\"c2\",\"settle_s\":0}],"
                       "\"tag\":\"a.b_c-d\"}";
    assert_int_equal(load(json, &c, err), RC_OK);
    assert_int_equal(c.count, 3600);
    assert_true(c.ratio == 1.0);
    assert_true(c.on);
    assert_int_equal(c.mode, 0);
    assert_string_equal(c.net.host, "gps.local");
    assert_int_equal(c.net.port, 1);
    assert_false(c.net.tls);
    assert_true(c.has_pos);
    assert_true(c.pos.lat == -39.12);
    assert_true(c.pos.lon == 117.2);
    assert_int_equal(c.n_cams, 2);
    assert_string_equal(c.cams[0].id, "c1");
    assert_int_equal(c.cams[0].settle_s, 5);
    assert_string_equal(c.cams[1].id, "c2");
    assert_int_equal(c.cams[1].settle_s, 0);
    assert_string_equal(c.tag, "a.b_c-d");
    /* integral value written as a decimal or exponent is an integer */
    assert_int_equal(load("{\"name\":\"k\",\"count\":3.6e3}", &c, err), RC_OK);
    assert_int_equal(c.count, 3600);
    /* a BOM is tolerated; UTF-8 text is kept byte for byte */
    assert_int_equal(load("\xef\xbb\xbf{\"name\":\"\xe5\xbc\xa0\"}", &c, err), RC_OK);
    assert_string_equal(c.name, "\xe5\xbc\xa0");
}

static void unknown_keys_refused_at_every_depth(void **state)
{
    (void)state;
    refused("{\"name\":\"k\",\"bogus\":1}", "t.json: $.bogus: unknown key");
    refused("{\"name\":\"k\",\"net\":{\"port\":1,\"hots\":\"x\"}}",
            "t.json: $.net.hots: unknown key");
    refused("{\"name\":\"k\",\"cams\":[{\"id\":\"a\"},{\"id\":\"b\",\"settle\":1}]}",
            "t.json: $.cams[1].settle: unknown key");
    refused("{\"name\":\"k\",\"pos\":{\"lat\":1,\"lon\":2,\"alt\":3}}",
            "t.json: $.pos.alt: unknown key");
    /* keys are case-sensitive */
    refused("{\"Name\":\"k\"}", "t.json: $.Name: unknown key");
    /* a hostile key cannot break the one-line message */
    refused("{\"a\\nb\\\"c\":1}", "t.json: $[\"a?b?c\"]: unknown key");
    refused("{\"\":1}", "t.json: $[\"\"]: unknown key");
}

static void wrong_types_refused(void **state)
{
    (void)state;
    refused("{\"name\":7}", "t.json: $.name: expected a non-empty string of at most 7 bytes");
    refused("{\"name\":\"k\",\"count\":\"5\"}",
            "t.json: $.count: expected an integer from 1 to 3600");
    refused("{\"name\":\"k\",\"count\":true}",
            "t.json: $.count: expected an integer from 1 to 3600");
    refused("{\"name\":\"k\",\"ratio\":\"0.5\"}", "t.json: $.ratio: expected a number from 0 to 1");
    refused("{\"name\":\"k\",\"on\":1}", "t.json: $.on: expected true or false");
    refused("{\"name\":\"k\",\"on\":\"true\"}", "t.json: $.on: expected true or false");
    refused("{\"name\":\"k\",\"on\":null}", "t.json: $.on: expected true or false");
    refused("{\"name\":\"k\",\"mode\":0}", "t.json: $.mode: expected one of \"fast\", \"slow\"");
    refused("{\"name\":\"k\",\"net\":[]}", "t.json: $.net: expected an object");
    refused("{\"name\":\"k\",\"net\":null}", "t.json: $.net: expected an object");
    refused("{\"name\":\"k\",\"cams\":{}}",
            "t.json: $.cams: expected an array of at most 2 objects");
    refused("{\"name\":\"k\",\"cams\":[\"c1\"]}", "t.json: $.cams[0]: expected an object");
    refused("{\"name\":\"k\",\"net\":{\"tls\":\"no\"}}",
            "t.json: $.net.tls: expected true or false");
}

static void out_of_range_refused(void **state)
{
    (void)state;
    refused("{\"name\":\"k\",\"count\":0}", "t.json: $.count: expected an integer from 1 to 3600");
    refused("{\"name\":\"k\",\"count\":3601}",
            "t.json: $.count: expected an integer from 1 to 3600");
    refused("{\"name\":\"k\",\"count\":-5}", "t.json: $.count: expected an integer from 1 to 3600");
    refused("{\"name\":\"k\",\"count\":2.5}",
            "t.json: $.count: expected an integer from 1 to 3600");
    refused("{\"name\":\"k\",\"count\":1e300}",
            "t.json: $.count: expected an integer from 1 to 3600");
    refused("{\"name\":\"k\",\"ratio\":1.0000001}",
            "t.json: $.ratio: expected a number from 0 to 1");
    refused("{\"name\":\"k\",\"ratio\":-0.5}", "t.json: $.ratio: expected a number from 0 to 1");
    refused("{\"name\":\"k\",\"pos\":{\"lat\":90.5,\"lon\":0}}",
            "t.json: $.pos.lat: expected a number from -90 to 90");
    refused("{\"name\":\"k\",\"net\":{\"port\":65536}}",
            "t.json: $.net.port: expected an integer from 1 to 65535");
    refused("{\"name\":\"k\",\"cams\":[{\"id\":\"a\",\"settle_s\":61}]}",
            "t.json: $.cams[0].settle_s: expected an integer from 0 to 60");
    refused("{\"name\":\"k\",\"cams\":[{\"id\":\"a\"},{\"id\":\"b\"},{\"id\":\"c\"}]}",
            "t.json: $.cams: expected an array of at most 2 objects");
    refused("{\"name\":\"k\",\"mode\":\"Fast\"}",
            "t.json: $.mode: expected one of \"fast\", \"slow\"");
}

static void infinite_numbers_refused(void **state)
{
    (void)state;
    /* JSON has no NaN or Infinity; an overflowing literal is the way in, and strtod makes
     * it +-inf. */
    refused("{\"name\":\"k\",\"ratio\":1e999}", "t.json: $.ratio: expected a number from 0 to 1");
    refused("{\"name\":\"k\",\"pos\":{\"lat\":-1e999,\"lon\":0}}",
            "t.json: $.pos.lat: expected a number from -90 to 90");
    refused("{\"name\":\"k\",\"count\":1e999}",
            "t.json: $.count: expected an integer from 1 to 3600");
    refused("{\"name\":\"k\",\"ratio\":NaN}", "t.json: line 1 column 21: not valid JSON");
}

static void strings_refused(void **state)
{
    (void)state;
    refused("{\"name\":\"\"}", "t.json: $.name: expected a non-empty string of at most 7 bytes");
    refused("{\"name\":\"12345678\"}",
            "t.json: $.name: expected a non-empty string of at most 7 bytes");
    refused("{\"name\":\"a\\tb\"}",
            "t.json: $.name: expected UTF-8 text without control characters");
    refused("{\"name\":\"a\\u0007\"}",
            "t.json: $.name: expected UTF-8 text without control characters");
    refused("{\"name\":\"\xc3\x28\"}", "t.json: $.name: not valid UTF-8 (byte 0)");
    refused("{\"name\":\"\xc0\xaf\"}", "t.json: $.name: not valid UTF-8 (byte 0)");
    refused("{\"name\":\"\xed\xa0\x80\"}", "t.json: $.name: not valid UTF-8 (byte 0)");
    /* cJSON would cut the string at an escaped NUL: refused, never truncated. */
    refused("{\"name\":\"ab\\u0000cd\"}", "t.json: $.name: contains U+0000");
    refused("{\"name\":\"k\",\"x\\u0000\":1}", "t.json: $: a member name contains U+0000");
    refused("{\"name\":\"k\",\"x\xff\":1}", "t.json: $.x: not valid UTF-8 (byte 1)");
    refused("{\"name\":\"k\",\"tag\":\"-lead\"}",
            "t.json: $.tag: expected letters, digits, '.', '_' or '-', starting with a letter or "
            "digit");
    refused("{\"name\":\"k\",\"tag\":\"a b\"}",
            "t.json: $.tag: expected letters, digits, '.', '_' or '-', starting with a letter or "
            "digit");
}

static void duplicates_refused(void **state)
{
    (void)state;
    refused("{\"name\":\"k\",\"name\":\"j\"}", "t.json: $.name: duplicate key");
    refused("{\"name\":\"k\",\"net\":{\"port\":1,\"port\":2}}",
            "t.json: $.net.port: duplicate key");
    refused("{\"name\":\"k\",\"cams\":[{\"id\":\"a\",\"id\":\"a\"}]}",
            "t.json: $.cams[0].id: duplicate key");
}

static void missing_required_refused(void **state)
{
    (void)state;
    refused("{}", "t.json: $.name: missing required key");
    refused("{\"count\":5}", "t.json: $.name: missing required key");
    refused("{\"name\":\"k\",\"pos\":{\"lat\":39.12}}", "t.json: $.pos.lon: missing required key");
    refused("{\"name\":\"k\",\"cams\":[{\"id\":\"a\"},{\"settle_s\":1}]}",
            "t.json: $.cams[1].id: missing required key");
}

static void malformed_documents_refused(void **state)
{
    (void)state;
    refused("[]", "t.json: $: expected an object");
    refused("\"name\"", "t.json: $: expected an object");
    refused("{\"name\":\"k\"}\n{}", "t.json: line 2 column 1: not valid JSON");
    refused("", "t.json: line 1 column 1: not valid JSON");
    struct t_conf c;
    char err[ERR_LEN] = "";
    /* cJSON reports the error one byte past a missing key's quote: check the line only */
    assert_int_equal(load("{\"name\":\"k\",\n\"count\": 5,,}", &c, err), RC_INVAL);
    assert_int_equal(strncmp(err, "t.json: line 2 column ", 22), 0);
    const char nul[] = "{\"name\":\"k\"}\0junk";
    assert_int_equal(cfgmap_load_buffer(&conf_table, nul, sizeof nul - 1, "t.json", &c, err),
                     RC_INVAL);
    assert_string_equal(err, "t.json: contains a NUL byte");
    size_t big = (size_t)CFGMAP_FILE_MAX + 1;
    char *text = malloc(big);
    assert_non_null(text);
    memset(text, ' ', big);
    assert_int_equal(cfgmap_load_buffer(&conf_table, text, big, "t.json", &c, err), RC_LIMIT);
    assert_string_equal(err, "t.json: larger than 262144 bytes");
    free(text);
}

static void embedded_object_paths_use_root(void **state)
{
    (void)state;
    cJSON *doc = cJSON_Parse("{\"inner\":{\"name\":\"k\",\"net\":{\"port\":0}}}");
    assert_non_null(doc);
    struct t_conf c;
    char err[ERR_LEN] = "";
    int rc = cfgmap_load_json(&conf_table, cJSON_GetObjectItem(doc, "inner"), "agent.json",
                              "$.inner", &c, err);
    assert_int_equal(rc, RC_INVAL);
    assert_string_equal(err, "agent.json: $.inner.net.port: expected an integer from 1 to 65535");
    cJSON_Delete(doc);
}

/* c saved as JSON text (cJSON_free it), after checking that the text loads back to c. */
static char *saved_and_reloaded(const struct t_conf *c)
{
    char err[ERR_LEN] = "";
    cJSON *j = NULL;
    assert_int_equal(cfgmap_to_json(&conf_table, c, &j, err), RC_OK);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    assert_non_null(text);
    struct t_conf again;
    assert_int_equal(load(text, &again, err), RC_OK);
    assert_memory_equal(&again, c, sizeof *c);
    return text;
}

static void serialises_in_table_order(void **state)
{
    (void)state;
    struct t_conf c;
    char err[ERR_LEN] = "";
    assert_int_equal(load("{\"cams\":[{\"settle_s\":2,\"id\":\"c1\"}],\"name\":\"k1\","
                          "\"pos\":{\"lon\":117.2,\"lat\":39.12},\"ratio\":0.1}",
                          &c, err),
                     RC_OK);
    char *text = saved_and_reloaded(&c);
    assert_string_equal(text, "{\"name\":\"k1\",\"count\":10,\"ratio\":0.1,\"on\":false,"
                              "\"mode\":\"slow\",\"net\":{\"host\":\"127.0.0.1\",\"port\":2947,"
                              "\"tls\":true},\"pos\":{\"lat\":39.12,\"lon\":117.2},"
                              "\"cams\":[{\"id\":\"c1\",\"settle_s\":2}]}");
    cJSON_free(text);
}

/* A double whose 15 digits cJSON would print (it prints %.15g whenever that is within an
 * epsilon) reads back exactly: found by fuzz_config with a surveyed latitude. */
static void doubles_serialise_exactly(void **state)
{
    (void)state;
    struct t_conf c;
    char err[ERR_LEN] = "";
    assert_int_equal(load("{\"name\":\"k1\",\"pos\":{\"lon\":117.2,\"lat\":"
                          "39.1888888888888888888888888888888888888888888888882}}",
                          &c, err),
                     RC_OK);
    char *text = saved_and_reloaded(&c);
    assert_non_null(strstr(text, "\"lat\":39.18888888888889,")); /* 16 digits, not 15 */
    cJSON_free(text);
}

static void serialise_refuses_bad_structs(void **state)
{
    (void)state;
    struct t_conf c;
    cJSON *j = NULL;
    char err[ERR_LEN] = "";
    cfgmap_defaults(&conf_table, &c);
    assert_int_equal(cfgmap_to_json(&conf_table, &c, &j, err), RC_INVAL);
    assert_string_equal(err, "struct: $.name: missing required key");
    snprintf(c.name, sizeof c.name, "k");
    c.ratio = NAN;
    assert_int_equal(cfgmap_to_json(&conf_table, &c, &j, err), RC_INVAL);
    assert_string_equal(err, "struct: $.ratio: expected a number from 0 to 1");
    c.ratio = 0.5;
    c.mode = 2;
    assert_int_equal(cfgmap_to_json(&conf_table, &c, &j, err), RC_INVAL);
    assert_string_equal(err, "struct: $.mode: expected one of \"fast\", \"slow\"");
    c.mode = 0;
    c.n_cams = 1;
    c.cams[0].settle_s = 99;
    snprintf(c.cams[0].id, sizeof c.cams[0].id, "c");
    assert_int_equal(cfgmap_to_json(&conf_table, &c, &j, err), RC_INVAL);
    assert_string_equal(err, "struct: $.cams[0].settle_s: expected an integer from 0 to 60");
    c.n_cams = 3;
    assert_int_equal(cfgmap_to_json(&conf_table, &c, &j, err), RC_INVAL);
    assert_string_equal(err, "struct: $.cams: expected an array of at most 2 objects");
    c.n_cams = 0;
    memset(c.name, 'x', sizeof c.name); /* no terminator */
    assert_int_equal(cfgmap_to_json(&conf_table, &c, &j, err), RC_INVAL);
    assert_string_equal(err, "struct: $.name: expected a non-empty string of at most 7 bytes");
    assert_null(j);
}

static void documentation_lists_every_key(void **state)
{
    (void)state;
    char *doc = NULL;
    char err[ERR_LEN] = "";
    assert_int_equal(cfgmap_doc(&conf_table, &doc, err), RC_OK);
    const char *want = "| key | type | unit | default | meaning |\n"
                       "| --- | --- | --- | --- | --- |\n"
                       "| `name` | string, 1 to 7 bytes |  | required | name |\n"
                       "| `count` | integer, 1 to 3600 | s | 10 | a count |\n"
                       "| `ratio` | number, 0 to 1 |  | 0.25 | a ratio |\n"
                       "| `on` | boolean |  | false | a switch |\n"
                       "| `mode` | `\"fast\"`, `\"slow\"` |  | `\"slow\"` | a mode |\n"
                       "| `net` | object |  | defaults below | network |\n"
                       "| `net.host` | string, 1 to 15 bytes |  | `\"127.0.0.1\"` | host |\n"
                       "| `net.port` | integer, 1 to 65535 |  | 2947 | TCP port |\n"
                       "| `net.tls` | boolean |  | true | use \\| TLS |\n"
                       "| `pos` | object, optional |  | absent | position |\n"
                       "| `pos.lat` | number, -90 to 90 | degrees | required | latitude |\n"
                       "| `pos.lon` | number, -180 to 180 | degrees | required | longitude |\n"
                       "| `cams` | array of up to 2 objects |  | `[]` | cameras |\n"
                       "| `cams[].id` | string, 1 to 7 bytes |  | required | camera id |\n"
                       "| `cams[].settle_s` | integer, 0 to 60 | s | 5 | settle time |\n"
                       "| `tag` | string, 1 to 15 bytes |  | the name | a tag |\n";
    assert_string_equal(doc, want);
    free(doc);
}

static void bad_tables_are_caught(void **state)
{
    (void)state;
    char err[ERR_LEN] = "";
    const struct cfgmap_entry bad_default[] = {
        {.key = "n",
         CFGMAP_F_INT(struct t_cam, settle_s),
         .imin = 1,
         .imax = 5,
         .idef = 0,
         .help = "x"},
        {.key = NULL},
    };
    const struct cfgmap_table t1 = {bad_default, sizeof(struct t_cam)};
    assert_int_equal(cfgmap_table_check(&t1, err), RC_INVAL);
    assert_string_equal(err, "table $.n: bad bounds or default");
    const struct cfgmap_entry long_default[] = {
        {.key = "id", CFGMAP_F_STRING(struct t_cam, id), .sdef = "12345678", .help = "x"},
        {.key = NULL},
    };
    const struct cfgmap_table t2 = {long_default, sizeof(struct t_cam)};
    assert_int_equal(cfgmap_table_check(&t2, err), RC_INVAL);
    assert_string_equal(err, "table $.id: default does not fit");
    const struct cfgmap_entry no_help[] = {
        {.key = "id", CFGMAP_F_STRING(struct t_cam, id)},
        {.key = NULL},
    };
    const struct cfgmap_table t3 = {no_help, sizeof(struct t_cam)};
    assert_int_equal(cfgmap_table_check(&t3, err), RC_INVAL);
    assert_string_equal(err, "table $.id: no help text");
    const struct cfgmap_entry twice[] = {
        {.key = "id", CFGMAP_F_STRING(struct t_cam, id), .help = "x"},
        {.key = "id", CFGMAP_F_INT(struct t_cam, settle_s), .imax = 1, .help = "x"},
        {.key = NULL},
    };
    const struct cfgmap_table t4 = {twice, sizeof(struct t_cam)};
    assert_int_equal(cfgmap_table_check(&t4, err), RC_INVAL);
    assert_string_equal(err, "table $.id: key twice");
    const struct cfgmap_table wrong_size = {cam_entries, sizeof(struct t_cam) + 8};
    const struct cfgmap_entry nested[] = {
        {.key = "c", CFGMAP_F_OBJECT(struct t_conf, net, &wrong_size), .help = "x"},
        {.key = NULL},
    };
    const struct cfgmap_table t5 = {nested, sizeof(struct t_conf)};
    assert_int_equal(cfgmap_table_check(&t5, err), RC_INVAL);
    assert_string_equal(err, "table $.c: bad nested table");
}

static void files_are_read_with_limits(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_cfgmap.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    struct t_conf c;
    char err[ERR_LEN] = "";

    snprintf(path, sizeof path, "%s/missing.json", dir);
    assert_int_equal(cfgmap_load_file(&conf_table, path, &c, err), RC_NOTFOUND);
    char want[ERR_LEN + 64];
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", path);
    assert_string_equal(err, want);

    assert_int_equal(cfgmap_load_file(&conf_table, dir, &c, err), RC_INVAL);
    snprintf(want, sizeof want, "%s: not a regular file", dir);
    assert_string_equal(err, want);

    snprintf(path, sizeof path, "%s/ok.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\n  \"name\": \"k\",\n  \"count\": 0\n}\n", f);
    fclose(f);
    assert_int_equal(cfgmap_load_file(&conf_table, path, &c, err), RC_INVAL);
    snprintf(want, sizeof want, "%s: $.count: expected an integer from 1 to 3600", path);
    assert_string_equal(err, want);

    /* exactly at the limit is read; one byte more is refused */
    f = fopen(path, "w");
    assert_non_null(f);
    const char *body = "{\"name\":\"k\"}";
    fputs(body, f);
    for (size_t i = strlen(body); i < (size_t)CFGMAP_FILE_MAX; i++)
        fputc(' ', f);
    fclose(f);
    assert_int_equal(cfgmap_load_file(&conf_table, path, &c, err), RC_OK);
    f = fopen(path, "a");
    assert_non_null(f);
    fputc(' ', f);
    fclose(f);
    assert_int_equal(cfgmap_load_file(&conf_table, path, &c, err), RC_LIMIT);
    snprintf(want, sizeof want, "%s: larger than 262144 bytes", path);
    assert_string_equal(err, want);
    unlink(path);
    rmdir(dir);
}

static void ready_made_checks(void **state)
{
    (void)state;
    assert_null(cfgmap_check_id("kiosk-01.a_b"));
    assert_non_null(cfgmap_check_id(".hidden"));
    assert_non_null(cfgmap_check_id("a/b"));
    assert_null(cfgmap_check_abs_path("/var/lib/rollcall"));
    assert_non_null(cfgmap_check_abs_path("var/lib"));
    assert_null(
        cfgmap_check_hex64("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    assert_non_null(
        cfgmap_check_hex64("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85"));
    assert_non_null(
        cfgmap_check_hex64("g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_passes_self_check),
        cmocka_unit_test(minimal_object_takes_defaults),
        cmocka_unit_test(full_object_loads_every_type),
        cmocka_unit_test(unknown_keys_refused_at_every_depth),
        cmocka_unit_test(wrong_types_refused),
        cmocka_unit_test(out_of_range_refused),
        cmocka_unit_test(infinite_numbers_refused),
        cmocka_unit_test(strings_refused),
        cmocka_unit_test(duplicates_refused),
        cmocka_unit_test(missing_required_refused),
        cmocka_unit_test(malformed_documents_refused),
        cmocka_unit_test(embedded_object_paths_use_root),
        cmocka_unit_test(serialises_in_table_order),
        cmocka_unit_test(doubles_serialise_exactly),
        cmocka_unit_test(serialise_refuses_bad_structs),
        cmocka_unit_test(documentation_lists_every_key),
        cmocka_unit_test(bad_tables_are_caught),
        cmocka_unit_test(files_are_read_with_limits),
        cmocka_unit_test(ready_made_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
