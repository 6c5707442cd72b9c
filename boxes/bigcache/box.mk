lib-src += boxes/bigcache/bigcache.c
