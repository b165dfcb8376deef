/* Intervals and work off the loop (src/server/tasks.c): intervals fire on the wheel and may clear
 * themselves; work runs on another thread, one item after another, and its `after` runs on the
 * thread that drains, once the loop is woken; stopping waits for the work running and ends the
 * rest with SIOC_ERR_CLOSED. */
#include <check.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "server/tasks.h"

static sioc__wheel wheel;
static sioc__tasks tasks;
static pthread_mutex_t woken_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t woken_cond = PTHREAD_COND_INITIALIZER;
static int woken;
static pthread_t loop_thread;

/* The loop's wake-up, from the worker thread. */
static void wake(void *arg)
{
    pthread_mutex_lock(&woken_lock);
    woken++;
    pthread_cond_signal(&woken_cond);
    pthread_mutex_unlock(&woken_lock);
}

/* Waits (at most 5 s) until the worker has woken the loop `n` times in all. */
static void wait_woken(int n)
{
    pthread_mutex_lock(&woken_lock);
    for (int i = 0; woken < n && i < 500; i++) {
        pthread_mutex_unlock(&woken_lock);
        usleep(10000);
        pthread_mutex_lock(&woken_lock);
    }
    ck_assert_int_ge(woken, n);
    pthread_mutex_unlock(&woken_lock);
}

static void setup(void)
{
    sioc__wheel_init(&wheel, 1000);
    woken = 0;
    loop_thread = pthread_self();
    sioc__tasks_init(&tasks, (sioc_server *)&wheel, &wheel, wake, NULL);
}

typedef struct item {
    int order[8];
    int n;
    int afters;
    int err;
    bool on_worker, on_loop;
} item;

static item log_;

static void work(void *arg)
{
    log_.order[log_.n++] = (int)(intptr_t)arg;
    log_.on_worker = !pthread_equal(pthread_self(), loop_thread);
    usleep(20000);
}

static void after(sioc_server *server, int err, void *arg)
{
    ck_assert_ptr_eq(server, (sioc_server *)&wheel);
    log_.afters++;
    log_.err = err ? err : log_.err;
    log_.on_loop = pthread_equal(pthread_self(), loop_thread);
}

START_TEST(work_runs_off_the_loop_in_order_and_its_after_on_the_loop)
{
    memset(&log_, 0, sizeof(log_));
    for (intptr_t i = 1; i <= 3; i++) {
        ck_assert_int_eq(sioc__tasks_queue(&tasks, work, after, (void *)i), 0);
    }
    ck_assert_int_eq(log_.afters, 0); /* never during the call */
    wait_woken(3);
    sioc__tasks_drain(&tasks);
    ck_assert_int_eq(log_.afters, 3);
    ck_assert_int_eq(log_.err, 0);
    ck_assert(log_.on_worker);
    ck_assert(log_.on_loop);
    ck_assert_int_eq(log_.order[0], 1);
    ck_assert_int_eq(log_.order[1], 2);
    ck_assert_int_eq(log_.order[2], 3);
    ck_assert_int_eq(sioc__tasks_queue(&tasks, NULL, after, NULL), SIOC_ERR_INVALID);
    sioc__tasks_stop(&tasks);
}
END_TEST

START_TEST(stopping_waits_for_the_work_running_and_closes_the_rest)
{
    memset(&log_, 0, sizeof(log_));
    for (intptr_t i = 1; i <= 5; i++) {
        ck_assert_int_eq(sioc__tasks_queue(&tasks, work, after, (void *)i), 0);
    }
    usleep(5000); /* the first is running */
    sioc__tasks_stop(&tasks);
    ck_assert_int_eq(log_.afters, 5); /* each exactly once */
    ck_assert_int_lt(log_.n, 5);      /* not all ran */
    ck_assert_int_eq(log_.err, SIOC_ERR_CLOSED);
}
END_TEST

static int fired;
static int self_id;

static void tick(sioc_server *server, void *arg)
{
    fired++;
    if (arg && fired == 3) {
        ck_assert_int_eq(sioc__tasks_clear_interval(&tasks, self_id), 0);
    }
}

START_TEST(intervals_fire_every_period_until_cleared)
{
    fired = 0;
    self_id = sioc__tasks_set_interval(&tasks, 100, tick, (void *)1);
    ck_assert_int_gt(self_id, 0);
    ck_assert_int_eq(sioc__tasks_set_interval(&tasks, 0, tick, NULL), SIOC_ERR_INVALID);
    sioc__wheel_advance(&wheel, 1090);
    ck_assert_int_eq(fired, 0);
    sioc__wheel_advance(&wheel, 1100);
    ck_assert_int_eq(fired, 1);
    sioc__wheel_advance(&wheel, 1205); /* a late tick: the next is still due at 1300 */
    ck_assert_int_eq(fired, 2);
    sioc__wheel_advance(&wheel, 1300); /* the third clears it */
    ck_assert_int_eq(fired, 3);
    sioc__wheel_advance(&wheel, 1500);
    ck_assert_int_eq(fired, 3);
    ck_assert_int_eq(sioc__tasks_clear_interval(&tasks, self_id), SIOC_ERR_INVALID);
    int other = sioc__tasks_set_interval(&tasks, 50, tick, NULL);
    ck_assert_int_gt(other, self_id);
    sioc__tasks_stop(&tasks); /* ends the intervals left */
    sioc__wheel_advance(&wheel, 3000);
    ck_assert_int_eq(fired, 3);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("server_tasks");
    TCase *tc = tcase_create("tasks");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, work_runs_off_the_loop_in_order_and_its_after_on_the_loop);
    tcase_add_test(tc, stopping_waits_for_the_work_running_and_closes_the_rest);
    tcase_add_test(tc, intervals_fire_every_period_until_cleared);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
