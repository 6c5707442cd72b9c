lib-src += boxes/pool_p1_p4/pool.c
