/* The object that holds `ptr` as its member `member`: for structs embedded in their owner (timers,
 * list links). */
#ifndef SIOC_UTIL_CONTAINER_H
#define SIOC_UTIL_CONTAINER_H

#include <stddef.h>

#define CONTAINER(ptr, type, member) ((type *)(void *)(((char *)(ptr)) - offsetof(type, member)))

#endif
