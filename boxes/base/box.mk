lib-src += boxes/base/base.c
