/* A "Swift plugin" built for the right plugin ABI against another SDK version. */
#include "cil_plugin.h"

static const cil_build_stamp info = {CIL_PLUGIN_ABI_VERSION, (uint32_t)sizeof(cil_build_stamp),
                                                  "0.0.9", "clang version 0.0.0 (bad_sdk fixture)"};

const cil_build_stamp *cil_plugin_build_info(void) { return &info; }

/* Never reached: if the host called it, "registered no baseline" would show. */
int32_t cil_plugin_register(void *registrar, uint32_t host_abi_version) {
    (void)registrar;
    (void)host_abi_version;
    return 0;
}
