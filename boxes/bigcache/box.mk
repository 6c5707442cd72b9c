lib-src += boxes/bigcache/bigcache.c boxes/bigcache/segment.c
