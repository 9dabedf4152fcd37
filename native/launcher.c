/*
 * bin/tsrun: starts Node on tsrun's CLI with a clean environment, in one execve.
 *
 * Built by `make` with the absolute paths of node and of dist/tsrun.js compiled in
 * (-DTSRUN_NODE, -DTSRUN_SCRIPT). It removes NODE_EXTRA_CA_CERTS (Node loads the CA bundle
 * eagerly at start, ~40-140 ms, and a runtime needs no TLS), NODE_OPTIONS and the other NODE_*
 * variables that could change how the runtime behaves. A shell script would cost a few ms
 * more on every command: clients call the runtime many times per container.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef TSRUN_NODE
#error "build with -DTSRUN_NODE=\"/path/to/node\""
#endif
#ifndef TSRUN_SCRIPT
#error "build with -DTSRUN_SCRIPT=\"/path/to/dist/tsrun.js\""
#endif

extern char **environ;

int main(int argc, char **argv)
{
	/* Drop NODE_* from the environment, in place. */
	char **out = environ;
	for (char **e = environ; *e; e++)
		if (strncmp(*e, "NODE_", 5) != 0)
			*out++ = *e;
	*out = NULL;

	char **args = calloc((size_t)argc + 3, sizeof(char *));
	if (!args) {
		perror("tsrun: calloc");
		return 1;
	}
	args[0] = (char *)TSRUN_NODE;
	args[1] = (char *)"--disallow-code-generation-from-strings";
	args[2] = (char *)TSRUN_SCRIPT;
	for (int i = 1; i < argc; i++)
		args[i + 2] = argv[i];
	execv(TSRUN_NODE, args);
	fprintf(stderr, "tsrun: cannot run %s: ", TSRUN_NODE);
	perror(NULL);
	return 127;
}
