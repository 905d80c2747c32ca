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
}
