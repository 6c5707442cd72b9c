lib-src += boxes/tiny/tiny.c
