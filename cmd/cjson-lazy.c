/* cjson-lazy: the atb program's cJSON, loaded when a run first needs it.
 *
 * Most runs never read or write JSON: the argument form with text output
 * needs none. Yet a library the program is linked with is loaded at every
 * start, before main(): libcjson and the libm it came with were a tenth of
 * a millisecond of a one-command run (of ~1.4 ms on a small VM), and more
 * mappings for each of a thousand `atb latch wait-set` processes to tear
 * down when they exit. So the program is linked with this file instead of
 * -lcjson. Each cJSON function the tree calls is defined here; its first
 * call loads the library by its soname (ATB_CJSON_SONAME, read from the
 * library the build found) and looks the function up, once.
 *
 * libatb.so, the unit tests and the fuzzer link libcjson as usual: an
 * embedding program decides for itself what it loads.
 *
 * A function missing here is a link error of the program (undefined
 * reference to cJSON_...): add it below, with its prototype from cJSON.h.
 *
 * The CLI calls cmd_json_ready() before a run whose report is JSON, so a
 * library that vanished since the build stops it before anything starts;
 * the spec and a rerun's report are read before anything starts anyway.
 * A call that still cannot be served ends the program with EXIT_ATB. */
#include "cmd.h"
#include "exit.h"

#include <cjson/cJSON.h>
#include <dlfcn.h>
#include <stdlib.h>

#ifndef ATB_CJSON_SONAME
#define ATB_CJSON_SONAME "libcjson.so.1"
#endif

static void *lib;

int cmd_json_ready(void)
{
    if (lib != NULL)
        return 0;
    /* RTLD_LOCAL: its names serve these functions only, never another
     * library's lookups (ours would come first anyway). */
    lib = dlopen(ATB_CJSON_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        const char *why = dlerror();

        cmd_err("cannot load %s, which reading and writing JSON needs: %s", ATB_CJSON_SONAME,
                why ? why : "unknown error");
        return -1;
    }
    return 0;
}

/* The library's name for *slot, looked up on its first use. Never NULL: a
 * function that cannot be had ends the program. */
static void *sym(void **slot, const char *name)
{
    if (*slot != NULL)
        return *slot;
    if (cmd_json_ready() < 0)
        exit(EXIT_ATB);
    *slot = dlsym(lib, name);
    if (*slot == NULL) {
        cmd_err("%s has no %s", ATB_CJSON_SONAME, name);
        exit(EXIT_ATB);
    }
    return *slot;
}

/* One cJSON function: its return type, name, parameter list and the
 * argument list that passes them on. */
#define LAZY(ret, name, params, args)                 \
    ret name params                                   \
    {                                                 \
        static void *fn;                              \
        return ((ret(*) params)sym(&fn, #name)) args; \
    }

LAZY(cJSON *, cJSON_ParseWithLengthOpts,
     (const char *value, size_t length, const char **end, cJSON_bool nul_terminated),
     (value, length, end, nul_terminated))
LAZY(char *, cJSON_Print, (const cJSON *item), (item))
LAZY(cJSON *, cJSON_Duplicate, (const cJSON *item, cJSON_bool recurse), (item, recurse))

LAZY(int, cJSON_GetArraySize, (const cJSON *array), (array))
LAZY(cJSON *, cJSON_GetObjectItemCaseSensitive, (const cJSON *const object, const char *const key),
     (object, key))
LAZY(cJSON_bool, cJSON_IsArray, (const cJSON *const item), (item))
LAZY(cJSON_bool, cJSON_IsBool, (const cJSON *const item), (item))
LAZY(cJSON_bool, cJSON_IsNull, (const cJSON *const item), (item))
LAZY(cJSON_bool, cJSON_IsNumber, (const cJSON *const item), (item))
LAZY(cJSON_bool, cJSON_IsObject, (const cJSON *const item), (item))
LAZY(cJSON_bool, cJSON_IsString, (const cJSON *const item), (item))
LAZY(cJSON_bool, cJSON_IsTrue, (const cJSON *const item), (item))

LAZY(cJSON *, cJSON_CreateArray, (void), ())
LAZY(cJSON *, cJSON_CreateObject, (void), ())
LAZY(cJSON *, cJSON_CreateNumber, (double num), (num))
LAZY(cJSON *, cJSON_CreateString, (const char *string), (string))
LAZY(cJSON_bool, cJSON_AddItemToArray, (cJSON * array, cJSON *item), (array, item))
LAZY(cJSON_bool, cJSON_AddItemToObject, (cJSON * object, const char *key, cJSON *item),
     (object, key, item))
LAZY(cJSON *, cJSON_AddBoolToObject,
     (cJSON *const object, const char *const key, const cJSON_bool boolean),
     (object, key, boolean))
LAZY(cJSON *, cJSON_AddNullToObject, (cJSON *const object, const char *const key),
     (object, key))
LAZY(cJSON *, cJSON_AddNumberToObject,
     (cJSON *const object, const char *const key, const double number), (object, key, number))
LAZY(cJSON *, cJSON_AddObjectToObject, (cJSON *const object, const char *const key),
     (object, key))
LAZY(cJSON *, cJSON_AddStringToObject,
     (cJSON *const object, const char *const key, const char *const string),
     (object, key, string))

/* Written out: a void function cannot return its call's (void) value. */
void cJSON_Delete(cJSON *item)
{
    static void *fn;

    if (item != NULL)
        ((void (*)(cJSON *))sym(&fn, "cJSON_Delete"))(item);
}
