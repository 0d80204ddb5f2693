// zlib (Debian's zlib1g-dev): gzip streams for dataset archives (.tar.gz).
#include <zlib.h>
