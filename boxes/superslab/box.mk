lib-src += boxes/superslab/superslab.c
