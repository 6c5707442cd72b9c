/*
 * version.c - the build flags, embedded between markers so that
 * tools/extract_config.sh can cut them out of any binary (the kernel's
 * IKCFG_ST/IKCFG_ED idea). The frontend box's describe() calls
 * hak_config_string(), so this file is linked into every program.
 */
#include "../base/hak_base.h"
#include "hakmem.h"

__attribute__((used)) const char hak_build_config[] =
	"HAKCFG_ST" HAKMEM_CONFIG_STRING "HAKCFG_ED";

HAK_EXPORT int hak_version(void)
{
	return HAKMEM_VERSION;
}

HAK_EXPORT const char *hak_config_string(void)
{
	return HAKMEM_CONFIG_STRING;
}
