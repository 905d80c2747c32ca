/* A library that needs a symbol nothing provides (as a plugin built against another
   SDK would): dlopen(RTLD_NOW) fails with "undefined symbol". */
#include "cil_plugin.h"

extern int32_t cil_sdk_function_from_another_version(int32_t);

const cil_c_plugin *cil_c_plugin_entry(uint32_t host_abi_version) {
    (void)cil_sdk_function_from_another_version((int32_t)host_abi_version);
    return NULL;
}
