/* SPDX-License-Identifier: MIT */
/*
 * _corral: the CPython extension under `import corral`. A thin layer over the public
 * libcorral API (include/corral.h) and nothing else: policies are built with
 * corral_policy_set() (libcorral parses every value), jobs are corral_spawn() /
 * corral_spawn_fn() jobs, results come out as corral_result_to_json() plus the raw
 * captured bytes. The Python package (corral/__init__.py) builds the user-facing API
 * on top.
 *
 * Theory of operation for functions. corral_spawn_fn() forks (StartMethod=fork) or
 * asks libcorral's forkserver to fork (StartMethod=forkserver); either way the child
 * runs child_main() below, which is Python code in a forked interpreter. CPython must
 * be told about every fork of a process that will run Python again:
 *   - fork: PyOS_BeforeFork() (at-fork "before" hooks, import lock) before
 *     corral_spawn_fn(), PyOS_AfterFork_Parent() after it, PyOS_AfterFork_Child() first
 *     thing in the child. The GIL is held throughout, so the forking thread owns it in
 *     the child. The payload (fn, args, kwargs) is not pickled: the child finds it at
 *     the same address in its copy of our memory.
 *   - forkserver: the helper is a fork of this interpreter made by
 *     corral_forkserver_start() under the same Before/AfterFork_Parent pair (GIL held);
 *     it never runs Python itself. Each function child it forks calls
 *     PyOS_AfterFork_Child() and unpickles its payload, which travelled as `in` bytes.
 * The child writes its pickled outcome with corral_out_write() (libcorral drains the
 * pipe while it runs, so a large result never blocks it), flushes and _exit()s:
 * no atexit handlers, no finalizers of the caller's objects.
 *
 * Waiting (Job.wait) happens without the GIL in poll(2) on the job's fd. A signal that
 * interrupts the poll runs the Python handlers; if one raises (Ctrl-C:
 * KeyboardInterrupt), the job is interrupted (SIGTERM, grace, SIGKILL: libcorral), the
 * wait goes on until the run is over, and only then is the exception raised.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <corral.h>

#define FORK_MAGIC "CRPYFORK"
#define PICKLE_MAGIC "CRPYPKL1"
#define MAGIC_LEN 8

/* What a fork child finds in its copy of our memory. */
typedef struct fork_payload {
        char magic[MAGIC_LEN];
        PyObject *obj; /* (fn, args, kwargs), kept alive by the Job */
} fork_payload;

/* Only in a function child: where its outcome goes. */
static corral_out *child_out;

static PyObject *errno_error(int r, const char *what) {
        errno = -r;
        return PyErr_Format(PyExc_OSError, "%s: %s", what, strerror(-r));
}

/* ---- Policy ---- */

typedef struct {
        PyObject_HEAD corral_policy *p;
} PolicyObject;

static int Policy_init(PolicyObject *self, PyObject *args, PyObject *kwds) {
        static char *kwlist[] = { NULL };
        if (!PyArg_ParseTupleAndKeywords(args, kwds, "", kwlist))
                return -1;
        if (self->p)
                return 0;
        int r = corral_policy_new(&self->p);
        if (r < 0) {
                errno_error(r, "corral_policy_new");
                return -1;
        }
        return 0;
}

static void Policy_dealloc(PolicyObject *self) {
        corral_policy_free(self->p);
        Py_TYPE(self)->tp_free((PyObject *) self);
}

static PyObject *Policy_set(PolicyObject *self, PyObject *args) {
        const char *key, *value;
        corral_diag diag = { { 0 } };
        if (!PyArg_ParseTuple(args, "ss:set", &key, &value))
                return NULL;
        if (!self->p)
                return PyErr_Format(PyExc_RuntimeError, "policy not initialised");
        int r = corral_policy_set(self->p, key, value, &diag);
        if (r < 0) {
                if (diag.message[0])
                        return PyErr_Format(PyExc_ValueError, "%s", diag.message);
                return PyErr_Format(PyExc_ValueError, "%s=%s: %s", key, value, strerror(-r));
        }
        Py_RETURN_NONE;
}

static PyObject *Policy_load(PolicyObject *self, PyObject *args) {
        PyObject *name_obj = NULL;
        corral_diag diag = { { 0 } };
        if (!PyArg_ParseTuple(args, "O&:load", PyUnicode_FSConverter, &name_obj))
                return NULL;
        int r = corral_policy_load(self->p, PyBytes_AS_STRING(name_obj), &diag);
        if (r < 0) {
                PyObject *ret = diag.message[0] ? PyErr_Format(PyExc_ValueError, "%s", diag.message)
                                                : PyErr_Format(PyExc_ValueError, "policy %s: %s",
                                                               PyBytes_AS_STRING(name_obj), strerror(-r));
                Py_DECREF(name_obj);
                return ret;
        }
        Py_DECREF(name_obj);
        Py_RETURN_NONE;
}

static PyMethodDef Policy_methods[] = {
        { "load", (PyCFunction) Policy_load, METH_VARARGS,
          "load(name_or_path): apply a policy file (corral_policy_load); ValueError says FILE:LINE" },
        { "set", (PyCFunction) Policy_set, METH_VARARGS,
          "set(key, value): one property by its systemd or corral name; ValueError names a bad one" },
        { NULL },
};

static PyTypeObject PolicyType = {
        PyVarObject_HEAD_INIT(NULL, 0).tp_name = "corral._corral.Policy",
        .tp_basicsize = sizeof(PolicyObject),
        .tp_flags = Py_TPFLAGS_DEFAULT,
        .tp_doc = "A libcorral policy (corral_policy).",
        .tp_new = PyType_GenericNew,
        .tp_init = (initproc) Policy_init,
        .tp_dealloc = (destructor) Policy_dealloc,
        .tp_methods = Policy_methods,
};

/* ---- Job ---- */

typedef struct {
        PyObject_HEAD corral_job *job;
        int done;
        int busy;           /* a thread is in wait() without the GIL */
        fork_payload *fork; /* StartMethod=fork: what the child ran */
        PyObject *keep;     /* the payload object or bytes, alive as long as the job */
        PyObject *sig_type, *sig_value, *sig_tb; /* a signal handler's exception, raised by wait() */
} JobObject;

static PyTypeObject JobType;

static JobObject *job_new(void) {
        JobObject *j = PyObject_New(JobObject, &JobType);
        if (!j)
                return NULL;
        j->job = NULL;
        j->done = 0;
        j->busy = 0;
        j->fork = NULL;
        j->keep = NULL;
        j->sig_type = j->sig_value = j->sig_tb = NULL;
        return j;
}

static void job_release(JobObject *self) {
        corral_job *job = self->job;
        self->job = NULL;
        if (job) {
                /* A job still running is killed and reaped first: that blocks. */
                Py_BEGIN_ALLOW_THREADS
                corral_job_free(job);
                Py_END_ALLOW_THREADS
        }
        free(self->fork);
        self->fork = NULL;
        Py_CLEAR(self->keep);
        Py_CLEAR(self->sig_type);
        Py_CLEAR(self->sig_value);
        Py_CLEAR(self->sig_tb);
}

static void Job_dealloc(JobObject *self) {
        job_release(self);
        PyObject_Free(self);
}

static int job_usable(JobObject *self) {
        if (!self->job) {
                PyErr_SetString(PyExc_ValueError, "the job is closed");
                return 0;
        }
        if (self->busy) {
                PyErr_SetString(PyExc_RuntimeError, "another thread is waiting for this job");
                return 0;
        }
        return 1;
}

static PyObject *Job_fileno(JobObject *self, PyObject *unused) {
        if (!self->job)
                return PyErr_Format(PyExc_ValueError, "the job is closed");
        return PyLong_FromLong(corral_job_fd(self->job));
}

static PyObject *Job_dispatch(JobObject *self, PyObject *unused) {
        if (!job_usable(self))
                return NULL;
        if (self->done)
                Py_RETURN_TRUE;
        int r = corral_job_dispatch(self->job);
        if (r < 0)
                return errno_error(r, "corral_job_dispatch");
        self->done = r > 0;
        return PyBool_FromLong(self->done);
}

static PyObject *Job_interrupt(JobObject *self, PyObject *unused) {
        if (!self->job)
                return PyErr_Format(PyExc_ValueError, "the job is closed");
        if (self->done)
                Py_RETURN_FALSE;
        int r = corral_job_interrupt(self->job);
        if (r < 0)
                return errno_error(r, "corral_job_interrupt");
        Py_RETURN_TRUE;
}

/* Until the job is done, without the GIL; see the top of the file for signals. */
static PyObject *Job_wait(JobObject *self, PyObject *unused) {
        PyObject *etype = NULL, *evalue = NULL, *etb = NULL;
        int r = 0, pr = 0, err = 0;

        if (!job_usable(self))
                return NULL;
        if (self->sig_type) {
                /* Ctrl-C during the spawn: stop the run gracefully, raise once it is gone. */
                etype = self->sig_type;
                evalue = self->sig_value;
                etb = self->sig_tb;
                self->sig_type = self->sig_value = self->sig_tb = NULL;
                if (!self->done)
                        (void) corral_job_interrupt(self->job);
        }
        self->busy = 1;
        while (!self->done) {
                int fd = corral_job_fd(self->job);
                /* A signal that arrived before we block (say, during the spawn) is pending
                 * in Python only: poll would not see it. */
                if (!etype && PyErr_CheckSignals() < 0) {
                        PyErr_Fetch(&etype, &evalue, &etb);
                        (void) corral_job_interrupt(self->job);
                }
                Py_BEGIN_ALLOW_THREADS
                r = corral_job_dispatch(self->job);
                pr = 0;
                if (r == 0) {
                        pr = poll(&(struct pollfd){ .fd = fd, .events = POLLIN }, 1, -1);
                        err = errno;
                }
                Py_END_ALLOW_THREADS
                if (r < 0) {
                        self->busy = 0;
                        Py_XDECREF(etype);
                        Py_XDECREF(evalue);
                        Py_XDECREF(etb);
                        return errno_error(r, "corral_job_dispatch");
                }
                if (r > 0) {
                        self->done = 1;
                        break;
                }
                if (pr < 0 && err == EINTR && PyErr_CheckSignals() < 0) {
                        if (!etype) {
                                /* Stop the run gracefully; raise once it is gone. */
                                PyErr_Fetch(&etype, &evalue, &etb);
                                (void) corral_job_interrupt(self->job);
                        } else
                                PyErr_Clear(); /* a second Ctrl-C: the grace period is bounded */
                } else if (pr < 0 && err != EINTR) {
                        self->busy = 0;
                        Py_XDECREF(etype);
                        Py_XDECREF(evalue);
                        Py_XDECREF(etb);
                        errno = err;
                        return PyErr_SetFromErrno(PyExc_OSError);
                }
        }
        self->busy = 0;
        if (etype) {
                PyErr_Restore(etype, evalue, etb);
                return NULL;
        }
        Py_RETURN_NONE;
}

static PyObject *bytes_or_none(const corral_bytes *b) {
        if (!b->data)
                Py_RETURN_NONE;
        return PyBytes_FromStringAndSize((const char *) b->data, (Py_ssize_t) b->size);
}

/* (json, stdout, stderr, fn_output, crash_report, exit_status) once done, else None. */
static PyObject *Job_result(JobObject *self, PyObject *unused) {
        if (!self->job)
                return PyErr_Format(PyExc_ValueError, "the job is closed");
        const corral_result *res = corral_job_result(self->job);
        if (!res)
                Py_RETURN_NONE;
        char *json = NULL;
        /* For a run through corrald: exactly the object the daemon sent. */
        int r = corral_job_result_json(self->job, &json);
        if (r < 0)
                return errno_error(r, "corral_job_result_json");
        PyObject *t = Py_BuildValue("(sNNNzi)", json, bytes_or_none(&res->stdout_capture),
                                    bytes_or_none(&res->stderr_capture), bytes_or_none(&res->fn_output),
                                    res->crash_report, corral_result_exit_code(res));
        free(json);
        return t;
}

static PyObject *Job_close(JobObject *self, PyObject *unused) {
        if (self->busy)
                return PyErr_Format(PyExc_RuntimeError, "another thread is waiting for this job");
        job_release(self);
        Py_RETURN_NONE;
}

static PyObject *Job_get_done(JobObject *self, void *closure) {
        return PyBool_FromLong(self->done);
}

static PyMethodDef Job_methods[] = {
        { "fileno", (PyCFunction) Job_fileno, METH_NOARGS, "the job's fd: poll it for POLLIN, then dispatch()" },
        { "dispatch", (PyCFunction) Job_dispatch, METH_NOARGS, "bounded work, never blocks; True once done" },
        { "interrupt", (PyCFunction) Job_interrupt, METH_NOARGS,
          "stop gracefully (SIGTERM, grace, SIGKILL); status interrupted" },
        { "wait", (PyCFunction) Job_wait, METH_NOARGS, "block until done (GIL released)" },
        { "result", (PyCFunction) Job_result, METH_NOARGS, "raw result tuple, or None while running" },
        { "close", (PyCFunction) Job_close, METH_NOARGS, "free the job (a running one is killed first)" },
        { NULL },
};

static PyGetSetDef Job_getset[] = {
        { "done", (getter) Job_get_done, NULL, "whether the result is final", NULL },
        { NULL },
};

static PyTypeObject JobType = {
        PyVarObject_HEAD_INIT(NULL, 0).tp_name = "corral._corral.Job",
        .tp_basicsize = sizeof(JobObject),
        .tp_flags = Py_TPFLAGS_DEFAULT,
        .tp_doc = "A libcorral job (corral_job).",
        .tp_dealloc = (destructor) Job_dealloc,
        .tp_methods = Job_methods,
        .tp_getset = Job_getset,
};

/* ---- spawning ---- */

/*
 * Run the Python signal handlers now and keep what they raise for wait(): a Ctrl-C that
 * came during the spawn must stop the new run gracefully, not be raised in whatever
 * Python code runs before the wait (which would free the job and SIGKILL the run).
 */
static void stash_signals(JobObject *j) {
        if (PyErr_CheckSignals() < 0)
                PyErr_Fetch(&j->sig_type, &j->sig_value, &j->sig_tb);
}

static void free_argv(char **argv) {
        if (!argv)
                return;
        for (char **a = argv; *a; a++)
                free(*a);
        free(argv);
}

static char **argv_from(PyObject *seq) {
        PyObject *fast = PySequence_Fast(seq, "argv must be a sequence of str, bytes or path-like");
        if (!fast)
                return NULL;
        Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
        if (n == 0) {
                Py_DECREF(fast);
                PyErr_SetString(PyExc_ValueError, "argv is empty");
                return NULL;
        }
        char **argv = calloc((size_t) n + 1, sizeof *argv);
        if (!argv) {
                Py_DECREF(fast);
                PyErr_NoMemory();
                return NULL;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
                PyObject *b = NULL;
                if (!PyUnicode_FSConverter(PySequence_Fast_GET_ITEM(fast, i), &b))
                        goto fail;
                const char *s = PyBytes_AS_STRING(b);
                if (strlen(s) != (size_t) PyBytes_GET_SIZE(b)) {
                        Py_DECREF(b);
                        PyErr_Format(PyExc_ValueError, "argv[%zd] contains a NUL byte", i);
                        goto fail;
                }
                argv[i] = strdup(s);
                Py_DECREF(b);
                if (!argv[i]) {
                        PyErr_NoMemory();
                        goto fail;
                }
        }
        Py_DECREF(fast);
        return argv;
fail:
        Py_DECREF(fast);
        free_argv(argv);
        return NULL;
}

static PyObject *spawn_error(int r, const corral_diag *diag, const char *what) {
        if (diag->message[0])
                return PyErr_Format(r == -EINVAL ? PyExc_ValueError : PyExc_OSError, "%s", diag->message);
        return errno_error(r, what);
}

static PyObject *mod_spawn(PyObject *mod, PyObject *args) {
        PolicyObject *pol;
        PyObject *argv_obj;
        corral_diag diag = { { 0 } };
        if (!PyArg_ParseTuple(args, "O!O:spawn", &PolicyType, &pol, &argv_obj))
                return NULL;
        char **argv = argv_from(argv_obj);
        if (!argv)
                return NULL;
        JobObject *j = job_new();
        if (!j) {
                free_argv(argv);
                return NULL;
        }
        int r;
        Py_BEGIN_ALLOW_THREADS
        r = corral_spawn(pol->p, argv, &j->job, &diag);
        Py_END_ALLOW_THREADS
        free_argv(argv);
        if (r < 0) {
                j->job = NULL;
                Py_DECREF(j);
                return spawn_error(r, &diag, "corral_spawn");
        }
        stash_signals(j);
        return (PyObject *) j;
}

/* The function child. Never returns: the run ends when the interpreter's work does. */
static void child_main(const void *in, size_t in_len, corral_out *out) {
        const fork_payload *fp = in;
        int code = 70;

        PyOS_AfterFork_Child();
        child_out = out;
        PyObject *child = PyImport_ImportModule("corral._child");
        PyObject *r = NULL;
        if (child) {
                if (in_len == sizeof *fp && memcmp(fp->magic, FORK_MAGIC, MAGIC_LEN) == 0)
                        r = PyObject_CallMethod(child, "main", "OO", fp->obj, Py_False);
                else if (in_len >= MAGIC_LEN && memcmp(in, PICKLE_MAGIC, MAGIC_LEN) == 0) {
                        PyObject *b = PyBytes_FromStringAndSize((const char *) in + MAGIC_LEN,
                                                                (Py_ssize_t) (in_len - MAGIC_LEN));
                        if (b)
                                r = PyObject_CallMethod(child, "main", "OO", b, Py_True);
                        Py_XDECREF(b);
                } else
                        PyErr_SetString(PyExc_RuntimeError, "corral: function child got no payload");
        }
        if (r && PyLong_Check(r))
                code = (int) PyLong_AsLong(r);
        else if (!r)
                PyErr_Print(); /* corral._child failed itself: say why on stderr */
        fflush(stdout);
        fflush(stderr);
        _exit(code);
}

static PyObject *mod_spawn_fn(PyObject *mod, PyObject *args) {
        PolicyObject *pol;
        PyObject *payload;
        int fork_method;
        corral_diag diag = { { 0 } };
        const void *in;
        size_t in_len;
        char *buf = NULL;

        if (!PyArg_ParseTuple(args, "O!pO:spawn_fn", &PolicyType, &pol, &fork_method, &payload))
                return NULL;
        JobObject *j = job_new();
        if (!j)
                return NULL;
        if (fork_method) {
                j->fork = calloc(1, sizeof *j->fork);
                if (!j->fork) {
                        Py_DECREF(j);
                        return PyErr_NoMemory();
                }
                memcpy(j->fork->magic, FORK_MAGIC, MAGIC_LEN);
                j->fork->obj = payload;
                in = j->fork;
                in_len = sizeof *j->fork;
        } else {
                char *data;
                Py_ssize_t len;
                if (PyBytes_AsStringAndSize(payload, &data, &len) < 0) {
                        Py_DECREF(j);
                        return NULL;
                }
                buf = malloc((size_t) len + MAGIC_LEN);
                if (!buf) {
                        Py_DECREF(j);
                        return PyErr_NoMemory();
                }
                memcpy(buf, PICKLE_MAGIC, MAGIC_LEN);
                memcpy(buf + MAGIC_LEN, data, (size_t) len);
                in = buf;
                in_len = (size_t) len + MAGIC_LEN;
        }
        Py_INCREF(payload);
        j->keep = payload;

        /* GIL held across the fork (see the top of the file). Signals blocked: a handler
         * that raised inside the at-fork hooks PyOS_AfterFork_Parent() runs would have its
         * exception printed and dropped (Ctrl-C lost); the child empties its mask. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        PyOS_BeforeFork();
        int r = corral_spawn_fn(pol->p, child_main, in, in_len, &j->job, &diag);
        PyOS_AfterFork_Parent();
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        free(buf); /* copied by the forkserver; in the fork child's own memory */
        if (r < 0) {
                j->job = NULL;
                Py_DECREF(j);
                return spawn_error(r, &diag, "corral_spawn_fn");
        }
        stash_signals(j);
        return (PyObject *) j;
}

/* In a function child only: append bytes to its outcome. */
static PyObject *mod_child_write(PyObject *mod, PyObject *arg) {
        Py_buffer view;
        if (!child_out)
                return PyErr_Format(PyExc_RuntimeError, "not in a corral function child");
        if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
                return NULL;
        int r = corral_out_write(child_out, view.buf, (size_t) view.len);
        PyBuffer_Release(&view);
        if (r == -EMSGSIZE)
                return PyErr_Format(PyExc_OverflowError, "the result is larger than OutputMax");
        if (r < 0)
                return errno_error(r, "corral_out_write");
        Py_RETURN_NONE;
}

/* ---- Client: runs through corrald ---- */

typedef struct {
        PyObject_HEAD corral_client *c;
} ClientObject;

static int Client_init(ClientObject *self, PyObject *args, PyObject *kwds) {
        static char *kwlist[] = { "path", NULL };
        PyObject *path_obj = NULL;
        corral_diag diag = { { 0 } };
        if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O&", kwlist, PyUnicode_FSConverter, &path_obj))
                return -1;
        if (self->c) {
                Py_XDECREF(path_obj);
                PyErr_SetString(PyExc_RuntimeError, "client already connected");
                return -1;
        }
        const char *path = path_obj ? PyBytes_AS_STRING(path_obj) : NULL;
        int r;
        Py_BEGIN_ALLOW_THREADS
        r = corral_client_connect(path, &self->c, &diag);
        Py_END_ALLOW_THREADS
        if (r < 0) {
                self->c = NULL;
                errno = -r;
                if (diag.message[0])
                        PyErr_Format(PyExc_ConnectionError, "%s", diag.message);
                else
                        PyErr_Format(PyExc_ConnectionError, "corrald at %s: %s", path ? path : "(default socket)",
                                     strerror(-r));
                Py_XDECREF(path_obj);
                return -1;
        }
        Py_XDECREF(path_obj);
        return 0;
}

static void Client_dealloc(ClientObject *self) {
        corral_client_free(self->c);
        Py_TYPE(self)->tp_free((PyObject *) self);
}

static PyObject *Client_spawn(ClientObject *self, PyObject *args) {
        PolicyObject *pol;
        PyObject *argv_obj;
        corral_diag diag = { { 0 } };
        if (!PyArg_ParseTuple(args, "O!O:spawn", &PolicyType, &pol, &argv_obj))
                return NULL;
        if (!self->c)
                return PyErr_Format(PyExc_ValueError, "the client is closed");
        char **argv = argv_from(argv_obj);
        if (!argv)
                return NULL;
        JobObject *j = job_new();
        if (!j) {
                free_argv(argv);
                return NULL;
        }
        int r;
        Py_BEGIN_ALLOW_THREADS
        r = corral_client_spawn(self->c, pol->p, argv, NULL, &j->job, &diag);
        Py_END_ALLOW_THREADS
        free_argv(argv);
        if (r < 0) {
                j->job = NULL;
                Py_DECREF(j);
                if (r == -EPERM || r == -EDQUOT)
                        return PyErr_Format(PyExc_PermissionError, "corrald: %s",
                                            diag.message[0] ? diag.message : strerror(-r));
                return spawn_error(r, &diag, "corral_client_spawn");
        }
        stash_signals(j);
        return (PyObject *) j;
}

static PyObject *Client_close(ClientObject *self, PyObject *unused) {
        self->c = corral_client_free(self->c);
        Py_RETURN_NONE;
}

static PyMethodDef Client_methods[] = {
        { "spawn", (PyCFunction) Client_spawn, METH_VARARGS, "spawn(policy, argv) -> Job, run by corrald" },
        { "close", (PyCFunction) Client_close, METH_NOARGS, "disconnect (running jobs go on)" },
        { NULL },
};

static PyTypeObject ClientType = {
        PyVarObject_HEAD_INIT(NULL, 0).tp_name = "corral._corral.Client",
        .tp_basicsize = sizeof(ClientObject),
        .tp_flags = Py_TPFLAGS_DEFAULT,
        .tp_doc = "A connection to corrald (corral_client).",
        .tp_new = PyType_GenericNew,
        .tp_init = (initproc) Client_init,
        .tp_dealloc = (destructor) Client_dealloc,
        .tp_methods = Client_methods,
};

static PyObject *mod_forkserver_start(PyObject *mod, PyObject *unused) {
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        PyOS_BeforeFork();
        int r = corral_forkserver_start();
        PyOS_AfterFork_Parent();
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0)
                return errno_error(r, "corral_forkserver_start");
        return PyBool_FromLong(r == 0);
}

static PyObject *mod_forkserver_stop(PyObject *mod, PyObject *unused) {
        Py_BEGIN_ALLOW_THREADS
        corral_forkserver_stop();
        Py_END_ALLOW_THREADS
        Py_RETURN_NONE;
}

static PyObject *mod_doctor(PyObject *mod, PyObject *args) {
        PolicyObject *pol;
        corral_doctor_report rep;
        if (!PyArg_ParseTuple(args, "O!:doctor", &PolicyType, &pol))
                return NULL;
        int r = corral_doctor(pol->p, &rep);
        if (r < 0)
                return errno_error(r, "corral_doctor");
        PyObject *reasons = PyDict_New();
        if (!reasons)
                return NULL;
        for (int b = CORRAL_BACKEND_CGROUP2; b < _CORRAL_BACKEND_MAX; b++) {
                PyObject *v = PyUnicode_FromString(rep.reason[b]);
                if (!v || PyDict_SetItemString(reasons, corral_backend_to_string((corral_backend) b), v) < 0) {
                        Py_XDECREF(v);
                        Py_DECREF(reasons);
                        return NULL;
                }
                Py_DECREF(v);
        }
        return Py_BuildValue("{s:s,s:N,s:s}", "backend", corral_backend_to_string(rep.chosen), "reasons", reasons,
                             "cgroup_base", rep.cgroup_base);
}

static PyObject *mod_become_subreaper(PyObject *mod, PyObject *unused) {
        int r = corral_become_subreaper();
        if (r < 0)
                return errno_error(r, "corral_become_subreaper");
        Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
        { "spawn", mod_spawn, METH_VARARGS, "spawn(policy, argv) -> Job" },
        { "spawn_fn", mod_spawn_fn, METH_VARARGS, "spawn_fn(policy, fork, payload) -> Job" },
        { "child_write", mod_child_write, METH_O, "in a function child: append to its outcome" },
        { "forkserver_start", mod_forkserver_start, METH_NOARGS, "start libcorral's forkserver" },
        { "forkserver_stop", mod_forkserver_stop, METH_NOARGS, "stop libcorral's forkserver" },
        { "doctor", mod_doctor, METH_VARARGS, "doctor(policy) -> dict" },
        { "become_subreaper", mod_become_subreaper, METH_NOARGS, "corral_become_subreaper()" },
        { NULL },
};

static struct PyModuleDef module_def = {
        PyModuleDef_HEAD_INIT,
        .m_name = "corral._corral",
        .m_doc = "libcorral bindings; use the corral package.",
        .m_size = -1,
        .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__corral(void);
PyMODINIT_FUNC PyInit__corral(void) {
        if (PyType_Ready(&PolicyType) < 0 || PyType_Ready(&JobType) < 0 || PyType_Ready(&ClientType) < 0)
                return NULL;
        PyObject *m = PyModule_Create(&module_def);
        if (!m)
                return NULL;
        Py_INCREF(&PolicyType);
        Py_INCREF(&JobType);
        Py_INCREF(&ClientType);
        if (PyModule_AddObject(m, "Policy", (PyObject *) &PolicyType) < 0 ||
            PyModule_AddObject(m, "Job", (PyObject *) &JobType) < 0 ||
            PyModule_AddObject(m, "Client", (PyObject *) &ClientType) < 0 ||
            PyModule_AddStringConstant(m, "VERSION", "0.1.0") < 0) {
                Py_DECREF(m);
                return NULL;
        }
        return m;
}
