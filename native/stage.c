/*
 * tsrun-stage: the minimal native clone stage of tsrun (see native/README.md).
 *
 * A Node process is always multi-threaded and its heap is not inherited by fork(),
 * so it can neither fork from JavaScript nor enter a user namespace. This small,
 * single-threaded program does exactly those steps and nothing else:
 *
 *   tsrun-stage --sync N [--join TYPE:PATH]... [--clone LIST] [--timens-offset "CLOCK SECS NSECS"]...
 *               [--root-ids] [--exec-fd F] [--readonly-host] -- PROGRAM [ARGS...]
 *
 *   0. become non-dumpable (PR_SET_DUMPABLE 0) before anything else: the child is born in the
 *      container's pid namespace with this setting, so no process there can open its
 *      /proc/PID/{exe,root,cwd,fd,mem} while it holds the host's view (execve resets it);
 *   1. open every --join PATH; with --readonly-host, unshare(CLONE_NEWNS) and make every mount
 *      of that private copy read-only (mount_setattr AT_RECURSIVE), still as the host's root:
 *      a stage that enters a running container's pid namespace while it keeps the host's
 *      root (exec: Node loads from the host before it joins the container's mount namespace)
 *      then shows the container only read-only mounts through /proc/PID/{root,cwd}, which
 *      the container cannot make writable (the copy belongs to the host's user namespace);
 *      then setns() into every --join PATH (user first, others in order);
 *   2. if LIST has "time": unshare(CLONE_NEWTIME) and write each --timens-offset;
 *   3. clone (fork-style) a child with the CLONE_NEW* flags of LIST;
 *   4. stage: write "pid <childpid>\n" on the sync socket and exit 0 at once;
 *   5. child: wait for one byte on the sync socket; "G" means go (the runtime has
 *      written uid_map/gid_map meanwhile), anything else or EOF means _exit(1);
 *      then optionally become uid/gid 0 and execv(PROGRAM, ARGS); with --exec-fd F, the
 *      program is the file open on fd F (execveat(F, "", AT_EMPTY_PATH), F closed by the exec)
 *      and PROGRAM is only its argv[0]: the runtime passes a sealed, read-only view of Node
 *      so that the container can never reach the host's binary through /proc/PID/exe.
 *
 * Errors are reported as one line "error <call> <detail>: <strerror>\n" on the sync
 * socket; exit status 1 (stage), 1 or 127 (child, 127 = execv failed), 2 = bad usage.
 * No policy lives here: no fd closing, no JSON, no mounts, no cgroups.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#define STAGE_MOUNT_ATTR_RDONLY 0x1

/* struct mount_attr of mount_setattr(2) (kernel 5.12+). */
struct stage_mount_attr {
	unsigned long long attr_set, attr_clr, propagation, userns_fd;
};

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

#define MAX_ITEMS 16

static int sync_fd = -1;

/* Namespace names accepted by --join and --clone. mnt is only valid for --clone. */
static const struct { const char *name; int flag; } ns_types[] = {
	{ "user", CLONE_NEWUSER }, { "pid", CLONE_NEWPID },       { "ipc", CLONE_NEWIPC },
	{ "uts", CLONE_NEWUTS },   { "net", CLONE_NEWNET },       { "mnt", CLONE_NEWNS },
	{ "cgroup", CLONE_NEWCGROUP }, { "time", CLONE_NEWTIME },
};

static int ns_flag(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(ns_types) / sizeof(ns_types[0]); i++)
		if (strlen(ns_types[i].name) == len && strncmp(ns_types[i].name, name, len) == 0)
			return ns_types[i].flag;
	return 0;
}

static void usage(const char *msg, const char *arg)
{
	fprintf(stderr, "tsrun-stage: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
	fprintf(stderr, "usage: tsrun-stage --sync N [--join TYPE:PATH]... [--clone LIST]"
			" [--timens-offset \"CLOCK SECS NSECS\"]... [--root-ids] [--exec-fd F] [--readonly-host]"
			" -- PROGRAM [ARGS...]\n");
	exit(2);
}

/* Write "error <call> <detail>: <strerror(errno)>\n" on the sync socket. */
static void report(const char *call, const char *detail)
{
	const char *why = strerror(errno);
	dprintf(sync_fd, "error %s%s%s: %s\n", call, detail ? " " : "", detail ? detail : "", why);
}

/* Stage side: report and exit 1. */
static void fail(const char *call, const char *detail)
{
	report(call, detail);
	exit(1);
}

extern char **environ;

/*
 * --readonly-host: a private copy of this mount namespace in which every mount is read-only.
 * A kernel without mount_setattr (< 5.12) keeps the copy as it is. -1 with errno on failure.
 */
static int readonly_mounts(void)
{
	struct stage_mount_attr attr = { .attr_set = STAGE_MOUNT_ATTR_RDONLY, .propagation = MS_PRIVATE };

	if (unshare(CLONE_NEWNS) < 0)
		return -1;
	if (syscall(SYS_mount_setattr, AT_FDCWD, "/", AT_RECURSIVE, &attr, sizeof attr) < 0 && errno != ENOSYS) {
		report("mount_setattr", "/ read-only, recursive");
		exit(1);
	}
	return 0;
}

/* Child side: wait for "G", drop to root ids if asked, exec. Never returns. */
static void child(int root_ids, int exec_fd, char **argv)
{
	char c;
	ssize_t n;

	do
		n = read(sync_fd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		report("read", "sync");
		_exit(1);
	}
	if (n == 0 || c != 'G')
		_exit(1); /* the runtime gave up: leave silently */

	if (root_ids) {
		if (setresgid(0, 0, 0) < 0) {
			report("setresgid", "0");
			_exit(1);
		}
		if (setresuid(0, 0, 0) < 0) {
			report("setresuid", "0");
			_exit(1);
		}
	}
	if (exec_fd >= 0) {
		/* Close-on-exec: the program never holds its own executable open. */
		if (fcntl(exec_fd, F_SETFD, FD_CLOEXEC) < 0) {
			report("fcntl", "exec fd");
			_exit(1);
		}
		syscall(SYS_execveat, exec_fd, "", argv, environ, AT_EMPTY_PATH);
		report("execveat", argv[0]);
		_exit(127);
	}
	execv(argv[0], argv);
	report("execv", argv[0]);
	_exit(127);
}

int main(int argc, char **argv)
{
	const char *join_path[MAX_ITEMS], *offsets[MAX_ITEMS], *clone_list = "", *sync_arg = "";
	int join_type[MAX_ITEMS], join_fd[MAX_ITEMS];
	int njoin = 0, noffsets = 0, root_ids = 0, clone_flags = 0, exec_fd = -1, readonly_host = 0, i;
	char *end;

	/* Before anything else (see step 0 above); the clone below inherits it. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		perror("tsrun-stage: prctl(PR_SET_DUMPABLE)");
		exit(2);
	}

	/* ---- parse the command line ---- */
	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		const char *opt = argv[i];

		if (strcmp(opt, "--root-ids") == 0) {
			root_ids = 1;
			continue;
		}
		if (strcmp(opt, "--readonly-host") == 0) {
			readonly_host = 1;
			continue;
		}
		if (strcmp(opt, "--sync") && strcmp(opt, "--join") && strcmp(opt, "--clone") &&
		    strcmp(opt, "--timens-offset") && strcmp(opt, "--exec-fd"))
			usage("unknown option", opt);
		if (i + 1 >= argc)
			usage("missing value for", opt);
		if (strcmp(opt, "--sync") == 0) {
			errno = 0;
			long fd = strtol(sync_arg = argv[++i], &end, 10);
			if (errno || *end || end == argv[i] || fd < 0 || fd > 1 << 20)
				usage("bad --sync fd", argv[i]);
			sync_fd = (int)fd;
		} else if (strcmp(opt, "--exec-fd") == 0) {
			errno = 0;
			long fd = strtol(argv[++i], &end, 10);
			if (errno || *end || end == argv[i] || fd < 0 || fd > 1 << 20)
				usage("bad --exec-fd", argv[i]);
			exec_fd = (int)fd;
		} else if (strcmp(opt, "--join") == 0) {
			const char *v = argv[++i], *colon = strchr(v, ':');
			int t = colon ? ns_flag(v, (size_t)(colon - v)) : 0;
			if (!t || t == CLONE_NEWNS || colon[1] == '\0')
				usage("bad --join (TYPE:PATH, TYPE not mnt)", v);
			if (njoin == MAX_ITEMS)
				usage("too many --join", v);
			join_type[njoin] = t;
			join_path[njoin++] = colon + 1;
		} else if (strcmp(opt, "--clone") == 0) {
			const char *p = clone_list = argv[++i];
			while (*p) {
				size_t len = strcspn(p, ",");
				int f = ns_flag(p, len);
				if (!f)
					usage("bad --clone list", clone_list);
				clone_flags |= f;
				p += len + (p[len] == ',');
			}
		} else { /* --timens-offset */
			if (noffsets == MAX_ITEMS)
				usage("too many --timens-offset", argv[i + 1]);
			offsets[noffsets++] = argv[++i];
		}
	}
	if (sync_fd < 0)
		usage("--sync N is required", NULL);
	if (i + 1 >= argc)
		usage("missing -- PROGRAM", NULL);
	if (noffsets && !(clone_flags & CLONE_NEWTIME))
		usage("--timens-offset needs time in --clone", NULL);
	if (readonly_host && (clone_flags & CLONE_NEWNS))
		usage("--readonly-host and mnt in --clone exclude each other", NULL);
	char **prog = &argv[i + 1];

	/* The sync fd must be open and must survive execv (PROGRAM may use it). */
	int fdflags = fcntl(sync_fd, F_GETFD);
	if (fdflags < 0)
		usage("--sync fd is not open", sync_arg);
	if ((fdflags & FD_CLOEXEC) && fcntl(sync_fd, F_SETFD, fdflags & ~FD_CLOEXEC) < 0)
		fail("fcntl", "sync");
	if (exec_fd >= 0 && (exec_fd == sync_fd || fcntl(exec_fd, F_GETFD) < 0))
		usage("--exec-fd fd is not open (or is the sync fd)", NULL);

	/* ---- join namespaces: open every path first, then user, then the rest ---- */
	for (i = 0; i < njoin; i++)
		if ((join_fd[i] = open(join_path[i], O_RDONLY | O_CLOEXEC)) < 0)
			fail("open", join_path[i]);
	/* As the host's root, the copy belongs to the host's user namespace; an unprivileged
	 * runtime (rootless) makes it once in the container's user namespace instead. */
	if (readonly_host && readonly_mounts() == 0)
		readonly_host = 0;
	else if (readonly_host && errno != EPERM)
		fail("unshare", "mnt");
	for (int pass = 0; pass < 2; pass++) {
		for (i = 0; i < njoin; i++)
			if ((join_type[i] == CLONE_NEWUSER) == (pass == 0)) {
				if (setns(join_fd[i], join_type[i]) < 0)
					fail("setns", join_path[i]);
				close(join_fd[i]);
			}
		if (pass == 0 && readonly_host && readonly_mounts() < 0)
			fail("unshare", "mnt (in the joined user namespace)");
	}

	/* ---- time namespace: unshare here, so the child is its first member ---- */
	if (clone_flags & CLONE_NEWTIME) {
		clone_flags &= ~CLONE_NEWTIME; /* 0x80 is inside CSIGNAL for clone() */
		if (unshare(CLONE_NEWTIME) < 0)
			fail("unshare", "time");
		for (i = 0; i < noffsets; i++) {
			int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
			if (fd < 0)
				fail("open", "/proc/self/timens_offsets");
			if (write(fd, offsets[i], strlen(offsets[i])) < 0)
				fail("write /proc/self/timens_offsets", offsets[i]);
			close(fd);
		}
	}

	/* ---- clone the child, fork-style (no new stack) ---- */
	long pid = syscall(SYS_clone, (unsigned long)clone_flags | SIGCHLD, 0, 0, 0, 0);
	if (pid < 0)
		fail("clone", clone_list);
	if (pid == 0)
		child(root_ids, exec_fd, prog);

	/* Stage: announce the child and leave; the child is reparented to a subreaper. */
	if (dprintf(sync_fd, "pid %ld\n", pid) < 0) {
		kill((pid_t)pid, SIGKILL); /* nobody will ever release it */
		exit(1);
	}
	return 0;
}
