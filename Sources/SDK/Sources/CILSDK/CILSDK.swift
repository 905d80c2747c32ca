// The one import a host or plugin needs: `import CILSDK`. It re-exports the engine
// (tensors, autodiff, layers, optimizers) and the plugin ABI header, and holds the
// class-incremental contracts: plugins, baselines, branch types, heads.
@_exported import CILEngine
@_exported import CILPluginABI
