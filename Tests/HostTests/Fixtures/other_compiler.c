/* A "Swift plugin" built for the right plugin ABI and SDK version, but by another
   Swift compiler: its build info names a toolchain other than the one that built the
   host's SDK (what a plugin built by, say, an older Swift release would report). */
#include "cil_plugin.h"

#define OTHER_TOOLCHAIN "17.0.0 (https://github.com/swiftlang/llvm-project.git 0123456789abcdef0123456789abcdef01234567)"

static const cil_build_stamp info = {CIL_PLUGIN_ABI_VERSION, (uint32_t)sizeof(cil_build_stamp),
                                                  CIL_SDK_VERSION, OTHER_TOOLCHAIN};

const cil_build_stamp *cil_plugin_build_info(void) { return &info; }

/* Never reached: if the host called it, "registered no baseline" would show. */
int32_t cil_plugin_register(void *registrar, uint32_t host_abi_version) {
    (void)registrar;
    (void)host_abi_version;
    return 0;
}
