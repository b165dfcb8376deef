/* Rooms (src/core/rooms.c) over fake connections: joining and leaving as Node's adapter does
 * (a socket's own room first, joining order kept, an emptied room deleted), a leaving socket
 * taken out of every room, and selections that hold their sockets. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "fake_core.h"

static fake_core f;
static sioc_namespace *root;
static sioc_socket **sockets = f.sockets;

static void setup(void)
{
    fake_core_start(&f);
    root = f.root;
}

static void teardown(void)
{
    fake_core_stop(&f);
}

/* The socket's rooms as "a,b,c", its own id written as "self". */
static const char *rooms_of(sioc_socket *s)
{
    static char out[256];
    const char *names[8];
    size_t n = sioc_socket_rooms(s, names, 8);
    out[0] = '\0';
    for (size_t i = 0; i < n && i < 8; i++) {
        strcat(out, i ? "," : "");
        strcat(out, strcmp(names[i], sioc_socket_id(s)) == 0 ? "self" : names[i]);
    }
    return out;
}

static bool room_exists(const char *name)
{
    return sioc__map_get(&root->rooms, name, strlen(name)) != NULL;
}

START_TEST(own_room_first_then_joining_order_and_joins_are_idempotent)
{
    sioc_socket *s = sockets[0];
    ck_assert_str_eq(rooms_of(s), "self");
    ck_assert_int_eq(sioc_socket_join(s, "b"), 0);
    ck_assert_int_eq(sioc_socket_join(s, "a"), 0);
    ck_assert_int_eq(sioc_socket_join(s, "b"), 0);
    ck_assert_int_eq(sioc_socket_join(s, "c"), 0);
    ck_assert_str_eq(rooms_of(s), "self,b,a,c");
    ck_assert_int_eq(sioc_socket_leave(s, "a"), 0);
    ck_assert_str_eq(rooms_of(s), "self,b,c");
    ck_assert_int_eq(sioc_socket_leave(s, "never joined"), 0);
    ck_assert_str_eq(rooms_of(s), "self,b,c");
}
END_TEST

START_TEST(a_room_exists_while_it_has_members)
{
    sioc_socket_join(sockets[0], "r");
    sioc_socket_join(sockets[1], "r");
    ck_assert(room_exists("r"));
    sioc_socket_leave(sockets[0], "r");
    ck_assert(room_exists("r"));
    sioc_socket_leave(sockets[1], "r");
    ck_assert(!room_exists("r"));
    sioc_socket_join(sockets[2], "r"); /* made again on demand */
    ck_assert(room_exists("r"));
}
END_TEST

/* The members of room `name`, in selection order, as indexes into `sockets`: "0,2,3". */
static const char *members_of(const char *name)
{
    static char out[256];
    const char *rooms[] = {name};
    sioc_target t = {.rooms = rooms, .nrooms = 1};
    sioc_socket **list;
    size_t n;
    out[0] = '\0';
    ck_assert_int_eq(sioc__select_list(root, &t, &list, &n), 0);
    for (size_t i = 0; i < n; i++) {
        for (int k = 0; k < FAKE_CORE_CONNS; k++) {
            if (list[i] == sockets[k]) {
                snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%d", i ? "," : "", k);
            }
        }
        sioc__socket_unref(list[i]);
    }
    free(list);
    return out;
}

START_TEST(rooms_and_their_members_outgrow_their_first_slot_and_come_back_to_it)
{
    /* A socket's own room is one of one; another socket may join it too. */
    const char *own = sioc_socket_id(sockets[0]);
    ck_assert_str_eq(members_of(own), "0");
    ck_assert_int_eq(sioc_socket_join(sockets[1], own), 0);
    ck_assert_int_eq(sioc_socket_join(sockets[2], own), 0);
    ck_assert_str_eq(members_of(own), "0,1,2");
    ck_assert_int_eq(sioc_socket_leave(sockets[0], own), 0);
    ck_assert_str_eq(members_of(own), "2,1");
    ck_assert_int_eq(sioc_socket_join(sockets[0], own), 0);
    ck_assert_str_eq(members_of(own), "2,1,0");
    /* Many rooms for one socket, then every member of a room of many. */
    char name[16];
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof(name), "r%d", i);
        ck_assert_int_eq(sioc_socket_join(sockets[3], name), 0);
    }
    ck_assert_str_eq(rooms_of(sockets[3]), "self,r0,r1,r2,r3,r4,r5,r6"); /* the first 8 */
    for (int k = 0; k < FAKE_CORE_CONNS; k++) {
        ck_assert_int_eq(sioc_socket_join(sockets[k], "all"), 0);
    }
    ck_assert_int_eq(sioc_socket_leave(sockets[3], "r9"), 0);
    ck_assert_int_eq(sioc_socket_leave(sockets[3], "r0"), 0);
    ck_assert_str_eq(rooms_of(sockets[3]), "self,r1,r2,r3,r4,r5,r6,r7");
    for (int k = 0; k < FAKE_CORE_CONNS; k++) {
        ck_assert_int_eq(sioc_socket_leave(sockets[k], "all"), 0);
    }
    ck_assert(!room_exists("all"));
    ck_assert(!room_exists("r0"));
    ck_assert(room_exists("r1"));
}
END_TEST

START_TEST(a_socket_that_leaves_its_namespace_leaves_every_room)
{
    char id[64];
    snprintf(id, sizeof(id), "%s", sioc_socket_id(sockets[1]));
    sioc_socket_join(sockets[1], "only-one");
    sioc_socket_join(sockets[1], "shared");
    sioc_socket_join(sockets[2], "shared");
    ck_assert(room_exists(id));
    sioc__socket_ref(sockets[1]); /* kept to look at after it left */
    sioc_socket_disconnect(sockets[1], false);
    ck_assert(!room_exists(id));
    ck_assert(!room_exists("only-one"));
    ck_assert(room_exists("shared"));
    const char *shared[] = {"shared"};
    sioc_target t = {.rooms = shared, .nrooms = 1};
    sioc_socket **list;
    size_t n;
    ck_assert_int_eq(sioc__select_list(root, &t, &list, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_ptr_eq(list[0], sockets[2]);
    sioc__socket_unref(list[0]);
    free(list);
    /* A closed socket joins nothing. */
    ck_assert_int_eq(sioc_socket_join(sockets[1], "late"), SIOC_ERR_INVALID);
    ck_assert_str_eq(rooms_of(sockets[1]), "");
    sioc__socket_unref(sockets[1]);
}
END_TEST

START_TEST(a_selection_holds_its_sockets_and_leaves_out_what_it_excepts)
{
    sioc_socket_join(sockets[0], "x");
    sioc_socket_join(sockets[1], "x");
    sioc_socket_join(sockets[3], "x");
    const char *x[] = {"x"};
    sioc_target t = {.except_rooms = x, .nexcept_rooms = 1};
    sioc_socket **list;
    size_t n;
    ck_assert_int_eq(sioc__select_list(root, &t, &list, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_ptr_eq(list[0], sockets[2]);
    unsigned refs = sockets[2]->refs;
    ck_assert_uint_ge(refs, 2); /* the namespace's, and the list's */
    sioc__socket_unref(list[0]);
    ck_assert_uint_eq(sockets[2]->refs, refs - 1);
    free(list);
    const char *none[] = {"no such room"};
    sioc_target empty = {.rooms = none, .nrooms = 1, .except_socket = sockets[2]};
    ck_assert_int_eq(sioc__select_list(root, &empty, &list, &n), 0);
    ck_assert_uint_eq(n, 0);
    free(list);
    sioc_target all_but = {.except_socket = sockets[0]};
    ck_assert_int_eq(sioc__select_list(root, &all_but, &list, &n), 0);
    ck_assert_uint_eq(n, FAKE_CORE_CONNS - 1);
    for (size_t i = 0; i < n; i++) {
        ck_assert_ptr_ne(list[i], sockets[0]);
        sioc__socket_unref(list[i]);
    }
    free(list);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("core_rooms");
    TCase *tc = tcase_create("rooms");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, own_room_first_then_joining_order_and_joins_are_idempotent);
    tcase_add_test(tc, a_room_exists_while_it_has_members);
    tcase_add_test(tc, rooms_and_their_members_outgrow_their_first_slot_and_come_back_to_it);
    tcase_add_test(tc, a_socket_that_leaves_its_namespace_leaves_every_room);
    tcase_add_test(tc, a_selection_holds_its_sockets_and_leaves_out_what_it_excepts);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
