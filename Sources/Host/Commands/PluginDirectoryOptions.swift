import ArgumentParser

/// `--plugin-dir`, shared by every command that loads plugins.
struct PluginDirectoryOptions: ParsableArguments {
    @Option(name: .customLong("plugin-dir"),
            help: ArgumentHelp("A directory with plugin libraries (libCILPlugin*.so); repeatable. Also searched: the directory of the cil binary and CIL_PLUGIN_PATH (colon-separated).",
                               valueName: "dir"))
    var pluginDirs: [String] = []
}
