lib-src += boxes/regionmap/regionmap.c
