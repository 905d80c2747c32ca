/* A "Swift plugin" whose build info declares plugin ABI 99. The host must refuse it
   after reading only the first field of the record, and never call register. */
#include "fixture_compat.h"
#include "cil_plugin.h"

static const struct cil_plugin_build_info info = {99, (uint32_t)sizeof(cil_plugin_build_info), CIL_SDK_VERSION,
                                                  "clang version 0.0.0 (bad_abi fixture)"};

/* Exported as cil_plugin_build_info through an asm label: in C the function cannot
   take that name while cil_plugin.h's typedef of the same name is in scope. */
const struct cil_plugin_build_info *fixture_build_info(void) __asm__("cil_plugin_build_info");
const struct cil_plugin_build_info *fixture_build_info(void) { return &info; }

/* Never reached: if the host called it, "registered no baseline" would show. */
int32_t cil_plugin_register(void *registrar, uint32_t host_abi_version) {
    (void)registrar;
    (void)host_abi_version;
    return 0;
}
