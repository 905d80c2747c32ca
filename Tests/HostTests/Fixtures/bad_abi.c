/* A "Swift plugin" whose build info declares plugin ABI 99. The host must refuse it
   after reading only the first field of the record, and never call register. */
#include "cil_plugin.h"

static const cil_build_stamp info = {99, (uint32_t)sizeof(cil_build_stamp), CIL_SDK_VERSION,
                                                  "clang version 0.0.0 (bad_abi fixture)"};

const cil_build_stamp *cil_plugin_build_info(void) { return &info; }

/* Never reached: if the host called it, "registered no baseline" would show. */
int32_t cil_plugin_register(void *registrar, uint32_t host_abi_version) {
    (void)registrar;
    (void)host_abi_version;
    return 0;
}
