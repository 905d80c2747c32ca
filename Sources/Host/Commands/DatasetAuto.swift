import CILSDK

/// `--dataset auto`: CIFAR-100 when it is found (`--data-dir`, else `CIL_DATA`),
/// otherwise the synthetic dataset, with a notice saying so.
enum DatasetAuto {
    /// The dataset to use, and the notice to show when falling back.
    static func resolve(dataDir: String?) -> (dataset: String, notice: String?) {
        do {
            _ = try CIFAR100.locate(dataDir)
            return ("cifar100", nil)
        } catch {
            return ("synthetic", "CIFAR-100 was not found (\(error)); running on the SYNTHETIC dataset instead. Its numbers say nothing about CIFAR-100: give --data-dir or CIL_DATA (e.g. data/cifar-100-binary, which `cil data fetch cifar100` downloads).")
        }
    }
}
