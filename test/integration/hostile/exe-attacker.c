/*
 * exe-attacker: a hostile container process for the CVE-2019-5736 battery
 * (test/integration/hostile-exe.test.ts). Built static by the test and run as a container's
 * process, it loops until /tmp/stop exists (or MAX_MS have passed) over every other process it
 * can see in /proc and tries to get at the binary each one runs:
 *   - open("/proc/PID/exe", O_WRONLY)          (ETXTBSY while it runs; anything else is a leak)
 *   - open("/proc/PID/exe", O_PATH), kept, and reopened through /proc/self/fd/N with O_WRONLY
 *     on every later pass (the real attack: wait until the runtime process has exited)
 *   - open("/proc/PID/root/PATH", O_WRONLY) and open("/proc/PID/cwd/..") for each PATH argument
 * It never writes a byte: a successful open is reported and the fd closed at once.
 *
 * Output (stdout), one line per event, then one summary line:
 *   seen PID EXE|!ERRNO       first sight of a process (readlink of /proc/PID/exe)
 *   opath PID DEV INO EXE     an O_PATH handle on a process's executable (once per inode)
 *   WRITE PID DEV INO HOW     a write-open succeeded (HOW: exe, reopen, root:PATH)
 *   summary passes=N seen=N opath=N writes=N
 * Usage: exe-attacker MAX_MS [HOSTPATH...]
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_SEEN 4096
#define MAX_HELD 256

static int seen[MAX_SEEN], nseen;
static struct { int fd; dev_t dev; ino_t ino; } held[MAX_HELD];
static int nheld, writes;

static long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

static int was_seen(int pid)
{
	for (int i = 0; i < nseen; i++)
		if (seen[i] == pid)
			return 1;
	if (nseen < MAX_SEEN)
		seen[nseen++] = pid;
	return 0;
}

static void report_write(int fd, int pid, const char *how)
{
	struct stat st;
	if (fstat(fd, &st) == 0)
		printf("WRITE %d %lu %lu %s\n", pid, (unsigned long)st.st_dev, (unsigned long)st.st_ino, how);
	else
		printf("WRITE %d ? ? %s\n", pid, how);
	close(fd);
	writes++;
	fflush(stdout);
}

static void attack(int pid, int nhost, char **host)
{
	char path[512], exe[512];
	int first = !was_seen(pid);

	snprintf(path, sizeof path, "/proc/%d/exe", pid);
	ssize_t n = readlink(path, exe, sizeof exe - 1);
	if (n < 0)
		snprintf(exe, sizeof exe, "!%s", strerrorname_np(errno) ? strerrorname_np(errno) : "?");
	else
		exe[n] = '\0';
	if (first) {
		printf("seen %d %s\n", pid, exe);
		fflush(stdout);
	}

	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0)
		report_write(fd, pid, "exe");

	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd >= 0) {
		struct stat st;
		int known = fstat(fd, &st) < 0;
		for (int i = 0; !known && i < nheld; i++)
			known = held[i].dev == st.st_dev && held[i].ino == st.st_ino;
		if (known || nheld == MAX_HELD) {
			close(fd);
		} else {
			held[nheld].fd = fd;
			held[nheld].dev = st.st_dev;
			held[nheld++].ino = st.st_ino;
			printf("opath %d %lu %lu %s\n", pid, (unsigned long)st.st_dev, (unsigned long)st.st_ino, exe);
			fflush(stdout);
		}
	}

	for (int i = 0; i < nhost; i++) {
		const char *base[] = { "root", "cwd" };
		for (int b = 0; b < 2; b++) {
			snprintf(path, sizeof path, "/proc/%d/%s%s", pid, base[b], host[i]);
			fd = open(path, O_WRONLY | O_CLOEXEC);
			if (fd >= 0) {
				char how[600];
				snprintf(how, sizeof how, "%s:%s", base[b], host[i]);
				report_write(fd, pid, how);
			}
		}
	}
}

int main(int argc, char **argv)
{
	long deadline = now_ms() + (argc > 1 ? atol(argv[1]) : 10000);
	int self = getpid(), passes = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready %d\n", self);
	while (now_ms() < deadline && access("/tmp/stop", F_OK) != 0) {
		passes++;
		DIR *d = opendir("/proc");
		if (!d)
			break;
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			int pid = atoi(e->d_name);
			if (pid > 0 && pid != self)
				attack(pid, argc - 2, argv + 2);
		}
		closedir(d);
		/* The reopen of every handle held, now that its process may be gone. */
		for (int i = 0; i < nheld; i++) {
			char path[64];
			snprintf(path, sizeof path, "/proc/self/fd/%d", held[i].fd);
			int fd = open(path, O_WRONLY | O_CLOEXEC);
			if (fd >= 0)
				report_write(fd, 0, "reopen");
		}
		sched_yield();
	}
	printf("summary passes=%d seen=%d opath=%d writes=%d\n", passes, nseen, nheld, writes);
	return 0;
}
