/* A "Swift plugin" built for the right plugin ABI and SDK version, but by another
   Swift compiler: its build info names a toolchain other than the one that built the
   host's SDK (what a plugin built by, say, an older Swift release would report). */
#include "fixture_compat.h"
#include "cil_plugin.h"

#define OTHER_TOOLCHAIN "17.0.0 (https://github.com/swiftlang/llvm-project.git 0123456789abcdef0123456789abcdef01234567)"

static const struct cil_plugin_build_info info = {CIL_PLUGIN_ABI_VERSION, (uint32_t)sizeof(cil_plugin_build_info),
                                                  CIL_SDK_VERSION, OTHER_TOOLCHAIN};

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
