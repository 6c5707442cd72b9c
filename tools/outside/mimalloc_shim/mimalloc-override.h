/* mimalloc-override.h (HAKMEM shim): the process malloc is the one tested */
#include "mimalloc.h"
