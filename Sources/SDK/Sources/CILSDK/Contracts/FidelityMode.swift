/// Where the original code has a quirk or bug (SPEC.md), a run chooses to reproduce
/// it (`faithful`) or fix it (`corrected`); every run records which.
public enum FidelityMode: String, Sendable, Codable, CaseIterable {
    case faithful
    case corrected
}
