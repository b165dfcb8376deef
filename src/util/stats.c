/* Counters of this process (stats.h). */
#include "util/stats.h"

#include <string.h>

sioc__stats sioc__stats_g;

/* Node's reasons (socket.io's DisconnectReason), the last one for anything else. */
static const char *const reasons[SIOC__STATS_REASONS] = {
    "transport error",
    "transport close",
    "forced close",
    "ping timeout",
    "parse error",
    "server shutting down",
    "forced server close",
    "client namespace disconnect",
    "server namespace disconnect",
    "write buffer full",
    "connect timeout",
    "other",
};

void sioc__stats_disconnect(const char *reason)
{
    size_t i = 0;
    while (i < SIOC__STATS_REASONS - 1 && (!reason || strcmp(reasons[i], reason) != 0)) {
        i++;
    }
    sioc__stats_g.disconnects[i]++;
}

const char *sioc__stats_reason(size_t i)
{
    return i < SIOC__STATS_REASONS ? reasons[i] : "other";
}
