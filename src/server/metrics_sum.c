/* The sum of several processes' metrics texts (metrics_sum.h). */
#include "server/metrics_sum.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

typedef struct sample {
    char *key; /* name{labels} */
    double value;
} sample;

typedef struct family {
    char *name;
    char *help_type; /* its "# HELP" and "# TYPE" lines */
    sample *samples;
    size_t n, cap;
} family;

typedef struct sum {
    family *families;
    size_t n, cap;
    int failed;
} sum;

static family *family_of(sum *s, const char *name, size_t len)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strlen(s->families[i].name) == len && memcmp(s->families[i].name, name, len) == 0) {
            return &s->families[i];
        }
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 32;
        family *grown = realloc(s->families, cap * sizeof(*grown));
        if (!grown) {
            return NULL;
        }
        s->families = grown;
        s->cap = cap;
    }
    family *f = &s->families[s->n];
    memset(f, 0, sizeof(*f));
    if (!(f->name = strndup(name, len))) {
        return NULL;
    }
    s->n++;
    return f;
}

static void add_sample(sum *s, family *f, const char *key, size_t klen, double v)
{
    bool earliest = strcmp(f->name, "process_start_time_seconds") == 0;
    bool one = strcmp(f->name, "sioc_build_info") == 0;
    for (size_t i = 0; i < f->n; i++) {
        if (strlen(f->samples[i].key) == klen && memcmp(f->samples[i].key, key, klen) == 0) {
            double *x = &f->samples[i].value;
            *x = one ? 1 : earliest ? (v < *x ? v : *x) : *x + v;
            return;
        }
    }
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 8;
        sample *grown = realloc(f->samples, cap * sizeof(*grown));
        if (!grown) {
            s->failed = 1;
            return;
        }
        f->samples = grown;
        f->cap = cap;
    }
    if (!(f->samples[f->n].key = strndup(key, klen))) {
        s->failed = 1;
        return;
    }
    f->samples[f->n++].value = v;
}

/* "# HELP name ..." / "# TYPE name ...": kept once per metric. */
static void comment(sum *s, const char *line, size_t len)
{
    const char *name = line + 7;
    size_t nlen = strcspn(name, " \n");
    family *f = len > 7 ? family_of(s, name, nlen) : NULL;
    if (!f) {
        s->failed = len > 7;
        return;
    }
    size_t had = f->help_type ? strlen(f->help_type) : 0;
    if (had && strncmp(line, "# HELP", 6) == 0 && strstr(f->help_type, "# HELP")) {
        return; /* another text's HELP of it */
    }
    if (had && strncmp(line, "# TYPE", 6) == 0 && strstr(f->help_type, "# TYPE")) {
        return;
    }
    char *grown = realloc(f->help_type, had + len + 2);
    if (!grown) {
        s->failed = 1;
        return;
    }
    memcpy(grown + had, line, len);
    grown[had + len] = '\n';
    grown[had + len + 1] = '\0';
    f->help_type = grown;
}

static void line_of(sum *s, const char *line, size_t len)
{
    if (len > 7 && (strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0)) {
        comment(s, line, len);
        return;
    }
    const char *space = len ? memrchr(line, ' ', len) : NULL;
    if (!space || line[0] == '#') {
        return;
    }
    size_t klen = (size_t)(space - line);
    size_t nlen = strcspn(line, "{ ");
    char num[64];
    size_t vlen = len - klen - 1;
    if (vlen == 0 || vlen >= sizeof(num)) {
        return;
    }
    memcpy(num, space + 1, vlen);
    num[vlen] = '\0';
    family *f = family_of(s, line, nlen < klen ? nlen : klen);
    if (!f) {
        s->failed = 1;
        return;
    }
    add_sample(s, f, line, klen, strtod(num, NULL));
}

static void put(sioc__buf *b, int *failed, const char *text)
{
    if (sioc__buf_append(b, text, strlen(text)) < 0) {
        *failed = 1;
    }
}

char *sioc__metrics_sum(const char *const *texts, size_t n, size_t *len)
{
    sum s = {NULL, 0, 0, 0};
    size_t workers = 0;
    for (size_t t = 0; t < n; t++) {
        workers += texts[t] != NULL;
        for (const char *p = texts[t]; p && *p;) {
            size_t l = strcspn(p, "\n");
            line_of(&s, p, l);
            p += l + (p[l] == '\n');
        }
    }
    sioc__buf b = {0};
    for (size_t i = 0; i < s.n; i++) {
        family *f = &s.families[i];
        put(&b, &s.failed, f->help_type ? f->help_type : "");
        for (size_t k = 0; k < f->n; k++) {
            char v[96];
            snprintf(v, sizeof(v), " %.15g\n", f->samples[k].value);
            put(&b, &s.failed, f->samples[k].key);
            put(&b, &s.failed, v);
            free(f->samples[k].key);
        }
        free(f->samples);
        free(f->help_type);
        free(f->name);
    }
    free(s.families);
    char tail[160];
    snprintf(tail, sizeof(tail),
             "# HELP sioc_workers Worker processes whose figures are summed here.\n"
             "# TYPE sioc_workers gauge\nsioc_workers %zu\n",
             workers);
    put(&b, &s.failed, tail);
    if (s.failed || sioc__buf_append(&b, "", 1) < 0) {
        sioc__buf_free(&b);
        return NULL;
    }
    if (len) {
        *len = b.len - 1;
    }
    return b.data;
}
