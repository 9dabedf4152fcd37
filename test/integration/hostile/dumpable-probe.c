/*
 * dumpable-probe PID: prints what prctl(PR_GET_DUMPABLE) returns inside process PID (x86_64).
 *
 * Whether a process is dumpable cannot be read from /proc/PID/status, and for a process that
 * holds every capability (a container's init before execve) the ptrace access checks it
 * governs fail for any observer lacking CAP_SYS_PTRACE anyway. So the probe asks the process
 * itself: it seizes it (root), interrupts its main thread, which is blocked in a system call,
 * makes that thread execute prctl(PR_GET_DUMPABLE) on the same `syscall` instruction, reads the
 * result and puts every register back. The interrupted call is restarted by the kernel as after
 * any signal (it only sees -ERESTARTSYS/-ERESTART_RESTARTBLOCK), so the process goes on as if
 * nothing had happened. Exit status 0 with the value on stdout; 1 and a message otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>

#if !defined(__x86_64__)
#error "dumpable-probe is x86_64 only"
#endif

static pid_t pid;

static void die(const char *what)
{
	fprintf(stderr, "dumpable-probe: %s: %s\n", what, strerror(errno));
	ptrace(PTRACE_DETACH, pid, 0, 0);
	exit(1);
}

int main(int argc, char **argv)
{
	struct user_regs_struct saved, regs;
	int status;

	if (argc != 2)
		return fprintf(stderr, "usage: dumpable-probe PID\n"), 2;
	pid = atoi(argv[1]);
	if (ptrace(PTRACE_SEIZE, pid, 0, 0) < 0)
		die("PTRACE_SEIZE");
	if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) < 0)
		die("PTRACE_INTERRUPT");
	if (waitpid(pid, &status, __WALL) < 0 || !WIFSTOPPED(status))
		die("waitpid (interrupt stop)");
	if (ptrace(PTRACE_GETREGS, pid, 0, &saved) < 0)
		die("PTRACE_GETREGS");
	errno = 0;
	long text = ptrace(PTRACE_PEEKTEXT, pid, saved.rip - 2, 0);
	if (errno)
		die("PTRACE_PEEKTEXT");
	if ((text & 0xffff) != 0x050f || (long)saved.orig_rax < 0) {
		errno = EINVAL;
		die("the main thread is not stopped in a system call");
	}
	regs = saved;
	regs.rip = saved.rip - 2; /* the syscall instruction */
	regs.orig_rax = -1;       /* no restart of the interrupted call for this step */
	regs.rax = SYS_prctl;
	regs.rdi = PR_GET_DUMPABLE;
	regs.rsi = regs.rdx = regs.r10 = regs.r8 = 0;
	if (ptrace(PTRACE_SETREGS, pid, 0, &regs) < 0)
		die("PTRACE_SETREGS");
	if (ptrace(PTRACE_SINGLESTEP, pid, 0, 0) < 0)
		die("PTRACE_SINGLESTEP");
	if (waitpid(pid, &status, __WALL) < 0 || !WIFSTOPPED(status) || WSTOPSIG(status) != SIGTRAP)
		die("waitpid (single step)");
	if (ptrace(PTRACE_GETREGS, pid, 0, &regs) < 0)
		die("PTRACE_GETREGS after the call");
	long result = (long)regs.rax;
	if (regs.rip != saved.rip) {
		errno = EFAULT;
		die("the single step did not end after the syscall instruction");
	}
	if (ptrace(PTRACE_SETREGS, pid, 0, &saved) < 0)
		die("PTRACE_SETREGS (restore)");
	if (ptrace(PTRACE_DETACH, pid, 0, 0) < 0)
		die("PTRACE_DETACH");
	printf("%ld\n", result);
	return 0;
}
