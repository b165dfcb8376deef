/* The main() every unit test shares: runs one suite in this process, fails on any failure. */
#ifndef SIOC_TESTS_CHECK_MAIN_H
#define SIOC_TESTS_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static inline int run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
