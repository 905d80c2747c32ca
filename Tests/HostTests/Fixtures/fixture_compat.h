/*
 * Included by every C fixture BEFORE cil_plugin.h.
 *
 * cil_plugin.h defines CIL_TOOLCHAIN_ID as __clang_version__ and uses it in the
 * static inline cil_plugin_stamp(), so the header does not compile with a compiler
 * that is not clang (gcc: "'__clang_version__' undeclared"), although it is meant for
 * "plugins in C (or any language with a C ABI)". The fixtures are compiled with the
 * system's `cc` (gcc on Debian), so until the header guards that macro they supply
 * one. C plugins never call cil_plugin_stamp(), so the value is never read.
 * PluginCommandTests.headerCompilesWithGCC tracks the bug.
 */
#ifndef CIL_FIXTURE_COMPAT_H
#define CIL_FIXTURE_COMPAT_H
#if !defined(__clang_version__)
#define __clang_version__ "not clang (fixture compatibility define)"
#endif
#endif
