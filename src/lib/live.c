/* SPDX-License-Identifier: MIT */
/*
 * The list of live jobs in this process, under one mutex (jobs may be driven from
 * several threads). Kernel interfaces: waitpid on our own zombie children.
 */
#include <pthread.h>
#include <sys/wait.h>

#include "backend.h"
#include "forkserver.h"
#include "job.h"
#include "live.h"

static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static corral_job *live_head;

void live_add(corral_job *j) {
        pthread_mutex_lock(&live_lock);
        j->live_next = live_head;
        if (live_head)
                live_head->live_prev = j;
        live_head = j;
        j->live = true;
        pthread_mutex_unlock(&live_lock);
}

void live_remove(corral_job *j) {
        pthread_mutex_lock(&live_lock);
        if (j->live) {
                if (j->live_prev)
                        j->live_prev->live_next = j->live_next;
                else
                        live_head = j->live_next;
                if (j->live_next)
                        j->live_next->live_prev = j->live_prev;
                j->live = false;
                j->live_next = j->live_prev = NULL;
        }
        pthread_mutex_unlock(&live_lock);
}

void live_mains(const corral_job *self, pid_list *ret) {
        pid_t server = forkserver_pid();
        if (server > 0)
                (void) pid_list_add(ret, server);
        pthread_mutex_lock(&live_lock);
        for (corral_job *j = live_head; j; j = j->live_next)
                if (j != self && j->pid > 0)
                        (void) pid_list_add(ret, j->pid);
        pthread_mutex_unlock(&live_lock);
}

bool live_sole_uncontained(const corral_job *self) {
        bool sole = true;
        pthread_mutex_lock(&live_lock);
        for (corral_job *j = live_head; j; j = j->live_next)
                if (j != self && !j->be.group)
                        sole = false;
        pthread_mutex_unlock(&live_lock);
        return sole;
}

void live_reap_zombie_orphans(const corral_job *self) {
        pid_list skip = {}, mine = {};
        if (!self->be.subreaper)
                return;
        live_mains(self, &skip);
        if (rl_add_own_children(&mine, &skip) >= 0)
                for (size_t i = 0; i < mine.n; i++) {
                        bool ours;
                        if (rl_is_zombie(mine.pids[i], &ours) && ours)
                                (void) waitpid(mine.pids[i], NULL, __WALL | WNOHANG);
                }
        pid_list_done(&skip);
        pid_list_done(&mine);
}
