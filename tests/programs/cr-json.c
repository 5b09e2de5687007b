/* SPDX-License-Identifier: MIT */
/*
 * cr-json: check corral's JSON result from a shell script.
 *
 *   cr-json FILE EXPR...     exit 0 if every EXPR holds, else print each failing
 *                            one with the actual value and exit 1
 *   cr-json FILE PATH        print the value at PATH (strings raw); exit 1 if absent
 *   cr-json FILE             exit 0 if the JSON parses
 *
 * FILE is "-" for stdin. The JSON is the LAST non-empty line of FILE (corral
 * prints its result last on stdout), or else the whole file.
 *
 * EXPR is "PATH OP VALUE", as one argument ('status == ok', 'oom_kills>0') or as
 * three (status == ok).
 *   PATH   dotted: evidence.limit_hit, evidence.signals_sent.0.signal; a "#"
 *          component is the length of an array or object (evidence.signals_sent.#)
 *   OP     == != >= <= > <, and ~ (the value, as text, contains VALUE)
 *   VALUE  null, true, false, a number, <absent> (the key is missing), @PATH (the
 *          value at another path of the same object: 'cpu_time_s <= @wall_time_s'),
 *          "a quoted string", or a bare string. With == and != a VALUE of the form
 *          a|b|c means any of (none of) them: 'enforcement.tasks == rlimit-nproc|none'.
 * Numbers compare as numbers, strings as strings; a type mismatch fails.
 *
 * Exit: 0 all hold; 1 some failed (or PATH absent); 2 bad arguments or no JSON.
 */
#include <jansson.h>
#include <math.h>
#include <stdbool.h>

#include "common.h"

static const char usage[] = "FILE [PATH | EXPR...]   (EXPR: 'PATH OP VALUE', OP: == != >= <= > < ~)";

static const char *const ops[] = { "==", "!=", ">=", "<=", "~", ">", "<", NULL };

typedef struct expr {
        char *text; /* as written, for messages */
        char *path;
        const char *op;
        char *value;
} expr;

/* ---- input ---- */

static char *slurp(const char *file)
{
        FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "re");
        char *buf = NULL;
        size_t len = 0, cap = 0;

        if (!f) {
                say("cannot open %s: %s", file, strerror(errno));
                return NULL;
        }
        for (;;) {
                if (cap - len < 4096) {
                        cap = cap ? cap * 2 : 65536;
                        char *n = realloc(buf, cap + 1);
                        if (!n) {
                                free(buf);
                                buf = NULL;
                                break;
                        }
                        buf = n;
                }
                size_t got = fread(buf + len, 1, cap - len, f);
                len += got;
                if (got == 0)
                        break;
        }
        if (buf)
                buf[len] = '\0';
        if (f != stdin)
                fclose(f);
        return buf;
}

static json_t *load(const char *file)
{
        char *buf = slurp(file), *line, *end;
        json_error_t err;
        json_t *j;

        if (!buf)
                return NULL;
        /* The last non-empty line. */
        end = buf + strlen(buf);
        while (end > buf && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
                end--;
        line = end;
        while (line > buf && line[-1] != '\n')
                line--;
        j = json_loadb(line, (size_t)(end - line), JSON_REJECT_DUPLICATES, &err);
        if (!j)
                j = json_loads(buf, JSON_REJECT_DUPLICATES, NULL);
        if (!j) {
                int shown = (int)(end - line) > 200 ? 200 : (int)(end - line);
                say("%s: the last line is not JSON (%s): %.*s", file, err.text, shown, line);
        }
        free(buf);
        return j;
}

/* ---- paths ---- */

static json_t *lookup(json_t *root, const char *path, json_t **ret_tmp)
{
        char *copy = strdup(path), *save = NULL, *comp;
        json_t *cur = root;

        *ret_tmp = NULL;
        if (!copy)
                return NULL;
        for (comp = strtok_r(copy, ".", &save); comp && cur; comp = strtok_r(NULL, ".", &save)) {
                if (strcmp(comp, "#") == 0) {
                        size_t n = json_is_array(cur) ? json_array_size(cur)
                                 : json_is_object(cur) ? json_object_size(cur) : 0;
                        if (!json_is_array(cur) && !json_is_object(cur)) {
                                cur = NULL;
                                break;
                        }
                        *ret_tmp = json_integer((json_int_t)n);
                        cur = *ret_tmp;
                        continue;
                }
                if (json_is_object(cur)) {
                        cur = json_object_get(cur, comp);
                } else if (json_is_array(cur)) {
                        uint64_t idx;
                        cur = parse_u64(comp, SIZE_MAX, &idx) == 0 ? json_array_get(cur, (size_t)idx) : NULL;
                } else {
                        cur = NULL;
                }
        }
        free(copy);
        return cur;
}

static char *show(const json_t *v)
{
        if (!v)
                return strdup("<absent>");
        return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
}

/* ---- expressions ---- */

static bool is_op_char(char c)
{
        return c == '=' || c == '!' || c == '<' || c == '>' || c == '~';
}

static const char *match_op(const char *s)
{
        for (const char *const *o = ops; *o; o++)
                if (strncmp(s, *o, strlen(*o)) == 0)
                        return *o;
        return NULL;
}

static char *trim(char *s)
{
        while (*s == ' ' || *s == '\t')
                s++;
        char *e = s + strlen(s);
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
                *--e = '\0';
        return s;
}

/* "PATH OP VALUE" in one string; 0 or -1. */
static int parse_expr(const char *text, expr *ret)
{
        char *copy = strdup(text), *p, *path;
        const char *op;

        if (!copy)
                return -1;
        p = copy;
        while (*p && !is_op_char(*p))
                p++;
        op = match_op(p);
        if (!op) {
                free(copy);
                return -1;
        }
        *p = '\0';
        path = trim(copy);
        if (!*path || strchr(path, ' ') || !*trim(p + strlen(op))) {
                free(copy);
                return -1;
        }
        ret->text = strdup(text);
        ret->path = strdup(path);
        ret->op = op;
        ret->value = strdup(trim(p + strlen(op)));
        free(copy);
        return ret->text && ret->path && ret->value ? 0 : -1;
}

static bool parse_number(const char *s, double *ret)
{
        char *end = NULL;

        if (!*s || !(s[0] == '-' || s[0] == '.' || (s[0] >= '0' && s[0] <= '9')))
                return false;
        errno = 0;
        *ret = strtod(s, &end);
        return errno == 0 && end && *end == '\0';
}

static bool order(const char *op, int cmp)
{
        if (strcmp(op, "==") == 0)
                return cmp == 0;
        if (strcmp(op, "!=") == 0)
                return cmp != 0;
        if (strcmp(op, ">=") == 0)
                return cmp >= 0;
        if (strcmp(op, "<=") == 0)
                return cmp <= 0;
        if (strcmp(op, ">") == 0)
                return cmp > 0;
        if (strcmp(op, "<") == 0)
                return cmp < 0;
        return false;
}

static int cmp_double(double a, double b)
{
        return a < b ? -1 : a > b ? 1 : 0;
}

/* actual OP one literal (no alternatives). */
static bool holds_one(json_t *root, const json_t *actual, const char *op, const char *value)
{
        double num;

        if (strcmp(value, "<absent>") == 0) {
                if (strcmp(op, "==") == 0)
                        return actual == NULL;
                if (strcmp(op, "!=") == 0)
                        return actual != NULL;
                return false;
        }
        if (!actual)
                return false;

        if (strcmp(op, "~") == 0) {
                char *text = json_is_string(actual) ? strdup(json_string_value(actual)) : show(actual);
                bool found = text && strstr(text, value) != NULL;
                free(text);
                return found;
        }

        if (value[0] == '@') {
                json_t *tmp, *other = lookup(root, value + 1, &tmp);
                bool r;
                if (!other)
                        r = false;
                else if (json_is_number(actual) && json_is_number(other))
                        r = order(op, cmp_double(json_number_value(actual), json_number_value(other)));
                else if (json_is_string(actual) && json_is_string(other))
                        r = order(op, strcmp(json_string_value(actual), json_string_value(other)));
                else if (strcmp(op, "==") == 0)
                        r = json_equal(actual, other);
                else if (strcmp(op, "!=") == 0)
                        r = !json_equal(actual, other);
                else
                        r = false;
                json_decref(tmp);
                return r;
        }

        if (strcmp(value, "null") == 0 || strcmp(value, "true") == 0 || strcmp(value, "false") == 0) {
                bool same = strcmp(value, "null") == 0 ? json_is_null(actual)
                          : strcmp(value, "true") == 0 ? json_is_true(actual)
                                                       : json_is_false(actual);
                if (strcmp(op, "==") == 0)
                        return same;
                if (strcmp(op, "!=") == 0)
                        return !same;
                return false;
        }

        if (parse_number(value, &num)) {
                if (!json_is_number(actual))
                        return strcmp(op, "!=") == 0;
                return order(op, cmp_double(json_number_value(actual), num));
        }

        /* A string, bare or quoted. */
        char *s = strdup(value);
        bool r;
        size_t n = s ? strlen(s) : 0;
        if (!s)
                return false;
        if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
                memmove(s, s + 1, n - 2);
                s[n - 2] = '\0';
        }
        if (!json_is_string(actual))
                r = strcmp(op, "!=") == 0;
        else
                r = order(op, strcmp(json_string_value(actual), s));
        free(s);
        return r;
}

static bool holds(json_t *root, const expr *e)
{
        json_t *tmp;
        const json_t *actual = lookup(root, e->path, &tmp);
        bool r;

        if ((strcmp(e->op, "==") == 0 || strcmp(e->op, "!=") == 0) && strchr(e->value, '|') &&
            e->value[0] != '"') {
                /* Alternatives: == any of them, != none of them. */
                char *copy = strdup(e->value), *save = NULL;
                bool any = false;
                for (char *alt = copy ? strtok_r(copy, "|", &save) : NULL; alt; alt = strtok_r(NULL, "|", &save))
                        if (holds_one(root, actual, "==", trim(alt)))
                                any = true;
                free(copy);
                r = strcmp(e->op, "==") == 0 ? any : !any;
        } else {
                r = holds_one(root, actual, e->op, e->value);
        }
        if (!r) {
                char *a = show(actual);
                printf("cr-json: FAIL %s %s %s (actual: %s)\n", e->path, e->op, e->value, a ? a : "?");
                free(a);
        }
        json_decref(tmp);
        return r;
}

static void expr_done(expr *e)
{
        free(e->text);
        free(e->path);
        free(e->value);
}

int main(int argc, char **argv)
{
        expr *exprs;
        size_t n = 0;
        json_t *root;
        int rc = 0;

        prog_init(argc, argv);
        if (argc < 2 || (argv[1][0] == '-' && argv[1][1] != '\0'))
                usage_exit(usage);

        exprs = calloc((size_t)argc, sizeof(*exprs));
        if (!exprs)
                return 2;
        /* Parse everything first: a malformed expression is a test bug, found before any check. */
        for (int i = 2; i < argc; i++) {
                const char *a = argv[i];
                bool has_op = false;
                for (const char *c = a; *c; c++)
                        if (is_op_char(*c))
                                has_op = true;
                if (has_op) {
                        if (parse_expr(a, &exprs[n]) < 0) {
                                say("malformed expression '%s'", a);
                                usage_exit(usage);
                        }
                        n++;
                } else if (i + 2 < argc && match_op(argv[i + 1]) && strlen(argv[i + 1]) == strlen(match_op(argv[i + 1]))) {
                        size_t len = strlen(a) + strlen(argv[i + 1]) + strlen(argv[i + 2]) + 3;
                        char *text = malloc(len);
                        if (!text)
                                return 2;
                        snprintf(text, len, "%s %s %s", a, argv[i + 1], argv[i + 2]);
                        if (parse_expr(text, &exprs[n]) < 0) {
                                say("malformed expression '%s'", text);
                                usage_exit(usage);
                        }
                        free(text);
                        n++;
                        i += 2;
                } else if (argc == 3) {
                        break; /* print mode */
                } else {
                        say("malformed expression '%s'", a);
                        usage_exit(usage);
                }
        }

        root = load(argv[1]);
        if (!root)
                return 2;

        if (argc == 3 && n == 0) {
                json_t *tmp;
                const json_t *v = lookup(root, argv[2], &tmp);
                if (!v) {
                        rc = 1;
                } else if (json_is_string(v)) {
                        printf("%s\n", json_string_value(v));
                } else {
                        char *s = show(v);
                        printf("%s\n", s ? s : "");
                        free(s);
                }
                json_decref(tmp);
        } else {
                for (size_t i = 0; i < n; i++)
                        if (!holds(root, &exprs[i]))
                                rc = 1;
        }
        for (size_t i = 0; i < n; i++)
                expr_done(&exprs[i]);
        free(exprs);
        json_decref(root);
        return rc;
}
