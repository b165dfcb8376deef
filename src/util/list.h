/* An intrusive, circular, doubly-linked list: embed a sioc__link as the first member of the items
 * and use one as the head. Nothing here allocates. */
#ifndef SIOC_UTIL_LIST_H
#define SIOC_UTIL_LIST_H

#include <stdbool.h>

typedef struct sioc__link {
    struct sioc__link *next, *prev;
} sioc__link;

static inline void sioc__list_init(sioc__link *head)
{
    head->next = head->prev = head;
}

static inline bool sioc__list_empty(const sioc__link *head)
{
    return head->next == head;
}

static inline void sioc__list_append(sioc__link *head, sioc__link *item)
{
    item->next = head;
    item->prev = head->prev;
    head->prev->next = item;
    head->prev = item;
}

static inline void sioc__list_remove(sioc__link *item)
{
    item->prev->next = item->next;
    item->next->prev = item->prev;
    item->next = item->prev = item;
}

#endif
