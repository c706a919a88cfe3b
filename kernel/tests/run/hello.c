/* Prints a greeting and its arguments, one per line between brackets, so that a run can be
   compared byte for byte with a native run: argv must arrive verbatim (spaces, quotes). */
#include <stdio.h>

int main(int argc, char **argv)
{
    printf("hello from ring 3\n");
    for (int i = 1; i < argc; i++) printf("argv[%d] = [%s]\n", i, argv[i]);
    fprintf(stderr, "%d arguments\n", argc - 1);
    return 0;
}
