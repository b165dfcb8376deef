/* Several workers' metrics texts summed into one (server/metrics_sum.c): samples with the same
 * name and labels added, those only some texts have kept with their metric, each HELP and TYPE
 * once, the start time the earliest, the build info 1, and the count of workers. */
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "server/metrics_sum.h"

static const char a[] = "# HELP socket_io_connected Sockets.\n"
                        "# TYPE socket_io_connected gauge\n"
                        "socket_io_connected{namespace=\"/\"} 3\n"
                        "# HELP sioc_http_responses_total Answers.\n"
                        "# TYPE sioc_http_responses_total counter\n"
                        "sioc_http_responses_total{code=\"200\"} 5\n"
                        "# HELP sioc_build_info Build.\n"
                        "# TYPE sioc_build_info gauge\n"
                        "sioc_build_info{version=\"0.1.0\"} 1\n"
                        "# HELP process_start_time_seconds Start.\n"
                        "# TYPE process_start_time_seconds gauge\n"
                        "process_start_time_seconds 1700000010.5\n";

static const char b[] = "# HELP socket_io_connected Sockets.\n"
                        "# TYPE socket_io_connected gauge\n"
                        "socket_io_connected{namespace=\"/\"} 4\n"
                        "socket_io_connected{namespace=\"/chat\"} 1\n"
                        "# HELP sioc_http_responses_total Answers.\n"
                        "# TYPE sioc_http_responses_total counter\n"
                        "sioc_http_responses_total{code=\"200\"} 1\n"
                        "sioc_http_responses_total{code=\"400\"} 2\n"
                        "# HELP sioc_build_info Build.\n"
                        "# TYPE sioc_build_info gauge\n"
                        "sioc_build_info{version=\"0.1.0\"} 1\n"
                        "# HELP process_start_time_seconds Start.\n"
                        "# TYPE process_start_time_seconds gauge\n"
                        "process_start_time_seconds 1700000000.25\n";

START_TEST(workers_texts_sum_into_one)
{
    const char *texts[] = {a, NULL, b};
    size_t len;
    char *sum = sioc__metrics_sum(texts, 3, &len);
    ck_assert_ptr_nonnull(sum);
    ck_assert_uint_eq(strlen(sum), len);
    ck_assert_str_eq(sum, "# HELP socket_io_connected Sockets.\n"
                          "# TYPE socket_io_connected gauge\n"
                          "socket_io_connected{namespace=\"/\"} 7\n"
                          "socket_io_connected{namespace=\"/chat\"} 1\n"
                          "# HELP sioc_http_responses_total Answers.\n"
                          "# TYPE sioc_http_responses_total counter\n"
                          "sioc_http_responses_total{code=\"200\"} 6\n"
                          "sioc_http_responses_total{code=\"400\"} 2\n"
                          "# HELP sioc_build_info Build.\n"
                          "# TYPE sioc_build_info gauge\n"
                          "sioc_build_info{version=\"0.1.0\"} 1\n"
                          "# HELP process_start_time_seconds Start.\n"
                          "# TYPE process_start_time_seconds gauge\n"
                          "process_start_time_seconds 1700000000.25\n"
                          "# HELP sioc_workers Worker processes whose figures are summed here.\n"
                          "# TYPE sioc_workers gauge\n"
                          "sioc_workers 2\n");
    free(sum);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("server_metrics");
    TCase *tc = tcase_create("sum");
    tcase_add_test(tc, workers_texts_sum_into_one);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(suite());
}
