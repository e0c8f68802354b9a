/* ccgateway: the public HTTPS face of callcentre (docs/ARCHITECTURE.md). */
#include <stdio.h>

int
main(void)
{
	fprintf(stderr, "ccgateway: not built yet\n");
	return 1;
}
