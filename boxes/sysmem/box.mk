lib-src += boxes/sysmem/sysmem_linux.c
