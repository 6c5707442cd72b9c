lib-src += boxes/medium/medium.c
