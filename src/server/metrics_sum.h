/* Several processes' metrics texts (Prometheus's format 0.0.4, as metrics.c writes them) as one,
 * sans-I/O: the primary's answer with worker processes is the sum of the workers'. */
#ifndef SIOC_SERVER_METRICS_SUM_H
#define SIOC_SERVER_METRICS_SUM_H

#include <stddef.h>

/* Every sample (`name{labels}`) summed over `texts` (`n` of them, borrowed; NULL ones skipped),
 * but process_start_time_seconds (the earliest) and sioc_build_info (1); a sample that only some
 * texts have goes with its metric's others. Each metric keeps its HELP and TYPE, first seen
 * first. Ends with the gauge sioc_workers: how many texts there were. A new NUL-terminated string
 * (*len its length, when not NULL) the caller frees, or NULL on no memory. */
char *sioc__metrics_sum(const char *const *texts, size_t n, size_t *len);

#endif
