/// The protocol part of the experiment files of the comparison tests: a synthetic
/// dataset of `classes` classes (30 training and 10 test images each), 2 classes in
/// phase 0 and 2 per later phase, the quick preset with batch 32. Each test appends
/// its baselines, arms and seeds. Seconds per run.
enum TinyProtocol {
    static func yaml(classes: Int = 6, epochsFirst: Int = 2, epochs: Int = 1) -> String {
        """
        # A tiny protocol: \(classes) classes, 2 + 2 + ...
        dataset: synthetic
        num_classes: \(classes)
        images_per_class: 30
        test_images_per_class: 10
        nb_cl_fg: 2
        nb_cl: 2
        preset: quick
        epochs_fg: \(epochsFirst)
        epochs: \(epochs)
        batch_size: 32

        """
    }

    /// `cil run` arguments of a tiny MANets arm (synthetic 6 classes, 2 + 2 + 2,
    /// LUCIR, ss + free, α learned, ResNet-20, 1 epoch in phase 0, `epochs` in each
    /// later phase): the arm of the disk-full and mid-phase resume tests.
    static func manetsRun(out: String, epochs: Int) -> [String] {
        ["run", "--dataset", "synthetic", "--num-classes", "6", "--images-per-class", "40", "--test-images-per-class", "10",
         "--nb-cl-fg", "2", "--nb-cl", "2", "--preset", "quick", "--epochs-fg", "1", "--epochs", "\(epochs)",
         "--lr-fg", "0.1", "--lr", "0.05", "--batch-size", "16", "--backbone", "resnet20", "--baseline", "lucir",
         "--branch-mode", "dual", "--branch-1", "ss", "--branch-2", "free", "--out", out, "--quiet", "--threads", "2"]
    }
}
