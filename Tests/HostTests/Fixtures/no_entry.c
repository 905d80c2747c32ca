/* A valid shared library named like a plugin that exports neither entry point. */
#include "cil_plugin.h"

int32_t not_a_plugin_entry(int32_t x) { return x + 1; }
