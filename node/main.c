/*
 * main.c - the carenode binary: hands argv to the command line module.
 */
#include <sodium.h>
#include <stdio.h>

#include "carenode/cli.h"

int main(int argc, char **argv)
{
	if (sodium_init() < 0) {
		fputs("carenode: libsodium 初始化失败 / libsodium failed to initialise\n", stderr);
		return 1;
	}
	return cn_cli_main(argc, argv, NULL);
}
