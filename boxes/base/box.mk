lib-src += boxes/base/base.c boxes/base/sizeclass.c
